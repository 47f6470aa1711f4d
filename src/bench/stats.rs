//! The arithmetic of a benchmark: medians, spreads, speedups. Pure and tested.

/// Median, minimum and maximum of a sample.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// `None` for an empty sample; NaNs are ignored.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Some(Spread {
            median,
            min: sorted[0],
            max: sorted[n - 1],
        })
    }
}

/// How many times faster than the baseline (both in frames per second).
pub fn speedup(fps: f64, baseline_fps: f64) -> f64 {
    if baseline_fps > 0.0 {
        fps / baseline_fps
    } else {
        f64::NAN
    }
}

/// Speedup per thread used: 1.0 is perfect scaling from the 1-thread baseline.
pub fn efficiency(speedup: f64, threads: usize) -> f64 {
    speedup / threads.max(1) as f64
}

/// Each stage's share of the summed stage time (stages overlap on different threads, so
/// shares, not seconds, are comparable across layouts).
pub fn shares(stage_seconds: &[f64]) -> Vec<f64> {
    let total: f64 = stage_seconds.iter().sum();
    stage_seconds
        .iter()
        .map(|s| if total > 0.0 { s / total } else { 0.0 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_of_odd_and_even_samples() {
        let s = Spread::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        let s = Spread::of(&[4.0, 1.0, 2.0, 10.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (3.0, 1.0, 10.0));
        assert_eq!(Spread::of(&[]), None);
        assert_eq!(Spread::of(&[f64::NAN, 5.0]).unwrap().median, 5.0);
    }

    #[test]
    fn speedup_and_efficiency() {
        assert_eq!(speedup(90.0, 50.0), 1.8);
        assert!(speedup(1.0, 0.0).is_nan());
        assert_eq!(efficiency(1.8, 2), 0.9);
        assert_eq!(efficiency(1.0, 1), 1.0);
    }

    #[test]
    fn stage_shares_sum_to_one() {
        let s = shares(&[1.0, 3.0, 0.0, 4.0]);
        assert_eq!(s, vec![0.125, 0.375, 0.0, 0.5]);
        assert_eq!(shares(&[0.0, 0.0]), vec![0.0, 0.0]);
    }
}
