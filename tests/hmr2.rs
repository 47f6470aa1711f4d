//! `posekit process --hmr2` end to end with the small random-weight HMR2 proxy
//! (`tests/data/hmr2/hmr2_small.onnx`, made by `scripts/make_hmr2_proxy.py --small`):
//! the output schema, the .npz, models that break the contract, and meshes over time.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::{posekit, read_jsonl, stderr, CLIP, HMR2_SMALL as SMALL};

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .flat_map(|x| match x.as_array() {
            Some(_) => floats(x),
            None => vec![x.as_f64().expect("a number")],
        })
        .collect()
}

/// A run with the frame's own HMR2 output (`--smooth none`), so the checks can recompute
/// `cam_t` and the crop from that frame's numbers; `extra` may override it.
fn process(dir: &Path, extra: &[&str]) -> Vec<Value> {
    let output = dir.join("clip.poses.jsonl");
    let mut args = vec![
        "process",
        CLIP,
        "-o",
        output.to_str().unwrap(),
        "--hmr2",
        SMALL,
    ];
    if !extra.contains(&"--smooth") {
        args.extend(["--smooth", "none"]);
    }
    args.extend_from_slice(extra);
    let out = posekit(&args).run();
    assert!(out.status.success(), "posekit failed: {}", stderr(&out));
    read_jsonl(&output)
}

/// Checks one person's `smpl` block; returns it.
fn check_smpl(person: &Value, width: f64, height: f64, rotmat: bool) -> &Value {
    let s = &person["smpl"];
    assert_eq!(floats(&s["global_orient"]).len(), 3);
    assert_eq!(s["body_pose"].as_array().unwrap().len(), 23);
    assert_eq!(floats(&s["body_pose"]).len(), 69);
    // Axis-angle of a rotation: the angle (the norm) is at most π.
    for j in s["body_pose"].as_array().unwrap() {
        let n = floats(j).iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!(n <= std::f64::consts::PI + 1e-4, "angle {n}");
    }
    assert_eq!(floats(&s["betas"]).len(), 10);
    assert_eq!(floats(&s["pred_cam"]).len(), 3);
    assert_eq!(floats(&s["keypoints_3d"]).len(), 44 * 3);
    let focal = s["focal_length"].as_f64().unwrap();
    assert!(
        (focal - 5000.0 / 256.0 * width.max(height)).abs() < 0.1,
        "{focal}"
    );
    // cam_t from pred_cam and the box, recomputed here (cam_crop_to_full).
    let cam = floats(&s["pred_cam"]);
    let c = floats(&s["box_center"]);
    let size = s["box_size"].as_f64().unwrap();
    let bs = size * cam[0] + 1e-9;
    let t = floats(&s["cam_t"]);
    let want = [
        2.0 * (c[0] - width / 2.0) / bs + cam[1],
        2.0 * (c[1] - height / 2.0) / bs + cam[2],
        2.0 * focal / bs,
    ];
    for i in 0..3 {
        assert!(
            (t[i] - want[i]).abs() < 1e-3 * want[i].abs().max(1.0),
            "{t:?} vs {want:?}"
        );
    }
    // The crop square is the keypoint box × 1.2, grown to 3:4, squared.
    let b = floats(&person["bbox"]);
    let (w, h) = (1.2 * (b[2] - b[0]), 1.2 * (b[3] - b[1]));
    assert!(
        (size - h.max(w * 4.0 / 3.0)).abs() < 1e-2,
        "{size} from {b:?}"
    );
    assert_eq!(s.get("vertices"), None, "vertices go only to the .npz");
    assert_eq!(s.get("body_pose_rotmat").is_some(), rotmat);
    if rotmat {
        assert_eq!(floats(&s["body_pose_rotmat"]).len(), 23 * 9);
        assert_eq!(floats(&s["global_orient_rotmat"]).len(), 9);
    }
    s
}

#[test]
fn small_proxy_end_to_end_with_npz() {
    let dir = tempfile::tempdir().unwrap();
    let npz = dir.path().join("clip.smpl.npz");
    let lines = process(
        dir.path(),
        &[
            "--max-frames",
            "20",
            "--workers",
            "2",
            "--rotmat",
            "--npz",
            npz.to_str().unwrap(),
        ],
    );
    let header = &lines[0];
    let models: Vec<&str> = header["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(models.last(), Some(&"hmr2_small.onnx"));
    assert_eq!(header["settings"]["hmr2_weights"], "shared");
    let (w, h) = (
        header["source"]["width"].as_f64().unwrap(),
        header["source"]["height"].as_f64().unwrap(),
    );
    let frames = &lines[1..lines.len() - 1];
    assert_eq!(frames.len(), 20);
    let mut persons = 0;
    for frame in frames {
        for p in frame["persons"].as_array().unwrap() {
            check_smpl(p, w, h, true);
            persons += 1;
        }
    }
    assert!(persons >= 8, "people in most frames ({persons})");
    let summary = lines.last().unwrap();
    assert!(summary["stages"]["hmr2_s"].as_f64().unwrap() > 0.0);

    // The .npz: a zip of .npy files, one row per person, vertices included.
    let bytes = std::fs::read(&npz).expect("the .npz is written");
    assert_eq!(&bytes[..4], b"PK\x03\x04");
    let text = String::from_utf8_lossy(&bytes);
    for name in [
        "frame.npy",
        "track_id.npy",
        "betas.npy",
        "cam_t.npy",
        "keypoints_3d.npy",
    ] {
        assert!(text.contains(name), "{name} in the archive");
    }
    assert!(
        text.contains(&format!("'shape': ({persons}, 6890, 3)")),
        "vertices for every person"
    );
    assert!(text.contains(&format!("'shape': ({persons}, 23, 3, 3)")));
}

#[test]
fn numpy_reads_the_npz_when_available() {
    // numpy is not a build requirement; this check runs where a Python with numpy is
    // (POSEKIT_TEST_PYTHON, else python3).
    let python = std::env::var("POSEKIT_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = Command::new(&python).args(["-c", "import numpy"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: no python3 with numpy");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let npz = dir.path().join("r.npz");
    let lines = process(
        dir.path(),
        &["--max-frames", "10", "--npz", npz.to_str().unwrap()],
    );
    let first = lines[1..lines.len() - 1]
        .iter()
        .flat_map(|f| f["persons"].as_array().unwrap())
        .next()
        .expect("a person in the first frames");
    let script = "import numpy as np, sys, json\n\
                  z = np.load(sys.argv[1])\n\
                  print(json.dumps({'betas': z['betas'][0].tolist(), 'rows': len(z['frame']),\n\
                                    'track_id': int(z['track_id'][0])}))";
    let out = Command::new(&python)
        .args(["-c", script, npz.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["track_id"], first["track_id"],
        "the .npz rows carry the JSON's IDs"
    );
    let (a, b) = (floats(&v["betas"]), floats(&first["smpl"]["betas"]));
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-5);
    }
}

#[test]
fn meshes_follow_their_track_smoothed_and_with_one_shape() {
    let dir = tempfile::tempdir().unwrap();
    let extra = ["--max-frames", "30", "--workers", "2", "--rotmat"];
    let raw = process(dir.path(), &extra);
    let shaped = [&extra[..], &["--smooth", "offline", "--shape", "per-track"]].concat();
    let smooth = process(dir.path(), &shaped);
    assert_eq!(smooth[0]["settings"]["shape"], "per-track");
    let persons = |lines: &[Value]| -> Vec<Value> {
        lines[1..lines.len() - 1]
            .iter()
            .flat_map(|f| f["persons"].as_array().unwrap().clone())
            .collect()
    };
    let (raw, smooth) = (persons(&raw), persons(&smooth));
    assert_eq!(raw.len(), smooth.len());
    let mut shapes: std::collections::BTreeMap<u64, Vec<f64>> = Default::default();
    let mut changed = false;
    for (r, s) in raw.iter().zip(&smooth) {
        assert_eq!(
            r["track_id"], s["track_id"],
            "the mesh stays with its person"
        );
        let betas = floats(&s["smpl"]["betas"]);
        let id = s["track_id"].as_u64().unwrap();
        assert_eq!(
            shapes.entry(id).or_insert_with(|| betas.clone()),
            &betas,
            "one shape"
        );
        // Still proper rotations: orthonormal rows, angles within π.
        let m = floats(&s["smpl"]["global_orient_rotmat"]);
        for i in 0..3 {
            let row_norm: f64 = (0..3).map(|k| m[3 * i + k] * m[3 * i + k]).sum();
            assert!((row_norm - 1.0).abs() < 1e-4, "{m:?}");
        }
        changed |= floats(&r["smpl"]["global_orient"]) != floats(&s["smpl"]["global_orient"]);
    }
    assert!(changed, "the rotations were smoothed");
}

#[test]
fn without_rotmat_only_axis_angle() {
    let dir = tempfile::tempdir().unwrap();
    let lines = process(dir.path(), &["--max-frames", "10", "--workers", "1"]);
    let person = lines[1..lines.len() - 1]
        .iter()
        .flat_map(|f| f["persons"].as_array().unwrap())
        .next()
        .expect("a person");
    check_smpl(person, 1768.0, 994.0, false);
}

#[test]
fn a_model_that_breaks_the_contract_is_rejected_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("r.jsonl");
    // BlazePose's landmark model is a valid ONNX file, but NHWC with other outputs.
    let out = posekit(&[
        "process",
        CLIP,
        "-o",
        out_path.to_str().unwrap(),
        "--hmr2",
        "models/pose_landmark_full.onnx",
    ])
    .run();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("pose_landmark_full.onnx"), "{err}");
    assert!(err.contains("is not an HMR2 model"), "{err}");
    assert!(err.contains("\"img\" [batch, 3, 256, 256]"), "{err}");
    assert!(err.contains("docs/hmr2-onnx.md"), "{err}");
    assert!(!out_path.exists(), "nothing written");
}

#[test]
fn a_missing_or_non_onnx_model_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = posekit(&["process", CLIP, "--hmr2", "no/such/hmr2.onnx"]).run();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no/such/hmr2.onnx"),
        "{}",
        stderr(&out)
    );
    let junk = dir.path().join("junk.onnx");
    std::fs::write(&junk, b"not a model").unwrap();
    let out_path = dir.path().join("r.jsonl");
    let out = posekit(&[
        "process",
        CLIP,
        "-o",
        out_path.to_str().unwrap(),
        "--hmr2",
        junk.to_str().unwrap(),
    ])
    .run();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("junk.onnx"), "{}", stderr(&out));
}

#[test]
fn npz_and_rotmat_need_hmr2() {
    let out = posekit(&["process", CLIP, "--rotmat"]).run();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--hmr2"), "{}", stderr(&out));
}
