//! NVIDIA GPUs, as `nvidia-smi` lists them. No `nvidia-smi`, no GPU facts: posekit
//! runs on the CPU, so a missing GPU is not a problem, only a skipped check.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::command::{run_with_timeout, Run};
use super::Probe;

/// Under WSL2 the Windows driver puts `nvidia-smi` here, often outside `PATH`.
const WSL_NVIDIA_SMI: &str = "/usr/lib/wsl/lib/nvidia-smi";

/// The query: one CSV line per device, no header, no units.
const QUERY: [&str; 2] = [
    "--query-gpu=name,driver_version,memory.total",
    "--format=csv,noheader,nounits",
];

/// One device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpuDevice {
    pub name: String,
    pub driver: String,
    /// Device memory in MiB.
    pub memory_mib: Option<u64>,
}

/// `nvidia-smi` on `PATH`, or where WSL2 keeps it.
pub fn nvidia_smi() -> Option<PathBuf> {
    which::which("nvidia-smi")
        .ok()
        .or_else(|| Some(PathBuf::from(WSL_NVIDIA_SMI)).filter(|p| p.is_file()))
}

/// Asks `nvidia-smi` for its devices, within `timeout` (it can stall while the driver
/// wakes a device up).
pub fn probe(timeout: Duration) -> Probe<Vec<GpuDevice>> {
    let Some(exe) = nvidia_smi() else {
        return Probe::Absent;
    };
    probe_with(&exe, timeout)
}

fn probe_with(exe: &Path, timeout: Duration) -> Probe<Vec<GpuDevice>> {
    let label = "nvidia-smi --query-gpu";
    match run_with_timeout(exe, &QUERY, None, timeout) {
        Run::TimedOut => Probe::timed_out(label, timeout),
        Run::NotFound => Probe::Absent,
        Run::Finished {
            success: true,
            stdout,
            ..
        } => Probe::Found(parse(&String::from_utf8_lossy(&stdout))),
        Run::Finished { stdout, stderr, .. } => {
            let text = [stdout, stderr].concat();
            let reason = String::from_utf8_lossy(&text)
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no output")
                .trim()
                .to_string();
            Probe::Failed {
                probe: label.into(),
                reason,
            }
        }
    }
}

/// Reads `name, driver, memory` CSV lines.
pub fn parse(text: &str) -> Vec<GpuDevice> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            let [name, driver, memory] = fields.as_slice() else {
                return None;
            };
            Some(GpuDevice {
                name: name.to_string(),
                driver: driver.to_string(),
                memory_mib: memory.parse().ok(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_become_devices() {
        let text =
            "NVIDIA H100 80GB HBM3, 550.54.15, 81559\nNVIDIA GeForce RTX 4090, 560.94, [N/A]\n";
        assert_eq!(
            parse(text),
            vec![
                GpuDevice {
                    name: "NVIDIA H100 80GB HBM3".into(),
                    driver: "550.54.15".into(),
                    memory_mib: Some(81559)
                },
                GpuDevice {
                    name: "NVIDIA GeForce RTX 4090".into(),
                    driver: "560.94".into(),
                    memory_mib: None
                },
            ]
        );
    }

    #[test]
    fn a_failing_nvidia_smi_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("nvidia-smi");
        std::fs::write(
            &fake,
            "#!/bin/sh\necho 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.'\nexit 9\n",
        )
        .unwrap();
        make_executable(&fake);
        let Probe::Failed { reason, .. } = probe_with(&fake, Duration::from_secs(5)) else {
            panic!("failed probe");
        };
        assert!(reason.contains("could not communicate"));
    }

    fn make_executable(path: &Path) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}
