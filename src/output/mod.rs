//! The formats posekit writes, apart from video: the JSON Lines result ([`wire`] for the
//! lines, [`jsonl`] for the writer), NumPy archives ([`npz`]), and the skeletons drawn on
//! overlay frames ([`overlay`]). Each writer follows [`crate::files`]' rules.

pub mod jsonl;
mod label;
pub mod npz;
pub mod overlay;
pub mod wire;
