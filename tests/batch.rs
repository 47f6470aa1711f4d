//! Batches on one machine: folders, manifests, `--out-dir`, resume, shards, image
//! sequences, reports and `status`. (The job array on a real Slurm is in `cluster`.)

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::common::{json, read_jsonl, stderr, stdout, Sandbox};

/// Stderr says `text`.
fn says(out: &Output, text: &str) {
    assert!(stderr(out).contains(text), "{}", stderr(out));
}

fn ok(out: &Output) {
    assert!(out.status.success(), "{}", stderr(out));
}

/// One JSON object per stdout line (`process --json`).
fn objects(out: &Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn statuses(out: &Output) -> Vec<String> {
    objects(out)
        .iter()
        .map(|o| o["status"].as_str().unwrap().to_string())
        .collect()
}

fn process(sandbox: &Sandbox, args: &[&str]) -> Output {
    let mut command =
        sandbox.posekit(&["process", "--workers", "1", "--max-frames", "12", "--json"]);
    command.args(args).current_dir(sandbox.dir.path());
    command.output().unwrap()
}

fn clips(sandbox: &Sandbox, names: &[&str]) {
    for name in names {
        let path = sandbox.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        sandbox.clip(name);
    }
}

#[test]
fn a_folder_is_walked_into_a_mirrored_out_dir_and_the_dataset_is_untouched() {
    let sandbox = Sandbox::new();
    clips(&sandbox, &["data/a.webm", "data/day2/b.webm"]);
    std::fs::write(sandbox.path("data/notes.txt"), "not a video").unwrap();
    let out = process(&sandbox, &["data", "--recursive", "--out-dir", "results"]);
    ok(&out);
    assert_eq!(statuses(&out), ["done", "done"]);
    for result in ["results/a.poses.jsonl", "results/day2/b.poses.jsonl"] {
        let lines = read_jsonl(&sandbox.path(result));
        assert_eq!(
            lines[0]["input"]["size"],
            std::fs::metadata(sandbox.path("data/a.webm"))
                .unwrap()
                .len()
        );
    }
    let mut beside: Vec<String> = walkdir::WalkDir::new(sandbox.path("data"))
        .into_iter()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    beside.sort();
    assert_eq!(beside, ["a.webm", "b.webm", "data", "day2", "notes.txt"]);
    // Without --recursive only the top level counts.
    let top = process(&sandbox, &["data", "--out-dir", "top"]);
    assert_eq!(statuses(&top), ["done"]);
}

#[test]
fn a_complete_result_is_skipped_and_a_changed_setting_or_input_redone() {
    let sandbox = Sandbox::new();
    clips(&sandbox, &["a.webm"]);
    ok(&process(&sandbox, &["a.webm"]));
    let again = process(&sandbox, &["a.webm"]);
    ok(&again);
    assert_eq!(statuses(&again), ["skipped"]);
    says(&again, "--force redoes it");
    // Threads per worker change only the speed; the person cap changes the result.
    assert_eq!(
        statuses(&process(&sandbox, &["a.webm", "--threads-per-worker", "2"])),
        ["skipped"]
    );
    let other = process(&sandbox, &["a.webm", "--max-people", "1"]);
    assert_eq!(statuses(&other), ["done"]);
    says(&other, "max_people: 4 → 1");
    assert_eq!(
        statuses(&process(
            &sandbox,
            &["a.webm", "--max-people", "1", "--force"]
        )),
        ["done"]
    );
    // The input itself changes: same size, other bytes at its end.
    let mut bytes = std::fs::read(sandbox.path("a.webm")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xFF;
    std::fs::write(sandbox.path("a.webm"), &bytes).unwrap();
    let changed = process(&sandbox, &["a.webm", "--max-people", "1"]);
    assert_eq!(statuses(&changed), ["done"]);
    says(&changed, "input changed");
}

#[test]
fn a_complete_result_removes_posekits_own_partial_and_keeps_the_users() {
    let sandbox = Sandbox::new();
    clips(&sandbox, &["a.webm", "b.webm"]);
    ok(&process(&sandbox, &["a.webm"]));
    // An interrupted run's leftover (posekit's header) and a user's file at that name.
    std::fs::rename(
        sandbox.path("a.poses.jsonl"),
        sandbox.path("a.poses.partial.jsonl"),
    )
    .unwrap();
    std::fs::write(sandbox.path("b.poses.partial.jsonl"), "the user's own\n").unwrap();
    let out = process(&sandbox, &["a.webm", "b.webm"]);
    ok(&out);
    says(&out, "the partial result this run supersedes");
    assert!(!sandbox.path("a.poses.partial.jsonl").exists());
    assert_eq!(
        std::fs::read_to_string(sandbox.path("b.poses.partial.jsonl")).unwrap(),
        "the user's own\n"
    );
}

#[test]
fn shards_split_a_manifest_without_overlap() {
    let sandbox = Sandbox::new();
    clips(&sandbox, &["v/a.webm", "v/b.webm", "v/c.webm"]);
    std::fs::write(
        sandbox.path("v/list.txt"),
        "c.webm\na.webm # first\n\nb.webm\na.webm\n",
    )
    .unwrap();
    let mut taken = Vec::new();
    for shard in ["0/2", "1/2"] {
        let out = process(
            &sandbox,
            &[
                "--manifest",
                "v/list.txt",
                "--out-dir",
                "r",
                "--shard",
                shard,
            ],
        );
        ok(&out);
        says(&out, &format!("shard {shard} (from --shard)"));
        taken.extend(
            objects(&out)
                .iter()
                .map(|o| o["output"].as_str().unwrap().to_string()),
        );
    }
    taken.sort();
    assert_eq!(
        taken,
        ["r/a.poses.jsonl", "r/b.poses.jsonl", "r/c.poses.jsonl"]
    );
    let bad = process(&sandbox, &["--manifest", "v/list.txt", "--shard", "2/2"]);
    says(&bad, "the index must be below the count");
    let auto = process(&sandbox, &["--manifest", "v/list.txt", "--shard", "auto"]);
    assert!(!auto.status.success());
    says(&auto, "no job-array index");
}

#[test]
fn a_bad_manifest_line_is_named_and_nothing_runs() {
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.path("list.csv"), "path,output\na.webm,x\nb.webm\n").unwrap();
    let out = process(&sandbox, &["--manifest", "list.csv"]);
    assert!(!out.status.success());
    says(&out, "list.csv:3:");
    assert!(stdout(&out).is_empty());
}

#[test]
fn an_image_folder_plays_as_a_video_at_the_given_rate() {
    let sandbox = Sandbox::new();
    let frames = sandbox.path("frames");
    std::fs::create_dir(&frames).unwrap();
    let made = std::process::Command::new("ffmpeg")
        .args([
            "-loglevel",
            "error",
            "-i",
            crate::common::CLIP,
            "-frames:v",
            "6",
        ])
        .arg(frames.join("%03d.jpg"))
        .status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: the ffmpeg tool is not installed (scripts/setup.sh --with-test-tools)");
        return;
    }
    let out = process(&sandbox, &["frames", "--fps", "12.5"]);
    ok(&out);
    let lines = read_jsonl(&sandbox.path("frames.poses.jsonl"));
    assert_eq!(lines[0]["source"]["fps"], 12.5);
    assert_eq!(lines[0]["input"]["images"], 6);
    let frames: Vec<&Value> = lines.iter().filter(|l| l["type"] == "frame").collect();
    assert_eq!(frames.len(), 6);
    assert_eq!(frames[5]["t"], 0.4);
    assert!(frames
        .iter()
        .any(|f| !f["persons"].as_array().unwrap().is_empty()));
}

#[test]
fn reports_and_status_tell_done_failed_and_missing() {
    let sandbox = Sandbox::new();
    clips(&sandbox, &["v/a.webm", "v/b.webm"]);
    std::fs::write(sandbox.path("v/broken.mp4"), "not a video").unwrap();
    std::fs::write(
        sandbox.path("list.txt"),
        "v/a.webm\nv/broken.mp4\nv/b.webm\n",
    )
    .unwrap();
    let status = |extra: &[&str]| {
        let mut command = sandbox.posekit(&[
            "status",
            "--manifest",
            "list.txt",
            "--out-dir",
            "r",
            "--shards",
            "2",
        ]);
        command.args(extra).current_dir(sandbox.dir.path());
        command.output().unwrap()
    };
    let before = status(&["--json"]);
    assert!(!before.status.success());
    assert_eq!(json(&before)["missing"], 3);

    // Sorted: a.webm, b.webm, broken.mp4; shard 0 of 2 takes a and the broken one.
    let shard = |i: &str| {
        let args = [
            "--manifest",
            "list.txt",
            "--out-dir",
            "r",
            "--shard",
            i,
            "--report",
            "report.jsonl",
        ];
        process(&sandbox, &args)
    };
    let out = shard("0/2");
    assert_eq!(out.status.code(), Some(1));
    let mid = json(&status(&["--json", "--report", "report.jsonl"]));
    assert_eq!(
        (mid["failed"].as_u64(), mid["missing"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(mid["array"], "0-1");
    ok(&shard("1/2"));
    let text = status(&["--report", "report.jsonl"]);
    let shown = stdout(&text);
    assert!(
        shown.starts_with("3 inputs: 2 done, 1 failed, 0 interrupted, 0 stale, 0 missing"),
        "{shown}"
    );
    assert!(shown.contains("broken.mp4 [shard 0]: "), "{shown}");
    assert!(shown.contains("--array=0"), "{shown}");
    let lines = read_jsonl(&sandbox.path("report.jsonl"));
    let kinds: Vec<&str> = lines
        .iter()
        .map(|l| l["status"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["done", "failed", "done"]);
    assert!(lines
        .iter()
        .all(|l| l["host"].is_string() && l["elapsed_s"].is_number()));
}

#[test]
fn a_report_path_of_the_users_is_refused_before_any_work() {
    let sandbox = Sandbox::new();
    clips(&sandbox, &["a.webm"]);
    std::fs::write(sandbox.path("notes.txt"), "my notes\n").unwrap();
    let out = process(&sandbox, &["a.webm", "--report", "notes.txt"]);
    assert!(!out.status.success());
    says(&out, "is not a posekit report");
    assert_eq!(
        std::fs::read_to_string(sandbox.path("notes.txt")).unwrap(),
        "my notes\n"
    );
    assert!(!Path::new(&sandbox.path("a.poses.jsonl")).exists());
    let input = process(&sandbox, &["a.webm", "--report", "a.webm"]);
    assert!(!input.status.success());
    says(&input, "same file as the input");
}
