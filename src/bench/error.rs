//! What can stop a benchmark. The messages are those `posekit bench` has always printed:
//! where a cause is wrapped, it is a `#[source]`, so the `{:#}` chain at the top prints
//! "what: cause" as before.

use std::path::PathBuf;

use super::layout::Layout;
use crate::media::decode::SourceError;
use crate::pipeline::PipelineError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum BenchError {
    #[error("the 1x1 baseline must come first")]
    BaselineNotFirst,
    #[error("--runs must be at least 1")]
    NoRuns,
    #[error("cannot find the posekit binary to run")]
    CurrentExe(#[source] std::io::Error),
    #[error("cannot create a scratch folder")]
    Scratch(#[source] std::io::Error),
    #[error("could not run posekit process")]
    Spawn(#[source] std::io::Error),
    /// The child's stderr is part of the message: it says why, in posekit's own words.
    #[error("posekit process failed at layout {layout}: {stderr}")]
    ChildFailed { layout: Layout, stderr: String },
    #[error("posekit process printed no JSON summary")]
    NoSummary(#[source] serde_json::Error),
    /// `status` is the JSON value as printed (quoted), as the message always showed it.
    #[error("posekit process did not run the frames (status {status}, {reason})")]
    NotRun { status: String, reason: String },
    #[error("{video} has no decodable frames to benchmark")]
    NoFrames { video: PathBuf },
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
}
