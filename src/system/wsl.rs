//! Telling native Linux, WSL1 and WSL2 apart, and asking Windows about WSL.
//!
//! The decisions (which kernel string means what, how to read `wsl.exe` output) are pure
//! functions tested with fixtures, so CI needs no WSL. The probes that reach Windows
//! through interop (`wsl.exe`, `cmd.exe`, `wslpath`) all run with a deadline, because
//! interop can take seconds while Windows starts a console host, or hang.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::command::{run_with_timeout, Run};
use super::Probe;

/// What the machine is, as far as posekit is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Native,
    Wsl1,
    Wsl2,
}

/// Signs of WSL beside the kernel string, each cheap to read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Signals {
    /// `WSL_DISTRO_NAME` (set on WSL1 and WSL2).
    pub distro_name: Option<String>,
    /// `WSL_INTEROP` is set (WSL2 only).
    pub interop_env: bool,
    /// `/run/WSL` exists (WSL2 only).
    pub run_wsl: bool,
    /// `/proc/sys/fs/binfmt_misc/WSLInterop` is registered (survives custom kernels).
    pub binfmt_interop: bool,
    /// `/usr/bin/wslinfo` exists (recent WSL2).
    pub wslinfo: bool,
}

/// Decides the kind from the kernel release and the other signals, with the evidence.
///
/// WSL1 has no Linux kernel at all: Windows answers with a fixed `4.4.0-NNNNN-Microsoft`
/// string. WSL2's own kernels say `microsoft-standard` (`-WSL2` since 5.10). A custom
/// kernel says neither, which only WSL2 allows, so interop signs then mean WSL2.
pub fn classify(kernel: &str, signals: &Signals) -> (Kind, Vec<String>) {
    let mut evidence = Vec::new();
    let lower = kernel.to_ascii_lowercase();
    let kind = if kernel.contains("Microsoft") && !lower.contains("microsoft-standard") {
        evidence.push(format!(
            "kernel {kernel:?} is WSL1's (capital-M \"Microsoft\")"
        ));
        Kind::Wsl1
    } else if lower.contains("microsoft-standard") || lower.contains("-wsl2") {
        evidence.push(format!("kernel {kernel:?} is a WSL2 kernel"));
        Kind::Wsl2
    } else if signals.interop_env || signals.run_wsl || signals.binfmt_interop || signals.wslinfo {
        evidence.push(format!(
            "kernel {kernel:?} is not Microsoft's (a custom WSL2 kernel)"
        ));
        Kind::Wsl2
    } else {
        evidence.push(format!(
            "no sign of WSL: kernel {kernel:?} is not Microsoft's, and there is no WSL_INTEROP, \
             /run/WSL, WSLInterop binfmt or wslinfo"
        ));
        Kind::Native
    };
    if kind != Kind::Native {
        let signs = [
            (signals.distro_name.is_some(), "WSL_DISTRO_NAME is set"),
            (signals.interop_env, "WSL_INTEROP is set"),
            (signals.run_wsl, "/run/WSL exists"),
            (
                signals.binfmt_interop,
                "binfmt_misc has WSLInterop registered",
            ),
            (signals.wslinfo, "/usr/bin/wslinfo exists"),
        ];
        evidence.extend(
            signs
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, s)| s.to_string()),
        );
    }
    (kind, evidence)
}

/// What `wsl.exe` said about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WslVersion {
    /// The Store WSL, which answers `--version`.
    Store {
        wsl: String,
        kernel: Option<String>,
        windows: Option<String>,
    },
    /// The old inbox WSL: `--version` failed and `-l -v` listed the distributions.
    Inbox { distros: Vec<Distro> },
}

/// One row of `wsl.exe -l -v`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Distro {
    pub name: String,
    pub default: bool,
    pub state: String,
    pub version: u8,
}

/// Decodes console output from a Windows program: UTF-16LE (with or without a BOM) as
/// `wsl.exe` writes it, or UTF-8 when `WSL_UTF8=1` reached it.
pub fn decode_console(bytes: &[u8]) -> String {
    let utf16 = bytes.starts_with(&[0xff, 0xfe])
        || (bytes.len() >= 2 && bytes.len().is_multiple_of(2) && bytes[1] == 0 && bytes[0] != 0);
    let text = if utf16 {
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    };
    text.trim_start_matches('\u{feff}')
        .replace('\0', "")
        .replace("\r\n", "\n")
}

/// Reads `wsl.exe --version`. Lines are localised (`WSL-Version: 2.0.9.0`), so each is
/// recognised by its position and its version-looking last word, not by its label.
pub fn parse_version(text: &str) -> Option<WslVersion> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let version_of = |line: &str| {
        let word = line.rsplit([' ', ':']).next()?.trim();
        (word.chars().next()?.is_ascii_digit() && word.contains('.')).then(|| word.to_string())
    };
    let wsl = version_of(lines.first()?)?;
    let labelled = |label: &str| {
        lines
            .iter()
            .find(|l| l.to_ascii_lowercase().starts_with(label))
            .and_then(|l| version_of(l))
    };
    Some(WslVersion::Store {
        wsl,
        kernel: labelled("kernel"),
        windows: labelled("windows"),
    })
}

/// Reads `wsl.exe -l -v`: a header, then `[*] NAME STATE VERSION` rows.
pub fn parse_list(text: &str) -> Vec<Distro> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let trimmed = line.trim();
            let (default, rest) = match trimmed.strip_prefix('*') {
                Some(rest) => (true, rest),
                None => (false, trimmed),
            };
            let words: Vec<&str> = rest.split_whitespace().collect();
            let [name @ .., state, version] = words.as_slice() else {
                return None;
            };
            Some(Distro {
                name: name.join(" "),
                default,
                state: state.to_string(),
                version: version.parse().ok()?,
            })
        })
        .filter(|d| !d.name.is_empty())
        .collect()
}

/// `wsl.exe`, through `PATH` (interop appends Windows' folders) or where Windows keeps it.
pub fn wsl_exe() -> Option<PathBuf> {
    which::which("wsl.exe")
        .ok()
        .or_else(|| existing("/mnt/c/Windows/System32/wsl.exe"))
}

fn cmd_exe() -> Option<PathBuf> {
    which::which("cmd.exe")
        .ok()
        .or_else(|| existing("/mnt/c/Windows/System32/cmd.exe"))
}

fn existing(path: &str) -> Option<PathBuf> {
    Path::new(path).is_file().then(|| PathBuf::from(path))
}

/// Windows programs complain about (and misbehave in) a Linux working directory, which
/// they see as a UNC path, so they run from the C: drive when it is mounted.
fn windows_cwd() -> Option<&'static Path> {
    Some(Path::new("/mnt/c")).filter(|p| p.is_dir())
}

/// Asks `wsl.exe --version`, falling back to `wsl.exe -l -v` on the inbox WSL, which
/// does not know `--version`.
pub fn probe_version(timeout: Duration) -> Probe<WslVersion> {
    match wsl_exe() {
        Some(exe) => probe_version_with(&exe, timeout),
        None => Probe::Failed {
            probe: "wsl.exe".into(),
            reason:
                "wsl.exe is not reachable (Windows interop is off, or the C: drive is not mounted)"
                    .into(),
        },
    }
}

fn probe_version_with(exe: &Path, timeout: Duration) -> Probe<WslVersion> {
    match run_with_timeout(exe, &["--version"], windows_cwd(), timeout) {
        Run::TimedOut => return Probe::timed_out("wsl.exe --version", timeout),
        run => {
            if let Some(version) = run
                .success_stdout()
                .and_then(|out| parse_version(&decode_console(out)))
            {
                return Probe::Found(version);
            }
        }
    }
    match run_with_timeout(exe, &["-l", "-v"], windows_cwd(), timeout) {
        Run::TimedOut => Probe::timed_out("wsl.exe -l -v", timeout),
        run => match run
            .success_stdout()
            .map(|out| parse_list(&decode_console(out)))
        {
            Some(distros) if !distros.is_empty() => Probe::Found(WslVersion::Inbox { distros }),
            _ => Probe::Failed {
                probe: "wsl.exe --version / -l -v".into(),
                reason: "wsl.exe answered neither --version nor -l -v".into(),
            },
        },
    }
}

/// What Windows says through `cmd.exe`: the user's profile folder (as Windows writes it)
/// and its logical processor count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowsEnv {
    pub user_profile: String,
    pub logical_processors: Option<usize>,
}

/// Reads `cmd.exe /c echo %USERPROFILE%&echo %NUMBER_OF_PROCESSORS%` output. cmd echoes a
/// variable it does not know as `%NAME%`, which means "unknown" here.
pub fn parse_windows_env(text: &str) -> Option<WindowsEnv> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let user_profile = lines.next().filter(|l| !l.starts_with('%'))?.to_string();
    let logical_processors = lines.next().and_then(|l| l.parse().ok());
    Some(WindowsEnv {
        user_profile,
        logical_processors,
    })
}

/// Asks Windows for `%USERPROFILE%` and `%NUMBER_OF_PROCESSORS%` in one `cmd.exe` run.
pub fn probe_windows_env(timeout: Duration) -> Probe<WindowsEnv> {
    let Some(exe) = cmd_exe() else {
        return Probe::Failed {
            probe: "cmd.exe".into(),
            reason: "cmd.exe is not reachable (Windows interop is off)".into(),
        };
    };
    // Arguments without spaces, so interop passes them to cmd.exe unquoted.
    let args = ["/c", "echo", "%USERPROFILE%&echo", "%NUMBER_OF_PROCESSORS%"];
    match run_with_timeout(&exe, &args, windows_cwd(), timeout) {
        Run::TimedOut => Probe::timed_out("cmd.exe /c echo %USERPROFILE%", timeout),
        run => match run
            .success_stdout()
            .and_then(|out| parse_windows_env(&decode_console(out)))
        {
            Some(env) => Probe::Found(env),
            None => Probe::Failed {
                probe: "cmd.exe /c echo %USERPROFILE%".into(),
                reason: "cmd.exe did not print the user profile folder".into(),
            },
        },
    }
}

/// Where `.wslconfig` lives, as a Linux path: `%USERPROFILE%\.wslconfig` through
/// `wslpath -u`. `tune` writes it there.
pub fn wslconfig_path(user_profile: &str, timeout: Duration) -> Probe<PathBuf> {
    let run = run_with_timeout(Path::new("wslpath"), &["-u", user_profile], None, timeout);
    match run {
        Run::TimedOut => Probe::timed_out("wslpath -u", timeout),
        run => match run.success_stdout() {
            Some(out) => {
                let dir = String::from_utf8_lossy(out).trim().to_string();
                Probe::Found(PathBuf::from(dir).join(".wslconfig"))
            }
            None => Probe::Failed {
                probe: "wslpath -u".into(),
                reason: format!("wslpath could not translate {user_profile:?}"),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signals() -> Signals {
        Signals {
            distro_name: Some("Ubuntu".into()),
            ..Signals::default()
        }
    }

    #[test]
    fn wsl1_kernel_string() {
        let (kind, evidence) = classify("4.4.0-19041-Microsoft", &signals());
        assert_eq!(kind, Kind::Wsl1);
        assert!(evidence[0].contains("WSL1"));
        assert!(evidence.contains(&"WSL_DISTRO_NAME is set".to_string()));
    }

    #[test]
    fn wsl2_kernel_strings_old_and_new() {
        for kernel in [
            "5.15.167.4-microsoft-standard-WSL2",
            "4.19.128-microsoft-standard",
            "6.6.36.6-microsoft-standard-WSL2+",
        ] {
            assert_eq!(
                classify(kernel, &Signals::default()).0,
                Kind::Wsl2,
                "{kernel}"
            );
        }
    }

    #[test]
    fn custom_wsl2_kernel_is_recognised_by_interop() {
        let signals = Signals {
            binfmt_interop: true,
            interop_env: true,
            ..signals()
        };
        let (kind, evidence) = classify("6.8.0-custom", &signals);
        assert_eq!(kind, Kind::Wsl2);
        assert!(evidence[0].contains("custom"));
        assert!(evidence.iter().any(|e| e.contains("WSLInterop")));
    }

    #[test]
    fn plain_linux_is_native() {
        let (kind, evidence) = classify("6.1.0-31-cloud-amd64", &Signals::default());
        assert_eq!(kind, Kind::Native);
        assert!(evidence[0].starts_with("no sign of WSL"));
    }

    fn utf16le(text: &str, bom: bool) -> Vec<u8> {
        let mut bytes = if bom { vec![0xff, 0xfe] } else { vec![] };
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        bytes
    }

    const VERSION: &str = "WSL version: 2.3.26.0\r\nKernel version: 5.15.167.4-1\r\nWSLg version: 1.0.65\r\nMSRDC version: 1.2.5620\r\nDirect3D version: 1.611.1-81528511\r\nDXCore version: 10.0.26100.1-240331-1435.ge-release\r\nWindows version: 10.0.22631.4460\r\n";

    #[test]
    fn version_output_in_utf16le_with_a_bom() {
        let text = decode_console(&utf16le(VERSION, true));
        assert_eq!(
            parse_version(&text),
            Some(WslVersion::Store {
                wsl: "2.3.26.0".into(),
                kernel: Some("5.15.167.4-1".into()),
                windows: Some("10.0.22631.4460".into()),
            })
        );
        assert_eq!(decode_console(&utf16le(VERSION, false)), text);
        assert_eq!(decode_console(VERSION.as_bytes()), text);
    }

    #[test]
    fn localised_version_output() {
        let text = "WSL-Version: 2.0.9.0\nKernelversion: 5.15.133.1-1\n";
        let Some(WslVersion::Store { wsl, .. }) = parse_version(text) else {
            panic!("parsed");
        };
        assert_eq!(wsl, "2.0.9.0");
    }

    #[test]
    fn inbox_wsl_help_text_is_not_a_version() {
        let help = "Copyright (c) Microsoft Corporation. All rights reserved.\n\nUsage: wsl.exe [Argument] [Options...] [CommandLine]\n";
        assert_eq!(parse_version(&decode_console(&utf16le(help, false))), None);
    }

    #[test]
    fn list_output_gives_each_distro_and_its_version() {
        let list = "  NAME                   STATE           VERSION\r\n* Ubuntu-22.04           Running         2\r\n  Debian                 Stopped         1\r\n";
        let distros = parse_list(&decode_console(&utf16le(list, true)));
        assert_eq!(
            distros,
            vec![
                Distro {
                    name: "Ubuntu-22.04".into(),
                    default: true,
                    state: "Running".into(),
                    version: 2
                },
                Distro {
                    name: "Debian".into(),
                    default: false,
                    state: "Stopped".into(),
                    version: 1
                },
            ]
        );
    }

    /// A stand-in `wsl.exe`: a shell script answering from the fixtures.
    fn fake_wsl(script: &str) -> (tempfile::TempDir, PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("wsl.exe");
        std::fs::write(&exe, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        (dir, exe)
    }

    fn fixture(name: &str) -> String {
        format!("{}/tests/data/doctor/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn store_wsl_answers_version() {
        let (_dir, exe) = fake_wsl(&format!("cat {}", fixture("wsl-version.utf16le-bom.txt")));
        let Probe::Found(WslVersion::Store { wsl, .. }) =
            probe_version_with(&exe, Duration::from_secs(5))
        else {
            panic!("store version");
        };
        assert_eq!(wsl, "2.3.26.0");
    }

    #[test]
    fn inbox_wsl_falls_back_to_the_distro_list() {
        let script = format!(
            "if [ \"$1\" = --version ]; then cat {}; exit 255; fi\ncat {}",
            fixture("wsl-version-inbox.utf16le.txt"),
            fixture("wsl-list.utf16le.txt")
        );
        let (_dir, exe) = fake_wsl(&script);
        let Probe::Found(WslVersion::Inbox { distros }) =
            probe_version_with(&exe, Duration::from_secs(5))
        else {
            panic!("inbox fallback");
        };
        assert_eq!(distros.len(), 2);
    }

    #[test]
    fn a_hanging_wsl_exe_times_out_naming_the_probe() {
        let (_dir, exe) = fake_wsl("sleep 10");
        assert_eq!(
            probe_version_with(&exe, Duration::from_millis(200)),
            Probe::timed_out("wsl.exe --version", Duration::from_millis(200))
        );
    }

    #[test]
    fn windows_env_from_cmd() {
        assert_eq!(
            parse_windows_env("C:\\Users\\Ana María\r\n16\r\n"),
            Some(WindowsEnv {
                user_profile: "C:\\Users\\Ana María".into(),
                logical_processors: Some(16)
            })
        );
        assert_eq!(parse_windows_env("%USERPROFILE%\r\n"), None);
    }
}
