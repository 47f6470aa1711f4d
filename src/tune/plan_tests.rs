//! `plan` over a table of machines: 2, 4, 16 and 64 cores; 8, 16 and 64 GB; native,
//! WSL2 with WSL's defaults and WSL2 capped by `.wslconfig`; BlazePose and an HMR2-sized
//! user model; and a layout bench saved.

use super::*;
use crate::doctor::fixtures::{self, GIB};
use crate::system::wslconfig;
use crate::system::{Probe, WslConfigFile};
use crate::tune::cost::UserModel;

const MIB: u64 = 1 << 20;

fn hmr2() -> ModelCost {
    ModelCost::with_models(&[UserModel {
        name: "hmr2".into(),
        weights_bytes: Ok(2560 * MIB),
    }])
}

fn native(cores: usize, gb: u64) -> SystemFacts {
    let mut facts = fixtures::native();
    facts.cpu.logical = cores;
    facts.cpu.usable = cores;
    facts.memory.total = gb * GIB;
    facts
}

/// WSL2 on a Windows host with `windows_cores` and `host_gb`, and `.wslconfig` text
/// (`None`: no file, so WSL's defaults: half the RAM, every processor).
fn wsl2(windows_cores: usize, host_gb: u64, wslconfig_text: Option<&str>) -> SystemFacts {
    let mut facts = fixtures::wsl2_defaults();
    if let Probe::Found(w) = &mut facts.platform.windows {
        w.logical_processors = Some(windows_cores);
    }
    let config = wslconfig_text.map(wslconfig::parse);
    let cap = config
        .as_ref()
        .and_then(|c| c.memory_bytes())
        .unwrap_or(host_gb * GIB / 2);
    let processors = config
        .as_ref()
        .and_then(|c| c.processors())
        .unwrap_or(windows_cores);
    // MemTotal under WSL2 is a little below the cap.
    facts.memory.total = cap - 300 * MIB;
    facts.cpu.logical = processors;
    facts.cpu.usable = processors;
    facts.wslconfig = Probe::Found(WslConfigFile {
        path: "/mnt/c/Users/ana/.wslconfig".into(),
        config,
    });
    facts
}

fn options() -> PlanOptions {
    PlanOptions {
        machine_key: "test".into(),
        service_port: 5000,
        ..PlanOptions::default()
    }
}

fn setting<'p>(plan: &'p Plan, key: &str) -> Option<&'p WslSetting> {
    plan.wslconfig
        .as_ref()?
        .settings
        .iter()
        .find(|s| s.key == key)
}

/// What, facts, cost, workers, threads, and `.wslconfig`'s memory: value and whether it changes.
type Case<'c> = (
    &'c str,
    SystemFacts,
    &'c ModelCost,
    usize,
    usize,
    Option<(&'c str, bool)>,
);

#[test]
fn a_table_of_machines() {
    let blaze = ModelCost::blazepose();
    let hmr2 = hmr2();
    let capped = "[wsl2]\nmemory=8GB\nprocessors=4\n";
    let cases: Vec<Case> = vec![
        ("native 2 cores 8 GB", native(2, 8), &blaze, 2, 1, None),
        ("native 4 cores 16 GB", native(4, 16), &blaze, 4, 1, None),
        ("native 64 cores 8 GB", native(64, 8), &blaze, 64, 1, None),
        ("native 4 cores 8 GB hmr2", native(4, 8), &hmr2, 4, 1, None),
        // 6 GiB budget: (6144 - 2730) / 390 MiB = 8 workers; the other cores go to threads.
        (
            "native 64 cores 8 GB hmr2",
            native(64, 8),
            &hmr2,
            8,
            8,
            None,
        ),
        (
            "native 16 cores 16 GB hmr2",
            native(16, 16),
            &hmr2,
            16,
            1,
            None,
        ),
        (
            "native 64 cores 64 GB hmr2",
            native(64, 64),
            &hmr2,
            64,
            1,
            None,
        ),
        (
            "wsl2 uncapped 16 cores 16 GB",
            wsl2(16, 16, None),
            &blaze,
            16,
            1,
            Some(("8GB", false)),
        ),
        // 2730 + 16 × 390 MiB = 8.8 GiB + 2 GiB: raise the 8 GB default cap to 11 GB.
        (
            "wsl2 uncapped 16 cores 16 GB hmr2",
            wsl2(16, 16, None),
            &hmr2,
            16,
            1,
            Some(("11GB", true)),
        ),
        (
            "wsl2 uncapped 64 cores 64 GB hmr2",
            wsl2(64, 64, None),
            &hmr2,
            64,
            1,
            Some(("32GB", false)),
        ),
        (
            "wsl2 uncapped 2 cores 16 GB hmr2",
            wsl2(2, 16, None),
            &hmr2,
            2,
            1,
            Some(("8GB", false)),
        ),
        (
            "wsl2 capped 8 GB 4 of 16 cores hmr2",
            wsl2(16, 32, Some(capped)),
            &hmr2,
            4,
            1,
            Some(("8GB", false)),
        ),
        (
            "wsl2 capped 8 GB 4 of 16 cores",
            wsl2(16, 32, Some(capped)),
            &blaze,
            4,
            1,
            Some(("8GB", false)),
        ),
    ];
    for (what, facts, cost, workers, threads, memory) in cases {
        let plan = plan(&facts, cost, None, &options());
        assert_eq!(
            (plan.layout.workers, plan.layout.threads_per_worker),
            (workers, threads),
            "{what}: {:?}",
            plan.layout
        );
        assert!(
            plan.layout.memory_needed_bytes <= plan.layout.memory_budget_bytes,
            "{what}"
        );
        match memory {
            None => {
                assert!(plan.wslconfig.is_none(), "{what}");
                assert!(
                    plan.notes.iter().any(|n| n.contains("no .wslconfig")),
                    "{what}"
                );
            }
            Some((value, change)) => {
                let m = setting(&plan, "memory").unwrap();
                assert_eq!(
                    (m.value.as_str(), m.change),
                    (value, change),
                    "{what}: {}",
                    m.reason
                );
            }
        }
    }
}

#[test]
fn memory_never_exceeds_what_windows_can_spare() {
    // 8 GB laptop, no .wslconfig: WSL sees ~4 GB, Windows keeps 4 GB, so 4 GB is all.
    let plan = plan(&wsl2(8, 8, None), &hmr2(), None, &options());
    let m = setting(&plan, "memory").unwrap();
    assert_eq!(m.value, "4GB");
    assert!(!m.change);
    assert_eq!(plan.layout.workers, 1);
    assert!(
        plan.notes.iter().any(|n| n.contains("out-of-memory")),
        "{:?}",
        plan.notes
    );
}

#[test]
fn a_user_cap_is_raised_only_when_the_host_is_known() {
    let text = "[wsl2]\nmemory=4GB\n";
    let facts = wsl2(16, 32, Some(text));
    let unknown = plan(&facts, &hmr2(), None, &options());
    assert!(!setting(&unknown, "memory").unwrap().change);
    assert!(unknown
        .wslconfig
        .as_ref()
        .unwrap()
        .host_memory_basis
        .contains("--host-memory"));
    let known = plan(
        &facts,
        &hmr2(),
        None,
        &PlanOptions {
            host_memory: Some(32 * GIB),
            ..options()
        },
    );
    let m = setting(&known, "memory").unwrap();
    assert_eq!(
        (m.value.as_str(), m.change, m.line),
        ("11GB", true, Some(2))
    );
    assert_eq!(known.layout.workers, 16);
}

#[test]
fn a_saved_bench_layout_wins_over_the_estimate() {
    let saved = SavedLayout {
        workers: 1,
        threads_per_worker: 2,
        fps: 71.3,
        measured: "2026-11-27T15:30:12Z".into(),
    };
    let plan = plan(
        &native(2, 24),
        &ModelCost::blazepose(),
        Some(saved),
        &options(),
    );
    assert_eq!(
        (plan.layout.workers, plan.layout.threads_per_worker),
        (1, 2)
    );
    assert_eq!(plan.layout.source, Source::Bench);
    assert!(plan.layout.workers_reason.contains("71.3 fps"));
}

#[test]
fn networking_follows_expose_service() {
    let nat = plan(
        &wsl2(8, 16, None),
        &ModelCost::blazepose(),
        None,
        &options(),
    );
    assert!(setting(&nat, "networkingMode").is_none());
    assert_eq!(setting(&nat, "localhostForwarding").unwrap().value, "true");
    let exposed = plan(
        &wsl2(8, 16, None),
        &ModelCost::blazepose(),
        None,
        &PlanOptions {
            expose_service: true,
            ..options()
        },
    );
    let mode = setting(&exposed, "networkingMode").unwrap();
    assert_eq!((mode.value.as_str(), mode.change), ("mirrored", true));
    assert!(
        setting(&exposed, "localhostForwarding").is_none(),
        "ignored when mirrored"
    );
}

#[test]
fn user_values_are_kept_and_swap_zero_is_fixed() {
    let text = "[wsl2]\nprocessors=2\nswap=0\nlocalhostForwarding=false\nautoMemoryReclaim=gradual\n[experimental]\nautoMemoryReclaim=dropCache\n";
    let plan = plan(
        &wsl2(16, 32, Some(text)),
        &ModelCost::blazepose(),
        None,
        &options(),
    );
    assert_eq!(plan.layout.cores, 2);
    let processors = setting(&plan, "processors").unwrap();
    assert_eq!((processors.value.as_str(), processors.change), ("2", false));
    let swap = setting(&plan, "swap").unwrap();
    assert!(swap.change && swap.value.ends_with("GB") && swap.value != "0");
    assert!(setting(&plan, "localhostForwarding").unwrap().change);
    let reclaim = setting(&plan, "autoMemoryReclaim").unwrap();
    assert_eq!(
        (reclaim.section, reclaim.value.as_str(), reclaim.change),
        ("experimental", "dropCache", false)
    );
    assert!(
        plan.notes
            .iter()
            .any(|n| n.starts_with("line 5: autoMemoryReclaim under [wsl2]")),
        "{:?}",
        plan.notes
    );
}

#[test]
fn wsl1_gets_no_wslconfig() {
    let mut facts = wsl2(8, 16, None);
    facts.platform.kernel = "4.4.0-19041-Microsoft".into();
    let plan = plan(&facts, &ModelCost::blazepose(), None, &options());
    assert!(plan.wslconfig.is_none());
    assert!(plan.notes[0].contains("WSL1"));
}
