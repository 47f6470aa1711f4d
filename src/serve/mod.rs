//! `posekit serve`: the pose service. Loads the models once, binds (loopback by
//! default), serves until SIGINT or SIGTERM, then drains and exits.
//!
//! ```text
//! accept (capped, header timeout) ─▶ axum on tokio (2 async threads) ──try_send──▶ bounded queue ──▶ pose workers
//!        │                                          full → 503 Retry-After
//!        └── spawn_blocking: save upload, probe ──▶ job queue ──▶ job runner (process_video)
//! ```
//!
//! Handlers never run models; see `routes`. The pipeline and models are used as
//! `process` uses them; nothing here touches ort or FFmpeg directly.

mod accept;
pub mod errors;
pub mod jobs;
pub mod pool;
pub mod routes;
mod run_error;

pub(crate) use run_error::ServeError;

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::{Engine, ModelSource, Placement, WeightSharing};
use crate::pipeline::mesh::{self, Hmr2Options};
use crate::pipeline::{load_worker_models_with, LoadedModels, Mode, PipelineError, ProcessOptions};
use crate::tracking::{Smoothing, TrackingOptions};
use jobs::JobRunner;
use pool::{DebugDelay, Layout, Pool};
use routes::{router, AppState};

/// Async threads. Handlers only parse, copy bodies and wait on channels, so two are
/// plenty, and two keep `/health` answering while one copies a large upload.
const ASYNC_THREADS: usize = 2;

/// Everything the service needs, typed (from `posekit serve`'s flags and posekit.toml).
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub host: String,
    /// 0 picks a free port (tests); the bound address is printed either way.
    pub port: u16,
    /// Pose workers, each with its own BlazePose.
    pub workers: usize,
    pub threads_per_worker: usize,
    /// Pose requests that may wait beyond those being worked on.
    pub queue: usize,
    pub max_people: usize,
    pub detect_every: u32,
    pub detector: ModelSource,
    pub landmarks: ModelSource,
    /// HMR2 model for the mesh stage, if any.
    pub hmr2: Option<PathBuf>,
    /// Where HMR2 runs (`--device`, `[process] device`).
    pub hmr2_placement: Placement,
    /// Workers of the `process` pipeline a video job runs on.
    pub job_workers: usize,
    /// Video jobs that may wait beyond the running one.
    pub job_queue: usize,
    pub max_body_bytes: usize,
    /// Per request: the upload and the inference together.
    pub timeout: Duration,
    /// Test hook: each pose task waits this long before inference.
    pub debug_delay: Duration,
}

/// Runs the service until a signal; returns once everything in flight is done.
pub fn run(engine: &'static Engine, config: &ServeConfig) -> Result<(), ServeError> {
    // Models before the port: a bad model file fails without ever looking up.
    let (models, job_models) = load_models(engine, config)?;
    let refs = models.refs.clone();
    let listener = bind(&config.host, config.port)?;
    let address = listener.local_addr().map_err(ServeError::BoundAddress)?;
    let layout = Layout {
        workers: config.workers,
        threads_per_worker: config.threads_per_worker,
        queue_capacity: config.queue,
        max_people: config.max_people,
    };
    let (pool, pool_handle) = Pool::start(models.workers, layout, DebugDelay(config.debug_delay))
        .map_err(ServeError::InferenceThreads)?;
    let uploads = upload_folder()?;
    let (runner, jobs) = JobRunner::start(
        job_models,
        job_template(config),
        config.job_queue,
        uploads.path(),
    )
    .map_err(ServeError::JobThread)?;
    let state = AppState {
        pool: pool_handle,
        jobs: jobs.clone(),
        models: Arc::new(refs),
        started: Instant::now(),
        max_body_bytes: config.max_body_bytes,
        timeout: config.timeout,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(ASYNC_THREADS)
        .thread_name("posekit-http")
        .enable_all()
        .build()
        .map_err(ServeError::AsyncRuntime)?;
    let served = runtime.block_on(async {
        // Handlers first, then the announcement: a supervisor (or a test) that signals
        // as soon as it reads the address must get a graceful stop, not the default kill.
        let signals = Signals::install()?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let cap = accept::connection_cap();
        announce(address, config, cap);
        let stop = shutdown_signal(signals, jobs.clone(), uploads.path().to_path_buf());
        accept::serve(listener, router(state), cap, stop).await
    });
    // Every connection is closed now; the handles are the last senders, so dropping
    // them lets the workers finish their queue and stop.
    runtime.shutdown_timeout(Duration::from_secs(1));
    jobs.cancel_all();
    drop(jobs);
    pool.join();
    runner.join();
    drop(uploads);
    served.map_err(ServeError::Http)?;
    eprintln!("posekit serve: stopped");
    Ok(())
}

/// The temporary folder for video uploads and results, readable by this user only:
/// the videos are other people's, and the shared temporary directory is not.
fn upload_folder() -> Result<tempfile::TempDir, ServeError> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("posekit-serve-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    builder.tempdir().map_err(ServeError::UploadFolder)
}

/// The pose workers' models and the job workers' models, loaded as `process` loads
/// them. With HMR2, every handle of both is made in one go, on one copy of the weights:
/// a video job never loads a second 2.7 GB copy.
fn load_models(
    engine: &Engine,
    config: &ServeConfig,
) -> Result<(LoadedModels, LoadedModels), PipelineError> {
    let hmr2 = hmr2_options(config);
    let mut meshes = match &hmr2 {
        Some(h) => mesh::load(
            engine,
            h,
            config.workers + config.job_workers,
            config.threads_per_worker,
        )?,
        None => Vec::new(),
    };
    let job_meshes = meshes.split_off(config.workers.min(meshes.len()));
    let load = |workers, meshes| {
        load_worker_models_with(
            engine,
            &config.detector,
            &config.landmarks,
            hmr2.as_ref(),
            config.threads_per_worker,
            meshes,
            workers,
        )
    };
    Ok((
        load(config.workers, meshes)?,
        load(config.job_workers, job_meshes)?,
    ))
}

/// The HMR2 stage as `process --hmr2` runs it, with the weights shared by all workers.
fn hmr2_options(config: &ServeConfig) -> Option<Hmr2Options> {
    config.hmr2.as_ref().map(|model| Hmr2Options {
        model: model.clone(),
        npz: None,
        sharing: WeightSharing::Shared,
        placement: config.hmr2_placement.clone(),
        batch: None,
    })
}

/// A video job is `posekit process` in video mode (tracking), written to a temp file.
fn job_template(config: &ServeConfig) -> ProcessOptions {
    ProcessOptions {
        mode: Mode::Video,
        max_people: config.max_people,
        detect_every: config.detect_every,
        output: Default::default(),
        render: None,
        progress: false,
        max_frames: None,
        rotmat: false,
        npz: None,
        frames_done: None,
        tracking: TrackingOptions {
            smoothing: Smoothing::VIDEO_DEFAULT,
            ..TrackingOptions::default()
        },
        cores: crate::system::resources::usable_cores(),
    }
}

fn bind(host: &str, port: u16) -> Result<TcpListener, ServeError> {
    let address: SocketAddr = (host, port)
        .to_socket_addrs()
        .map_err(|source| ServeError::Resolve {
            host: host.to_string(),
            source,
        })?
        .next()
        .ok_or_else(|| ServeError::NoAddress {
            host: host.to_string(),
        })?;
    let listener = TcpListener::bind(address).map_err(|error| ServeError::Listen {
        address,
        fix: listen_fix(&error, port),
        error,
    })?;
    listener
        .set_nonblocking(true)
        .map_err(ServeError::NonBlocking)?;
    Ok(listener)
}

/// What to do when the port cannot be bound: a busy port is the common case, and the
/// user needs to learn who holds it.
fn listen_fix(error: &std::io::Error, port: u16) -> String {
    if error.kind() == std::io::ErrorKind::AddrInUse {
        format!(
            "another program listens there (`ss -ltnp 'sport = :{port}'` names it, and `posekit doctor --check service --port {port}` says whether it is posekit); stop it or pass another --port"
        )
    } else {
        "check --host and --port (ports below 1024 need privileges)".to_string()
    }
}

/// The bound address (tests read it from here), and a warning when other machines can
/// reach a service that has no authentication.
fn announce(address: SocketAddr, config: &ServeConfig, connections: usize) {
    eprintln!(
        "posekit serve: listening on http://{address} ({} pose workers × {} ONNX Runtime threads, queue {}, {} MB body limit, {} s timeout, {} connections)",
        config.workers,
        config.threads_per_worker,
        config.queue,
        config.max_body_bytes / errors::MB,
        config.timeout.as_secs_f64(),
        connections,
    );
    if !address.ip().is_loopback() {
        eprintln!(
            "posekit serve: warning: {} is not a loopback address, so other machines on the network can send work to this service, which has no authentication. Bind 127.0.0.1 (the default) unless that is what you want; under WSL2, Windows reaches 127.0.0.1 through localhost forwarding",
            address.ip()
        );
    }
}

/// Resolves on the first SIGINT or SIGTERM: the server then stops accepting and lets
/// requests in flight finish. A second signal removes the upload folder and exits at
/// once.
async fn shutdown_signal(mut signals: Signals, jobs: jobs::JobsHandle, uploads: PathBuf) {
    let name = signals.next().await;
    eprintln!("posekit serve: {name}: not accepting new connections; finishing the requests in flight ({name} again to quit now)");
    jobs.cancel_all();
    tokio::spawn(async move {
        let name = signals.next().await;
        eprintln!("posekit serve: {name} again: quitting now");
        remove_uploads(&uploads);
        crate::files::temp::remove_live();
        // As `process` does: no destructors, so ONNX Runtime is not torn down under
        // threads still using it.
        // SAFETY: _exit ends the process at once; nothing after it runs.
        unsafe { libc::_exit(130) };
    });
}

/// Exiting at once skips the `TempDir`'s drop, which removes the folder on every other
/// way out; without this, each hurried stop would leave users' videos in /tmp.
fn remove_uploads(dir: &Path) {
    // A job may be creating its result file in the folder at that very moment, which
    // fails one pass with "directory not empty"; another pass wins that race.
    let mut outcome = Ok(());
    for _ in 0..3 {
        outcome = std::fs::remove_dir_all(dir);
        if outcome.is_ok() || !dir.exists() {
            return;
        }
    }
    if let Err(e) = outcome {
        eprintln!(
            "posekit serve: could not remove the upload folder {}: {e}; delete it by hand",
            dir.display()
        );
    }
}

/// SIGINT and SIGTERM, caught from the moment they are installed.
#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn install() -> std::io::Result<Signals> {
        Ok(Signals)
    }

    async fn next(&mut self) -> &'static str {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}
