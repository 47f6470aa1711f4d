//! The BlazePose models built into the binary, so a single binary needs nothing but
//! ONNX Runtime. `models/manifest.json` records where they came from; a test checks
//! these bytes against it.

use crate::engine::ModelSource;

/// MediaPipe's BlazePose person detector (from `mediapipe==0.10.14`), as ONNX.
pub const DETECTOR: ModelSource = ModelSource::Embedded {
    name: "pose_detection.onnx",
    bytes: include_bytes!("../../models/pose_detection.onnx"),
};

/// MediaPipe's BlazePose full landmark model (from `mediapipe==0.10.14`), as ONNX.
pub const LANDMARKS: ModelSource = ModelSource::Embedded {
    name: "pose_landmark_full.onnx",
    bytes: include_bytes!("../../models/pose_landmark_full.onnx"),
};
