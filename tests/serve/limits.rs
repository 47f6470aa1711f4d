//! Limits and stopping: a full queue (503 with Retry-After), a slow worker (504), a slow
//! upload (408), and SIGTERM with a request in flight.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

use super::harness::{self, client, encode, JsonBody, Server};

#[test]
fn a_full_queue_a_slow_worker_and_a_slow_upload_time_out_cleanly() {
    let _shared = harness::shared();
    // One worker that takes 1.5 s per image, one queue slot, and a 1 s request timeout.
    let args = [
        "-w",
        "1",
        "--queue",
        "1",
        "--timeout",
        "1",
        "--debug-inference-delay-ms",
        "1500",
    ];
    let server = Server::start(&args);
    let png = encode(&harness::tiny_frame(), image::ImageFormat::Png);

    // Three at once: at most one is worked on and one waits, so one at least is refused.
    let answers: Vec<(u16, Option<String>, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    let response = client()
                        .post(server.url("/v1/pose"))
                        .header("Content-Type", "image/png")
                        .body(png.clone())
                        .send()
                        .unwrap();
                    let retry = response
                        .headers()
                        .get("retry-after")
                        .map(|v| v.to_str().unwrap().to_string());
                    let status = response.status().as_u16();
                    let body: Value = response.json().unwrap();
                    (
                        status,
                        retry,
                        body["error"]["code"].as_str().unwrap().to_string(),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let refused: Vec<_> = answers.iter().filter(|a| a.0 == 503).collect();
    assert!(!refused.is_empty(), "{answers:?}");
    for (status, retry, code) in &answers {
        match status {
            503 => assert_eq!((retry.as_deref(), code.as_str()), (Some("1"), "queue_full")),
            504 => assert_eq!(code, "inference_timeout"),
            other => panic!("unexpected {other}: {answers:?}"),
        }
    }
    assert!(
        answers.iter().any(|a| a.0 == 504),
        "the accepted one times out: {answers:?}"
    );

    // A client that announces 1000 bytes and sends 4 gets 408 when the timeout is up. The
    // client gives up at 10 s, so an answer at all is the server's own timeout at work.
    let mut stream = TcpStream::connect(server.address()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"POST /v1/pose HTTP/1.1\r\nHost: t\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n\x89PNG")
        .unwrap();
    let mut head = [0u8; 12];
    stream
        .read_exact(&mut head)
        .expect("the server answers before the client's 10 s are up");
    assert_eq!(&head, b"HTTP/1.1 408");
    server.stop();
}

#[test]
fn sigterm_finishes_the_request_in_flight_then_exits() {
    let _shared = harness::shared();
    let server = Server::start(&["-w", "1", "--debug-inference-delay-ms", "1000"]);
    let png = encode(&harness::tiny_frame(), image::ImageFormat::Png);
    let url = server.url("/v1/pose");
    let in_flight = std::thread::spawn(move || {
        client()
            .post(url)
            .header("Content-Type", "image/png")
            .body(png)
            .send()
            .map(|r| r.status().as_u16())
    });
    // Wait until the worker has the request, then ask the server to stop.
    server.wait_until_a_worker_is_busy();
    let address = server.address();
    let (status, log) = server.terminate();
    assert_eq!(in_flight.join().unwrap().unwrap(), 200, "{log}");
    assert!(
        status.success(),
        "a graceful stop exits 0: {status:?}\n{log}"
    );
    assert!(
        log.contains("SIGTERM: not accepting new connections"),
        "{log}"
    );
    assert!(log.contains("POST /v1/pose 200"), "{log}");
    assert!(
        TcpStream::connect(address).is_err(),
        "nothing listens afterwards"
    );
}
