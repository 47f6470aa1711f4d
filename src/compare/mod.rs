//! `posekit compare A.jsonl B.jsonl`: how two posekit results of the same video differ
//! (int8 against fp32, GPU against CPU, one version against another).
//!
//! Reading ([`read`]) accepts only posekit's own JSON Lines. Matching and the metrics are
//! pure functions over the records, tested with hand-made ones:
//! - frames are matched by index, persons within a frame by landmark distance;
//! - landmarks: the box-normalised distance of `scripts/compare_mediapipe.py` (mean 2D
//!   distance over the 33 landmarks / the diagonal of A's landmark box);
//! - SMPL: rotation error in degrees per joint (the angle of R_A^T R_B, from the rotation
//!   matrices when both files have them, else from axis-angle), MPJPE over
//!   `keypoints_3d` when both have them, betas and `cam_t` differences.

pub mod metrics;
pub mod read;
pub mod report;

use serde::Serialize;

use crate::models::hmr2::config::SMPL_JOINTS;
use metrics::{Distribution, Rotation};
use read::{Person, ResultFile, Smpl};

/// The joints of the SMPL rotation report: the root, named after the field it comes
/// from, then SMPL's 23 body joints.
fn joint_names() -> impl Iterator<Item = &'static str> {
    std::iter::once("global_orient").chain(SMPL_JOINTS[1..].iter().copied())
}
/// The whole comparison, as `--json` prints it.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub a: String,
    pub b: String,
    /// Frames in A, in B, and in both (compared).
    pub frames_a: usize,
    pub frames_b: usize,
    pub frames_compared: usize,
    /// Persons over the compared frames.
    pub persons_a: usize,
    pub persons_b: usize,
    /// Persons paired between A and B (by landmark distance, closest first).
    pub persons_matched: usize,
    /// Frames of the compared ones where A and B found a different number of persons.
    pub frames_person_count_differs: usize,
    /// Landmark distance, as a share of A's landmark-box diagonal, over matched persons.
    pub landmarks: Option<Distribution>,
    /// Present when both files have SMPL blocks for matched persons.
    pub smpl: Option<SmplComparison>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SmplComparison {
    /// Matched persons with an SMPL block in both files.
    pub persons: usize,
    /// Where the rotations came from: `rotmat` (both files had `--rotmat`) or `axis-angle`.
    pub rotations_from: &'static str,
    /// Rotation error in degrees over all 24 joints of all persons.
    pub rotation_deg: Distribution,
    /// Rotation error in degrees per joint (global_orient first, then SMPL order).
    pub rotation_deg_per_joint: Vec<JointError>,
    /// Mean per-joint 3D distance over `keypoints_3d`, millimetres; `None` when either
    /// file has no keypoints_3d.
    pub mpjpe_mm: Option<Distribution>,
    /// Largest absolute difference of the 10 betas, per person.
    pub betas_max_abs: Distribution,
    /// Euclidean distance of `cam_t`, metres, per person.
    pub cam_t_m: Distribution,
    /// That distance over the length of A's `cam_t`: depth grows as the crop camera's
    /// scale shrinks, so a small change of scale can move a far person by metres.
    pub cam_t_relative: Distribution,
}

#[derive(Clone, Debug, Serialize)]
pub struct JointError {
    pub joint: &'static str,
    pub median: f64,
    pub max: f64,
}

/// Compares `a` with `b`.
pub fn compare(a: &ResultFile, b: &ResultFile) -> Comparison {
    let mut landmark = Vec::new();
    let mut pairs: Vec<(&Smpl, &Smpl)> = Vec::new();
    let (mut compared, mut persons_a, mut persons_b, mut matched, mut count_differs) =
        (0, 0, 0, 0, 0);
    for (index, pa) in &a.frames {
        let Some(pb) = b.frames.get(index) else {
            continue;
        };
        compared += 1;
        persons_a += pa.len();
        persons_b += pb.len();
        count_differs += usize::from(pa.len() != pb.len());
        for (i, j, d) in match_persons(pa, pb) {
            matched += 1;
            landmark.push(d);
            if let (Some(sa), Some(sb)) = (&pa[i].smpl, &pb[j].smpl) {
                pairs.push((sa, sb));
            }
        }
    }
    Comparison {
        a: a.path.clone(),
        b: b.path.clone(),
        frames_a: a.frames.len(),
        frames_b: b.frames.len(),
        frames_compared: compared,
        persons_a,
        persons_b,
        persons_matched: matched,
        frames_person_count_differs: count_differs,
        landmarks: Distribution::of(&landmark),
        smpl: compare_smpl(&pairs),
    }
}

/// Pairs persons of one frame, closest landmarks first, each person at most once.
/// Returns (index in A, index in B, landmark distance).
pub fn match_persons(a: &[Person], b: &[Person]) -> Vec<(usize, usize, f64)> {
    let mut all: Vec<(usize, usize, f64)> = a
        .iter()
        .enumerate()
        .flat_map(|(i, pa)| {
            b.iter().enumerate().filter_map(move |(j, pb)| {
                let d = metrics::landmark_distance(&pa.keypoints, &pb.keypoints)?;
                Some((i, j, d))
            })
        })
        .collect();
    all.sort_by(|x, y| x.2.total_cmp(&y.2));
    let (mut used_a, mut used_b) = (vec![false; a.len()], vec![false; b.len()]);
    let mut pairs = Vec::new();
    for (i, j, d) in all {
        if !used_a[i] && !used_b[j] {
            used_a[i] = true;
            used_b[j] = true;
            pairs.push((i, j, d));
        }
    }
    pairs
}

fn compare_smpl(pairs: &[(&Smpl, &Smpl)]) -> Option<SmplComparison> {
    if pairs.is_empty() {
        return None;
    }
    let rotmat = pairs.iter().all(|(a, b)| a.has_rotmat() && b.has_rotmat());
    let mut per_joint: Vec<Vec<f64>> = vec![Vec::new(); SMPL_JOINTS.len()];
    let (mut mpjpe, mut betas, mut cam_t) = (Vec::new(), Vec::new(), Vec::new());
    let mut cam_t_relative = Vec::new();
    let mut keypoints_everywhere = true;
    for (a, b) in pairs {
        let (ra, rb) = (a.rotations(rotmat), b.rotations(rotmat));
        for (k, (x, y)) in ra.iter().zip(&rb).enumerate().take(SMPL_JOINTS.len()) {
            per_joint[k].push(Rotation::angle_between_deg(x, y));
        }
        match (&a.keypoints_3d, &b.keypoints_3d) {
            (Some(ka), Some(kb)) => mpjpe.extend(metrics::mpjpe(ka, kb).map(|m| m * 1000.0)),
            _ => keypoints_everywhere = false,
        }
        betas.push(metrics::max_abs_difference(&a.betas, &b.betas));
        let moved = metrics::distance3(&a.cam_t, &b.cam_t);
        cam_t.push(moved);
        cam_t_relative.push(moved / metrics::distance3(&a.cam_t, &[0.0; 3]));
    }
    let all: Vec<f64> = per_joint.iter().flatten().copied().collect();
    Some(SmplComparison {
        persons: pairs.len(),
        rotations_from: if rotmat { "rotmat" } else { "axis-angle" },
        rotation_deg: Distribution::of(&all)?,
        rotation_deg_per_joint: joint_names()
            .zip(&per_joint)
            .filter_map(|(joint, errors)| {
                let d = Distribution::of(errors)?;
                Some(JointError {
                    joint,
                    median: d.median,
                    max: d.max,
                })
            })
            .collect(),
        mpjpe_mm: keypoints_everywhere
            .then(|| Distribution::of(&mpjpe))
            .flatten(),
        betas_max_abs: Distribution::of(&betas)?,
        cam_t_m: Distribution::of(&cam_t)?,
        cam_t_relative: Distribution::of(&cam_t_relative)?,
    })
}

#[cfg(test)]
mod tests;
