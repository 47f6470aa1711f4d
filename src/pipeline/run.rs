//! `process_video`: the decoder thread, the worker pool and the ordered sinks, joined.
//!
//! ```text
//! source ──decoder thread──bounded──▶ workers (rayon pool) ──▶ reorder ──▶ sinks · progress
//! ```
//!
//! It runs on what it is given: models already loaded (so `serve` keeps one HMR2 for its
//! jobs and `bench` measures this very loop), any [`FrameSource`] (FFmpeg, frames held in
//! memory, a test's fake), and any [`Sink`]s. The workers' side is in `workers`; how
//! video-mode workers share tracks is in `handoff`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::error::PipelineError;
use super::handoff::Handoff;
use super::ordered::{Ordered, OrderedStages, TrackBook};
use super::progress::Progress;
use super::reorder::Reorder;
use super::sink::{FrameOut, Pixels, Sink, SinkStage, Written};
use super::workers::{spawn_workers, Shared, WorkerModels};
use crate::media::decode::{Frame, SourceError, SourceEvent, VideoInfo, VideoSource};
use crate::models::hmr2::Smpl;
use crate::output::wire::{Stages, Summary};
use crate::pose::Person;
use crate::system::peak_memory::peak_rss_bytes;
use crate::tracking::TrackingOptions;

/// Frames queued per worker ahead of it. Two keeps a worker from waiting on the decoder
/// while holding at most a few decoded frames (5 MB each at 1768×994) per worker.
const QUEUE_DEPTH_PER_WORKER: usize = 2;

/// Frames, per worker, that may be decoded past the last one written. In image mode any
/// worker takes any frame, so without this bound one slow frame would let the others
/// run ahead and the reorder buffer (each result holding its frame when rendering) grow
/// with the video; with it, memory is bounded by a few frames per worker in every mode.
pub(super) const WINDOW_PER_WORKER: u64 = 4;

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

/// How one run goes, apart from its models, its frames and its sinks.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub mode: Mode,
    pub max_people: usize,
    pub detect_every: u32,
    /// Stop after this many frames (`bench` measures on the first K).
    pub max_frames: Option<u64>,
    /// Draw a progress bar (only when stderr is a terminal).
    pub progress: bool,
    /// Frames written so far, published for a watcher (`serve` reports job progress).
    pub frames_done: Option<Arc<AtomicU64>>,
    /// Most HMR2 crops per call, gathered across consecutive frames (1: a frame at a time).
    pub hmr2_batch: usize,
    /// Identities, gap filling and smoothing, applied in frame order.
    pub tracking: TrackingOptions,
}

/// Where frames come from: FFmpeg's decoder, or anything else that yields frames in
/// presentation order (a test's fake, `bench`'s frames held in memory).
pub trait FrameSource: Send {
    fn info(&self) -> &VideoInfo;
    /// The next frame or skipped frame; `None` at the end.
    fn next_event(&mut self) -> Option<Result<SourceEvent, SourceError>>;
}

impl FrameSource for crate::media::images::ImageSequence {
    fn info(&self) -> &VideoInfo {
        crate::media::images::ImageSequence::info(self)
    }

    fn next_event(&mut self) -> Option<Result<SourceEvent, SourceError>> {
        crate::media::images::ImageSequence::next_event(self)
    }
}

impl FrameSource for VideoSource {
    fn info(&self) -> &VideoInfo {
        VideoSource::info(self)
    }

    fn next_event(&mut self) -> Option<Result<SourceEvent, SourceError>> {
        VideoSource::next_event(self)
    }
}

/// What a run produced: its summary and what its sinks left on disk.
#[derive(Debug)]
pub struct RunReport {
    pub summary: Summary,
    pub written: Vec<Written>,
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
    /// HMR2 results parallel to `persons`; empty without HMR2.
    pub(super) smpl: Vec<Smpl>,
    /// Kept only when a sink wants pixels.
    pub(super) image: Option<Pixels>,
    /// Seconds spent on this frame per stage, so far (decode, detect, landmarks, HMR2).
    pub(super) stages: Stages,
}

/// What the workers and the decoder tell the writer.
pub(super) enum Message {
    Done(Done),
    /// The source could not decode a frame; counted, never fatal.
    Skipped,
    Failed(PipelineError),
}

/// Runs `models` (one entry per worker) over every frame of `source` and hands the
/// results to `sinks` in frame order. `cancel` is set by Ctrl-C: the decoder stops, the
/// work in flight is finished and written, and the summary says `interrupted`. Sinks
/// get their frames in the order given and finish in the reverse order, so the first
/// (the result file) is moved into place last, once everything else is.
pub fn process_video(
    models: &mut [WorkerModels],
    source: &mut dyn FrameSource,
    mut sinks: Vec<Box<dyn Sink + '_>>,
    options: &RunOptions,
    cancel: &AtomicBool,
) -> Result<RunReport, PipelineError> {
    let workers = models.len().max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .thread_name(|i| format!("posekit-worker-{i}"))
        .build()
        .map_err(|e| PipelineError::Threads(e.to_string()))?;
    let started = Instant::now();
    let mut summary = Summary {
        kind: "summary",
        ..Default::default()
    };
    let keep_images = sinks.iter().any(|s| s.wants_images());
    let stop = AtomicBool::new(false);
    let handoff = Handoff::default();
    // A worker may hold up to a batch of frames while it gathers HMR2 crops, so the window
    // grows by that much; memory stays bounded by it.
    let held = options.hmr2_batch.max(1) as u64 - 1;
    let window = Window::new((WINDOW_PER_WORKER + held) * workers as u64);
    let (results_tx, results_rx) = sync_channel::<Message>(workers * 4);
    let progress =
        Progress::new(options.progress, source.info().frames).counting(options.frames_done.clone());
    let ordered = OrderedStages::new(&options.tracking, source.info().fps);
    let decoder = Decoder {
        options,
        cancel,
        stop: &stop,
        window: &window,
    };
    let written = std::thread::scope(|scope| {
        let queues = decoder.spawn(scope, source, workers, &results_tx);
        pool.in_place_scope(|pool_scope| {
            let shared = Shared {
                handoff: &handoff,
                stop: &stop,
            };
            spawn_workers(
                pool_scope,
                queues,
                models,
                options,
                keep_images,
                shared,
                &results_tx,
            );
            drop(results_tx);
            let writer = Writer {
                sinks: &mut sinks,
                summary: &mut summary,
                progress: &progress,
                window: &window,
                ordered,
                book: TrackBook::default(),
                taken: 0,
            };
            let written = writer.write_in_order(&results_rx);
            // On a write error, unblock the decoder and workers: they see the flag
            // or a closed channel and stop.
            stop.store(written.is_err(), Ordering::SeqCst);
            window.close();
            drop(results_rx);
            written
        })
    });
    progress.finish();
    written?;
    summary.interrupted = cancel.load(Ordering::SeqCst);
    summary.elapsed_s = started.elapsed().as_secs_f64();
    summary.fps = match summary.elapsed_s > 0.0 {
        true => summary.frames as f64 / summary.elapsed_s,
        false => 0.0,
    };
    summary.peak_rss_mib = peak_rss_bytes().map(|b| b as f64 / (1024.0 * 1024.0));
    summary.hmr2_device = models
        .iter()
        .find_map(|m| m.hmr2.as_ref())
        .map(|h| h.info().device);
    let mut written = Vec::new();
    while let Some(sink) = sinks.pop() {
        written.extend(sink.finish(&summary)?);
    }
    written.reverse();
    Ok(RunReport { summary, written })
}

/// Where the decoder sends frames: one shared queue, or one queue per worker.
pub(super) enum Queues {
    Shared(Arc<Mutex<Receiver<Job>>>),
    PerWorker(Vec<Receiver<Job>>),
}

/// The decoder thread and what it watches.
struct Decoder<'a> {
    options: &'a RunOptions,
    cancel: &'a AtomicBool,
    stop: &'a AtomicBool,
    window: &'a Window,
}

impl<'a> Decoder<'a> {
    fn spawn<'scope>(
        self,
        scope: &'scope std::thread::Scope<'scope, '_>,
        source: &'scope mut dyn FrameSource,
        workers: usize,
        results: &SyncSender<Message>,
    ) -> Queues
    where
        'a: 'scope,
    {
        let (senders, queues) = match self.options.mode {
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
            .spawn_scoped(scope, move || self.run(source, &senders, &results))
            .expect("spawning the decoder thread");
        queues
    }

    /// Reads frames until the end, Ctrl-C, or the writer gives up. Skipped (corrupt)
    /// frames are reported to the writer so it can count them.
    fn run(
        &self,
        source: &mut dyn FrameSource,
        senders: &[SyncSender<Job>],
        results: &SyncSender<Message>,
    ) {
        let mut seq = 0u64;
        let delay = debug_frame_delay();
        while !self.cancel.load(Ordering::SeqCst) && !self.stop.load(Ordering::SeqCst) {
            if self.options.max_frames.is_some_and(|max| seq >= max) {
                break;
            }
            if !self.window.admit(seq, self.cancel) {
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
                    let job = Job {
                        seq,
                        frame,
                        decode_s,
                    };
                    if queue.send(job).is_err() {
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
}

/// Test hook: `POSEKIT_DEBUG_FRAME_DELAY_MS` slows the decoder by that much per frame,
/// so that a test can interrupt a run on a short clip while it is surely mid-way.
fn debug_frame_delay() -> Option<Duration> {
    let ms: u64 = std::env::var("POSEKIT_DEBUG_FRAME_DELAY_MS")
        .ok()?
        .parse()
        .ok()?;
    Some(Duration::from_millis(ms))
}

/// Skipped frames are counted in the summary; the reason is shown with POSEKIT_DEBUG set.
fn debug_skip(index: u64, reason: &str) {
    if std::env::var_os("POSEKIT_DEBUG").is_some() {
        eprintln!("posekit: skipped frame near index {index}: {reason}");
    }
}

/// How far the decoder may run ahead of the writer (see [`WINDOW_PER_WORKER`]).
struct Window {
    /// Frames written so far, and whether the writer has stopped.
    state: Mutex<(u64, bool)>,
    changed: Condvar,
    size: u64,
}

impl Window {
    fn new(size: u64) -> Self {
        Window {
            state: Mutex::new((0, false)),
            changed: Condvar::new(),
            size: size.max(1),
        }
    }

    /// Waits until frame `seq` may be decoded; false when the writer stopped or Ctrl-C
    /// came first.
    fn admit(&self, seq: u64, cancel: &AtomicBool) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let (written, closed) = *state;
            if closed || cancel.load(Ordering::SeqCst) {
                return false;
            }
            if seq < written + self.size {
                return true;
            }
            // A timeout too, so Ctrl-C is seen even while every worker is busy.
            state = self
                .changed
                .wait_timeout(state, Duration::from_millis(50))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn released(&self, written: u64) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).0 = written;
        self.changed.notify_all();
    }

    fn close(&self) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).1 = true;
        self.changed.notify_all();
    }
}

/// The writer's side: results in frame order through the frame-ordered stages to
/// every sink.
struct Writer<'r, 's> {
    sinks: &'r mut Vec<Box<dyn Sink + 's>>,
    summary: &'r mut Summary,
    progress: &'r Progress,
    window: &'r Window,
    ordered: OrderedStages,
    book: TrackBook,
    /// Frames taken from the reorder buffer. The decoder's window follows these, not
    /// the frames written, since a stage may hold frames back (gap filling) for longer
    /// than the window is wide.
    taken: u64,
}

impl Writer<'_, '_> {
    /// Returns on the first real error; skipped frames are only counted.
    fn write_in_order(mut self, results: &Receiver<Message>) -> Result<(), PipelineError> {
        let mut reorder = Reorder::default();
        for message in results {
            let done = match message {
                Message::Done(done) => done,
                Message::Skipped => {
                    self.summary.failed_frames += 1;
                    continue;
                }
                Message::Failed(e) => return Err(e),
            };
            for (_, done) in reorder.push(done.seq, done) {
                self.take(done)?;
            }
        }
        // After Ctrl-C, frames past a gap may remain; they are still valid results.
        for (_, done) in reorder.drain() {
            self.take(done)?;
        }
        let started = Instant::now();
        let rest = self.ordered.finish();
        self.summary.stages.track_s += started.elapsed().as_secs_f64();
        for frame in rest {
            self.write_one(frame)?;
        }
        self.end_of_frames()
    }

    /// One frame from the reorder buffer through the frame-ordered stages.
    fn take(&mut self, done: Done) -> Result<(), PipelineError> {
        let frame = Ordered {
            index: done.index,
            t: done.t,
            persons: done.persons,
            smpl: done.smpl,
            image: done.image,
            stages: done.stages,
        };
        let started = Instant::now();
        let ready = self.ordered.push(frame);
        self.summary.stages.track_s += started.elapsed().as_secs_f64();
        self.taken += 1;
        self.window.released(self.taken);
        for frame in ready {
            self.write_one(frame)?;
        }
        Ok(())
    }

    /// Lets sinks that held frames write them (their time counts as the track stage:
    /// offline smoothing is most of it), then puts the tracks in the summary.
    fn end_of_frames(&mut self) -> Result<(), PipelineError> {
        let started = Instant::now();
        for sink in self.sinks.iter_mut() {
            sink.end_of_frames()?;
        }
        self.summary.stages.track_s += started.elapsed().as_secs_f64();
        self.summary.tracks = std::mem::take(&mut self.book).summaries();
        Ok(())
    }

    fn write_one(&mut self, done: Ordered) -> Result<(), PipelineError> {
        let mut frame = FrameOut {
            index: done.index,
            t: done.t,
            persons: &done.persons,
            smpl: &done.smpl,
            image: done.image,
        };
        let mut stages = done.stages;
        for sink in self.sinks.iter_mut() {
            let started = Instant::now();
            sink.frame(&mut frame)?;
            let seconds = started.elapsed().as_secs_f64();
            match sink.stage() {
                SinkStage::Write => stages.write_s += seconds,
                SinkStage::Render => stages.render_s += seconds,
            }
        }
        self.book.record(done.index, &done.persons);
        // Filled persons are no detections.
        let found = done.persons.iter().filter(|p| !p.filled).count() as u64;
        let summary = &mut *self.summary;
        summary.frames += 1;
        summary.persons += found;
        summary.frames_with_person += u64::from(found > 0);
        summary.stages.add(&stages);
        self.progress.advance(summary.frames);
        Ok(())
    }
}
