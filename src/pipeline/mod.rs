//! The `process` pipeline: decode → pose → ordered results → sinks.
//!
//! FFmpeg is used only in `source` (decoding), `render` (encoding) and `ffmpeg_info`
//! (library versions, for `doctor`); the rest works on plain RGB images and pose values.

pub mod ffmpeg_info;
pub mod handoff;
pub mod jsonl;
pub mod mesh;
pub mod npz;
pub mod overlay;
pub mod progress;
pub mod render;
pub mod reorder;
pub mod run;
pub mod source;
mod workers;

pub use run::{process_video, Mode, Outcome, ProcessOptions};
pub use workers::{load_blazepose, load_worker_models, WorkerModels};
