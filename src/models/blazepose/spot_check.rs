//! An ignored end-to-end check against real models and frames, for comparing with
//! MediaPipe by hand (needs ONNX Runtime, so `cargo test` skips it).
//!
//! `BLAZEPOSE_FRAMES=dir ORT_DYLIB_PATH=lib cargo test --release --lib spot_check -- --ignored`
//! reads `dir/f*.ppm` (binary P6), runs image mode and video mode (one person, as
//! MediaPipe), and writes `dir/rust.json` shaped `{"static": [...], "video": [...]}`,
//! one entry per frame: null or 33 × [x, y, z, visibility, presence].

use std::path::{Path, PathBuf};

use super::{BlazePose, Tracker};
use crate::engine::{Engine, ModelSource, RuntimeSearch};
use crate::image::RgbImage;
use crate::pose::Person;

/// Reads a binary PPM (P6, maxval 255) without comments.
fn read_ppm(path: &Path) -> RgbImage {
    let bytes = std::fs::read(path).unwrap();
    let mut fields = Vec::new();
    let mut pos = 0;
    while fields.len() < 4 {
        while bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let start = pos;
        while !bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..pos]).into_owned());
    }
    assert_eq!(fields[0], "P6");
    let (width, height): (u32, u32) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let data = bytes[pos + 1..].to_vec();
    assert_eq!(data.len(), (width * height * 3) as usize);
    RgbImage {
        width,
        height,
        data,
    }
}

fn model(models: &Path) -> BlazePose {
    let search = RuntimeSearch::from_environment(None);
    let engine = Engine::load(&search).unwrap();
    let session = |f: &str| {
        Box::new(
            engine
                .session(&ModelSource::File(models.join(f)), 1)
                .unwrap(),
        )
    };
    BlazePose::new(
        session("pose_detection.onnx"),
        session("pose_landmark_full.onnx"),
    )
    .unwrap()
}

fn to_json(people: &[Person]) -> serde_json::Value {
    people.first().map_or(serde_json::Value::Null, |p| {
        serde_json::json!(p.keypoints.to_vec())
    })
}

#[test]
#[ignore = "needs ONNX Runtime, the converted models and extracted frames"]
fn spot_check() {
    let dir = PathBuf::from(std::env::var("BLAZEPOSE_FRAMES").expect("set BLAZEPOSE_FRAMES"));
    let models =
        PathBuf::from(std::env::var("BLAZEPOSE_MODELS").unwrap_or_else(|_| "models".into()));
    let mut frames: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ppm"))
        .collect();
    frames.sort();
    let mut bp = model(&models);
    let mut tracker = Tracker::new(1, 0).with_redetect_on_loss(false);
    let (mut stat, mut video) = (Vec::new(), Vec::new());
    let start = std::time::Instant::now();
    for (i, f) in frames.iter().enumerate() {
        let image = read_ppm(f);
        stat.push(to_json(&bp.detect_persons(&image, 1).unwrap()));
        video.push(to_json(
            &tracker.track(&mut bp, &image, i as f64 / 30.0).unwrap(),
        ));
    }
    eprintln!("{} frames in {:?}", frames.len(), start.elapsed());
    let out = serde_json::json!({ "static": stat, "video": video });
    std::fs::write(dir.join("rust.json"), out.to_string()).unwrap();
}
