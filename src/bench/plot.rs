//! `--plot PATH.svg`: speedup and peak memory against threads used, with the ideal
//! (linear) speedup drawn for reference. Plain SVG text, no plotting crate.

use std::fmt::Write;

use super::report::BenchReport;

const PANEL_W: f64 = 360.0;
const PANEL_H: f64 = 260.0;
const MARGIN: f64 = 50.0;

/// Two panels side by side: speedup (with the ideal line) and peak memory.
pub fn svg(report: &BenchReport) -> String {
    let max_threads = report
        .results
        .iter()
        .map(|r| r.layout.threads())
        .max()
        .unwrap_or(1)
        .max(2) as f64;
    let speedups: Vec<(f64, f64, String)> = report
        .results
        .iter()
        .map(|r| (r.layout.threads() as f64, r.speedup, r.layout.to_string()))
        .collect();
    let memory: Vec<(f64, f64, String)> = report
        .results
        .iter()
        .map(|r| {
            (
                r.layout.threads() as f64,
                r.peak_rss_mib,
                r.layout.to_string(),
            )
        })
        .collect();
    let top_speedup = speedups.iter().map(|p| p.1).fold(max_threads, f64::max);
    let top_memory = memory.iter().map(|p| p.1).fold(1.0, f64::max) * 1.1;
    let width = 2.0 * (PANEL_W + MARGIN) + MARGIN;
    let height = PANEL_H + 2.0 * MARGIN;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    let left = Panel::new(MARGIN, max_threads, top_speedup);
    left.frame(
        &mut out,
        "speedup vs 1x1",
        "threads (workers × threads per worker)",
    );
    left.line(
        &mut out,
        (1.0, 1.0),
        (max_threads, max_threads),
        "#999",
        "4 3",
    );
    left.text(&mut out, max_threads, max_threads, "ideal");
    left.points(&mut out, &speedups, "#1f77b4");
    let right = Panel::new(2.0 * MARGIN + PANEL_W, max_threads, top_memory);
    right.frame(
        &mut out,
        "peak memory (MiB)",
        "threads (workers × threads per worker)",
    );
    right.points(&mut out, &memory, "#d62728");
    out.push_str("</svg>\n");
    out
}

/// One plot area mapping data (x from 0 to `x_max`, y from 0 to `y_max`) to pixels.
struct Panel {
    left: f64,
    x_max: f64,
    y_max: f64,
}

impl Panel {
    fn new(left: f64, x_max: f64, y_max: f64) -> Self {
        Panel { left, x_max, y_max }
    }

    fn at(&self, x: f64, y: f64) -> (f64, f64) {
        (
            self.left + x / self.x_max * PANEL_W,
            MARGIN + PANEL_H - y / self.y_max * PANEL_H,
        )
    }

    fn frame(&self, out: &mut String, title: &str, x_label: &str) {
        let (x0, y0) = self.at(0.0, 0.0);
        let (x1, y1) = self.at(self.x_max, self.y_max);
        let _ = writeln!(
            out,
            "<rect x=\"{x0}\" y=\"{y1}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"black\"/>",
            x1 - x0,
            y0 - y1
        );
        let _ = writeln!(
            out,
            "<text x=\"{x0}\" y=\"{}\" font-weight=\"bold\">{title}</text>",
            y1 - 10.0
        );
        let _ = writeln!(out, "<text x=\"{x0}\" y=\"{}\">{x_label}</text>", y0 + 30.0);
        let _ = writeln!(out, "<text x=\"{}\" y=\"{y0}\">0</text>", x0 - 15.0);
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\">{:.1}</text>",
            x0 - 45.0,
            y1 + 4.0,
            self.y_max
        );
        let _ = writeln!(
            out,
            "<text x=\"{x1}\" y=\"{}\">{}</text>",
            y0 + 15.0,
            self.x_max
        );
    }

    fn line(&self, out: &mut String, a: (f64, f64), b: (f64, f64), colour: &str, dash: &str) {
        let (x1, y1) = self.at(a.0, a.1);
        let (x2, y2) = self.at(b.0, b.1);
        let _ = writeln!(
            out,
            "<line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" stroke=\"{colour}\" stroke-dasharray=\"{dash}\"/>"
        );
    }

    fn text(&self, out: &mut String, x: f64, y: f64, label: &str) {
        let (px, py) = self.at(x, y);
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\">{label}</text>",
            px - 30.0,
            py + 14.0
        );
    }

    fn points(&self, out: &mut String, points: &[(f64, f64, String)], colour: &str) {
        for (x, y, label) in points {
            let (px, py) = self.at(*x, *y);
            let _ = writeln!(
                out,
                "<circle cx=\"{px}\" cy=\"{py}\" r=\"4\" fill=\"{colour}\"/>"
            );
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\">{label}</text>",
                px + 6.0,
                py - 6.0
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::report::tests::sample;

    #[test]
    fn svg_has_a_point_per_layout_in_each_panel_and_the_ideal_line() {
        let text = svg(&sample());
        assert!(text.starts_with("<svg"));
        assert!(text.trim_end().ends_with("</svg>"));
        assert_eq!(text.matches("<circle").count(), 4);
        assert!(text.contains("ideal"));
        assert!(text.contains(">2x1</text>"));
    }
}
