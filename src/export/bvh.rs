//! The BVH export of HMR2 results: one file per track, the rest skeleton from the user's
//! SMPL model and the track's betas, one rotation per joint per frame.
//!
//! - Hierarchy: SMPL's joints and parents (`kintree_table`), each joint's `OFFSET` its rest
//!   position minus its parent's (metres), the root's `OFFSET` zero; a leaf gets an
//!   `End Site` of zero length.
//! - Channels: the root `Xposition Yposition Zposition Zrotation Yrotation Xrotation`,
//!   the others `Zrotation Yrotation Xrotation`, in degrees; the rotation is
//!   `Rz · Ry · Rx`, as BVH readers (Blender's among them) compose the listed channels.
//! - Axes: Y up. HMR2 gives the body in the camera frame (x right, y down, z forward); the
//!   root is turned half a turn about X, so X is the image's right, Y up, Z toward the
//!   camera. The root's position is the pelvis: its rest position plus `cam_t`, turned
//!   the same way (HMR2's camera frame, not a world trajectory).

use std::fmt::Write;

use crate::models::hmr2::config::SMPL_JOINTS;

pub type Mat3 = [[f64; 3]; 3];

/// One frame of a track: 24 axis-angle rotations (global orient first) and `cam_t`.
pub struct Pose {
    pub poses: [f32; 72],
    pub trans: [f32; 3],
}

/// The whole BVH text.
pub fn render(rest: &[[f64; 3]], parents: &[Option<usize>], frames: &[Pose], rate: f64) -> String {
    let children: Vec<Vec<usize>> = (0..parents.len())
        .map(|j| {
            (0..parents.len())
                .filter(|&c| parents[c] == Some(j))
                .collect()
        })
        .collect();
    let mut out = String::from("HIERARCHY\n");
    let mut order = Vec::new();
    write_joint(&mut out, rest, parents, &children, 0, 0, &mut order);
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "MOTION\nFrames: {}\nFrame Time: {:.8}",
        frames.len(),
        1.0 / rate
    );
    for pose in frames {
        let _ = writeln!(out, "{}", motion_line(rest, &order, pose));
    }
    out
}

/// Writes `joint` and its subtree; `order` collects the joints as written (depth first),
/// the order of each motion line's channels.
fn write_joint(
    out: &mut String,
    rest: &[[f64; 3]],
    parents: &[Option<usize>],
    children: &[Vec<usize>],
    joint: usize,
    depth: usize,
    order: &mut Vec<usize>,
) {
    order.push(joint);
    let pad = "  ".repeat(depth);
    let name = SMPL_JOINTS
        .get(joint)
        .map_or(format!("joint{joint}"), |n| n.to_string());
    let (kind, channels, offset) = match parents[joint] {
        None => (
            "ROOT",
            "6 Xposition Yposition Zposition Zrotation Yrotation Xrotation",
            [0.0; 3],
        ),
        Some(p) => (
            "JOINT",
            "3 Zrotation Yrotation Xrotation",
            sub(rest[joint], rest[p]),
        ),
    };
    let _ = writeln!(out, "{pad}{kind} {name}\n{pad}{{");
    let _ = writeln!(
        out,
        "{pad}  OFFSET {:.6} {:.6} {:.6}",
        offset[0], offset[1], offset[2]
    );
    let _ = writeln!(out, "{pad}  CHANNELS {channels}");
    for &child in &children[joint] {
        write_joint(out, rest, parents, children, child, depth + 1, order);
    }
    if children[joint].is_empty() {
        let _ = writeln!(
            out,
            "{pad}  End Site\n{pad}  {{\n{pad}    OFFSET 0.000000 0.000000 0.000000\n{pad}  }}"
        );
    }
    let _ = writeln!(out, "{pad}}}");
}

/// Half a turn about X: the camera frame (y down, z forward) to Y up.
const FLIP: Mat3 = [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]];

fn motion_line(rest: &[[f64; 3]], order: &[usize], pose: &Pose) -> String {
    let trans = pose.trans.map(f64::from);
    let root = mat_vec(&FLIP, add(rest[0], trans));
    let mut fields = vec![root[0], root[1], root[2]];
    for &j in order {
        let mut r = rotation(&pose.poses[3 * j..3 * j + 3]);
        if j == 0 {
            r = mat_mul(&FLIP, &r);
        }
        let [z, y, x] = euler_zyx(&r);
        fields.extend([z.to_degrees(), y.to_degrees(), x.to_degrees()]);
    }
    fields
        .iter()
        .map(|v| format!("{v:.6}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Rodrigues: an axis-angle vector to its rotation matrix.
pub fn rotation(v: &[f32]) -> Mat3 {
    let (x, y, z) = (v[0] as f64, v[1] as f64, v[2] as f64);
    let angle = (x * x + y * y + z * z).sqrt();
    if angle < 1e-12 {
        return [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    }
    let (kx, ky, kz) = (x / angle, y / angle, z / angle);
    let (s, c) = angle.sin_cos();
    let t = 1.0 - c;
    [
        [c + kx * kx * t, kx * ky * t - kz * s, kx * kz * t + ky * s],
        [ky * kx * t + kz * s, c + ky * ky * t, ky * kz * t - kx * s],
        [kz * kx * t - ky * s, kz * ky * t + kx * s, c + kz * kz * t],
    ]
}

/// Angles (z, y, x) with `r = Rz(z) · Ry(y) · Rx(x)`.
pub fn euler_zyx(r: &Mat3) -> [f64; 3] {
    let y = (-r[2][0]).clamp(-1.0, 1.0).asin();
    if r[2][0].abs() < 1.0 - 1e-9 {
        [r[1][0].atan2(r[0][0]), y, r[2][1].atan2(r[2][2])]
    } else {
        // Gimbal lock: fold x into z.
        [(-r[0][1]).atan2(r[1][1]), y, 0.0]
    }
}

pub fn mat_mul(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut m = [[0.0; 3]; 3];
    for (i, row) in m.iter_mut().enumerate() {
        for (j, cell) in row.iter_mut().enumerate() {
            *cell = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    m
}

pub fn mat_vec(a: &Mat3, v: [f64; 3]) -> [f64; 3] {
    [0, 1, 2].map(|i| (0..3).map(|k| a[i][k] * v[k]).sum())
}

pub fn add(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::smpl_model::SmplModel;
    use crate::output::npz::NpzWriter;

    const SMPL_PARENTS: [i64; 24] = [
        -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21,
    ];

    /// A small deterministic generator, uniform in [-1, 1).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f32 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        }
        fn many(&mut self, n: usize, scale: f32) -> Vec<f32> {
            (0..n).map(|_| self.next() * scale).collect()
        }
    }

    /// A random model with SMPL's structure (24 joints, SMPL's tree), `n` vertices.
    fn random_model(path: &std::path::Path, n: usize, rng: &mut Lcg) {
        let mut npz = NpzWriter::create(path).unwrap();
        npz.set_f32("v_template", &[n, 3], &rng.many(n * 3, 0.8))
            .unwrap();
        npz.set_f32("shapedirs", &[n, 3, 10], &rng.many(n * 30, 0.05))
            .unwrap();
        let mut regressor = Vec::new();
        for _ in 0..24 {
            let row: Vec<f32> = rng.many(n, 1.0).iter().map(|v| v.abs()).collect();
            let sum: f32 = row.iter().sum();
            regressor.extend(row.iter().map(|v| v / sum));
        }
        npz.set_f32("J_regressor", &[24, n], &regressor).unwrap();
        let kintree: Vec<f32> = SMPL_PARENTS
            .iter()
            .map(|&p| p as f32)
            .chain((0..24).map(|j| j as f32))
            .collect();
        npz.set_f32("kintree_table", &[2, 24], &kintree).unwrap();
        npz.finish(false).unwrap();
    }

    /// SMPL's own forward kinematics, in the camera frame, then turned to Y up.
    fn smpl_joints(rest: &[[f64; 3]], pose: &Pose) -> Vec<[f64; 3]> {
        let mut rot: Vec<Mat3> = Vec::new();
        let mut pos: Vec<[f64; 3]> = Vec::new();
        for j in 0..24 {
            let r = rotation(&pose.poses[3 * j..3 * j + 3]);
            match SMPL_PARENTS[j] {
                -1 => {
                    rot.push(r);
                    pos.push(add(rest[0], pose.trans.map(f64::from)));
                }
                p => {
                    let p = p as usize;
                    let offset = [0, 1, 2].map(|c| rest[j][c] - rest[p][c]);
                    pos.push(add(mat_vec(&rot[p], offset), pos[p]));
                    rot.push(mat_mul(&rot[p], &r));
                }
            }
        }
        pos.iter().map(|p| [p[0], -p[1], -p[2]]).collect()
    }

    /// A BVH reader's forward kinematics: the hierarchy's offsets, each frame's channels,
    /// `Rz · Ry · Rx` in degrees. Returns (joint names, positions per frame).
    fn bvh_joints(text: &str) -> (Vec<String>, Vec<Vec<[f64; 3]>>) {
        let mut names = Vec::new();
        let mut parents: Vec<Option<usize>> = Vec::new();
        let mut offsets: Vec<[f64; 3]> = Vec::new();
        let mut stack: Vec<Option<usize>> = Vec::new();
        let mut lines = text.lines().map(str::trim);
        for line in lines.by_ref() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.first().copied() {
                Some("ROOT") | Some("JOINT") => {
                    names.push(words[1].to_string());
                    parents.push(stack.iter().rev().flatten().next().copied());
                    stack.push(Some(names.len() - 1));
                }
                Some("End") => stack.push(None),
                Some("OFFSET") if stack.last() != Some(&None) => {
                    offsets.push([1, 2, 3].map(|i| words[i].parse().unwrap()))
                }
                Some("}") => {
                    stack.pop();
                }
                Some("MOTION") => break,
                _ => {}
            }
        }
        let frames: usize = lines
            .next()
            .unwrap()
            .split(':')
            .nth(1)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        lines.next();
        let mut out = Vec::new();
        for line in lines.take(frames) {
            let v: Vec<f64> = line
                .split_whitespace()
                .map(|x| x.parse().unwrap())
                .collect();
            assert_eq!(v.len(), 3 + 3 * names.len());
            let mut rot: Vec<Mat3> = Vec::new();
            let mut pos: Vec<[f64; 3]> = Vec::new();
            for j in 0..names.len() {
                let [z, y, x] = [0, 1, 2].map(|k| v[3 + 3 * j + k].to_radians());
                let r = mat_mul(&mat_mul(&rz(z), &ry(y)), &rx(x));
                match parents[j] {
                    None => {
                        rot.push(r);
                        pos.push(add([v[0], v[1], v[2]], offsets[j]));
                    }
                    Some(p) => {
                        pos.push(add(mat_vec(&rot[p], offsets[j]), pos[p]));
                        rot.push(mat_mul(&rot[p], &r));
                    }
                }
            }
            out.push(pos);
        }
        (names, out)
    }

    fn rx(a: f64) -> Mat3 {
        let (s, c) = a.sin_cos();
        [[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]]
    }
    fn ry(a: f64) -> Mat3 {
        let (s, c) = a.sin_cos();
        [[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]]
    }
    fn rz(a: f64) -> Mat3 {
        let (s, c) = a.sin_cos();
        [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]
    }

    #[test]
    fn rodrigues_turns_x_to_y_about_z() {
        let r = rotation(&[0.0, 0.0, std::f32::consts::FRAC_PI_2]);
        let v = mat_vec(&r, [1.0, 0.0, 0.0]);
        assert!((v[0]).abs() < 1e-6 && (v[1] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn bvh_forward_kinematics_reproduce_the_smpl_joints() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.npz");
        let mut rng = Lcg(7);
        random_model(&path, 40, &mut rng);
        let model = SmplModel::read(&path).unwrap();
        let betas: [f32; 10] = rng.many(10, 2.0).try_into().unwrap();
        let rest = model.rest_joints(&betas);
        let frames: Vec<Pose> = (0..5)
            .map(|_| Pose {
                poses: rng.many(72, 1.5).try_into().unwrap(),
                trans: [rng.next(), rng.next(), 3.0 + rng.next()],
            })
            .collect();
        let text = render(&rest, &model.parents, &frames, 30.0);
        assert!(text.contains("Frame Time: 0.03333333"));
        let (names, bvh) = bvh_joints(&text);
        assert_eq!(names.len(), 24);
        for (pose, joints) in frames.iter().zip(&bvh) {
            let want = smpl_joints(&rest, pose);
            for (name, got) in names.iter().zip(joints) {
                let j = SMPL_JOINTS.iter().position(|n| n == name).unwrap();
                let err = (0..3)
                    .map(|c| (got[c] - want[j][c]).abs())
                    .fold(0.0, f64::max);
                assert!(err < 1e-4, "{name}: {got:?} vs {:?}", want[j]);
            }
        }
    }

    #[test]
    fn a_compressed_or_incomplete_model_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.npz");
        let mut npz = NpzWriter::create(&path).unwrap();
        npz.set_f32("v_template", &[2, 3], &[0.0; 6]).unwrap();
        npz.finish(false).unwrap();
        let err = SmplModel::read(&path).unwrap_err().to_string();
        assert!(err.contains("no shapedirs"), "{err}");
    }
}
