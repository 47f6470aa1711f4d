//! MediaPipe's one-euro filter, reproduced down to its float types and first-call quirks,
//! for the two auxiliary landmarks that video mode always smooths.
//!
//! Sources: `mediapipe/util/filtering/one_euro_filter.cc`, `low_pass_filter.cc`,
//! `calculators/util/landmarks_smoothing_calculator_utils.cc` (`OneEuroFilterImpl`:
//! values in pixels, value scale = 1 / object scale).

/// `LowPassFilter`: state in f32 as in MediaPipe. Also the visibility filter
/// (`VisibilitySmoothingCalculator`'s `low_pass_filter`).
#[derive(Clone, Debug)]
pub struct LowPass {
    alpha: f32,
    raw: f32,
    stored: f32,
    initialized: bool,
}

impl LowPass {
    pub fn new(alpha: f32) -> Self {
        Self {
            alpha,
            raw: 0.0,
            stored: 0.0,
            initialized: false,
        }
    }

    /// `Apply` with the alpha given at construction.
    pub fn apply(&mut self, value: f32) -> f32 {
        self.apply_with_alpha(value, self.alpha)
    }

    fn apply_with_alpha(&mut self, value: f32, alpha: f32) -> f32 {
        // SetAlpha ignores values outside [0, 1] and keeps the previous alpha.
        if (0.0..=1.0).contains(&alpha) {
            self.alpha = alpha;
        }
        let result = if self.initialized {
            ((self.alpha * value) as f64 + (1.0 - self.alpha as f64) * self.stored as f64) as f32
        } else {
            self.initialized = true;
            value
        };
        self.raw = value;
        self.stored = result;
        result
    }
}

/// `OneEuroFilter` for one scalar.
#[derive(Clone, Debug)]
pub struct OneEuro {
    frequency: f64,
    min_cutoff: f64,
    beta: f64,
    derivate_cutoff: f64,
    x: LowPass,
    dx: LowPass,
    last_time_ns: i64,
}

impl OneEuro {
    pub fn new(frequency: f64, min_cutoff: f64, beta: f64, derivate_cutoff: f64) -> Self {
        let alpha = |cutoff: f64| get_alpha(frequency, cutoff) as f32;
        Self {
            frequency,
            min_cutoff,
            beta,
            derivate_cutoff,
            x: LowPass::new(alpha(min_cutoff)),
            dx: LowPass::new(alpha(derivate_cutoff)),
            last_time_ns: i64::MIN,
        }
    }

    /// Filters `value` at `time_ns`; `value_scale` turns pixel speed into object sizes/s.
    pub fn apply(&mut self, time_ns: i64, value_scale: f64, value: f64) -> f64 {
        if self.last_time_ns >= time_ns {
            return value;
        }
        // MediaPipe's test skips a zero timestamp on either side; the first call's
        // difference from INT64_MIN wraps and yields a meaningless rate, but the first
        // output is the raw value whatever the rate, and the next call sets it properly.
        if self.last_time_ns != 0 && time_ns != 0 {
            let dt = time_ns.wrapping_sub(self.last_time_ns) as f64 * 1e-9;
            self.frequency = 1.0 / dt;
        }
        self.last_time_ns = time_ns;
        let dvalue = if self.x.initialized {
            (value - self.x.raw as f64) * value_scale * self.frequency
        } else {
            0.0
        };
        let d_alpha = get_alpha(self.frequency, self.derivate_cutoff) as f32;
        let edvalue = self.dx.apply_with_alpha(dvalue as f32, d_alpha) as f64;
        let cutoff = self.min_cutoff + self.beta * edvalue.abs();
        let alpha = get_alpha(self.frequency, cutoff) as f32;
        self.x.apply_with_alpha(value as f32, alpha) as f64
    }
}

fn get_alpha(frequency: f64, cutoff: f64) -> f64 {
    let te = 1.0 / frequency;
    let tau = 1.0 / (2.0 * std::f64::consts::PI * cutoff);
    1.0 / (1.0 + tau / te)
}

/// The filters for a list of points in pixels (x, y, z each), as `OneEuroFilterImpl`.
#[derive(Clone, Debug)]
pub struct PointsFilter {
    filters: Vec<[OneEuro; 3]>,
}

impl PointsFilter {
    pub fn new(
        points: usize,
        frequency: f64,
        min_cutoff: f64,
        beta: f64,
        derivate_cutoff: f64,
    ) -> Self {
        let one = OneEuro::new(frequency, min_cutoff, beta, derivate_cutoff);
        Self {
            filters: vec![[one.clone(), one.clone(), one]; points],
        }
    }

    /// Filters pixel points in place. `object_scale` (pixels) normalises speeds; MediaPipe
    /// passes points through unfiltered when it is below 1e-6.
    pub fn apply(&mut self, time_ns: i64, object_scale: f32, points: &mut [[f32; 3]]) {
        if object_scale < 1e-6 {
            return;
        }
        self.apply_scaled(time_ns, (1.0f32 / object_scale) as f64, points);
    }

    /// Filters points in place with no object-scale normalisation
    /// (`disable_value_scaling: true`, as for world landmarks in metres).
    pub fn apply_unscaled(&mut self, time_ns: i64, points: &mut [[f32; 3]]) {
        self.apply_scaled(time_ns, 1.0, points);
    }

    fn apply_scaled(&mut self, time_ns: i64, value_scale: f64, points: &mut [[f32; 3]]) {
        for (p, f) in points.iter_mut().zip(&mut self.filters) {
            for k in 0..3 {
                p[k] = f[k].apply(time_ns, value_scale, p[k] as f64) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_value_passes_through() {
        let mut f = OneEuro::new(30.0, 0.01, 10.0, 1.0);
        assert_eq!(f.apply(33_333_000, 0.01, 123.0), 123.0);
    }

    #[test]
    fn slow_changes_are_smoothed_fast_ones_followed() {
        let mut slow = OneEuro::new(30.0, 0.01, 10.0, 1.0);
        slow.apply(33_333_000, 0.01, 100.0);
        let s = slow.apply(66_666_000, 0.01, 101.0);
        // Speed 30 px/s × 0.01 = 0.3; edvalue = alpha_d(1 Hz)·0.3; cutoff = 0.01 + 10·edvalue.
        let a_d = get_alpha(1.0 / 0.033333, 1.0);
        let cutoff = 0.01 + 10.0 * a_d * 0.3;
        let a = get_alpha(1.0 / 0.033333, cutoff);
        assert!((s - (100.0 + a)).abs() < 1e-3, "got {s}");
        assert!(s > 100.0 && s < 101.0);
        let mut fast = OneEuro::new(30.0, 0.01, 10.0, 1.0);
        fast.apply(33_333_000, 0.01, 100.0);
        let f = fast.apply(66_666_000, 0.01, 200.0);
        assert!(f - 100.0 > s - 100.0 && f < 200.0);
    }

    #[test]
    fn repeated_timestamps_return_the_raw_value() {
        let mut f = OneEuro::new(30.0, 0.01, 10.0, 1.0);
        f.apply(1_000, 0.01, 5.0);
        assert_eq!(f.apply(1_000, 0.01, 9.0), 9.0);
    }

    #[test]
    fn points_filter_skips_degenerate_scales() {
        let mut f = PointsFilter::new(2, 30.0, 0.01, 10.0, 1.0);
        let mut pts = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        f.apply(33_333_000, 0.0, &mut pts);
        f.apply(66_666_000, 100.0, &mut [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
        let mut moved = [[11.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        f.apply(99_999_000, 100.0, &mut moved);
        assert!(moved[0][0] > 1.0 && moved[0][0] < 11.0);
        assert_eq!(moved[1], [4.0, 5.0, 6.0]);
    }
}
