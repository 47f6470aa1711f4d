//! The progress bar on stderr: frames, frames per second and time left.
//!
//! Drawn only when asked and when stderr is a terminal, so logs and pipes stay clean.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar that may be hidden; every method is cheap when it is.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// `total` is the frame count when the container knows it.
    pub fn new(wanted: bool, total: Option<u64>) -> Self {
        let visible = wanted && std::io::stderr().is_terminal();
        let bar = match total {
            Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
            None => ProgressBar::no_length(),
        };
        if !visible {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        let template = if total.is_some() {
            "{bar:30} {pos}/{len} frames · {per_sec} · {elapsed} elapsed, ETA {eta}"
        } else {
            "{spinner} {pos} frames · {per_sec} · {elapsed} elapsed"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress { bar }
    }

    /// Frames written so far.
    pub fn advance(&self, frames: u64) {
        self.bar.set_position(frames);
    }

    /// Clears the bar so the summary line prints on a clean line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
