//! The cluster test: a real single-node Slurm (`scripts/local_slurm.sh`, daemons started by
//! hand in a temporary folder, on 127.0.0.1) runs `templates/slurm-array.sh` as a job
//! array over a manifest of real clips, one of them broken. Then one shard is killed
//! mid-run, `status` lists what is left, and the resubmission redoes only that.
//!
//! Skipped, with the reason, when Slurm is not installed (`scripts/setup.sh
//! --with-test-tools` installs it). The daemons are stopped by the PIDs they wrote.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

use crate::common::{stderr, stdout, wait_until, Sandbox};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The daemons of one test, stopped on drop.
struct Slurm {
    dir: PathBuf,
}

impl Slurm {
    /// `None` (the test is skipped) when Slurm's programs are not installed.
    fn start(dir: &Path) -> Option<Slurm> {
        let installed = ["slurmctld", "slurmd", "sbatch", "munged"]
            .iter()
            .all(|tool| which::which(tool).is_ok());
        if !installed {
            return None;
        }
        let out = Command::new(format!("{ROOT}/scripts/local_slurm.sh"))
            .arg("start")
            .arg(dir)
            .output()
            .expect("local_slurm.sh runs");
        let slurm = Slurm { dir: dir.into() };
        assert!(
            out.status.success(),
            "Slurm did not start: {}",
            stderr(&out)
        );
        Some(slurm)
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("SLURM_CONF", self.dir.join("slurm.conf"));
        command
    }

    /// Submits the array without waiting; returns the job id.
    fn submit(
        &self,
        array: &str,
        args: &[&Path],
        shards: Option<usize>,
        env: &[(&str, &str)],
    ) -> String {
        let mut command = self.command("sbatch");
        command
            .arg("--parsable")
            .arg(format!("--array={array}"))
            .arg("--cpus-per-task=1")
            .arg(format!("--output={}/log-%A_%a.txt", self.dir.display()))
            .arg(format!("{ROOT}/templates/slurm-array.sh"))
            .args(args)
            .args(shards.map(|n| n.to_string()))
            .env("POSEKIT", env!("CARGO_BIN_EXE_posekit"))
            .env_remove("POSEKIT_DEBUG_FRAME_DELAY_MS");
        for (key, value) in env {
            command.env(key, value);
        }
        let out = command.output().expect("sbatch runs");
        assert!(out.status.success(), "sbatch: {}", stderr(&out));
        stdout(&out).trim().split(';').next().unwrap().to_string()
    }

    /// Waits until the job has left the queue (done, failed or cancelled).
    fn wait(&self, job: &str) {
        let gone = wait_until(Duration::from_secs(300), || {
            let out = self
                .command("squeue")
                .args(["-h", "-j", job])
                .output()
                .unwrap();
            out.status.success() && stdout(&out).trim().is_empty()
        });
        assert!(
            gone,
            "job {job} still queued after 300 s; logs in {}",
            self.dir.display()
        );
    }
}

impl Drop for Slurm {
    fn drop(&mut self) {
        let _ = Command::new(format!("{ROOT}/scripts/local_slurm.sh"))
            .arg("stop")
            .arg(&self.dir)
            .output();
    }
}

/// Each shard's report lines, by file.
fn reports(folder: &Path) -> BTreeMap<PathBuf, Vec<Value>> {
    let files = std::fs::read_dir(folder)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_else(|_| Vec::new());
    files
        .into_iter()
        .map(|f| {
            let lines = std::fs::read_to_string(&f)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            (f, lines)
        })
        .collect()
}

/// The lines of `now` that `before` did not have yet (reports only grow).
fn new_lines(
    before: &BTreeMap<PathBuf, Vec<Value>>,
    now: &BTreeMap<PathBuf, Vec<Value>>,
) -> Vec<Value> {
    now.iter()
        .flat_map(|(file, lines)| lines[before.get(file).map_or(0, Vec::len)..].to_vec())
        .collect()
}

/// `(input file name, status)` of each line.
fn outcomes(lines: &[Value]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = lines
        .iter()
        .map(|l| {
            let name = Path::new(l["input"].as_str().unwrap()).file_name().unwrap();
            (
                name.to_string_lossy().into_owned(),
                l["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    pairs.sort();
    pairs
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn status(sandbox: &Sandbox, manifest: &Path, out: &Path) -> (Output, Value) {
    let reports = out.join("reports");
    let mut command = sandbox.posekit(&["status", "--json", "--shards", "3"]);
    command
        .arg("--manifest")
        .arg(manifest)
        .arg("--out-dir")
        .arg(out);
    command.arg("--report");
    if let Ok(dir) = std::fs::read_dir(&reports) {
        command.args(dir.map(|e| e.unwrap().path()));
    }
    let output = command.output().unwrap();
    let value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&output), stderr(&output)));
    (output, value)
}

#[test]
fn a_slurm_array_processes_each_input_once_and_resumes_after_a_kill() {
    let sandbox = Sandbox::new();
    let Some(slurm) = Slurm::start(&sandbox.path("slurm")) else {
        eprintln!("skipped: Slurm is not installed (slurmctld, slurmd, sbatch, munged); scripts/setup.sh --with-test-tools installs slurm-wlm and munge");
        return;
    };
    // Sorted: broken, c1, c2, c3, c4 → shard 0 takes broken and c3, 1 takes c1 and c4,
    // 2 takes c2.
    std::fs::create_dir(sandbox.path("clips")).unwrap();
    for name in ["c1", "c2", "c3", "c4"] {
        sandbox.clip(&format!("clips/{name}.webm"));
    }
    std::fs::write(sandbox.path("clips/broken.mp4"), b"not a video").unwrap();
    let manifest = sandbox.path("videos.txt");
    std::fs::write(
        &manifest,
        "# four clips and a broken one\nclips/c1.webm\nclips/c2.webm\nclips/c3.webm\nclips/c4.webm\nclips/broken.mp4\n",
    )
    .unwrap();
    let xdg = sandbox.path("xdg");
    let config = [("XDG_CONFIG_HOME", xdg.to_str().unwrap())];

    // 1. The whole array: each good clip once, the broken one reported, status agrees.
    let first = sandbox.path("first");
    let job = slurm.submit("0-2", &[&manifest, &first], None, &config);
    slurm.wait(&job);
    let lines = new_lines(&BTreeMap::new(), &reports(&first.join("reports")));
    assert_eq!(
        outcomes(&lines),
        pairs(&[
            ("broken.mp4", "failed"),
            ("c1.webm", "done"),
            ("c2.webm", "done"),
            ("c3.webm", "done"),
            ("c4.webm", "done")
        ]),
        "{lines:#?}"
    );
    for line in &lines {
        assert_eq!(line["shard"].as_str().unwrap().split('/').nth(1), Some("3"));
    }
    for name in ["c1", "c2", "c3", "c4"] {
        assert!(
            first.join(format!("clips/{name}.poses.jsonl")).is_file(),
            "{name}"
        );
    }
    let (_, s) = status(&sandbox, &manifest, &first);
    assert_eq!(
        (
            s["done"].as_u64(),
            s["failed"].as_u64(),
            s["missing"].as_u64()
        ),
        (Some(4), Some(1), Some(0))
    );
    assert_eq!(
        s["array"], "0",
        "only the broken clip's shard has work left: {s}"
    );

    // 2. Slowed down, shard 1 is cancelled once its first clip is done.
    let second = sandbox.path("second");
    let slow = [config[0], ("POSEKIT_DEBUG_FRAME_DELAY_MS", "100")];
    let job = slurm.submit("0-2", &[&manifest, &second], None, &slow);
    let report_1 = second.join("reports/report-1.jsonl");
    let first_done = wait_until(Duration::from_secs(120), || {
        std::fs::read_to_string(&report_1).is_ok_and(|t| t.lines().count() == 1)
    });
    assert!(first_done, "shard 1 never finished its first clip");
    let cancel = slurm
        .command("scancel")
        .arg(format!("{job}_1"))
        .output()
        .unwrap();
    assert!(cancel.status.success(), "scancel: {}", stderr(&cancel));
    slurm.wait(&job);
    let (_, s) = status(&sandbox, &manifest, &second);
    assert_eq!(s["done"].as_u64(), Some(3), "{s}");
    assert_eq!(s["failed"].as_u64(), Some(1), "{s}");
    assert_eq!(s["array"], "0-1", "{s}");
    let c4 = s["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["input"].as_str().unwrap().ends_with("c4.webm"))
        .unwrap();
    assert!(
        matches!(c4["state"].as_str(), Some("interrupted" | "missing")),
        "{c4}"
    );
    let before = reports(&second.join("reports"));
    let c1_result = second.join("clips/c1.poses.jsonl");
    let c1_made = std::fs::metadata(&c1_result).unwrap().modified().unwrap();

    // 3. Resubmitting what status listed redoes only the cancelled clip.
    let job = slurm.submit(
        s["array"].as_str().unwrap(),
        &[&manifest, &second],
        Some(3),
        &config,
    );
    slurm.wait(&job);
    let lines = new_lines(&before, &reports(&second.join("reports")));
    assert_eq!(
        outcomes(&lines),
        pairs(&[
            ("broken.mp4", "failed"),
            ("c1.webm", "skipped"),
            ("c3.webm", "skipped"),
            ("c4.webm", "done")
        ]),
        "{lines:#?}"
    );
    assert_eq!(
        std::fs::metadata(&c1_result).unwrap().modified().unwrap(),
        c1_made
    );
    let (output, s) = status(&sandbox, &manifest, &second);
    assert_eq!(
        (s["done"].as_u64(), s["failed"].as_u64()),
        (Some(4), Some(1)),
        "{s}"
    );
    assert!(
        !output.status.success(),
        "work left (the broken clip) exits 1"
    );
    drop(slurm);
}
