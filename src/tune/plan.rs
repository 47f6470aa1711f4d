//! The decision: a pure function from the machine's facts and the model's cost to a
//! [`Plan`]: the worker layout for `process` and, under WSL2, the `.wslconfig` values,
//! each with a one-line reason. Nothing here reads or writes a file, so every machine
//! (2 to 64 cores, 8 to 64 GB, WSL2 capped or not, native) is a unit test.

use std::path::PathBuf;

use serde::Serialize;

use super::cost::ModelCost;
use super::size;
use crate::config::SavedLayout;
use crate::system::wsl::Kind;
use crate::system::wslconfig::{parse_size, WslConfig};
use crate::system::SystemFacts;

const GIB: u64 = 1 << 30;

/// Memory kept free for the rest of Linux beside posekit: the shell, systemd, the page
/// cache FFmpeg reads the video through, and whatever else the user runs. Under WSL2 it
/// is added to the plan's need when sizing `memory`; on native Linux it is subtracted.
pub const LINUX_HEADROOM: u64 = 2 * GIB;

/// Windows keeps at least this much (or a quarter of its RAM, if more) when tune sizes
/// WSL's cap: the desktop, a browser and WSL's own VM overhead live there.
pub const WINDOWS_RESERVE_MIN: u64 = 4 * GIB;

/// What the user asked of the plan beyond the facts.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Windows must reach the pose service on `localhost` (`networkingMode=mirrored`).
    pub expose_service: bool,
    /// Windows' RAM as the user states it (`--host-memory`); otherwise inferred.
    pub host_memory: Option<u64>,
    /// This machine's key (see `tune::machine`), for the plan's record.
    pub machine_key: String,
    /// The pose service's port, for the networking reasons.
    pub service_port: u16,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    pub platform: Kind,
    pub machine_key: String,
    pub model: ModelCost,
    pub layout: LayoutPlan,
    /// `None` on native Linux and WSL1, where no `.wslconfig` applies.
    pub wslconfig: Option<WslPlan>,
    /// Things the user should know that are not a value (one line each).
    pub notes: Vec<String>,
}

/// Where the layout came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// `posekit bench --save` measured it on this machine for this model.
    Bench,
    /// Cores and the memory model.
    Estimate,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayoutPlan {
    pub workers: usize,
    pub threads_per_worker: usize,
    pub source: Source,
    /// Cores the layout is for (under WSL2, after `processors`).
    pub cores: usize,
    /// Where that number came from (`SLURM_CPUS_PER_TASK`, `.wslconfig processors`, ...).
    pub cores_source: &'static str,
    /// Memory the layout may use, after the headroom.
    pub memory_budget_bytes: u64,
    /// Memory the layout needs, by the cost model.
    pub memory_needed_bytes: u64,
    pub workers_reason: String,
    pub threads_reason: String,
    pub memory_reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WslPlan {
    /// `None` when it could not be located (then pass `--wslconfig`).
    pub path: Option<PathBuf>,
    pub exists: bool,
    /// Windows' RAM, when known or inferred, and how.
    pub host_memory_bytes: Option<u64>,
    pub host_memory_basis: String,
    pub settings: Vec<WslSetting>,
}

/// One `.wslconfig` value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WslSetting {
    pub section: &'static str,
    pub key: &'static str,
    pub value: String,
    /// The value in the file now (the line WSL uses), and that line's number.
    pub current: Option<String>,
    pub line: Option<usize>,
    /// Whether an existing file needs this line added or changed. A new file gets every
    /// setting, written out so the user can see and change them.
    pub change: bool,
    pub reason: String,
}

/// Decides the plan. `saved` is bench's measured layout for this machine and model.
pub fn plan(
    facts: &SystemFacts,
    cost: &ModelCost,
    saved: Option<SavedLayout>,
    options: &PlanOptions,
) -> Plan {
    let (kind, _) = facts.platform.kind();
    let mut notes = Vec::new();
    let file = facts.wslconfig.found();
    let config: Option<&WslConfig> = file.and_then(|f| f.config.as_ref());
    let get = |section: &str, key: &str| config.and_then(|c| c.get(section, key));

    let windows_cores = facts
        .platform
        .windows
        .found()
        .and_then(|w| w.logical_processors);
    let user_processors = config.and_then(WslConfig::processors).filter(|n| *n >= 1);
    let (cores, cores_source) = match (kind, user_processors, windows_cores) {
        (Kind::Wsl2, Some(n), _) => (n, "processors in .wslconfig"),
        (Kind::Wsl2, None, Some(n)) => (n, "Windows' logical processors"),
        (Kind::Wsl2, None, None) => (facts.cpu.logical, "the logical cores"),
        _ => (facts.cpu.usable, facts.cpu.usable_source),
    };
    let cores = cores.max(1);

    // The most memory posekit's machine may have: native, what is there; WSL2, the cap
    // tune may set, never below the cap in force (tune does not shrink the VM).
    let file_memory = config.and_then(WslConfig::memory_bytes);
    let (host, host_basis) = match (options.host_memory, file_memory) {
        (Some(host), _) => (Some(host), "as given by --host-memory".to_string()),
        (None, None) => (
            Some(2 * facts.memory.total),
            format!(
                "assumed about twice the {} WSL sees: with no memory= WSL's cap is half of Windows RAM",
                size(facts.memory.total)
            ),
        ),
        (None, Some(_)) => (
            None,
            "unknown: .wslconfig sets memory=, so Linux cannot see Windows RAM (pass --host-memory SIZE to let tune raise the cap)"
                .to_string(),
        ),
    };
    let in_force = file_memory.unwrap_or(facts.memory.total);
    let ceiling = match kind {
        Kind::Wsl2 => host.map_or(in_force, spare).max(in_force),
        _ => facts.memory.cgroup_limit.unwrap_or(facts.memory.total),
    };
    let budget = ceiling.saturating_sub(LINUX_HEADROOM);

    let fit = cost.workers_within(budget);
    let (workers, threads, source, workers_reason, threads_reason) = match &saved {
        Some(s) => (
            s.workers,
            s.threads_per_worker,
            Source::Bench,
            format!(
                "measured best on this machine: {:.1} fps (posekit bench, {})",
                s.fps, s.measured
            ),
            "from the same measurement".to_string(),
        ),
        None => {
            let workers = fit.min(cores).max(1);
            let threads = (cores / workers).max(1);
            let workers_reason = if workers == cores {
                format!(
                    "one per core ({cores}): workers with one ONNX Runtime thread each scale best"
                )
            } else {
                format!(
                    "memory fits {} of the {cores} cores' workers ({} for workers after {} of base and shared weights)",
                    fit.max(1),
                    size(budget.saturating_sub(cost.base_bytes + cost.shared_weights_bytes)),
                    size(cost.base_bytes + cost.shared_weights_bytes)
                )
            };
            let threads_reason = if threads == 1 {
                "one per worker: the workers already fill the cores".to_string()
            } else {
                format!(
                    "the {} cores the workers leave go to ONNX Runtime inside each",
                    cores - workers
                )
            };
            (
                workers,
                threads,
                Source::Estimate,
                workers_reason,
                threads_reason,
            )
        }
    };
    let need = cost.need(workers);
    if need > budget {
        notes.push(format!(
            "{} with {workers} worker{} needs about {}, more than the {} posekit can have here ({} less {} for Linux): expect swapping or an out-of-memory stop",
            cost.name,
            plural(workers),
            size(need),
            size(budget),
            size(ceiling),
            size(LINUX_HEADROOM)
        ));
    }
    let layout = LayoutPlan {
        workers,
        threads_per_worker: threads,
        source,
        cores,
        cores_source,
        memory_budget_bytes: budget,
        memory_needed_bytes: need,
        workers_reason,
        threads_reason,
        memory_reason: format!(
            "{} + {} × {} workers{}",
            size(cost.base_bytes + cost.shared_weights_bytes),
            size(cost.per_worker_bytes),
            workers,
            if cost.shared_weights_bytes > 0 {
                " (weights shared, counted once)"
            } else {
                ""
            }
        ),
    };

    let wslconfig = match kind {
        Kind::Native => {
            notes.push(
                "native Linux: there is no .wslconfig; only the worker layout applies".into(),
            );
            None
        }
        Kind::Wsl1 => {
            notes.push(
                "WSL1: .wslconfig applies to WSL2 only; convert with `wsl --set-version <distro> 2` from Windows, then run tune again"
                    .into(),
            );
            None
        }
        Kind::Wsl2 => {
            let mut settings = Vec::new();
            let setting = |key: &'static str, value: String, change: bool, reason: String| {
                let current = get("wsl2", key);
                WslSetting {
                    section: "wsl2",
                    key,
                    value,
                    current: current.map(|e| e.value.clone()),
                    line: current.map(|e| e.line),
                    change,
                    reason,
                }
            };
            // memory
            let want = need + LINUX_HEADROOM;
            let target = want.div_ceil(GIB).min(ceiling / GIB) * GIB;
            let memory = if want <= in_force || target <= in_force {
                let value = get("wsl2", "memory").map_or_else(|| gb(in_force), |e| e.value.clone());
                let reason = if want <= in_force {
                    format!(
                        "the {} in force fits the plan's {} + {} for Linux",
                        size(in_force),
                        size(need),
                        size(LINUX_HEADROOM)
                    )
                } else {
                    format!(
                        "kept: the plan wants {}, but Windows' RAM is {host_basis}",
                        size(want)
                    )
                };
                setting("memory", value, false, reason)
            } else {
                setting(
                    "memory",
                    gb(target),
                    true,
                    format!(
                        "the plan needs {} + {} for Linux; {} now",
                        size(need),
                        size(LINUX_HEADROOM),
                        size(in_force)
                    ),
                )
            };
            let memory_bytes = parse_size(&memory.value).unwrap_or(in_force);
            settings.push(memory);
            // processors
            settings.push(match user_processors {
                Some(n) => setting(
                    "processors",
                    n.to_string(),
                    false,
                    format!("yours, kept: limited on purpose; the layout uses {n}"),
                ),
                None => setting(
                    "processors",
                    cores.to_string(),
                    false,
                    "every logical processor of Windows (WSL's default): each runs a worker".into(),
                ),
            });
            // swap
            let quarter = gb(memory_bytes.div_ceil(4).div_ceil(GIB).max(1) * GIB);
            let user_swap = get("wsl2", "swap").map(|e| parse_size(&e.value));
            settings.push(match user_swap {
                Some(Some(0)) => setting(
                    "swap",
                    quarter,
                    true,
                    "swap=0 lets one peak over the cap stop WSL (\"WSL is exiting unexpectedly\"); a quarter of memory is a safety net".into(),
                ),
                Some(_) => setting("swap", get("wsl2", "swap").map(|e| e.value.clone()).unwrap_or_default(), false, "yours, kept".into()),
                None => setting(
                    "swap",
                    quarter,
                    false,
                    "a quarter of memory (WSL's default): a peak pages out instead of stopping WSL".into(),
                ),
            });
            // networking
            let mode = config.map_or_else(|| "nat".to_string(), WslConfig::networking_mode);
            let port = options.service_port;
            if options.expose_service {
                settings.push(setting(
                    "networkingMode",
                    "mirrored".into(),
                    mode != "mirrored",
                    format!("Windows programs reach the pose service at localhost:{port} (--expose-service)"),
                ));
            } else if mode != "nat" {
                let value = get("wsl2", "networkingMode")
                    .map(|e| e.value.clone())
                    .unwrap_or_default();
                settings.push(setting(
                    "networkingMode",
                    value,
                    false,
                    "yours, kept".into(),
                ));
            }
            if mode != "mirrored" && !options.expose_service {
                let forwarding = get("wsl2", "localhostForwarding");
                let on = forwarding.is_none_or(|e| e.value.eq_ignore_ascii_case("true"));
                settings.push(setting(
                    "localhostForwarding",
                    "true".into(),
                    !on,
                    format!("Windows reaches the pose service at localhost:{port} through NAT"),
                ));
            }
            // autoMemoryReclaim belongs in [experimental]; under [wsl2] WSL ignores it.
            if let Some(misplaced) = get("wsl2", "autoMemoryReclaim") {
                notes.push(format!(
                    "line {}: autoMemoryReclaim under [wsl2] is ignored (WSL warns \"Unknown key\"); it belongs under [experimental], where tune puts it. Remove line {} by hand",
                    misplaced.line, misplaced.line
                ));
            }
            let reclaim = get("experimental", "autoMemoryReclaim");
            settings.push(WslSetting {
                section: "experimental",
                key: "autoMemoryReclaim",
                value: reclaim.map_or_else(|| "gradual".into(), |e| e.value.clone()),
                current: reclaim.map(|e| e.value.clone()),
                line: reclaim.map(|e| e.line),
                change: reclaim.is_none(),
                reason: match reclaim {
                    Some(_) => "yours, kept".into(),
                    None => "gives memory back to Windows after a run (WSL otherwise holds the page cache of models and videos)".into(),
                },
            });
            if let Some(malformed) = config.and_then(|c| c.malformed.first()) {
                notes.push(format!(
                    "line {} of .wslconfig cannot be read ({:?}): tune will not edit the file until it is fixed",
                    malformed.line, malformed.text
                ));
            }
            if file.is_none() {
                notes.push("the .wslconfig could not be located through Windows interop: pass --wslconfig PATH".into());
            }
            Some(WslPlan {
                path: file.map(|f| f.path.clone()),
                exists: config.is_some(),
                host_memory_bytes: host,
                host_memory_basis: host_basis,
                settings,
            })
        }
    };

    Plan {
        platform: kind,
        machine_key: options.machine_key.clone(),
        model: cost.clone(),
        layout,
        wslconfig,
        notes,
    }
}

/// What Windows can give WSL: its RAM less a quarter, or less 4 GiB if that is more.
fn spare(host: u64) -> u64 {
    host.saturating_sub((host / 4).max(WINDOWS_RESERVE_MIN))
}

/// Whole GB, rounded up, as `.wslconfig` writes sizes: `8GB`.
fn gb(bytes: u64) -> String {
    format!("{}GB", bytes.div_ceil(GIB).max(1))
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
