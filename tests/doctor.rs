//! `posekit doctor` run as a user runs it: against real loopback servers (healthy, failing,
//! another HTTP server, not HTTP at all), a closed port, a config file, and for its JSON schema and exit codes.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Output;

use serde_json::Value;

use crate::common::{json, posekit, stderr, stdout, Sandbox};

/// Runs `posekit doctor ARGS` with an empty config folder unless `config` is given.
fn doctor(args: &[&str], config: Option<&str>) -> (Output, Sandbox) {
    let home = Sandbox::new();
    if let Some(text) = config {
        home.write_config(text);
    }
    let output = home
        .posekit(&["doctor"])
        .args(args)
        .output()
        .expect("posekit runs");
    (output, home)
}

/// A loopback server that gives every connection that sends something `reply`, and
/// closes connections that send nothing (doctor's connect probe). Returns its port.
fn server(reply: &'static [u8]) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
                if request.windows(4).any(|w| w == b"\r\n\r\n") {
                    let _ = stream.write_all(reply);
                    break;
                }
            }
        }
    });
    port
}

/// What posekit's own service answers on `/health`, in part: doctor goes by `service`.
const POSEKIT_HEALTH: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 53\r\nconnection: close\r\n\r\n{\"service\":\"posekit\",\"status\":\"ok\",\"version\":\"0.1.0\"}";

fn service_check(port: u16) -> (Output, Value) {
    let port = port.to_string();
    let (out, _home) = doctor(&["--check", "service", "--port", &port, "--json"], None);
    let value = json(&out);
    assert_eq!(value["checks"].as_array().unwrap().len(), 1);
    let check = value["checks"][0].clone();
    assert_eq!(check["id"], "service");
    (out, check)
}

#[test]
fn healthy_service_is_ok() {
    let port = server(POSEKIT_HEALTH);
    let (out, check) = service_check(port);
    assert_eq!(check["status"], "ok", "{check}");
    assert!(check["fix"].is_null());
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn another_http_server_answering_200_is_a_failure() {
    let port = server(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
    let (out, check) = service_check(port);
    assert_eq!(check["status"], "failure", "{check}");
    assert!(check["summary"]
        .as_str()
        .unwrap()
        .ends_with("but it is not posekit's pose service"));
    assert_eq!(check["details"][0], "its body begins 'ok'");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn failing_health_endpoint_is_a_failure() {
    let port = server(
        b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    );
    let (out, check) = service_check(port);
    assert_eq!(check["status"], "failure", "{check}");
    assert!(check["summary"]
        .as_str()
        .unwrap()
        .ends_with("answers GET /health with 500 Internal Server Error"));
    assert!(check["fix"].as_str().unwrap().contains("unhealthy"));
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_listener_that_is_not_http_is_its_own_failure() {
    let port = server(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
    let (out, check) = service_check(port);
    assert_eq!(check["status"], "failure", "{check}");
    assert!(check["summary"]
        .as_str()
        .unwrap()
        .contains("does not speak HTTP"));
    assert!(check["fix"]
        .as_str()
        .unwrap()
        .contains(&format!("ss -ltnp 'sport = :{port}'")));
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_closed_port_asked_for_is_a_warning_and_warnings_pass() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (out, check) = service_check(port);
    assert_eq!(check["status"], "warning", "{check}");
    assert!(check["fix"].as_str().unwrap().contains("posekit serve"));
    assert_eq!(out.status.code(), Some(0), "warnings alone do not fail");
}

#[test]
fn a_listener_that_never_answers_is_a_warning_naming_the_probe() {
    // Bound and listening, never accepting: the kernel completes the handshake, then
    // nothing is ever said.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let (out, _home) = doctor(
        &[
            "--check",
            "service",
            "--port",
            &port,
            "--timeout",
            "0.3",
            "--json",
        ],
        None,
    );
    let check = &json(&out)["checks"][0];
    assert_eq!(check["status"], "warning", "{check}");
    let summary = check["summary"].as_str().unwrap();
    assert!(
        summary.contains(&format!(
            "`GET http://127.0.0.1:{port}/health` did not answer within 300ms"
        )),
        "{summary}"
    );
    drop(listener);
}

#[test]
fn the_service_port_comes_from_the_config() {
    let port = server(POSEKIT_HEALTH);
    let config = format!("[serve]\nport = {port}\n");
    let (out, _home) = doctor(&["--check", "service", "--json"], Some(&config));
    let check = &json(&out)["checks"][0];
    assert_eq!(check["status"], "ok", "{check}");
    assert!(check["summary"]
        .as_str()
        .unwrap()
        .contains(&format!("127.0.0.1:{port}")));
}

#[test]
fn json_report_matches_the_schema() {
    let (out, _home) = doctor(&["--json"], None);
    let value = json(&out);
    let object = value.as_object().unwrap();
    assert_eq!(object.len(), 2, "{value}");
    let ok = value["ok"].as_bool().expect("ok is a bool");
    let checks = value["checks"].as_array().unwrap();
    let ids: Vec<&str> = checks.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "platform",
            "memory",
            "cpu",
            "onnxruntime",
            "ffmpeg",
            "models",
            "config",
            "gpu",
            "service",
            "disk"
        ]
    );
    for check in checks {
        assert_eq!(check.as_object().unwrap().len(), 5, "{check}");
        let status = check["status"].as_str().unwrap();
        assert!(["ok", "warning", "failure", "skipped"].contains(&status));
        assert!(!check["summary"].as_str().unwrap().is_empty());
        assert!(check["details"]
            .as_array()
            .unwrap()
            .iter()
            .all(Value::is_string));
        assert!(check["fix"].is_null() || check["fix"].is_string());
        if status == "ok" {
            assert!(check["fix"].is_null(), "{check}");
        }
    }
    let failed = checks.iter().any(|c| c["status"] == "failure");
    assert_eq!(ok, !failed);
    assert_eq!(out.status.code(), Some(if failed { 1 } else { 0 }));
}

#[test]
fn the_table_ends_with_a_summary_line() {
    let (out, _home) = doctor(&[], None);
    let text = stdout(&out);
    assert!(
        text.contains("[✓]  platform") || text.contains("[✗]  platform"),
        "{text}"
    );
    let summary = text
        .lines()
        .rev()
        .find(|l| l.starts_with("No issues found!") || l.contains(" warning"))
        .unwrap_or_else(|| panic!("no summary line in {text}"));
    assert!(!summary.is_empty());
}

#[test]
fn a_missing_configured_model_fails_the_models_check() {
    let config = "[process]\nworkers = 1\n\n[models]\nhmr2 = \"/nonexistent/hmr2.onnx\"\n";
    let (out, _home) = doctor(&["--check", "models", "--json"], Some(config));
    let check = &json(&out)["checks"][0];
    assert_eq!(check["status"], "failure", "{check}");
    assert!(check["fix"].as_str().unwrap().contains("[models] hmr2"));
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_broken_config_is_reported_not_fatal() {
    let (out, _home) = doctor(&["--check", "config"], Some("[process\nworkers = 2\n"));
    let text = stdout(&out);
    assert!(text.contains("[✗]  config"), "{text}");
    assert!(text.contains("is broken"));
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn list_names_every_check() {
    let (out, _home) = doctor(&["--list"], None);
    let text = stdout(&out);
    for id in [
        "platform",
        "memory",
        "cpu",
        "onnxruntime",
        "service",
        "disk",
    ] {
        assert!(text.lines().any(|l| l.trim_start().starts_with(id)), "{id}");
    }
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn an_unknown_check_is_a_usage_error_listing_the_ids() {
    let (out, _home) = doctor(&["--check", "nonsense"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("platform") && err.contains("service"), "{err}");
}

#[test]
fn help_says_warnings_do_not_fail() {
    let out = posekit(&["doctor", "--help"]).run();
    let text = stdout(&out);
    assert!(text.contains("warnings alone do not fail"), "{text}");
}
