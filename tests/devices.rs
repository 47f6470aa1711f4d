//! `--device`, precision and `compare` end to end: an explicit GPU on the CPU runtime is a
//! clear error (never a silent CPU run), `auto` records what it chose, the int8 model loads
//! in every weight-sharing layout and says its precision, and `compare` reads two results.

use std::path::Path;

use serde_json::Value;

use crate::common::{
    cpu_runtime, posekit, read_jsonl, stderr, stdout, Sandbox, CLIP, HMR2_SMALL, HMR2_SMALL_INT8,
};

fn process(sandbox: &Sandbox, model: &str, name: &str, extra: &[&str]) -> std::process::Output {
    let output = sandbox.path(name);
    let mut args = vec![
        "process",
        CLIP,
        "-o",
        output.to_str().unwrap(),
        "--hmr2",
        model,
        "--max-frames",
        "20",
    ];
    args.extend_from_slice(extra);
    sandbox.run(&args)
}

#[test]
fn cuda_or_tensorrt_on_the_cpu_runtime_is_an_error_that_names_the_fix() {
    let Some(runtime) = cpu_runtime() else {
        eprintln!("skipped: the CPU runtime of `make setup` is not installed");
        return;
    };
    for device in ["cuda", "tensorrt"] {
        let sandbox = Sandbox::new();
        let lib = runtime.to_str().unwrap();
        let out = process(
            &sandbox,
            HMR2_SMALL,
            "r.jsonl",
            &["--device", device, "--ort-lib", lib],
        );
        assert!(
            !out.status.success(),
            "--device {device} must fail on the CPU build"
        );
        let err = stderr(&out);
        assert!(
            err.contains(&format!("--device {device} could not be used")),
            "{err}"
        );
        assert!(err.contains("a build without"), "{err}");
        assert!(err.contains(lib), "names the library: {err}");
        assert!(err.contains("make setup-gpu"), "gives the fix: {err}");
        assert!(
            !sandbox.path("r.jsonl").exists(),
            "no result from a refused run"
        );
    }
}

#[test]
fn the_config_file_device_is_honoured_too() {
    if cpu_runtime().is_none() {
        eprintln!("skipped: the CPU runtime of `make setup` is not installed");
        return;
    }
    let sandbox = Sandbox::new();
    sandbox.write_config("[process]\ndevice = \"cuda\"\n");
    let out = process(&sandbox, HMR2_SMALL, "r.jsonl", &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--device cuda could not be used"),
        "{}",
        stderr(&out)
    );
    // The flag wins over the file.
    let out = process(&sandbox, HMR2_SMALL, "r.jsonl", &["--device", "cpu"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn auto_says_it_runs_on_the_cpu_and_records_it() {
    if cpu_runtime().is_none() {
        eprintln!("skipped: the CPU runtime of `make setup` is not installed");
        return;
    }
    let sandbox = Sandbox::new();
    let out = process(&sandbox, HMR2_SMALL, "r.jsonl", &["--device", "auto"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("running on the CPU"),
        "{}",
        stderr(&out)
    );
    let lines = read_jsonl(&sandbox.path("r.jsonl"));
    let header = &lines[0];
    assert_eq!(header["settings"]["hmr2_device"], "auto");
    assert_eq!(header["settings"]["hmr2_batch"], 1, "the CPU default");
    assert_eq!(header["models"][2]["device"], "cpu");
    assert_eq!(
        header["models"][0]["device"], "cpu",
        "BlazePose stays on the CPU"
    );
    assert_eq!(lines.last().unwrap()["hmr2_device"], "cpu");
}

fn persons_with_smpl(lines: &[Value]) -> usize {
    lines[1..lines.len() - 1]
        .iter()
        .flat_map(|f| f["persons"].as_array().unwrap())
        .filter(|p| p["smpl"]["betas"].as_array().is_some_and(|b| b.len() == 10))
        .count()
}

#[test]
fn the_int8_model_loads_in_every_sharing_layout_and_states_its_precision() {
    let sandbox = Sandbox::new();
    for layout in ["shared", "prepacked", "per-worker"] {
        let name = format!("{layout}.jsonl");
        let extra = [
            "--device",
            "cpu",
            "--hmr2-weights",
            layout,
            "--workers",
            "2",
        ];
        let out = process(&sandbox, HMR2_SMALL_INT8, &name, &extra);
        assert!(out.status.success(), "{layout}: {}", stderr(&out));
        let lines = read_jsonl(&sandbox.path(&name));
        let model = &lines[0]["models"][2];
        assert_eq!(model["name"], "hmr2_small.int8.onnx");
        assert_eq!(model["precision"], "int8", "{layout}");
        assert!(persons_with_smpl(&lines) > 0, "{layout}: meshes recovered");
    }
    // The fp32 model does not say, so the header does not guess.
    let out = process(&sandbox, HMR2_SMALL, "fp32.jsonl", &["--device", "cpu"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = read_jsonl(&sandbox.path("fp32.jsonl"));
    assert!(lines[0]["models"][2].get("precision").is_none());
}

#[test]
fn compare_reports_int8_against_fp32() {
    let sandbox = Sandbox::new();
    for (model, name) in [(HMR2_SMALL, "fp32.jsonl"), (HMR2_SMALL_INT8, "int8.jsonl")] {
        let out = process(&sandbox, model, name, &["--device", "cpu", "--rotmat"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let (a, b) = (sandbox.path("fp32.jsonl"), sandbox.path("int8.jsonl"));
    let out = sandbox.run(&[
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let c: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(c["frames_compared"], 20);
    assert!(c["persons_matched"].as_u64().unwrap() > 0);
    // BlazePose is the same model in both runs: the landmarks agree exactly.
    assert_eq!(c["landmarks"]["max"], 0.0);
    let smpl = &c["smpl"];
    assert_eq!(smpl["rotations_from"], "rotmat");
    assert_eq!(smpl["rotation_deg_per_joint"].as_array().unwrap().len(), 24);
    let rotation = smpl["rotation_deg"]["max"].as_f64().unwrap();
    assert!(
        rotation > 0.0 && rotation < 180.0,
        "int8 moves rotations: {rotation}"
    );
    assert!(smpl["mpjpe_mm"]["median"].as_f64().is_some());
    // The table for people.
    let out = sandbox.run(&["compare", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(
        stdout(&out).contains("SMPL rotation, all joints (rotmat)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn compare_refuses_what_posekit_did_not_write() {
    let sandbox = Sandbox::new();
    let mine = sandbox.path("mine.jsonl");
    std::fs::write(&mine, "{\"a\": 1}\n").unwrap();
    let out = posekit(&["compare", mine.to_str().unwrap(), mine.to_str().unwrap()]).run();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is not a posekit result"),
        "{}",
        stderr(&out)
    );
    assert!(Path::new(&mine).exists());
}

#[test]
fn crops_batched_across_frames_give_the_results_of_one_frame_at_a_time() {
    let sandbox = Sandbox::new();
    for batch in ["1", "4"] {
        let name = format!("b{batch}.jsonl");
        let extra = ["--device", "cpu", "--rotmat", "--hmr2-batch", batch];
        let out = process(&sandbox, HMR2_SMALL, &name, &extra);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let lines = read_jsonl(&sandbox.path("b4.jsonl"));
    assert_eq!(lines[0]["settings"]["hmr2_batch"], 4);
    let (a, b) = (sandbox.path("b1.jsonl"), sandbox.path("b4.jsonl"));
    let out = sandbox.run(&[
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--json",
    ]);
    let c: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(c["frames_compared"], 20);
    assert!(c["persons_matched"].as_u64().unwrap() > 0);
    // The same crops through the same model: only float rounding differs.
    let rotation = c["smpl"]["rotation_deg"]["max"].as_f64().unwrap();
    assert!(rotation < 0.5, "{rotation}°");
    assert!(c["smpl"]["betas_max_abs"]["max"].as_f64().unwrap() < 1e-3);
}
