//! MoveNet MultiPose Lightning as a person detector in front of BlazePose's landmark model
//! (`--person-detector movenet`): it finds up to six people, each with a box and the 17
//! COCO keypoints, where BlazePose's own detector is built for one prominent person.
//!
//! Pre- and post-processing follow the model's reference implementation, TensorFlow.js
//! `pose-detection` (`src/movenet/detector.ts`, `constants.ts`, `detector_utils.ts`): the
//! frame is resized with its longer side to [`MAX_SIDE`] (bilinear, aspect kept) and padded
//! right and bottom with black to multiples of [`SIDE_DIVISOR`]; the model's own graph
//! decodes the centres, keypoints and boxes and suppresses duplicates, so there is no NMS
//! here; outputs are normalised to the padded input and scaled back to the frame.
//!
//! Each person becomes a BlazePose [`Detection`]: its two alignment points (hip centre and
//! the point whose distance and direction give the body's size and rotation) are built
//! from MoveNet's hips, shoulders and the spread of its confident keypoints, so the
//! landmark model's region of interest is made exactly as for BlazePose's detector
//! (`pose_detection_to_roi.pbtxt`).

use ndarray::Array4;

use super::blazepose::detector::Detection;
use super::blazepose::PersonDetector;
use crate::engine::{EngineError, Inference, ModelInfo};
use crate::image::{crop_into, BorderMode, CropSpec, RgbImage, RotatedRect};

/// Longer input side: `multiPoseMaxDimension` default 256 (validated 128..512, multiple
/// of 32, in `detector_utils.ts`).
pub const MAX_SIDE: usize = 256;
/// Input sides are padded to multiples of this (`dimensionDivisor` in `detector.ts`).
pub const SIDE_DIVISOR: usize = 32;
/// A person counts from this instance score: `minPoseScore` default 0.25.
pub const MIN_POSE_SCORE: f32 = 0.25;
/// A keypoint is used for the alignment points from this score: `MIN_CROP_KEYPOINT_SCORE`.
pub const MIN_KEYPOINT_SCORE: f32 = 0.2;
/// Instances the graph returns, and values per instance: 17 × (y, x, score), then
/// ymin, xmin, ymax, xmax, score (`MULTIPOSE_INSTANCE_SIZE`).
pub const INSTANCES: usize = 6;
pub const INSTANCE_VALUES: usize = 56;
const KEYPOINTS: usize = 17;

/// posekit's own choice: the body circle's radius is the farthest confident keypoint's
/// distance from the hips times this, since the top of the head lies beyond the eyes
/// and ears and the feet beyond the ankles.
const BODY_MARGIN: f32 = 1.15;

// COCO keypoint order.
const LEFT_SHOULDER: usize = 5;
const RIGHT_SHOULDER: usize = 6;
const LEFT_HIP: usize = 11;
const RIGHT_HIP: usize = 12;

/// The input's size for a frame: resized `(width, height)` and padded `(width, height)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub resized: (usize, usize),
    pub padded: (usize, usize),
}

pub fn geometry(width: u32, height: u32) -> Geometry {
    let (w, h) = (width.max(1) as f64, height.max(1) as f64);
    let side = MAX_SIDE as f64;
    let resized = if w > h {
        (MAX_SIDE, ((side * h / w).round() as usize).max(1))
    } else {
        (((side * w / h).round() as usize).max(1), MAX_SIDE)
    };
    let pad = |n: usize| n.div_ceil(SIDE_DIVISOR) * SIDE_DIVISOR;
    Geometry {
        resized,
        padded: (pad(resized.0), pad(resized.1)),
    }
}

/// One person, normalised to the frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    pub score: f32,
    /// x1, y1, x2, y2.
    pub bbox: [f32; 4],
    /// 17 × (x, y, score).
    pub keypoints: [[f32; 3]; KEYPOINTS],
}

/// The instances scoring at least [`MIN_POSE_SCORE`], best first, from the raw `[6 × 56]`
/// output, mapped from the padded input back to the frame.
pub fn decode(raw: &[f32], geometry: Geometry) -> Vec<Instance> {
    let sx = geometry.padded.0 as f32 / geometry.resized.0 as f32;
    let sy = geometry.padded.1 as f32 / geometry.resized.1 as f32;
    let mut found: Vec<Instance> = raw
        .chunks_exact(INSTANCE_VALUES)
        .filter(|v| v[INSTANCE_VALUES - 1] >= MIN_POSE_SCORE)
        .map(|v| {
            let mut keypoints = [[0.0; 3]; KEYPOINTS];
            for (k, kp) in keypoints.iter_mut().enumerate() {
                *kp = [v[3 * k + 1] * sx, v[3 * k] * sy, v[3 * k + 2]];
            }
            let b = &v[3 * KEYPOINTS..];
            Instance {
                score: b[4],
                bbox: [b[1] * sx, b[0] * sy, b[3] * sx, b[2] * sy],
                keypoints,
            }
        })
        .collect();
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    found
}

/// A BlazePose detection for `instance` in a `width × height` frame: the hip centre, and
/// the point at the body circle's radius along the hips→shoulders direction (up when the
/// shoulders are not seen). Without confident hips, the box centre and half its longer
/// side.
pub fn to_detection(instance: &Instance, width: u32, height: u32) -> Detection {
    let (w, h) = (width as f32, height as f32);
    let px = |k: usize| [instance.keypoints[k][0] * w, instance.keypoints[k][1] * h];
    let seen = |k: usize| instance.keypoints[k][2] >= MIN_KEYPOINT_SCORE;
    let mid = |a: [f32; 2], b: [f32; 2]| [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0];
    let [x1, y1, x2, y2] = instance.bbox;
    let (box_w, box_h) = ((x2 - x1) * w, (y2 - y1) * h);
    let (center, radius) = if seen(LEFT_HIP) && seen(RIGHT_HIP) {
        let hips = mid(px(LEFT_HIP), px(RIGHT_HIP));
        let spread = (0..KEYPOINTS)
            .filter(|&k| seen(k))
            .map(|k| distance(px(k), hips))
            .fold(0.0f32, f32::max);
        (hips, spread * BODY_MARGIN)
    } else {
        (
            [(x1 + x2) / 2.0 * w, (y1 + y2) / 2.0 * h],
            box_w.max(box_h) / 2.0,
        )
    };
    let up = if seen(LEFT_SHOULDER) && seen(RIGHT_SHOULDER) {
        unit(mid(px(LEFT_SHOULDER), px(RIGHT_SHOULDER)), center).unwrap_or([0.0, -1.0])
    } else {
        [0.0, -1.0]
    };
    let radius = radius.max(box_w.max(box_h) / 4.0).max(1.0);
    let scale = [center[0] + up[0] * radius, center[1] + up[1] * radius];
    let norm = |p: [f32; 2]| [p[0] / w, p[1] / h];
    Detection {
        score: instance.score,
        xmin: x1,
        ymin: y1,
        width: x2 - x1,
        height: y2 - y1,
        keypoints: [norm(center), norm(scale), norm(center), norm(scale)],
    }
}

fn distance(a: [f32; 2], b: [f32; 2]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// The unit vector from `from` to `to`; `None` when they coincide.
fn unit(to: [f32; 2], from: [f32; 2]) -> Option<[f32; 2]> {
    let length = distance(to, from);
    (length > 1e-3).then(|| [(to[0] - from[0]) / length, (to[1] - from[1]) / length])
}

/// The model with its input tensor, kept between calls (frames of one video share a size).
pub struct MoveNet {
    model: Box<dyn Inference>,
    input: Array4<f32>,
    geometry: Option<Geometry>,
}

impl MoveNet {
    /// Whether `info` is MoveNet MultiPose's contract: one NHWC input with 3 channels and
    /// an output of `[1, 6, 56]`.
    pub fn fits(info: &ModelInfo) -> bool {
        let input_ok =
            matches!(info.inputs.as_slice(), [only] if only.shape.len() == 4 && only.shape[3] == 3);
        let output_ok = info.outputs.iter().any(|t| {
            t.shape.len() == 3
                && t.shape[2] == INSTANCE_VALUES as i64
                && (t.shape[1] < 0 || t.shape[1] == INSTANCES as i64)
        });
        input_ok && output_ok
    }

    pub fn new(model: Box<dyn Inference>) -> Self {
        MoveNet {
            model,
            input: Array4::zeros((1, 0, 0, 3)),
            geometry: None,
        }
    }

    /// The people in `image`, best first.
    pub fn instances(&mut self, image: &RgbImage) -> Result<Vec<Instance>, EngineError> {
        let geometry = geometry(image.width, image.height);
        self.fill_input(image, geometry);
        let outputs = self.model.run(self.input.view().into_dyn())?;
        let raw = outputs
            .arrays
            .iter()
            .find(|a| a.shape().last() == Some(&INSTANCE_VALUES))
            .ok_or_else(|| EngineError::Contract {
                model: self.model.info().name.clone(),
                reason: format!("returned no output of shape [1, n, {INSTANCE_VALUES}]"),
            })?;
        let values: Vec<f32> = raw.iter().copied().collect();
        Ok(decode(&values, geometry))
    }

    /// The frame resized to `resized` at the top left of a black `padded` tensor: one crop
    /// of a rect that reaches past the frame's right and bottom edges by the padding.
    fn fill_input(&mut self, image: &RgbImage, geometry: Geometry) {
        let (pw, ph) = geometry.padded;
        if self.geometry != Some(geometry) {
            self.input = Array4::zeros((1, ph, pw, 3));
            self.geometry = Some(geometry);
        }
        let (rw, rh) = geometry.resized;
        let width = image.width as f32 * pw as f32 / rw as f32;
        let height = image.height as f32 * ph as f32 / rh as f32;
        let rect = RotatedRect {
            center_x: width / 2.0,
            center_y: height / 2.0,
            width,
            height,
            rotation: 0.0,
        };
        let spec = CropSpec {
            out_width: pw,
            out_height: ph,
            border: BorderMode::Zero,
            range: (0.0, 255.0),
        };
        let out = self
            .input
            .as_slice_mut()
            .expect("the input tensor is contiguous");
        crop_into(image, &rect, &spec, out);
    }
}

impl PersonDetector for MoveNet {
    fn info(&self) -> &ModelInfo {
        self.model.info()
    }

    fn detect(&mut self, image: &RgbImage) -> Result<Vec<Detection>, EngineError> {
        Ok(self
            .instances(image)?
            .iter()
            .map(|i| to_detection(i, image.width, image.height))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_keeps_the_aspect_and_pads_to_32() {
        assert_eq!(
            geometry(1088, 1920),
            Geometry {
                resized: (145, 256),
                padded: (160, 256)
            }
        );
        assert_eq!(
            geometry(1768, 994),
            Geometry {
                resized: (256, 144),
                padded: (256, 160)
            }
        );
        assert_eq!(geometry(640, 640).padded, (256, 256));
    }

    /// A raw instance: keypoints (y, x, score) then box (ymin, xmin, ymax, xmax, score),
    /// in padded-input coordinates.
    fn raw_instance(score: f32, kp: impl Fn(usize) -> [f32; 3], bbox: [f32; 4]) -> Vec<f32> {
        let mut v = Vec::new();
        for k in 0..KEYPOINTS {
            v.extend(kp(k));
        }
        v.extend(bbox);
        v.push(score);
        v
    }

    #[test]
    fn decode_keeps_scores_from_the_threshold_sorted_and_unpads() {
        let g = Geometry {
            resized: (128, 256),
            padded: (256, 256),
        };
        let mut raw = raw_instance(0.3, |_| [0.5, 0.25, 0.9], [0.1, 0.2, 0.9, 0.4]);
        raw.extend(raw_instance(0.24, |_| [0.5, 0.5, 0.9], [0.0; 4]));
        raw.extend(raw_instance(
            0.8,
            |_| [0.2, 0.1, 0.9],
            [0.1, 0.05, 0.5, 0.15],
        ));
        let found = decode(&raw, g);
        assert_eq!(found.len(), 2, "the 0.24 instance is below 0.25");
        assert_eq!(found[0].score, 0.8);
        // x doubles (the padded width is twice the resized one), y stays.
        assert_eq!(found[1].keypoints[0], [0.5, 0.5, 0.9]);
        assert_eq!(found[1].bbox, [0.4, 0.1, 0.8, 0.9]);
    }

    fn upright(score_of: impl Fn(usize) -> f32) -> Instance {
        // A person standing at x = 0.5: head at y 0.2, shoulders 0.3, hips 0.5, ankles 0.8.
        let y = |k: usize| match k {
            0..=4 => 0.2,
            5..=10 => 0.3,
            11 | 12 => 0.5,
            13 | 14 => 0.65,
            _ => 0.8,
        };
        let mut keypoints = [[0.0; 3]; KEYPOINTS];
        for (k, kp) in keypoints.iter_mut().enumerate() {
            *kp = [0.5, y(k), score_of(k)];
        }
        Instance {
            score: 0.9,
            bbox: [0.4, 0.15, 0.6, 0.85],
            keypoints,
        }
    }

    #[test]
    fn an_upright_person_gives_hips_and_a_point_above_them() {
        let d = to_detection(&upright(|_| 0.9), 100, 100);
        assert_eq!(d.keypoints[0], [0.5, 0.5]);
        // Farthest keypoint 0.3 from the hips (the ankles and the head), times the margin.
        let [x, y] = d.keypoints[1];
        assert!((x - 0.5).abs() < 1e-6);
        assert!((y - (0.5 - 0.3 * BODY_MARGIN)).abs() < 1e-5, "{y}");
        assert_eq!(d.xmin, 0.4);
        assert!((d.width - 0.2).abs() < 1e-6);
    }

    #[test]
    fn without_hips_the_box_gives_the_centre_and_size() {
        let d = to_detection(
            &upright(|k| if k == LEFT_HIP { 0.1 } else { 0.9 }),
            100,
            100,
        );
        assert_eq!(d.keypoints[0], [0.5, 0.5]);
        let [_, y] = d.keypoints[1];
        assert!(
            (y - (0.5 - 0.35)).abs() < 1e-5,
            "half the box's 0.7 height: {y}"
        );
    }

    #[test]
    fn the_contract_is_one_image_input_and_a_six_by_56_output() {
        use crate::engine::TensorInfo;
        let info = |input: Vec<i64>, output: Vec<i64>| ModelInfo {
            name: "m".into(),
            sha256: String::new(),
            inputs: vec![TensorInfo {
                name: "input".into(),
                shape: input,
            }],
            outputs: vec![TensorInfo {
                name: "output_0".into(),
                shape: output,
            }],
            ..ModelInfo::default()
        };
        assert!(MoveNet::fits(&info(vec![1, -1, -1, 3], vec![1, 6, 56])));
        assert!(!MoveNet::fits(&info(
            vec![1, 224, 224, 3],
            vec![1, 2254, 12]
        )));
    }
}
