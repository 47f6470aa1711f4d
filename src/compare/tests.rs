//! Matching and the SMPL comparison on hand-made records.

use std::path::Path;

use super::read::parse;
use super::*;

/// A frame line with one person per (x offset, root rotation about z in radians).
fn frame(index: u64, persons: &[(f32, f32)]) -> String {
    let persons: Vec<serde_json::Value> = persons
        .iter()
        .map(|&(dx, angle)| {
            let keypoints: Vec<[f32; 5]> = (0..33)
                .map(|k| [dx + k as f32, 2.0 * k as f32, 0.0, 1.0, 1.0])
                .collect();
            serde_json::json!({
                "bbox": [0, 0, 1, 1], "score": 1.0, "keypoints": keypoints,
                "world": vec![[0.0; 3]; 33],
                "smpl": {
                    "global_orient": [0.0, 0.0, angle],
                    "body_pose": vec![[0.0; 3]; 23],
                    "betas": vec![angle; 10],
                    "pred_cam": [1.0, 0.0, 0.0],
                    "cam_t": [0.0, 0.0, 10.0 + angle],
                    "focal_length": 100.0, "box_center": [0, 0], "box_size": 1.0,
                    "keypoints_3d": vec![[angle, 0.0, 0.0]; 44],
                }
            })
        })
        .collect();
    serde_json::json!({"type": "frame", "frame": index, "t": 0.0, "persons": persons}).to_string()
}

fn file(frames: &[String]) -> ResultFile {
    let mut text = String::from("{\"type\":\"header\",\"posekit\":\"0.1.0\"}\n");
    for f in frames {
        text.push_str(f);
        text.push('\n');
    }
    parse(text.as_bytes(), Path::new("x.jsonl")).unwrap()
}

#[test]
fn persons_are_paired_by_landmarks_whatever_their_order() {
    let a = file(&[frame(0, &[(0.0, 0.0), (500.0, 0.0)])]);
    let b = file(&[frame(0, &[(500.0, 0.0), (1.0, 0.0)])]);
    let pairs = match_persons(&a.frames[&0], &b.frames[&0]);
    assert_eq!(pairs.len(), 2);
    assert!(pairs.iter().any(|&(i, j, _)| i == 0 && j == 1));
    assert!(pairs.iter().any(|&(i, j, d)| i == 1 && j == 0 && d == 0.0));
}

#[test]
fn identical_files_differ_by_nothing() {
    let frames = [frame(0, &[(0.0, 0.3)]), frame(1, &[(5.0, 0.1)])];
    let c = compare(&file(&frames), &file(&frames));
    assert_eq!((c.frames_compared, c.persons_matched), (2, 2));
    assert_eq!(c.landmarks.unwrap().max, 0.0);
    let s = c.smpl.unwrap();
    assert!(s.rotation_deg.max < 1e-3, "{:?}", s.rotation_deg);
    assert_eq!(s.mpjpe_mm.unwrap().max, 0.0);
    assert_eq!(s.rotations_from, "axis-angle");
}

#[test]
fn smpl_differences_are_measured_in_their_units() {
    // B's root turns 0.1 rad further about z: 5.73° at the root, 0 elsewhere; betas
    // and cam_t move by 0.1; keypoints by 0.1 m = 100 mm.
    let a = file(&[frame(0, &[(0.0, 0.2)])]);
    let b = file(&[frame(0, &[(0.0, 0.3)])]);
    let s = compare(&a, &b).smpl.unwrap();
    let root = &s.rotation_deg_per_joint[0];
    assert_eq!(root.joint, "global_orient");
    assert!((root.median - 0.1f64.to_degrees()).abs() < 1e-3, "{root:?}");
    assert!(s.rotation_deg_per_joint[1].max < 1e-6);
    assert!((s.betas_max_abs.max - 0.1).abs() < 1e-6);
    assert!((s.cam_t_m.max - 0.1).abs() < 1e-5);
    assert!((s.cam_t_relative.max - 0.1 / 10.2).abs() < 1e-5);
    assert!((s.mpjpe_mm.unwrap().max - 100.0).abs() < 1e-3);
}

#[test]
fn frames_only_in_one_file_are_not_compared() {
    let a = file(&[frame(0, &[(0.0, 0.0)]), frame(1, &[(0.0, 0.0)])]);
    let b = file(&[frame(1, &[(0.0, 0.0)]), frame(2, &[])]);
    let c = compare(&a, &b);
    assert_eq!((c.frames_a, c.frames_b, c.frames_compared), (2, 2, 1));
}

#[test]
fn a_file_that_is_not_posekit_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.jsonl");
    std::fs::write(&path, "{\"type\":\"frame\"}\n").unwrap();
    let err = read::read(&path).unwrap_err().to_string();
    assert!(err.contains("is not a posekit result"), "{err}");
    let err = read::read(&dir.path().join("missing.jsonl"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot read"), "{err}");
}
