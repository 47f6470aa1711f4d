//! `posekit process`: turns the typed arguments into pipeline options, guards the
//! user's files, runs each video and reports.
//!
//! The inputs come from the command line, folders and a manifest (`batch::inputs`), one
//! shard of them when asked (`batch::shard`). Every input of a batch is attempted: one
//! that fails (missing, not a video, an output that would replace something of the
//! user's) is reported with its reason and the others go on; the exit code is 1 when any
//! failed. One whose result is already complete is skipped (`batch::resume`). Checks on
//! the files (what each output resolves to, that no output is an input) happen before a
//! frame is decoded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use super::stdout::print_line;
use super::{blazepose_sources, hmr2_placement};
use crate::batch::inputs::{image_frames, Input, InputKind, InputSpec};
use crate::batch::report::{host_name, Report, ReportLine};
use crate::batch::resume::{self, Decision, Expected};
use crate::batch::shard::{self, Chosen};
use crate::cli::{BatchArgs, Hmr2WeightsArg, ModeArg, ProcessArgs, ShapeArg, SmoothArg, TrackArgs};
use crate::config::{config_path, load, saved_layout, Config};
use crate::engine::{DeviceRequest, Engine, RuntimeSearch, WeightSharing};
use crate::files::{
    check_input, partial_path, resolve_for_writing, utc_now_rfc3339, Claims, Resolved,
};
use crate::output::jsonl::{is_posekit_result, read_ends};
use crate::pipeline::mesh::Hmr2Options;
use crate::pipeline::{
    load_worker_models, process_file, settings, Input as PipelineInput, LoadedModels, Mode,
    Outcome, ProcessOptions,
};
use crate::system::resources::usable_cores;
use crate::tracking::{Smoothing, TrackingOptions};
use crate::tune::limits::check_layout;
use crate::tune::machine::this_machine_key;
use crate::tune::ModelCost;

/// How the command ended, for the exit code.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    Complete,
    Interrupted,
    /// At least one input of the batch failed; the others were processed.
    Failed,
}

/// Frame rate of image-sequence folders when --fps is not given.
const DEFAULT_IMAGE_FPS: f64 = 30.0;

pub fn run(args: &ProcessArgs) -> Result<Ending> {
    check_arguments(args)?;
    let inputs = shard_of(args, gather_inputs(&args.inputs, &args.batch)?)?;
    check_single_outputs(args, inputs.len())?;
    let defaults = Defaults::read()?;
    let layout = defaults.layout_for(args);
    // Gathered once: it bounds the layout and decides how each input's codecs thread.
    let cores = usable_cores();
    check_layout(layout.source, layout.workers, layout.threads, cores)?;
    let mut claims = Claims::default();
    for path in models_named(args).chain(inputs.iter().map(|i| &i.path)) {
        claims.input(path);
    }
    let plans: Vec<(&Input, Result<Plan>)> = inputs
        .iter()
        .map(|input| (input, plan_input(args, input, cores, &mut claims)))
        .collect();
    let mut report_file = open_report(args, &mut claims)?;
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
    let count = plans.len();
    for (position, (input, plan)) in plans.into_iter().enumerate() {
        if count > 1 {
            eprintln!(
                "posekit: [{}/{count}] {}",
                position + 1,
                input.path.display()
            );
        }
        let started = Instant::now();
        let result = plan.and_then(|plan| run_one(args, &mut models, &plan, &cancel));
        let line = match result {
            Ok(Done::Skipped { output, reason }) => {
                report_skip(input, &output, &reason, args.json)?;
                if exports_of(args, input, &output, &mut tally)? {
                    tally.skipped += 1;
                }
                report_line(input, Some(output), "skipped", Some(reason), None, started)
            }
            Ok(Done::Ran(outcome)) => {
                report(&outcome, &layout, args.mode, args.json)?;
                let interrupted = outcome.summary.interrupted;
                let status = if interrupted { "interrupted" } else { "done" };
                let line = report_line(
                    input,
                    Some(outcome.output.clone()),
                    status,
                    None,
                    Some(&outcome),
                    started,
                );
                if interrupted {
                    tally.interrupted = true;
                    append(&mut report_file, &line)?;
                    break;
                }
                if exports_of(args, input, &outcome.output, &mut tally)? {
                    tally.done += 1;
                }
                line
            }
            Err(e) => {
                report_failure(&input.path, &e, args.json)?;
                let line =
                    report_line(input, None, "failed", Some(format!("{e:#}")), None, started);
                tally.failed.push((input.path.clone(), e));
                line
            }
        };
        append(&mut report_file, &line)?;
    }
    tally.finish(inputs.len())
}

/// The inputs the command names (videos, folders, a manifest), sorted and de-duplicated:
/// the same list in `process` and `status`, so shard positions agree.
pub fn gather_inputs(paths: &[PathBuf], batch: &BatchArgs) -> Result<Vec<Input>> {
    let spec = InputSpec {
        paths: paths.to_vec(),
        manifest: batch.manifest.clone(),
        recursive: batch.recursive,
        extensions: batch
            .ext
            .iter()
            .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
            .collect(),
        out_dir: batch.out_dir.clone(),
    };
    let list = crate::batch::inputs::gather(&spec)?;
    if list.duplicates > 0 {
        eprintln!(
            "posekit: {} input(s) named more than once are processed once",
            list.duplicates
        );
    }
    Ok(list.inputs)
}

/// The inputs of this shard, when --shard asks for one (and says which and why).
fn shard_of(args: &ProcessArgs, inputs: Vec<Input>) -> Result<Vec<Input>> {
    let shards = args.batch.shards.map(|n| n as usize);
    let Some(asked) = &args.shard else {
        if shards.is_some() {
            bail!("--shards N goes with --shard auto (where the scheduler gives no count)");
        }
        return Ok(inputs);
    };
    let chosen = if asked == "auto" {
        let env: HashMap<String, String> = std::env::vars().collect();
        shard::from_environment(&env, shards)?
    } else {
        if shards.is_some() {
            bail!("--shards N goes with --shard auto; --shard I/N already gives the count");
        }
        Chosen {
            shard: shard::parse(asked)?,
            source: "--shard",
        }
    };
    let total = inputs.len();
    let mine: Vec<Input> = inputs
        .into_iter()
        .enumerate()
        .filter(|(position, _)| chosen.shard.takes(*position))
        .map(|(_, input)| input)
        .collect();
    eprintln!(
        "posekit: shard {} (from {}): {} of {total} input(s)",
        chosen.shard,
        chosen.source,
        mine.len()
    );
    SHARD.set(chosen.shard.to_string()).ok();
    Ok(mine)
}

/// This run's shard, as report lines give it.
static SHARD: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// `--export`: a failed export counts as a failure of its input, and the batch goes on.
/// False when one failed.
fn exports_of(args: &ProcessArgs, input: &Input, result: &Path, tally: &mut Tally) -> Result<bool> {
    match super::export::after_process(result, &args.export, args.overwrite, args.json) {
        Ok(()) => Ok(true),
        Err(e) => {
            report_failure(&input.path, &e, args.json)?;
            tally.failed.push((input.path.clone(), e));
            Ok(false)
        }
    }
}

/// What running one input came to.
enum Done {
    Ran(Box<Outcome>),
    Skipped { output: PathBuf, reason: String },
}

/// One input, planned: what to open and how to run it.
struct Plan {
    input: PipelineInput,
    options: ProcessOptions,
}

fn run_one(
    args: &ProcessArgs,
    models: &mut LoadedModels,
    plan: &Plan,
    cancel: &AtomicBool,
) -> Result<Done> {
    let output = &plan.options.output;
    if !args.force {
        let expected = Expected {
            input: serde_json::to_value(
                plan.input
                    .fingerprint()
                    .with_context(|| format!("reading {}", plan.input.path().display()))?,
            )?,
            models: serde_json::to_value(&models.refs)?,
            settings: serde_json::to_value(settings(models, &plan.options))?,
        };
        match resume::decide(read_ends(output).as_ref(), &expected) {
            Decision::Skip => {
                return Ok(Done::Skipped {
                    output: output.clone(),
                    reason: "its result is complete (same input, models and settings)".into(),
                })
            }
            Decision::Redo(why) => eprintln!(
                "posekit: {}: redoing {}: {why}",
                plan.input.path().display(),
                output.display()
            ),
            Decision::Run => {}
        }
    }
    // The errors name their file; report_failure adds the input.
    let outcome = process_file(models, &plan.input, &plan.options, cancel)?;
    if !outcome.summary.interrupted {
        remove_superseded_partial(&outcome.output);
    }
    Ok(Done::Ran(Box::new(outcome)))
}

/// A partial result posekit left from an interrupted run of this input is superseded once
/// the complete one lands; anything else at that name is the user's and stays.
fn remove_superseded_partial(output: &Path) {
    let partial = partial_path(output);
    let ours = std::fs::symlink_metadata(&partial).is_ok_and(|m| m.file_type().is_file())
        && is_posekit_result(&partial);
    if ours && std::fs::remove_file(&partial).is_ok() {
        eprintln!(
            "posekit: removed {}, the partial result this run supersedes",
            partial.display()
        );
    }
}

fn open_report(args: &ProcessArgs, claims: &mut Claims) -> Result<Option<Report>> {
    let Some(path) = &args.report else {
        return Ok(None);
    };
    claims.output("--report", &resolve_for_writing(path)?)?;
    Ok(Some(Report::open(path)?))
}

fn append(report: &mut Option<Report>, line: &ReportLine) -> Result<()> {
    if let Some(report) = report {
        report.append(line)?;
    }
    Ok(())
}

fn report_line(
    input: &Input,
    output: Option<PathBuf>,
    status: &str,
    reason: Option<String>,
    outcome: Option<&Outcome>,
    started: Instant,
) -> ReportLine {
    ReportLine {
        kind: "input".into(),
        posekit: env!("CARGO_PKG_VERSION").into(),
        time: utc_now_rfc3339(),
        // The real path: `status` matches lines to inputs wherever it runs.
        input: input.key.clone(),
        output,
        status: status.into(),
        reason,
        shard: SHARD.get().cloned(),
        host: host_name(),
        frames: outcome.map(|o| o.summary.frames),
        elapsed_s: started.elapsed().as_secs_f64(),
        fps: outcome.map(|o| o.summary.fps),
    }
}

/// Flags that are wrong whatever the inputs: the whole command refuses.
fn check_arguments(args: &ProcessArgs) -> Result<()> {
    if args.workers == Some(0) || args.threads_per_worker == Some(0) {
        bail!("--workers and --threads-per-worker must be at least 1");
    }
    if args.pose.max_people == 0 || args.pose.detect_every == 0 {
        bail!("--max-people and --detect-every must be at least 1");
    }
    if args.export.contains(&crate::cli::ExportFormatArg::Bvh) {
        bail!("--export bvh needs your SMPL model.\nFix: run `posekit export RESULT --to bvh --smpl-model FILE.npz` after the run");
    }
    if args.export.contains(&crate::cli::ExportFormatArg::Amass) && args.pose.hmr2.is_none() {
        bail!("--export amass writes SMPL parameters, which only --hmr2 gives.\nFix: add --hmr2 MODEL.onnx, or drop amass from --export");
    }
    for model in models_named(args) {
        check_input(model).with_context(|| format!("model file {}", model.display()))?;
    }
    Ok(())
}

/// -o, --render and --npz name one file each.
fn check_single_outputs(args: &ProcessArgs, inputs: usize) -> Result<()> {
    if inputs > 1 && (args.output.is_some() || args.render.is_some() || args.npz.is_some()) {
        bail!(
            "-o/--output, --render and --npz name one file, so they take a single input (got {inputs})"
        );
    }
    Ok(())
}

fn models_named(args: &ProcessArgs) -> impl Iterator<Item = &PathBuf> {
    [&args.pose.detector, &args.pose.landmarks, &args.pose.hmr2]
        .into_iter()
        .flatten()
}

/// One input's plan, once it and every output it would write are checked: the input is
/// a readable file (or an image folder), no output is an input or another output
/// (partial names included), and nothing of the user's would be replaced.
fn plan_input(
    args: &ProcessArgs,
    input: &Input,
    cores: usize,
    claims: &mut Claims,
) -> Result<Plan> {
    let source = match input.kind {
        InputKind::Video => {
            check_input(&input.path)?;
            PipelineInput::Video(input.path.clone())
        }
        InputKind::ImageFolder => image_sequence(args, &input.path)?,
    };
    let output = match &args.output {
        Some(output) => output.clone(),
        None => input.result_path(args.batch.out_dir.as_deref()),
    };
    if let Some(folder) = output.parent().filter(|_| args.batch.out_dir.is_some()) {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("creating the results folder {}", folder.display()))?;
    }
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
    Ok(Plan {
        input: source,
        options: options_for(args, output, cores),
    })
}

fn image_sequence(args: &ProcessArgs, folder: &Path) -> Result<PipelineInput> {
    let frames = image_frames(folder)?;
    let fps = args.fps.unwrap_or_else(|| {
        eprintln!(
            "posekit: {}: an image sequence, played at {DEFAULT_IMAGE_FPS} fps (give --fps for its real rate)",
            folder.display()
        );
        DEFAULT_IMAGE_FPS
    });
    Ok(PipelineInput::Images {
        folder: folder.to_path_buf(),
        frames,
        fps,
    })
}

/// What happened to each input of the batch.
#[derive(Default)]
struct Tally {
    done: usize,
    skipped: usize,
    failed: Vec<(PathBuf, anyhow::Error)>,
    interrupted: bool,
}

impl Tally {
    /// Prints `N done, K skipped, M failed: a.mp4 (reason), …` when there was more than
    /// one input or any failure, and gives the ending.
    fn finish(self, inputs: usize) -> Result<Ending> {
        let ended = self.done + self.skipped + self.failed.len() + usize::from(self.interrupted);
        let left = inputs - ended;
        if inputs > 1 || !self.failed.is_empty() {
            let mut line = format!("posekit: {} done", self.done);
            if self.skipped > 0 {
                line.push_str(&format!(", {} skipped (already complete)", self.skipped));
            }
            line.push_str(&format!(", {} failed", self.failed.len()));
            let reasons: Vec<String> = self
                .failed
                .iter()
                .map(|(video, e)| format!("{} ({})", video.display(), short_reason(e)))
                .collect();
            if !reasons.is_empty() {
                line.push_str(&format!(": {}", reasons.join(", ")));
            }
            match (self.interrupted, left) {
                (true, 0) => line.push_str("; interrupted"),
                (true, left) => line.push_str(&format!("; interrupted, {left} not started")),
                _ => {}
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

fn options_for(args: &ProcessArgs, output: PathBuf, cores: usize) -> ProcessOptions {
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
        tracking: tracking_of(&args.tracks, args.mode),
        cores,
    }
}

/// The frame-ordered stages' options. Smoothing defaults by mode (see
/// [`Smoothing::VIDEO_DEFAULT`]); image mode treats frames as unrelated and stays as the
/// model gave them.
fn tracking_of(args: &TrackArgs, mode: ModeArg) -> TrackingOptions {
    let smoothing = match (args.smooth, mode) {
        (Some(SmoothArg::None), _) | (None, ModeArg::Image) => Smoothing::None,
        (Some(SmoothArg::Causal), _) => Smoothing::Causal,
        (Some(SmoothArg::Offline), _) => Smoothing::Offline,
        (None, ModeArg::Video) => Smoothing::VIDEO_DEFAULT,
    };
    TrackingOptions {
        max_gap_s: args.max_gap,
        smoothing,
        cutoff_hz: args.cutoff,
        fill_gaps_s: args.fill_gaps,
        shape_per_track: args.shape == ShapeArg::PerTrack,
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

/// A skipped input: a note on stderr (and a JSON object with `--json`).
fn report_skip(input: &Input, output: &Path, reason: &str, json: bool) -> Result<()> {
    eprintln!(
        "posekit: {}: skipped, {reason}: {} (--force redoes it)",
        input.path.display(),
        output.display()
    );
    if json {
        let value = serde_json::json!({
            "video": input.path,
            "status": "skipped",
            "output": output,
            "reason": reason,
        });
        print_line(&serde_json::to_string(&value)?)?;
    }
    Ok(())
}

/// A failed input: its error on stderr (and as a JSON object with `--json`), and the
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
