//! The run logic with fake models and a fake source, no ONNX Runtime: frame order,
//! skipped frames, Ctrl-C, a failing sink, how far decoding runs ahead of writing, and
//! HMR2 crops batched across frames.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::error::PipelineError;
use super::run::{process_video, FrameSource, Mode, RunOptions, WINDOW_PER_WORKER};
use super::sink::{FrameOut, Sink, SinkStage, Written};
use super::workers::{gather_batch, Crops, WorkerModels};
use crate::engine::{EngineError, Inference, ModelInfo, Outputs, TensorInfo};
use crate::image::RgbImage;
use crate::media::decode::{Frame, SourceError, SourceEvent, VideoInfo};
use crate::models::blazepose::testing::one_person_blazepose;
use crate::models::hmr2::Hmr2;
use crate::output::wire::Summary;
use ndarray::{ArrayD, ArrayViewD, IxDyn};

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
            picture: None,
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
        hmr2_batch: 1,
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

/// HMR2 on a fake engine that records each call's batch size; its first call waits a
/// little, so that the decoder has frames queued when the worker next gathers a batch.
struct FakeHmr2 {
    info: ModelInfo,
    calls: Arc<Mutex<Vec<usize>>>,
}

impl FakeHmr2 {
    fn hmr2(calls: &Arc<Mutex<Vec<usize>>>) -> Hmr2 {
        use crate::models::hmr2::config::{INPUT, OUTPUTS};
        let tensor = |name: &str, shape: Vec<i64>| TensorInfo {
            name: name.into(),
            shape,
        };
        let info = ModelInfo {
            name: "fake-hmr2.onnx".into(),
            inputs: vec![tensor(INPUT.0, INPUT.1.to_vec())],
            outputs: OUTPUTS
                .iter()
                .filter(|o| o.required)
                .map(|o| {
                    let mut shape = vec![-1];
                    shape.extend(o.dims.iter().map(|d| d.unwrap_or(1)));
                    tensor(o.name, shape)
                })
                .collect(),
            ..ModelInfo::default()
        };
        let fake = FakeHmr2 {
            info,
            calls: Arc::clone(calls),
        };
        Hmr2::new(Box::new(fake)).expect("the fake meets the contract")
    }
}

impl Inference for FakeHmr2 {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn run(&mut self, input: ArrayViewD<'_, f32>) -> Result<Outputs, EngineError> {
        let n = input.shape()[0];
        let first = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(n);
            calls.len() == 1
        };
        if first {
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        let mut out = Outputs::default();
        for t in &self.info.outputs {
            let mut shape = vec![n];
            shape.extend(t.shape[1..].iter().map(|&d| d as usize));
            out.names.push(t.name.clone());
            out.arrays.push(ArrayD::zeros(IxDyn(&shape)));
        }
        Ok(out)
    }
}

#[test]
fn hmr2_crops_are_batched_across_frames_in_frame_order() {
    for mode in [Mode::Image, Mode::Video] {
        let batch = 4;
        let calls = Arc::new(Mutex::new(Vec::new()));
        let mut models = fake_models(1);
        models[0].hmr2 = Some(FakeHmr2::hmr2(&calls));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let mut source = FakeSource::new(30, &[]);
        let sink = Collect {
            seen: Arc::clone(&seen),
            decoded: Arc::clone(&source.out),
            fail_at: None,
        };
        let options = RunOptions {
            hmr2_batch: batch,
            ..options(mode)
        };
        let cancel = AtomicBool::new(false);
        process_video(
            &mut models,
            &mut source,
            vec![Box::new(sink)],
            &options,
            &cancel,
        )
        .unwrap();
        let seen = seen.lock().unwrap();
        let indices: Vec<u64> = seen.frames.iter().map(|f| f.0).collect();
        assert_eq!(
            indices,
            (0..30).collect::<Vec<_>>(),
            "{mode:?}: frame order kept"
        );
        let calls = calls.lock().unwrap();
        assert_eq!(
            calls.iter().sum::<usize>(),
            30,
            "{mode:?}: one crop per frame, each run once"
        );
        assert!(calls.iter().all(|&n| n <= batch), "{mode:?}: {calls:?}");
        assert!(
            calls.contains(&batch),
            "{mode:?}: frames waiting were batched: {calls:?}"
        );
        let bound = WINDOW_PER_WORKER + batch as u64 - 1;
        assert!(
            seen.most_ahead <= bound,
            "{mode:?}: {} ahead, bound {bound}",
            seen.most_ahead
        );
    }
}

#[test]
fn a_batch_gathers_only_what_is_waiting() {
    struct Frame(usize);
    impl Crops for Frame {
        fn crops(&self) -> usize {
            self.0
        }
    }
    let queue = |items: Vec<usize>| {
        let mut items = items.into_iter();
        move || items.next().map(Frame)
    };
    let sizes = |held: Vec<Frame>| held.iter().map(|f| f.0).collect::<Vec<_>>();
    // Batch 1: one frame, whatever waits.
    assert_eq!(sizes(gather_batch(Frame(1), 1, queue(vec![1, 1]))), [1]);
    // Up to 4 crops; a frame of 2 persons counts twice.
    assert_eq!(
        sizes(gather_batch(Frame(1), 4, queue(vec![2, 1, 1]))),
        [1, 2, 1]
    );
    // Frames without persons are held too, but at most `batch` frames.
    assert_eq!(
        sizes(gather_batch(Frame(0), 3, queue(vec![0, 0, 0, 0]))),
        [0, 0, 0]
    );
    // Nothing waiting: go with what there is, never wait.
    assert_eq!(sizes(gather_batch(Frame(1), 8, queue(vec![1]))), [1, 1]);
}
