//! `posekit export`: each format against its golden files (from the committed result
//! `tests/data/export/small.poses.jsonl`: 12 frames of the clip with the small HMR2
//! proxy), the CSV read back to the result's numbers, TRC through a strict reader, AMASS
//! through numpy, and the refusals (foreign and partial files, existing outputs).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::{read_jsonl, stderr, stdout, Sandbox};

const SMALL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/export/small.poses.jsonl"
);
const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/export/golden");

/// Regenerate with: for f in csv openpose trc; do posekit export
/// tests/data/export/small.poses.jsonl --to $f -o tests/data/export/golden/...; done
/// (see tests/data/README.md), after checking the change is meant.
fn export(sandbox: &Sandbox, format: &str, out: &str, extra: &[&str]) -> (PathBuf, Value) {
    let dest = sandbox.path(out);
    let mut args = vec![
        "export",
        SMALL,
        "--to",
        format,
        "-o",
        dest.to_str().unwrap(),
        "--json",
    ];
    args.extend_from_slice(extra);
    let output = sandbox.run(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    (dest, report)
}

fn assert_same_file(made: &Path, golden: &Path) {
    let (a, b) = (std::fs::read(made).unwrap(), std::fs::read(golden).unwrap());
    assert!(
        a == b,
        "{} differs from the golden {}",
        made.display(),
        golden.display()
    );
}

#[test]
fn csv_matches_its_golden_file_and_reads_back_to_the_same_numbers() {
    let sandbox = Sandbox::new();
    let (csv, report) = export(&sandbox, "csv", "small.csv", &[]);
    assert_eq!(report["files"], 1);
    assert_same_file(&csv, &Path::new(GOLDEN).join("small.csv"));
    let mut reader = csv::Reader::from_path(&csv).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header.join(","),
        "frame,t,track_id,landmark,x,y,z,visibility,presence,wx,wy,wz"
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let mut expected = Vec::new();
    for line in read_jsonl(Path::new(SMALL)) {
        if line["type"] != "frame" {
            continue;
        }
        for person in line["persons"].as_array().unwrap() {
            for (i, (k, w)) in numbers(&person["keypoints"])
                .iter()
                .zip(numbers(&person["world"]))
                .enumerate()
            {
                expected.push((
                    line["frame"].as_u64().unwrap(),
                    line["t"].as_f64().unwrap(),
                    person["track_id"].as_u64().unwrap(),
                    i,
                    k.clone(),
                    w,
                ));
            }
        }
    }
    assert!(!expected.is_empty(), "the fixture has persons");
    assert_eq!(rows.len(), expected.len());
    for (row, (frame, t, id, i, k, w)) in rows.iter().zip(expected) {
        assert_eq!(row[0].parse::<u64>().unwrap(), frame);
        assert_eq!(row[1].parse::<f64>().unwrap(), t);
        assert_eq!(row[2].parse::<u64>().unwrap(), id);
        assert_eq!(&row[3], LANDMARKS[i]);
        let got: Vec<f32> = (4..12).map(|c| row[c].parse().unwrap()).collect();
        let want: Vec<f32> = k.iter().chain(&w).map(|v| *v as f32).collect();
        assert_eq!(got, want, "row {row:?}");
    }
}

/// A few names by index, enough to check the order is MediaPipe's.
const LANDMARKS: [&str; 33] = [
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
];

fn numbers(rows: &Value) -> Vec<Vec<f64>> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn openpose_folder_matches_its_golden_files_one_per_frame() {
    let sandbox = Sandbox::new();
    let (folder, report) = export(&sandbox, "openpose", "cam01_json", &[]);
    let golden = Path::new(GOLDEN).join("small_json");
    let mut names: Vec<String> = std::fs::read_dir(&golden)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 12, "one file per frame, persons or not");
    assert_eq!(report["files"], 12);
    assert_eq!(names[0], "small_000000000000_keypoints.json");
    for name in &names {
        assert_same_file(&folder.join(name), &golden.join(name));
    }
    let page: Value = serde_json::from_slice(
        &std::fs::read(folder.join("small_000000000010_keypoints.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(page["version"], 1.3);
    let person = &page["people"][0];
    assert_eq!(person["person_id"][0], 1);
    assert_eq!(
        person["pose_keypoints_2d"].as_array().unwrap().len(),
        33 * 3
    );
    assert_eq!(person["face_keypoints_2d"].as_array().unwrap().len(), 0);
    assert_eq!(sandbox.temporaries(), Vec::<String>::new());
}

/// A strict TRC reader: the header fields in order, the counts they state kept, every
/// row complete, the frames and times in order.
struct Trc {
    rate: f64,
    markers: Vec<String>,
    frames: Vec<u64>,
    rows: Vec<Vec<f64>>,
}

fn read_trc(text: &str) -> Trc {
    let lines: Vec<&str> = text.split('\n').collect();
    let first: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(&first[..3], ["PathFileType", "4", "(X/Y/Z)"]);
    assert_eq!(
        lines[1],
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames"
    );
    let values: Vec<&str> = lines[2].split('\t').collect();
    assert_eq!(values.len(), 8);
    let rate: f64 = values[0].parse().unwrap();
    let frames: usize = values[2].parse().unwrap();
    let markers: usize = values[3].parse().unwrap();
    assert_eq!(values[4], "m");
    let names: Vec<&str> = lines[3].split('\t').collect();
    assert_eq!(&names[..2], ["Frame#", "Time"]);
    assert_eq!(
        names.len(),
        2 + 3 * markers - 2,
        "each name heads three columns"
    );
    let marker_names: Vec<String> = names[2..]
        .iter()
        .step_by(3)
        .map(|s| s.to_string())
        .collect();
    assert!(names[2..]
        .iter()
        .enumerate()
        .all(|(i, n)| (i % 3 == 0) != n.is_empty()));
    let axes: Vec<&str> = lines[4].split('\t').collect();
    assert_eq!(axes.len(), 2 + 3 * markers);
    assert_eq!(axes[2 + 3 * (markers - 1)], format!("X{markers}"));
    assert_eq!(lines[5], "", "a blank line before the data");
    let data: Vec<&str> = lines[6..]
        .iter()
        .copied()
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(data.len(), frames, "NumFrames rows");
    let mut frame_numbers = Vec::new();
    let mut rows = Vec::new();
    for line in data {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 2 + 3 * markers, "a complete row: {line}");
        frame_numbers.push(fields[0].parse::<u64>().unwrap());
        rows.push(
            fields[1..]
                .iter()
                .map(|v| v.parse::<f64>().unwrap())
                .collect::<Vec<_>>(),
        );
    }
    assert!(frame_numbers.windows(2).all(|w| w[0] < w[1]));
    assert!(rows.windows(2).all(|w| w[0][0] < w[1][0]), "times increase");
    assert_eq!(values[6].parse::<u64>().unwrap(), frame_numbers[0]);
    Trc {
        rate,
        markers: marker_names,
        frames: frame_numbers,
        rows,
    }
}

#[test]
fn trc_per_track_reads_strictly_with_y_up_and_the_tracks_frames() {
    let sandbox = Sandbox::new();
    let (folder, report) = export(&sandbox, "trc", "trc", &[]);
    assert_eq!(report["files"], 1);
    let made = folder.join("small_track1.trc");
    assert_same_file(&made, &Path::new(GOLDEN).join("small_trc/small_track1.trc"));
    let trc = read_trc(&std::fs::read_to_string(&made).unwrap());
    assert_eq!(trc.rate, 30.0);
    assert_eq!(trc.markers.len(), 33);
    assert_eq!(trc.markers[0], "Nose");
    assert_eq!(trc.markers[25], "Lknee", "Pose2Sim 0.10.49's own spelling");
    assert_eq!(trc.markers[32], "RBigToe");
    let track_frames: Vec<u64> = read_jsonl(Path::new(SMALL))
        .iter()
        .filter(|l| l["type"] == "frame" && !l["persons"].as_array().unwrap().is_empty())
        .map(|l| l["frame"].as_u64().unwrap())
        .collect();
    assert_eq!(trc.frames, track_frames);
    for row in &trc.rows {
        let y = |marker: usize| row[1 + 3 * marker + 1];
        assert!(y(0) > y(27), "Y up: the nose above the left ankle");
    }
}

#[test]
fn amass_npz_is_read_by_numpy_when_available() {
    let python = std::env::var("POSEKIT_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = Command::new(&python).args(["-c", "import numpy"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: no python3 with numpy (set POSEKIT_TEST_PYTHON)");
        return;
    }
    let sandbox = Sandbox::new();
    let (folder, report) = export(&sandbox, "amass", "amass", &[]);
    assert_eq!(report["files"], 1);
    let script = "import numpy as np, sys, json\n\
                  z = np.load(sys.argv[1])\n\
                  print(json.dumps({k: (z[k].tolist() if z[k].dtype.kind != 'U' else str(z[k])) for k in z.files}))";
    let npz = folder.join("small_track1.npz");
    let out = Command::new(&python)
        .args(["-c", script, npz.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let z: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(z["gender"], "neutral");
    assert_eq!(z["mocap_framerate"], 30.0);
    let persons: Vec<(u64, Value)> = read_jsonl(Path::new(SMALL))
        .into_iter()
        .filter(|l| l["type"] == "frame")
        .filter_map(|l| {
            let frame = l["frame"].as_u64().unwrap();
            l["persons"][0].get("smpl").cloned().map(|s| (frame, s))
        })
        .collect();
    let frames: Vec<u64> = z["frame"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(frames, persons.iter().map(|p| p.0).collect::<Vec<_>>());
    let poses = z["poses"].as_array().unwrap();
    assert_eq!(z["betas"].as_array().unwrap().len(), 10);
    for (row, (_, smpl)) in poses.iter().zip(&persons) {
        let row: Vec<f64> = row
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(row.len(), 72);
        let mut want: Vec<f64> = smpl["global_orient"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        want.extend(numbers(&smpl["body_pose"]).concat());
        for (a, b) in row.iter().zip(&want) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }
    let trans0: Vec<f64> = z["trans"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let cam_t: Vec<f64> = persons[0].1["cam_t"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    // Both are f32 values; compare them as such (cam_t can be tens of metres).
    assert!(trans0
        .iter()
        .zip(&cam_t)
        .all(|(a, b)| *a as f32 == *b as f32));
}

#[test]
fn amass_needs_hmr2_results() {
    let sandbox = Sandbox::new();
    let plain = sandbox.path("plain.poses.jsonl");
    let text: String = std::fs::read_to_string(SMALL)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if let Some(persons) = v["persons"].as_array_mut() {
                persons.iter_mut().for_each(|p| {
                    p.as_object_mut().unwrap().remove("smpl");
                });
            }
            format!("{v}\n")
        })
        .collect();
    std::fs::write(&plain, text).unwrap();
    let out = sandbox.run(&["export", plain.to_str().unwrap(), "--to", "amass"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--hmr2"), "{}", stderr(&out));
    assert!(!sandbox.path("plain_amass").exists());
}

#[test]
fn foreign_and_partial_files_are_refused_partial_accepted_when_asked() {
    let sandbox = Sandbox::new();
    let foreign = sandbox.path("notes.jsonl");
    std::fs::write(&foreign, "{\"type\":\"header\",\"tool\":\"other\"}\n").unwrap();
    let out = sandbox.run(&["export", foreign.to_str().unwrap(), "--to", "csv"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not a posekit result"),
        "{}",
        stderr(&out)
    );
    let partial = sandbox.path("cut.poses.partial.jsonl");
    let text = std::fs::read_to_string(SMALL).unwrap();
    let without_summary: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("\"type\":\"summary\""))
        .collect();
    std::fs::write(&partial, without_summary.join("\n") + "\n").unwrap();
    let out = sandbox.run(&["export", partial.to_str().unwrap(), "--to", "csv"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--partial"), "{}", stderr(&out));
    assert!(!sandbox.path("cut.csv").exists());
    let out = sandbox.run(&[
        "export",
        partial.to_str().unwrap(),
        "--to",
        "csv",
        "--partial",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("warning"), "{}", stderr(&out));
    assert!(
        sandbox.path("cut.csv").exists(),
        "beside the result, named for the video"
    );
}

#[test]
fn existing_exports_are_kept_without_overwrite() {
    let sandbox = Sandbox::new();
    let mine = sandbox.path("mine.csv");
    std::fs::write(&mine, "my data\n").unwrap();
    let args = ["export", SMALL, "--to", "csv", "-o", mine.to_str().unwrap()];
    let out = sandbox.run(&args);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--overwrite"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "my data\n");
    let folder = sandbox.path("json");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("keep.txt"), "x").unwrap();
    let out = sandbox.run(&[
        "export",
        SMALL,
        "--to",
        "openpose",
        "-o",
        folder.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 1);
    let out = sandbox.run(&[
        "export",
        SMALL,
        "--to",
        "openpose",
        "-o",
        folder.to_str().unwrap(),
        "--overwrite",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_dir(&folder).unwrap().count(),
        13,
        "the user's file stays"
    );
    let out = sandbox.posekit(&args).arg("--overwrite").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read_to_string(&mine)
        .unwrap()
        .starts_with("frame,t,"));
    assert_eq!(sandbox.temporaries(), Vec::<String>::new());
}

#[test]
fn process_exports_beside_its_result_and_keeps_existing_exports() {
    let sandbox = Sandbox::new();
    sandbox.clip("walk.webm");
    let args = [
        "process",
        "walk.webm",
        "--max-frames",
        "12",
        "--out-dir",
        "results",
        "--export",
        "csv,openpose",
    ];
    let run = || {
        let out = sandbox
            .posekit(&args)
            .current_dir(sandbox.dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        out
    };
    run();
    let out_dir = sandbox.path("results");
    let csv = out_dir.join("walk.csv");
    assert!(csv.is_file(), "the csv beside the result under --out-dir");
    assert_eq!(
        std::fs::read_dir(out_dir.join("walk_json"))
            .unwrap()
            .count(),
        12
    );
    std::fs::write(&csv, "mine\n").unwrap();
    let out = run();
    assert!(
        stderr(&out).contains("kept the existing csv export"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), "mine\n");
}

#[test]
fn process_export_amass_needs_hmr2() {
    let sandbox = Sandbox::new();
    let clip = sandbox.clip("walk.webm");
    let out = sandbox.run(&["process", clip.to_str().unwrap(), "--export", "amass"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--hmr2"), "{}", stderr(&out));
}

#[test]
fn bvh_needs_a_model_and_reads_one_numpy_wrote() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(&["export", SMALL, "--to", "bvh"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--smpl-model"), "{}", stderr(&out));
    let python = std::env::var("POSEKIT_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = Command::new(&python).args(["-c", "import numpy"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: no python3 with numpy (set POSEKIT_TEST_PYTHON) to write a model");
        return;
    }
    // A random model with SMPL's structure, saved as scripts/smpl_pkl_to_npz.py saves
    // the real one (the root's parent as the official files have it: 2**32 - 1).
    let model = sandbox.path("model.npz");
    let script = "import numpy as np, sys\n\
                  r = np.random.default_rng(1); n = 50\n\
                  p = [4294967295, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]\n\
                  j = np.abs(r.normal(size=(24, n))); j /= j.sum(1, keepdims=True)\n\
                  np.savez(sys.argv[1], v_template=r.normal(size=(n, 3)), shapedirs=0.01 * r.normal(size=(n, 3, 10)),\n\
                           J_regressor=j, kintree_table=np.array([p, list(range(24))], dtype=np.int64))";
    let made = Command::new(&python)
        .args(["-c", script, model.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    let (folder, report) = export(
        &sandbox,
        "bvh",
        "bvh",
        &["--smpl-model", model.to_str().unwrap()],
    );
    assert_eq!(report["files"], 1);
    let text = std::fs::read_to_string(folder.join("small_track1.bvh")).unwrap();
    assert!(
        text.starts_with("HIERARCHY\nROOT pelvis\n"),
        "{}",
        &text[..80]
    );
    assert_eq!(text.matches("JOINT ").count(), 23);
    assert!(text.contains("MOTION\nFrames: 6\nFrame Time: 0.03333333\n"));
    let motion: Vec<&str> = text
        .split("Frame Time: 0.03333333\n")
        .nth(1)
        .unwrap()
        .lines()
        .collect();
    assert_eq!(motion.len(), 6);
    assert!(motion.iter().all(|l| l.split(' ').count() == 3 + 3 * 24));
}
