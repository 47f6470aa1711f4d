//! `posekit bench` run as a user runs it, kept short: 2 frames, a run or two.

use serde_json::Value;

use crate::common::{posekit, stderr, CLIP, HMR2_SMALL};

#[test]
fn a_short_real_bench_gives_consistent_json() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("bench.svg");
    let md = dir.path().join("bench.md");
    let out = posekit(&[
        "bench",
        CLIP,
        "--frames",
        "2",
        // Two runs: the second must do the work again, not find the first one's result.
        "--runs",
        "2",
        "--warmup",
        "0",
        "--layouts",
        "2x1",
        "--json",
        "--plot",
        svg.to_str().unwrap(),
        "--export-markdown",
        md.to_str().unwrap(),
    ])
    .run();
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "the 1x1 baseline is added before 2x1");
    assert_eq!(results[0]["layout"]["workers"], 1);
    assert_eq!(results[0]["speedup"].as_f64().unwrap(), 1.0);
    for r in results {
        assert_eq!(r["frames"], 2, "every run processed the frames asked for");
        assert!(r["peak_rss_mib"].as_f64().unwrap() > 10.0);
        assert!(
            r["fps"]["min"].as_f64().unwrap() > 0.0,
            "every run was timed"
        );
        assert!(r["ceiling_fps"]["median"].as_f64().unwrap() > 0.0);
        let shares = &r["stage_shares"];
        let sum: f64 = ["decode", "detect", "landmarks", "hmr2", "write"]
            .iter()
            .map(|k| shares[k].as_f64().unwrap())
            .sum();
        assert!((sum - 1.0).abs() < 1e-6, "stage shares sum to 1, got {sum}");
    }
    assert!(report["best"]["workers"].as_u64().unwrap() >= 1);
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    assert!(std::fs::read_to_string(&md).unwrap().contains("| 2x1"));
}

#[test]
fn bad_layouts_are_rejected_clearly() {
    for (layouts, needle) in [
        ("0x1", "at least 1"),
        ("two", "WORKERSxTHREADS"),
        (",", "no layouts"),
    ] {
        let out = posekit(&["bench", CLIP, "--layouts", layouts]).run();
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(err.contains(needle), "{layouts}: {err}");
        assert!(!err.contains("panicked"));
    }
}

#[test]
fn save_stores_the_best_layout_where_tune_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("posekit.toml");
    let out = posekit(&[
        "bench",
        CLIP,
        "--frames",
        "2",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--layouts",
        "2x1",
        "--json",
        "--save",
        "--config",
        config.to_str().unwrap(),
    ])
    .run();
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = std::fs::read_to_string(&config).expect("config written");
    assert!(text.contains("[bench."), "{text}");
    let tune = posekit(&["tune", "--config", config.to_str().unwrap(), "--json"]).run();
    assert!(tune.status.success(), "{}", stderr(&tune));
    let plan: Value = serde_json::from_slice(&tune.stdout).unwrap();
    let layout = &plan["plan"]["layout"];
    assert_eq!(layout["source"], "bench");
    assert_eq!(layout["workers"], report["best"]["workers"]);
    assert_eq!(
        layout["threads_per_worker"],
        report["best"]["threads_per_worker"]
    );
}

#[test]
fn hmr2_stage_is_measured_when_asked() {
    let out = posekit(&[
        "bench",
        CLIP,
        "--frames",
        "8",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--layouts",
        "1x1",
        "--hmr2",
        HMR2_SMALL,
        "--json",
    ])
    .run();
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let share = report["results"][0]["stage_shares"]["hmr2"]
        .as_f64()
        .unwrap();
    assert!(share > 0.0, "HMR2 ran on the persons found: share {share}");
}
