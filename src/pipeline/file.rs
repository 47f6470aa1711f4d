//! One input through the pipeline, as `process` and `serve`'s jobs run it: open it (a
//! video with FFmpeg, or a folder of images), make the sinks its options ask for (the
//! result file with its header, the overlay, the `.npz`), and run [`process_video`] on
//! models the caller loaded.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

use super::error::PipelineError;
use super::ordered::Deferred;
use super::run::{process_video, FrameSource, Mode, RunOptions};
use super::sink::{OutputKind, Sink};
use super::sinks::{JsonlSink, NpzSink, OverlaySink};
use super::workers::LoadedModels;
use crate::files::fingerprint::{self, Fingerprint};
use crate::media::decode::{DecodeOptions, SourceError, VideoInfo, VideoSource};
use crate::media::encode::Renderer;
use crate::media::images::ImageSequence;
use crate::media::CodecThreads;
use crate::output::jsonl::JsonlWriter;
use crate::output::wire::{Header, Settings, Summary};
use crate::tracking::butterworth::Butterworth;
use crate::tracking::{Smoothing, TrackingOptions};

/// What the frames come from.
#[derive(Clone, Debug)]
pub enum Input {
    Video(PathBuf),
    /// A folder's still images, in play order, at `fps` frames per second.
    Images {
        folder: PathBuf,
        frames: Vec<PathBuf>,
        fps: f64,
    },
}

impl Input {
    pub fn path(&self) -> &Path {
        match self {
            Input::Video(path) => path,
            Input::Images { folder, .. } => folder,
        }
    }

    /// What the result's header records, and resume compares.
    pub fn fingerprint(&self) -> std::io::Result<Fingerprint> {
        match self {
            Input::Video(path) => fingerprint::of_file(path),
            Input::Images { frames, .. } => fingerprint::of_images(frames),
        }
    }

    fn open(&self, decode: DecodeOptions) -> Result<Box<dyn FrameSource>, SourceError> {
        Ok(match self {
            Input::Video(path) => Box::new(VideoSource::open_with(path, decode)?),
            Input::Images {
                folder,
                frames,
                fps,
            } => Box::new(ImageSequence::open(
                &folder.display().to_string(),
                frames.clone(),
                *fps,
            )?),
        })
    }
}

/// Everything a run over one file needs besides the models and the video.
#[derive(Clone, Debug)]
pub struct ProcessOptions {
    pub mode: Mode,
    pub max_people: usize,
    pub detect_every: u32,
    /// Where the JSON Lines result goes.
    pub output: PathBuf,
    /// Where the overlay video goes, if wanted.
    pub render: Option<PathBuf>,
    /// Draw a progress bar (only when stderr is a terminal).
    pub progress: bool,
    /// Stop after this many frames.
    pub max_frames: Option<u64>,
    /// With HMR2: rotation matrices in the records too.
    pub rotmat: bool,
    /// With HMR2: the arrays as a NumPy .npz too.
    pub npz: Option<PathBuf>,
    /// Frames written so far, published for a watcher (`serve` reports job progress).
    pub frames_done: Option<Arc<AtomicU64>>,
    /// Identities, gap filling and smoothing.
    pub tracking: TrackingOptions,
    /// The cores this run may use (`system::resources::usable_cores`): with the
    /// workers' threads, they decide how the decoder and encoder thread
    /// ([`codec_threads`]).
    pub cores: usize,
}

/// Codec threads cost CPU. Measured here on the Sports2D clip's 230 frames: decoding took
/// 1.34 s of CPU with FFmpeg's frame threads against 1.14 s with one thread, and x264
/// (ultrafast) 2.59 s against 1.92 s. They pay only when a spare core runs them. When the
/// workers' threads already take every core of a small machine, one thread each (about
/// 200 decoded and 120 encoded HD frames a second) keeps ahead of workers that need 15–30
/// ms a frame each, and the CPU saved goes to the models. On more than four cores, many
/// workers could outrun one codec thread, so FFmpeg threads as it likes.
pub fn codec_threads(cores: usize, pose_threads: usize) -> CodecThreads {
    match pose_threads >= cores && cores <= 4 {
        true => CodecThreads::One,
        false => CodecThreads::Auto,
    }
}

/// What a finished (or interrupted) run produced.
#[derive(Debug)]
pub struct Outcome {
    pub summary: Summary,
    /// The JSON Lines file actually written (the partial name when interrupted).
    pub output: PathBuf,
    /// The overlay video actually written, if one was asked for.
    pub render: Option<PathBuf>,
    /// The .npz actually written, if one was asked for.
    pub npz: Option<PathBuf>,
    pub info: VideoInfo,
}

/// Runs the pipeline over `input` with `models`. `cancel` is set by Ctrl-C: the result
/// is then kept under its partial name.
pub fn process_file(
    models: &mut LoadedModels,
    input: &Input,
    options: &ProcessOptions,
    cancel: &AtomicBool,
) -> Result<Outcome, PipelineError> {
    // Taken before the first frame is read: it names the file as it was when decoded.
    let fingerprint = input.fingerprint().map_err(|e| PipelineError::Input {
        path: input.path().to_path_buf(),
        source: e,
    })?;
    let pose_threads = models.workers.len() * models.threads_per_worker;
    let threads = codec_threads(options.cores, pose_threads);
    let mut source = input.open(DecodeOptions {
        threads,
        keep_pictures: options.render.is_some(),
    })?;
    let info = source.info().clone();
    let offline = offline_filter(&options.tracking, info.fps)?;
    let mut writer = JsonlWriter::create(&options.output)?;
    writer.line(&Header {
        kind: "header",
        posekit: env!("CARGO_PKG_VERSION"),
        source: &info,
        input: &fingerprint,
        models: models.refs.clone(),
        settings: &settings(models, options),
    })?;
    let shape = options.tracking.shape_per_track;
    let mut sinks: Vec<Box<dyn Sink>> = vec![deferred(
        JsonlSink::new(writer, options.rotmat),
        offline,
        shape,
    )];
    if let Some(path) = &options.render {
        let renderer = Renderer::create(path, info.width, info.height, info.fps, threads)?;
        sinks.push(Box::new(OverlaySink::new(renderer)));
    }
    if let (Some(path), true) = (&options.npz, models.has_hmr2()) {
        sinks.push(deferred(NpzSink::create(path)?, offline, shape));
    }
    let run = RunOptions {
        mode: options.mode,
        max_people: options.max_people,
        detect_every: options.detect_every,
        max_frames: options.max_frames,
        progress: options.progress,
        frames_done: options.frames_done.clone(),
        hmr2_batch: models.hmr2_batch,
        tracking: options.tracking,
    };
    let report = process_video(&mut models.workers, source.as_mut(), sinks, &run, cancel)?;
    let path_of = |kind| {
        report
            .written
            .iter()
            .find(|w| w.kind == kind)
            .map(|w| w.path.clone())
    };
    Ok(Outcome {
        output: path_of(OutputKind::Results).unwrap_or_else(|| options.output.clone()),
        render: path_of(OutputKind::Overlay),
        npz: path_of(OutputKind::Npz),
        summary: report.summary,
        info,
    })
}

/// The settings a result records (also what `process` compares to resume, before the
/// input is opened: so the offline cutoff is recorded as given, not as resolved for the
/// stream's rate).
pub fn settings(models: &LoadedModels, options: &ProcessOptions) -> Settings {
    Settings {
        mode: options.mode.name(),
        workers: models.workers.len(),
        threads_per_worker: models.threads_per_worker,
        max_people: options.max_people,
        detect_every: options.detect_every,
        max_gap_s: options.tracking.max_gap_s,
        smooth: options.tracking.smoothing.name(),
        cutoff_hz: options
            .tracking
            .cutoff_hz
            .filter(|_| options.tracking.smoothing == Smoothing::Offline),
        fill_gaps_s: options.tracking.fill_gaps_s,
        shape: models
            .has_hmr2()
            .then_some(match options.tracking.shape_per_track {
                true => "per-track",
                false => "per-frame",
            }),
        hmr2_weights: models.hmr2_sharing.map(|s| s.name()),
        hmr2_device: models.hmr2_device.map(|d| d.name()),
        hmr2_batch: models.has_hmr2().then_some(models.hmr2_batch),
        max_frames: options.max_frames,
        rotmat: options.rotmat && models.has_hmr2(),
    }
}

/// With `--smooth offline`, the filter at this stream's rate; the cutoff is checked
/// before anything is written.
fn offline_filter(
    tracking: &TrackingOptions,
    fps: f64,
) -> Result<Option<Butterworth>, PipelineError> {
    if tracking.smoothing != Smoothing::Offline {
        return Ok(None);
    }
    Ok(Some(Butterworth::low_pass(tracking.cutoff_at(fps), fps)?))
}

/// A result sink, behind [`Deferred`] when the offline smoother or per-track shapes need
/// the whole video first.
fn deferred<'a, S: Sink + 'a>(
    sink: S,
    offline: Option<Butterworth>,
    shape_per_track: bool,
) -> Box<dyn Sink + 'a> {
    match offline.is_some() || shape_per_track {
        true => Box::new(Deferred::new(sink, offline, shape_per_track)),
        false => Box::new(sink),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codecs_thread_only_on_cores_the_workers_leave_free_or_on_big_machines() {
        assert_eq!(codec_threads(2, 2), CodecThreads::One, "2x1 on 2 cores");
        assert_eq!(
            codec_threads(2, 1),
            CodecThreads::Auto,
            "1x1: a core to spare"
        );
        assert_eq!(codec_threads(4, 8), CodecThreads::One, "oversubscribed");
        assert_eq!(
            codec_threads(16, 16),
            CodecThreads::Auto,
            "many workers to feed"
        );
    }
}
