//! Memory and cores (through sysinfo) and free disk space (statvfs on the output folder).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use sysinfo::{CpuRefreshKind, MemoryRefreshKind, System};

use super::Probe;

/// RAM as the kernel reports it. Under WSL2 the "machine" is the utility VM, so `total`
/// is already the WSL memory cap, not the Windows host's RAM.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryFacts {
    pub total: u64,
    pub available: u64,
    pub swap_total: u64,
    /// A cgroup (container) memory limit below the machine's, when there is one.
    pub cgroup_limit: Option<u64>,
}

/// Cores as Linux sees them (under WSL2, after `.wslconfig`'s `processors`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CpuFacts {
    pub logical: usize,
    pub physical: Option<usize>,
    /// What this process was given (see [`super::cores`]): posekit's default worker count.
    pub usable: usize,
    /// Which fact gave `usable` (`SLURM_CPUS_PER_TASK`, the cgroup CPU quota, ...).
    pub usable_source: &'static str,
}

/// Free space where outputs go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskFacts {
    /// The folder outputs go to (the working directory: results land beside the videos,
    /// and people run posekit where their videos are).
    pub path: PathBuf,
    /// The mount holding it and its file system type (`ext4`, `9p`, ...), from
    /// `/proc/self/mounts`; `None` when not found.
    pub mount: Option<Mount>,
    /// `(total, available)` bytes from statvfs, which can hang on a dead network mount.
    pub space: Probe<(u64, u64)>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mount {
    pub mount_point: PathBuf,
    pub file_system: String,
}

pub fn memory() -> MemoryFacts {
    let Ok(mut system) = System::new() else {
        return MemoryFacts::default();
    };
    system.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram().with_swap());
    let total = system.total_memory();
    MemoryFacts {
        total,
        available: system.available_memory(),
        swap_total: system.total_swap(),
        cgroup_limit: system
            .cgroup_limits()
            .map(|limits| limits.total_memory)
            .filter(|limit| *limit > 0 && *limit < total),
    }
}

/// The cores this process was given (a Slurm allocation, a cgroup quota, an affinity
/// mask): the one place posekit asks, for its default worker count and its layout bound.
pub fn usable_cores() -> usize {
    super::cores::decide(&super::cores::gather()).count
}

pub fn cpu() -> CpuFacts {
    let logical = System::new()
        .map(|mut system| {
            system.refresh_cpu_list(CpuRefreshKind::nothing());
            system.cpus().len()
        })
        .unwrap_or(0);
    let cores = super::cores::decide(&super::cores::gather());
    CpuFacts {
        logical: logical.max(cores.count),
        physical: System::physical_core_count().ok(),
        usable: cores.count,
        usable_source: cores.source,
    }
}

/// The CPU's model name (`AMD EPYC 7B13`), as the kernel reports it; `None` when unknown.
pub fn cpu_model() -> Option<String> {
    let mut system = System::new().ok()?;
    system.refresh_cpu_list(CpuRefreshKind::nothing());
    let brand = system.cpus().first()?.brand().trim().to_string();
    (!brand.is_empty()).then_some(brand)
}

pub fn disk(path: &Path, timeout: Duration) -> DiskFacts {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let mount = std::fs::read_to_string("/proc/self/mounts")
        .ok()
        .and_then(|text| containing_mount(&path, parse_mounts(&text)));
    DiskFacts {
        space: space(&path, timeout),
        path,
        mount,
    }
}

/// statvfs on a helper thread, so a hung NFS or 9P mount costs `timeout`, not forever.
/// The thread is left behind if it hangs; the process exits soon after anyway.
fn space(path: &Path, timeout: Duration) -> Probe<(u64, u64)> {
    let label = format!("statvfs {}", path.display());
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
        return Probe::Failed {
            probe: label,
            reason: "the path holds a NUL byte".into(),
        };
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
        // SAFETY: a valid NUL-terminated path and a buffer of the right type.
        let rc = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) };
        let result = if rc == 0 {
            // SAFETY: statvfs succeeded, so it filled the buffer.
            let stat = unsafe { stat.assume_init() };
            let unit = stat.f_frsize;
            Ok((stat.f_blocks * unit, stat.f_bavail * unit))
        } else {
            Err(std::io::Error::last_os_error().to_string())
        };
        let _ = tx.send(result);
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(space)) => Probe::Found(space),
        Ok(Err(reason)) => Probe::Failed {
            probe: label,
            reason,
        },
        Err(_) => Probe::timed_out(&label, timeout),
    }
}

/// `/proc/self/mounts` lines: `device mount_point fstype options 0 0`, with spaces in
/// mount points written as `\040`.
pub fn parse_mounts(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let _device = fields.next()?;
            let mount_point = fields.next()?.replace("\\040", " ");
            let file_system = fields.next()?.to_string();
            Some(Mount {
                mount_point: mount_point.into(),
                file_system,
            })
        })
        .collect()
}

/// The mount with the longest mount point that holds `path` (the last one mounted
/// there wins, as it hides the others).
fn containing_mount(path: &Path, mounts: Vec<Mount>) -> Option<Mount> {
    mounts
        .into_iter()
        .rev()
        .filter(|m| path.starts_with(&m.mount_point))
        .max_by_key(|m| m.mount_point.as_os_str().len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(point: &str) -> Mount {
        Mount {
            mount_point: point.into(),
            ..Mount::default()
        }
    }

    #[test]
    fn the_deepest_mount_holding_the_path_wins() {
        let found = containing_mount(
            Path::new("/mnt/c/Users/ana/videos"),
            vec![mount("/"), mount("/mnt/c"), mount("/mnt/cd")],
        );
        assert_eq!(found.unwrap().mount_point, PathBuf::from("/mnt/c"));
    }

    #[test]
    fn mounts_with_spaces_and_wsl_drives() {
        let text = "/dev/sda1 / ext4 rw 0 0\nC:\\134 /mnt/c 9p rw 0 0\n/dev/sdb /media/my\\040disk ext4 rw 0 0\n";
        let mounts = parse_mounts(text);
        assert_eq!(mounts[1].file_system, "9p");
        assert_eq!(mounts[2].mount_point, PathBuf::from("/media/my disk"));
        let found = containing_mount(Path::new("/mnt/c/videos"), mounts).unwrap();
        assert_eq!(found.file_system, "9p");
    }

    #[test]
    fn free_space_of_this_folder() {
        let facts = disk(Path::new("."), Duration::from_secs(5));
        let Probe::Found((total, available)) = facts.space else {
            panic!("{:?}", facts.space);
        };
        assert!(total > 0 && available <= total);
        assert!(facts.mount.is_some());
    }

    #[test]
    fn this_machine_has_memory_and_cores() {
        let memory = memory();
        assert!(memory.total > 0 && memory.available <= memory.total);
        let cpu = cpu();
        assert!(cpu.logical >= 1 && cpu.usable >= 1);
    }
}
