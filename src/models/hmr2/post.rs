//! HMR2 outputs to the numbers people use: rotation matrices to axis-angle (SMPL's own
//! parameterisation), and the crop camera to a camera in full-image coordinates.
//!
//! Pure functions; no engine, no ort.

use super::config::{CROP_SIZE, FOCAL_LENGTH_CROP};

/// Axis-angle (axis × angle in radians) of a rotation matrix, through a unit quaternion.
///
/// The textbook `acos((tr − 1)/2)` with the axis from the skew part loses the axis near
/// 180°, where the skew part vanishes; Shepperd's method picks the largest quaternion
/// component to divide by, so every angle keeps full precision. Computed in f64.
pub fn rotmat_to_axis_angle(r: &[[f32; 3]; 3]) -> [f32; 3] {
    let m = |i: usize, j: usize| r[i][j] as f64;
    let trace = m(0, 0) + m(1, 1) + m(2, 2);
    // (w, x, y, z), scaled by 4 × the chosen component, then normalised.
    let q = if trace > m(0, 0).max(m(1, 1)).max(m(2, 2)) {
        let s = (1.0 + trace).max(0.0).sqrt() * 2.0;
        [
            0.25 * s,
            (m(2, 1) - m(1, 2)) / s,
            (m(0, 2) - m(2, 0)) / s,
            (m(1, 0) - m(0, 1)) / s,
        ]
    } else if m(0, 0) >= m(1, 1) && m(0, 0) >= m(2, 2) {
        let s = (1.0 + m(0, 0) - m(1, 1) - m(2, 2)).max(0.0).sqrt() * 2.0;
        [
            (m(2, 1) - m(1, 2)) / s,
            0.25 * s,
            (m(0, 1) + m(1, 0)) / s,
            (m(0, 2) + m(2, 0)) / s,
        ]
    } else if m(1, 1) >= m(2, 2) {
        let s = (1.0 + m(1, 1) - m(0, 0) - m(2, 2)).max(0.0).sqrt() * 2.0;
        [
            (m(0, 2) - m(2, 0)) / s,
            (m(0, 1) + m(1, 0)) / s,
            0.25 * s,
            (m(1, 2) + m(2, 1)) / s,
        ]
    } else {
        let s = (1.0 + m(2, 2) - m(0, 0) - m(1, 1)).max(0.0).sqrt() * 2.0;
        [
            (m(1, 0) - m(0, 1)) / s,
            (m(0, 2) + m(2, 0)) / s,
            (m(1, 2) + m(2, 1)) / s,
            0.25 * s,
        ]
    };
    // The shorter way round: w ≥ 0 gives an angle in [0, π].
    let sign = if q[0] < 0.0 { -1.0 } else { 1.0 };
    let [w, x, y, z] = q.map(|v| v * sign);
    let v = (x * x + y * y + z * z).sqrt();
    if v < 1e-12 {
        return [0.0; 3];
    }
    let angle = 2.0 * v.atan2(w);
    [x, y, z].map(|c| (c / v * angle) as f32)
}

/// The full image's focal length in pixels: 5000 for a 256-pixel crop, scaled to the
/// frame's longer side, as 4D-Humans' demo renders with.
pub fn focal_length(width: u32, height: u32) -> f32 {
    FOCAL_LENGTH_CROP / CROP_SIZE as f32 * width.max(height) as f32
}

/// 4D-Humans' `cam_crop_to_full`: the weak-perspective crop camera (s, tx, ty) to a
/// translation (tx, ty, tz) of the body in the full image's camera, with focal length
/// `focal` and the principal point at the image centre.
pub fn cam_crop_to_full(
    pred_cam: [f32; 3],
    box_center: [f32; 2],
    box_size: f32,
    image: [u32; 2],
    focal: f32,
) -> [f32; 3] {
    let [s, tx_c, ty_c] = pred_cam.map(f64::from);
    let (w_2, h_2) = (image[0] as f64 / 2.0, image[1] as f64 / 2.0);
    // 1e-9 as in 4D-Humans, so a zero scale gives a huge depth rather than a NaN.
    let bs = box_size as f64 * s + 1e-9;
    let tz = 2.0 * focal as f64 / bs;
    let tx = 2.0 * (box_center[0] as f64 - w_2) / bs + tx_c;
    let ty = 2.0 * (box_center[1] as f64 - h_2) / bs + ty_c;
    [tx as f32, ty as f32, tz as f32]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    /// Rodrigues' formula, written independently of the code under test.
    fn rodrigues(axis: [f64; 3], angle: f64) -> [[f32; 3]; 3] {
        let n = (axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2]).sqrt();
        let [x, y, z] = axis.map(|a| a / n);
        let (c, s, t) = (angle.cos(), angle.sin(), 1.0 - angle.cos());
        [
            [t * x * x + c, t * x * y - s * z, t * x * z + s * y],
            [t * x * y + s * z, t * y * y + c, t * y * z - s * x],
            [t * x * z - s * y, t * y * z + s * x, t * z * z + c],
        ]
        .map(|row| row.map(|v| v as f32))
    }

    fn assert_aa(got: [f32; 3], want: [f64; 3], tol: f64) {
        for i in 0..3 {
            assert!(
                (got[i] as f64 - want[i]).abs() < tol,
                "got {got:?}, want {want:?}"
            );
        }
    }

    #[test]
    fn identity_is_zero() {
        let id = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
        assert_eq!(rotmat_to_axis_angle(&id), [0.0; 3]);
    }

    #[test]
    fn quarter_turn_about_z() {
        // Rz(90°) sends x to y: [[0,-1,0],[1,0,0],[0,0,1]] → (0, 0, π/2).
        let r = [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]];
        assert_aa(rotmat_to_axis_angle(&r), [0.0, 0.0, PI / 2.0], 1e-6);
    }

    #[test]
    fn half_turns_keep_their_axis() {
        // Exactly 180° about x: diag(1, −1, −1); the skew part is zero here.
        let r = [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]];
        let aa = rotmat_to_axis_angle(&r);
        assert!((aa[0].abs() as f64 - PI).abs() < 1e-6 && aa[1] == 0.0 && aa[2] == 0.0);
        // 180° about (1,1,0)/√2: R = 2nnᵀ − I = [[0,1,0],[1,0,0],[0,0,−1]].
        let r = [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]];
        let aa = rotmat_to_axis_angle(&r);
        let k = PI / 2f64.sqrt();
        assert!((aa[0] - aa[1]).abs() < 1e-6, "{aa:?}");
        assert!(((aa[0] as f64).abs() - k).abs() < 1e-6 && aa[2].abs() < 1e-6);
    }

    #[test]
    fn angles_near_180_degrees_round_trip() {
        let axis = [0.2, -0.7, 0.4];
        let n = (0.04f64 + 0.49 + 0.16).sqrt();
        for angle in [PI - 1e-3, PI - 1e-5, 3.0, 0.5, 1e-4] {
            let aa = rotmat_to_axis_angle(&rodrigues(axis, angle));
            let want = axis.map(|a| a / n * angle);
            // f32 matrices carry ~1e-7 error; near π the angle is still good to ~1e-3.
            assert_aa(aa, want, 2e-3);
        }
    }

    #[test]
    fn focal_length_scales_with_the_long_side() {
        assert_eq!(focal_length(256, 100), 5000.0);
        assert!((focal_length(1768, 994) - 5000.0 / 256.0 * 1768.0).abs() < 1e-2);
    }

    #[test]
    fn cam_crop_to_full_by_hand() {
        // A 1000×500 image, box of 200 px centred at (700, 150), s = 0.8, t = (0.1, −0.2):
        // bs = 160; tz = 2·5000/160 = 62.5; tx = 2·200/160 + 0.1 = 2.6;
        // ty = 2·(−100)/160 − 0.2 = −1.45.
        let t = cam_crop_to_full([0.8, 0.1, -0.2], [700.0, 150.0], 200.0, [1000, 500], 5000.0);
        assert_aa(t, [2.6, -1.45, 62.5], 1e-5);
        // Centred box: tx, ty are the crop's own translation.
        let t = cam_crop_to_full([1.0, 0.3, 0.4], [500.0, 250.0], 256.0, [1000, 500], 2560.0);
        assert_aa(t, [0.3, 0.4, 20.0], 1e-5);
    }
}
