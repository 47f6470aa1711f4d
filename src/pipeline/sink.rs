//! The seam between the pipeline and where its results go: a [`Sink`] takes every frame's
//! result in frame order, then the summary. JSON Lines, the overlay video and the `.npz`
//! are sinks (`sinks`); a test collects frames in one; `bench`'s ceiling runs with none.

use std::path::PathBuf;
use std::sync::Arc;

use super::error::PipelineError;
use crate::image::RgbImage;
use crate::media::decode::SourcePicture;
use crate::models::hmr2::Smpl;
use crate::output::wire::Summary;
use crate::pose::Person;

/// One frame's result, as the writer hands it to each sink in turn.
pub struct FrameOut<'a> {
    /// Index among decoded frames, from 0.
    pub index: u64,
    /// Presentation time in seconds.
    pub t: f64,
    pub persons: &'a [Person],
    /// HMR2 results parallel to `persons`; empty without HMR2.
    pub smpl: &'a [Smpl],
    /// The frame's pixels, kept only when a sink [`wants_images`](Sink::wants_images).
    pub image: Option<Pixels>,
}

/// A frame's pixels, for a sink that wants them.
#[derive(Clone)]
pub struct Pixels {
    pub image: Arc<RgbImage>,
    /// The decoder's own picture, when it kept one (the overlay encodes it as it is).
    pub picture: Option<Arc<SourcePicture>>,
}

/// Which summary stage a sink's time counts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkStage {
    Write,
    Render,
}

/// What a sink left on disk, for the caller to report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub kind: OutputKind,
    /// Where it went: the partial name when the run was interrupted.
    pub path: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputKind {
    Results,
    Overlay,
    Npz,
}

pub trait Sink {
    fn stage(&self) -> SinkStage;

    /// True when the sink reads pixels; only then do workers keep each frame's image.
    fn wants_images(&self) -> bool {
        false
    }

    fn frame(&mut self, frame: &mut FrameOut) -> Result<(), PipelineError>;

    /// Every frame has been given; a sink that held frames back (`--smooth offline`)
    /// writes them now, before any sink is finished and while the summary is still open.
    fn end_of_frames(&mut self) -> Result<(), PipelineError> {
        Ok(())
    }

    /// The run is over and `summary` is final (`interrupted` included).
    fn finish(self: Box<Self>, summary: &Summary) -> Result<Option<Written>, PipelineError>;
}
