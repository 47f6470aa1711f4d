//! Connections that never finish their request: they are closed after the header-read
//! timeout, and while they hold every place the service answers new ones at once
//! (503 with Retry-After) instead of leaving them unaccepted.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::harness::{self, Server};

/// More idle connections than the service's descriptors allow (`ulimit -n` below).
const IDLE: usize = 300;
const OPEN_FILES: u64 = 256;

#[test]
fn idle_half_requests_are_closed_and_health_still_answers() {
    let _shared = harness::shared();
    let mut command = Server::command(&["-w", "1"]);
    harness::limit_open_files(&mut command, OPEN_FILES);
    let server = Server::spawn(command);
    // Each sends a request head without its final empty line, then nothing more.
    let idle: Vec<TcpStream> = (0..IDLE)
        .map(|_| {
            let mut stream = TcpStream::connect(server.address()).unwrap();
            stream
                .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            stream
        })
        .collect();

    let answered = health_until_ok(&server);
    eprintln!("connections: /health answered 200 after {answered} refusal(s)");

    let mut refused = 0;
    for mut stream in idle {
        if read_until_closed(&mut stream).starts_with(b"HTTP/1.1 503") {
            refused += 1;
        }
    }
    eprintln!("connections: {refused} of {IDLE} idle connections were refused with 503, the others closed");
    assert!(
        refused > 0,
        "more connections than the cap: some are refused"
    );
    assert!(
        refused < IDLE,
        "those within the cap are served, then timed out"
    );
    server.stop();
}

/// `GET /health` until 200, waiting out each 503's Retry-After; panics on anything
/// else, or when a request gets no answer within the client's 30 s.
fn health_until_ok(server: &Server) -> usize {
    let client = harness::client_with_timeout(Duration::from_secs(30));
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut refusals = 0;
    loop {
        let response = client
            .get(server.url("/health"))
            .send()
            .unwrap_or_else(|e| panic!("/health got no answer: {e:?}\n{}", server.log()));
        match response.status().as_u16() {
            200 => return refusals,
            503 => {
                let wait = response.headers()["retry-after"].to_str().unwrap();
                std::thread::sleep(Duration::from_secs(wait.parse().unwrap()));
                refusals += 1;
            }
            other => panic!("/health answered {other}"),
        }
        assert!(Instant::now() < deadline, "/health never answered 200");
    }
}

/// What the server sent before it closed the connection; panics if it is still open
/// after 30 s.
fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            // A close with our request unread arrives as a reset: closed all the same.
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return got,
            Err(e) => panic!("an idle connection is still open after 30 s ({e})"),
        }
    }
}
