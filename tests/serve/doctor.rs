//! `posekit doctor --check service` against something that is not posekit: an HTTP server
//! that answers `/health` with 200 and a body of its own must not pass for the service.

use std::io::{Read, Write};
use std::net::TcpListener;

use crate::common::{posekit, stdout};

/// A one-thread HTTP server on loopback that answers every request with 200 and `body`.
fn foreign_server(body: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            if stream.read(&mut buf).unwrap_or(0) == 0 {
                continue; // doctor's bare TCP connect
            }
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    port
}

fn doctor_service(port: u16, json: bool) -> (bool, String) {
    let mut command = posekit(&[
        "doctor",
        "--check",
        "service",
        "--host",
        "127.0.0.1",
        "--port",
    ])
    .arg(port.to_string());
    if json {
        command = command.arg("--json");
    }
    let out = command.run();
    (out.status.success(), stdout(&out))
}

#[test]
fn another_http_server_on_the_port_is_not_taken_for_the_service() {
    let port = foreign_server(r#"{"status":"ok","version":"2.3.1"}"#);
    let (ok, table) = doctor_service(port, false);
    assert!(!ok, "a failure exits non-zero:\n{table}");
    assert!(table.contains("[✗]  service"), "{table}");
    assert!(table.contains("not posekit's pose service"), "{table}");
    assert!(
        table.contains("ss -ltnp"),
        "the fix names the tool that finds it:\n{table}"
    );

    let (_, json) = doctor_service(port, true);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let check = &report["checks"][0];
    assert_eq!(check["id"], "service", "{report}");
    assert_eq!(check["status"], "failure", "{report}");
}
