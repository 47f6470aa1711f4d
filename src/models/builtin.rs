//! The BlazePose models built into the binary, so a single binary needs nothing but
//! ONNX Runtime. `models/manifest.json` records where they came from; a test checks
//! these bytes against it.

use crate::engine::ModelSource;

// The bytes live in statics, and the constants below only point at them: a constant that
// held `include_bytes!` itself was copied into the binary at each place it is used, so
// the binary carried each 12 MB model three times (81 MB instead of 32 MB).
static DETECTOR_BYTES: [u8; include_bytes!("../../models/pose_detection.onnx").len()] =
    *include_bytes!("../../models/pose_detection.onnx");
static LANDMARKS_BYTES: [u8; include_bytes!("../../models/pose_landmark_full.onnx").len()] =
    *include_bytes!("../../models/pose_landmark_full.onnx");

/// MediaPipe's BlazePose person detector (from `mediapipe==0.10.14`), as ONNX.
pub const DETECTOR: ModelSource = ModelSource::Embedded {
    name: "pose_detection.onnx",
    bytes: &DETECTOR_BYTES,
};

/// MediaPipe's BlazePose full landmark model (from `mediapipe==0.10.14`), as ONNX.
pub const LANDMARKS: ModelSource = ModelSource::Embedded {
    name: "pose_landmark_full.onnx",
    bytes: &LANDMARKS_BYTES,
};
