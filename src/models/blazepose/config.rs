//! BlazePose sizes and thresholds, each with the MediaPipe v0.10.14 file it comes from.
//!
//! Graph files are under `mediapipe/modules/`, calculators under `mediapipe/calculators/`.

/// Detector input side: `pose_detection/pose_detection_cpu.pbtxt`, ImageToTensor
/// `output_tensor_width/height: 224`.
pub const DETECTOR_SIZE: usize = 224;
/// Detector float range: ImageToTensor `output_tensor_float_range { min: -1 max: 1 }`.
pub const DETECTOR_RANGE: (f32, f32) = (-1.0, 1.0);
/// Number of SSD anchors / raw boxes: TensorsToDetections `num_boxes: 2254`.
pub const NUM_BOXES: usize = 2254;
/// Values per raw box: `num_coords: 12` (box centre + size, then 4 keypoints × 2).
pub const NUM_COORDS: usize = 12;
/// Keypoints per detection: `num_keypoints: 4`, after the box (`keypoint_coord_offset: 4`).
pub const NUM_DETECTION_KEYPOINTS: usize = 4;
/// Raw coordinates are in detector-input pixels: `x_scale … w_scale: 224.0`.
pub const DETECTOR_COORD_SCALE: f32 = 224.0;
/// Raw scores are clipped to ±100 before the sigmoid: `score_clipping_thresh: 100.0`.
pub const SCORE_CLIPPING: f32 = 100.0;
/// Minimum detection score: `min_score_thresh: 0.5` in the graph, which is also the
/// Python `Pose(min_detection_confidence=0.5)` default that overrides it.
pub const MIN_DETECTION_SCORE: f32 = 0.5;
/// Weighted NMS merges boxes whose IoU exceeds this: NonMaxSuppression
/// `min_suppression_threshold: 0.3`, `overlap_type: INTERSECTION_OVER_UNION`, `WEIGHTED`.
pub const NMS_IOU: f32 = 0.3;

/// SSD anchor options: SsdAnchorsCalculator node of `pose_detection_cpu.pbtxt`.
pub const ANCHOR_STRIDES: [usize; 5] = [8, 16, 32, 32, 32];
pub const ANCHOR_MIN_SCALE: f32 = 0.1484375;
pub const ANCHOR_MAX_SCALE: f32 = 0.75;
pub const ANCHOR_OFFSET: f32 = 0.5;

/// Landmark crop side: `pose_landmark/pose_landmark_by_roi_cpu.pbtxt`, ImageToTensor
/// 256×256, `keep_aspect_ratio: true`, float range [0, 1] and no `border_mode`, which
/// `image_to_tensor_utils.cc` (`GetBorderMode`) turns into replicate.
pub const LANDMARK_SIZE: usize = 256;
pub const LANDMARK_RANGE: (f32, f32) = (0.0, 1.0);
/// Landmarks the model outputs: `tensors_to_pose_landmarks_and_segmentation.pbtxt`,
/// TensorsToLandmarks `num_landmarks: 39` (33 body + 6 auxiliary).
pub const NUM_MODEL_LANDMARKS: usize = 39;
/// Values per landmark in the [1,195] output: x, y, z, visibility, presence.
pub const LANDMARK_DIMS: usize = 5;
/// The auxiliary landmarks the ROI is built from: SplitNormalizedLandmarkList
/// `ranges: { begin: 33 end: 35 }` (hip centre, then the body-size/rotation point).
pub const AUX_FIRST: usize = 33;
/// Heatmap side of the [1,64,64,39] output.
pub const HEATMAP_SIZE: usize = 64;
/// RefineLandmarksFromHeatmap `kernel_size: 7` (graph), `min_confidence_to_refine`
/// default 0.5 (`refine_landmarks_from_heatmap_calculator.proto`).
pub const HEATMAP_KERNEL: usize = 7;
pub const HEATMAP_MIN_CONFIDENCE: f32 = 0.5;
/// A pose counts as present when the pose-flag output is strictly above this:
/// ThresholdingCalculator `threshold: 0.5` (`value > threshold`), which Python's
/// `min_tracking_confidence=0.5` overrides with the same value. Below it MediaPipe gates
/// all landmarks off, in detection and tracking frames alike.
pub const MIN_POSE_PRESENCE: f32 = 0.5;

/// ROI from two alignment points: AlignmentPointsRects `rotation_vector_target_angle_degrees:
/// 90` in `pose_detection_to_roi.pbtxt` and `pose_landmarks_to_roi.pbtxt`.
pub const ROI_TARGET_ANGLE_DEGREES: f32 = 90.0;
/// RectTransformation `scale_x: 1.25 scale_y: 1.25 square_long: true` (same two files).
pub const ROI_SCALE: f32 = 1.25;

/// One-euro filter on the two auxiliary landmarks, applied even with smoothing off:
/// the unconditional LandmarksSmoothing node in `pose_landmark/pose_landmark_filtering.pbtxt`
/// (`min_cutoff: 0.01 beta: 10.0 derivate_cutoff: 1.0`); the frequency default 30 and
/// object-scale normalisation come from `landmarks_smoothing_calculator.proto`.
pub const AUX_MIN_CUTOFF: f64 = 0.01;
pub const AUX_BETA: f64 = 10.0;
pub const AUX_DERIVATE_CUTOFF: f64 = 1.0;
pub const AUX_DEFAULT_FREQUENCY: f64 = 30.0;
/// MediaPipe's Python API stamps frame n (from 1) at n × 33333 µs whatever the video's
/// rate (`mediapipe/python/solution_base.py`), which the aux filter then reads.
pub const SIMULATED_FRAME_US: i64 = 33_333;

/// posekit's own choice, not MediaPipe's (it tracks one person): two results whose landmark
/// boxes overlap by more than this IoU are the same person. Duplicates that converge on one
/// body overlap far more (≈0.8+); two people side by side rarely reach 0.5.
pub const SAME_PERSON_IOU: f32 = 0.5;
