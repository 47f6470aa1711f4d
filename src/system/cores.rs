//! How many cores this process was given: the job's allocation, not the node's size.
//!
//! Inside a cluster job the node may have 64 cores while the job was given 4. In order:
//! 1. `SLURM_CPUS_PER_TASK` (Slurm sets it for `--cpus-per-task`; with `TaskPlugin=task/none`
//!    nothing else enforces it, so it is the only place the allocation shows);
//! 2. the cgroup CPU quota (`cpu.max` in cgroup v2, `cpu.cfs_quota_us` / `cpu.cfs_period_us`
//!    in v1), rounded up: containers and Kubernetes pods limit CPU this way;
//! 3. the affinity mask (`taskset`, Slurm's task/affinity, cpusets);
//! 4. the logical cores.
//!
//! [`gather`] reads the facts; [`decide`] is pure and unit-tested.

use std::path::Path;

/// What the process can read about its allocation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoreFacts {
    /// `SLURM_CPUS_PER_TASK` as set.
    pub slurm_cpus_per_task: Option<String>,
    /// The cgroup quota as `(quota, period)` in microseconds; `None` when unlimited.
    pub cgroup_quota: Option<(u64, u64)>,
    /// CPUs in the affinity mask.
    pub affinity: Option<usize>,
    pub logical: usize,
}

/// The decision: how many, and which fact said so (shown by `doctor`, `tune`, `process`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cores {
    pub count: usize,
    pub source: &'static str,
}

pub fn decide(facts: &CoreFacts) -> Cores {
    let slurm = facts
        .slurm_cpus_per_task
        .as_deref()
        .and_then(|text| text.trim().parse::<usize>().ok())
        .filter(|n| *n > 0);
    if let Some(count) = slurm {
        return Cores {
            count,
            source: "SLURM_CPUS_PER_TASK",
        };
    }
    let quota = facts
        .cgroup_quota
        .filter(|(quota, period)| *quota > 0 && *period > 0)
        .map(|(quota, period)| quota.div_ceil(period) as usize);
    // A quota above the mask cannot be used: the smaller of the two binds.
    match (quota, facts.affinity.filter(|n| *n > 0)) {
        (Some(q), Some(a)) if a < q => Cores {
            count: a,
            source: "the affinity mask",
        },
        (Some(q), _) => Cores {
            count: q,
            source: "the cgroup CPU quota",
        },
        (None, Some(a)) => Cores {
            count: a,
            source: "the affinity mask",
        },
        (None, None) => Cores {
            count: facts.logical.max(1),
            source: "the logical cores",
        },
    }
}

/// Reads this process's facts. Cheap (a few small files), so callers may ask often.
pub fn gather() -> CoreFacts {
    CoreFacts {
        slurm_cpus_per_task: std::env::var("SLURM_CPUS_PER_TASK").ok(),
        cgroup_quota: cgroup_quota(Path::new("/proc/self/cgroup"), Path::new("/sys/fs/cgroup")),
        affinity: affinity(),
        logical: std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

fn affinity() -> Option<usize> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_getaffinity fills it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return None;
        }
        Some(libc::CPU_COUNT(&set) as usize)
    }
}

/// The quota of this process's cgroup, from `/proc/self/cgroup` and the cgroup mount.
fn cgroup_quota(self_cgroup: &Path, root: &Path) -> Option<(u64, u64)> {
    let membership = std::fs::read_to_string(self_cgroup).ok()?;
    for line in membership.lines() {
        // "0::/path" (v2) or "N:cpu,cpuacct:/path" (v1)
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let relative = path.trim_start_matches('/');
        if controllers.is_empty() {
            if let Ok(text) = std::fs::read_to_string(root.join(relative).join("cpu.max")) {
                return parse_cpu_max(&text);
            }
        } else if controllers.split(',').any(|c| c == "cpu") {
            let dir = root.join(controllers).join(relative);
            let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
            if let (Some(q), Some(p)) = (read("cpu.cfs_quota_us"), read("cpu.cfs_period_us")) {
                return parse_v1(&q, &p);
            }
        }
    }
    None
}

/// cgroup v2 `cpu.max`: `"max 100000"` (unlimited) or `"200000 100000"`.
fn parse_cpu_max(text: &str) -> Option<(u64, u64)> {
    let mut fields = text.split_whitespace();
    let quota = fields.next()?.parse().ok()?;
    let period = fields.next()?.parse().ok()?;
    Some((quota, period))
}

/// cgroup v1: a quota of -1 is unlimited.
fn parse_v1(quota: &str, period: &str) -> Option<(u64, u64)> {
    let quota: i64 = quota.trim().parse().ok()?;
    let period: u64 = period.trim().parse().ok()?;
    (quota > 0).then_some((quota as u64, period))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> CoreFacts {
        CoreFacts {
            logical: 64,
            ..CoreFacts::default()
        }
    }

    #[test]
    fn slurm_allocation_wins_over_the_node() {
        let f = CoreFacts {
            slurm_cpus_per_task: Some("4".into()),
            affinity: Some(64),
            cgroup_quota: Some((800_000, 100_000)),
            ..facts()
        };
        assert_eq!(
            decide(&f),
            Cores {
                count: 4,
                source: "SLURM_CPUS_PER_TASK"
            }
        );
    }

    #[test]
    fn a_bad_slurm_value_falls_through() {
        let f = CoreFacts {
            slurm_cpus_per_task: Some("lots".into()),
            affinity: Some(8),
            ..facts()
        };
        assert_eq!(decide(&f).count, 8);
        assert_eq!(decide(&f).source, "the affinity mask");
    }

    #[test]
    fn fractional_quota_rounds_up_and_the_smaller_bound_binds() {
        let f = CoreFacts {
            cgroup_quota: Some((150_000, 100_000)),
            affinity: Some(8),
            ..facts()
        };
        assert_eq!(
            decide(&f),
            Cores {
                count: 2,
                source: "the cgroup CPU quota"
            }
        );
        let narrow = CoreFacts {
            cgroup_quota: Some((800_000, 100_000)),
            affinity: Some(3),
            ..facts()
        };
        assert_eq!(decide(&narrow).count, 3);
    }

    #[test]
    fn nothing_known_gives_the_logical_cores() {
        assert_eq!(decide(&facts()).count, 64);
        assert_eq!(decide(&CoreFacts::default()).count, 1);
    }

    #[test]
    fn cgroup_files_are_read_for_v2_and_v1() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("fs");
        std::fs::create_dir_all(root.join("job/step")).unwrap();
        std::fs::write(root.join("job/step/cpu.max"), "300000 100000\n").unwrap();
        let membership = dir.path().join("cgroup");
        std::fs::write(&membership, "0::/job/step\n").unwrap();
        assert_eq!(cgroup_quota(&membership, &root), Some((300_000, 100_000)));

        std::fs::create_dir_all(root.join("cpu,cpuacct/pod")).unwrap();
        std::fs::write(root.join("cpu,cpuacct/pod/cpu.cfs_quota_us"), "-1\n").unwrap();
        std::fs::write(root.join("cpu,cpuacct/pod/cpu.cfs_period_us"), "100000\n").unwrap();
        std::fs::write(&membership, "4:cpu,cpuacct:/pod\n").unwrap();
        assert_eq!(cgroup_quota(&membership, &root), None);
        assert_eq!(parse_cpu_max("max 100000"), None);
    }
}
