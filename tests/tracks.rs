//! People over time on real footage: identities across a blackout, the same IDs run after
//! run, smoothing and gap filling as written in the result.
//!
//! The two-person clip is made at test time with the ffmpeg CLI from the committed
//! Sports2D excerpt (BSD-3-Clause, tests/data/README.md), the only real footage in the
//! repository: its one person (frames 60–119 of the demo hold only the person on the
//! block), cropped, beside the same crop mirrored and played backwards, so each half holds
//! one real person moving differently from the other. The right half is blacked out for
//! six frames (0.2 s, under the default `--max-gap` of 0.5 s).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::common::{read_jsonl, signal, spawn, stderr, wait_or_kill, wait_until, Sandbox, CLIP};

/// Width of each half of the made clip, in pixels.
const HALF: f64 = 320.0;
/// The right half is black in these frames (inclusive).
const BLACKOUT: (u64, u64) = (40, 45);

/// The side-by-side clip, or `None` (with the reason printed) when there is no ffmpeg CLI.
fn side_by_side(sandbox: &Sandbox) -> Option<PathBuf> {
    let out = sandbox.path("side_by_side.mp4");
    let filter = format!(
        "[0:v]crop=560:560:360:0,scale={h}:{h},split[a][b];[b]reverse,hflip[r];[a][r]hstack,\
         drawbox=x={h}:y=0:w={h}:h={h}:color=black:t=fill:enable='between(n,{},{})'",
        BLACKOUT.0,
        BLACKOUT.1,
        h = HALF
    );
    let made = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-nostdin",
            "-y",
            "-i",
            CLIP,
            "-filter_complex",
        ])
        .arg(&filter)
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-crf", "20"])
        .args(["-pix_fmt", "yuv420p"])
        .arg(&out)
        .output();
    match made {
        Ok(o) if o.status.success() => Some(out),
        Ok(o) => {
            eprintln!("skipped: ffmpeg could not make the clip: {}", stderr(&o));
            None
        }
        Err(e) => {
            eprintln!("skipped: no ffmpeg CLI to make the clip ({e})");
            None
        }
    }
}

fn process(sandbox: &Sandbox, video: &Path, name: &str, extra: &[&str]) -> Vec<Value> {
    let output = sandbox.path(name);
    let mut args = vec![
        "process",
        video.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = sandbox.run(&args);
    assert!(out.status.success(), "posekit failed: {}", stderr(&out));
    read_jsonl(&output)
}

fn frames(lines: &[Value]) -> &[Value] {
    &lines[1..lines.len() - 1]
}

/// (frame, track_id, box centre x) of every person found.
fn people(lines: &[Value]) -> Vec<(u64, u64, f64)> {
    frames(lines)
        .iter()
        .flat_map(|f| {
            let index = f["frame"].as_u64().unwrap();
            f["persons"].as_array().unwrap().iter().map(move |p| {
                let b = p["bbox"].as_array().unwrap();
                let x = (b[0].as_f64().unwrap() + b[2].as_f64().unwrap()) / 2.0;
                (
                    index,
                    p["track_id"].as_u64().expect("every person has a track_id"),
                    x,
                )
            })
        })
        .collect()
}

fn ids(lines: &[Value]) -> Vec<Vec<u64>> {
    frames(lines)
        .iter()
        .map(|f| {
            let persons = f["persons"].as_array().unwrap();
            persons
                .iter()
                .map(|p| p["track_id"].as_u64().unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn each_half_keeps_one_id_across_the_blackout() {
    let sandbox = Sandbox::new();
    let Some(clip) = side_by_side(&sandbox) else {
        return;
    };
    for workers in ["1", "2"] {
        let name = format!("sbs.{workers}.jsonl");
        let extra = ["--workers", workers, "--detect-every", "5"];
        let lines = process(&sandbox, &clip, &name, &extra);
        let found = people(&lines);
        let side_ids = |left: bool| {
            let mut ids: Vec<u64> = found
                .iter()
                .filter(|(_, _, x)| (*x < HALF) == left)
                .map(|(_, id, _)| *id)
                .collect();
            ids.dedup();
            ids
        };
        let (left, right) = (side_ids(true), side_ids(false));
        assert_eq!(left.len(), 1, "{workers} workers, left half: {found:?}");
        assert_eq!(right.len(), 1, "{workers} workers, right half: {found:?}");
        assert_ne!(left, right);
        // The right person really was seen on both sides of the blackout, and not in it.
        let right_frames: Vec<u64> = found
            .iter()
            .filter(|(_, _, x)| *x >= HALF)
            .map(|(f, _, _)| *f)
            .collect();
        assert!(
            right_frames.iter().any(|&f| f < BLACKOUT.0),
            "{right_frames:?}"
        );
        assert!(
            right_frames.iter().any(|&f| f > BLACKOUT.1),
            "{right_frames:?}"
        );
        assert!(!right_frames
            .iter()
            .any(|&f| (BLACKOUT.0..=BLACKOUT.1).contains(&f)));
        // The summary lists exactly these two tracks.
        let tracks = lines.last().unwrap()["tracks"].as_array().unwrap().clone();
        let listed: Vec<u64> = tracks.iter().map(|t| t["id"].as_u64().unwrap()).collect();
        let mut expected = [left[0], right[0]];
        expected.sort();
        assert_eq!(listed, expected, "{tracks:?}");
    }
}

#[test]
fn ids_are_the_same_run_after_run_for_a_worker_count() {
    let sandbox = Sandbox::new();
    let Some(clip) = side_by_side(&sandbox) else {
        return;
    };
    for (mode, workers) in [("video", "3"), ("image", "2")] {
        let extra = ["--workers", workers, "--mode", mode, "--detect-every", "5"];
        let first = process(&sandbox, &clip, "a.jsonl", &extra);
        let second = process(&sandbox, &clip, "b.jsonl", &extra);
        assert!(ids(&first).iter().any(|f| !f.is_empty()));
        assert_eq!(ids(&first), ids(&second), "{mode} mode, {workers} workers");
    }
}

#[test]
fn gaps_are_filled_and_marked_and_smoothing_is_recorded() {
    let sandbox = Sandbox::new();
    let Some(clip) = side_by_side(&sandbox) else {
        return;
    };
    let base = ["--workers", "1", "--detect-every", "5"];
    let filled = process(
        &sandbox,
        &clip,
        "filled.jsonl",
        &[&base[..], &["--fill-gaps", "0.4", "--smooth", "causal"]].concat(),
    );
    let header = &filled[0]["settings"];
    assert_eq!(header["smooth"], "causal");
    assert_eq!(header["fill_gaps_s"], 0.4);
    let summary = filled.last().unwrap();
    let in_blackout = |f: &Value| (BLACKOUT.0..=BLACKOUT.1).contains(&f["frame"].as_u64().unwrap());
    let mut filled_persons = 0;
    for frame in frames(&filled).iter().filter(|f| in_blackout(f)) {
        for p in frame["persons"].as_array().unwrap() {
            let x = p["bbox"][0].as_f64().unwrap();
            if x >= HALF {
                assert_eq!(p["filled"], true, "{p}");
                filled_persons += 1;
            }
        }
    }
    assert_eq!(filled_persons, BLACKOUT.1 - BLACKOUT.0 + 1);
    let tracks = summary["tracks"].as_array().unwrap();
    let sum = |key: &str| tracks.iter().map(|t| t[key].as_u64().unwrap()).sum::<u64>();
    // The person is sometimes found again a few frames after the blackout: those count too.
    assert!(sum("frames_filled") >= filled_persons);
    // Filled persons are not detections.
    assert_eq!(summary["persons"].as_u64().unwrap(), sum("frames_seen"));

    // The offline filter changes the landmarks, not who is who; the header says so.
    let raw = process(
        &sandbox,
        &clip,
        "raw.jsonl",
        &[&base[..], &["--smooth", "none"]].concat(),
    );
    let defaulted = process(&sandbox, &clip, "default.jsonl", &base);
    assert_eq!(
        defaulted[0]["settings"]["smooth"], "causal",
        "video mode's default"
    );
    let offline = process(
        &sandbox,
        &clip,
        "off.jsonl",
        &[&base[..], &["--smooth", "offline"]].concat(),
    );
    assert!(
        offline[0]["settings"].get("cutoff_hz").is_none(),
        "the default cutoff"
    );
    assert_eq!(ids(&raw), ids(&offline));
    let first_x = |lines: &[Value]| frames(lines)[20]["persons"][0]["keypoints"][0][0].as_f64();
    assert_ne!(first_x(&raw), first_x(&offline));
}

#[test]
fn an_impossible_cutoff_is_refused_with_the_fix() {
    let sandbox = Sandbox::new();
    let output = sandbox.path("x.jsonl");
    let out = sandbox.run(&[
        "process",
        CLIP,
        "-o",
        output.to_str().unwrap(),
        "--smooth",
        "offline",
        "--cutoff",
        "20",
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("--cutoff 20 Hz") && err.contains("lower --cutoff"),
        "{err}"
    );
    assert!(!output.exists());
}

#[test]
fn ctrl_c_with_offline_smoothing_keeps_the_frames_done_smoothed() {
    // Offline smoothing holds the records until the frames end; Ctrl-C ends them early,
    // so the partial result has every frame done, filtered over what was seen.
    let sb = Sandbox::new();
    let clip = sb.clip("v.webm");
    let overlay = sb.path("ov.mp4");
    let args = [
        "process",
        clip.to_str().unwrap(),
        "--workers",
        "1",
        "--smooth",
        "offline",
        "--render",
        overlay.to_str().unwrap(),
    ];
    let mut command = sb.posekit(&args);
    command.env("POSEKIT_DEBUG_FRAME_DELAY_MS", "100");
    let child = spawn(command);
    // The overlay is written as frames come: once its temporary has grown, frames are done.
    let limit = Duration::from_secs(300);
    let started = wait_until(limit, || {
        sb.temporaries().iter().any(|t| {
            t.contains("ov") && std::fs::metadata(sb.path(t)).is_ok_and(|m| m.len() > 20_000)
        })
    });
    assert!(started, "the overlay never grew: {:?}", sb.names());
    signal(&child, libc::SIGINT);
    let out = wait_or_kill(child, limit);
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let lines = read_jsonl(&sb.path("v.poses.partial.jsonl"));
    let summary = lines.last().unwrap();
    assert_eq!(summary["interrupted"], true);
    let done = frames(&lines);
    assert!(!done.is_empty() && done.len() < 60, "{} frames", done.len());
    assert_eq!(summary["frames"].as_u64().unwrap(), done.len() as u64);
    assert!(done
        .iter()
        .flat_map(|f| f["persons"].as_array().unwrap())
        .all(|p| p["track_id"].as_u64().is_some()));
}
