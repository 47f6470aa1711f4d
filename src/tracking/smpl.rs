//! HMR2's SMPL parameters over time, per track: the 24 joint rotations smoothed in
//! rotation space ([`super::rotation`]: quaternions with sign continuity, renormalised),
//! the translation `cam_t` component by component, and with `--shape per-track` one body
//! shape per person (the median of each of its `betas` over the track).
//!
//! Causal smoothing uses the one-euro filter with the settings MediaPipe gives its world
//! landmarks (`min_cutoff 0.1, beta 40, derivate_cutoff 1`, no value scaling): quaternion
//! components and hip-centred metres move on like scales (a unit quaternion's components
//! change by about half the angle turned, in radians). That is posekit's choice;
//! MediaPipe has no SMPL. Offline smoothing is the same zero-phase Butterworth as the
//! landmarks'. `keypoints_3d` and `vertices` are the model's own, unsmoothed: posekit has
//! no SMPL layer to pose the mesh again.

use std::collections::BTreeMap;

use super::butterworth::Butterworth;
use super::offline::{runs, smooth_series, Slot};
use super::rotation::{aligned, continuous, from_matrix, normalised, to_matrix, Quat};
use crate::models::blazepose::filter::OneEuro;
use crate::models::hmr2::config::NUM_BETAS;
use crate::models::hmr2::{RotMat, Smpl};

const FREQUENCY: f64 = 30.0;
const MIN_CUTOFF: f64 = 0.1;
const BETA: f64 = 40.0;
const DERIVATE_CUTOFF: f64 = 1.0;

fn one_euro() -> OneEuro {
    OneEuro::new(FREQUENCY, MIN_CUTOFF, BETA, DERIVATE_CUTOFF)
}

/// One rotation's causal filter.
struct RotationFilter {
    components: [OneEuro; 4],
    /// The last quaternion fed in, for sign continuity.
    last: Option<Quat>,
}

impl RotationFilter {
    fn new() -> Self {
        RotationFilter {
            components: std::array::from_fn(|_| one_euro()),
            last: None,
        }
    }

    fn apply(&mut self, time_ns: i64, m: &mut RotMat) {
        let q = from_matrix(m);
        let q = match self.last {
            Some(last) => aligned(q, last),
            None => q,
        };
        self.last = Some(q);
        let mut out = [0.0; 4];
        for (o, (f, v)) in out.iter_mut().zip(self.components.iter_mut().zip(q)) {
            *o = f.apply(time_ns, 1.0, v);
        }
        *m = to_matrix(normalised(out));
    }
}

/// One track's causal filters: the root, 23 body joints, and `cam_t`.
struct TrackFilters {
    last_frame: u64,
    rotations: Vec<RotationFilter>,
    cam_t: [OneEuro; 3],
}

impl TrackFilters {
    fn new(frame: u64, joints: usize) -> Self {
        TrackFilters {
            last_frame: frame,
            rotations: (0..=joints).map(|_| RotationFilter::new()).collect(),
            cam_t: std::array::from_fn(|_| one_euro()),
        }
    }

    fn apply(&mut self, time_ns: i64, smpl: &mut Smpl) {
        let (root, joints) = self.rotations.split_first_mut().expect("the root filter");
        root.apply(time_ns, &mut smpl.global_orient);
        for (f, m) in joints.iter_mut().zip(&mut smpl.body_pose) {
            f.apply(time_ns, m);
        }
        for (f, v) in self.cam_t.iter_mut().zip(&mut smpl.cam_t) {
            *v = f.apply(time_ns, 1.0, *v as f64) as f32;
        }
    }
}

/// `--smooth causal` for meshes, per track; like the landmarks' filters, a track's start
/// afresh after a frame it is missing from.
#[derive(Default)]
pub struct CausalSmplSmoother {
    tracks: BTreeMap<u32, TrackFilters>,
}

impl CausalSmplSmoother {
    /// Smooths frame `frame`'s meshes; `ids[i]` is the track of `smpl[i]`.
    pub fn apply(&mut self, frame: u64, time_ns: i64, ids: &[u32], smpl: &mut [Smpl]) {
        self.tracks.retain(|_, f| f.last_frame + 1 >= frame);
        for (&id, s) in ids.iter().zip(smpl.iter_mut()) {
            let filters = self
                .tracks
                .entry(id)
                .or_insert_with(|| TrackFilters::new(frame, s.body_pose.len()));
            filters.last_frame = frame;
            filters.apply(time_ns, s);
        }
    }
}

/// `--smooth offline` for meshes: each track's runs of consecutive frames filtered both
/// ways. `ids[f][i]` is the track of `frames[f][i]`.
pub fn smooth_offline(filter: &Butterworth, ids: &[Vec<u32>], frames: &mut [&mut [Smpl]]) {
    for run in runs(ids) {
        let mut series = vec![0.0f64; run.len()];
        for k in 0..3 {
            smooth_series(filter, frames, &run, &mut series, |s| &mut s.cam_t[k]);
        }
        smooth_rotations(filter, frames, &run, |s| &mut s.global_orient);
        let joints = frames[run[0].0][run[0].1].body_pose.len();
        for j in 0..joints {
            smooth_rotations(filter, frames, &run, |s| &mut s.body_pose[j]);
        }
    }
}

fn smooth_rotations(
    filter: &Butterworth,
    frames: &mut [&mut [Smpl]],
    run: &[Slot],
    rotation: impl Fn(&mut Smpl) -> &mut RotMat,
) {
    let mut quats = continuous(run.iter().map(|&(f, p)| *rotation(&mut frames[f][p])));
    let mut series = vec![0.0f64; run.len()];
    for k in 0..4 {
        for (s, q) in series.iter_mut().zip(&quats) {
            *s = q[k];
        }
        filter.filtfilt(&mut series);
        for (q, s) in quats.iter_mut().zip(&series) {
            q[k] = *s;
        }
    }
    for (q, &(f, p)) in quats.into_iter().zip(run) {
        *rotation(&mut frames[f][p]) = to_matrix(q);
    }
}

/// `--shape per-track`: every mesh of a track gets the track's median of each shape
/// coefficient (one person, one body; the median ignores the odd bad crop).
pub fn shape_per_track(ids: &[Vec<u32>], frames: &mut [&mut [Smpl]]) {
    let mut by_track: BTreeMap<u32, Vec<[f32; NUM_BETAS]>> = BTreeMap::new();
    for (frame_ids, smpl) in ids.iter().zip(frames.iter()) {
        for (id, s) in frame_ids.iter().zip(smpl.iter()) {
            by_track.entry(*id).or_default().push(s.betas);
        }
    }
    let medians: BTreeMap<u32, [f32; NUM_BETAS]> = by_track
        .into_iter()
        .map(|(id, all)| {
            (
                id,
                std::array::from_fn(|k| median(all.iter().map(|b| b[k]))),
            )
        })
        .collect();
    for (frame_ids, smpl) in ids.iter().zip(frames.iter_mut()) {
        for (id, s) in frame_ids.iter().zip(smpl.iter_mut()) {
            s.betas = medians[id];
        }
    }
}

fn median(values: impl Iterator<Item = f32>) -> f32 {
    let mut v: Vec<f32> = values.collect();
    v.sort_by(f32::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::hmr2::pre::CropBox;
    use crate::tracking::rotation::tests::about_z;

    fn smpl(root_degrees: f64, cam_x: f32, beta0: f32) -> Smpl {
        Smpl {
            crop: CropBox {
                center: [0.0, 0.0],
                size: 1.0,
            },
            global_orient: about_z(root_degrees),
            body_pose: vec![about_z(0.0); 23],
            betas: [beta0; NUM_BETAS],
            pred_cam: [1.0, 0.0, 0.0],
            cam_t: [cam_x, 0.0, 10.0],
            focal_length: 5000.0,
            keypoints_3d: None,
            vertices: None,
        }
    }

    /// The rotation angle about z of a matrix that turns only about z, in degrees.
    fn angle(m: &RotMat) -> f64 {
        (m[1][0] as f64).atan2(m[0][0] as f64).to_degrees()
    }

    #[test]
    fn offline_rotations_stay_half_turns_across_the_wrap_around() {
        // The root jitters around 180° about z: +179, -179, +179, ... (2° apart as rotations).
        let filter = Butterworth::low_pass(6.0, 30.0).unwrap();
        let mut frames: Vec<Vec<Smpl>> = (0..30)
            .map(|f| vec![smpl(if f % 2 == 0 { 179.0 } else { -179.0 }, 0.0, 0.0)])
            .collect();
        let ids = vec![vec![1u32]; 30];
        let mut views: Vec<&mut [Smpl]> = frames.iter_mut().map(|f| f.as_mut_slice()).collect();
        smooth_offline(&filter, &ids, &mut views);
        for f in &frames[5..25] {
            // Component-wise axis-angle smoothing would give about 0° here.
            assert!(
                angle(&f[0].global_orient).abs() > 179.5,
                "{}",
                angle(&f[0].global_orient)
            );
        }
    }

    #[test]
    fn causal_rotations_follow_a_turn_in_rotation_space() {
        let mut smoother = CausalSmplSmoother::default();
        let mut out = Vec::new();
        for f in 0..10u64 {
            // Turning 2° a frame through the wrap-around: 172, 174, ... 190 (= -170).
            let mut s = [smpl(172.0 + 2.0 * f as f64, 1.0, 0.0)];
            smoother.apply(f, (f as i64 + 1) * 33_333_000, &[7], &mut s);
            out.push(angle(&s[0].global_orient));
        }
        assert_eq!(out[0].round(), 172.0);
        // It lags a little behind but crosses 180° without swinging through 0°.
        assert!(out.iter().all(|a| a.abs() > 170.0), "{out:?}");
        assert!(out[9] < 0.0, "past the wrap-around by the end: {out:?}");
    }

    #[test]
    fn cam_t_is_smoothed_and_shape_is_one_per_track() {
        let filter = Butterworth::low_pass(6.0, 30.0).unwrap();
        let mut frames: Vec<Vec<Smpl>> = (0..20)
            .map(|f| {
                let jitter = if f % 2 == 0 { 0.1 } else { -0.1 };
                vec![smpl(0.0, jitter, f as f32), smpl(0.0, 5.0, 100.0)]
            })
            .collect();
        let ids = vec![vec![1u32, 2]; 20];
        let mut views: Vec<&mut [Smpl]> = frames.iter_mut().map(|f| f.as_mut_slice()).collect();
        smooth_offline(&filter, &ids, &mut views);
        shape_per_track(&ids, &mut views);
        assert!(
            frames[10][0].cam_t[0].abs() < 0.01,
            "{:?}",
            frames[10][0].cam_t
        );
        // Track 1's betas ran 0..19: the median is 9.5; track 2 kept its 100.
        assert!(frames
            .iter()
            .all(|f| f[0].betas[0] == 9.5 && f[1].betas[3] == 100.0));
    }
}
