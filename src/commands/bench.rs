//! `posekit bench`: typed options in, measurements through the bench module, the report
//! out as a table, JSON, Markdown or SVG.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::stdout::print_line;
use super::{blazepose_sources, hmr2_placement};
use crate::bench::layout::{self, Layout};
use crate::bench::report::{self, BenchReport};
use crate::bench::runner::{RealRunner, RunSettings};
use crate::bench::{best, measure, plot, Repeats};
use crate::cli::{BenchArgs, DeviceArg, ModeArg};
use crate::config::{config_path, save_bench_layout};
use crate::engine::{data_dir, DeviceRequest, Engine, RuntimeSearch, WeightSharing};
use crate::files::{write_file, Written};
use crate::pipeline::mesh::Hmr2Options;
use crate::pipeline::Mode;
use crate::system::resources::usable_cores;
use crate::tune::limits::check_layout;
use crate::tune::machine::this_machine_key;
use crate::tune::ModelCost;

pub fn run(args: &BenchArgs) -> Result<BenchReport> {
    let video = choose_video(&args.video)?;
    let cores = usable_cores();
    let layouts = match &args.layouts {
        Some(list) => layout::parse_list(list)?,
        None => layout::sensible_for(cores),
    };
    for l in &layouts {
        check_layout("--layouts", l.workers, l.threads_per_worker, cores)?;
    }
    if args.frames == 0 || args.runs == 0 {
        bail!("--frames and --runs must be at least 1");
    }
    let settings = run_settings(args, video.clone());
    let gpu = settings
        .hmr2
        .as_ref()
        .is_some_and(|h| h.placement.request != DeviceRequest::Cpu);
    let engine = Engine::load(
        &RuntimeSearch::from_environment(args.runtime.ort_lib.clone()).preferring_gpu(gpu),
    )?;
    let mode = settings.mode;
    let mut runner = RealRunner::new(settings, engine)?;
    let repeats = Repeats {
        warmup: args.warmup,
        runs: args.runs,
    };
    let bar = progress_bar(
        !args.json,
        layouts.len() * (repeats.warmup + repeats.runs) * 2,
    );
    let results = measure(&mut runner, &layouts, repeats, |step| {
        bar.set_message(step.to_string());
        bar.inc(1);
    });
    bar.finish_and_clear();
    let results = results?;
    let best = best(&results).map_or(Layout::BASELINE, |r| r.layout);
    let report = BenchReport {
        posekit: env!("CARGO_PKG_VERSION"),
        video: video.display().to_string(),
        frames: args.frames,
        mode: mode.name(),
        warmup: args.warmup,
        runs: args.runs,
        cores,
        results,
        best,
    };
    emit(&report, args)?;
    if args.save {
        save(&report, args)?;
    }
    Ok(report)
}

/// The user's video, or the demo clip setup installs; says which.
fn choose_video(video: &Option<PathBuf>) -> Result<PathBuf> {
    if let Some(video) = video {
        if !video.is_file() {
            bail!("{}: no such file", video.display());
        }
        return Ok(video.clone());
    }
    let demo = data_dir()
        .map(|d| d.join("demo/sports2d-demo.mp4"))
        .filter(|p| p.is_file());
    match demo {
        Some(demo) => {
            eprintln!("bench: no VIDEO given; using the Sports2D demo clip {}", demo.display());
            Ok(demo)
        }
        None => bail!(
            "no VIDEO given and the demo clip is not installed.\nFix: pass a video, or run `make setup` (scripts/setup.sh) in the posekit checkout"
        ),
    }
}

fn run_settings(args: &BenchArgs, video: PathBuf) -> RunSettings {
    let mut model_args = Vec::new();
    if let Some(path) = &args.pose.detector {
        model_args.push(("--detector".to_string(), path.clone()));
    }
    if let Some(path) = &args.pose.landmarks {
        model_args.push(("--landmarks".to_string(), path.clone()));
    }
    if let Some(path) = &args.pose.hmr2 {
        model_args.push(("--hmr2".to_string(), path.clone()));
    }
    let mut extra_args = Vec::new();
    if let Some(device) = args.pose.device {
        extra_args.extend(["--device".to_string(), device_name(device).to_string()]);
    }
    if let Some(batch) = args.pose.hmr2_batch {
        extra_args.extend(["--hmr2-batch".to_string(), batch.to_string()]);
    }
    let (detector, landmarks) = blazepose_sources(&args.pose);
    RunSettings {
        video,
        frames: args.frames,
        mode: match args.mode {
            ModeArg::Image => Mode::Image,
            ModeArg::Video => Mode::Video,
        },
        max_people: args.pose.max_people,
        detect_every: args.pose.detect_every,
        detector,
        landmarks,
        hmr2: args.pose.hmr2.as_ref().map(|model| Hmr2Options {
            model: model.clone(),
            npz: None,
            sharing: WeightSharing::Shared,
            placement: hmr2_placement(&args.pose, None),
            batch: args.pose.hmr2_batch.map(usize::from),
        }),
        ort_lib: args.runtime.ort_lib.clone(),
        model_args,
        extra_args,
    }
}

fn device_name(device: DeviceArg) -> &'static str {
    match device {
        DeviceArg::Auto => "auto",
        DeviceArg::Cpu => "cpu",
        DeviceArg::Cuda => "cuda",
        DeviceArg::TensorRt => "tensorrt",
    }
}

fn progress_bar(wanted: bool, steps: usize) -> ProgressBar {
    let bar = ProgressBar::new(steps as u64);
    if !(wanted && std::io::stderr().is_terminal()) {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} runs · {msg}") {
        bar.set_style(style);
    }
    bar
}

/// Stores the best layout under this machine's and the model's keys.
fn save(report: &BenchReport, args: &BenchArgs) -> Result<()> {
    let path = match &args.config {
        Some(path) => path.clone(),
        None => config_path().context("no home folder for posekit.toml: pass --config PATH")?,
    };
    let best = report
        .results
        .iter()
        .find(|r| r.layout == report.best)
        .context("the best layout has no result")?;
    let machine = this_machine_key();
    // The same key `tune` derives from posekit.toml's `[models] hmr2`.
    let mut model = ModelCost::blazepose().key;
    if args.pose.hmr2.is_some() {
        model.push_str("+hmr2");
    }
    let written = save_bench_layout(&path, &machine, &model, best.layout, best.fps.median)?;
    let note = match written {
        Written::Unchanged => "unchanged".to_string(),
        Written::Created => "created".to_string(),
        Written::Replaced { backup } => format!("previous version kept as {}", backup.display()),
    };
    eprintln!(
        "bench: saved {} as the best layout for machine {machine}, model {model}, in {} ({note})",
        best.layout,
        path.display()
    );
    Ok(())
}

/// The table or JSON on stdout, then the files asked for.
fn emit(report: &BenchReport, args: &BenchArgs) -> Result<()> {
    if args.json {
        print_line(&serde_json::to_string_pretty(report)?)?;
    } else {
        print_line(&report::table(report))?;
    }
    let exports = [
        (&args.export_markdown, report::markdown(report)),
        (&args.plot, plot::svg(report)),
    ];
    for (path, text) in exports {
        if let Some(path) = path {
            let written = write_file(path, text.as_bytes())
                .with_context(|| format!("exporting to {}", path.display()))?;
            if let Written::Replaced { backup } = written {
                eprintln!(
                    "bench: kept the previous {} as {}",
                    path.display(),
                    backup.display()
                );
            }
        }
    }
    Ok(())
}
