//! Stopping with work under way: an upload still arriving is refused (503).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

use crate::harness::{self, Server, CLIP};

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
