//! `process_video`: the decoder thread, the worker pool and the ordered sinks, joined.
//!
//! ```text
//! decoder thread ──bounded──▶ workers (rayon pool) ──▶ reorder ──▶ JSONL · render · progress
//! ```
//!
//! The decoder and the writer live here; the workers (their models and their loop) are
//! in `workers`, and how video-mode workers share tracks is in `handoff`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result};

use super::handoff::Handoff;
use super::mesh::{Hmr2Options, NpzSink};
use super::progress::Progress;
use super::reorder::Reorder;
use super::workers::{load_models, spawn_workers, Shared};
use crate::engine::{Engine, ModelSource};
use crate::image::RgbImage;
use crate::media::decode::{Frame, SourceEvent, VideoInfo, VideoSource};
use crate::media::encode::Renderer;
use crate::models::hmr2::Smpl;
use crate::output::jsonl::JsonlWriter;
use crate::output::overlay::draw_persons;
use crate::output::wire::{FrameRecord, Header, Settings, Stages, Summary};
use crate::pose::Person;
use crate::system::peak_memory::peak_rss_bytes;

/// Frames queued per worker ahead of it. Two keeps a worker from waiting on the decoder
/// while holding at most a few decoded frames (5 MB each at 1768×994) per worker.
const QUEUE_DEPTH_PER_WORKER: usize = 2;

/// Joints drawn on the overlay only when the model thinks they are this likely visible.
const RENDER_MIN_VISIBILITY: f32 = 0.5;

/// How frames are turned into persons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Every frame on its own: the detector runs on every frame.
    Image,
    /// Tracking from the previous frame's landmarks; the detector runs when needed.
    Video,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Image => "image",
            Mode::Video => "video",
        }
    }
}

/// Everything `process_video` needs besides the video.
#[derive(Clone, Debug)]
pub struct ProcessOptions {
    pub mode: Mode,
    pub workers: usize,
    pub threads_per_worker: usize,
    pub max_people: usize,
    pub detect_every: u32,
    pub detector: ModelSource,
    pub landmarks: ModelSource,
    /// Where the JSON Lines result goes.
    pub output: PathBuf,
    /// Where the overlay video goes, if wanted.
    pub render: Option<PathBuf>,
    /// Draw a progress bar (only when stderr is a terminal).
    pub progress: bool,
    /// Stop after this many frames (`bench` measures on the first K).
    pub max_frames: Option<u64>,
    /// HMR2 mesh recovery on every person found, if wanted.
    pub hmr2: Option<Hmr2Options>,
    /// Frames written so far, published for a watcher (`serve` reports job progress).
    pub frames_done: Option<Arc<AtomicU64>>,
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

/// A decoded frame on its way to a worker; `seq` counts frames handed out, so the
/// reorder buffer sees no gaps even when the source skipped a corrupt frame.
pub(super) struct Job {
    pub(super) seq: u64,
    pub(super) frame: Frame,
    /// Seconds the decoder spent producing this frame (decode and colour conversion).
    pub(super) decode_s: f64,
}

/// A worker's answer for one job.
pub(super) struct Done {
    pub(super) seq: u64,
    pub(super) index: u64,
    pub(super) t: f64,
    pub(super) persons: Vec<Person>,
    /// HMR2 results parallel to `persons`; empty without `--hmr2`.
    pub(super) smpl: Vec<Smpl>,
    /// Kept only when rendering.
    pub(super) image: Option<RgbImage>,
    /// Seconds spent on this frame per stage, so far (decode, detect, landmarks).
    pub(super) stages: Stages,
}

/// What the workers and the decoder tell the writer.
pub(super) enum Message {
    Done(Done),
    /// The source could not decode a frame; counted, never fatal.
    Skipped,
    Failed(anyhow::Error),
}

/// Runs the whole pipeline over one video. `cancel` is set by Ctrl-C: the decoder stops,
/// work in flight is finished and written, and the result is kept as a partial file.
pub fn process_video(
    engine: &Engine,
    video: &Path,
    options: &ProcessOptions,
    cancel: &AtomicBool,
) -> Result<Outcome> {
    let source = VideoSource::open(video)?;
    let info = source.info().clone();
    let (models, model_refs) = load_models(engine, options)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.workers)
        .thread_name(|i| format!("posekit-worker-{i}"))
        .build()
        .context("could not start the worker threads")?;

    let mut writer = JsonlWriter::create(&options.output)?;
    writer.line(&Header {
        kind: "header",
        posekit: env!("CARGO_PKG_VERSION"),
        source: &info,
        models: model_refs,
        settings: &settings(options),
    })?;
    let mut renderer = match &options.render {
        Some(path) => Some(Renderer::create(path, info.width, info.height, info.fps)?),
        None => None,
    };
    let mut mesh_sink = MeshSink {
        npz: match options.hmr2.as_ref().and_then(|h| h.npz.as_ref()) {
            Some(path) => Some(NpzSink::create(path)?),
            None => None,
        },
        rotmat: options.hmr2.as_ref().is_some_and(|h| h.rotmat),
    };

    let started = Instant::now();
    let mut summary = Summary {
        kind: "summary",
        ..Default::default()
    };
    let keep_images = renderer.is_some();
    let stop = AtomicBool::new(false);
    let handoff = Handoff::default();
    let (results_tx, results_rx) = sync_channel::<Message>(options.workers * 4);
    let progress =
        Progress::new(options.progress, info.frames).counting(options.frames_done.clone());
    let written = std::thread::scope(|scope| {
        let queues = spawn_decoder(scope, source, options, cancel, &stop, &results_tx);
        pool.in_place_scope(|workers| {
            let shared = Shared {
                handoff: &handoff,
                stop: &stop,
            };
            spawn_workers(
                workers,
                queues,
                models,
                options,
                keep_images,
                shared,
                &results_tx,
            );
            drop(results_tx);
            let written = write_in_order(
                &results_rx,
                &mut writer,
                renderer.as_mut(),
                &mut mesh_sink,
                &mut summary,
                &progress,
            );
            // On a write error, unblock the decoder and workers: they see the flag
            // or a closed channel and stop.
            stop.store(written.is_err(), Ordering::SeqCst);
            drop(results_rx);
            written
        })
    });
    progress.finish();
    written?;

    summary.interrupted = cancel.load(Ordering::SeqCst);
    summary.elapsed_s = started.elapsed().as_secs_f64();
    summary.fps = if summary.elapsed_s > 0.0 {
        summary.frames as f64 / summary.elapsed_s
    } else {
        0.0
    };
    summary.peak_rss_mib = peak_rss_bytes().map(|b| b as f64 / (1024.0 * 1024.0));
    writer.line(&summary)?;
    let render = match renderer {
        Some(renderer) => Some(renderer.finish(summary.interrupted)?),
        None => None,
    };
    let npz = match mesh_sink.npz {
        Some(npz) => Some(npz.finish(summary.interrupted)?),
        None => None,
    };
    let output = writer.finish(summary.interrupted)?;
    Ok(Outcome {
        summary,
        output,
        render,
        npz,
        info,
    })
}

fn settings(options: &ProcessOptions) -> Settings {
    Settings {
        mode: options.mode.name(),
        workers: options.workers,
        threads_per_worker: options.threads_per_worker,
        max_people: options.max_people,
        detect_every: options.detect_every,
        hmr2_weights: options.hmr2.as_ref().map(|h| h.sharing.name()),
    }
}

/// Where the decoder sends frames: one shared queue, or one queue per worker.
pub(super) enum Queues {
    Shared(Arc<Mutex<Receiver<Job>>>),
    PerWorker(Vec<Receiver<Job>>),
}

fn spawn_decoder<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    mut source: VideoSource,
    options: &ProcessOptions,
    cancel: &'scope AtomicBool,
    stop: &'scope AtomicBool,
    results: &SyncSender<Message>,
) -> Queues {
    let (workers, max_frames) = (options.workers, options.max_frames);
    let (senders, queues) = match options.mode {
        Mode::Image => {
            let (tx, rx) = sync_channel(QUEUE_DEPTH_PER_WORKER * workers);
            (vec![tx], Queues::Shared(Arc::new(Mutex::new(rx))))
        }
        Mode::Video => {
            let (txs, rxs) = (0..workers)
                .map(|_| sync_channel(QUEUE_DEPTH_PER_WORKER))
                .unzip();
            (txs, Queues::PerWorker(rxs))
        }
    };
    let results = results.clone();
    std::thread::Builder::new()
        .name("posekit-decoder".into())
        .spawn_scoped(scope, move || {
            decode_loop(&mut source, &senders, max_frames, cancel, stop, &results)
        })
        .expect("spawning the decoder thread");
    queues
}

/// Reads frames until the end, Ctrl-C, or the writer gives up. Skipped (corrupt) frames
/// are reported to the writer so it can count them.
fn decode_loop(
    source: &mut VideoSource,
    senders: &[SyncSender<Job>],
    max_frames: Option<u64>,
    cancel: &AtomicBool,
    stop: &AtomicBool,
    results: &SyncSender<Message>,
) {
    let mut seq = 0u64;
    let delay = debug_frame_delay();
    while !cancel.load(Ordering::SeqCst) && !stop.load(Ordering::SeqCst) {
        if max_frames.is_some_and(|max| seq >= max) {
            break;
        }
        let started = Instant::now();
        let event = match source.next_event() {
            None => break,
            Some(Ok(event)) => event,
            Some(Err(e)) => {
                let _ = results.send(Message::Failed(e.into()));
                break;
            }
        };
        match event {
            SourceEvent::Frame(frame) => {
                let queue = &senders[(seq % senders.len() as u64) as usize];
                let decode_s = started.elapsed().as_secs_f64();
                if queue
                    .send(Job {
                        seq,
                        frame,
                        decode_s,
                    })
                    .is_err()
                {
                    break;
                }
                seq += 1;
                if let Some(delay) = delay {
                    std::thread::sleep(delay);
                }
            }
            SourceEvent::Skipped { index, reason } => {
                debug_skip(index, &reason);
                let _ = results.send(Message::Skipped);
            }
        }
    }
}

/// Test hook: `POSEKIT_DEBUG_FRAME_DELAY_MS` slows the decoder by that much per frame,
/// so that a test can interrupt a run on a short clip while it is surely mid-way.
fn debug_frame_delay() -> Option<std::time::Duration> {
    let ms: u64 = std::env::var("POSEKIT_DEBUG_FRAME_DELAY_MS")
        .ok()?
        .parse()
        .ok()?;
    Some(std::time::Duration::from_millis(ms))
}

/// Skipped frames are counted in the summary; the reason is shown with POSEKIT_DEBUG set.
fn debug_skip(index: u64, reason: &str) {
    if std::env::var_os("POSEKIT_DEBUG").is_some() {
        eprintln!("posekit: skipped frame near index {index}: {reason}");
    }
}

/// The writer's loop: results in frame order to every sink. Returns on the first real
/// error; skipped frames are only counted.
fn write_in_order(
    results: &Receiver<Message>,
    writer: &mut JsonlWriter,
    mut renderer: Option<&mut Renderer>,
    mesh: &mut MeshSink,
    summary: &mut Summary,
    progress: &Progress,
) -> Result<()> {
    let mut reorder = Reorder::default();
    for message in results {
        let done = match message {
            Message::Done(done) => done,
            Message::Skipped => {
                summary.failed_frames += 1;
                continue;
            }
            Message::Failed(e) => return Err(e),
        };
        for (_, done) in reorder.push(done.seq, done) {
            write_one(done, writer, renderer.as_deref_mut(), mesh, summary)?;
            progress.advance(summary.frames);
        }
    }
    // After Ctrl-C, frames past a gap may remain; they are still valid results.
    for (_, done) in reorder.drain() {
        write_one(done, writer, renderer.as_deref_mut(), mesh, summary)?;
    }
    Ok(())
}

/// Where HMR2 results go besides the JSON Lines record.
struct MeshSink {
    npz: Option<NpzSink>,
    rotmat: bool,
}

fn write_one(
    done: Done,
    writer: &mut JsonlWriter,
    renderer: Option<&mut Renderer>,
    mesh: &mut MeshSink,
    summary: &mut Summary,
) -> Result<()> {
    let started = Instant::now();
    let record = FrameRecord::new(done.index, done.t, &done.persons);
    writer.line(&record.with_smpl(&done.smpl, mesh.rotmat))?;
    if let Some(npz) = &mut mesh.npz {
        npz.push_frame(done.index, &done.smpl)?;
    }
    let written = Instant::now();
    if let (Some(renderer), Some(mut image)) = (renderer, done.image) {
        draw_persons(&mut image, &done.persons, RENDER_MIN_VISIBILITY);
        renderer.write(&image)?;
    }
    summary.frames += 1;
    summary.persons += done.persons.len() as u64;
    summary.frames_with_person += u64::from(!done.persons.is_empty());
    summary.stages.add(&Stages {
        write_s: (written - started).as_secs_f64(),
        render_s: written.elapsed().as_secs_f64(),
        ..done.stages
    });
    Ok(())
}
