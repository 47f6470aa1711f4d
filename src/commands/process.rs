//! `posekit process`: turns the typed arguments into pipeline options, guards the
//! user's files, runs each video and reports.
//!
//! Every video of a batch is attempted: one that fails (missing, not a video, an output
//! that would replace something of the user's) is reported with its reason and the
//! others go on; the exit code is 1 when any failed. Checks on the files (what each
//! output resolves to, that no output is an input) happen before a frame is decoded.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};

use super::stdout::print_line;
use super::{blazepose_sources, hmr2_placement};
use crate::cli::{Hmr2WeightsArg, ModeArg, ProcessArgs};
use crate::config::{config_path, load, saved_layout, Config};
use crate::engine::{DeviceRequest, Engine, RuntimeSearch, WeightSharing};
use crate::files::{
    check_input, default_output, partial_path, resolve_for_writing, Claims, Resolved,
};
use crate::output::jsonl::is_posekit_result;
use crate::pipeline::mesh::Hmr2Options;
use crate::pipeline::{load_worker_models, process_file, Mode, Outcome, ProcessOptions};
use crate::system::resources::usable_cores;
use crate::tune::limits::check_layout;
use crate::tune::machine::this_machine_key;
use crate::tune::ModelCost;

/// How the command ended, for the exit code.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    Complete,
    Interrupted,
    /// At least one video of the batch failed; the others were processed.
    Failed,
}

pub fn run(args: &ProcessArgs) -> Result<Ending> {
    check_arguments(args)?;
    let defaults = Defaults::read()?;
    let layout = defaults.layout_for(args);
    check_layout(
        layout.source,
        layout.workers,
        layout.threads,
        usable_cores(),
    )?;
    let mut claims = Claims::default();
    for model in models_named(args) {
        claims.input(model);
    }
    for video in &args.videos {
        claims.input(video);
    }
    let plans: Vec<(PathBuf, Result<ProcessOptions>)> = args
        .videos
        .iter()
        .map(|video| (video.clone(), plan_video(args, video, &mut claims)))
        .collect();
    let hmr2 = hmr2_options(args, defaults.config.device);
    let gpu = hmr2
        .as_ref()
        .is_some_and(|h| h.placement.request != DeviceRequest::Cpu);
    let engine = Engine::load(
        &RuntimeSearch::from_environment(args.runtime.ort_lib.clone()).preferring_gpu(gpu),
    )?;
    // Loaded once for the whole batch.
    let (detector, landmarks) = blazepose_sources(&args.pose);
    let mut models = load_worker_models(
        engine,
        &detector,
        &landmarks,
        hmr2.as_ref(),
        layout.workers,
        layout.threads,
    )?;
    let cancel = install_ctrl_c()?;
    let mut tally = Tally::default();
    for (video, plan) in plans {
        let result = plan.and_then(|options| {
            let outcome = process_file(&mut models, &video, &options, &cancel)
                .with_context(|| format!("processing {}", video.display()))?;
            Ok(outcome)
        });
        match result {
            Ok(outcome) => {
                report(&outcome, &layout, args.mode, args.json)?;
                if outcome.summary.interrupted {
                    tally.interrupted = true;
                    break;
                }
                tally.done += 1;
            }
            Err(e) => {
                report_failure(&video, &e, args.json)?;
                tally.failed.push((video, e));
            }
        }
    }
    tally.finish(args.videos.len())
}

/// Flags that are wrong whatever the videos: the whole command refuses.
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
    for model in models_named(args) {
        check_input(model).with_context(|| format!("model file {}", model.display()))?;
    }
    Ok(())
}

fn models_named(args: &ProcessArgs) -> impl Iterator<Item = &PathBuf> {
    [&args.pose.detector, &args.pose.landmarks, &args.pose.hmr2]
        .into_iter()
        .flatten()
}

/// One video's options, once its input and every output it would write are checked:
/// the input is a readable file, no output is an input or another output (partial names
/// included), and nothing of the user's would be replaced.
fn plan_video(args: &ProcessArgs, video: &Path, claims: &mut Claims) -> Result<ProcessOptions> {
    check_input(video)?;
    let output = args.output.clone().unwrap_or_else(|| default_output(video));
    // (flag, path, whether it is the JSON Lines result posekit may replace when it wrote it)
    let outputs = [
        ("-o/--output", Some(&output), true),
        ("--render", args.render.as_ref(), false),
        ("--npz", args.npz.as_ref(), false),
    ];
    for (what, path, is_result) in outputs {
        let Some(path) = path else { continue };
        let target = resolve_for_writing(path)?;
        claims.output(what, &target)?;
        guard_existing(what, &target, is_result, args.overwrite)?;
        // Partial results go beside the real file, as the writers put them.
        claims.partial(
            &format!("the partial name of {what}"),
            &partial_path(&target.real),
        )?;
    }
    Ok(options_for(args, output))
}

/// What happened to each video of the batch.
#[derive(Default)]
struct Tally {
    done: usize,
    failed: Vec<(PathBuf, anyhow::Error)>,
    interrupted: bool,
}

impl Tally {
    /// Prints `N done, M failed: a.mp4 (reason), …` when there was more than one video or
    /// any failure, and gives the ending.
    fn finish(self, videos: usize) -> Result<Ending> {
        let left = videos - self.done - self.failed.len() - usize::from(self.interrupted);
        if videos > 1 || !self.failed.is_empty() {
            let mut line = format!("posekit: {} done, {} failed", self.done, self.failed.len());
            let reasons: Vec<String> = self
                .failed
                .iter()
                .map(|(video, e)| format!("{} ({})", video.display(), short_reason(e)))
                .collect();
            if !reasons.is_empty() {
                line.push_str(&format!(": {}", reasons.join(", ")));
            }
            if self.interrupted && left > 0 {
                line.push_str(&format!("; interrupted, {left} not started"));
            }
            eprintln!("{line}");
        }
        Ok(match (self.interrupted, self.failed.is_empty()) {
            (true, _) => Ending::Interrupted,
            (false, false) => Ending::Failed,
            (false, true) => Ending::Complete,
        })
    }
}

/// The innermost cause's first line: the part of a message that says what was wrong.
fn short_reason(e: &anyhow::Error) -> String {
    let root = e.root_cause().to_string();
    root.lines().next().unwrap_or_default().to_string()
}

fn options_for(args: &ProcessArgs, output: PathBuf) -> ProcessOptions {
    ProcessOptions {
        mode: mode_of(args.mode),
        max_people: args.pose.max_people,
        detect_every: args.pose.detect_every,
        output,
        render: args.render.clone(),
        progress: !args.json,
        max_frames: args.max_frames,
        rotmat: args.rotmat,
        npz: args.npz.clone(),
        frames_done: None,
    }
}

fn mode_of(mode: ModeArg) -> Mode {
    match mode {
        ModeArg::Image => Mode::Image,
        ModeArg::Video => Mode::Video,
    }
}

fn hmr2_options(args: &ProcessArgs, device: Option<DeviceRequest>) -> Option<Hmr2Options> {
    args.pose.hmr2.as_ref().map(|model| Hmr2Options {
        model: model.clone(),
        npz: args.npz.clone(),
        sharing: match args.hmr2_weights {
            Hmr2WeightsArg::Shared => WeightSharing::Shared,
            Hmr2WeightsArg::Prepacked => WeightSharing::Prepacked,
            Hmr2WeightsArg::PerWorker => WeightSharing::PerWorker,
        },
        placement: hmr2_placement(&args.pose, device),
        batch: args.pose.hmr2_batch.map(usize::from),
    })
}

/// An existing file at an output is replaced only with `--overwrite`, except a result
/// (`-o`) that posekit wrote itself: it can be regenerated, so it may be replaced.
fn guard_existing(what: &str, target: &Resolved, is_result: bool, overwrite: bool) -> Result<()> {
    if !target.exists || overwrite {
        return Ok(());
    }
    let shown = target.given.display();
    if is_result {
        if !is_posekit_result(&target.real) {
            bail!("{shown} exists and is not a posekit result; refusing to replace it.\nFix: choose another path with -o, or pass --overwrite");
        }
        return Ok(());
    }
    bail!("{shown} already exists; refusing to replace it.\nFix: choose another {what} path, or pass --overwrite")
}

/// The worker layout of a run, and where it came from (for messages).
struct Layout {
    workers: usize,
    threads: usize,
    source: &'static str,
}

/// What posekit.toml says about the layout when the command line says nothing.
struct Defaults {
    config: Config,
}

impl Defaults {
    fn read() -> Result<Defaults> {
        let config = match config_path() {
            Some(path) => load(&path)?.unwrap_or_default(),
            None => Config::default(),
        };
        Ok(Defaults { config })
    }

    /// In order: the flags, the best layout `bench --save` measured on this machine for
    /// BlazePose, `[process]` in posekit.toml, one single-threaded worker per core.
    fn layout_for(&self, args: &ProcessArgs) -> Layout {
        let saved = saved_layout(
            &self.config,
            &this_machine_key(),
            &ModelCost::blazepose().key,
        );
        let (workers, threads, source) = match saved {
            Some(saved) => (
                saved.workers,
                saved.threads_per_worker,
                "the layout `posekit bench --save` stored in posekit.toml",
            ),
            None => match (self.config.workers, self.config.threads_per_worker) {
                (None, None) => (usable_cores(), 1, "the default layout"),
                (workers, threads) => (
                    workers.unwrap_or_else(usable_cores),
                    threads.unwrap_or(1),
                    "[process] workers and threads_per_worker in posekit.toml",
                ),
            },
        };
        match (args.workers, args.threads_per_worker) {
            (None, None) => Layout {
                workers,
                threads,
                source,
            },
            (Some(workers), flag_threads) => Layout {
                workers,
                threads: flag_threads.unwrap_or(1),
                source: "--workers and --threads-per-worker",
            },
            (None, Some(flag_threads)) => Layout {
                workers,
                threads: flag_threads,
                source: "--threads-per-worker",
            },
        }
    }
}

/// The first Ctrl-C (or SIGTERM) asks the pipeline to stop and keep what it has. A
/// second one quits now: it removes the unfinished temporary files, says so in one
/// line, and exits without running destructors, so ONNX Runtime is not torn down under
/// threads still using it (which printed its errors).
fn install_ctrl_c() -> Result<Arc<AtomicBool>> {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            let removed = crate::files::temp::remove_live();
            eprintln!("\nposekit: quitting now; removed {removed} unfinished file(s)");
            // SAFETY: _exit ends the process at once; nothing after it runs.
            unsafe { libc::_exit(130) };
        }
        eprintln!("\nposekit: stopping after the frames in flight (signal again to quit now)");
    })
    .context("could not install the signal handler")?;
    Ok(cancel)
}

/// The data (paths or JSON) goes to stdout, the human summary to stderr.
fn report(outcome: &Outcome, layout: &Layout, mode: ModeArg, json: bool) -> Result<()> {
    let s = &outcome.summary;
    if json {
        let value = serde_json::json!({
            "video": outcome.info.path,
            "status": if s.interrupted { "interrupted" } else { "done" },
            "output": outcome.output,
            "render": outcome.render,
            "npz": outcome.npz,
            "summary": s,
        });
        print_line(&serde_json::to_string(&value)?)?;
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
        mode_of(mode).name(),
        layout.workers,
        layout.threads,
        state,
    );
    print_line(&outcome.output.display().to_string())?;
    for extra in [&outcome.render, &outcome.npz].into_iter().flatten() {
        print_line(&extra.display().to_string())?;
    }
    Ok(())
}

/// A failed video: its error on stderr (and as a JSON object with `--json`), and the
/// batch goes on.
fn report_failure(video: &Path, e: &anyhow::Error, json: bool) -> Result<()> {
    eprintln!("posekit: error: {}: {e:#}", video.display());
    if json {
        let value = serde_json::json!({
            "video": video,
            "status": "failed",
            "error": format!("{e:#}"),
        });
        print_line(&serde_json::to_string(&value)?)?;
    }
    Ok(())
}
