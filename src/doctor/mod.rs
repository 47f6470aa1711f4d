//! `doctor`'s checks: pure functions from [`SystemFacts`] to a [`Check`], and the two
//! reports (a table for people, JSON for machines).
//!
//! Nothing here probes the machine; `crate::system` did that. So every case (WSL1, a
//! custom WSL2 kernel, a machine too small for the model, a port held by something that
//! is not HTTP) is a unit test over a hand-made `SystemFacts`.

mod gpu;
mod platform;
pub mod report;
pub(crate) mod resources;
mod service;
mod software;

#[cfg(test)]
pub(crate) mod fixtures;

use serde::Serialize;

use crate::system::SystemFacts;

/// How one check came out. Only `Failure` makes `doctor` exit 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warning,
    Failure,
    /// Not applicable here (no GPU tools, no service expected).
    Skipped,
}

impl Status {
    /// The mark in the table, as flutter doctor draws them.
    pub fn mark(self) -> &'static str {
        match self {
            Status::Ok => "✓",
            Status::Warning => "!",
            Status::Failure => "✗",
            Status::Skipped => "-",
        }
    }
}

/// One check's finding. This is also the JSON wire format of each `checks[]` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable identifier, as `--check` takes it.
    pub id: &'static str,
    pub status: Status,
    /// One line: what was found.
    pub summary: String,
    /// Supporting facts, one per line (versions, paths, evidence).
    pub details: Vec<String>,
    /// The exact thing to do, when the status is not ok; `null` otherwise.
    pub fix: Option<String>,
}

impl Check {
    pub fn new(id: &'static str, status: Status, summary: impl Into<String>) -> Self {
        Check {
            id,
            status,
            summary: summary.into(),
            details: Vec::new(),
            fix: None,
        }
    }

    pub fn detail(mut self, line: impl Into<String>) -> Self {
        self.details.push(line.into());
        self
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// A check's identity and its pure evaluation.
pub struct CheckDef {
    pub id: &'static str,
    /// What it looks at, for `--list`.
    pub about: &'static str,
    pub run: fn(&SystemFacts) -> Check,
}

/// The check ids in report order; clap validates `--check` against these.
pub const CHECK_IDS: [&str; 10] = [
    "platform",
    "memory",
    "cpu",
    "onnxruntime",
    "ffmpeg",
    "models",
    "config",
    "gpu",
    "service",
    "disk",
];

/// Every check, in report order.
pub const CHECKS: [CheckDef; 10] = [
    CheckDef {
        id: "platform",
        about: "Linux distribution and kernel; native Linux, WSL1 or WSL2, and the WSL version",
        run: platform::platform,
    },
    CheckDef {
        id: "memory",
        about: "RAM against what the models and workers need; the WSL2 memory cap",
        run: resources::memory,
    },
    CheckDef {
        id: "cpu",
        about: "Logical and physical cores; WSL2's processors limit",
        run: resources::cpu,
    },
    CheckDef {
        id: "onnxruntime",
        about: "ONNX Runtime library: found, where, version, execution providers",
        run: software::onnxruntime,
    },
    CheckDef {
        id: "ffmpeg",
        about: "FFmpeg libraries posekit was built against and runs with",
        run: software::ffmpeg,
    },
    CheckDef {
        id: "models",
        about: "Built-in models intact (sha256); models named in posekit.toml present",
        run: software::models,
    },
    CheckDef {
        id: "config",
        about: "posekit.toml readable, and the settings in force",
        run: software::config,
    },
    CheckDef {
        id: "gpu",
        about: "GPU readiness: NVIDIA driver and its CUDA version, the GPU build of ONNX Runtime, each library its CUDA provider lacks, whether it registers, WSL2's libcuda.so",
        run: gpu::gpu,
    },
    CheckDef {
        id: "service",
        about: "The pose service on its port: listening, speaking HTTP, GET /health = 200",
        run: service::service,
    },
    CheckDef {
        id: "disk",
        about: "Free space where outputs go",
        run: resources::disk,
    },
];

/// Runs every check, or only `only`.
pub fn run_checks(facts: &SystemFacts, only: Option<&str>) -> Vec<Check> {
    CHECKS
        .iter()
        .filter(|def| only.is_none_or(|id| id == def.id))
        .map(|def| (def.run)(facts))
        .collect()
}

/// Bytes as people read them: `1.5 GiB`, `350 MiB`.
pub(crate) fn size(bytes: u64) -> String {
    const MIB: f64 = (1u64 << 20) as f64;
    const GIB: f64 = (1u64 << 30) as f64;
    let b = bytes as f64;
    if b >= GIB {
        format!("{:.1} GiB", b / GIB)
    } else {
        format!("{:.0} MiB", b / MIB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_checks_agree() {
        let ids: Vec<&str> = CHECKS.iter().map(|c| c.id).collect();
        assert_eq!(ids, CHECK_IDS);
    }

    #[test]
    fn every_check_returns_its_own_id() {
        let facts = fixtures::native();
        for check in run_checks(&facts, None) {
            assert!(CHECK_IDS.contains(&check.id));
        }
        let only = run_checks(&facts, Some("cpu"));
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].id, "cpu");
    }

    #[test]
    fn a_fix_comes_with_every_problem() {
        for facts in [fixtures::native(), fixtures::wsl2(), fixtures::broken()] {
            for check in run_checks(&facts, None) {
                if matches!(check.status, Status::Warning | Status::Failure) {
                    assert!(check.fix.is_some(), "{check:?}");
                }
                if check.status == Status::Ok {
                    assert!(check.fix.is_none(), "{check:?}");
                }
            }
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(size(3 << 29), "1.5 GiB");
        assert_eq!(size(350 << 20), "350 MiB");
    }
}
