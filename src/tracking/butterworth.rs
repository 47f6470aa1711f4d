//! The zero-phase low-pass filter of `--smooth offline`: a 2nd-order Butterworth run
//! forward then backward, as Sports2D and Pose2Sim filter (`scipy.signal.butter` then
//! `filtfilt`). Run both ways, the lag cancels and the magnitude response is squared
//! (−6 dB at the cutoff, 4th-order roll-off).
//!
//! The ends are handled as `filtfilt`'s defaults: the series is extended by an odd
//! reflection of `3 × (order + 1) = 9` samples at each end (fewer for short series) and
//! each pass starts from the filter's steady state for its first sample (`lfilter_zi`).

use std::f64::consts::{PI, SQRT_2};

/// The reflection at each end, as `filtfilt`'s `padlen = 3 * max(len(a), len(b))`.
const PAD: usize = 9;

/// A 2nd-order section in direct form II transposed, `a0` normalised to 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Butterworth {
    b: [f64; 3],
    a: [f64; 2],
}

/// The cutoff cannot be represented at this sampling rate.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("--cutoff {cutoff_hz} Hz is not between 0 and half the frame rate ({rate_hz} fps / 2); give a lower --cutoff")]
pub struct BadCutoff {
    pub cutoff_hz: f64,
    pub rate_hz: f64,
}

impl Butterworth {
    /// The low-pass at `cutoff_hz` for samples at `rate_hz`, by the bilinear transform
    /// with the cutoff pre-warped (as `scipy.signal.butter(2, cutoff / (rate / 2))`).
    pub fn low_pass(cutoff_hz: f64, rate_hz: f64) -> Result<Self, BadCutoff> {
        if !(cutoff_hz > 0.0 && rate_hz > 0.0 && cutoff_hz < rate_hz / 2.0) {
            return Err(BadCutoff { cutoff_hz, rate_hz });
        }
        let k = (PI * cutoff_hz / rate_hz).tan();
        let norm = 1.0 / (1.0 + SQRT_2 * k + k * k);
        let b0 = k * k * norm;
        Ok(Butterworth {
            b: [b0, 2.0 * b0, b0],
            a: [
                2.0 * (k * k - 1.0) * norm,
                (1.0 - SQRT_2 * k + k * k) * norm,
            ],
        })
    }

    /// One pass over `x`, from the steady state for a constant `x[0]`.
    fn pass(&self, x: &mut [f64]) {
        let Some(&first) = x.first() else {
            return;
        };
        let [b0, b1, b2] = self.b;
        let [a1, a2] = self.a;
        let gain = (b0 + b1 + b2) / (1.0 + a1 + a2);
        let (mut z1, mut z2) = ((gain - b0) * first, (b2 - a2 * gain) * first);
        for v in x.iter_mut() {
            let input = *v;
            let y = b0 * input + z1;
            z1 = b1 * input - a1 * y + z2;
            z2 = b2 * input - a2 * y;
            *v = y;
        }
    }

    /// Filters `x` forward and backward, in place. Fewer than 2 samples are left as
    /// they are (there is nothing to reflect).
    pub fn filtfilt(&self, x: &mut [f64]) {
        let n = x.len();
        if n < 2 {
            return;
        }
        let pad = PAD.min(n - 1);
        let mut ext = Vec::with_capacity(n + 2 * pad);
        ext.extend((1..=pad).rev().map(|i| 2.0 * x[0] - x[i]));
        ext.extend_from_slice(x);
        ext.extend((1..=pad).map(|i| 2.0 * x[n - 1] - x[n - 1 - i]));
        self.pass(&mut ext);
        ext.reverse();
        self.pass(&mut ext);
        ext.reverse();
        x.copy_from_slice(&ext[pad..pad + n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coefficients_match_the_bilinear_transform_by_hand() {
        // 6 Hz at 30 fps: K = tan(π/5) = 0.7265425; norm = 1 / (1 + √2·K + K²).
        let f = Butterworth::low_pass(6.0, 30.0).unwrap();
        let k = (PI / 5.0).tan();
        let norm = 1.0 / (1.0 + SQRT_2 * k + k * k);
        assert!((f.b[0] - k * k * norm).abs() < 1e-12);
        // scipy.signal.butter(2, 0.4) gives b = [0.20657208, 0.41314417, 0.20657208],
        // a = [1, -0.36952738, 0.19581571].
        assert!((f.b[0] - 0.20657208).abs() < 1e-8);
        assert!((f.a[0] + 0.36952738).abs() < 1e-8);
        assert!((f.a[1] - 0.19581571).abs() < 1e-8);
    }

    #[test]
    fn a_constant_passes_unchanged_and_a_line_stays_a_line() {
        let f = Butterworth::low_pass(6.0, 30.0).unwrap();
        let mut constant = vec![3.5; 20];
        f.filtfilt(&mut constant);
        assert!(constant.iter().all(|v| (v - 3.5).abs() < 1e-12));
        // The odd reflection keeps a straight line straight to the ends (the start state
        // assumes a constant, so the first samples are off by ~1e-5 of the slope): no lag.
        let mut line: Vec<f64> = (0..20).map(|i| 2.0 * i as f64).collect();
        f.filtfilt(&mut line);
        for (i, v) in line.iter().enumerate() {
            assert!((v - 2.0 * i as f64).abs() < 1e-3, "{i}: {v}");
        }
    }

    #[test]
    fn matches_scipy_filtfilt_on_a_step() {
        // scipy.signal.filtfilt(*butter(2, 0.4), [0]*6 + [1]*6), scipy 1.17.
        let expected = [
            0.000000646,
            0.000600709,
            -0.021827423,
            -0.052259261,
            0.014388856,
            0.296168649,
            0.703830621,
            0.985610680,
            1.052261414,
            1.021834146,
            0.999401229,
            0.999968712,
        ];
        let f = Butterworth::low_pass(6.0, 30.0).unwrap();
        let mut x: Vec<f64> = (0..12).map(|i| if i < 6 { 0.0 } else { 1.0 }).collect();
        f.filtfilt(&mut x);
        for (got, want) in x.iter().zip(expected) {
            assert!((got - want).abs() < 1e-8, "{x:?}");
        }
    }

    #[test]
    fn jitter_is_damped() {
        let f = Butterworth::low_pass(6.0, 30.0).unwrap();
        let mut zigzag: Vec<f64> = (0..40)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        f.filtfilt(&mut zigzag);
        // 15 Hz (Nyquist) is where the response is zero; away from the ends nothing is left.
        assert!(zigzag[10..30].iter().all(|v| v.abs() < 1e-3), "{zigzag:?}");
    }

    #[test]
    fn a_cutoff_above_nyquist_is_refused() {
        assert!(Butterworth::low_pass(20.0, 30.0).is_err());
        assert!(Butterworth::low_pass(0.0, 30.0).is_err());
    }
}
