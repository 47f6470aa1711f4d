//! Model families: each folder is config, pre-processing and post-processing around the
//! engine's [`Inference`](crate::engine::Inference) trait; none of them touches ort.

pub mod blazepose;
pub mod builtin;
pub mod hmr2;
pub mod movenet;
