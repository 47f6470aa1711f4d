//! The benchmark's report: one serde struct (the `--json` output), a table for people
//! and a Markdown export. Nothing here measures.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};
use serde::Serialize;

use super::layout::Layout;
use super::LayoutResult;

/// Everything a benchmark found, as `--json` prints it.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// posekit's version.
    pub posekit: &'static str,
    /// The video measured.
    pub video: String,
    /// Frames per run (the first K of the video).
    pub frames: u64,
    /// `"video"` or `"image"`.
    pub mode: &'static str,
    pub warmup: usize,
    pub runs: usize,
    /// Logical cores of this machine.
    pub cores: usize,
    /// One entry per layout, the 1×1 baseline first.
    pub results: Vec<LayoutResult>,
    /// The layout posekit recommends for this machine, video and model.
    pub best: Layout,
}

const HEADERS: [&str; 9] = [
    "layout",
    "fps (median)",
    "min … max",
    "speedup",
    "efficiency",
    "models only",
    "of ceiling",
    "peak MiB",
    "decode/detect/landmarks/hmr2/write",
];

fn row(r: &LayoutResult, best: Layout) -> [String; 9] {
    let mark = if r.layout == best { " ★" } else { "" };
    let s = r.stage_shares;
    [
        format!("{}{mark}", r.layout),
        format!("{:.1}", r.fps.median),
        format!("{:.1} … {:.1}", r.fps.min, r.fps.max),
        format!("{:.2}×", r.speedup),
        format!("{:.0}%", 100.0 * r.efficiency),
        format!("{:.1}", r.ceiling_fps.median),
        format!("{:.0}%", 100.0 * r.of_ceiling),
        format!("{:.0}", r.peak_rss_mib),
        format!(
            "{:.0}/{:.0}/{:.0}/{:.0}/{:.0}%",
            100.0 * s.decode,
            100.0 * s.detect,
            100.0 * s.landmarks,
            100.0 * s.hmr2,
            100.0 * s.write
        ),
    ]
}

/// The human table.
pub fn table(report: &BenchReport) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(HEADERS);
    for r in &report.results {
        let cells = row(r, report.best).map(|c| Cell::new(c).set_alignment(CellAlignment::Right));
        table.add_row(cells);
    }
    format!(
        "{table}\n{} frames of {} in {} mode, {} runs after {} warm-up, {} cores.\nBest layout: {} (--workers {} --threads-per-worker {}).",
        report.frames,
        report.video,
        report.mode,
        report.runs,
        report.warmup,
        report.cores,
        report.best,
        report.best.workers,
        report.best.threads_per_worker,
    )
}

/// The same table in Markdown, for a README or an issue.
pub fn markdown(report: &BenchReport) -> String {
    let mut out = format!(
        "posekit {} bench: {} frames of `{}`, {} mode, {} runs after {} warm-up, {} cores.\n\n",
        report.posekit,
        report.frames,
        report.video,
        report.mode,
        report.runs,
        report.warmup,
        report.cores
    );
    out += &format!("| {} |\n", HEADERS.join(" | "));
    out += &format!("|{}\n", "---|".repeat(HEADERS.len()));
    for r in &report.results {
        out += &format!("| {} |\n", row(r, report.best).join(" | "));
    }
    out += &format!("\nBest layout: **{}** (★).\n", report.best);
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bench::stats::Spread;
    use crate::bench::StageShares;

    pub(crate) fn sample() -> BenchReport {
        let result = |w: usize, fps: f64| LayoutResult {
            layout: Layout {
                workers: w,
                threads_per_worker: 1,
            },
            frames: 100,
            fps: Spread {
                median: fps,
                min: fps - 1.0,
                max: fps + 1.0,
            },
            speedup: fps / 50.0,
            efficiency: fps / 50.0 / w as f64,
            peak_rss_mib: 200.0 + 90.0 * w as f64,
            stage_shares: StageShares {
                decode: 0.25,
                detect: 0.25,
                landmarks: 0.5,
                hmr2: 0.0,
                write: 0.0,
            },
            ceiling_fps: Spread {
                median: fps * 1.1,
                min: fps,
                max: fps * 1.2,
            },
            of_ceiling: 1.0 / 1.1,
        };
        BenchReport {
            posekit: "0.1.0",
            video: "clip.mp4".into(),
            frames: 100,
            mode: "video",
            warmup: 1,
            runs: 3,
            cores: 2,
            results: vec![result(1, 50.0), result(2, 90.0)],
            best: Layout {
                workers: 2,
                threads_per_worker: 1,
            },
        }
    }

    #[test]
    fn markdown_has_a_row_per_layout_and_marks_the_best() {
        let md = markdown(&sample());
        assert_eq!(md.lines().filter(|l| l.starts_with("| ")).count(), 3);
        assert!(md.contains("| 2x1 ★ | 90.0 |"), "{md}");
        assert!(md.contains("1.80×"));
        assert!(md.contains("| 91% |"), "of ceiling: {md}");
    }

    #[test]
    fn table_names_the_best_layout_as_flags() {
        let text = table(&sample());
        assert!(
            text.contains("--workers 2 --threads-per-worker 1"),
            "{text}"
        );
        assert!(text.contains("25/25/50/0/0%"));
    }
}
