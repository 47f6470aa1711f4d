//! The operating system: distribution, kernel, and whether (and which) WSL this is.
//!
//! Reading is here; deciding what the kernel string means is [`super::wsl::classify`].

use std::path::Path;
use std::time::Duration;

use super::wsl::{self, Kind, Signals, WindowsEnv, WslVersion};
use super::Probe;

/// The platform facts, as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformFacts {
    /// `PRETTY_NAME` from `/etc/os-release`.
    pub distro: Option<String>,
    /// `/proc/sys/kernel/osrelease`.
    pub kernel: String,
    pub signals: Signals,
    /// `wsl.exe --version` (or `-l -v`); `Absent` on native Linux.
    pub wsl_version: Probe<WslVersion>,
    /// `%USERPROFILE%` and `%NUMBER_OF_PROCESSORS%` from Windows; `Absent` on native Linux.
    pub windows: Probe<WindowsEnv>,
}

impl PlatformFacts {
    /// Native, WSL1 or WSL2, with the evidence.
    pub fn kind(&self) -> (Kind, Vec<String>) {
        wsl::classify(&self.kernel, &self.signals)
    }
}

/// Reads the local facts; asks Windows (with `timeout` per probe) only under WSL.
pub fn gather(timeout: Duration) -> PlatformFacts {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    let signals = Signals {
        distro_name: std::env::var("WSL_DISTRO_NAME")
            .ok()
            .filter(|v| !v.is_empty()),
        interop_env: std::env::var_os("WSL_INTEROP").is_some(),
        run_wsl: Path::new("/run/WSL").exists(),
        binfmt_interop: Path::new("/proc/sys/fs/binfmt_misc/WSLInterop").exists(),
        wslinfo: Path::new("/usr/bin/wslinfo").exists(),
    };
    let distro = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| pretty_name(&text));
    let (kind, _) = wsl::classify(&kernel, &signals);
    let (wsl_version, windows) = if kind == Kind::Native {
        (Probe::Absent, Probe::Absent)
    } else {
        // Both cross into Windows and may each take a while: ask in parallel.
        std::thread::scope(|s| {
            let version = s.spawn(|| wsl::probe_version(timeout));
            let windows = wsl::probe_windows_env(timeout);
            (version.join().unwrap_or(Probe::Absent), windows)
        })
    };
    PlatformFacts {
        distro,
        kernel,
        signals,
        wsl_version,
        windows,
    }
}

/// `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"` → `Debian GNU/Linux 12 (bookworm)`.
pub fn pretty_name(os_release: &str) -> Option<String> {
    os_release.lines().find_map(|line| {
        let value = line.trim().strip_prefix("PRETTY_NAME=")?;
        let value = value.trim().trim_matches('"').trim_matches('\'');
        (!value.is_empty()).then(|| value.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_name_from_os_release() {
        let text = "NAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nPRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\n";
        assert_eq!(pretty_name(text), Some("Ubuntu 22.04.4 LTS".into()));
        assert_eq!(pretty_name("NAME=x\n"), None);
    }

    #[test]
    fn this_machine_has_a_kernel() {
        let facts = gather(Duration::from_secs(2));
        assert_ne!(facts.kernel, "");
    }
}
