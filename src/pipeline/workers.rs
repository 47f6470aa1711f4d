//! The worker side of the pipeline: loading each worker's models, and the loop in which
//! a worker takes decoded frames and turns them into persons (and meshes).
//!
//! In image mode any worker takes any frame from one shared queue. In video mode worker
//! `w` of `N` owns frames `w, w+N, …` and tracks through them, taking over its
//! neighbour's tracks through [`Handoff`] when it would otherwise need the detector.

use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::error::PipelineError;
use super::handoff::Handoff;
use super::mesh::Hmr2Options;
use super::run::{Done, Job, Message, Mode, Queues, RunOptions};
use super::sink::Pixels;
use crate::engine::{DeviceRequest, Engine, EngineError, Inference, ModelSource, WeightSharing};
use crate::image::RgbImage;
use crate::models::blazepose::roi::NormRect;
use crate::models::blazepose::{mediapipe_time, BlazePose, Clock, HandOver, Tracker};
use crate::models::hmr2::{CropBox, Hmr2};
use crate::output::wire::{ModelRef, Stages};

/// A worker's models.
pub struct WorkerModels {
    pub pose: BlazePose,
    pub hmr2: Option<Hmr2>,
}

/// Every worker's models, loaded once and used for as many runs as the caller likes
/// (`process` keeps them for a whole batch, `serve` for all its jobs).
pub struct LoadedModels {
    /// One entry per worker.
    pub workers: Vec<WorkerModels>,
    /// The models' names and hashes, in pipeline order, as result headers list them.
    pub refs: Vec<ModelRef>,
    pub threads_per_worker: usize,
    /// How the workers share HMR2's weights, when there is HMR2.
    pub hmr2_sharing: Option<WeightSharing>,
    /// The device asked for HMR2 (`--device`), when there is HMR2.
    pub hmr2_device: Option<DeviceRequest>,
    /// Most HMR2 crops per call, gathered across frames (1 without HMR2).
    pub hmr2_batch: usize,
}

impl LoadedModels {
    pub fn has_hmr2(&self) -> bool {
        self.workers.iter().any(|w| w.hmr2.is_some())
    }
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
            .into_iter()
            .map(ModelRef::of)
            .collect();
        models.push(BlazePose::new(Box::new(detector), Box::new(landmarks))?);
    }
    Ok((models, refs))
}

/// Each worker's models for `process` and `serve` alike: its own BlazePose (see
/// [`load_blazepose`]) and, with HMR2, a handle on the one shared copy of its weights.
/// Also the models' names and hashes, in pipeline order.
pub fn load_worker_models(
    engine: &Engine,
    detector: &ModelSource,
    landmarks: &ModelSource,
    hmr2: Option<&Hmr2Options>,
    workers: usize,
    threads_per_worker: usize,
) -> Result<LoadedModels, PipelineError> {
    let meshes = match hmr2 {
        Some(h) => super::mesh::load(engine, h, workers, threads_per_worker)?,
        None => Vec::new(),
    };
    load_worker_models_with(
        engine,
        detector,
        landmarks,
        hmr2,
        threads_per_worker,
        meshes,
        workers,
    )
}

/// As [`load_worker_models`], around HMR2 handles the caller made (`hmr2` says how):
/// `serve` makes the handles of its pose workers and of its job workers in one go, so
/// that both hold the one copy of the weights. With no handles there is no HMR2.
pub fn load_worker_models_with(
    engine: &Engine,
    detector: &ModelSource,
    landmarks: &ModelSource,
    hmr2: Option<&Hmr2Options>,
    threads_per_worker: usize,
    meshes: Vec<Hmr2>,
    workers: usize,
) -> Result<LoadedModels, PipelineError> {
    let (poses, mut refs) =
        load_blazepose(engine, detector, landmarks, workers, threads_per_worker)?;
    refs.extend(meshes.first().map(|m| ModelRef::of(m.info())));
    let hmr2 = hmr2.filter(|_| !meshes.is_empty());
    let hmr2_batch = match (hmr2, meshes.first()) {
        (Some(h), Some(m)) => h
            .batch
            .unwrap_or_else(|| super::mesh::default_batch(m.info().device)),
        _ => 1,
    };
    let mut meshes: Vec<Option<Hmr2>> = meshes.into_iter().map(Some).collect();
    meshes.resize_with(poses.len(), || None);
    let workers = poses
        .into_iter()
        .zip(meshes)
        .map(|(pose, hmr2)| WorkerModels { pose, hmr2 })
        .collect();
    Ok(LoadedModels {
        workers,
        refs,
        threads_per_worker,
        hmr2_sharing: hmr2.map(|h| h.sharing),
        hmr2_device: hmr2.map(|h| h.placement.request),
        hmr2_batch,
    })
}

/// What every worker shares for the whole run.
#[derive(Clone, Copy)]
pub(super) struct Shared<'a> {
    pub(super) handoff: &'a Handoff,
    pub(super) stop: &'a AtomicBool,
}

pub(super) fn spawn_workers<'scope>(
    pool: &rayon::Scope<'scope>,
    queues: Queues,
    models: &'scope mut [WorkerModels],
    options: &RunOptions,
    keep_images: bool,
    shared: Shared<'scope>,
    results: &SyncSender<Message>,
) {
    let (mode, max_people, detect_every) = (options.mode, options.max_people, options.detect_every);
    let hmr2_batch = options.hmr2_batch.max(1);
    let workers = models.len();
    let per_worker: Vec<WorkerQueue> = match queues {
        Queues::PerWorker(rxs) => rxs.into_iter().map(WorkerQueue::Own).collect(),
        Queues::Shared(rx) => (0..models.len())
            .map(|_| WorkerQueue::Shared(Arc::clone(&rx)))
            .collect(),
    };
    for (model, queue) in models.iter_mut().zip(per_worker) {
        let results = results.clone();
        pool.spawn(move |_| {
            let mut worker = Worker {
                model: &mut model.pose,
                hmr2: model.hmr2.as_mut(),
                // Frames are stamped in MediaPipe's time base by index (see
                // `mediapipe_time`), so a worker that sees every N-th frame still tells
                // its tracking filter how far apart they are.
                tracker: (mode == Mode::Video)
                    .then(|| Tracker::new(max_people, detect_every).with_clock(Clock::Given)),
                max_people,
                keep_images,
                handoff: (mode == Mode::Video && workers > 1).then_some(shared.handoff),
                stop: shared.stop,
                hmr2_batch,
            };
            while let Some(job) = queue.next() {
                let held = gather_batch(worker.pose(job), hmr2_batch, || {
                    queue.try_next().map(|job| worker.pose(job))
                });
                let sent = worker
                    .finish(held)
                    .into_iter()
                    .all(|message| results.send(message).is_ok());
                if !sent {
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

    /// A frame already decoded and waiting, without waiting for one.
    fn try_next(&self) -> Option<Job> {
        match self {
            WorkerQueue::Own(rx) => rx.try_recv().ok(),
            WorkerQueue::Shared(rx) => rx.lock().ok()?.try_recv().ok(),
        }
    }
}

/// The regions the previous frame's worker hands over (none before the first frame).
struct Previous<'a> {
    handoff: &'a Handoff,
    seq: Option<u64>,
    stop: &'a AtomicBool,
}

impl HandOver for Previous<'_> {
    fn arrived(&mut self) -> Option<Vec<NormRect>> {
        match self.seq {
            Some(seq) => self.handoff.published(seq),
            None => Some(Vec::new()),
        }
    }

    fn wait(&mut self) -> Vec<NormRect> {
        match self.seq {
            Some(seq) => self.handoff.wait_for(seq, self.stop),
            None => Vec::new(),
        }
    }
}

/// A frame whose persons are found and whose HMR2 crops are still to run.
pub(super) struct Posed {
    done: Done,
    image: Arc<RgbImage>,
}

impl Posed {
    fn crops(&self) -> usize {
        self.done.persons.len()
    }
}

/// The frames of one HMR2 batch: `first`, then frames already waiting (`next` never
/// waits), until they hold `batch` crops or `batch` frames. Never waiting is what keeps
/// the frames-in-flight bound safe: a worker holding frames never blocks on the decoder,
/// which may itself be waiting for those frames to be written. With `batch` 1 this is
/// one frame at a time, as without batching.
pub(super) fn gather_batch<T: Crops>(
    first: T,
    batch: usize,
    mut next: impl FnMut() -> Option<T>,
) -> Vec<T> {
    let mut held = vec![first];
    while held.len() < batch && held.iter().map(Crops::crops).sum::<usize>() < batch {
        match next() {
            Some(item) => held.push(item),
            None => break,
        }
    }
    held
}

/// How many HMR2 crops something brings to a batch.
pub(super) trait Crops {
    fn crops(&self) -> usize;
}

impl Crops for Result<Posed, EngineError> {
    fn crops(&self) -> usize {
        self.as_ref().map_or(0, Posed::crops)
    }
}

/// One worker's models and, in video mode, its tracks.
struct Worker<'a> {
    model: &'a mut BlazePose,
    hmr2: Option<&'a mut Hmr2>,
    tracker: Option<Tracker>,
    max_people: usize,
    keep_images: bool,
    /// Video mode with several workers: tracks handed between workers.
    handoff: Option<&'a Handoff>,
    stop: &'a AtomicBool,
    /// Most HMR2 crops per call.
    hmr2_batch: usize,
}

impl Worker<'_> {
    /// BlazePose on one frame: its persons, HMR2 still to run.
    fn pose(&mut self, job: Job) -> Result<Posed, EngineError> {
        let Job {
            seq,
            frame,
            decode_s,
        } = job;
        let t = mediapipe_time(frame.index);
        let persons = match (&mut self.tracker, self.handoff) {
            (Some(tracker), Some(handoff)) => {
                let previous = Previous {
                    handoff,
                    seq: seq.checked_sub(1),
                    stop: self.stop,
                };
                let persons = tracker.track_or_adopt(self.model, &frame.image, t, previous);
                // Publish even after a failure, so no neighbour waits for this frame.
                handoff.publish(seq, tracker.next_rois());
                persons?
            }
            (Some(tracker), None) => tracker.track(self.model, &frame.image, t)?,
            (None, _) => self.model.detect_persons(&frame.image, self.max_people)?,
        };
        let times = self.model.take_stage_times();
        let image = Arc::clone(&frame.image);
        Ok(Posed {
            image,
            done: Done {
                seq,
                index: frame.index,
                t: frame.t,
                persons,
                smpl: Vec::new(),
                image: self.keep_images.then_some(Pixels {
                    image: frame.image,
                    picture: frame.picture,
                }),
                stages: Stages {
                    decode_s,
                    detect_s: times.detect.as_secs_f64(),
                    landmarks_s: times.landmarks.as_secs_f64(),
                    detector_calls: times.detector_calls,
                    landmark_calls: times.landmark_calls,
                    ..Stages::default()
                },
            },
        })
    }

    /// HMR2 on every crop of `held`, in calls of at most `hmr2_batch` crops, then one
    /// message per frame in the order held. The batch's time is shared among its frames
    /// by their crops.
    fn finish(&mut self, held: Vec<Result<Posed, EngineError>>) -> Vec<Message> {
        let mut messages = Vec::with_capacity(held.len());
        let mut posed = Vec::with_capacity(held.len());
        for item in held {
            match item {
                Ok(p) => posed.push(p),
                Err(e) => messages.push(Message::Failed(e.into())),
            }
        }
        let Some(hmr2) = &mut self.hmr2 else {
            messages.extend(posed.into_iter().map(|p| Message::Done(p.done)));
            return messages;
        };
        let rows: Vec<(&RgbImage, CropBox)> = posed
            .iter()
            .flat_map(|p| {
                p.done
                    .persons
                    .iter()
                    .map(|person| (&*p.image, super::mesh::crop_box(person)))
            })
            .collect();
        let started = Instant::now();
        let result = hmr2.estimate_rows(&rows, self.hmr2_batch);
        let per_crop = started.elapsed().as_secs_f64() / rows.len().max(1) as f64;
        drop(rows);
        let mut smpl = match result {
            Ok(smpl) => smpl.into_iter(),
            Err(e) => {
                messages.push(Message::Failed(e.into()));
                return messages;
            }
        };
        for mut p in posed {
            let n = p.crops();
            p.done.smpl = smpl.by_ref().take(n).collect();
            p.done.stages.hmr2_s = per_crop * n as f64;
            messages.push(Message::Done(p.done));
        }
        messages
    }
}
