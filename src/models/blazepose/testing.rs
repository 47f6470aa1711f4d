//! Fake detector and landmark models for the unit tests: hand-made tensors shaped like the
//! real models' outputs, with shared handles so tests can steer them and count calls.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ndarray::{ArrayD, ArrayViewD, IxDyn};

use super::anchors::pose_detector_anchors;
use super::config::*;
use crate::engine::{EngineError, Inference, ModelInfo, Outputs, TensorInfo};

fn info(name: &str, input: &[i64], outputs: &[&[i64]]) -> ModelInfo {
    let t = |name: String, shape: &[i64]| TensorInfo {
        name,
        shape: shape.to_vec(),
    };
    ModelInfo {
        name: name.into(),
        sha256: String::new(),
        inputs: vec![t("input".into(), input)],
        outputs: outputs
            .iter()
            .enumerate()
            .map(|(i, s)| t(format!("Identity_{i}"), s))
            .collect(),
        ..ModelInfo::default()
    }
}

fn outputs(arrays: Vec<ArrayD<f32>>) -> Outputs {
    Outputs {
        names: (0..arrays.len()).map(|i| format!("Identity_{i}")).collect(),
        arrays,
    }
}

/// A detector that "sees" people at given frame-normalised hip centres on a 4:3 frame
/// (letterbox 0.125 top and bottom), each with its size point 0.1 of the frame height above.
#[derive(Clone)]
pub struct FakeDetector {
    info: ModelInfo,
    pub people: Arc<Mutex<Vec<(f32, f32)>>>,
    pub calls: Arc<AtomicUsize>,
}

impl FakeDetector {
    pub fn people(hips: &[(f32, f32)]) -> Self {
        Self {
            info: info(
                "fake_detector",
                &[1, 224, 224, 3],
                &[&[1, 2254, 12], &[1, 2254, 1]],
            ),
            people: Arc::new(Mutex::new(hips.to_vec())),
            calls: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub fn none() -> Self {
        Self::people(&[])
    }
}

impl Inference for FakeDetector {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn run(&mut self, input: ArrayViewD<'_, f32>) -> Result<Outputs, EngineError> {
        assert_eq!(input.shape(), &[1, 224, 224, 3]);
        self.calls.fetch_add(1, Ordering::SeqCst);
        let anchors = pose_detector_anchors();
        let mut boxes = ArrayD::zeros(IxDyn(&[1, NUM_BOXES, NUM_COORDS]));
        let mut scores = ArrayD::from_elem(IxDyn(&[1, NUM_BOXES, 1]), -10.0f32);
        // 4:3 frame letterboxed into a square: y' = 0.125 + 0.75 y.
        let to_input = |x: f32, y: f32| (x, 0.125 + 0.75 * y);
        for (k, &(hx, hy)) in self.people.lock().unwrap().iter().enumerate() {
            let i = 100 + 300 * k;
            let a = anchors[i];
            let (x0, y0) = to_input(hx, hy);
            let (x1, y1) = to_input(hx, hy - 0.1);
            let rel = |x: f32, y: f32| [(x - a.x_center) * 224.0, (y - a.y_center) * 224.0];
            let [bx, by] = rel(x0, y1);
            // A tiny face box so that nearby fakes survive NMS as separate detections.
            let raw = [
                bx,
                by,
                0.2,
                0.2,
                rel(x0, y0)[0],
                rel(x0, y0)[1],
                rel(x1, y1)[0],
                rel(x1, y1)[1],
                0.0,
                0.0,
                0.0,
                0.0,
            ];
            for (c, v) in raw.iter().enumerate() {
                boxes[[0, i, c]] = *v;
            }
            scores[[0, i, 0]] = 5.0 - k as f32 * 0.1;
        }
        Ok(outputs(vec![boxes, scores]))
    }
}

/// A landmark model that always finds an upright person centred in its crop, so that the
/// ROI built from its auxiliary landmarks is the ROI it was given.
#[derive(Clone)]
pub struct FakeLandmarks {
    info: ModelInfo,
    /// Whether it also returns the [1,256,256,1] segmentation mask, as conversions made
    /// before the mask was pruned (and `--landmarks` files made elsewhere) do.
    segmentation: bool,
    pub presence: Arc<Mutex<f32>>,
    pub calls: Arc<AtomicUsize>,
}

impl FakeLandmarks {
    /// Shaped like the built-in model: the four outputs posekit reads.
    pub fn upright(presence: f32) -> Self {
        Self::new(presence, false)
    }

    /// Shaped like MediaPipe's own model: the four plus the segmentation mask, third.
    pub fn upright_with_segmentation(presence: f32) -> Self {
        Self::new(presence, true)
    }

    fn new(presence: f32, segmentation: bool) -> Self {
        let mut shapes: Vec<&[i64]> = vec![&[1, 195], &[1, 1], &[1, 64, 64, 39], &[1, 117]];
        if segmentation {
            shapes.insert(2, &[1, 256, 256, 1]);
        }
        Self {
            info: info("fake_landmarks", &[1, 256, 256, 3], &shapes),
            segmentation,
            presence: Arc::new(Mutex::new(presence)),
            calls: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl Inference for FakeLandmarks {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn run(&mut self, input: ArrayViewD<'_, f32>) -> Result<Outputs, EngineError> {
        assert_eq!(input.shape(), &[1, 256, 256, 3]);
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut lms = ArrayD::zeros(IxDyn(&[1, 195]));
        for i in 0..NUM_MODEL_LANDMARKS {
            let (x, y) = match i {
                0 | 33 | 35..=38 => (0.5, 0.5),
                // The size point: 0.4 of the crop above the hips, i.e. 2 × 1.25 × 0.4 = 1.
                34 => (0.5, 0.1),
                _ => (0.3 + 0.4 * (i % 2) as f32, 0.1 + 0.8 * i as f32 / 33.0),
            };
            let v = [x * 256.0, y * 256.0, 0.0, 3.0, 3.0];
            for (c, value) in v.iter().enumerate() {
                lms[[0, 5 * i + c]] = *value;
            }
        }
        let presence = ArrayD::from_elem(IxDyn(&[1, 1]), *self.presence.lock().unwrap());
        let heatmap = ArrayD::from_elem(IxDyn(&[1, 64, 64, 39]), -20.0);
        let world = ArrayD::zeros(IxDyn(&[1, 117]));
        let mut arrays = vec![lms, presence, heatmap, world];
        if self.segmentation {
            arrays.insert(2, ArrayD::zeros(IxDyn(&[1, 256, 256, 1])));
        }
        Ok(outputs(arrays))
    }
}

/// BlazePose on fakes that find one upright person in the middle of every frame.
pub fn one_person_blazepose() -> super::BlazePose {
    super::BlazePose::new(
        Box::new(FakeDetector::people(&[(0.5, 0.5)])),
        Box::new(FakeLandmarks::upright(0.9)),
    )
    .expect("the fakes meet the models' contract")
}
