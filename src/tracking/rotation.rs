//! Rotations as unit quaternions, so that SMPL's joint rotations are smoothed in rotation
//! space: a quaternion and its negation are the same rotation, so each one is flipped to
//! the side of the previous before filtering (sign continuity), and the filtered
//! 4-vector is normalised back onto the unit sphere. Filtering axis-angle component-wise
//! instead breaks at the wrap-around: +179° and −179° about one axis are 2° apart as
//! rotations, but their axis-angle vectors point opposite ways and average to no rotation.

use crate::models::hmr2::RotMat;

/// w, x, y, z.
pub type Quat = [f64; 4];

/// The quaternion of a rotation matrix (rows first), by the largest of the four
/// candidates' denominators, as Shepperd's method, so it stays accurate near 180°.
pub fn from_matrix(m: &RotMat) -> Quat {
    let m = m.map(|row| row.map(f64::from));
    let trace = m[0][0] + m[1][1] + m[2][2];
    let q = if trace > m[0][0].max(m[1][1]).max(m[2][2]) {
        let s = (1.0 + trace).sqrt() * 2.0;
        [
            s / 4.0,
            (m[2][1] - m[1][2]) / s,
            (m[0][2] - m[2][0]) / s,
            (m[1][0] - m[0][1]) / s,
        ]
    } else if m[0][0] >= m[1][1] && m[0][0] >= m[2][2] {
        let s = (1.0 + m[0][0] - m[1][1] - m[2][2]).sqrt() * 2.0;
        [
            (m[2][1] - m[1][2]) / s,
            s / 4.0,
            (m[0][1] + m[1][0]) / s,
            (m[0][2] + m[2][0]) / s,
        ]
    } else if m[1][1] >= m[2][2] {
        let s = (1.0 + m[1][1] - m[0][0] - m[2][2]).sqrt() * 2.0;
        [
            (m[0][2] - m[2][0]) / s,
            (m[0][1] + m[1][0]) / s,
            s / 4.0,
            (m[1][2] + m[2][1]) / s,
        ]
    } else {
        let s = (1.0 + m[2][2] - m[0][0] - m[1][1]).sqrt() * 2.0;
        [
            (m[1][0] - m[0][1]) / s,
            (m[0][2] + m[2][0]) / s,
            (m[1][2] + m[2][1]) / s,
            s / 4.0,
        ]
    };
    normalised(q)
}

/// The rotation matrix of a quaternion (normalised first).
pub fn to_matrix(q: Quat) -> RotMat {
    let [w, x, y, z] = normalised(q);
    let m = [
        [
            1.0 - 2.0 * (y * y + z * z),
            2.0 * (x * y - w * z),
            2.0 * (x * z + w * y),
        ],
        [
            2.0 * (x * y + w * z),
            1.0 - 2.0 * (x * x + z * z),
            2.0 * (y * z - w * x),
        ],
        [
            2.0 * (x * z - w * y),
            2.0 * (y * z + w * x),
            1.0 - 2.0 * (x * x + y * y),
        ],
    ];
    m.map(|row| row.map(|v| v as f32))
}

/// `q` or `-q`, whichever is on the side of `reference` (the same rotation either way).
pub fn aligned(q: Quat, reference: Quat) -> Quat {
    let dot: f64 = q.iter().zip(&reference).map(|(a, b)| a * b).sum();
    match dot < 0.0 {
        true => q.map(|v| -v),
        false => q,
    }
}

/// The unit quaternion along `q`; the identity for a zero vector.
pub fn normalised(q: Quat) -> Quat {
    let n = q.iter().map(|v| v * v).sum::<f64>().sqrt();
    match n > 1e-12 {
        true => q.map(|v| v / n),
        false => [1.0, 0.0, 0.0, 0.0],
    }
}

/// A series of rotations as quaternions, each aligned with the one before.
pub fn continuous(rotations: impl IntoIterator<Item = RotMat>) -> Vec<Quat> {
    let mut out: Vec<Quat> = Vec::new();
    for m in rotations {
        let q = from_matrix(&m);
        out.push(match out.last() {
            Some(&previous) => aligned(q, previous),
            None => q,
        });
    }
    out
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// The rotation by `degrees` about z.
    pub fn about_z(degrees: f64) -> RotMat {
        let (s, c) = degrees.to_radians().sin_cos();
        [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]].map(|r| r.map(|v| v as f32))
    }

    fn close(a: &RotMat, b: &RotMat) -> bool {
        a.iter()
            .flatten()
            .zip(b.iter().flatten())
            .all(|(x, y)| (x - y).abs() < 1e-5)
    }

    #[test]
    fn matrices_round_trip_through_quaternions_at_any_angle() {
        for degrees in [0.0, 30.0, 90.0, 179.0, 180.0, -120.0] {
            let m = about_z(degrees);
            assert!(close(&to_matrix(from_matrix(&m)), &m), "{degrees}°");
        }
        // A rotation about a tilted axis, by hand: 90° about x takes y to z.
        let rx = [[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]];
        let q = from_matrix(&rx);
        let h = std::f64::consts::FRAC_1_SQRT_2;
        assert!((q[0] - h).abs() < 1e-9 && (q[1] - h).abs() < 1e-9, "{q:?}");
    }

    #[test]
    fn across_the_wrap_around_the_series_stays_on_one_side() {
        let qs = continuous([
            about_z(178.0),
            about_z(-179.0),
            about_z(179.0),
            about_z(-178.0),
        ]);
        for pair in qs.windows(2) {
            let dot: f64 = pair[0].iter().zip(&pair[1]).map(|(a, b)| a * b).sum();
            assert!(dot > 0.99, "{qs:?}");
        }
        // Their plain mean, normalised, is still a half-turn about z, not the identity.
        let mean = normalised([0, 1, 2, 3].map(|k| qs.iter().map(|q| q[k]).sum::<f64>()));
        assert!(close(&to_matrix(mean), &about_z(180.0)), "{mean:?}");
    }
}
