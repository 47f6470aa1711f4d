//! People over time, in frame order after the pipeline's reorder stage: who is who
//! ([`identity`]), gaps drawn in ([`gaps`]), and smoothing per track, causal as MediaPipe
//! ([`causal`]) or zero-phase over the whole video ([`offline`], [`butterworth`]), and
//! HMR2's meshes the same way, in rotation space ([`smpl`], [`rotation`]).
//!
//! Pure: no FFmpeg, no ONNX Runtime, no threads. The pipeline's `ordered` stage applies
//! these to the frames it releases; see `docs/tracking.md`.

pub mod butterworth;
pub mod causal;
pub mod gaps;
pub mod identity;
pub mod offline;
pub mod rotation;
pub mod smpl;
#[cfg(test)]
pub mod testing;

use crate::pose::Person;

/// How landmarks are smoothed over time (`--smooth`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Smoothing {
    /// As the landmark model gave them.
    None,
    /// MediaPipe's `smooth_landmarks=True` filters, per track, as frames come.
    Causal,
    /// Zero-phase Butterworth per track over the whole video.
    Offline,
}

impl Smoothing {
    /// Video mode's default (README, "Smoothing: the default"): MediaPipe's own default
    /// filter, which cuts jitter while results still stream frame by frame and memory stays
    /// flat in the video's length; the offline filter leaves less jitter but holds every
    /// record until the video ends, so it is asked for.
    pub const VIDEO_DEFAULT: Smoothing = Smoothing::Causal;

    pub fn name(self) -> &'static str {
        match self {
            Smoothing::None => "none",
            Smoothing::Causal => "causal",
            Smoothing::Offline => "offline",
        }
    }
}

/// What the frame-ordered stages do, in seconds where the user gives seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackingOptions {
    /// A person unseen for up to this long keeps the ID (`--max-gap`).
    pub max_gap_s: f64,
    pub smoothing: Smoothing,
    /// The offline filter's cutoff (`--cutoff`); `None` is [`DEFAULT_CUTOFF_HZ`], capped
    /// for slow streams (see [`TrackingOptions::cutoff_at`]).
    pub cutoff_hz: Option<f64>,
    /// Gaps up to this long within a track are interpolated (`--fill-gaps`); 0 is off.
    pub fill_gaps_s: f64,
    /// With HMR2: one body shape per track, the median of its `betas` (`--shape per-track`).
    pub shape_per_track: bool,
}

impl Default for TrackingOptions {
    fn default() -> Self {
        TrackingOptions {
            max_gap_s: 0.5,
            smoothing: Smoothing::None,
            cutoff_hz: None,
            fill_gaps_s: 0.0,
            shape_per_track: false,
        }
    }
}

/// The offline cutoff when none is given: 6 Hz, as Sports2D and Pose2Sim default to
/// for human motion filmed at 30–60 fps.
pub const DEFAULT_CUTOFF_HZ: f64 = 6.0;

/// The default's cap, as a share of the frame rate: 0.4 × rate is 80% of the highest
/// frequency the stream can hold (a 10 fps clip gets 4 Hz instead of an impossible 6).
const DEFAULT_CUTOFF_MAX_SHARE: f64 = 0.4;

impl TrackingOptions {
    /// The offline cutoff for a stream at `fps`: the one given, else the default capped.
    pub fn cutoff_at(&self, fps: f64) -> f64 {
        self.cutoff_hz
            .unwrap_or_else(|| DEFAULT_CUTOFF_HZ.min(DEFAULT_CUTOFF_MAX_SHARE * fps))
    }
}

/// Seconds as whole frames at the stream's real rate (at least 0).
pub fn frames_in(seconds: f64, fps: f64) -> u64 {
    if seconds > 0.0 && fps > 0.0 {
        (seconds * fps).round() as u64
    } else {
        0
    }
}

/// A frame as the stages see it: its index and its persons.
pub trait TrackedFrame {
    fn index(&self) -> u64;
    fn persons(&self) -> &[Person];
    fn persons_mut(&mut self) -> &mut Vec<Person>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_become_frames_at_the_real_rate() {
        assert_eq!(frames_in(0.5, 29.97), 15);
        assert_eq!(frames_in(0.5, 25.0), 13);
        assert_eq!(frames_in(0.0, 30.0), 0);
        assert_eq!(frames_in(0.5, 0.0), 0);
    }

    #[test]
    fn the_default_cutoff_fits_slow_streams_and_a_given_one_is_kept() {
        let default = TrackingOptions::default();
        assert_eq!(default.cutoff_at(30.0), 6.0);
        assert_eq!(default.cutoff_at(10.0), 4.0);
        let given = TrackingOptions {
            cutoff_hz: Some(8.0),
            ..default
        };
        assert_eq!(given.cutoff_at(10.0), 8.0);
    }
}
