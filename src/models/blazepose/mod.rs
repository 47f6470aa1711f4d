//! BlazePose (MediaPipe Pose, full model): a port of MediaPipe 0.10.14's CPU pose graph
//! over the engine's [`Inference`] trait, in image mode ([`BlazePose::detect_persons`])
//! and video mode ([`Tracker`]), generalised to several people.
//!
//! The graph, `mediapipe/modules/pose_landmark/pose_landmark_cpu.pbtxt`: the detector finds
//! people (a face box plus alignment keypoints), each detection becomes a rotated square ROI,
//! the landmark model reads a 256×256 crop of it, and in video mode the next frame's ROI is
//! built from this frame's auxiliary landmarks instead of a new detection.

pub mod anchors;
pub mod config;
pub mod detector;
pub mod filter;
pub mod landmarks;
pub mod roi;
#[cfg(test)]
mod spot_check;
pub mod tracker;

pub use tracker::{mediapipe_time, Clock, HandOver, Tracker};

use std::time::{Duration, Instant};

use ndarray::{Array4, ArrayD};

use super::movenet::MoveNet;
use crate::engine::{EngineError, Inference, ModelInfo, Outputs};
use crate::image::RgbImage;
use crate::pose::Person;
use anchors::Anchor;
use config::*;
use detector::Detection;
use landmarks::RoiLandmarks;
use roi::NormRect;

/// What finds people for the landmark model: BlazePose's own detector ([`SsdDetector`]) or
/// another model that gives the same alignment points (`models::movenet`). Detections are
/// normalised to the frame, best first.
pub trait PersonDetector: Send {
    fn info(&self) -> &ModelInfo;
    fn detect(&mut self, image: &RgbImage) -> Result<Vec<Detection>, EngineError>;
}

/// The person detector and the landmark model with what they need between them.
pub struct BlazePose {
    detector: Box<dyn PersonDetector>,
    landmarks: Box<dyn Inference>,
    times: StageTimes,
    /// The landmark model's input tensor, reused call after call: a fresh 256×256×3 crop
    /// was an allocation and a memset per person per frame.
    landmark_input: Array4<f32>,
}

/// MediaPipe's pose detector (`pose_detection.tflite`): SSD anchors, weighted NMS, letterbox.
pub struct SsdDetector {
    model: Box<dyn Inference>,
    anchors: Vec<Anchor>,
    /// Reused call after call, as the landmark input is.
    input: Array4<f32>,
}

impl SsdDetector {
    pub fn new(model: Box<dyn Inference>) -> Result<Self, EngineError> {
        let input = [1, DETECTOR_SIZE, DETECTOR_SIZE, 3];
        check_contract(model.info(), "pose detector", &input, &DETECTOR_OUTPUTS)?;
        Ok(SsdDetector {
            model,
            anchors: anchors::pose_detector_anchors(),
            input: Array4::zeros((1, DETECTOR_SIZE, DETECTOR_SIZE, 3)),
        })
    }
}

impl PersonDetector for SsdDetector {
    fn info(&self) -> &ModelInfo {
        self.model.info()
    }

    fn detect(&mut self, image: &RgbImage) -> Result<Vec<Detection>, EngineError> {
        let padding = detector::detector_input_into(image, &mut self.input);
        let outputs = self.model.run(self.input.view().into_dyn())?;
        let name = &self.model.info().name;
        let boxes = by_shape(&outputs, name, DETECTOR_OUTPUTS[0])?;
        let scores = by_shape(&outputs, name, DETECTOR_OUTPUTS[1])?;
        let decoded = detector::decode(
            &contiguous(boxes),
            &contiguous(scores),
            &self.anchors,
            MIN_DETECTION_SCORE,
        );
        let merged = detector::weighted_nms(decoded, NMS_IOU);
        Ok(merged
            .iter()
            .map(|d| detector::remove_letterbox(d, padding))
            .collect())
    }
}

/// Time spent in each model, pre- and post-processing included, since the last
/// [`BlazePose::take_stage_times`]; `bench` and the summary report it per stage.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StageTimes {
    pub detect: Duration,
    pub landmarks: Duration,
    pub detector_calls: u64,
    pub landmark_calls: u64,
}

const HEATMAP_LEN: usize = HEATMAP_SIZE * HEATMAP_SIZE * NUM_MODEL_LANDMARKS;
const DETECTOR_OUTPUTS: [&[usize]; 2] = [&[1, NUM_BOXES, NUM_COORDS], &[1, NUM_BOXES, 1]];
const LANDMARK_OUTPUTS: [&[usize]; 4] = [
    &[1, NUM_MODEL_LANDMARKS * LANDMARK_DIMS],
    &[1, 1],
    &[1, HEATMAP_SIZE, HEATMAP_SIZE, NUM_MODEL_LANDMARKS],
    &[1, NUM_MODEL_LANDMARKS * 3],
];

impl BlazePose {
    /// Checks both models' contracts (input shapes, outputs by shape) and names the
    /// mismatch, e.g. the landmark model passed as the detector. The person detector is
    /// told by its contract: MoveNet MultiPose's, else BlazePose's own.
    pub fn new(
        detector: Box<dyn Inference>,
        landmarks: Box<dyn Inference>,
    ) -> Result<Self, EngineError> {
        let detector: Box<dyn PersonDetector> = if MoveNet::fits(detector.info()) {
            Box::new(MoveNet::new(detector))
        } else {
            Box::new(SsdDetector::new(detector)?)
        };
        let lm_input = [1, LANDMARK_SIZE, LANDMARK_SIZE, 3];
        check_contract(
            landmarks.info(),
            "pose landmark model",
            &lm_input,
            &LANDMARK_OUTPUTS,
        )?;
        Ok(Self {
            detector,
            landmarks,
            times: StageTimes::default(),
            landmark_input: Array4::zeros((1, LANDMARK_SIZE, LANDMARK_SIZE, 3)),
        })
    }

    /// Image mode: the detector on this frame, then up to `max_people` persons, best
    /// detections first; a detection whose landmarks land on a person already found, or
    /// whose pose presence is too low, is skipped.
    pub fn detect_persons(
        &mut self,
        image: &RgbImage,
        max_people: usize,
    ) -> Result<Vec<Person>, EngineError> {
        let mut found: Vec<RoiLandmarks> = Vec::new();
        for det in self.detect(image)? {
            if found.len() >= max_people {
                break;
            }
            let roi = roi_from_detection(&det, image);
            if let Some(result) = self.landmarks_in_roi(image, &roi)? {
                if !overlaps_any(&result, &found, image) {
                    found.push(result);
                }
            }
        }
        Ok(found
            .iter()
            .map(|r| r.to_person(image.width, image.height))
            .collect())
    }

    /// Stage times accumulated since the last call, and a fresh start.
    pub fn take_stage_times(&mut self) -> StageTimes {
        std::mem::take(&mut self.times)
    }

    /// The person detector's detections in frame-normalised coordinates, best first.
    pub fn detect(&mut self, image: &RgbImage) -> Result<Vec<Detection>, EngineError> {
        let started = Instant::now();
        let detections = self.detector.detect(image);
        self.times.detect += started.elapsed();
        self.times.detector_calls += 1;
        detections
    }

    /// The landmark model on `roi`; `None` when the pose presence is not above
    /// [`MIN_POSE_PRESENCE`] (MediaPipe then gates every landmark off).
    pub fn landmarks_in_roi(
        &mut self,
        image: &RgbImage,
        roi: &NormRect,
    ) -> Result<Option<RoiLandmarks>, EngineError> {
        let started = Instant::now();
        let result = self.run_landmarks(image, roi);
        self.times.landmarks += started.elapsed();
        self.times.landmark_calls += 1;
        result
    }

    fn run_landmarks(
        &mut self,
        image: &RgbImage,
        roi: &NormRect,
    ) -> Result<Option<RoiLandmarks>, EngineError> {
        let padding = landmarks::landmark_input_into(image, roi, &mut self.landmark_input);
        let outputs = self.landmarks.run(self.landmark_input.view().into_dyn())?;
        let name = &self.landmarks.info().name;
        let presence = by_shape(&outputs, name, LANDMARK_OUTPUTS[1])?
            .iter()
            .copied()
            .next()
            .unwrap_or(0.0);
        if presence <= MIN_POSE_PRESENCE {
            return Ok(None);
        }
        let raw = contiguous(by_shape(&outputs, name, LANDMARK_OUTPUTS[0])?);
        let heatmap = contiguous(by_shape(&outputs, name, LANDMARK_OUTPUTS[2])?);
        let world = contiguous(by_shape(&outputs, name, LANDMARK_OUTPUTS[3])?);
        debug_assert_eq!(heatmap.len(), HEATMAP_LEN);
        let result =
            landmarks::decode_roi(&raw, presence, &heatmap, HEATMAP_SIZE, &world, roi, padding);
        Ok(Some(result))
    }
}

/// `pose_detection_to_roi.pbtxt`: keypoint 0 (hip centre) and 1 (size/rotation point).
pub fn roi_from_detection(det: &Detection, image: &RgbImage) -> NormRect {
    roi::roi_from_points(
        det.keypoints[0],
        det.keypoints[1],
        image.width,
        image.height,
    )
}

/// Whether `result`'s landmark box overlaps any of `others`' by more than
/// [`SAME_PERSON_IOU`].
fn overlaps_any(result: &RoiLandmarks, others: &[RoiLandmarks], image: &RgbImage) -> bool {
    let b = result.to_person(image.width, image.height).bbox;
    others
        .iter()
        .any(|o| roi::box_iou(b, o.to_person(image.width, image.height).bbox) > SAME_PERSON_IOU)
}

/// The array as one contiguous slice (a copy only if the runtime returned another layout).
fn contiguous(array: &ArrayD<f32>) -> std::borrow::Cow<'_, [f32]> {
    match array.as_slice() {
        Some(s) => s.into(),
        None => array.iter().copied().collect::<Vec<_>>().into(),
    }
}

/// The output whose shape is `shape`: converted models rename outputs, shapes stay.
fn by_shape<'a>(
    outputs: &'a Outputs,
    model: &str,
    shape: &[usize],
) -> Result<&'a ArrayD<f32>, EngineError> {
    outputs
        .arrays
        .iter()
        .find(|a| a.shape() == shape)
        .ok_or_else(|| EngineError::Contract {
            model: model.to_string(),
            reason: format!(
                "returned no output of shape {shape:?} (it returned {:?})",
                outputs
                    .arrays
                    .iter()
                    .map(|a| a.shape().to_vec())
                    .collect::<Vec<_>>()
            ),
        })
}

/// Whether a declared shape fits `want`; `-1` (dynamic) fits anything.
fn shape_fits(declared: &[i64], want: &[usize]) -> bool {
    declared.len() == want.len()
        && declared
            .iter()
            .zip(want)
            .all(|(&d, &w)| d < 0 || d as usize == w)
}

fn check_contract(
    info: &ModelInfo,
    role: &str,
    input: &[usize],
    outputs: &[&[usize]],
) -> Result<(), EngineError> {
    let fail = |reason: String| EngineError::Contract {
        model: info.name.clone(),
        reason: format!("is not a BlazePose {role}: {reason}"),
    };
    match info.inputs.as_slice() {
        [only] if shape_fits(&only.shape, input) => {}
        inputs => {
            let shapes: Vec<_> = inputs.iter().map(|t| t.shape.clone()).collect();
            return Err(fail(format!(
                "expected one input of shape {input:?}, found {shapes:?}"
            )));
        }
    }
    for want in outputs {
        if !info.outputs.iter().any(|t| shape_fits(&t.shape, want)) {
            let shapes: Vec<_> = info.outputs.iter().map(|t| t.shape.clone()).collect();
            return Err(fail(format!(
                "expected an output of shape {want:?}, found {shapes:?}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn swapped_models_are_named_in_the_error() {
        let err = BlazePose::new(
            Box::new(FakeLandmarks::upright(0.9)),
            Box::new(FakeDetector::none()),
        )
        .err()
        .unwrap();
        let msg = err.to_string();
        assert!(
            msg.contains("pose detector") && msg.contains("[1, 224, 224, 3]"),
            "{msg}"
        );
    }

    #[test]
    fn contract_accepts_dynamic_batch() {
        assert!(shape_fits(&[-1, 224, 224, 3], &[1, 224, 224, 3]));
        assert!(!shape_fits(&[1, 256, 256, 3], &[1, 224, 224, 3]));
    }

    #[test]
    fn image_mode_finds_one_person_per_detection() {
        let image = RgbImage::new(640, 480);
        let det = FakeDetector::people(&[(0.3, 0.5), (0.7, 0.5)]);
        let mut bp = BlazePose::new(Box::new(det), Box::new(FakeLandmarks::upright(0.9))).unwrap();
        let people = bp.detect_persons(&image, 5).unwrap();
        assert_eq!(people.len(), 2);
        assert!(people.iter().all(|p| p.score == 0.9));
        // The fake's hip centre sits at the ROI centre: the detections' hip centres.
        let hips: Vec<f32> = people.iter().map(|p| p.keypoints[0][0]).collect();
        assert!((hips[0] - 0.3 * 640.0).abs() < 1.0 || (hips[1] - 0.3 * 640.0).abs() < 1.0);
        assert_eq!(bp.detect_persons(&image, 1).unwrap().len(), 1);
    }

    #[test]
    fn a_landmark_model_with_the_segmentation_mask_still_reads_the_same() {
        // The built-in model has no mask; a `--landmarks` file straight from a conversion
        // of MediaPipe's model has one more output, which posekit ignores.
        let image = RgbImage::new(640, 480);
        let people = |landmarks: FakeLandmarks| {
            let det = FakeDetector::people(&[(0.3, 0.5), (0.7, 0.5)]);
            let mut bp = BlazePose::new(Box::new(det), Box::new(landmarks)).unwrap();
            bp.detect_persons(&image, 5).unwrap()
        };
        let pruned = people(FakeLandmarks::upright(0.9));
        assert_eq!(pruned.len(), 2);
        assert_eq!(
            pruned,
            people(FakeLandmarks::upright_with_segmentation(0.9))
        );
    }

    #[test]
    fn image_mode_drops_duplicates_and_absent_poses() {
        let image = RgbImage::new(640, 480);
        // Two detections 2 px apart (NMS keeps both: the fake's boxes don't overlap) land
        // on the same person.
        let det = FakeDetector::people(&[(0.5, 0.5), (0.503, 0.5)]);
        let mut bp = BlazePose::new(Box::new(det), Box::new(FakeLandmarks::upright(0.9))).unwrap();
        assert_eq!(bp.detect_persons(&image, 5).unwrap().len(), 1);
        let det = FakeDetector::people(&[(0.5, 0.5)]);
        let mut bp = BlazePose::new(Box::new(det), Box::new(FakeLandmarks::upright(0.5))).unwrap();
        assert!(
            bp.detect_persons(&image, 5).unwrap().is_empty(),
            "presence must exceed 0.5"
        );
    }
}
