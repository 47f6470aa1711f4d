//! The person detector: `--person-detector movenet` finds both people of a real
//! two-person clip where BlazePose's own detector finds one, with the same landmark model
//! and output; the choice is recorded in the header.

use std::path::Path;

use serde_json::Value;

use crate::common::{read_jsonl, stderr, Sandbox};

const TWO_PEOPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/p2s_two_people.webm"
);

/// The result's lines for the two-person clip run with `detector` in `mode`.
fn run(sandbox: &Sandbox, detector: &str, mode: &str) -> Vec<Value> {
    let output = sandbox.path(&format!("{detector}.{mode}.jsonl"));
    let mut command = sandbox.posekit(&["process", TWO_PEOPLE, "--workers", "1"]);
    command
        .args(["--person-detector", detector, "--mode", mode, "-o"])
        .arg(&output);
    let out = command.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    read_jsonl(&output)
}

/// Per frame, the people whose box is at least a third of the frame's height.
fn big_people(lines: &[Value]) -> Vec<usize> {
    let height = lines[0]["source"]["height"].as_f64().unwrap();
    lines
        .iter()
        .filter(|l| l["type"] == "frame")
        .map(|f| {
            f["persons"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| {
                    p["bbox"][3].as_f64().unwrap() - p["bbox"][1].as_f64().unwrap() >= height / 3.0
                })
                .count()
        })
        .collect()
}

#[test]
fn movenet_finds_both_people_in_every_frame_in_both_modes() {
    let sandbox = Sandbox::new();
    for mode in ["video", "image"] {
        let lines = run(&sandbox, "movenet", mode);
        assert_eq!(big_people(&lines), vec![2; 12], "{mode} mode");
        let models: Vec<&str> = lines[0]["models"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap())
            .collect();
        assert_eq!(models[0], "movenet_multipose.onnx");
    }
}

#[test]
fn blazepose_stays_the_mediapipe_path_and_finds_fewer() {
    let sandbox = Sandbox::new();
    let blazepose: usize = big_people(&run(&sandbox, "blazepose", "image"))
        .iter()
        .filter(|n| **n >= 2)
        .count();
    assert!(
        blazepose < 12,
        "BlazePose's detector finds both people in only some frames"
    );
    let lines = read_jsonl(Path::new(&sandbox.path("blazepose.image.jsonl")));
    assert_eq!(lines[0]["models"][0]["name"], "pose_detection.onnx");
}

#[test]
fn the_lite_and_heavy_landmark_models_run_and_are_named() {
    let sandbox = Sandbox::new();
    for (model, file) in [
        ("lite", "pose_landmark_lite.onnx"),
        ("heavy", "pose_landmark_heavy.onnx"),
    ] {
        let output = sandbox.path(&format!("{model}.jsonl"));
        let mut command =
            sandbox.posekit(&["process", TWO_PEOPLE, "--workers", "1", "--max-frames", "4"]);
        command.args(["--landmark-model", model, "-o"]).arg(&output);
        let out = command.output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let lines = read_jsonl(&output);
        assert_eq!(lines[0]["models"][1]["name"], file);
        assert!(
            big_people(&lines).iter().all(|n| *n >= 1),
            "{model}: {:?}",
            big_people(&lines)
        );
    }
}

#[test]
fn a_detector_file_and_a_named_detector_are_one_choice_too_many() {
    let sandbox = Sandbox::new();
    let out = sandbox
        .posekit(&[
            "process",
            TWO_PEOPLE,
            "--person-detector",
            "movenet",
            "--detector",
            "x.onnx",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot be used with"),
        "{}",
        stderr(&out)
    );
}
