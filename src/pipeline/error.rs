//! What can stop a run, as one type: the callers (`process`, `serve`, `bench`) decide
//! what each means to their user; every message already names the file or model.

use std::path::PathBuf;

use crate::engine::EngineError;
use crate::media::decode::SourceError;
use crate::media::encode::RenderError;
use crate::output::jsonl::WriteError;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{path}: cannot read it: {source}")]
    Input {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Engine(#[from] EngineError),
    // `error`, not `source`: the message already holds it, and a source would be printed
    // a second time by the `{:#}` chain at the top.
    #[error("loading the HMR2 model {path}: {error}")]
    Hmr2Load { path: PathBuf, error: EngineError },
    #[error(transparent)]
    Results(#[from] WriteError),
    #[error(transparent)]
    Overlay(#[from] RenderError),
    #[error("cannot write the .npz {path}: {source}")]
    Npz {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Cutoff(#[from] crate::tracking::butterworth::BadCutoff),
    #[error("could not start the worker threads: {0}")]
    Threads(String),
}
