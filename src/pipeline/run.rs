//! `process_video`: the decoder thread, the worker pool and the ordered sinks, joined.
//!
//! ```text
//! decoder thread ──bounded──▶ workers (rayon pool) ──▶ reorder ──▶ JSONL · render · progress
//! ```
//!
//! In image mode any worker takes any frame from one shared queue. In video mode a person
//! is tracked from frame to frame, which makes each frame depend on an earlier one; to
//! keep every worker busy anyway, worker `w` owns the frames `w, w+N, w+2N, …` and tracks
//! through its own share. With one worker this is exactly MediaPipe's video mode.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result};

use super::handoff::Handoff;
use super::jsonl::{FrameRecord, Header, JsonlWriter, ModelRef, Settings, Stages, Summary};
use super::mesh::{Hmr2Options, NpzSink};
use super::overlay::draw_persons;
use super::progress::Progress;
use super::render::Renderer;
use super::reorder::Reorder;
use super::source::{Frame, SourceEvent, VideoInfo, VideoSource};
use crate::engine::{Engine, EngineError, Inference, ModelSource};
use crate::image::RgbImage;
use crate::models::blazepose::{mediapipe_time, BlazePose, Clock, Tracker};
use crate::models::hmr2::{Hmr2, Smpl};
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
struct Job {
    seq: u64,
    frame: Frame,
    /// Seconds the decoder spent producing this frame (decode and colour conversion).
    decode_s: f64,
}

/// A worker's answer for one job.
struct Done {
    seq: u64,
    index: u64,
    t: f64,
    persons: Vec<Person>,
    /// HMR2 results parallel to `persons`; empty without `--hmr2`.
    smpl: Vec<Smpl>,
    /// Kept only when rendering.
    image: Option<RgbImage>,
    /// Seconds spent on this frame per stage, so far (decode, detect, landmarks).
    stages: Stages,
}

/// What the workers and the decoder tell the writer.
enum Message {
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

/// A worker's models.
struct WorkerModels {
    pose: BlazePose,
    hmr2: Option<Hmr2>,
}

/// One BlazePose per worker: the models are small (a few MB), so each worker owns its
/// sessions and no worker ever waits on another's lock. Also returns the models' names
/// and hashes, as result headers list them. `serve` and `bench` load theirs the same way.
pub fn load_blazepose(
    engine: &Engine,
    detector: &ModelSource,
    landmarks: &ModelSource,
    workers: usize,
    threads_per_worker: usize,
) -> Result<(Vec<BlazePose>, Vec<ModelRef>), EngineError> {
    let mut refs = Vec::new();
    let mut models = Vec::new();
    for _ in 0..workers {
        let detector = engine.session(detector, threads_per_worker)?;
        let landmarks = engine.session(landmarks, threads_per_worker)?;
        refs = [detector.info(), landmarks.info()]
            .iter()
            .map(|m| ModelRef {
                name: m.name.clone(),
                sha256: m.sha256.clone(),
            })
            .collect();
        models.push(BlazePose::new(Box::new(detector), Box::new(landmarks))?);
    }
    Ok((models, refs))
}

/// BlazePose per worker (see [`load_blazepose`]) and, with `--hmr2`, HMR2: 2.7 GB, so
/// the engine gives every worker a handle on one copy of its weights.
fn load_models(
    engine: &Engine,
    options: &ProcessOptions,
) -> Result<(Vec<WorkerModels>, Vec<ModelRef>)> {
    let (models, mut refs) = load_blazepose(
        engine,
        &options.detector,
        &options.landmarks,
        options.workers,
        options.threads_per_worker,
    )?;
    let mut hmr2s: Vec<Option<Hmr2>> = match &options.hmr2 {
        Some(h) => {
            let loaded = super::mesh::load(engine, h, options.workers, options.threads_per_worker)?;
            refs.extend(loaded.first().map(|m| ModelRef {
                name: m.info().name.clone(),
                sha256: m.info().sha256.clone(),
            }));
            loaded.into_iter().map(Some).collect()
        }
        None => Vec::new(),
    };
    hmr2s.resize_with(models.len(), || None);
    let models = models
        .into_iter()
        .zip(hmr2s)
        .map(|(pose, hmr2)| WorkerModels { pose, hmr2 })
        .collect();
    Ok((models, refs))
}

/// Where the decoder sends frames: one shared queue, or one queue per worker.
enum Queues {
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
            }
            SourceEvent::Skipped { index, reason } => {
                debug_skip(index, &reason);
                let _ = results.send(Message::Skipped);
            }
        }
    }
}

/// Skipped frames are counted in the summary; the reason is shown with POSEKIT_DEBUG set.
fn debug_skip(index: u64, reason: &str) {
    if std::env::var_os("POSEKIT_DEBUG").is_some() {
        eprintln!("posekit: skipped frame near index {index}: {reason}");
    }
}

/// What every worker shares for the whole run.
#[derive(Clone, Copy)]
struct Shared<'a> {
    handoff: &'a Handoff,
    stop: &'a AtomicBool,
}

fn spawn_workers<'scope>(
    pool: &rayon::Scope<'scope>,
    queues: Queues,
    models: Vec<WorkerModels>,
    options: &ProcessOptions,
    keep_images: bool,
    shared: Shared<'scope>,
    results: &SyncSender<Message>,
) {
    let (mode, max_people, detect_every) = (options.mode, options.max_people, options.detect_every);
    let workers = models.len();
    let per_worker: Vec<WorkerQueue> = match queues {
        Queues::PerWorker(rxs) => rxs.into_iter().map(WorkerQueue::Own).collect(),
        Queues::Shared(rx) => (0..models.len())
            .map(|_| WorkerQueue::Shared(Arc::clone(&rx)))
            .collect(),
    };
    for (model, queue) in models.into_iter().zip(per_worker) {
        let results = results.clone();
        pool.spawn(move |_| {
            let mut worker = Worker {
                model: model.pose,
                hmr2: model.hmr2,
                // Frames are stamped in MediaPipe's time base by index (see
                // `mediapipe_time`), so a worker that sees every N-th frame still tells
                // its tracking filter how far apart they are.
                tracker: (mode == Mode::Video)
                    .then(|| Tracker::new(max_people, detect_every).with_clock(Clock::Given)),
                max_people,
                keep_images,
                handoff: (mode == Mode::Video && workers > 1).then_some(shared.handoff),
                stop: shared.stop,
            };
            while let Some(job) = queue.next() {
                let message = match worker.run(job) {
                    Ok(done) => Message::Done(done),
                    Err(e) => Message::Failed(e.into()),
                };
                if results.send(message).is_err() {
                    break;
                }
            }
        });
    }
}

enum WorkerQueue {
    Shared(Arc<Mutex<Receiver<Job>>>),
    Own(Receiver<Job>),
}

impl WorkerQueue {
    fn next(&self) -> Option<Job> {
        match self {
            WorkerQueue::Own(rx) => rx.recv().ok(),
            WorkerQueue::Shared(rx) => rx.lock().ok()?.recv().ok(),
        }
    }
}

/// One worker's models and, in video mode, its tracks.
struct Worker<'a> {
    model: BlazePose,
    hmr2: Option<Hmr2>,
    tracker: Option<Tracker>,
    max_people: usize,
    keep_images: bool,
    /// Video mode with several workers: tracks handed between workers.
    handoff: Option<&'a Handoff>,
    stop: &'a AtomicBool,
}

impl Worker<'_> {
    fn run(&mut self, job: Job) -> Result<Done, EngineError> {
        let Job {
            seq,
            frame,
            decode_s,
        } = job;
        let t = mediapipe_time(frame.index);
        let persons = match (&mut self.tracker, self.handoff) {
            (Some(tracker), Some(handoff)) => {
                let previous = || match seq.checked_sub(1) {
                    Some(prev) => handoff.wait_for(prev, self.stop),
                    None => Vec::new(),
                };
                let persons = tracker.track_or_adopt(&mut self.model, &frame.image, t, previous);
                // Publish even after a failure, so no neighbour waits for this frame.
                handoff.publish(seq, tracker.next_rois());
                persons?
            }
            (Some(tracker), None) => tracker.track(&mut self.model, &frame.image, t)?,
            (None, _) => self.model.detect_persons(&frame.image, self.max_people)?,
        };
        let times = self.model.take_stage_times();
        let started = Instant::now();
        let smpl = match &mut self.hmr2 {
            Some(hmr2) => super::mesh::recover(hmr2, &frame.image, &persons)?,
            None => Vec::new(),
        };
        let hmr2_s = started.elapsed().as_secs_f64();
        Ok(Done {
            seq,
            index: frame.index,
            t: frame.t,
            persons,
            smpl,
            image: self.keep_images.then_some(frame.image),
            stages: Stages {
                decode_s,
                detect_s: times.detect.as_secs_f64(),
                landmarks_s: times.landmarks.as_secs_f64(),
                hmr2_s,
                ..Stages::default()
            },
        })
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
