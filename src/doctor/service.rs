//! The pose service check. Each way it can go wrong has its own fix: nothing listening
//! (start it), something else on the port, HTTP or not (free the port or move), an
//! unhealthy service (read its log), and under WSL2, reaching it from Windows at all.

use super::{Check, Status};
use crate::system::service::{Answerer, Connect, Health};
use crate::system::wsl::Kind;
use crate::system::{Probe, SystemFacts};

const ID: &str = "service";

pub fn service(facts: &SystemFacts) -> Check {
    let s = &facts.service;
    let at = format!("{}:{}", s.host, s.port);
    let check = match (&s.connect, &s.health) {
        (Connect::Refused, _) if !s.expected => Check::new(
            ID,
            Status::Skipped,
            format!("nothing listens on {at} (the pose service is optional)"),
        )
        .fix(start_fix(s.port)),
        (Connect::Refused, _) => Check::new(ID, Status::Warning, format!("nothing listens on {at}"))
            .fix(start_fix(s.port)),
        (Connect::TimedOut { after }, _) => Check::new(
            ID,
            Status::Warning,
            format!("connecting to {at} did not answer within {after:?}"),
        )
        .fix(format!(
            "A firewall drops the connection, or {} is not this machine: check --host",
            s.host
        )),
        (Connect::Error(reason), _) => {
            Check::new(ID, Status::Warning, format!("could not connect to {at}: {reason}"))
                .fix("Check --host and --port")
        }
        (Connect::Listening, Probe::Found(Health::Status { code: 200, by: Answerer::Posekit { version }, .. })) => Check::new(
            ID,
            Status::Ok,
            format!("the pose service (posekit {version}) on {at} answers GET /health with 200 OK"),
        ),
        (Connect::Listening, Probe::Found(Health::Status { code: 200, by: Answerer::Other(what), reason })) => Check::new(
            ID,
            Status::Failure,
            format!("something on {at} answers GET /health with 200 {reason}, but it is not posekit's pose service"),
        )
        .detail(what.clone())
        .fix(port_taken(s.port)),
        (Connect::Listening, Probe::Found(Health::Status { code, reason, .. })) => Check::new(
            ID,
            Status::Failure,
            format!("a service on {at} answers GET /health with {code} {reason}"),
        )
        .fix(format!(
            "The service is running but unhealthy (or is another HTTP server): read its log, then restart it. \
             If port {} belongs to another program, give posekit another one with [serve] port in posekit.toml",
            s.port
        )),
        (Connect::Listening, Probe::Found(Health::NotHttp(reason))) => Check::new(
            ID,
            Status::Failure,
            format!("something listens on {at} but does not speak HTTP"),
        )
        .detail(reason.clone())
        .fix(port_taken(s.port)),
        (Connect::Listening, Probe::TimedOut { probe, after }) => Check::new(
            ID,
            Status::Warning,
            format!("something listens on {at}, but `{probe}` did not answer within {after:?}"),
        )
        .fix(format!(
            "The service is stuck or busy, or port {0} belongs to a program that waits silently \
             (`ss -ltnp 'sport = :{0}'` names it): restart the service",
            s.port
        )),
        (Connect::Listening, Probe::Failed { probe, reason }) => Check::new(
            ID,
            Status::Warning,
            format!("something listens on {at}, but `{probe}` failed: {reason}"),
        )
        .fix("Retry; if it persists, restart the service"),
        (Connect::Listening, Probe::Absent) => Check::new(ID, Status::Ok, format!("something listens on {at}")),
    };
    with_wsl_advice(facts, check)
}

fn start_fix(port: u16) -> String {
    format!("Start the pose service (`posekit serve --port {port}`), or point doctor at it with --host/--port")
}

/// Under WSL2 the service is reachable from Windows only in some network setups, which
/// is the usual reason "it works in WSL but not from my Windows program".
fn with_wsl_advice(facts: &SystemFacts, mut check: Check) -> Check {
    if facts.platform.kind().0 != Kind::Wsl2 {
        return check;
    }
    let port = facts.service.port;
    let mode = facts
        .wslconfig
        .found()
        .and_then(|w| w.config.as_ref())
        .map_or_else(|| "nat".to_string(), |c| c.networking_mode());
    let advice = if mode == "mirrored" {
        format!("networkingMode=mirrored: Windows programs reach the service at http://localhost:{port}")
    } else {
        format!(
            "WSL2 NAT networking: Windows programs reach the service at http://localhost:{port} only \
             while localhostForwarding works (the default); otherwise use this VM's IP (`hostname -I`), \
             with the service bound to 0.0.0.0. Setting `networkingMode=mirrored` under [wsl2] in \
             .wslconfig (then `wsl --shutdown`) makes localhost work both ways"
        )
    };
    check = check.detail(advice.clone());
    if let Some(fix) = check.fix.take() {
        check.fix = Some(format!("{fix}. Under WSL2: {advice}"));
    }
    check
}

/// The fix when something other than posekit's service holds the port.
fn port_taken(port: u16) -> String {
    format!(
        "Another program holds port {port}: find it with `ss -ltnp 'sport = :{port}'`, stop it, \
         or run the pose service on another port (`posekit serve --port N`, or [serve] port in posekit.toml) \
         and point doctor at it with --port"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::fixtures;
    use std::time::Duration;

    fn with(connect: Connect, health: Probe<Health>) -> Check {
        let mut facts = fixtures::native();
        facts.service.expected = true;
        facts.service.connect = connect;
        facts.service.health = health;
        service(&facts)
    }

    #[test]
    fn each_outcome_has_its_own_finding() {
        let posekit = || Answerer::Posekit {
            version: "0.1.0".into(),
        };
        let ok = with(
            Connect::Listening,
            Probe::Found(Health::Status {
                code: 200,
                reason: "OK".into(),
                by: posekit(),
            }),
        );
        assert_eq!(ok.status, Status::Ok);
        assert!(ok.summary.contains("(posekit 0.1.0)"), "{}", ok.summary);
        let foreign = with(
            Connect::Listening,
            Probe::Found(Health::Status {
                code: 200,
                reason: "OK".into(),
                by: Answerer::Other("its body begins \"hello\"".into()),
            }),
        );
        assert_eq!(foreign.status, Status::Failure);
        assert!(foreign
            .summary
            .ends_with("but it is not posekit's pose service"));
        assert_eq!(foreign.details, ["its body begins \"hello\""]);
        assert!(foreign.fix.unwrap().contains("ss -ltnp"));
        let err = with(
            Connect::Listening,
            Probe::Found(Health::Status {
                code: 500,
                reason: "Internal Server Error".into(),
                by: posekit(),
            }),
        );
        assert_eq!(err.status, Status::Failure);
        assert!(err.summary.ends_with("500 Internal Server Error"));
        let not_http = with(
            Connect::Listening,
            Probe::Found(Health::NotHttp("x".into())),
        );
        assert_eq!(not_http.status, Status::Failure);
        assert!(not_http.fix.unwrap().contains("ss -ltnp"));
        let refused = with(Connect::Refused, Probe::Absent);
        assert_eq!(refused.status, Status::Warning);
        assert!(refused.fix.unwrap().contains("posekit serve"));
        let silent = with(
            Connect::Listening,
            Probe::timed_out("GET http://127.0.0.1:5000/health", Duration::from_secs(2)),
        );
        assert!(silent
            .summary
            .contains("`GET http://127.0.0.1:5000/health` did not answer"));
    }

    #[test]
    fn an_unexpected_closed_port_is_only_skipped() {
        assert_eq!(service(&fixtures::native()).status, Status::Skipped);
    }

    #[test]
    fn under_wsl2_the_fix_covers_localhost_and_mirrored_networking() {
        let mut facts = fixtures::wsl2_defaults();
        facts.service.expected = true;
        let fix = service(&facts).fix.unwrap();
        assert!(
            fix.contains("hostname -I") && fix.contains("networkingMode=mirrored"),
            "{fix}"
        );
        let check = service(&fixtures::wsl2());
        assert!(check.details[0].starts_with("networkingMode=mirrored: Windows programs reach"));
    }
}
