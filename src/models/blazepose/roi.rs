//! Regions of interest: the rotated square the landmark model looks at, built from two
//! alignment points (a detection's keypoints 0 and 1, or the auxiliary landmarks 33, 34).
//!
//! Sources: `calculators/util/alignment_points_to_rects_calculator.cc`,
//! `detections_to_rects_calculator.cc` (`ComputeRotation`, `NormalizeRadians`),
//! `rect_transformation_calculator.cc`, wired by `pose_detection_to_roi.pbtxt` and
//! `pose_landmarks_to_roi.pbtxt`.

use super::config::{ROI_SCALE, ROI_TARGET_ANGLE_DEGREES};
use crate::image::RotatedRect;

/// MediaPipe's `NormalizedRect`: centre and size as fractions of the frame, rotation in
/// radians (positive is clockwise on screen).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NormRect {
    pub x_center: f32,
    pub y_center: f32,
    pub width: f32,
    pub height: f32,
    pub rotation: f32,
}

impl NormRect {
    /// The rect in frame pixels (`GetRoi` in `image_to_tensor_utils.cc`).
    pub fn to_pixels(&self, image_width: u32, image_height: u32) -> RotatedRect {
        let (w, h) = (image_width as f32, image_height as f32);
        RotatedRect {
            center_x: self.x_center * w,
            center_y: self.y_center * h,
            width: self.width * w,
            height: self.height * h,
            rotation: self.rotation,
        }
    }

    /// The axis-aligned box around the rotated rect, in pixels: x1, y1, x2, y2.
    pub fn bounding_box(&self, image_width: u32, image_height: u32) -> [f32; 4] {
        let r = self.to_pixels(image_width, image_height);
        let (c, s) = (r.rotation.cos().abs(), r.rotation.sin().abs());
        let half_w = 0.5 * (r.width * c + r.height * s);
        let half_h = 0.5 * (r.width * s + r.height * c);
        [
            r.center_x - half_w,
            r.center_y - half_h,
            r.center_x + half_w,
            r.center_y + half_h,
        ]
    }
}

/// Wraps an angle into [-π, π) as MediaPipe's `NormalizeRadians`.
pub fn normalize_radians(angle: f32) -> f32 {
    use std::f32::consts::PI;
    angle - 2.0 * PI * ((angle - (-PI)) / (2.0 * PI)).floor()
}

/// AlignmentPointsRects: a square centred on `center` (normalised), of side twice the
/// pixel distance to `scale_point`, rotated so that centre→scale_point points up.
pub fn alignment_rect(
    center: [f32; 2],
    scale_point: [f32; 2],
    image_width: u32,
    image_height: u32,
) -> NormRect {
    let (w, h) = (image_width as f32, image_height as f32);
    let (x0, y0) = (center[0] * w, center[1] * h);
    let (x1, y1) = (scale_point[0] * w, scale_point[1] * h);
    let box_size = ((x1 - x0) * (x1 - x0) + (y1 - y0) * (y1 - y0)).sqrt() * 2.0;
    let target = std::f32::consts::PI * ROI_TARGET_ANGLE_DEGREES / 180.0;
    NormRect {
        x_center: x0 / w,
        y_center: y0 / h,
        width: box_size / w,
        height: box_size / h,
        rotation: normalize_radians(target - (-(y1 - y0)).atan2(x1 - x0)),
    }
}

/// RectTransformation with `square_long` and scale 1.25 (no shift, no extra rotation).
pub fn transform_rect(rect: NormRect, image_width: u32, image_height: u32) -> NormRect {
    let (w, h) = (image_width as f32, image_height as f32);
    let long_side = (rect.width * w).max(rect.height * h);
    NormRect {
        width: long_side / w * ROI_SCALE,
        height: long_side / h * ROI_SCALE,
        ..rect
    }
}

/// The landmark model's ROI from two alignment points: `pose_detection_to_roi.pbtxt` and
/// `pose_landmarks_to_roi.pbtxt` are both this.
pub fn roi_from_points(
    center: [f32; 2],
    scale_point: [f32; 2],
    image_width: u32,
    image_height: u32,
) -> NormRect {
    transform_rect(
        alignment_rect(center, scale_point, image_width, image_height),
        image_width,
        image_height,
    )
}

/// Intersection over union of two pixel boxes x1, y1, x2, y2.
pub fn box_iou(a: [f32; 4], b: [f32; 4]) -> f32 {
    let ix = a[2].min(b[2]) - a[0].max(b[0]);
    let iy = a[3].min(b[3]) - a[1].max(b[1]);
    if ix <= 0.0 || iy <= 0.0 {
        return 0.0;
    }
    let inter = ix * iy;
    let area = |r: [f32; 4]| (r[2] - r[0]) * (r[3] - r[1]);
    let union = area(a) + area(b) - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::{FRAC_PI_2, PI};

    #[test]
    fn upright_body_has_no_rotation() {
        // Hip centre at (100, 200) px, the scale point 50 px straight above it.
        let r = alignment_rect([0.5, 0.5], [0.5, 0.375], 200, 400);
        assert!(r.rotation.abs() < 1e-6);
        assert!((r.width * 200.0 - 100.0).abs() < 1e-4);
        assert!((r.height * 400.0 - 100.0).abs() < 1e-4);
        assert_eq!((r.x_center, r.y_center), (0.5, 0.5));
    }

    #[test]
    fn rotated_bodies_turn_the_roi() {
        // Scale point to the right of the hips: the body lies along +x, rotation +90°.
        let r = alignment_rect([0.5, 0.5], [0.7, 0.5], 100, 100);
        assert!((r.rotation - FRAC_PI_2).abs() < 1e-6);
        // Scale point below the hips (upside down): ±180°, normalised into [-π, π).
        let r = alignment_rect([0.5, 0.5], [0.5, 0.7], 100, 100);
        assert!((r.rotation.abs() - PI).abs() < 1e-5);
        // To the left: -90°.
        let r = alignment_rect([0.5, 0.5], [0.3, 0.5], 100, 100);
        assert!((r.rotation + FRAC_PI_2).abs() < 1e-6);
    }

    #[test]
    fn normalize_wraps_into_minus_pi_pi() {
        assert!((normalize_radians(3.0 * PI / 2.0) + FRAC_PI_2).abs() < 1e-6);
        assert!((normalize_radians(-3.0 * PI / 2.0) - FRAC_PI_2).abs() < 1e-6);
        assert_eq!(normalize_radians(0.5), 0.5);
    }

    #[test]
    fn transform_squares_the_long_side_and_scales() {
        let r = NormRect {
            x_center: 0.4,
            y_center: 0.6,
            width: 0.1,
            height: 0.3,
            rotation: 0.2,
        };
        let t = transform_rect(r, 1000, 500);
        // Long side: max(100, 150) px = 150 px, × 1.25 = 187.5 px.
        assert!((t.width * 1000.0 - 187.5).abs() < 1e-3);
        assert!((t.height * 500.0 - 187.5).abs() < 1e-3);
        assert_eq!((t.x_center, t.y_center, t.rotation), (0.4, 0.6, 0.2));
    }

    #[test]
    fn bounding_box_of_a_45_degree_square() {
        let r = NormRect {
            x_center: 0.5,
            y_center: 0.5,
            width: 0.1,
            height: 0.1,
            rotation: PI / 4.0,
        };
        let b = r.bounding_box(100, 100);
        let half = 5.0 * 2f32.sqrt();
        assert!((b[0] - (50.0 - half)).abs() < 1e-4 && (b[3] - (50.0 + half)).abs() < 1e-4);
    }

    #[test]
    fn iou_of_boxes() {
        assert!((box_iou([0.0, 0.0, 2.0, 2.0], [1.0, 0.0, 3.0, 2.0]) - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(box_iou([0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 3.0, 3.0]), 0.0);
    }
}
