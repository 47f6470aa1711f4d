//! Memory, CPU and disk checks: does the work fit this machine (or this WSL2 VM)?

use super::{size, Check, Status};
use crate::system::wsl::Kind;
use crate::system::{Probe, SystemFacts, WslConfigFile};

/// Resident memory of `posekit process` with BlazePose, before any worker: measured at
/// about 260 MB peak RSS with 1 worker and 350 MB with 2 workers on a 1768×994 video
/// (Sports2D demo), so ≈ 170 MB of base (runtime, decoder, queues, the embedded models)...
pub(crate) const BASE_BYTES: u64 = 170 << 20;
/// ...plus ≈ 90 MB per worker (its sessions, arenas and frames), from the same runs.
pub(crate) const PER_WORKER_BYTES: u64 = 90 << 20;

/// Below this much free space an overlay video of a long clip may not fit.
const DISK_WARN_BYTES: u64 = 2 << 30;
/// Below this, even the JSON Lines result of a long video may not fit.
const DISK_FAIL_BYTES: u64 = 200 << 20;

/// Workers in force: the config's, else one per usable core (`process`'s default).
fn workers(facts: &SystemFacts) -> usize {
    facts
        .config
        .settings()
        .workers
        .unwrap_or(facts.cpu.usable.max(1))
}

/// The `.wslconfig` facts under WSL2, if it was read.
fn wslconfig(facts: &SystemFacts) -> Option<&WslConfigFile> {
    (facts.platform.kind().0 == Kind::Wsl2)
        .then(|| facts.wslconfig.found())
        .flatten()
}

/// Memory needed: base + per worker + every configured model's file. The file size is
/// the starting estimate for a user model's weights, counted once because workers share
/// one process (activations are not counted: they depend on the model).
pub fn needed_bytes(facts: &SystemFacts, workers: usize) -> u64 {
    let models: u64 = facts
        .models
        .configured
        .iter()
        .filter_map(|m| m.bytes.as_ref().ok())
        .sum();
    BASE_BYTES + PER_WORKER_BYTES * workers as u64 + models
}

pub fn memory(facts: &SystemFacts) -> Check {
    let m = &facts.memory;
    let workers = workers(facts);
    let need = needed_bytes(facts, workers);
    let limit = m.cgroup_limit.unwrap_or(m.total);
    let models = match facts.models.configured.len() {
        0 => "BlazePose".to_string(),
        _ => {
            let names: Vec<&str> = facts
                .models
                .configured
                .iter()
                .map(|m| m.name.as_str())
                .collect();
            format!("BlazePose + {}", names.join(", "))
        }
    };
    let summary = format!(
        "{} total, {} available; {models} with {workers} worker{} needs about {}",
        size(m.total),
        size(m.available),
        if workers == 1 { "" } else { "s" },
        size(need)
    );
    let status = if need > limit {
        Status::Failure
    } else if need > m.available {
        Status::Warning
    } else {
        Status::Ok
    };
    let mut check = Check::new("memory", status, summary).detail(format!(
        "estimate: {} base + {} per worker (BlazePose, measured){}",
        size(BASE_BYTES),
        size(PER_WORKER_BYTES),
        if facts.models.configured.is_empty() {
            ""
        } else {
            " + each configured model's file size"
        }
    ));
    if let Some(limit) = m.cgroup_limit {
        check = check.detail(format!("container (cgroup) memory limit: {}", size(limit)));
    }
    let wsl2 = facts.platform.kind().0 == Kind::Wsl2;
    let wslconfig = wslconfig(facts);
    if wsl2 {
        check = check.detail(format!(
            "WSL2 memory cap in force: {} (what Linux sees as total)",
            size(m.total)
        ));
        check = check.detail(match wslconfig {
            Some(WslConfigFile {
                path,
                config: Some(c),
            }) => match c.get("wsl2", "memory") {
                Some(e) => format!("{}: memory={} (line {})", path.display(), e.value, e.line),
                None => format!(
                    "{}: no memory= (default: half of Windows RAM)",
                    path.display()
                ),
            },
            Some(WslConfigFile { path, config: None }) => format!(
                "no {} (defaults: memory = half of Windows RAM, swap = a quarter)",
                path.display()
            ),
            None => "the .wslconfig could not be located".to_string(),
        });
    }
    if status == Status::Ok {
        return check;
    }
    let fitting = (m
        .available
        .min(limit)
        .saturating_sub(need - PER_WORKER_BYTES * workers as u64)
        / PER_WORKER_BYTES) as usize;
    let fewer = if fitting >= 1 && fitting < workers {
        format!(" Or use fewer workers: `--workers {fitting}` (or `[process] workers = {fitting}` in posekit.toml).")
    } else {
        String::new()
    };
    let fix = if status == Status::Warning {
        format!(
            "Close other programs to free about {} of memory.{fewer}",
            size(need - m.available)
        )
    } else if wsl2 {
        let path = wslconfig.map_or("%UserProfile%\\.wslconfig".into(), |w| {
            w.path.display().to_string()
        });
        let want = need.div_ceil(1 << 30) + 1;
        format!(
            "Raise WSL2's memory cap: set `memory={want}GB` under [wsl2] in {path} (Windows needs some left), \
             then run `wsl --shutdown` from PowerShell and reopen WSL.{fewer}"
        )
    } else {
        format!("This machine has too little memory for this model and worker layout.{fewer}")
    };
    check.fix(fix)
}

pub fn cpu(facts: &SystemFacts) -> Check {
    let c = &facts.cpu;
    let physical = c
        .physical
        .map_or(String::new(), |p| format!(" ({p} physical)"));
    let mut check = Check::new(
        "cpu",
        Status::Ok,
        format!(
            "{} logical cores{physical}; posekit uses {} by default (from {})",
            c.logical, c.usable, c.usable_source
        ),
    );
    let configured = facts.config.settings().workers;
    if let Some(w) = configured.filter(|w| *w > c.logical) {
        check.status = Status::Warning;
        check.summary = format!(
            "{} logical cores{physical}, but posekit.toml asks for {w} workers",
            c.logical
        );
        check = check.fix(format!(
            "Extra workers only add memory and contention: set `[process] workers = {}` in posekit.toml",
            c.logical
        ));
    }
    if facts.platform.kind().0 != Kind::Wsl2 {
        return check;
    }
    let windows = facts
        .platform
        .windows
        .found()
        .and_then(|w| w.logical_processors);
    if let Some(n) = windows {
        check = check.detail(format!("Windows has {n} logical processors"));
    }
    let processors =
        wslconfig(facts).and_then(|w| Some((w, w.config.as_ref()?.get("wsl2", "processors")?)));
    match processors {
        Some((w, entry)) => {
            check = check.detail(format!(
                "{}: processors={} (line {})",
                w.path.display(),
                entry.value,
                entry.line
            ));
            let limited = entry.value.trim().parse::<usize>().ok();
            if let (Some(p), Some(n)) = (limited, windows) {
                if p < n && check.status == Status::Ok {
                    check.status = Status::Warning;
                    check.summary = format!(
                        "{} logical cores{physical}: .wslconfig limits WSL2 to {p} of Windows' {n}",
                        c.logical
                    );
                    check = check.fix(format!(
                        "For more workers, raise or remove `processors={p}` under [wsl2] in {} (line {}), \
                         then run `wsl --shutdown` from PowerShell",
                        w.path.display(),
                        entry.line
                    ));
                }
            }
        }
        None => {
            check = check.detail("no processors= in .wslconfig: WSL2 uses every logical processor")
        }
    }
    check
}

pub fn disk(facts: &SystemFacts) -> Check {
    let d = &facts.disk;
    let (total, available) = match &d.space {
        Probe::Found(space) => *space,
        Probe::TimedOut { probe, after } => {
            return Check::new(
                "disk",
                Status::Warning,
                format!("`{probe}` did not answer within {after:?}"),
            )
            .fix("The file system under this folder is stuck (a dead network or Windows mount?): work from a local folder")
        }
        Probe::Failed { probe, reason } => {
            return Check::new("disk", Status::Warning, format!("`{probe}` failed: {reason}"))
                .fix(format!("Check it yourself: `df -h {}`", d.path.display()))
        }
        Probe::Absent => return Check::new("disk", Status::Skipped, "free space not probed"),
    };
    let (on, file_system) = d.mount.as_ref().map_or((String::new(), ""), |m| {
        (
            format!(" on {} ({})", m.mount_point.display(), m.file_system),
            m.file_system.as_str(),
        )
    });
    let summary = format!(
        "{} free of {}{on} for {}",
        size(available),
        size(total),
        d.path.display()
    );
    let status = if available < DISK_FAIL_BYTES {
        Status::Failure
    } else if available < DISK_WARN_BYTES {
        Status::Warning
    } else {
        Status::Ok
    };
    let mut check = Check::new("disk", status, summary)
        .detail("results go beside each video (or where -o/--render say); checked here: the working directory");
    if status != Status::Ok {
        return check.fix(
            "Free some space (an overlay video needs about as much as its source), or write the results \
             to another disk with -o and --render",
        );
    }
    let windows_drive = matches!(file_system, "9p" | "drvfs" | "v9fs");
    if windows_drive && facts.platform.kind().0 != Kind::Native {
        check.status = Status::Warning;
        check = check.fix(
            "This folder is on a Windows drive, reached through WSL's slow 9P bridge: keep videos and \
             results in the Linux file system (for example ~/videos) and copy the results to Windows at the end",
        );
    }
    check
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::fixtures::{self, GIB};
    use crate::system::{wslconfig, ConfiguredModel};

    #[test]
    fn blazepose_fits_a_normal_machine() {
        let check = memory(&fixtures::native());
        assert_eq!(check.status, Status::Ok);
        assert_eq!(
            check.summary,
            "24.0 GiB total, 20.0 GiB available; BlazePose with 2 workers needs about 350 MiB"
        );
    }

    #[test]
    fn a_machine_too_small_for_the_model_fails() {
        let mut facts = fixtures::native();
        facts.memory.total = 2 * GIB;
        facts.memory.available = 3 * GIB / 2;
        facts.models.configured = vec![ConfiguredModel {
            name: "hmr2".into(),
            path: "/models/hmr2.onnx".into(),
            bytes: Ok(2_700_000_000),
        }];
        let check = memory(&facts);
        assert_eq!(check.status, Status::Failure);
        assert!(check
            .summary
            .contains("BlazePose + hmr2 with 2 workers needs about 2.9 GiB"));
        assert!(check.fix.unwrap().contains("too little memory"));
    }

    #[test]
    fn under_wsl2_the_fix_raises_the_cap_in_wslconfig() {
        let mut facts = fixtures::wsl2();
        facts.models.configured = vec![ConfiguredModel {
            name: "hmr2".into(),
            path: "/models/hmr2.onnx".into(),
            bytes: Ok(9 * GIB),
        }];
        let check = memory(&facts);
        assert_eq!(check.status, Status::Failure);
        let fix = check.fix.unwrap();
        assert!(
            fix.contains("`memory=11GB` under [wsl2] in /mnt/c/Users/ana/.wslconfig"),
            "{fix}"
        );
        assert!(fix.contains("wsl --shutdown"));
        assert!(check
            .details
            .contains(&"/mnt/c/Users/ana/.wslconfig: memory=8GB (line 3)".to_string()));
    }

    #[test]
    fn wsl2_without_wslconfig_names_the_defaults() {
        let check = memory(&fixtures::wsl2_defaults());
        assert!(check
            .details
            .iter()
            .any(|d| d.starts_with("no /mnt/c/Users/ana/.wslconfig")));
        let mut facts = fixtures::wsl2();
        facts.wslconfig = Probe::Found(WslConfigFile {
            path: "/mnt/c/Users/ana/.wslconfig".into(),
            config: Some(wslconfig::parse(fixtures::WSLCONFIG_PLAIN)),
        });
        let check = memory(&facts);
        assert!(check
            .details
            .iter()
            .any(|d| d.contains("no memory= (default: half of Windows RAM)")));
    }

    #[test]
    fn busy_memory_warns_and_suggests_fewer_workers() {
        let mut facts = fixtures::native();
        facts.cpu.usable = 8;
        facts.memory.available = 500 << 20;
        let check = memory(&facts);
        assert_eq!(check.status, Status::Warning);
        assert!(check.fix.unwrap().contains("`--workers 3`"));
    }

    #[test]
    fn wslconfig_processors_limit_warns() {
        let check = cpu(&fixtures::wsl2());
        assert_eq!(check.status, Status::Warning);
        assert!(check.summary.contains("limits WSL2 to 4 of Windows' 8"));
        assert!(check.fix.unwrap().contains("processors=4"));
        let check = cpu(&fixtures::wsl2_defaults());
        assert_eq!(check.status, Status::Ok);
        assert!(check
            .details
            .iter()
            .any(|d| d.contains("uses every logical processor")));
    }

    #[test]
    fn too_many_configured_workers_warn() {
        let check = cpu(&fixtures::broken());
        assert_eq!(check.status, Status::Warning);
        assert!(check.fix.unwrap().contains("workers = 4"));
    }

    #[test]
    fn disk_space_thresholds_and_windows_drives() {
        assert_eq!(disk(&fixtures::native()).status, Status::Ok);
        assert_eq!(disk(&fixtures::broken()).status, Status::Failure);
        let mut facts = fixtures::wsl2();
        let mount = facts.disk.mount.as_mut().unwrap();
        mount.file_system = "9p".into();
        mount.mount_point = "/mnt/c".into();
        let check = disk(&facts);
        assert!(check.summary.contains("on /mnt/c (9p)"));
        assert_eq!(check.status, Status::Warning);
        assert!(check.fix.unwrap().contains("9P"));
        facts.disk.space = Probe::timed_out("statvfs /mnt/c", std::time::Duration::from_secs(3));
        let check = disk(&facts);
        assert_eq!(check.status, Status::Warning);
        assert!(check.summary.contains("`statvfs /mnt/c` did not answer"));
    }
}
