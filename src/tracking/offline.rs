//! `--smooth offline`: each track's keypoints and world points, filtered over the whole
//! video with the zero-phase Butterworth ([`super::butterworth`]). A track's frames are
//! filtered in runs of consecutive frames; a gap (unfilled) splits the run, since
//! filtering across a jump would smear it. Visibility and presence are left as found.

use std::collections::BTreeMap;

use super::butterworth::Butterworth;
use crate::pose::{Person, NUM_LANDMARKS};

/// Where one person sits in the buffered video: frame position and person position.
pub type Slot = (usize, usize);

/// Smooths every track of `frames` (each frame's persons, consecutive frames) in place.
pub fn smooth_tracks(filter: &Butterworth, frames: &mut [&mut [Person]]) {
    let ids: Vec<Vec<u32>> = frames
        .iter()
        .map(|f| f.iter().map(|p| p.track_id).collect())
        .collect();
    for run in runs(&ids) {
        smooth_run(filter, frames, &run);
    }
}

/// Each track's runs of consecutive frames, from each frame's track IDs in order.
pub fn runs(ids: &[Vec<u32>]) -> Vec<Vec<Slot>> {
    let mut open: BTreeMap<u32, Vec<Slot>> = BTreeMap::new();
    let mut done = Vec::new();
    for (f, frame) in ids.iter().enumerate() {
        for (p, &id) in frame.iter().enumerate() {
            let run = open.entry(id).or_default();
            if run.last().is_some_and(|&(last, _)| last + 1 != f) {
                done.push(std::mem::take(run));
            }
            run.push((f, p));
        }
    }
    done.extend(open.into_values());
    done
}

fn smooth_run(filter: &Butterworth, frames: &mut [&mut [Person]], run: &[Slot]) {
    let mut series = vec![0.0f64; run.len()];
    for i in 0..NUM_LANDMARKS {
        for k in 0..3 {
            smooth_series(filter, frames, run, &mut series, |p| &mut p.keypoints[i][k]);
            smooth_series(filter, frames, run, &mut series, |p| &mut p.world[i][k]);
        }
    }
    for (f, p) in run {
        let person = &mut frames[*f][*p];
        person.bbox = crate::models::blazepose::landmarks::bounding_box(&person.keypoints);
    }
}

/// Filters one value of the person (or mesh) along the run.
pub fn smooth_series<T>(
    filter: &Butterworth,
    frames: &mut [&mut [T]],
    run: &[Slot],
    series: &mut [f64],
    value: impl Fn(&mut T) -> &mut f32,
) {
    for (s, (f, p)) in series.iter_mut().zip(run) {
        *s = *value(&mut frames[*f][*p]) as f64;
    }
    filter.filtfilt(series);
    for (s, (f, p)) in series.iter().zip(run) {
        *value(&mut frames[*f][*p]) = *s as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::testing::person_at;

    #[test]
    fn each_track_is_smoothed_on_its_own_and_runs_split_at_gaps() {
        let filter = Butterworth::low_pass(6.0, 30.0).unwrap();
        let mut frames: Vec<Vec<Person>> = (0..30)
            .map(|f| {
                let jitter = if f % 2 == 0 { 3.0 } else { -3.0 };
                let mut a = person_at(100.0 + jitter, 100.0);
                a.track_id = 1;
                let mut b = person_at(500.0, 100.0);
                b.track_id = 2;
                if f == 15 {
                    vec![a]
                } else {
                    vec![a, b]
                }
            })
            .collect();
        let mut views: Vec<&mut [Person]> = frames.iter_mut().map(|f| f.as_mut_slice()).collect();
        smooth_tracks(&filter, &mut views);
        // Track 1's zigzag is gone in the middle; track 2 (constant) is untouched.
        assert!((frames[10][0].keypoints[0][0] - 100.0).abs() < 0.05);
        assert!(frames.iter().all(
            |f| f
                .iter()
                .filter(|p| p.track_id == 2)
                .all(|p| (p.keypoints[0][0] - 500.0).abs() < 1e-3)
        ));
        let ids: Vec<Vec<u32>> = frames
            .iter()
            .map(|f| f.iter().map(|p| p.track_id).collect())
            .collect();
        assert_eq!(runs(&ids).len(), 3);
    }
}
