//! `posekit bench`: the real pipeline at several worker layouts, with warm-up and
//! repeated runs, against the models' own ceiling on this machine.
//!
//! Measuring goes through the [`Runner`] trait, so the scheduling and the arithmetic are
//! tested with a fake runner and no models (as hyperfine does with its mock executor).
//! Reporting (table, Markdown, SVG) lives in `report` and `plot` and never measures.

mod error;
pub mod layout;
pub mod plot;
pub mod report;
pub mod runner;
pub mod stats;

pub(crate) use error::BenchError;

use serde::Serialize;

use crate::output::wire::Stages;
use layout::Layout;
use stats::{efficiency, shares, speedup, Spread};

/// One measured run of the whole pipeline.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PipelineRun {
    pub frames: u64,
    pub fps: f64,
    pub peak_rss_mib: f64,
    pub stages: Stages,
}

/// What a benchmark measures with; the real one runs posekit, tests use a fake.
pub trait Runner {
    /// The whole pipeline (decode, models, write) at `layout`.
    fn pipeline(&mut self, layout: Layout) -> Result<PipelineRun, BenchError>;
    /// The models alone at `layout`, on frames already in memory: frames per second.
    fn models_only(&mut self, layout: Layout) -> Result<f64, BenchError>;
}

/// How many times to run each measurement.
#[derive(Clone, Copy, Debug)]
pub struct Repeats {
    pub warmup: usize,
    pub runs: usize,
}

/// Results for one layout.
#[derive(Clone, Debug, Serialize)]
pub struct LayoutResult {
    pub layout: Layout,
    /// Frames each measured run processed (the fewest, if runs differed).
    pub frames: u64,
    /// Whole-pipeline frames per second over the measured runs.
    pub fps: Spread,
    /// Median fps relative to the 1×1 baseline's median.
    pub speedup: f64,
    /// Speedup per inference thread (1.0 = perfect scaling).
    pub efficiency: f64,
    /// Highest peak resident memory over the runs, MiB.
    pub peak_rss_mib: f64,
    /// Share of stage time: decode, detect, landmarks, HMR2, write (sums to 1).
    pub stage_shares: StageShares,
    /// The models alone at this layout, frames per second.
    pub ceiling_fps: Spread,
    /// Pipeline median fps / ceiling median fps.
    pub of_ceiling: f64,
}

/// Where the time goes, as shares of the summed stage time.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct StageShares {
    pub decode: f64,
    pub detect: f64,
    pub landmarks: f64,
    pub hmr2: f64,
    pub write: f64,
}

/// Measured but not yet compared with the baseline.
struct Measured {
    layout: Layout,
    runs: Vec<PipelineRun>,
    ceiling: Vec<f64>,
}

/// Runs every layout (`layouts[0]` must be the 1×1 baseline), calling `tick` after each
/// run so a progress bar can follow.
pub fn measure(
    runner: &mut dyn Runner,
    layouts: &[Layout],
    repeats: Repeats,
    mut tick: impl FnMut(&str),
) -> Result<Vec<LayoutResult>, BenchError> {
    if layouts.first() != Some(&Layout::BASELINE) {
        return Err(BenchError::BaselineNotFirst);
    }
    if repeats.runs == 0 {
        return Err(BenchError::NoRuns);
    }
    let mut measured = Vec::new();
    for &layout in layouts {
        let mut runs = Vec::new();
        for i in 0..repeats.warmup + repeats.runs {
            tick(&format!("{layout} pipeline"));
            let run = runner.pipeline(layout)?;
            if i >= repeats.warmup {
                runs.push(run);
            }
        }
        let mut ceiling = Vec::new();
        for i in 0..repeats.warmup + repeats.runs {
            tick(&format!("{layout} models only"));
            let fps = runner.models_only(layout)?;
            if i >= repeats.warmup {
                ceiling.push(fps);
            }
        }
        measured.push(Measured {
            layout,
            runs,
            ceiling,
        });
    }
    Ok(compare(&measured))
}

fn compare(measured: &[Measured]) -> Vec<LayoutResult> {
    let fps_of = |m: &Measured| {
        Spread::of(&m.runs.iter().map(|r| r.fps).collect::<Vec<_>>()).expect("runs > 0")
    };
    let baseline = fps_of(&measured[0]).median;
    measured
        .iter()
        .map(|m| {
            let fps = fps_of(m);
            let ceiling_fps = Spread::of(&m.ceiling).expect("runs > 0");
            let up = speedup(fps.median, baseline);
            LayoutResult {
                layout: m.layout,
                frames: m.runs.iter().map(|r| r.frames).min().unwrap_or(0),
                fps,
                speedup: up,
                efficiency: efficiency(up, m.layout.threads()),
                peak_rss_mib: m.runs.iter().map(|r| r.peak_rss_mib).fold(0.0, f64::max),
                stage_shares: stage_shares(&m.runs),
                of_ceiling: fps.median / ceiling_fps.median,
                ceiling_fps,
            }
        })
        .collect()
}

fn stage_shares(runs: &[PipelineRun]) -> StageShares {
    let mut total = Stages::default();
    for run in runs {
        total.add(&run.stages);
    }
    let s = shares(&[
        total.decode_s,
        total.detect_s,
        total.landmarks_s,
        total.hmr2_s,
        total.write_s + total.render_s,
    ]);
    StageShares {
        decode: s[0],
        detect: s[1],
        landmarks: s[2],
        hmr2: s[3],
        write: s[4],
    }
}

/// The fastest layout by median fps; among near-ties (within 2%), the one using fewer
/// threads, since it leaves cores for everything else.
pub fn best(results: &[LayoutResult]) -> Option<&LayoutResult> {
    let top = results
        .iter()
        .map(|r| r.fps.median)
        .fold(f64::NAN, f64::max);
    results
        .iter()
        .filter(|r| r.fps.median >= 0.98 * top)
        .min_by_key(|r| (r.layout.threads(), std::cmp::Reverse(r.layout.workers)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scales perfectly with workers, not with threads per worker; counts calls.
    struct FakeRunner {
        calls: usize,
    }

    impl Runner for FakeRunner {
        fn pipeline(&mut self, layout: Layout) -> Result<PipelineRun, BenchError> {
            self.calls += 1;
            // The first (warm-up) call is slow, to prove it is discarded.
            let fps = if self.calls == 1 {
                1.0
            } else {
                40.0 * layout.workers as f64
            };
            Ok(PipelineRun {
                frames: 10,
                fps,
                peak_rss_mib: 100.0 + 50.0 * layout.workers as f64,
                stages: Stages {
                    decode_s: 1.0,
                    detect_s: 1.0,
                    landmarks_s: 2.0,
                    ..Stages::default()
                },
            })
        }

        fn models_only(&mut self, layout: Layout) -> Result<f64, BenchError> {
            Ok(50.0 * layout.workers as f64)
        }
    }

    fn layouts() -> Vec<Layout> {
        layout::parse_list("1x1,2x1,1x2").unwrap()
    }

    #[test]
    fn baseline_speedup_is_one_and_warmup_is_discarded() {
        let mut runner = FakeRunner { calls: 0 };
        let repeats = Repeats { warmup: 1, runs: 3 };
        let mut ticks = 0;
        let results = measure(&mut runner, &layouts(), repeats, |_| ticks += 1).unwrap();
        assert_eq!(
            ticks,
            3 * 2 * 4,
            "each layout: (warm-up + runs) × (pipeline + models)"
        );
        assert_eq!(results[0].speedup, 1.0);
        assert_eq!(results[0].fps.median, 40.0);
        assert_eq!(
            results[0].fps.min, 40.0,
            "the slow warm-up run is not counted"
        );
        assert_eq!(results[1].speedup, 2.0);
        assert_eq!(results[1].efficiency, 1.0);
        assert_eq!(results[2].efficiency, 0.5);
        assert_eq!(results[1].of_ceiling, 0.8);
        assert_eq!(results[1].peak_rss_mib, 200.0);
        assert_eq!(results[0].stage_shares.landmarks, 0.5);
    }

    #[test]
    fn best_prefers_fewer_threads_among_near_ties() {
        let mut runner = FakeRunner { calls: 1 };
        let repeats = Repeats { warmup: 0, runs: 1 };
        let results = measure(&mut runner, &layouts(), repeats, |_| {}).unwrap();
        assert_eq!(best(&results).unwrap().layout.to_string(), "2x1");
    }

    #[test]
    fn the_baseline_must_come_first() {
        let mut runner = FakeRunner { calls: 0 };
        let layouts = vec!["2x1".parse().unwrap()];
        let repeats = Repeats { warmup: 0, runs: 1 };
        assert!(measure(&mut runner, &layouts, repeats, |_| {}).is_err());
    }
}
