//! `posekit process`: turns the typed arguments into pipeline options, guards the
//! user's files, runs each video and reports.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};

use super::blazepose_sources;
use crate::cli::{Hmr2WeightsArg, ModeArg, ProcessArgs};
use crate::config::{config_path, load, saved_layout, Config};
use crate::engine::{Engine, RuntimeSearch, WeightSharing};
use crate::pipeline::jsonl::is_posekit_result;
use crate::pipeline::mesh::Hmr2Options;
use crate::pipeline::paths::default_output;
use crate::pipeline::{process_video, Mode, Outcome, ProcessOptions};
use crate::tune::machine::this_machine_key;
use crate::tune::ModelCost;

/// How the command ended, for the exit code.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    Complete,
    Interrupted,
}

pub fn run(args: &ProcessArgs) -> Result<Ending> {
    check_arguments(args)?;
    let defaults = Defaults::read()?;
    let plans: Vec<(PathBuf, ProcessOptions)> = args
        .videos
        .iter()
        .map(|video| Ok((video.clone(), options_for(args, video, &defaults)?)))
        .collect::<Result<_>>()?;
    let engine = Engine::load(&RuntimeSearch::from_environment(
        args.runtime.ort_lib.clone(),
    ))?;
    let cancel = install_ctrl_c()?;
    for (video, options) in &plans {
        let outcome = process_video(engine, video, options, &cancel)
            .with_context(|| format!("processing {}", video.display()))?;
        report(&outcome, options, args.json)?;
        if outcome.summary.interrupted {
            return Ok(Ending::Interrupted);
        }
    }
    Ok(Ending::Complete)
}

fn check_arguments(args: &ProcessArgs) -> Result<()> {
    if args.videos.len() > 1
        && (args.output.is_some() || args.render.is_some() || args.npz.is_some())
    {
        bail!(
            "-o/--output, --render and --npz name one file, so they take a single video (got {})",
            args.videos.len()
        );
    }
    if args.workers == Some(0) || args.threads_per_worker == Some(0) {
        bail!("--workers and --threads-per-worker must be at least 1");
    }
    if args.pose.max_people == 0 || args.pose.detect_every == 0 {
        bail!("--max-people and --detect-every must be at least 1");
    }
    for video in &args.videos {
        if !video.is_file() {
            bail!("{}: no such file.\nFix: check the path; posekit reads video files such as .mp4, .webm, .avi", video.display());
        }
    }
    for model in [&args.pose.detector, &args.pose.landmarks, &args.pose.hmr2]
        .into_iter()
        .flatten()
    {
        if !model.is_file() {
            bail!("model file {} does not exist", model.display());
        }
    }
    Ok(())
}

fn options_for(args: &ProcessArgs, video: &Path, defaults: &Defaults) -> Result<ProcessOptions> {
    let output = args.output.clone().unwrap_or_else(|| default_output(video));
    guard_result_file(&output, args.overwrite)?;
    if let Some(render) = &args.render {
        guard_render_file(render, video, args.overwrite)?;
    }
    if let Some(npz) = &args.npz {
        guard_npz_file(npz, args.overwrite)?;
    }
    let (workers, threads_per_worker) = match (args.workers, args.threads_per_worker) {
        (None, None) => defaults.layout,
        (Some(workers), threads) => (workers, threads.unwrap_or(1)),
        (None, Some(threads)) => (defaults.layout.0, threads),
    };
    let (detector, landmarks) = blazepose_sources(&args.pose);
    Ok(ProcessOptions {
        mode: match args.mode {
            ModeArg::Image => Mode::Image,
            ModeArg::Video => Mode::Video,
        },
        workers,
        threads_per_worker,
        max_people: args.pose.max_people,
        detect_every: args.pose.detect_every,
        detector,
        landmarks,
        output,
        render: args.render.clone(),
        progress: !args.json,
        max_frames: args.max_frames,
        hmr2: args.pose.hmr2.as_ref().map(|model| Hmr2Options {
            model: model.clone(),
            rotmat: args.rotmat,
            npz: args.npz.clone(),
            sharing: match args.hmr2_weights {
                Hmr2WeightsArg::Shared => WeightSharing::Shared,
                Hmr2WeightsArg::Prepacked => WeightSharing::Prepacked,
                Hmr2WeightsArg::PerWorker => WeightSharing::PerWorker,
            },
        }),
        frames_done: None,
    })
}

/// A result posekit wrote can be regenerated, so it may be replaced; any other file is
/// the user's and is never destroyed without `--overwrite`.
fn guard_result_file(output: &Path, overwrite: bool) -> Result<()> {
    if output.exists() && !overwrite && !is_posekit_result(output) {
        bail!(
            "{} exists and is not a posekit result; refusing to replace it.\nFix: choose another path with -o, or pass --overwrite",
            output.display()
        );
    }
    Ok(())
}

fn guard_render_file(render: &Path, video: &Path, overwrite: bool) -> Result<()> {
    let same = render.canonicalize().ok() == video.canonicalize().ok() && render.exists();
    if same {
        bail!(
            "--render {} is the input video itself; choose another path",
            render.display()
        );
    }
    if render.exists() && !overwrite {
        bail!(
            "{} already exists; refusing to replace it.\nFix: choose another --render path, or pass --overwrite",
            render.display()
        );
    }
    Ok(())
}

fn guard_npz_file(npz: &Path, overwrite: bool) -> Result<()> {
    if npz.exists() && !overwrite {
        bail!(
            "{} already exists; refusing to replace it.\nFix: choose another --npz path, or pass --overwrite",
            npz.display()
        );
    }
    Ok(())
}

/// The worker layout used when the command line names none.
struct Defaults {
    layout: (usize, usize),
}

impl Defaults {
    /// In order: the best layout `bench --save` measured on this machine for BlazePose,
    /// then `[process]` in posekit.toml, then one single-threaded worker per core.
    fn read() -> Result<Defaults> {
        let config = match config_path() {
            Some(path) => load(&path)?.unwrap_or_default(),
            None => Config::default(),
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let saved = saved_layout(&config, &this_machine_key(), &ModelCost::blazepose().key);
        let layout = match saved {
            Some(saved) => (saved.workers, saved.threads_per_worker),
            None => (
                config.workers.unwrap_or(cores),
                config.threads_per_worker.unwrap_or(1),
            ),
        };
        Ok(Defaults { layout })
    }
}

/// The first Ctrl-C asks the pipeline to stop and keep what it has; a second one exits
/// at once (the temporary result is then left behind, hidden, beside the target).
fn install_ctrl_c() -> Result<Arc<AtomicBool>> {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nposekit: stopping after the frames in flight (Ctrl-C again to quit now)");
    })
    .context("could not install the Ctrl-C handler")?;
    Ok(cancel)
}

/// The data (paths or JSON) goes to stdout, the human summary to stderr.
fn report(outcome: &Outcome, options: &ProcessOptions, json: bool) -> Result<()> {
    let s = &outcome.summary;
    let mut out = std::io::stdout().lock();
    if json {
        let value = serde_json::json!({
            "video": outcome.info.path,
            "output": outcome.output,
            "render": outcome.render,
            "npz": outcome.npz,
            "summary": s,
        });
        writeln!(out, "{}", serde_json::to_string(&value)?)?;
        return Ok(());
    }
    let state = if s.interrupted {
        "interrupted: partial result"
    } else {
        "done"
    };
    eprintln!(
        "{}: {} frames ({} failed), a person in {} ({:.0}%), {:.1} s, {:.1} frames/s [{}, {} × {} threads] — {}",
        outcome.info.path,
        s.frames,
        s.failed_frames,
        s.frames_with_person,
        100.0 * s.frames_with_person as f64 / s.frames.max(1) as f64,
        s.elapsed_s,
        s.fps,
        options.mode.name(),
        options.workers,
        options.threads_per_worker,
        state,
    );
    writeln!(out, "{}", outcome.output.display())?;
    for extra in [&outcome.render, &outcome.npz].into_iter().flatten() {
        writeln!(out, "{}", extra.display())?;
    }
    Ok(())
}
