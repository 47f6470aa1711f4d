//! `posekit serve` over real HTTP: each test starts the built binary on a free loopback
//! port, talks to it with a blocking client, and stops it (SIGTERM, then kill) at the end.
//!
//! The load test runs alone (it takes `harness::exclusive()`) so that no other test's
//! work shares its two cores while it measures `/health`: each serve test holds
//! `harness::shared()`, and every other test a `Sandbox`, which holds the same turn.

mod connections;
mod doctor;
mod harness;
mod limits;
mod load;
mod shutdown;

use std::time::{Duration, Instant};

use harness::{client, clip_frame, encode, JsonBody, Server};
use serde_json::Value;

use crate::common::{posekit, stderr, CLIP, HMR2_SMALL};

#[test]
fn health_answers_and_doctor_agrees() {
    let _shared = harness::shared();
    let server = Server::start(&["-w", "1", "--queue", "3"]);
    let response = client().get(server.url("/health")).send().unwrap();
    assert_eq!(response.status(), 200);
    let health: Value = response.json().unwrap();
    assert_eq!(
        health["service"], "posekit",
        "doctor tells the service by this"
    );
    assert_eq!(health["status"], "ok");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    let models = health["models"].as_array().unwrap();
    assert_eq!(models.len(), 2);
    assert_eq!(models[0]["name"], "pose_detection.onnx");
    assert_eq!(models[0]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(health["workers"]["pose_workers"], 1);
    assert_eq!(health["workers"]["busy"], 0);
    assert_eq!(health["queue"]["capacity"], 3);
    assert_eq!(health["queue"]["depth"], 0);
    assert!(health["uptime_s"].as_f64().unwrap() >= 0.0);
    assert_eq!(health["jobs"]["running"], 0);

    // doctor's service check probes the real server and is satisfied.
    let out = posekit(&["doctor", "--check", "service", "--port"])
        .arg(server.port().to_string())
        .run();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{table}");
    assert!(table.contains("[✓]  service"), "{table}");
    assert!(table.contains("answers GET /health with 200 OK"), "{table}");
    let named = format!("(posekit {})", env!("CARGO_PKG_VERSION"));
    assert!(table.contains(&named), "{table}");

    let log = server.stop();
    assert!(
        log.contains("posekit serve: GET /health 200 "),
        "one log line per request: {log}"
    );
    assert!(!log.contains("warning"), "loopback is no warning: {log}");
}

#[test]
fn pose_on_a_real_frame_matches_process() {
    let _shared = harness::shared();
    let frame = clip_frame(20);
    let png = encode(&frame, image::ImageFormat::Png);
    let jpeg = encode(&frame, image::ImageFormat::Jpeg);
    let server = Server::start(&["-w", "1"]);
    let ask = |body: &[u8], content_type: &str| -> Value {
        let response = client()
            .post(server.url("/v1/pose"))
            .header("Content-Type", content_type)
            .body(body.to_vec())
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().unwrap()
    };
    let from_png = ask(&png, "image/png");
    let from_jpeg = ask(&jpeg, "image/jpeg");
    // The label is a hint; the bytes decide (a PNG sent as image/jpeg still works).
    let mislabelled = ask(&png, "image/jpeg");
    assert_eq!(mislabelled, from_png);

    // The same schema and the same numbers as `process --mode image` on that frame: the
    // PNG carries the decoder's RGB losslessly, and the models are the same.
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("r.jsonl");
    let out = posekit(&[
        "process",
        CLIP,
        "--mode",
        "image",
        "--max-frames",
        "21",
        "-o",
    ])
    .arg(&output)
    .run();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut expected: Value = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["type"] == "frame" && v["frame"] == 20)
        .unwrap();
    // A lone image has no identity over time: `track_id` comes only with a video.
    for person in expected["persons"].as_array_mut().unwrap() {
        assert!(person.as_object_mut().unwrap().remove("track_id").is_some());
    }
    assert_eq!(from_png["type"], "frame");
    assert_eq!(from_png["frame"], 0);
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&from_png), keys(&expected));
    let persons = from_png["persons"].as_array().unwrap();
    assert_eq!(persons.len(), expected["persons"].as_array().unwrap().len());
    assert!(!persons.is_empty(), "frame 20 has a person");
    assert_eq!(keys(&persons[0]), keys(&expected["persons"][0]));
    harness::assert_close(&from_png["persons"], &expected["persons"], 1e-3);

    // JPEG loses a little colour; the person is still found in about the same place.
    let box_png = harness::floats(&persons[0]["bbox"]);
    let box_jpeg = harness::floats(&from_jpeg["persons"][0]["bbox"]);
    let iou = harness::iou(&box_png, &box_jpeg);
    assert!(
        iou > 0.7,
        "JPEG box {box_jpeg:?} vs PNG box {box_png:?}: IoU {iou:.2}"
    );
    assert!(from_jpeg["persons"][0]["score"].as_f64().unwrap() > 0.9);
    server.stop();
}

#[test]
fn a_video_job_runs_to_its_result() {
    let _shared = harness::shared();
    let server = Server::start(&["-w", "2"]);
    let client = client();
    let video = std::fs::read(CLIP).unwrap();
    let response = client
        .post(server.url("/v1/jobs"))
        .header("Content-Type", "video/webm")
        .body(video)
        .send()
        .unwrap();
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let job: Value = response.json().unwrap();
    let id = job["id"].as_str().unwrap().to_string();
    assert_eq!(location, format!("/v1/jobs/{id}"));
    assert_eq!(job["frames_total"], 60);

    let mut last_done = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    let summary = loop {
        assert!(Instant::now() < deadline, "the job did not finish in time");
        let status: Value = client
            .get(server.url(&location))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let done = status["frames_done"].as_u64().unwrap();
        assert!(done >= last_done, "progress never goes back");
        last_done = done;
        match status["status"].as_str().unwrap() {
            "done" => {
                assert_eq!(status["progress"], 1.0);
                break status["summary"].clone();
            }
            "queued" | "running" => {
                let early = client
                    .get(server.url(&format!("{location}/result")))
                    .send()
                    .unwrap();
                // It may have finished between the two requests.
                if early.status() != 200 {
                    assert_eq!(early.status(), 409);
                    let e: Value = early.json().unwrap();
                    assert_eq!(e["error"]["code"], "not_ready");
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            other => panic!("job ended {other}: {status}"),
        }
    };
    let result = client
        .get(server.url(&format!("{location}/result")))
        .send()
        .unwrap();
    assert_eq!(result.status(), 200);
    assert_eq!(result.headers()["content-type"], "application/x-ndjson");
    let lines: Vec<Value> = result
        .text()
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 62, "header, 60 frames, summary");
    assert_eq!(lines[0]["type"], "header");
    assert_eq!(lines[0]["settings"]["mode"], "video");
    assert_eq!(lines[61], summary);
    assert_eq!(summary["frames"], 60);
    // Video mode tracks the person through every frame once the detector has found them
    // (the backlit clip starts cold: see tests/process.rs).
    assert!(
        summary["frames_with_person"].as_u64().unwrap() >= 51,
        "{summary}"
    );
    // A job's result is `process`'s: every person has a track_id, the summary its tracks.
    let persons: Vec<&Value> = lines[1..61]
        .iter()
        .flat_map(|f| f["persons"].as_array().unwrap())
        .collect();
    assert!(persons
        .iter()
        .all(|p| p["track_id"].as_u64().is_some_and(|id| id >= 1)));
    assert!(
        !summary["tracks"].as_array().unwrap().is_empty(),
        "{summary}"
    );
    server.stop();
}

/// Sends `body` with `content_type` (none when empty) and returns status and error code.
#[test]
fn with_hmr2_pose_answers_carry_the_smpl_block() {
    let _shared = harness::shared();
    let png = encode(&clip_frame(20), image::ImageFormat::Png);
    let server = Server::start(&["-w", "2", "--hmr2", HMR2_SMALL]);
    let health = server.health();
    let names = health["models"].to_string();
    assert!(names.contains("hmr2_small.onnx"), "{names}");
    let answer: Value = client()
        .post(server.url("/v1/pose"))
        .header("Content-Type", "image/png")
        .body(png)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let persons = answer["persons"].as_array().unwrap();
    assert!(!persons.is_empty(), "a person in frame 20: {answer}");
    for person in persons {
        let smpl = &person["smpl"];
        assert_eq!(smpl["betas"].as_array().unwrap().len(), 10, "{smpl}");
        assert_eq!(smpl["body_pose"].as_array().unwrap().len(), 23);
        assert!(smpl["focal_length"].as_f64().unwrap() > 0.0);
    }
    server.stop();
}

fn error_of(
    server: &Server,
    method: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, String) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client().request(method, server.url(path)).body(body);
    if !content_type.is_empty() {
        request = request.header("Content-Type", content_type);
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "{status}"
    );
    let body: Value = response.json().unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.len() > 20, "the message says what is wrong: {body}");
    (status, body["error"]["code"].as_str().unwrap().to_string())
}

/// Method, path, Content-Type (empty: none), body; expected status and error code.
type Case<'a> = (&'a str, &'a str, &'a str, Vec<u8>, u16, &'a str);

#[test]
fn bad_requests_get_json_errors_naming_the_problem() {
    let _shared = harness::shared();
    let server = Server::start(&["-w", "1", "--max-body-mb", "1"]);
    let small = image::imageops::thumbnail(&harness::to_image(&clip_frame(20)), 442, 248);
    let mut png = Vec::new();
    small
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let truncated = png[..png.len() / 2].to_vec();
    let mut jpeg = Vec::new();
    small
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    // Cut inside the compressed data, as an interrupted upload or copy leaves it.
    let truncated_jpeg = jpeg[..jpeg.len() * 2 / 3].to_vec();
    let too_big = vec![0u8; 3 * 1024 * 1024 / 2];
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/v1/pose",
            "text/plain",
            b"hello".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "POST",
            "/v1/pose",
            "",
            png.clone(),
            415,
            "unsupported_media_type",
        ),
        (
            "POST",
            "/v1/pose",
            "image/jpeg",
            b"hello, not a picture".to_vec(),
            400,
            "not_an_image",
        ),
        (
            "POST",
            "/v1/pose",
            "image/png",
            truncated,
            400,
            "corrupt_image",
        ),
        (
            "POST",
            "/v1/pose",
            "image/jpeg",
            truncated_jpeg,
            400,
            "corrupt_image",
        ),
        (
            "POST",
            "/v1/pose",
            "image/png",
            Vec::new(),
            400,
            "empty_body",
        ),
        (
            "POST",
            "/v1/pose",
            "image/png",
            too_big.clone(),
            413,
            "body_too_large",
        ),
        (
            "POST",
            "/v1/jobs",
            "image/png",
            png.clone(),
            415,
            "unsupported_media_type",
        ),
        (
            "POST",
            "/v1/jobs",
            "video/mp4",
            b"definitely not an mp4 file".to_vec(),
            400,
            "corrupt_video",
        ),
        (
            "POST",
            "/v1/jobs",
            "video/mp4",
            too_big,
            413,
            "body_too_large",
        ),
        (
            "GET",
            "/v1/jobs/0123456789abcdef0000",
            "",
            Vec::new(),
            404,
            "not_found",
        ),
        (
            "GET",
            "/v1/jobs/0123456789abcdef0000/result",
            "",
            Vec::new(),
            404,
            "not_found",
        ),
        ("GET", "/v2/pose", "", Vec::new(), 404, "not_found"),
        (
            "PUT",
            "/v1/pose",
            "image/png",
            png.clone(),
            405,
            "method_not_allowed",
        ),
    ];
    for (method, path, content_type, body, status, code) in cases {
        let got = error_of(&server, method, path, content_type, body);
        assert_eq!(
            got,
            (status, code.to_string()),
            "{method} {path} {content_type}"
        );
    }

    // A chunked body (no Content-Length) over the limit is cut off while reading.
    let chunked =
        reqwest::blocking::Body::new(std::io::Cursor::new(vec![0u8; 3 * 1024 * 1024 / 2]));
    let response = client()
        .post(server.url("/v1/pose"))
        .header("Content-Type", "image/png")
        .body(chunked)
        .send()
        .unwrap();
    assert_eq!(response.status(), 413);

    // The service survived all of it.
    let ok = client()
        .post(server.url("/v1/pose"))
        .header("Content-Type", "image/png")
        .body(png)
        .send()
        .unwrap();
    assert_eq!(ok.status(), 200);
    server.stop();
}

#[test]
fn a_non_loopback_address_is_warned_about() {
    let _shared = harness::shared();
    let server = Server::start(&["-w", "1", "--host", "0.0.0.0"]);
    let log = server.stop();
    assert!(
        log.contains("warning: 0.0.0.0 is not a loopback address"),
        "{log}"
    );
}
