//! The platform check: which Linux, and whether it runs natively, on WSL1 or on WSL2.

use super::{Check, Status};
use crate::system::wsl::{Kind, WslVersion};
use crate::system::{Probe, SystemFacts};

const ID: &str = "platform";

pub fn platform(facts: &SystemFacts) -> Check {
    let p = &facts.platform;
    let distro = p.distro.as_deref().unwrap_or("Linux");
    let (kind, evidence) = p.kind();
    let mut check = match kind {
        Kind::Native => Check::new(
            ID,
            Status::Ok,
            format!("{distro}, kernel {}, native Linux", p.kernel),
        ),
        Kind::Wsl1 => {
            let name = p.signals.distro_name.as_deref().unwrap_or("<distro>");
            Check::new(ID, Status::Failure, format!("{distro} on WSL1"))
                .detail("WSL1 translates Linux calls to Windows: no real kernel, slow file and memory-heavy work, and ONNX Runtime's thread pools behave badly")
                .fix(format!(
                    "Convert the distribution to WSL2 from PowerShell: `wsl --set-version {name} 2`, \
                     then reopen this terminal (`wsl -l -v` shows VERSION 2 afterwards)"
                ))
        }
        Kind::Wsl2 => wsl2(facts, distro),
    };
    check.details.splice(0..0, evidence);
    check
}

fn wsl2(facts: &SystemFacts, distro: &str) -> Check {
    let p = &facts.platform;
    let mut check = match &p.wsl_version {
        Probe::Found(WslVersion::Store {
            wsl,
            kernel,
            windows,
        }) => {
            let mut c = Check::new(ID, Status::Ok, format!("{distro} on WSL2, WSL {wsl}"));
            if let Some(kernel) = kernel {
                c = c.detail(format!("WSL kernel package {kernel}"));
            }
            if let Some(windows) = windows {
                c = c.detail(format!("Windows {windows}"));
            }
            c
        }
        Probe::Found(WslVersion::Inbox { distros }) => {
            let mut c = Check::new(
                ID,
                Status::Warning,
                format!("{distro} on WSL2, but with the old inbox WSL (`wsl.exe --version` fails)"),
            )
            .fix(
                "Update WSL from PowerShell: `wsl --update`, then `wsl --shutdown`. The inbox WSL \
                 lacks networkingMode=mirrored and memory reclaim, and gets no fixes",
            );
            for d in distros {
                c = c.detail(format!(
                    "{}{}: WSL{} ({})",
                    d.name,
                    if d.default { " (default)" } else { "" },
                    d.version,
                    d.state
                ));
            }
            c
        }
        Probe::TimedOut { probe, after } => Check::new(
            ID,
            Status::Warning,
            format!("{distro} on WSL2; `{probe}` did not answer within {after:?}"),
        )
        .fix("Windows interop is slow or stuck: run `wsl.exe --version` yourself; if it hangs, run `wsl --shutdown` from PowerShell and reopen the terminal"),
        Probe::Failed { probe, reason } => Check::new(
            ID,
            Status::Warning,
            format!("{distro} on WSL2; the WSL version is unknown ({probe}: {reason})"),
        )
        .fix("Enable Windows interop (`[interop] enabled=true` in /etc/wsl.conf, then `wsl --shutdown`), or check the version yourself with `wsl --version` in PowerShell"),
        Probe::Absent => Check::new(ID, Status::Ok, format!("{distro} on WSL2")),
    };
    check.details.insert(0, format!("kernel {}", p.kernel));
    check
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::fixtures;
    use crate::system::wsl::{decode_console, parse_list, parse_version, Distro};

    #[test]
    fn native_linux_is_ok() {
        let check = platform(&fixtures::native());
        assert_eq!(check.status, Status::Ok);
        assert_eq!(
            check.summary,
            "Debian GNU/Linux 12 (bookworm), kernel 6.1.0-31-cloud-amd64, native Linux"
        );
    }

    #[test]
    fn wsl2_reports_its_version_and_evidence() {
        let check = platform(&fixtures::wsl2());
        assert_eq!(check.status, Status::Ok);
        assert_eq!(check.summary, "Ubuntu 22.04.4 LTS on WSL2, WSL 2.3.26.0");
        assert!(check.details[0].contains("WSL2 kernel"));
        assert!(check.details.iter().any(|d| d == "WSL_INTEROP is set"));
        assert!(check.details.iter().any(|d| d == "Windows 10.0.22631.4460"));
    }

    #[test]
    fn wsl1_fails_with_the_conversion_command() {
        let mut facts = fixtures::wsl2();
        facts.platform.kernel = "4.4.0-22621-Microsoft".into();
        let check = platform(&facts);
        assert_eq!(check.status, Status::Failure);
        assert!(check
            .fix
            .unwrap()
            .contains("wsl --set-version Ubuntu-22.04 2"));
    }

    #[test]
    fn custom_wsl2_kernel_is_still_wsl2() {
        let mut facts = fixtures::wsl2();
        facts.platform.kernel = "6.10.0-my-kernel".into();
        let check = platform(&facts);
        assert_eq!(check.status, Status::Ok);
        assert!(check.details[0].contains("custom WSL2 kernel"));
    }

    #[test]
    fn version_from_the_utf16_fixture_reaches_the_report() {
        let bytes = include_bytes!("../../tests/data/doctor/wsl-version.utf16le-bom.txt");
        let mut facts = fixtures::wsl2();
        facts.platform.wsl_version = Probe::Found(parse_version(&decode_console(bytes)).unwrap());
        assert_eq!(
            platform(&facts).summary,
            "Ubuntu 22.04.4 LTS on WSL2, WSL 2.3.26.0"
        );
    }

    #[test]
    fn inbox_wsl_falls_back_to_the_list_and_warns() {
        let help = include_bytes!("../../tests/data/doctor/wsl-version-inbox.utf16le.txt");
        assert_eq!(parse_version(&decode_console(help)), None);
        let list = include_bytes!("../../tests/data/doctor/wsl-list.utf16le.txt");
        let distros = parse_list(&decode_console(list));
        assert_eq!(
            distros[1],
            Distro {
                name: "Debian".into(),
                default: false,
                state: "Stopped".into(),
                version: 1
            }
        );
        let mut facts = fixtures::wsl2();
        facts.platform.wsl_version = Probe::Found(WslVersion::Inbox { distros });
        let check = platform(&facts);
        assert_eq!(check.status, Status::Warning);
        assert!(check.fix.unwrap().contains("wsl --update"));
        assert!(check
            .details
            .contains(&"Ubuntu-22.04 (default): WSL2 (Running)".to_string()));
    }

    #[test]
    fn a_hanging_wsl_exe_is_a_warning_naming_the_probe() {
        let check = platform(&fixtures::broken());
        // broken() is WSL1, which fails whatever wsl.exe does.
        assert_eq!(check.status, Status::Failure);
        let mut facts = fixtures::wsl2();
        facts.platform.wsl_version =
            Probe::timed_out("wsl.exe --version", std::time::Duration::from_secs(3));
        let check = platform(&facts);
        assert_eq!(check.status, Status::Warning);
        assert!(check
            .summary
            .contains("`wsl.exe --version` did not answer within 3s"));
    }
}
