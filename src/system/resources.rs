//! Memory, cores and disk space, through sysinfo.

use std::path::{Path, PathBuf};

use sysinfo::{CpuRefreshKind, Disks, MemoryRefreshKind, System};

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
    /// What this process may use (affinity, cgroup quota): posekit's default worker count.
    pub usable: usize,
}

/// Free space where outputs go.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskFacts {
    /// The folder outputs go to (the working directory: results land beside the videos,
    /// and people run posekit where their videos are).
    pub path: PathBuf,
    /// The mount holding it, its file system type, and space; `None` when not found.
    pub mount: Option<Mount>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mount {
    pub mount_point: PathBuf,
    pub file_system: String,
    pub total: u64,
    pub available: u64,
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

pub fn cpu() -> CpuFacts {
    let logical = System::new()
        .map(|mut system| {
            system.refresh_cpu_list(CpuRefreshKind::nothing());
            system.cpus().len()
        })
        .unwrap_or(0);
    let usable = std::thread::available_parallelism().map_or(1, |n| n.get());
    CpuFacts {
        logical: logical.max(usable),
        physical: System::physical_core_count().ok(),
        usable,
    }
}

pub fn disk(path: &Path) -> DiskFacts {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let mount = Disks::new_with_refreshed_list().ok().and_then(|disks| {
        let mounts: Vec<Mount> = disks
            .iter()
            .map(|d| Mount {
                mount_point: d.mount_point().to_path_buf(),
                file_system: d.file_system().to_string_lossy().into_owned(),
                total: d.total_space(),
                available: d.available_space(),
            })
            .collect();
        containing_mount(&path, mounts)
    });
    DiskFacts { path, mount }
}

/// The mount with the longest mount point that holds `path`.
fn containing_mount(path: &Path, mounts: Vec<Mount>) -> Option<Mount> {
    mounts
        .into_iter()
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
    fn this_machine_has_memory_and_cores() {
        let memory = memory();
        assert!(memory.total > 0 && memory.available <= memory.total);
        let cpu = cpu();
        assert!(cpu.logical >= 1 && cpu.usable >= 1);
    }
}
