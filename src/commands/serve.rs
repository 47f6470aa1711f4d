//! `posekit serve`: checks the flags, fills defaults from posekit.toml, loads the
//! runtime, and hands a typed [`ServeConfig`] to the service.

use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::blazepose_sources;
use crate::cli::ServeArgs;
use crate::config::{config_path, load, Config, DEFAULT_SERVE_PORT};
use crate::engine::{DeviceRequest, Engine, RuntimeSearch};
use crate::serve::errors::MB;
use crate::serve::ServeConfig;
use crate::system::resources::usable_cores;
use crate::tune::limits::check_layout;

/// Pose requests queued per worker by default: enough to ride out a burst, few enough
/// that a queued request still finishes well inside the timeout.
const QUEUE_PER_WORKER: usize = 4;

/// The longest `--timeout`: an hour covers a large video upload on a slow link, and a
/// request that needs longer is better sent as a job and polled.
const MAX_TIMEOUT_S: f64 = 3600.0;

pub fn run(args: &ServeArgs) -> Result<()> {
    let file = match config_path() {
        Some(path) => load(&path).with_context(|| format!("reading {}", path.display()))?,
        None => None,
    };
    let config = to_config(args, &file.unwrap_or_default())?;
    let gpu = config.hmr2.is_some() && config.hmr2_placement.request != DeviceRequest::Cpu;
    let engine = Engine::load(
        &RuntimeSearch::from_environment(args.runtime.ort_lib.clone()).preferring_gpu(gpu),
    )?;
    crate::serve::run(engine, &config)?;
    Ok(())
}

/// Flags first, then posekit.toml, then built-in defaults.
fn to_config(args: &ServeArgs, file: &Config) -> Result<ServeConfig> {
    let workers = args.workers.or(file.workers).unwrap_or_else(usable_cores);
    if workers == 0 || args.threads_per_worker == 0 {
        bail!("--workers and --threads-per-worker must be at least 1");
    }
    let source = match args.workers {
        Some(_) => "--workers and --threads-per-worker",
        None => "[process] workers in posekit.toml (with --threads-per-worker)",
    };
    check_layout(source, workers, args.threads_per_worker, usable_cores())?;
    if args.pose.max_people == 0 || args.pose.detect_every == 0 {
        bail!("--max-people and --detect-every must be at least 1");
    }
    if !(args.timeout > 0.0 && args.timeout <= MAX_TIMEOUT_S) {
        bail!(
            "--timeout {}: give the seconds a request may take, more than 0 and at most {MAX_TIMEOUT_S} (fractions such as 0.5 are fine; the default is 30)",
            args.timeout
        );
    }
    let hmr2 = args
        .pose
        .hmr2
        .clone()
        .or_else(|| file.models.get("hmr2").cloned());
    for model in [&args.pose.detector, &args.pose.landmarks, &hmr2]
        .into_iter()
        .flatten()
    {
        if !model.is_file() {
            bail!("model file {} does not exist", model.display());
        }
    }
    let (detector, landmarks) = blazepose_sources(&args.pose);
    Ok(ServeConfig {
        host: args.host.clone(),
        port: args.port.or(file.serve_port).unwrap_or(DEFAULT_SERVE_PORT),
        workers,
        threads_per_worker: args.threads_per_worker,
        queue: args.queue.unwrap_or(QUEUE_PER_WORKER * workers),
        max_people: args.pose.max_people,
        detect_every: args.pose.detect_every,
        detector,
        landmarks,
        hmr2,
        hmr2_placement: super::hmr2_placement(&args.pose, file.device),
        job_workers: workers,
        job_queue: args.job_queue,
        max_body_bytes: args.max_body_mb as usize * MB,
        timeout: Duration::from_secs_f64(args.timeout),
        debug_delay: Duration::from_millis(args.debug_inference_delay_ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn args(line: &[&str]) -> ServeArgs {
        let mut all = vec!["posekit", "serve"];
        all.extend_from_slice(line);
        match Cli::parse_from(all).command {
            Command::Serve(args) => args,
            _ => unreachable!(),
        }
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let file = Config {
            workers: Some(3),
            serve_port: Some(8080),
            ..Config::default()
        };
        let c = to_config(&args(&[]), &file).unwrap();
        assert_eq!((c.port, c.workers, c.queue), (8080, 3, 12));
        assert_eq!(c.host, "127.0.0.1");
        let c = to_config(&args(&["--port", "0", "-w", "1", "--queue", "0"]), &file).unwrap();
        assert_eq!((c.port, c.workers, c.queue), (0, 1, 0));
        let c = to_config(&args(&["--max-body-mb", "2"]), &Config::default()).unwrap();
        assert_eq!((c.port, c.max_body_bytes), (DEFAULT_SERVE_PORT, 2 * MB));
    }

    #[test]
    fn nonsense_is_refused_with_the_flag_named() {
        let err = to_config(&args(&["--timeout", "0"]), &Config::default()).unwrap_err();
        assert!(err.to_string().contains("--timeout"), "{err}");
        let err = to_config(&args(&["-w", "0"]), &Config::default()).unwrap_err();
        assert!(err.to_string().contains("--workers"), "{err}");
    }

    #[test]
    fn runaway_worker_counts_are_refused_from_flags_and_file() {
        let err = to_config(&args(&["-w", "4294967297"]), &Config::default()).unwrap_err();
        assert!(err.to_string().contains("at most"), "{err}");
        let file = Config {
            workers: Some(100_000),
            ..Config::default()
        };
        let err = to_config(&args(&[]), &file).unwrap_err();
        assert!(err.to_string().contains("posekit.toml"), "{err}");
    }

    #[test]
    fn a_timeout_out_of_range_is_told_the_range_it_missed() {
        for bad in ["0", "-1", "3601", "NaN"] {
            let flag = format!("--timeout={bad}");
            let err = to_config(&args(&[&flag]), &Config::default()).unwrap_err();
            let text = err.to_string();
            // 0 itself is refused, so "between 0 and 3600" would tell the user wrong.
            assert!(
                text.contains("more than 0") && text.contains("at most 3600"),
                "{text}"
            );
        }
        let c = to_config(&args(&["--timeout", "3600"]), &Config::default()).unwrap();
        assert_eq!(c.timeout, Duration::from_secs(3600));
        let c = to_config(&args(&["--timeout", "0.5"]), &Config::default()).unwrap();
        assert_eq!(c.timeout, Duration::from_millis(500));
    }
}
