//! `--smooth causal`: MediaPipe's `smooth_landmarks=True`, per track.
//!
//! `mediapipe/modules/pose_landmark/pose_landmark_filtering.pbtxt` (v0.10.14, the version
//! the comparison venv runs) filters, when smoothing is enabled:
//! - visibility of the landmarks and of the world landmarks: `VisibilitySmoothingCalculator`
//!   `low_pass_filter { alpha: 0.1 }`;
//! - the landmarks, in pixels (z scaled by the frame width): `LandmarksSmoothingCalculator`
//!   `one_euro_filter { min_cutoff: 0.05 beta: 80.0 derivate_cutoff: 1.0 }`, speeds divided
//!   by the object scale, which `OBJECT_SCALE_ROI` takes from the square the two auxiliary
//!   landmarks span ([`Person::object_scale`]);
//! - the world landmarks, in metres: `one_euro_filter { min_cutoff: 0.1 beta: 40.0
//!   derivate_cutoff: 1.0 disable_value_scaling: true }`.
//!
//! The filter frequency starts at the proto's default 30 Hz and then follows the
//! timestamps. Both calculators reset when a frame has no landmarks, so a track's filters
//! start afresh after any frame it is missing from. The one-euro and low-pass maths are
//! [`crate::models::blazepose::filter`]'s, which reproduce MediaPipe's float for float.

use std::collections::BTreeMap;

use crate::models::blazepose::filter::{LowPass, PointsFilter};
use crate::pose::{Person, NUM_LANDMARKS};

/// `LandmarksSmoothingCalculatorOptions.OneEuroFilter.frequency` default.
const DEFAULT_FREQUENCY: f64 = 30.0;
const LANDMARKS_MIN_CUTOFF: f64 = 0.05;
const LANDMARKS_BETA: f64 = 80.0;
const WORLD_MIN_CUTOFF: f64 = 0.1;
const WORLD_BETA: f64 = 40.0;
const DERIVATE_CUTOFF: f64 = 1.0;
const VISIBILITY_ALPHA: f32 = 0.1;

/// One track's filters.
struct TrackFilters {
    /// The frame it was last filtered in, to tell whether it missed one.
    last_frame: u64,
    landmarks: PointsFilter,
    world: PointsFilter,
    visibility: Vec<LowPass>,
}

impl TrackFilters {
    fn new(frame: u64) -> Self {
        let points = |min_cutoff, beta| {
            PointsFilter::new(
                NUM_LANDMARKS,
                DEFAULT_FREQUENCY,
                min_cutoff,
                beta,
                DERIVATE_CUTOFF,
            )
        };
        TrackFilters {
            last_frame: frame,
            landmarks: points(LANDMARKS_MIN_CUTOFF, LANDMARKS_BETA),
            world: points(WORLD_MIN_CUTOFF, WORLD_BETA),
            visibility: vec![LowPass::new(VISIBILITY_ALPHA); NUM_LANDMARKS],
        }
    }

    fn apply(&mut self, time_ns: i64, person: &mut Person) {
        // Visibility first: the landmark filter is fed the visibility-filtered list.
        for (k, filter) in person.keypoints.iter_mut().zip(&mut self.visibility) {
            k[3] = filter.apply(k[3]);
        }
        let mut points = person.keypoints.map(|k| [k[0], k[1], k[2]]);
        self.landmarks
            .apply(time_ns, person.object_scale, &mut points);
        for (k, p) in person.keypoints.iter_mut().zip(points) {
            k[..3].copy_from_slice(&p);
        }
        // The box is the landmarks' box (README, "The result file"), so it follows them.
        person.bbox = crate::models::blazepose::landmarks::bounding_box(&person.keypoints);
        self.world.apply_unscaled(time_ns, &mut person.world);
    }
}

/// The causal smoother over a whole video, one filter set per track ID.
#[derive(Default)]
pub struct CausalSmoother {
    tracks: BTreeMap<u32, TrackFilters>,
}

impl CausalSmoother {
    /// Smooths frame `frame`'s persons in place; `time_ns` is the frame's timestamp in
    /// the clock MediaPipe's filters read. Persons need their `track_id`.
    pub fn apply(&mut self, frame: u64, time_ns: i64, persons: &mut [Person]) {
        // A track missing from the previous frame restarts, as MediaPipe's reset does.
        self.tracks.retain(|_, f| f.last_frame + 1 >= frame);
        for person in persons.iter_mut() {
            let filters = self
                .tracks
                .entry(person.track_id)
                .or_insert_with(|| TrackFilters::new(frame));
            filters.last_frame = frame;
            filters.apply(time_ns, person);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::testing::person_at;

    const FRAME_NS: i64 = 33_333_000;

    fn smoothed(xs: &[f32]) -> Vec<(f32, f32)> {
        let mut smoother = CausalSmoother::default();
        xs.iter()
            .enumerate()
            .map(|(f, &x)| {
                let mut p = [person_at(x, 100.0)];
                p[0].track_id = 1;
                p[0].object_scale = 200.0;
                p[0].keypoints[0][3] = if f == 0 { 1.0 } else { 0.0 };
                smoother.apply(f as u64, (f as i64 + 1) * FRAME_NS, &mut p);
                (p[0].keypoints[0][0], p[0].keypoints[0][3])
            })
            .collect()
    }

    #[test]
    fn matches_a_hand_computed_one_euro_step_and_visibility_low_pass() {
        let got = smoothed(&[100.0, 110.0]);
        assert_eq!(got[0], (100.0, 1.0));
        // Frame 2, by hand: rate 1/0.033333 s; speed 10 px / 200 px × rate = 1.5 /s;
        // derivative alpha at 1 Hz; cutoff = 0.05 + 80·|alpha_d·1.5|; x = 100 + alpha·10.
        let rate = 1.0 / 0.033333;
        let alpha = |cutoff: f64| 1.0 / (1.0 + rate / (2.0 * std::f64::consts::PI * cutoff));
        let edx = alpha(1.0) * 1.5;
        let expected = 100.0 + alpha(0.05 + 80.0 * edx) * 10.0;
        assert!(
            (got[1].0 as f64 - expected).abs() < 1e-3,
            "{got:?} vs {expected}"
        );
        // Visibility 1 then 0: 0.1·0 + 0.9·1.
        assert!((got[1].1 - 0.9).abs() < 1e-6);
    }

    #[test]
    fn a_track_missing_a_frame_starts_afresh() {
        let mut smoother = CausalSmoother::default();
        let mut at = |f: u64, x: f32| {
            let mut p = [person_at(x, 100.0)];
            p[0].track_id = 3;
            p[0].object_scale = 200.0;
            smoother.apply(f, (f as i64 + 1) * FRAME_NS, &mut p);
            p[0].keypoints[0][0]
        };
        at(0, 100.0);
        assert!(at(1, 150.0) < 150.0);
        // Not seen in frame 2: at frame 3 the first value passes through unfiltered.
        assert_eq!(at(3, 300.0), 300.0);
    }

    #[test]
    fn tracks_are_filtered_apart() {
        let mut smoother = CausalSmoother::default();
        let mut frame = |f: u64, xa: f32, xb: f32| {
            let mut p = [person_at(xa, 100.0), person_at(xb, 100.0)];
            (p[0].track_id, p[1].track_id) = (1, 2);
            p[0].object_scale = 200.0;
            p[1].object_scale = 200.0;
            smoother.apply(f, (f as i64 + 1) * FRAME_NS, &mut p);
            (p[0].keypoints[0][0], p[1].keypoints[0][0])
        };
        frame(0, 100.0, 500.0);
        let (a, b) = frame(1, 100.0, 500.0);
        assert_eq!((a, b), (100.0, 500.0));
    }
}
