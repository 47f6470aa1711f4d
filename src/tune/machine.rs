//! Which machine this is, as a key for the layouts `posekit bench --save` stores: the
//! best layout measured on one machine says little about another.
//!
//! The key is the CPU model, the logical cores and the memory Linux sees, so under WSL2
//! it follows `.wslconfig`: after `tune` changes `processors` or `memory` the VM is a
//! different machine for posekit's purposes and bench should measure it again.

use serde::Deserialize;

use super::cost::sanitize;
use super::TuneError;
use crate::system::platform::PlatformFacts;
use crate::system::resources::{CpuFacts, MemoryFacts};
use crate::system::wsl::WindowsEnv;
use crate::system::wslconfig::parse_size;
use crate::system::{resources, Probe, SystemFacts};

/// `amd-epyc-7b13-2cpu-24gib`: CPU model, logical cores, memory rounded to whole GiB
/// (MemTotal wobbles by a few MB between boots and kernels).
pub fn machine_key(cpu_model: &str, logical_cores: usize, memory_total: u64) -> String {
    let gib = (memory_total + (1 << 29)) >> 30;
    let model = match sanitize(cpu_model) {
        m if m.is_empty() => "unknown-cpu".to_string(),
        m => m,
    };
    format!("{model}-{logical_cores}cpu-{gib}gib")
}

/// This machine's key, read now (for `bench --save`, which does not gather all facts).
pub fn this_machine_key() -> String {
    machine_key(
        &resources::cpu_model().unwrap_or_default(),
        resources::cpu().logical,
        resources::memory().total,
    )
}

/// A machine described by hand (`posekit tune --facts FILE.json`, hidden): the facts
/// `tune` plans from, put in place of this machine's, so the WSL2 path can be run and
/// tested on native Linux and a plan shown for a machine one is not sitting at.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineFacts {
    /// `/proc/sys/kernel/osrelease`: a `microsoft-standard-WSL2` kernel makes it WSL2.
    pub kernel: String,
    pub distro: Option<String>,
    pub cpu_model: Option<String>,
    /// Cores Linux sees.
    pub logical_cores: usize,
    /// Windows' `%NUMBER_OF_PROCESSORS%` (WSL only).
    pub windows_logical_processors: Option<usize>,
    /// What Linux sees as total memory (`16GB`; under WSL2, the cap).
    pub memory_total: String,
    pub memory_available: Option<String>,
    pub swap_total: Option<String>,
}

impl MachineFacts {
    /// Replaces the platform, memory and cores in `facts` with these.
    pub fn apply(&self, facts: &mut SystemFacts) -> Result<(), TuneError> {
        let size = |field: &'static str, text: &str| {
            parse_size(text).ok_or_else(|| TuneError::NotASize {
                field,
                text: text.to_string(),
            })
        };
        let total = size("memory_total", &self.memory_total)?;
        let wsl = self.kernel.to_ascii_lowercase().contains("microsoft");
        facts.platform = PlatformFacts {
            distro: self.distro.clone(),
            kernel: self.kernel.clone(),
            signals: Default::default(),
            wsl_version: Probe::Absent,
            windows: match wsl {
                true => Probe::Found(WindowsEnv {
                    user_profile: "C:\\Users\\user".into(),
                    logical_processors: self.windows_logical_processors,
                }),
                false => Probe::Absent,
            },
        };
        facts.memory = MemoryFacts {
            total,
            available: match &self.memory_available {
                Some(text) => size("memory_available", text)?,
                None => total,
            },
            swap_total: match &self.swap_total {
                Some(text) => size("swap_total", text)?,
                None => 0,
            },
            cgroup_limit: None,
        };
        facts.cpu = CpuFacts {
            logical: self.logical_cores,
            physical: None,
            usable: self.logical_cores,
            usable_source: "the machine description",
        };
        if !wsl {
            facts.wslconfig = Probe::Absent;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_memory_and_sanitize_the_model() {
        assert_eq!(
            machine_key("AMD EPYC 7B13", 2, 24 * (1 << 30) - (300 << 20)),
            "amd-epyc-7b13-2cpu-24gib"
        );
        assert_eq!(machine_key("", 8, 8 << 30), "unknown-cpu-8cpu-8gib");
    }

    #[test]
    fn this_machine_has_a_key() {
        assert!(this_machine_key().contains("cpu-"));
    }
}
