//! The landmark model's pre- and post-processing: the ROI crop, landmark decoding, heatmap
//! refinement, and projection back to the frame (image and world coordinates).
//!
//! Sources: `pose_landmark_by_roi_cpu.pbtxt` (crop),
//! `tensors_to_pose_landmarks_and_segmentation.pbtxt` (decode, refine, split),
//! `pose_landmarks_and_segmentation_inverse_projection.pbtxt` (back to the frame), and the
//! calculators `tensors_to_landmarks_calculator.cc`,
//! `refine_landmarks_from_heatmap_calculator.cc`, `landmark_letterbox_removal_calculator.cc`,
//! `landmark_projection_calculator.cc`, `world_landmark_projection_calculator.cc`.

use ndarray::Array4;

use super::config::{
    AUX_FIRST, HEATMAP_KERNEL, HEATMAP_MIN_CONFIDENCE, LANDMARK_DIMS, LANDMARK_RANGE,
    LANDMARK_SIZE, NUM_MODEL_LANDMARKS,
};
use super::roi::{alignment_rect, NormRect};
use crate::image::{crop_into, BorderMode, CropSpec, RgbImage};
use crate::pose::{Person, NUM_LANDMARKS};

/// One landmark: x, y (normalised), z (normalised like x), visibility, presence.
pub type Landmark = [f32; LANDMARK_DIMS];

/// What the landmark model found in one ROI, projected to frame-normalised coordinates.
#[derive(Clone, Debug, PartialEq)]
pub struct RoiLandmarks {
    /// The pose-flag output, a probability.
    pub presence: f32,
    pub landmarks: [Landmark; NUM_LANDMARKS],
    /// Landmarks 33 and 34: the hip centre and the body size/rotation point.
    pub aux: [Landmark; 2],
    /// Metres, hip-centred, rotated back by the ROI's rotation.
    pub world: [[f32; 3]; NUM_LANDMARKS],
}

impl RoiLandmarks {
    /// The person in frame pixels; z is scaled like x (normalised z × frame width).
    pub fn to_person(&self, image_width: u32, image_height: u32) -> Person {
        let (w, h) = (image_width as f32, image_height as f32);
        let keypoints = self
            .landmarks
            .map(|[x, y, z, v, p]| [x * w, y * h, z * w, v, p]);
        let [a0, a1] = self.aux;
        let scale_rect = alignment_rect([a0[0], a0[1]], [a1[0], a1[1]], image_width, image_height);
        Person {
            bbox: bounding_box(&keypoints),
            score: self.presence,
            keypoints,
            world: self.world,
            // As `GetObjectScale(roi, width, height)` computes it, float for float.
            object_scale: (scale_rect.width * w + scale_rect.height * h) / 2.0,
            track_id: 0,
            filled: false,
        }
    }
}

/// The box x1, y1, x2, y2 around the keypoints' x and y.
pub fn bounding_box(keypoints: &[[f32; 5]]) -> [f32; 4] {
    keypoints
        .iter()
        .fold([f32::MAX, f32::MAX, f32::MIN, f32::MIN], |b, k| {
            [
                b[0].min(k[0]),
                b[1].min(k[1]),
                b[2].max(k[0]),
                b[3].max(k[1]),
            ]
        })
}

/// The model input for `roi`, sampled into `input` (`[1, 256, 256, 3]`), and its letterbox padding (zero for the square ROIs the
/// graphs make, up to float rounding, which is kept for fidelity).
pub fn landmark_input_into(image: &RgbImage, roi: &NormRect, input: &mut Array4<f32>) -> [f32; 4] {
    let rect = roi.to_pixels(image.width, image.height);
    let (rect, padding) = rect.pad_to_aspect(LANDMARK_SIZE, LANDMARK_SIZE);
    let spec = CropSpec {
        out_width: LANDMARK_SIZE,
        out_height: LANDMARK_SIZE,
        border: BorderMode::Replicate,
        range: LANDMARK_RANGE,
    };
    let out = input
        .as_slice_mut()
        .expect("the input tensor is contiguous");
    crop_into(image, &rect, &spec, out);
    padding
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// TensorsToLandmarks: 39 × (x, y, z, visibility, presence) in crop pixels to
/// crop-normalised coordinates, with sigmoid visibility and presence.
pub fn decode_landmarks(raw: &[f32]) -> Vec<Landmark> {
    let s = LANDMARK_SIZE as f32;
    raw.chunks_exact(LANDMARK_DIMS)
        .take(NUM_MODEL_LANDMARKS)
        .map(|v| [v[0] / s, v[1] / s, v[2] / s, sigmoid(v[3]), sigmoid(v[4])])
        .collect()
}

/// RefineLandmarksFromHeatmap: replaces x, y by the confidence-weighted mean cell over a
/// kernel around the landmark's cell, when the kernel's best confidence reaches the
/// minimum. `heatmap` is HWC `side × side × landmarks.len()` of logits.
pub fn refine_from_heatmap(landmarks: &mut [Landmark], heatmap: &[f32], side: usize) {
    let channels = landmarks.len();
    let half = (HEATMAP_KERNEL as i32 - 1) / 2;
    let side_i = side as i32;
    for (i, lm) in landmarks.iter_mut().enumerate() {
        // C++ int conversion truncates toward zero.
        let col = (lm[0] * side as f32) as i32;
        let row = (lm[1] * side as f32) as i32;
        if col < 0 || col >= side_i || row < 0 || row >= side_i {
            continue;
        }
        let (mut sum, mut wc, mut wr, mut max_conf) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
        for r in (row - half).max(0)..(row + half + 1).min(side_i) {
            for c in (col - half).max(0)..(col + half + 1).min(side_i) {
                let idx = (r as usize * side + c as usize) * channels + i;
                let conf = sigmoid(heatmap[idx]);
                sum += conf;
                max_conf = max_conf.max(conf);
                wc += c as f32 * conf;
                wr += r as f32 * conf;
            }
        }
        if max_conf >= HEATMAP_MIN_CONFIDENCE && sum > 0.0 {
            lm[0] = wc / side as f32 / sum;
            lm[1] = wr / side as f32 / sum;
        }
    }
}

/// LandmarkLetterboxRemoval: crop-normalised to ROI-normalised; z scales like x.
pub fn remove_letterbox(lm: Landmark, padding: [f32; 4]) -> Landmark {
    let [left, top, right, bottom] = padding;
    let sx = 1.0 - (left + right);
    let sy = 1.0 - (top + bottom);
    [
        (lm[0] - left) / sx,
        (lm[1] - top) / sy,
        lm[2] / sx,
        lm[3],
        lm[4],
    ]
}

/// LandmarkProjection: ROI-normalised to frame-normalised, rotating about the ROI centre.
pub fn project_to_frame(lm: Landmark, roi: &NormRect) -> Landmark {
    let (x, y) = (lm[0] - 0.5, lm[1] - 0.5);
    let (s, c) = roi.rotation.sin_cos();
    let new_x = (c * x - s * y) * roi.width + roi.x_center;
    let new_y = (s * x + c * y) * roi.height + roi.y_center;
    [new_x, new_y, lm[2] * roi.width, lm[3], lm[4]]
}

/// The inverse of [`project_to_frame`] for x and y (tests, and callers that need crop
/// coordinates of frame points).
pub fn frame_to_roi(x: f32, y: f32, roi: &NormRect) -> [f32; 2] {
    let dx = (x - roi.x_center) / roi.width;
    let dy = (y - roi.y_center) / roi.height;
    let (s, c) = roi.rotation.sin_cos();
    [c * dx + s * dy + 0.5, -s * dx + c * dy + 0.5]
}

/// WorldLandmarkProjection: the first 33 of 39 × (x, y, z) metres, x and y rotated by the
/// ROI's rotation so they are upright in the frame.
pub fn project_world(raw: &[f32], roi: &NormRect) -> [[f32; 3]; NUM_LANDMARKS] {
    let (s, c) = roi.rotation.sin_cos();
    std::array::from_fn(|i| {
        let (x, y, z) = (raw[3 * i], raw[3 * i + 1], raw[3 * i + 2]);
        [c * x - s * y, s * x + c * y, z]
    })
}

/// The whole decode: raw model outputs of one ROI to frame-normalised landmarks.
pub fn decode_roi(
    raw_landmarks: &[f32],
    presence: f32,
    heatmap: &[f32],
    heatmap_side: usize,
    raw_world: &[f32],
    roi: &NormRect,
    padding: [f32; 4],
) -> RoiLandmarks {
    let mut all = decode_landmarks(raw_landmarks);
    refine_from_heatmap(&mut all, heatmap, heatmap_side);
    let frame = |lm: Landmark| project_to_frame(remove_letterbox(lm, padding), roi);
    RoiLandmarks {
        presence,
        landmarks: std::array::from_fn(|i| frame(all[i])),
        aux: [frame(all[AUX_FIRST]), frame(all[AUX_FIRST + 1])],
        world: project_world(raw_world, roi),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::CropAffine;

    fn roi() -> NormRect {
        NormRect {
            x_center: 0.4,
            y_center: 0.6,
            width: 0.3,
            height: 0.6,
            rotation: 0.5,
        }
    }

    #[test]
    fn decodes_crop_pixels_and_activations() {
        let mut raw = vec![0.0f32; 195];
        raw[..5].copy_from_slice(&[128.0, 64.0, -25.6, 0.0, 2.0]);
        let lms = decode_landmarks(&raw);
        assert_eq!(lms.len(), 39);
        assert_eq!(lms[0][..3], [0.5, 0.25, -0.1]);
        assert_eq!(lms[0][3], 0.5);
        assert!((lms[0][4] - 0.880_797).abs() < 1e-6);
    }

    #[test]
    fn projection_round_trips_with_the_crop() {
        let r = roi();
        let p = project_to_frame([0.2, 0.9, 0.1, 1.0, 1.0], &r);
        let back = frame_to_roi(p[0], p[1], &r);
        assert!((back[0] - 0.2).abs() < 1e-6 && (back[1] - 0.9).abs() < 1e-6);
        assert!((p[2] - 0.03).abs() < 1e-7, "z scales with the ROI width");
    }

    #[test]
    fn projection_agrees_with_the_crop_sampler() {
        // A square ROI on a 200×100 frame: the crop point (u, v) of the 256 tensor and the
        // projected landmark (u/256, v/256) must land on the same frame pixel (up to
        // OpenCV's pixel-index convention, under half a crop pixel).
        let r = NormRect {
            x_center: 0.5,
            y_center: 0.5,
            width: 0.4,
            height: 0.8,
            rotation: 0.7,
        };
        let rect = r.to_pixels(200, 100);
        let a = CropAffine::new(&rect, 256, 256);
        let [x, y] = a.to_source(64.0, 192.0);
        let p = project_to_frame([0.25, 0.75, 0.0, 0.0, 0.0], &r);
        let step = rect.width / 256.0;
        assert!((p[0] * 200.0 - x as f32).abs() < step && (p[1] * 100.0 - y as f32).abs() < step);
    }

    #[test]
    fn letterbox_removal_scales_xyz() {
        let lm = remove_letterbox([0.5, 0.25, 0.1, 0.3, 0.4], [0.25, 0.0, 0.25, 0.0]);
        assert_eq!(lm, [0.5, 0.25, 0.2, 0.3, 0.4]);
    }

    #[test]
    fn heatmap_refinement_moves_to_the_peak() {
        let side = 8;
        let mut hm = vec![-20.0f32; side * side * 2];
        // Channel 0: a confident peak at cell (col 5, row 2) and a weaker one at (4, 2).
        hm[(2 * side + 5) * 2] = 4.0;
        hm[(2 * side + 4) * 2] = 0.0;
        let mut lms = vec![[0.55, 0.3, 0.0, 1.0, 1.0], [0.5, 0.5, 0.0, 1.0, 1.0]];
        refine_from_heatmap(&mut lms, &hm, side);
        let c4 = 0.5f32;
        let c5 = 1.0 / (1.0 + (-4.0f32).exp());
        let tail = 1.0 / (1.0 + 20f32.exp());
        let n = 7.0 * 6.0 - 2.0; // cells of the clipped 7×7 kernel (rows 0..=5) minus the two peaks
        let sum = c4 + c5 + n * tail;
        assert!((lms[0][0] * side as f32 - (4.0 * c4 + 5.0 * c5) / sum).abs() < 1e-3);
        // Channel 1 has no confident cell: unchanged.
        assert_eq!(lms[1][..2], [0.5, 0.5]);
    }

    #[test]
    fn world_points_rotate_with_the_roi() {
        let mut raw = vec![0.0f32; 117];
        raw[..3].copy_from_slice(&[1.0, 0.0, 0.5]);
        let r = NormRect {
            rotation: std::f32::consts::FRAC_PI_2,
            ..roi()
        };
        let w = project_world(&raw, &r);
        assert!(w[0][0].abs() < 1e-6 && (w[0][1] - 1.0).abs() < 1e-6 && w[0][2] == 0.5);
    }

    #[test]
    fn person_is_in_pixels_with_a_landmark_box() {
        let mut lms = [[0.5, 0.5, 0.01, 0.9, 0.8]; NUM_LANDMARKS];
        lms[3] = [0.1, 0.2, 0.0, 0.9, 0.8];
        lms[7] = [0.9, 0.7, 0.0, 0.9, 0.8];
        let r = RoiLandmarks {
            presence: 0.95,
            landmarks: lms,
            aux: [[0.0; 5]; 2],
            world: [[0.0; 3]; NUM_LANDMARKS],
        };
        let p = r.to_person(200, 100);
        assert_eq!(p.bbox, [20.0, 20.0, 180.0, 70.0]);
        assert_eq!(p.keypoints[0][2], 2.0);
        assert_eq!(p.score, 0.95);
    }
}
