//! The `process` pipeline: decode → pose → ordered results → sinks.
//!
//! The orchestration only: the decoder thread, the workers, the hand-over of tracks, the
//! reorder buffer and the sinks. FFmpeg is behind [`crate::media`], the formats behind
//! [`crate::output`]. [`process_video`] runs on models, a frame source and sinks it is
//! given; [`process_file`] is one video file with the sinks `process` writes.

pub mod error;
mod file;
mod handoff;
pub mod mesh;
mod ordered;
mod progress;
mod reorder;
mod run;
pub mod sink;
mod sinks;
#[cfg(test)]
mod tests;
mod workers;

pub use error::PipelineError;
pub use file::{process_file, settings, Input, Outcome, ProcessOptions};
pub use run::{process_video, FrameSource, Mode, RunOptions};
pub use workers::{load_worker_models, load_worker_models_with, LoadedModels, WorkerModels};
