//! The inference workers behind `/v1/pose`: a fixed set of threads, each owning its own
//! models, fed through one bounded queue, answering through a oneshot channel.
//!
//! This is `process`'s worker design (one BlazePose per worker, so no worker waits on
//! another's session lock) with the video decoder replaced by HTTP requests. The queue
//! is bounded so that an overloaded service answers 503 at once instead of building a
//! backlog that would time out anyway. Nothing here runs on the async threads.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::body::Bytes;
use tokio::sync::oneshot;

use crate::media::still::{decode_still, StillFormat};
use crate::models::hmr2::Smpl;
use crate::pipeline::{mesh, WorkerModels};
use crate::pose::Person;

/// The persons found in one image and, with HMR2, their meshes (parallel to `persons`).
pub struct PoseAnswer {
    pub persons: Vec<Person>,
    pub smpl: Vec<Smpl>,
}

/// One image to find persons in.
pub struct PoseTask {
    pub body: Bytes,
    pub format: StillFormat,
    pub reply: oneshot::Sender<Result<PoseAnswer, PoseFailure>>,
}

/// Why a task produced no persons.
#[derive(Debug)]
pub enum PoseFailure {
    /// The bytes did not decode; the message is for the client (a 400).
    BadImage(String),
    /// The models failed, or a worker panicked: the service's fault (a 500).
    Inference(String),
}

/// Counters `/health` reads without taking any lock.
#[derive(Debug, Default)]
pub struct PoolStats {
    /// Tasks accepted and not yet taken by a worker.
    pub queued: AtomicUsize,
    /// Workers running a task now.
    pub busy: AtomicUsize,
}

/// How the pool is laid out, as `/health` reports it.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Layout {
    pub workers: usize,
    pub threads_per_worker: usize,
    pub queue_capacity: usize,
    pub max_people: usize,
}

/// The handlers' side of the pool: cheap to clone, never blocks.
#[derive(Clone)]
pub struct PoolHandle {
    tx: SyncSender<PoseTask>,
    pub stats: Arc<PoolStats>,
    pub layout: Layout,
}

impl PoolHandle {
    /// Queues `task`, or gives it back when the queue is full.
    pub fn try_submit(&self, task: PoseTask) -> Result<(), PoseTask> {
        // Counted before sending so a worker never takes a task the count missed.
        self.stats.queued.fetch_add(1, Ordering::SeqCst);
        match self.tx.try_send(task) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(task) | TrySendError::Disconnected(task)) => {
                self.stats.queued.fetch_sub(1, Ordering::SeqCst);
                Err(task)
            }
        }
    }
}

/// The worker threads; joined by [`Pool::join`] once every handle is gone.
pub struct Pool {
    workers: Vec<JoinHandle<()>>,
}

/// Test hook (`posekit serve --debug-inference-delay-ms`): each task waits this long
/// before inference, so tests can fill the queue and reach the timeout on purpose.
#[derive(Clone, Copy, Debug, Default)]
pub struct DebugDelay(pub Duration);

impl Pool {
    /// Starts one thread per model set. `queue_capacity` tasks may wait beyond the ones
    /// being worked on.
    pub fn start(
        models: Vec<WorkerModels>,
        layout: Layout,
        delay: DebugDelay,
    ) -> std::io::Result<(Pool, PoolHandle)> {
        // A zero-capacity sync_channel is a rendezvous, which would refuse every task
        // that arrives while all workers are busy; one slot is the least that queues.
        let (tx, rx) = sync_channel(layout.queue_capacity.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let stats = Arc::new(PoolStats::default());
        let mut workers = Vec::new();
        for (i, model) in models.into_iter().enumerate() {
            let (rx, stats) = (Arc::clone(&rx), Arc::clone(&stats));
            let max_people = layout.max_people;
            let handle = std::thread::Builder::new()
                .name(format!("posekit-serve-{i}"))
                .spawn(move || work(model, &rx, &stats, max_people, delay))?;
            workers.push(handle);
        }
        Ok((Pool { workers }, PoolHandle { tx, stats, layout }))
    }

    /// Waits for the workers to finish the queue; they stop when every handle is dropped.
    pub fn join(self) {
        for worker in self.workers {
            let _ = worker.join();
        }
    }
}

fn work(
    mut model: WorkerModels,
    rx: &Mutex<Receiver<PoseTask>>,
    stats: &PoolStats,
    max_people: usize,
    delay: DebugDelay,
) {
    lower_priority();
    loop {
        // The lock is held only while waiting for the next task, as in `process`.
        let task = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(task) = task else { return };
        stats.queued.fetch_sub(1, Ordering::SeqCst);
        // The client gave up (timed out or disconnected): its answer would be thrown away.
        if task.reply.is_closed() {
            continue;
        }
        stats.busy.fetch_add(1, Ordering::SeqCst);
        if !delay.0.is_zero() {
            std::thread::sleep(delay.0);
        }
        let result = catch_unwind(AssertUnwindSafe(|| {
            infer(&mut model, &task.body, task.format, max_people)
        }))
        .unwrap_or_else(|_| Err(PoseFailure::Inference("a worker panicked".into())));
        stats.busy.fetch_sub(1, Ordering::SeqCst);
        let _ = task.reply.send(result);
    }
}

/// Decode, then BlazePose in image mode (every request stands alone, so no tracking).
/// The HMR2 stage, when a model is loaded, runs here on the persons found, and its
/// `smpl` block travels in the same `FrameRecord` the handler answers with.
fn infer(
    model: &mut WorkerModels,
    body: &[u8],
    format: StillFormat,
    max_people: usize,
) -> Result<PoseAnswer, PoseFailure> {
    let image = decode_still(body, format).map_err(PoseFailure::BadImage)?;
    let failed = |e: crate::engine::EngineError| PoseFailure::Inference(e.to_string());
    let persons = model
        .pose
        .detect_persons(&image, max_people)
        .map_err(failed)?;
    // Stage times are for `process`'s summary; drop them so they don't accumulate.
    model.pose.take_stage_times();
    let smpl = match &mut model.hmr2 {
        Some(hmr2) => mesh::recover(hmr2, &image, &persons).map_err(failed)?,
        None => Vec::new(),
    };
    Ok(PoseAnswer { persons, smpl })
}

/// Inference threads yield to the async threads (nice +5), so `/health` and the
/// accept loop answer at once even when every core is busy with models. On Linux a
/// thread id given to setpriority changes that thread only; new threads inherit it.
pub fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain syscalls on the calling thread's own id; failure only leaves the
    // priority as it was.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 5);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::blazepose::testing::one_person_blazepose;

    fn png(width: u32, height: u32) -> Bytes {
        let mut out = std::io::Cursor::new(Vec::new());
        ::image::RgbImage::new(width, height)
            .write_to(&mut out, ::image::ImageFormat::Png)
            .unwrap();
        Bytes::from(out.into_inner())
    }

    fn fake_pool(workers: usize, queue: usize, delay_ms: u64) -> (Pool, PoolHandle) {
        let models = (0..workers)
            .map(|_| WorkerModels {
                pose: one_person_blazepose(),
                hmr2: None,
            })
            .collect();
        let layout = Layout {
            workers,
            threads_per_worker: 1,
            queue_capacity: queue,
            max_people: 4,
        };
        Pool::start(models, layout, DebugDelay(Duration::from_millis(delay_ms))).unwrap()
    }

    fn task(body: Bytes) -> (PoseTask, oneshot::Receiver<Result<PoseAnswer, PoseFailure>>) {
        let (reply, rx) = oneshot::channel();
        let task = PoseTask {
            body,
            format: StillFormat::Png,
            reply,
        };
        (task, rx)
    }

    #[test]
    fn a_task_is_answered_with_persons() {
        let (pool, handle) = fake_pool(1, 2, 0);
        let (t, rx) = task(png(64, 48));
        assert!(handle.try_submit(t).is_ok());
        let answer = rx.blocking_recv().unwrap().unwrap();
        assert_eq!(answer.persons.len(), 1);
        assert!(answer.smpl.is_empty(), "no HMR2 model, no meshes");
        drop(handle);
        pool.join();
    }

    #[test]
    fn a_bad_image_is_the_clients_fault() {
        let (pool, handle) = fake_pool(1, 1, 0);
        let (t, rx) = task(Bytes::from_static(b"\x89PNG\r\n\x1a\nnonsense"));
        handle.try_submit(t).ok().unwrap();
        assert!(matches!(
            rx.blocking_recv().unwrap(),
            Err(PoseFailure::BadImage(_))
        ));
        drop(handle);
        pool.join();
    }

    #[test]
    fn a_full_queue_refuses_instead_of_waiting() {
        // One worker busy for 300 ms, one slot: the third task must be refused at once.
        let (pool, handle) = fake_pool(1, 1, 300);
        let (first, rx1) = task(png(8, 8));
        handle.try_submit(first).ok().unwrap();
        // Wait until the worker has taken the first task, so the slot is free again.
        while handle.stats.busy.load(Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        let (second, rx2) = task(png(8, 8));
        handle.try_submit(second).ok().unwrap();
        let (third, _rx3) = task(png(8, 8));
        assert!(
            handle.try_submit(third).is_err(),
            "the queue must be bounded"
        );
        assert_eq!(handle.stats.queued.load(Ordering::SeqCst), 1);
        assert!(rx1.blocking_recv().unwrap().is_ok());
        assert!(rx2.blocking_recv().unwrap().is_ok());
        drop(handle);
        pool.join();
    }
}
