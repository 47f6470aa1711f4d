//! The pose detector's pre- and post-processing: letterboxed input, box and keypoint
//! decoding, weighted NMS and letterbox removal, as `pose_detection_cpu.pbtxt` wires them.
//!
//! Sources: `calculators/tensor/tensors_to_detections_calculator.cc` (decoding),
//! `calculators/util/non_max_suppression_calculator.cc` (WEIGHTED),
//! `calculators/util/detection_letterbox_removal_calculator.cc`.

use ndarray::Array4;

use super::anchors::Anchor;
use super::config::{
    DETECTOR_COORD_SCALE, DETECTOR_RANGE, DETECTOR_SIZE, NUM_COORDS, NUM_DETECTION_KEYPOINTS,
    SCORE_CLIPPING,
};
use crate::image::{crop_into, BorderMode, CropSpec, RgbImage, RotatedRect};

/// One detection, in coordinates normalised to the detector input (after decoding) or to
/// the frame (after [`remove_letterbox`]). Keypoint 0 is the hip centre, 1 the point whose
/// distance and direction from it give the body's size and rotation.
#[derive(Clone, Debug, PartialEq)]
pub struct Detection {
    pub score: f32,
    pub xmin: f32,
    pub ymin: f32,
    pub width: f32,
    pub height: f32,
    pub keypoints: [[f32; 2]; NUM_DETECTION_KEYPOINTS],
}

/// The detector input for `image` and its letterbox padding `[left, top, right, bottom]`.
///
/// ImageToTensor without a ROI takes the whole frame, grows it to a square (`PadRoi`) and
/// samples it with a zero border into [-1, 1].
#[cfg(test)]
pub fn detector_input(image: &RgbImage) -> (Array4<f32>, [f32; 4]) {
    let mut input = Array4::zeros((1, DETECTOR_SIZE, DETECTOR_SIZE, 3));
    let padding = detector_input_into(image, &mut input);
    (input, padding)
}

/// [`detector_input`] into a tensor the caller keeps, `[1, 224, 224, 3]`; returns the
/// padding.
pub fn detector_input_into(image: &RgbImage, input: &mut Array4<f32>) -> [f32; 4] {
    let whole = RotatedRect::full_image(image.width, image.height);
    let (rect, padding) = whole.pad_to_aspect(DETECTOR_SIZE, DETECTOR_SIZE);
    let spec = CropSpec {
        out_width: DETECTOR_SIZE,
        out_height: DETECTOR_SIZE,
        border: BorderMode::Zero,
        range: DETECTOR_RANGE,
    };
    let out = input
        .as_slice_mut()
        .expect("the input tensor is contiguous");
    crop_into(image, &rect, &spec, out);
    padding
}

/// The sigmoid of a raw score clipped to ±[`SCORE_CLIPPING`], in f32 as MediaPipe.
pub fn score_sigmoid(raw: f32) -> f32 {
    let clipped = raw.clamp(-SCORE_CLIPPING, SCORE_CLIPPING);
    1.0 / (1.0 + (-clipped).exp())
}

/// Decodes raw boxes `[n × 12]` and scores `[n]` against `anchors`, keeping the
/// detections scoring at least `min_score`, in anchor order.
pub fn decode(
    raw_boxes: &[f32],
    raw_scores: &[f32],
    anchors: &[Anchor],
    min_score: f32,
) -> Vec<Detection> {
    anchors
        .iter()
        .enumerate()
        .filter_map(|(i, anchor)| {
            let score = score_sigmoid(raw_scores[i]);
            if score < min_score {
                return None;
            }
            let raw = &raw_boxes[i * NUM_COORDS..(i + 1) * NUM_COORDS];
            decode_one(raw, anchor, score)
        })
        .collect()
}

/// One box: `reverse_output_order` means x, y, w, h order; anchors are 1×1 so sizes
/// are plain fractions of the input.
fn decode_one(raw: &[f32], anchor: &Anchor, score: f32) -> Option<Detection> {
    let s = DETECTOR_COORD_SCALE;
    let x_center = raw[0] / s + anchor.x_center;
    let y_center = raw[1] / s + anchor.y_center;
    let w = raw[2] / s;
    let h = raw[3] / s;
    let (xmin, ymin) = (x_center - w / 2.0, y_center - h / 2.0);
    let (xmax, ymax) = (x_center + w / 2.0, y_center + h / 2.0);
    let (width, height) = (xmax - xmin, ymax - ymin);
    // TensorsToDetections drops negative or NaN sizes (b/171391719).
    if !(width >= 0.0 && height >= 0.0) {
        return None;
    }
    let mut keypoints = [[0.0; 2]; NUM_DETECTION_KEYPOINTS];
    for (k, kp) in keypoints.iter_mut().enumerate() {
        let o = 4 + 2 * k;
        *kp = [
            raw[o] / s + anchor.x_center,
            raw[o + 1] / s + anchor.y_center,
        ];
    }
    Some(Detection {
        score,
        xmin,
        ymin,
        width,
        height,
        keypoints,
    })
}

/// Intersection over union of two detections' boxes.
pub fn iou(a: &Detection, b: &Detection) -> f32 {
    let ix = (a.xmin + a.width).min(b.xmin + b.width) - a.xmin.max(b.xmin);
    let iy = (a.ymin + a.height).min(b.ymin + b.height) - a.ymin.max(b.ymin);
    if ix < 0.0 || iy < 0.0 {
        return 0.0;
    }
    let inter = ix * iy;
    let union = a.width * a.height + b.width * b.height - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// MediaPipe's WEIGHTED non-max suppression: the best remaining detection absorbs every
/// detection overlapping it by more than `iou_threshold` (itself included); the merged box
/// and keypoints are the score-weighted means, the score stays the best one's.
pub fn weighted_nms(mut detections: Vec<Detection>, iou_threshold: f32) -> Vec<Detection> {
    detections.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while let Some(best) = detections.first().cloned() {
        let (cluster, rest): (Vec<Detection>, Vec<Detection>) = detections
            .into_iter()
            .partition(|d| iou(d, &best) > iou_threshold);
        if cluster.is_empty() {
            // A degenerate best box overlaps nothing, not even itself: MediaPipe stops.
            out.push(best);
            break;
        }
        out.push(weighted_mean(&best, &cluster));
        detections = rest;
    }
    out
}

fn weighted_mean(best: &Detection, cluster: &[Detection]) -> Detection {
    let (mut x0, mut y0, mut x1, mut y1, mut total) = (0.0f32, 0.0f32, 0.0f32, 0.0f32, 0.0f32);
    let mut kps = [[0.0f32; 2]; NUM_DETECTION_KEYPOINTS];
    for d in cluster {
        total += d.score;
        x0 += d.xmin * d.score;
        y0 += d.ymin * d.score;
        x1 += (d.xmin + d.width) * d.score;
        y1 += (d.ymin + d.height) * d.score;
        for (acc, kp) in kps.iter_mut().zip(&d.keypoints) {
            acc[0] += kp[0] * d.score;
            acc[1] += kp[1] * d.score;
        }
    }
    let xmin = x0 / total;
    let ymin = y0 / total;
    Detection {
        score: best.score,
        xmin,
        ymin,
        width: x1 / total - xmin,
        height: y1 / total - ymin,
        keypoints: kps.map(|[x, y]| [x / total, y / total]),
    }
}

/// Maps a detection from the letterboxed input back to frame-normalised coordinates.
pub fn remove_letterbox(d: &Detection, padding: [f32; 4]) -> Detection {
    let [left, top, right, bottom] = padding;
    let sx = 1.0 - (left + right);
    let sy = 1.0 - (top + bottom);
    Detection {
        score: d.score,
        xmin: (d.xmin - left) / sx,
        ymin: (d.ymin - top) / sy,
        width: d.width / sx,
        height: d.height / sy,
        keypoints: d.keypoints.map(|[x, y]| [(x - left) / sx, (y - top) / sy]),
    }
}

/// Adds letterbox padding: the inverse of [`remove_letterbox`], for tests and callers that
/// go from frame to detector-input coordinates.
pub fn add_letterbox(d: &Detection, padding: [f32; 4]) -> Detection {
    let [left, top, right, bottom] = padding;
    let sx = 1.0 - (left + right);
    let sy = 1.0 - (top + bottom);
    Detection {
        score: d.score,
        xmin: d.xmin * sx + left,
        ymin: d.ymin * sy + top,
        width: d.width * sx,
        height: d.height * sy,
        keypoints: d.keypoints.map(|[x, y]| [x * sx + left, y * sy + top]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(score: f32, xmin: f32, ymin: f32, size: f32, kp: f32) -> Detection {
        Detection {
            score,
            xmin,
            ymin,
            width: size,
            height: size,
            keypoints: [[kp, kp]; 4],
        }
    }

    #[test]
    fn sigmoid_clips_at_100() {
        assert_eq!(score_sigmoid(0.0), 0.5);
        assert_eq!(score_sigmoid(-1000.0), score_sigmoid(-100.0));
        // exp(100) overflows f32 as it does in MediaPipe's float math.
        assert_eq!(score_sigmoid(-100.0), 0.0);
        assert_eq!(score_sigmoid(1000.0), 1.0);
        assert!((score_sigmoid(2.0) - 0.880_797).abs() < 1e-6);
    }

    #[test]
    fn decodes_box_and_keypoints_against_the_anchor() {
        let anchors = [
            Anchor {
                x_center: 0.25,
                y_center: 0.75,
            },
            Anchor {
                x_center: 0.5,
                y_center: 0.5,
            },
        ];
        let mut raw = vec![0.0f32; 24];
        // Box 0: centre shifted by (+22.4, -11.2) px = (+0.1, -0.05), size 44.8 × 22.4 px.
        raw[..12].copy_from_slice(&[
            22.4, -11.2, 44.8, 22.4, 0.0, 0.0, 11.2, 0.0, 0.0, 22.4, -22.4, -22.4,
        ]);
        let scores = [3.0, -3.0];
        let d = decode(&raw, &scores, &anchors, 0.5);
        assert_eq!(d.len(), 1, "the second box scores sigmoid(-3) < 0.5");
        let d = &d[0];
        assert!((d.xmin - 0.25).abs() < 1e-6 && (d.ymin - 0.65).abs() < 1e-6);
        assert!((d.width - 0.2).abs() < 1e-6 && (d.height - 0.1).abs() < 1e-6);
        assert_eq!(d.keypoints[0], [0.25, 0.75]);
        assert!((d.keypoints[1][0] - 0.3).abs() < 1e-6);
        assert!((d.keypoints[2][1] - 0.85).abs() < 1e-6);
        assert!((d.keypoints[3][0] - 0.15).abs() < 1e-6);
    }

    #[test]
    fn negative_sizes_are_dropped() {
        let anchors = [Anchor {
            x_center: 0.5,
            y_center: 0.5,
        }];
        let mut raw = vec![0.0f32; 12];
        raw[2] = -10.0;
        assert!(decode(&raw, &[5.0], &anchors, 0.5).is_empty());
    }

    #[test]
    fn weighted_nms_merges_overlaps_and_keeps_disjoint() {
        let a = det(0.9, 0.0, 0.0, 0.4, 0.2);
        let b = det(0.6, 0.02, 0.02, 0.4, 0.3);
        let far = det(0.7, 0.6, 0.6, 0.3, 0.7);
        let out = weighted_nms(vec![b.clone(), far.clone(), a.clone()], 0.3);
        assert_eq!(out.len(), 2);
        // Merged first (best score), then the disjoint one unchanged.
        assert_eq!(out[0].score, 0.9);
        let w = (0.9 * 0.0 + 0.6 * 0.02) / 1.5;
        assert!((out[0].xmin - w).abs() < 1e-6);
        assert!((out[0].width - 0.4).abs() < 1e-6);
        let kp = (0.9 * 0.2 + 0.6 * 0.3) / 1.5;
        assert!((out[0].keypoints[3][1] - kp).abs() < 1e-6);
        assert_eq!(out[1], far);
    }

    #[test]
    fn iou_of_half_shifted_squares() {
        let a = det(1.0, 0.0, 0.0, 1.0, 0.0);
        let b = det(1.0, 0.5, 0.0, 1.0, 0.0);
        assert!((iou(&a, &b) - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(iou(&a, &det(1.0, 2.0, 2.0, 1.0, 0.0)), 0.0);
    }

    #[test]
    fn letterbox_round_trip() {
        let d = det(0.8, 0.1, 0.3, 0.2, 0.4);
        let pad = [0.0, 0.21875, 0.0, 0.21875];
        let back = remove_letterbox(&add_letterbox(&d, pad), pad);
        assert!((back.ymin - d.ymin).abs() < 1e-6 && (back.height - d.height).abs() < 1e-6);
        assert!((back.keypoints[2][1] - 0.4).abs() < 1e-6);
        // The padded band's top edge maps to the frame's top edge.
        let top = det(0.8, 0.0, pad[1], 0.1, pad[1]);
        assert!(remove_letterbox(&top, pad).ymin.abs() < 1e-7);
    }

    #[test]
    fn detector_input_is_letterboxed_black() {
        let img = RgbImage {
            width: 4,
            height: 2,
            data: vec![255; 24],
        };
        let (t, pad) = detector_input(&img);
        assert_eq!(t.shape(), &[1, 224, 224, 3]);
        assert_eq!(pad, [0.0, 0.25, 0.0, 0.25]);
        assert_eq!(t[[0, 0, 112, 0]], -1.0, "top band is the zero border");
        assert!(
            (t[[0, 112, 112, 0]] - 1.0).abs() < 1e-6,
            "middle is the white frame"
        );
    }
}
