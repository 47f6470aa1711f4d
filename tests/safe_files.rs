//! Never destroy what a user has, never hang (issue 10): links, device nodes, FIFOs, the
//! input itself, users' partial files, leftovers, batches with bad videos, a closed
//! stdout, and runaway worker counts. Every file is made inside a temporary folder.

use std::time::Duration;

use crate::common::*;

/// Long enough for any run on the 60-frame clip, however loaded the machine.
const LIMIT: Duration = Duration::from_secs(300);

// ---- Links and special files --------------------------------------------------------

#[test]
fn tune_write_through_a_link_edits_the_real_file_and_keeps_the_link() {
    let sb = Sandbox::new();
    let real = sb.path("real.toml");
    std::fs::write(&real, "# mine\n").unwrap();
    let link = sb.path("link.toml");
    std::os::unix::fs::symlink("real.toml", &link).unwrap();
    let out = sb.run(&["tune", "--write", "--config", link.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(meta.file_type().is_symlink(), "the link stays a link");
    let text = std::fs::read_to_string(&real).unwrap();
    assert!(
        text.contains("# mine") && text.contains("workers"),
        "{text}"
    );
    let backups: Vec<String> = sb
        .names()
        .into_iter()
        .filter(|n| n.starts_with("real.toml.") && n.ends_with(".bak"))
        .collect();
    assert_eq!(
        backups.len(),
        1,
        "backup beside the real file: {:?}",
        sb.names()
    );
}

#[test]
fn tune_refuses_a_device_node_and_a_fifo_as_its_config() {
    let sb = Sandbox::new();
    let fifo = sb.path("fifo.toml");
    mkfifo(&fifo);
    let child = spawn(sb.posekit(&["tune", "--write", "--config", fifo.to_str().unwrap()]));
    let out = wait_or_kill(child, LIMIT);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("FIFO"), "{}", stderr(&out));
    let node = sb.path("null.toml");
    if mknod_null(&node).is_none() {
        eprintln!("skipped the device-node half: this user may not make device nodes (needs root)");
        return;
    }
    let out = sb.run(&["tune", "--write", "--config", node.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("character device"),
        "{}",
        stderr(&out)
    );
    assert!(
        is_char_device(&node),
        "the device node is still a device node"
    );
}

#[test]
fn process_refuses_a_device_node_even_with_overwrite() {
    let sb = Sandbox::new();
    let clip = sb.clip("v.webm");
    let node = sb.path("n");
    if mknod_null(&node).is_none() {
        eprintln!("skipped: this user may not make device nodes (needs root)");
        return;
    }
    let out = sb.run(&[
        "process",
        clip.to_str().unwrap(),
        "-o",
        node.to_str().unwrap(),
        "--overwrite",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("character device"),
        "{}",
        stderr(&out)
    );
    assert!(is_char_device(&node));
    assert!(sb.temporaries().is_empty(), "{:?}", sb.names());
}

#[test]
fn process_refuses_a_fifo_output_without_blocking() {
    let sb = Sandbox::new();
    let clip = sb.clip("v.webm");
    let fifo = sb.path("out.jsonl");
    mkfifo(&fifo);
    let child = spawn(sb.posekit(&[
        "process",
        clip.to_str().unwrap(),
        "-o",
        fifo.to_str().unwrap(),
        "--overwrite",
    ]));
    let out = wait_or_kill(child, LIMIT);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("FIFO"), "{}", stderr(&out));
}

#[test]
fn process_writes_through_a_link_to_the_real_file() {
    let sb = Sandbox::new();
    let clip = sb.clip("v.webm");
    std::fs::create_dir(sb.path("results")).unwrap();
    let link = sb.path("out.jsonl");
    std::os::unix::fs::symlink("results/real.jsonl", &link).unwrap();
    let out = sb.run(&[
        "process",
        clip.to_str().unwrap(),
        "-o",
        link.to_str().unwrap(),
        "--max-frames",
        "3",
        "--workers",
        "1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let text = std::fs::read_to_string(sb.path("results/real.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 3 + 2, "header, 3 frames, summary");
}

#[test]
fn inputs_that_are_not_files_each_get_their_own_message() {
    let sb = Sandbox::new();
    let fifo = sb.path("pipe.mp4");
    mkfifo(&fifo);
    std::fs::create_dir(sb.path("folder.mp4")).unwrap();
    std::os::unix::fs::symlink("loop-b.mp4", sb.path("loop-a.mp4")).unwrap();
    std::os::unix::fs::symlink("loop-a.mp4", sb.path("loop-b.mp4")).unwrap();
    for (name, expected) in [
        ("pipe.mp4", "FIFO"),
        ("folder.mp4", "a folder"),
        ("loop-a.mp4", "link loop"),
        ("missing.mp4", "no such file"),
    ] {
        let path = sb.path(name);
        let child = spawn(sb.posekit(&["process", path.to_str().unwrap()]));
        let out = wait_or_kill(child, LIMIT);
        assert_eq!(out.status.code(), Some(1), "{name}");
        assert!(stderr(&out).contains(expected), "{name}: {}", stderr(&out));
    }
}

// ---- The input is never the output --------------------------------------------------

#[test]
fn the_input_is_never_an_output() {
    let sb = Sandbox::new();
    let clip = sb.clip("v.mp4");
    let before = sha256(&clip);
    let v = clip.to_str().unwrap();
    let link = sb.path("to-input.jsonl");
    std::os::unix::fs::symlink("v.mp4", &link).unwrap();
    for args in [
        vec!["process", v, "-o", v, "--overwrite"],
        vec!["process", v, "--render", v, "--overwrite"],
        vec!["process", v, "-o", link.to_str().unwrap(), "--overwrite"],
    ] {
        let out = sb.run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out).contains("same file as the input"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(
            !stderr(&out).contains("frames/s"),
            "refused before decoding"
        );
    }
    assert_eq!(sha256(&clip), before, "the video is untouched");
}

#[test]
fn two_outputs_may_not_be_one_file() {
    let sb = Sandbox::new();
    let clip = sb.clip("v.webm");
    let same = sb.path("same.mp4");
    let out = sb.run(&[
        "process",
        clip.to_str().unwrap(),
        "-o",
        same.to_str().unwrap(),
        "--render",
        same.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("both name"), "{}", stderr(&out));
    assert!(!same.exists());
}

#[test]
fn an_input_named_like_a_partial_result_is_refused() {
    let sb = Sandbox::new();
    let clip = sb.clip("ov.partial.mp4");
    let render = sb.path("ov.mp4");
    let out = sb.run(&[
        "process",
        clip.to_str().unwrap(),
        "--render",
        render.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("partial name of --render"),
        "{}",
        stderr(&out)
    );
}

// ---- Partial files and leftovers ----------------------------------------------------

/// Starts a slowed-down run and waits until its temporary result holds a frame.
fn start_slow_run(sb: &Sandbox, extra: &[&str]) -> std::process::Child {
    start_run_delayed(sb, extra, 100)
}

/// As [`start_slow_run`], with `delay_ms` between decoded frames.
fn start_run_delayed(sb: &Sandbox, extra: &[&str], delay_ms: u32) -> std::process::Child {
    let clip = sb.clip("v.webm");
    let mut args = vec!["process", clip.to_str().unwrap(), "--workers", "1"];
    args.extend_from_slice(extra);
    let mut command = sb.posekit(&args);
    command.env("POSEKIT_DEBUG_FRAME_DELAY_MS", delay_ms.to_string());
    let child = spawn(command);
    let started = wait_until(LIMIT, || {
        sb.temporaries().iter().any(|t| {
            std::fs::read_to_string(sb.path(t)).is_ok_and(|text| text.contains("\"frame\""))
        })
    });
    assert!(started, "the run never wrote a frame: {:?}", sb.names());
    child
}

#[test]
fn a_users_partial_file_is_kept_on_ctrl_c() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("v.poses.partial.jsonl"), "my notes\n").unwrap();
    std::fs::write(sb.path("ov.partial.mp4"), "my video\n").unwrap();
    let render = sb.path("ov.mp4");
    let child = start_slow_run(&sb, &["--render", render.to_str().unwrap()]);
    signal(&child, libc::SIGINT);
    let out = wait_or_kill(child, LIMIT);
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(sb.path("v.poses.partial.jsonl")).unwrap(),
        "my notes\n"
    );
    assert_eq!(
        std::fs::read_to_string(sb.path("ov.partial.mp4")).unwrap(),
        "my video\n"
    );
    let text = std::fs::read_to_string(sb.path("v.poses.partial-2.jsonl")).unwrap();
    assert!(text.contains("\"interrupted\":true"), "{text}");
    assert!(sb.path("ov.partial-2.mp4").exists(), "{:?}", sb.names());
    let err = stderr(&out);
    assert!(
        err.contains("v.poses.partial-2.jsonl") && err.contains("ov.partial-2.mp4"),
        "{err}"
    );
    assert!(sb.temporaries().is_empty(), "{:?}", sb.names());
}

#[test]
fn posekits_own_partial_file_is_replaced_by_the_next_interrupted_run() {
    let sb = Sandbox::new();
    for _ in 0..2 {
        let child = start_slow_run(&sb, &[]);
        signal(&child, libc::SIGINT);
        let out = wait_or_kill(child, LIMIT);
        assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    }
    let partials: Vec<String> = sb
        .names()
        .into_iter()
        .filter(|n| n.contains("partial"))
        .collect();
    assert_eq!(partials, ["v.poses.partial.jsonl"]);
}

#[test]
fn a_second_ctrl_c_quits_at_once_and_leaves_no_temporary() {
    let sb = Sandbox::new();
    let render = sb.path("ov.mp4");
    // A decoder asleep for 3 s per frame keeps the first stop's drain going while the
    // second signal arrives.
    let child = start_run_delayed(&sb, &["--render", render.to_str().unwrap()], 3000);
    signal(&child, libc::SIGINT);
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, libc::SIGINT);
    let out = wait_or_kill(child, LIMIT);
    assert_eq!(out.status.code(), Some(130));
    let err = stderr(&out);
    assert_eq!(err.matches("quitting now").count(), 1, "{err}");
    let after_quit = err.split("quitting now").nth(1).unwrap();
    assert!(
        after_quit.lines().skip(1).all(|l| l.trim().is_empty()),
        "nothing after the one line: {err}"
    );
    assert!(!err.to_lowercase().contains("onnxruntime"), "{err}");
    assert!(sb.temporaries().is_empty(), "{:?}", sb.names());
}

#[test]
fn a_later_run_removes_the_temporaries_of_a_killed_one() {
    let sb = Sandbox::new();
    let child = start_slow_run(&sb, &[]);
    signal(&child, libc::SIGKILL);
    let _ = wait_or_kill(child, LIMIT);
    let left = sb.temporaries();
    assert_eq!(left.len(), 1, "SIGKILL leaves its temporary: {left:?}");
    let clip = sb.path("v.webm");
    let out = sb.run(&[
        "process",
        clip.to_str().unwrap(),
        "--max-frames",
        "2",
        "--workers",
        "1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&left[0]),
        "says what it removed: {}",
        stderr(&out)
    );
    assert!(sb.temporaries().is_empty(), "{:?}", sb.names());
}

// ---- Batches and stdout -------------------------------------------------------------

#[test]
fn a_bad_video_does_not_stop_the_batch() {
    let sb = Sandbox::new();
    let bad = sb.path("bad.mp4");
    std::fs::write(&bad, "not a video").unwrap();
    let good = sb.clip("good.webm");
    let out = sb.run(&[
        "process",
        bad.to_str().unwrap(),
        good.to_str().unwrap(),
        "--max-frames",
        "2",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        sb.path("good.poses.jsonl").exists(),
        "the good video was processed"
    );
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "one object per video: {}", stdout(&out));
    assert_eq!(lines[0]["status"], "failed");
    assert!(lines[0]["error"].as_str().unwrap().contains("bad.mp4"));
    assert_eq!(lines[1]["status"], "done");
    let err = stderr(&out);
    assert!(
        err.contains("1 done, 1 failed:") && err.contains("bad.mp4 ("),
        "{err}"
    );
}

#[test]
fn a_closed_stdout_stops_the_printing_not_the_work() {
    let sb = Sandbox::new();
    let (a, b) = (sb.clip("a.webm"), sb.clip("b.webm"));
    // A pipe whose reader is gone before posekit writes: every write is EPIPE.
    let mut child = spawn(sb.posekit(&[
        "process",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--json",
        "--max-frames",
        "2",
    ]));
    drop(child.stdout.take());
    let out = wait_or_kill(child, LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(sb.path("a.poses.jsonl").exists() && sb.path("b.poses.jsonl").exists());
}

#[test]
fn a_closed_stdout_never_turns_a_failed_check_into_success() {
    let sb = Sandbox::new();
    sb.write_config("[models]\nhmr2 = \"/nonexistent/hmr2.onnx\"\n");
    let mut child = spawn(sb.posekit(&["doctor", "--check", "models"]));
    drop(child.stdout.take());
    let out = wait_or_kill(child, LIMIT);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

// ---- Limits -------------------------------------------------------------------------

#[test]
fn runaway_worker_counts_are_refused_everywhere() {
    let sb = Sandbox::new();
    let clip = sb.clip("v.webm");
    let v = clip.to_str().unwrap();
    for args in [
        vec!["process", v, "--workers", "4294967297"],
        vec!["bench", v, "--layouts", "100000x1"],
        vec!["serve", "--port", "0", "--workers", "100000"],
    ] {
        let out = sb.run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out).contains("at most"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    sb.write_config("[process]\nworkers = 100000\n");
    let out = sb.run(&["process", v]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("posekit.toml"), "{}", stderr(&out));
    assert!(!sb.path("v.poses.jsonl").exists());
}
