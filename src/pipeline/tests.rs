//! The run logic with fake models and a fake source, no ONNX Runtime: frame order,
//! skipped frames, Ctrl-C, a failing sink, and how far decoding runs ahead of writing.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::error::PipelineError;
use super::run::{process_video, FrameSource, Mode, RunOptions, WINDOW_PER_WORKER};
use super::sink::{FrameOut, Sink, SinkStage, Written};
use super::workers::WorkerModels;
use crate::image::RgbImage;
use crate::media::decode::{Frame, SourceError, SourceEvent, VideoInfo};
use crate::models::blazepose::testing::one_person_blazepose;
use crate::output::wire::Summary;

/// `frames` blank 4:3 frames (the fake detector's letterbox), with a corrupt one at each
/// index in `skips`; sets `cancel` once `cancel_at` frames are out, like a Ctrl-C.
struct FakeSource {
    info: VideoInfo,
    image: Arc<RgbImage>,
    frames: u64,
    skips: Vec<u64>,
    next: u64,
    cancel_at: Option<(u64, Arc<AtomicBool>)>,
    /// Frames handed out, for the run-ahead check.
    out: Arc<AtomicU64>,
}

impl FakeSource {
    fn new(frames: u64, skips: &[u64]) -> Self {
        let (width, height) = (64, 48);
        FakeSource {
            info: VideoInfo {
                path: "fake".into(),
                width,
                height,
                fps: 30.0,
                codec: "fake".into(),
                frames: Some(frames),
                rotation: 0,
                color_matrix: "bt601".into(),
            },
            image: Arc::new(RgbImage {
                width,
                height,
                data: vec![0; (width * height * 3) as usize],
            }),
            frames,
            skips: skips.to_vec(),
            next: 0,
            cancel_at: None,
            out: Arc::default(),
        }
    }
}

impl FrameSource for FakeSource {
    fn info(&self) -> &VideoInfo {
        &self.info
    }

    fn next_event(&mut self) -> Option<Result<SourceEvent, SourceError>> {
        if self.next >= self.frames {
            return None;
        }
        let index = self.next;
        self.next += 1;
        if let Some((at, flag)) = &self.cancel_at {
            if index + 1 >= *at {
                flag.store(true, Ordering::SeqCst);
            }
        }
        if self.skips.contains(&index) {
            let reason = "corrupt packet".into();
            return Some(Ok(SourceEvent::Skipped { index, reason }));
        }
        self.out.fetch_add(1, Ordering::SeqCst);
        Some(Ok(SourceEvent::Frame(Frame {
            index,
            t: index as f64 / 30.0,
            image: Arc::clone(&self.image),
        })))
    }
}

/// What a [`Collect`] sink saw.
#[derive(Default)]
struct Seen {
    frames: Vec<(u64, usize)>,
    summary: Option<Summary>,
    /// Most frames decoded but not yet written at any one time.
    most_ahead: u64,
}

/// Records every frame; fails at frame `fail_at` if set.
struct Collect {
    seen: Arc<Mutex<Seen>>,
    decoded: Arc<AtomicU64>,
    fail_at: Option<u64>,
}

impl Sink for Collect {
    fn stage(&self) -> SinkStage {
        SinkStage::Write
    }

    fn frame(&mut self, frame: &mut FrameOut) -> Result<(), PipelineError> {
        if self.fail_at == Some(frame.index) {
            return Err(PipelineError::Threads("the disk is full".into()));
        }
        let mut seen = self.seen.lock().unwrap();
        seen.frames.push((frame.index, frame.persons.len()));
        let ahead = self.decoded.load(Ordering::SeqCst) - seen.frames.len() as u64;
        seen.most_ahead = seen.most_ahead.max(ahead);
        Ok(())
    }

    fn finish(self: Box<Self>, summary: &Summary) -> Result<Option<Written>, PipelineError> {
        self.seen.lock().unwrap().summary = Some(summary.clone());
        Ok(None)
    }
}

fn fake_models(workers: usize) -> Vec<WorkerModels> {
    (0..workers)
        .map(|_| WorkerModels {
            pose: one_person_blazepose(),
            hmr2: None,
        })
        .collect()
}

fn options(mode: Mode) -> RunOptions {
    RunOptions {
        mode,
        max_people: 2,
        detect_every: 5,
        max_frames: None,
        progress: false,
        frames_done: None,
        tracking: crate::tracking::TrackingOptions::default(),
    }
}

/// Runs `source` on `workers` fake workers; returns what the sink saw.
fn run(
    mut source: FakeSource,
    workers: usize,
    mode: Mode,
    fail_at: Option<u64>,
    cancel: &AtomicBool,
) -> (Result<(), PipelineError>, Seen) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let sink = Collect {
        seen: Arc::clone(&seen),
        decoded: Arc::clone(&source.out),
        fail_at,
    };
    let mut models = fake_models(workers);
    let result = process_video(
        &mut models,
        &mut source,
        vec![Box::new(sink)],
        &options(mode),
        cancel,
    )
    .map(|_| ());
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    (result, seen)
}

#[test]
fn frames_come_out_in_order_with_skips_counted_in_every_layout() {
    for mode in [Mode::Image, Mode::Video] {
        for workers in [1, 2, 3] {
            let source = FakeSource::new(40, &[3, 17]);
            let (result, seen) = run(source, workers, mode, None, &AtomicBool::new(false));
            result.unwrap();
            let indices: Vec<u64> = seen.frames.iter().map(|f| f.0).collect();
            let expected: Vec<u64> = (0..40).filter(|i| *i != 3 && *i != 17).collect();
            assert_eq!(indices, expected, "{mode:?} × {workers}");
            assert!(seen.frames.iter().all(|f| f.1 == 1), "one person in each");
            let summary = seen.summary.unwrap();
            assert_eq!((summary.frames, summary.failed_frames), (38, 2));
            assert_eq!(summary.frames_with_person, 38);
            assert!(!summary.interrupted);
        }
    }
}

#[test]
fn ctrl_c_finishes_what_is_in_flight_and_says_interrupted() {
    for mode in [Mode::Image, Mode::Video] {
        let cancel = Arc::new(AtomicBool::new(false));
        let mut source = FakeSource::new(1000, &[]);
        source.cancel_at = Some((10, Arc::clone(&cancel)));
        let (result, seen) = run(source, 2, mode, None, &cancel);
        result.unwrap();
        let summary = seen.summary.unwrap();
        assert!(summary.interrupted, "{mode:?}");
        assert!((10..100).contains(&summary.frames), "{}", summary.frames);
        let indices: Vec<u64> = seen.frames.iter().map(|f| f.0).collect();
        let expected: Vec<u64> = (0..summary.frames).collect();
        assert_eq!(indices, expected, "no gap in what was kept");
    }
}

#[test]
fn a_failing_sink_stops_the_run_with_its_error() {
    for mode in [Mode::Image, Mode::Video] {
        let source = FakeSource::new(500, &[]);
        let (result, seen) = run(source, 2, mode, Some(7), &AtomicBool::new(false));
        let err = result.unwrap_err();
        assert!(err.to_string().contains("disk is full"), "{err}");
        assert_eq!(seen.frames.len(), 7);
        assert!(seen.summary.is_none(), "a failed run is not finished");
    }
}

#[test]
fn decoding_runs_only_a_few_frames_ahead_of_writing() {
    for mode in [Mode::Image, Mode::Video] {
        let workers = 3;
        let source = FakeSource::new(300, &[]);
        let (result, seen) = run(source, workers, mode, None, &AtomicBool::new(false));
        result.unwrap();
        let bound = WINDOW_PER_WORKER * workers as u64;
        assert!(
            seen.most_ahead <= bound,
            "{mode:?}: {} frames ahead, bound {bound}",
            seen.most_ahead
        );
    }
}
