//! Stopping with work under way: an upload still arriving is refused (503), nothing says
//! "Ctrl-C" to a service stopped by SIGTERM, the upload folder is private, and a second
//! signal, which quits at once, still removes it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::harness::{self, client, encode, JsonBody, Server};
use crate::common::CLIP;

/// The first line and the body of one HTTP/1.1 answer with a Content-Length.
fn read_answer(stream: &mut TcpStream) -> (String, Value) {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).unwrap();
    (
        status.trim_end().to_string(),
        serde_json::from_slice(&body).unwrap(),
    )
}

#[test]
fn an_upload_still_arriving_at_shutdown_is_refused() {
    let _shared = harness::shared();
    let server = Server::start(&["-w", "1"]);
    let video = std::fs::read(CLIP).unwrap();
    let mut stream = TcpStream::connect(server.address()).unwrap();
    // One answered request first: the connection is then surely accepted and served.
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_answer(&mut stream).0, "HTTP/1.1 200 OK");
    let head = format!(
        "POST /v1/jobs HTTP/1.1\r\nHost: t\r\nContent-Type: video/webm\r\nContent-Length: {}\r\n\r\n",
        video.len()
    );
    let (first, rest) = video.split_at(video.len() / 2);
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(first).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.signal(libc::SIGTERM);
    server.wait_for_log("SIGTERM: not accepting new connections");
    stream.write_all(rest).unwrap();
    let (status, body) = read_answer(&mut stream);
    let (exit, log) = server.wait();
    assert!(status.starts_with("HTTP/1.1 503"), "{status} {body}\n{log}");
    assert_eq!(body["error"]["code"], "shutting_down", "{body}");
    assert!(exit.success(), "{exit:?}\n{log}");
}

#[test]
fn sigterm_during_a_job_never_mentions_ctrl_c() {
    let _shared = harness::shared();
    let server = Server::start(&["-w", "1"]);
    let response = client()
        .post(server.url("/v1/jobs"))
        .header("Content-Type", "video/webm")
        .body(std::fs::read(CLIP).unwrap())
        .send()
        .unwrap();
    assert_eq!(response.status(), 202);
    let job: Value = response.json().unwrap();
    let location = format!("/v1/jobs/{}", job["id"].as_str().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status: Value = client()
            .get(server.url(&location))
            .send()
            .unwrap()
            .json()
            .unwrap();
        if status["status"] != "queued" {
            break;
        }
        assert!(Instant::now() < deadline, "the job never started: {status}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (exit, log) = server.terminate();
    assert!(exit.success(), "{exit:?}\n{log}");
    assert!(log.contains("SIGTERM"), "{log}");
    for wrong in ["Ctrl-C", "Ctrl+C", "ctrl-c", "^C"] {
        assert!(!log.contains(wrong), "{wrong:?} in:\n{log}");
    }
}

/// The service's upload folders under `tmp` (one per running service).
fn upload_folders(tmp: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("posekit-serve-"))
        })
        .collect()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn uploads_are_private() {
    let _shared = harness::shared();
    let tmp = tempfile::tempdir().unwrap();
    let mut command = Server::command(&["-w", "1", "--job-queue", "4"]);
    command.env("TMPDIR", tmp.path());
    let server = Server::spawn(command);
    let folders = upload_folders(tmp.path());
    assert_eq!(folders.len(), 1, "{folders:?}");
    assert_eq!(mode(&folders[0]), 0o700, "the upload folder");
    // Jobs run one at a time, so the later uploads wait in the folder behind the first.
    let video = std::fs::read(CLIP).unwrap();
    for _ in 0..5 {
        let response = client()
            .post(server.url("/v1/jobs"))
            .header("Content-Type", "video/webm")
            .body(video.clone())
            .send()
            .unwrap();
        assert_eq!(response.status(), 202);
    }
    let uploads: Vec<PathBuf> = std::fs::read_dir(&folders[0])
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "upload"))
        .collect();
    assert!(!uploads.is_empty(), "queued uploads wait in the folder");
    for upload in &uploads {
        assert_eq!(mode(upload), 0o600, "{}", upload.display());
    }
    server.stop();
    assert!(
        upload_folders(tmp.path()).is_empty(),
        "removed on a graceful stop"
    );
}

#[test]
fn a_second_signal_quits_at_once_and_removes_the_upload_folder() {
    let _shared = harness::shared();
    let tmp = tempfile::tempdir().unwrap();
    let mut command = Server::command(&["-w", "1", "--debug-inference-delay-ms", "5000"]);
    command.env("TMPDIR", tmp.path());
    let server = Server::spawn(command);
    let folders = upload_folders(tmp.path());
    assert_eq!(folders.len(), 1, "{folders:?}");
    // A slow request keeps the first SIGTERM draining, so the second one quits.
    let png = encode(&harness::tiny_frame(), image::ImageFormat::Png);
    let url = server.url("/v1/pose");
    let in_flight = std::thread::spawn(move || {
        client()
            .post(url)
            .header("Content-Type", "image/png")
            .body(png)
            .send()
    });
    server.wait_until_a_worker_is_busy();
    server.signal(libc::SIGTERM);
    server.wait_for_log("SIGTERM: not accepting new connections");
    server.signal(libc::SIGTERM);
    let (exit, log) = server.wait();
    let _ = in_flight.join();
    assert_eq!(
        exit.code(),
        Some(130),
        "{exit:?} (signal {:?})\n{log}",
        exit.signal()
    );
    assert!(log.contains("SIGTERM again: quitting now"), "{log}");
    assert!(
        !folders[0].exists(),
        "{} is left behind:\n{log}",
        folders[0].display()
    );
}
