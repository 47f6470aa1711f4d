//! `posekit process` run as a user runs it: on a real clip, and on every kind of bad input.

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use serde_json::Value;

use crate::common::{posekit, read_jsonl, signal, spawn, stderr, wait_or_kill, Sandbox, CLIP};

fn process_clip(mode: &str, extra: &[&str]) -> (Vec<Value>, Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("clip.poses.jsonl");
    let mut args = vec![
        "process",
        CLIP,
        "-o",
        output.to_str().unwrap(),
        "--mode",
        mode,
    ];
    args.extend_from_slice(extra);
    let out = posekit(&args).run();
    assert!(out.status.success(), "posekit failed: {}", stderr(&out));
    (read_jsonl(&output), out, dir)
}

/// Checks the file's structure and that the poses make sense; returns frames with a person.
fn check_result(lines: &[Value]) -> usize {
    let header = &lines[0];
    assert_eq!(header["type"], "header");
    assert_eq!(header["posekit"], env!("CARGO_PKG_VERSION"));
    let (width, height) = (
        header["source"]["width"].as_f64().unwrap(),
        header["source"]["height"].as_f64().unwrap(),
    );
    assert_eq!(header["models"].as_array().unwrap().len(), 2);
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary");
    let frames = &lines[1..lines.len() - 1];
    assert_eq!(summary["frames"].as_u64().unwrap(), frames.len() as u64);
    let mut with_person = 0;
    for (i, frame) in frames.iter().enumerate() {
        assert_eq!(frame["type"], "frame");
        assert_eq!(
            frame["frame"].as_u64().unwrap(),
            i as u64,
            "frames in order"
        );
        let persons = frame["persons"].as_array().unwrap();
        with_person += usize::from(!persons.is_empty());
        for person in persons {
            check_person(person, width, height);
        }
    }
    assert_eq!(
        summary["frames_with_person"].as_u64().unwrap(),
        with_person as u64
    );
    with_person
}

fn check_person(person: &Value, width: f64, height: f64) {
    let b: Vec<f64> = person["bbox"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(b[0] < b[2] && b[1] < b[3], "box {b:?}");
    let keypoints = person["keypoints"].as_array().unwrap();
    assert_eq!(keypoints.len(), 33);
    assert_eq!(person["world"].as_array().unwrap().len(), 33);
    let score = person["score"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&score));
    let margin = 0.25 * width.max(height);
    for k in keypoints {
        let (x, y) = (k[0].as_f64().unwrap(), k[1].as_f64().unwrap());
        // Landmarks may sit a little outside the frame (a foot cut by the border), never far.
        assert!(x > -margin && x < width + margin && y > -margin && y < height + margin);
        assert!(x >= b[0] - 1e-3 && x <= b[2] + 1e-3 && y >= b[1] - 1e-3 && y <= b[3] + 1e-3);
        for p in [k[3].as_f64().unwrap(), k[4].as_f64().unwrap()] {
            assert!(
                (0.0..=1.0).contains(&p),
                "visibility and presence are probabilities"
            );
        }
    }
}

#[test]
fn video_mode_finds_people_in_most_frames_of_a_real_clip() {
    let (lines, _, _dir) = process_clip("video", &["--workers", "2"]);
    let frames = lines.len() - 2;
    let with_person = check_result(&lines);
    assert!(frames >= 30, "clip has {frames} frames");
    // The clip starts cold on a backlit person: the detector, like MediaPipe's, needs a
    // few frames to find them; from then on tracking keeps them in every frame.
    assert!(
        with_person * 100 >= frames * 85,
        "a person in {with_person} of {frames} frames"
    );
}

#[test]
fn image_mode_runs_the_detector_on_every_frame() {
    let (lines, _, _dir) = process_clip("image", &["--workers", "2"]);
    let with_person = check_result(&lines);
    assert!(with_person > 0, "image mode found nobody");
    assert_eq!(lines[0]["settings"]["mode"], "image");
}

#[test]
fn results_do_not_depend_on_the_worker_count_in_image_mode() {
    let (one, _, _d1) = process_clip("image", &["--workers", "1"]);
    let (two, _, _d2) = process_clip("image", &["--workers", "2"]);
    assert_eq!(one.len(), two.len());
    for (a, b) in one[1..one.len() - 1].iter().zip(&two[1..two.len() - 1]) {
        assert_eq!(a["persons"], b["persons"], "frame {}", a["frame"]);
    }
}

#[test]
fn video_mode_with_several_workers_is_repeatable() {
    // Workers hand tracks over through frame t-1 exactly, never "whatever is newest",
    // so thread timing cannot change the result.
    let (a, _, _d1) = process_clip("video", &["--workers", "2"]);
    let (b, _, _d2) = process_clip("video", &["--workers", "2"]);
    for (x, y) in a[1..a.len() - 1].iter().zip(&b[1..b.len() - 1]) {
        assert_eq!(x["persons"], y["persons"], "frame {}", x["frame"]);
    }
}

#[test]
fn json_flag_prints_the_summary_on_stdout() {
    let (_, out, _dir) = process_clip("video", &["--json", "--max-people", "1"]);
    let value: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    assert_eq!(value["summary"]["type"], "summary");
    assert!(value["summary"]["frames"].as_u64().unwrap() > 0);
    assert!(value["output"]
        .as_str()
        .unwrap()
        .ends_with("clip.poses.jsonl"));
}

#[test]
fn render_writes_an_overlay_video() {
    let dir = tempfile::tempdir().unwrap();
    let overlay = dir.path().join("overlay.mp4");
    let (_, _, _d) = process_clip("video", &["--render", overlay.to_str().unwrap()]);
    let size = std::fs::metadata(&overlay).expect("overlay written").len();
    assert!(size > 10_000, "overlay is {size} bytes");
}

fn assert_fails_with(args: &[&str], needle: &str) {
    let out = posekit(args).run();
    assert!(!out.status.success(), "should fail: {args:?}");
    let err = stderr(&out);
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
}

#[test]
fn missing_video_is_a_clear_error() {
    assert_fails_with(&["process", "no/such/video.mp4"], "no such file");
}

#[test]
fn a_text_file_is_not_a_video() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.mp4");
    std::fs::write(&fake, "this is not a video\n").unwrap();
    assert_fails_with(&["process", fake.to_str().unwrap()], "fake.mp4");
    assert!(
        !dir.path().join("fake.poses.jsonl").exists(),
        "no result for a failed run"
    );
}

/// One second of 8 kHz mono silence: a valid media file with no video stream.
fn silent_wav() -> Vec<u8> {
    let samples = 8000u32;
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + samples * 2).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&8000u32.to_le_bytes());
    wav.extend_from_slice(&16000u32.to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(samples * 2).to_le_bytes());
    wav.resize(wav.len() + samples as usize * 2, 0);
    wav
}

#[test]
fn a_file_without_a_video_stream_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let audio = dir.path().join("speech.wav");
    std::fs::write(&audio, silent_wav()).unwrap();
    assert_fails_with(&["process", audio.to_str().unwrap()], "no video stream");
}

#[test]
fn a_truncated_video_keeps_the_frames_before_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.webm");
    let bytes = std::fs::read(CLIP).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let output = dir.path().join("cut.poses.jsonl");
    let out = posekit(&[
        "process",
        cut.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ])
    .run();
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = read_jsonl(&output);
    let frames = lines.last().unwrap()["frames"].as_u64().unwrap();
    assert!(frames >= 10, "only {frames} frames survived the cut");
}

#[test]
fn an_unwritable_output_is_a_clear_error() {
    assert_fails_with(
        &["process", CLIP, "-o", "/proc/posekit/out.jsonl"],
        "cannot write results",
    );
}

#[test]
fn a_users_file_is_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let mine = dir.path().join("mine.jsonl");
    std::fs::write(&mine, "my notes\n").unwrap();
    assert_fails_with(&["process", CLIP, "-o", mine.to_str().unwrap()], "refusing");
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "my notes\n");
}

#[test]
fn the_landmark_model_is_rejected_as_a_detector() {
    assert_fails_with(
        &[
            "process",
            CLIP,
            "--detector",
            "models/pose_landmark_full.onnx",
        ],
        "pose_landmark_full.onnx",
    );
}

#[test]
fn a_missing_runtime_says_how_to_get_one() {
    assert_fails_with(
        &[
            "process",
            CLIP,
            "--ort-lib",
            "/nonexistent/libonnxruntime.so",
        ],
        "ONNX Runtime was not found",
    );
}

#[test]
fn ctrl_c_keeps_a_partial_result() {
    // The full Sports2D clip that setup installs: long enough to interrupt mid-run.
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".local/share"));
    let clip = data.join("posekit/demo/sports2d-demo.mp4");
    assert!(clip.is_file(), "{clip:?} missing: run scripts/setup.sh");
    let sb = Sandbox::new();
    let dir = &sb.dir;
    let output: PathBuf = dir.path().join("clip.poses.jsonl");
    let mut command = sb.posekit(&[
        "process",
        clip.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ]);
    command
        .args(["--workers", "1", "--mode", "image", "--render"])
        .arg(dir.path().join("overlay.mp4"));
    let child = spawn(command);
    // Wait until the run has written its first frames, then interrupt it.
    // The temporary is `.clip.poses.jsonl.tmp-PID-N.jsonl` (docs/files.md).
    let prefix = format!(".clip.poses.jsonl.tmp-{}-", child.id());
    let temp_lines = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .map(|e| std::fs::read_to_string(e.path()).map_or(0, |t| t.lines().count()))
            .max()
            .unwrap_or(0)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while temp_lines() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "run never started writing"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    signal(&child, libc::SIGINT);
    let out = wait_or_kill(child, Duration::from_secs(300));
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let partial = dir.path().join("clip.poses.partial.jsonl");
    let lines = read_jsonl(&partial);
    assert_eq!(lines.last().unwrap()["interrupted"], true);
    assert!(
        !output.exists(),
        "an interrupted run must not look complete"
    );
}
