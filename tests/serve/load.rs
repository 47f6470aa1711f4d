//! Load on loopback: a bounded test that every request is answered (200 or 503), `/health`
//! included, with the `/health` latency printed (a measurement, never asserted: a loaded
//! two-core machine would make any bound flaky), and an ignored measurement of `/v1/pose` throughput and latency
//! (`cargo test --release --test integration -- --ignored --nocapture measure`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::harness::{self, client, clip_frame, encode, JsonBody, Server};

/// Clients × requests each: a few hundred requests in all, a few seconds on two cores.
const CLIENTS: usize = 8;
const REQUESTS_PER_CLIENT: usize = 40;

/// The test clip's frame 20 at half size, as a JPEG: a person, and cheap to send.
fn half_size_jpeg() -> Vec<u8> {
    let frame = harness::to_image(&clip_frame(20));
    let half = image::imageops::thumbnail(&frame, frame.width() / 2, frame.height() / 2);
    let mut out = std::io::Cursor::new(Vec::new());
    half.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

#[test]
fn under_load_every_request_is_answered_and_health_too() {
    let _alone = harness::exclusive();
    let server = Server::start(&["-w", "2", "--queue", "4"]);
    let jpeg = half_size_jpeg();
    let statuses = Mutex::new(Vec::new());
    let health_ms = Mutex::new(Vec::new());
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let client = client();
            while !done.load(Ordering::SeqCst) {
                let started = Instant::now();
                let response = client
                    .get(server.url("/health"))
                    .send()
                    .expect("/health is answered under load");
                let ms = started.elapsed().as_secs_f64() * 1e3;
                let status = response.status().as_u16();
                assert!(status == 200 || status == 503, "/health answered {status}");
                let _: Value = response.json().unwrap();
                health_ms.lock().unwrap().push(ms);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                s.spawn(|| {
                    let client = client();
                    for _ in 0..REQUESTS_PER_CLIENT {
                        // A request that hangs fails here after the client's timeout.
                        let response = client
                            .post(server.url("/v1/pose"))
                            .header("Content-Type", "image/jpeg")
                            .body(jpeg.clone())
                            .send()
                            .expect("every request is answered");
                        let status = response.status().as_u16();
                        let body: Value = response.json().unwrap();
                        if status == 200 {
                            assert!(!body["persons"].as_array().unwrap().is_empty(), "{body}");
                        }
                        statuses.lock().unwrap().push(status);
                    }
                })
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
        done.store(true, Ordering::SeqCst);
    });
    let statuses = statuses.into_inner().unwrap();
    let health_ms = health_ms.into_inner().unwrap();
    assert_eq!(
        statuses.len(),
        CLIENTS * REQUESTS_PER_CLIENT,
        "none dropped"
    );
    let ok = statuses.iter().filter(|&&s| s == 200).count();
    let busy = statuses.iter().filter(|&&s| s == 503).count();
    assert_eq!(ok + busy, statuses.len(), "only 200 or 503: {statuses:?}");
    assert!(
        ok >= 20,
        "the workers kept working: {ok} ok, {busy} refused"
    );
    assert!(health_ms.len() >= 10, "health was probed throughout");
    let mut sorted = health_ms.clone();
    sorted.sort_by(f64::total_cmp);
    let pct = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
    eprintln!(
        "load: {ok} ok, {busy} refused; /health probed {} times: median {:.1} ms, p95 {:.1} ms, slowest {:.1} ms",
        sorted.len(),
        pct(0.5),
        pct(0.95),
        pct(1.0)
    );

    // Nothing is left queued or half-done once the load is gone.
    let health = server.health();
    assert_eq!(health["queue"]["depth"], 0);
    assert_eq!(health["workers"]["busy"], 0);
    server.stop();
}

/// Requests per second and latency percentiles of `/v1/pose` at 1, 4 and 16 clients on
/// the full-size frame; the last row has the default queue, so some clients are refused
/// and wait out `Retry-After`. Run by hand; prints a Markdown table. The clients share
/// the machine's cores with the server, so on a small machine they cost it throughput.
#[test]
#[ignore = "a measurement, not a check: run with --ignored --nocapture"]
fn measure_pose_throughput() {
    let _alone = harness::exclusive();
    let jpeg = encode(&clip_frame(20), image::ImageFormat::Jpeg);
    let workers = std::env::var("POSEKIT_MEASURE_WORKERS").unwrap_or_else(|_| "2".into());
    println!(
        "workers {workers}, image {} bytes JPEG 1768×994",
        jpeg.len()
    );
    println!("| clients | queue | requests | 200 | 503 | req/s (200) | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|---|---|---|");
    for (clients, queue) in [(1, 64), (4, 64), (16, 64), (16, 8)] {
        let server = Server::start(&["-w", &workers, "--queue", &queue.to_string()]);
        let latencies = Mutex::new(Vec::new());
        let refused = Mutex::new(0usize);
        let window = Duration::from_secs(8);
        // Warm-up: the first runs of each session are slower.
        for _ in 0..4 {
            let _ = client()
                .post(server.url("/v1/pose"))
                .header("Content-Type", "image/jpeg")
                .body(jpeg.clone())
                .send()
                .unwrap();
        }
        let started = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..clients {
                s.spawn(|| {
                    let client = client();
                    while started.elapsed() < window {
                        let t = Instant::now();
                        let response = client
                            .post(server.url("/v1/pose"))
                            .header("Content-Type", "image/jpeg")
                            .body(jpeg.clone())
                            .send()
                            .unwrap();
                        let ms = t.elapsed().as_secs_f64() * 1e3;
                        match response.status().as_u16() {
                            200 => latencies.lock().unwrap().push(ms),
                            // A well-behaved client waits as told instead of hammering.
                            503 => {
                                *refused.lock().unwrap() += 1;
                                let wait = response.headers()["retry-after"].to_str().unwrap();
                                std::thread::sleep(Duration::from_secs(wait.parse().unwrap()));
                            }
                            other => panic!("unexpected {other}"),
                        }
                        let _ = response.bytes();
                    }
                });
            }
        });
        let elapsed = started.elapsed().as_secs_f64();
        let mut latencies = latencies.into_inner().unwrap();
        latencies.sort_by(f64::total_cmp);
        let refused = refused.into_inner().unwrap();
        let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
        println!(
            "| {clients} | {queue} | {} | {} | {refused} | {:.1} | {:.1} | {:.1} |",
            latencies.len() + refused,
            latencies.len(),
            latencies.len() as f64 / elapsed,
            pct(0.5),
            pct(0.99)
        );
        server.stop();
    }
}
