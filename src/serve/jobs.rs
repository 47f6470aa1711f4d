//! Video jobs: an upload becomes a job, one runner thread takes jobs in order and runs
//! the whole `process` pipeline on each, and clients poll for progress and the result.
//!
//! Jobs run one at a time because each already uses every worker it is given; running
//! two would only split the same cores. The waiting line is bounded like the pose queue
//! (503 when full), uploads live in the service's temporary folder, and only the last
//! [`KEPT_JOBS`] finished jobs are remembered, so disk use stays bounded too.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use axum::http::StatusCode;
use serde::Serialize;

use super::errors::ApiError;
use super::pool::lower_priority;
use crate::media::decode::{SourceError, VideoSource};
use crate::output::wire::Summary;
use crate::pipeline::{process_file, Input, LoadedModels, Outcome, PipelineError, ProcessOptions};

/// Finished jobs remembered (with their result files); older ones are forgotten.
pub const KEPT_JOBS: usize = 32;

/// Seconds a client refused during shutdown is told to wait: about a restart.
const SHUTDOWN_RETRY_AFTER_S: u64 = 5;

/// Where a job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
    /// The service was stopped while the job waited or ran.
    Cancelled,
}

/// What `GET /v1/jobs/{id}` answers.
#[derive(Clone, Debug, Serialize)]
pub struct JobView {
    pub id: String,
    pub status: JobState,
    /// Frames written to the result so far.
    pub frames_done: u64,
    /// Frames in the video as its container tells (an estimate for some formats).
    pub frames_total: Option<u64>,
    /// `frames_done / frames_total`, 0..1; 1 once done.
    pub progress: Option<f64>,
    /// Why the job failed.
    pub error: Option<String>,
    /// The result's summary line, once done.
    pub summary: Option<Summary>,
    /// Where the JSON Lines result will be.
    pub result: String,
}

/// Queue and runner counts for `/health`.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct JobCounts {
    pub queued: usize,
    pub running: usize,
    pub queue_capacity: usize,
}

struct Job {
    state: JobState,
    video: PathBuf,
    result: PathBuf,
    frames_total: Option<u64>,
    frames_done: Arc<AtomicU64>,
    error: Option<String>,
    summary: Option<Summary>,
}

#[derive(Default)]
struct Table {
    jobs: HashMap<String, Job>,
    /// Ids in the order they were created, for forgetting the oldest finished ones.
    order: VecDeque<String>,
    created: u64,
}

struct Shared {
    table: Mutex<Table>,
    dir: PathBuf,
    /// Set on shutdown: the running job stops after its frames in flight.
    cancel: AtomicBool,
}

impl Shared {
    fn table(&self) -> MutexGuard<'_, Table> {
        // A panic elsewhere while holding the lock leaves plain data; keep serving.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The handlers' side: admit uploads, report, cancel. Cheap to clone.
#[derive(Clone)]
pub struct JobsHandle {
    shared: Arc<Shared>,
    tx: SyncSender<String>,
    capacity: usize,
}

/// The runner thread.
pub struct JobRunner {
    thread: JoinHandle<()>,
}

impl JobRunner {
    /// Starts the runner. `options` is the template each job's options are made from
    /// (its `output` and `frames_done` are replaced per job); uploads go under `dir`.
    /// `models` are the job workers', kept for every job (HMR2's weights are the ones the
    /// pose workers share).
    pub fn start(
        mut models: LoadedModels,
        options: ProcessOptions,
        capacity: usize,
        dir: &Path,
    ) -> std::io::Result<(JobRunner, JobsHandle)> {
        let shared = Arc::new(Shared {
            table: Mutex::new(Table::default()),
            dir: dir.to_path_buf(),
            cancel: AtomicBool::new(false),
        });
        let (tx, rx) = sync_channel(capacity.max(1));
        let runner_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("posekit-jobs".into())
            .spawn(move || run_jobs(&mut models, &rx, &runner_shared, &options))?;
        let handle = JobsHandle {
            shared,
            tx,
            capacity,
        };
        Ok((JobRunner { thread }, handle))
    }

    /// Waits for the runner; it ends once every handle is dropped and its job is over.
    pub fn join(self) {
        let _ = self.thread.join();
    }
}

impl JobsHandle {
    /// Saves the upload, checks that FFmpeg can open it as a video, and queues it.
    /// Blocking (disk and FFmpeg's probe): call it off the async threads.
    pub fn admit(&self, upload: &[u8]) -> Result<JobView, ApiError> {
        self.refuse_when_stopping()?;
        if upload.is_empty() {
            return Err(ApiError::bad_request(
                "empty_body",
                "the request has no body; send the video file as the body",
            ));
        }
        let id = self.new_id();
        let video = self.shared.dir.join(format!("{id}.upload"));
        let result = self.shared.dir.join(format!("{id}.poses.jsonl"));
        save_private(&video, upload).map_err(|e| {
            ApiError::internal(format!(
                "could not save the upload in {}: {e}",
                self.shared.dir.display()
            ))
        })?;
        let frames_total = match VideoSource::open(&video) {
            Ok(source) => source.info().frames,
            Err(e) => {
                let _ = std::fs::remove_file(&video);
                return Err(video_error(&e));
            }
        };
        let job = Job {
            state: JobState::Queued,
            video: video.clone(),
            result,
            frames_total,
            frames_done: Arc::default(),
            error: None,
            summary: None,
        };
        // The probe takes a while; a signal may have come meanwhile.
        if let Err(e) = self.refuse_when_stopping() {
            let _ = std::fs::remove_file(&video);
            return Err(e);
        }
        {
            let mut table = self.shared.table();
            table.jobs.insert(id.clone(), job);
            table.order.push_back(id.clone());
            forget_old(&mut table);
        }
        match self.tx.try_send(id.clone()) {
            Ok(()) => Ok(self.view(&id).expect("the job was just added")),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                let mut table = self.shared.table();
                table.jobs.remove(&id);
                table.order.retain(|j| *j != id);
                let _ = std::fs::remove_file(&video);
                Err(ApiError::busy("video job", 5))
            }
        }
    }

    pub fn view(&self, id: &str) -> Option<JobView> {
        let table = self.shared.table();
        table.jobs.get(id).map(|job| view(id, job))
    }

    /// The finished result file, or why there is none yet.
    pub fn result_path(&self, id: &str) -> Result<PathBuf, ApiError> {
        let table = self.shared.table();
        let job = table.jobs.get(id).ok_or_else(|| unknown(id))?;
        match job.state {
            JobState::Done => Ok(job.result.clone()),
            state => Err(ApiError::new(
                StatusCode::CONFLICT,
                "not_ready",
                format!(
                    "job {id} is {}; its result exists once GET /v1/jobs/{id} says \"done\"",
                    serde_json::to_value(state)
                        .unwrap_or_default()
                        .as_str()
                        .unwrap_or("?")
                ),
            )),
        }
    }

    pub fn counts(&self) -> JobCounts {
        let table = self.shared.table();
        let count = |s| table.jobs.values().filter(|j| j.state == s).count();
        JobCounts {
            queued: count(JobState::Queued),
            running: count(JobState::Running),
            queue_capacity: self.capacity,
        }
    }

    /// Shutdown: the running job stops after its frames in flight and waiting jobs are
    /// not started (their uploads and results would vanish with the service anyway).
    pub fn cancel_all(&self) {
        self.shared.cancel.store(true, Ordering::SeqCst);
    }

    /// After the first signal a new job would only be cancelled: 503 instead of a 202
    /// for a job that never runs.
    fn refuse_when_stopping(&self) -> Result<(), ApiError> {
        if self.shared.cancel.load(Ordering::SeqCst) {
            return Err(ApiError::shutting_down(SHUTDOWN_RETRY_AFTER_S));
        }
        Ok(())
    }

    fn new_id(&self) -> String {
        let mut table = self.shared.table();
        table.created += 1;
        // Unguessable enough that one client cannot read another's job by counting.
        let hash = std::collections::hash_map::RandomState::new()
            .hash_one((table.created, std::time::SystemTime::now()));
        format!("{:016x}{:04x}", hash, table.created & 0xffff)
    }
}

/// Writes an upload readable by this user only (the folder is private too), as a new
/// file: an id is never reused, so an existing file there is not ours to replace.
fn save_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)
}

pub fn unknown(id: &str) -> ApiError {
    ApiError::not_found(format!(
        "no job {id:?}: it never existed, or it was forgotten (the service keeps the last {KEPT_JOBS} finished jobs, and none across restarts)"
    ))
}

/// FFmpeg's verdict on an upload, as a client error.
fn video_error(e: &SourceError) -> ApiError {
    // The message names the temporary file; the client knows its upload as "the video".
    let text = e.to_string();
    let text = text
        .split_once(": ")
        .map_or(text.as_str(), |(_, rest)| rest);
    match e {
        SourceError::UnsupportedCodec { .. } => {
            ApiError::unsupported_media_type(format!("the video {text}"))
        }
        SourceError::NoVideoStream { .. } => {
            ApiError::bad_request("no_video_stream", format!("the upload {text}"))
        }
        _ => ApiError::bad_request("corrupt_video", format!("the upload is {text}")),
    }
}

fn view(id: &str, job: &Job) -> JobView {
    let done = job.frames_done.load(Ordering::Relaxed);
    let progress = match (job.state, job.frames_total) {
        (JobState::Done, _) => Some(1.0),
        (_, Some(total)) if total > 0 => Some((done as f64 / total as f64).min(1.0)),
        _ => None,
    };
    JobView {
        id: id.to_string(),
        status: job.state,
        frames_done: done,
        frames_total: job.frames_total,
        progress,
        error: job.error.clone(),
        summary: job.summary.clone(),
        result: format!("/v1/jobs/{id}/result"),
    }
}

/// Drops the oldest finished jobs beyond [`KEPT_JOBS`], with their files.
fn forget_old(table: &mut Table) {
    let finished = |j: &Job| !matches!(j.state, JobState::Queued | JobState::Running);
    let mut excess = table
        .jobs
        .values()
        .filter(|j| finished(j))
        .count()
        .saturating_sub(KEPT_JOBS);
    let mut i = 0;
    while excess > 0 && i < table.order.len() {
        let id = table.order[i].clone();
        if table.jobs.get(&id).is_some_and(finished) {
            if let Some(job) = table.jobs.remove(&id) {
                let _ = std::fs::remove_file(&job.result);
            }
            table.order.remove(i);
            excess -= 1;
        } else {
            i += 1;
        }
    }
}

fn run_jobs(
    models: &mut LoadedModels,
    rx: &Receiver<String>,
    shared: &Shared,
    template: &ProcessOptions,
) {
    // Threads started from here (the pipeline's decoder and workers) inherit this.
    lower_priority();
    for id in rx {
        let started = {
            let mut table = shared.table();
            let cancelled = shared.cancel.load(Ordering::SeqCst);
            table.jobs.get_mut(&id).map(|job| {
                job.state = if cancelled {
                    JobState::Cancelled
                } else {
                    JobState::Running
                };
                (
                    job.state,
                    job.video.clone(),
                    job.result.clone(),
                    Arc::clone(&job.frames_done),
                )
            })
        };
        let Some((JobState::Running, video, result, counter)) = started else {
            continue;
        };
        let options = ProcessOptions {
            output: result,
            frames_done: Some(counter),
            ..template.clone()
        };
        let input = Input::Video(video);
        let outcome = process_file(models, &input, &options, &shared.cancel);
        let _ = std::fs::remove_file(input.path());
        finish(shared, &id, outcome);
    }
}

fn finish(shared: &Shared, id: &str, outcome: Result<Outcome, PipelineError>) {
    let mut table = shared.table();
    let Some(job) = table.jobs.get_mut(id) else {
        return;
    };
    match outcome {
        Ok(outcome) if outcome.summary.interrupted => {
            job.state = JobState::Cancelled;
            let _ = std::fs::remove_file(&outcome.output);
        }
        Ok(outcome) => {
            job.state = JobState::Done;
            job.frames_done
                .store(outcome.summary.frames, Ordering::Relaxed);
            job.summary = Some(outcome.summary);
        }
        Err(e) => {
            job.state = JobState::Failed;
            job.error = Some(format!("{e:#}"));
        }
    }
    forget_old(&mut table);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(state: JobState, result: PathBuf) -> Job {
        Job {
            state,
            video: PathBuf::new(),
            result,
            frames_total: Some(10),
            frames_done: Arc::new(AtomicU64::new(4)),
            error: None,
            summary: None,
        }
    }

    #[test]
    fn progress_is_a_fraction_and_one_when_done() {
        let running = view("a", &job(JobState::Running, PathBuf::new()));
        assert_eq!(running.progress, Some(0.4));
        assert_eq!(running.result, "/v1/jobs/a/result");
        let done = view("a", &job(JobState::Done, PathBuf::new()));
        assert_eq!(done.progress, Some(1.0));
        let v = serde_json::to_value(&running).unwrap();
        assert_eq!(v["status"], "running");
    }

    #[test]
    fn only_the_oldest_finished_jobs_are_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = Table::default();
        let total = KEPT_JOBS + 3;
        for i in 0..total {
            let id = format!("j{i}");
            let result = dir.path().join(&id);
            std::fs::write(&result, "x").unwrap();
            // The very first job is still running: it must survive however old it is.
            let state = if i == 0 {
                JobState::Running
            } else {
                JobState::Done
            };
            table.jobs.insert(id.clone(), job(state, result));
            table.order.push_back(id);
        }
        forget_old(&mut table);
        assert_eq!(table.jobs.len(), KEPT_JOBS + 1);
        assert!(table.jobs.contains_key("j0"));
        assert!(!table.jobs.contains_key("j1") && !table.jobs.contains_key("j2"));
        assert!(table.jobs.contains_key("j3"));
        assert!(
            !dir.path().join("j1").exists(),
            "a forgotten job's result is deleted"
        );
        assert_eq!(table.order.len(), table.jobs.len());
    }

    #[cfg(unix)]
    #[test]
    fn uploads_are_saved_private_and_never_over_a_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.upload");
        save_private(&path, b"video").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(save_private(&path, b"other").is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"video");
    }

    #[test]
    fn upload_errors_name_the_upload_not_the_temp_file() {
        let e = video_error(&SourceError::NotAVideo {
            path: "/tmp/x/abc.upload".into(),
            reason: "Invalid data found when processing input".into(),
        });
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.code, "corrupt_video");
        assert!(!e.message.contains("abc.upload"), "{}", e.message);
        assert!(
            e.message
                .starts_with("the upload is not a video FFmpeg can read"),
            "{}",
            e.message
        );
    }
}
