//! The progress bar on stderr: frames, frames per second and time left.
//!
//! Drawn only when asked and when stderr is a terminal, so logs and pipes stay clean.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar that may be hidden; every method is cheap when it is.
pub struct Progress {
    bar: ProgressBar,
    /// Frames written, for a watcher in another thread (`serve` reports job progress).
    counter: Option<Arc<AtomicU64>>,
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
        Progress { bar, counter: None }
    }

    /// Also publishes the frame count to `counter`, when given.
    pub fn counting(mut self, counter: Option<Arc<AtomicU64>>) -> Self {
        self.counter = counter;
        self
    }

    /// Frames written so far.
    pub fn advance(&self, frames: u64) {
        self.bar.set_position(frames);
        if let Some(counter) = &self.counter {
            counter.store(frames, Ordering::Relaxed);
        }
    }

    /// Clears the bar so the summary line prints on a clean line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
