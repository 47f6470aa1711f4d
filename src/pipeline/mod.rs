//! The `process` pipeline: decode → pose → ordered results → sinks.
//!
//! The orchestration only: the decoder thread, the workers, the hand-over of tracks, the
//! reorder buffer and the sinks. FFmpeg is behind [`crate::media`], the formats behind
//! [`crate::output`].

pub mod handoff;
pub mod mesh;
pub mod progress;
pub mod reorder;
pub mod run;
mod workers;

pub use run::{process_video, Mode, Outcome, ProcessOptions};
pub use workers::{load_blazepose, load_worker_models, WorkerModels};
