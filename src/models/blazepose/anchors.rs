//! SSD anchors for the pose detector, generated as MediaPipe's `SsdAnchorsCalculator` does.
//!
//! Source: `mediapipe/calculators/tflite/ssd_anchors_calculator.cc` with the options of
//! `pose_detection_cpu.pbtxt`. Layers that share a stride share one feature map; each
//! layer adds an anchor of aspect 1 and one of the interpolated scale (the proto default
//! `interpolated_scale_aspect_ratio: 1.0`). With `fixed_anchor_size` every anchor is 1×1,
//! so only the centres matter.

use super::config::{ANCHOR_OFFSET, ANCHOR_STRIDES, DETECTOR_SIZE};

/// An anchor centre in normalised detector-input coordinates; width and height are 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Anchor {
    pub x_center: f32,
    pub y_center: f32,
}

/// The detector's 2254 anchors in the order the model's boxes come out.
pub fn pose_detector_anchors() -> Vec<Anchor> {
    generate(&ANCHOR_STRIDES, DETECTOR_SIZE, ANCHOR_OFFSET)
}

/// Anchors for `strides` over a square input of side `input_size`.
pub fn generate(strides: &[usize], input_size: usize, offset: f32) -> Vec<Anchor> {
    let mut anchors = Vec::new();
    let mut layer = 0;
    while layer < strides.len() {
        let stride = strides[layer];
        // Consecutive layers with the same stride are merged: 2 anchors per layer per cell.
        let same = strides[layer..]
            .iter()
            .take_while(|&&s| s == stride)
            .count();
        let per_cell = 2 * same;
        let side = (input_size as f32 / stride as f32).ceil() as usize;
        push_grid(&mut anchors, side, per_cell, offset);
        layer += same;
    }
    anchors
}

fn push_grid(anchors: &mut Vec<Anchor>, side: usize, per_cell: usize, offset: f32) {
    for y in 0..side {
        for x in 0..side {
            let anchor = Anchor {
                x_center: (x as f32 + offset) / side as f32,
                y_center: (y as f32 + offset) / side as f32,
            };
            anchors.extend(std::iter::repeat_n(anchor, per_cell));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_matches_the_model() {
        assert_eq!(pose_detector_anchors().len(), 2254);
    }

    #[test]
    fn layer_boundaries_and_centres() {
        let a = pose_detector_anchors();
        // Stride 8: 28×28 cells × 2 anchors = 1568.
        assert_eq!(
            a[0],
            Anchor {
                x_center: 0.5 / 28.0,
                y_center: 0.5 / 28.0
            }
        );
        assert_eq!(a[1], a[0]);
        assert_eq!(a[2].x_center, 1.5 / 28.0);
        assert_eq!(
            a[1567],
            Anchor {
                x_center: 27.5 / 28.0,
                y_center: 27.5 / 28.0
            }
        );
        // Stride 16: 14×14 × 2 = 392, starting at 1568.
        assert_eq!(
            a[1568],
            Anchor {
                x_center: 0.5 / 14.0,
                y_center: 0.5 / 14.0
            }
        );
        assert_eq!(a[1959].x_center, 13.5 / 14.0);
        // Three stride-32 layers: 7×7 × 6 = 294, starting at 1960.
        assert_eq!(
            a[1960],
            Anchor {
                x_center: 0.5 / 7.0,
                y_center: 0.5 / 7.0
            }
        );
        assert_eq!(a[1965], a[1960]);
        assert_eq!(a[1966].x_center, 1.5 / 7.0);
        assert_eq!(
            a[2253],
            Anchor {
                x_center: 6.5 / 7.0,
                y_center: 6.5 / 7.0
            }
        );
    }
}
