//! The numbers `compare` reports, as pure functions over arrays.

use serde::Serialize;

/// Median, 95th percentile, mean and maximum of a set of errors.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Distribution {
    pub count: usize,
    pub median: f64,
    pub p95: f64,
    pub mean: f64,
    pub max: f64,
}

impl Distribution {
    /// `None` for an empty set; non-finite values are left out.
    pub fn of(values: &[f64]) -> Option<Self> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(Distribution {
            count: v.len(),
            median: quantile(&v, 0.5),
            p95: quantile(&v, 0.95),
            mean: v.iter().sum::<f64>() / v.len() as f64,
            max: v[v.len() - 1],
        })
    }
}

/// Linear interpolation between order statistics, as numpy's default `percentile`.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let at = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo as f64)
}

/// Mean 2D distance over the landmarks, divided by the diagonal of `a`'s landmark box
/// (the measure of `scripts/compare_mediapipe.py`); `None` when the sets differ in
/// length or the box is a point.
pub fn landmark_distance(a: &[[f32; 5]], b: &[[f32; 5]]) -> Option<f64> {
    if a.len() != b.len() || a.is_empty() {
        return None;
    }
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for p in a {
        for k in 0..2 {
            lo[k] = lo[k].min(f64::from(p[k]));
            hi[k] = hi[k].max(f64::from(p[k]));
        }
    }
    let diagonal = (hi[0] - lo[0]).hypot(hi[1] - lo[1]);
    if diagonal <= 0.0 {
        return None;
    }
    let mean = a
        .iter()
        .zip(b)
        .map(|(p, q)| f64::from(p[0] - q[0]).hypot(f64::from(p[1] - q[1])))
        .sum::<f64>()
        / a.len() as f64;
    Some(mean / diagonal)
}

/// Mean per-joint Euclidean distance; `None` when the joint counts differ.
pub fn mpjpe(a: &[[f32; 3]], b: &[[f32; 3]]) -> Option<f64> {
    if a.len() != b.len() || a.is_empty() {
        return None;
    }
    Some(a.iter().zip(b).map(|(p, q)| distance3(p, q)).sum::<f64>() / a.len() as f64)
}

pub fn distance3(a: &[f32; 3], b: &[f32; 3]) -> f64 {
    (0..3)
        .map(|k| f64::from(a[k] - b[k]).powi(2))
        .sum::<f64>()
        .sqrt()
}

pub fn max_abs_difference(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(x - y).abs())
        .fold(0.0, f64::max)
}

/// A rotation matrix, rows first, in f64 for the arithmetic.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rotation(pub [[f64; 3]; 3]);

impl Rotation {
    pub fn from_rotmat(m: &[[f32; 3]; 3]) -> Self {
        Rotation(m.map(|row| row.map(f64::from)))
    }

    /// Rodrigues' formula: axis-angle (unit axis × radians) to a matrix.
    pub fn from_axis_angle(v: &[f32; 3]) -> Self {
        let v = v.map(f64::from);
        let theta = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        if theta < 1e-12 {
            return Rotation([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);
        }
        let [x, y, z] = v.map(|c| c / theta);
        let (s, c) = theta.sin_cos();
        let t = 1.0 - c;
        Rotation([
            [t * x * x + c, t * x * y - s * z, t * x * z + s * y],
            [t * x * y + s * z, t * y * y + c, t * y * z - s * x],
            [t * x * z - s * y, t * y * z + s * x, t * z * z + c],
        ])
    }

    /// The angle of `a^T b` in degrees: how far `b` turns away from `a`, 0 to 180.
    pub fn angle_between_deg(a: &Rotation, b: &Rotation) -> f64 {
        // trace(a^T b) = sum of the element-wise products.
        let trace: f64 = (0..3)
            .flat_map(|i| (0..3).map(move |j| (i, j)))
            .map(|(i, j)| a.0[i][j] * b.0[i][j])
            .sum();
        ((trace - 1.0) / 2.0).clamp(-1.0, 1.0).acos().to_degrees()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distribution_matches_numpy_percentiles() {
        let d = Distribution::of(&[4.0, 1.0, 3.0, 2.0, f64::NAN]).unwrap();
        assert_eq!((d.count, d.median, d.max, d.mean), (4, 2.5, 4.0, 2.5));
        assert!((d.p95 - 3.85).abs() < 1e-12);
        assert_eq!(Distribution::of(&[]), None);
    }

    #[test]
    fn landmark_distance_is_relative_to_a_box_diagonal() {
        let a = [[0.0, 0.0, 0.0, 1.0, 1.0], [30.0, 40.0, 0.0, 1.0, 1.0]];
        let b = [[3.0, 4.0, 0.0, 1.0, 1.0], [30.0, 40.0, 0.0, 1.0, 1.0]];
        // Mean distance (5 + 0) / 2 over a diagonal of 50.
        assert_eq!(landmark_distance(&a, &b), Some(0.05));
        assert_eq!(landmark_distance(&a, &b[..1]), None);
    }

    #[test]
    fn rotation_angles_from_axis_angle_and_matrices_agree() {
        let quarter = Rotation::from_axis_angle(&[0.0, 0.0, std::f32::consts::FRAC_PI_2]);
        let identity = Rotation::from_axis_angle(&[0.0; 3]);
        assert!((Rotation::angle_between_deg(&identity, &quarter) - 90.0).abs() < 1e-4);
        let rz90 = Rotation::from_rotmat(&[[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]);
        assert!(Rotation::angle_between_deg(&quarter, &rz90) < 1e-4);
        let half = Rotation::from_axis_angle(&[std::f32::consts::PI, 0.0, 0.0]);
        assert!((Rotation::angle_between_deg(&identity, &half) - 180.0).abs() < 1e-3);
    }

    #[test]
    fn mpjpe_and_differences() {
        let a = [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]];
        let b = [[0.0, 0.0, 0.002], [1.0, 1.0, 1.0]];
        assert!((mpjpe(&a, &b).unwrap() - 0.001).abs() < 1e-9);
        assert_eq!(mpjpe(&a, &b[..1]), None);
        assert!((max_abs_difference(&[1.0, 2.0], &[1.5, 1.0]) - 1.0).abs() < 1e-9);
        assert!((distance3(&[0.0, 3.0, 0.0], &[4.0, 0.0, 0.0]) - 5.0).abs() < 1e-9);
    }
}
