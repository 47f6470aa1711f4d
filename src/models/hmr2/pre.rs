//! The HMR2 crop, exactly as 4D-Humans' `ViTDetDataset` makes it: person box → centre and
//! square size (`expand_to_aspect_ratio` to 192:256), an anti-alias Gaussian blur when
//! the crop shrinks the person a lot, an affine warp to 256×256 (bilinear, zero border),
//! then ImageNet normalisation into one NCHW slot of the batch.
//!
//! The warp reproduces `cv2.warpAffine` as OpenCV ≥ 4.11 computes it (checked against
//! opencv-python 5.0 on a real frame: 32 of 196,608 values differ, by 1): source
//! coordinates in floating point, float bilinear weights, rounded to 8 bits when the
//! source is the 8-bit frame. Older OpenCV kept coordinates to 1/32 pixel, which moves
//! about 6% of values by 1–2 levels.
//!
//! Pure functions over [`RgbImage`]; no engine, no ort.

use super::config::{BBOX_ASPECT, BLUR_TRIGGER, CROP_SIZE, MEAN, STD};
use crate::image::RgbImage;

/// The square a person is cropped from, in frame pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CropBox {
    pub center: [f32; 2],
    /// Side of the square.
    pub size: f32,
}

impl CropBox {
    /// From a box x1, y1, x2, y2 grown by `rescale` (1.2 for keypoint boxes, 1.0 for
    /// detector boxes): the midpoint, and the larger side after growing to 192:256.
    pub fn from_bbox(bbox: [f32; 4], rescale: f32) -> Self {
        let center = [0.5 * (bbox[0] + bbox[2]), 0.5 * (bbox[1] + bbox[3])];
        let [w, h] = expand_to_aspect_ratio(
            [rescale * (bbox[2] - bbox[0]), rescale * (bbox[3] - bbox[1])],
            BBOX_ASPECT,
        );
        CropBox {
            center,
            size: w.max(h),
        }
    }

    /// Where crop pixel `u` (a column, or with `axis` 1 a row) samples the frame.
    ///
    /// `gen_trans_from_patch_cv` maps the f32 points centre and centre + size/2 onto crop
    /// pixels 128 and 256, so the half side OpenCV really uses is `f32(c + s/2) − c`.
    pub fn source_of(&self, u: f64, axis: usize) -> f64 {
        let c = self.center[axis];
        let half = (c + 0.5 * self.size) as f64 - c as f64;
        c as f64 + (u - 0.5 * CROP_SIZE as f64) * half / (0.5 * CROP_SIZE as f64)
    }
}

/// 4D-Humans' `expand_to_aspect_ratio`: grows the short side of `[w, h]` until it has the
/// target's aspect ratio; never shrinks either side.
pub fn expand_to_aspect_ratio([w, h]: [f32; 2], [wt, ht]: [f32; 2]) -> [f32; 2] {
    if h / w < ht / wt {
        [w, (w * ht / wt).max(h)]
    } else {
        [(h * wt / ht).max(w), h]
    }
}

/// The blur's σ, when one is due: with `d = size / 256 / 2`, 4D-Humans blurs when
/// `d > 1.1`, with σ = (d − 1) / 2, so that bilinear sampling does not alias.
pub fn blur_sigma(size: f32) -> Option<f32> {
    let d = size / CROP_SIZE as f32 / 2.0;
    (d > BLUR_TRIGGER).then_some((d - 1.0) / 2.0)
}

/// scipy's `gaussian_filter` kernel as skimage's `gaussian` calls it (truncate 4):
/// radius `round(4σ)`, normalised weights.
pub fn gaussian_kernel(sigma: f32) -> Vec<f32> {
    let radius = (4.0 * sigma + 0.5) as i32;
    let w: Vec<f64> = (-radius..=radius)
        .map(|k| (-0.5 * (k as f64 / sigma as f64).powi(2)).exp())
        .collect();
    let sum: f64 = w.iter().sum();
    w.iter().map(|v| (v / sum) as f32).collect()
}

/// A float RGB window of a frame: pixels `x0..x0+width`, `y0..y0+height`.
pub struct Window {
    pub x0: i32,
    pub y0: i32,
    pub width: usize,
    pub height: usize,
    pub data: Vec<[f32; 3]>,
}

impl Window {
    fn get(&self, x: i32, y: i32) -> Option<[f32; 3]> {
        let (u, v) = (x - self.x0, y - self.y0);
        (u >= 0 && v >= 0 && (u as usize) < self.width && (v as usize) < self.height)
            .then(|| self.data[v as usize * self.width + u as usize])
    }
}

/// The window `[x0, x1) × [y0, y1)` of `image` (clipped to it) as floats, unblurred.
pub fn plain_window(image: &RgbImage, x0: i32, y0: i32, x1: i32, y1: i32) -> Window {
    let (iw, ih) = (image.width as i32, image.height as i32);
    let (x0, y0, x1, y1) = (x0.max(0), y0.max(0), x1.min(iw).max(0), y1.min(ih).max(0));
    let (width, height) = ((x1 - x0).max(0) as usize, (y1 - y0).max(0) as usize);
    let mut data = Vec::with_capacity(width * height);
    for y in y0..y1 {
        for x in x0..x1 {
            data.push(image.pixel(x as u32, y as u32).map(f32::from));
        }
    }
    Window {
        x0,
        y0,
        width,
        height,
        data,
    }
}

/// The blurred window `[x0, x1) × [y0, y1)` of `image` (clipped to it). The frame's
/// edges are extended by their nearest pixel (skimage's default `mode='nearest'`), so
/// blurring only the window gives the same pixels as blurring the whole frame.
pub fn blur_window(image: &RgbImage, x0: i32, y0: i32, x1: i32, y1: i32, sigma: f32) -> Window {
    let (iw, ih) = (image.width as i32, image.height as i32);
    let (x0, y0, x1, y1) = (x0.max(0), y0.max(0), x1.min(iw).max(0), y1.min(ih).max(0));
    let (width, height) = ((x1 - x0).max(0) as usize, (y1 - y0).max(0) as usize);
    let kernel = gaussian_kernel(sigma);
    let r = (kernel.len() / 2) as i32;
    let px = |x: i32, y: i32| image.pixel(x.clamp(0, iw - 1) as u32, y.clamp(0, ih - 1) as u32);
    // Horizontal pass over the window's rows plus r rows above and below.
    let rows = height + 2 * r as usize;
    let mut across = vec![[0f32; 3]; rows * width];
    for (j, row) in across.chunks_exact_mut(width.max(1)).enumerate().take(rows) {
        let y = y0 - r + j as i32;
        for (i, out) in row.iter_mut().enumerate() {
            let x = x0 + i as i32;
            for (k, w) in kernel.iter().enumerate() {
                let p = px(x + k as i32 - r, y);
                for c in 0..3 {
                    out[c] += w * p[c] as f32;
                }
            }
        }
    }
    let mut data = vec![[0f32; 3]; width * height];
    for (j, row) in data.chunks_exact_mut(width.max(1)).enumerate().take(height) {
        for (i, out) in row.iter_mut().enumerate() {
            for (k, w) in kernel.iter().enumerate() {
                let p = across[(j + k) * width + i];
                for c in 0..3 {
                    out[c] += w * p[c];
                }
            }
        }
    }
    Window {
        x0,
        y0,
        width,
        height,
        data,
    }
}

/// Bilinear sample at (x, y) with float weights; outside the frame is zero
/// (`BORDER_CONSTANT`).
fn sample(window: &Window, x: f64, y: f64) -> [f32; 3] {
    let (fx, fy) = (x.floor(), y.floor());
    let (sx, sy) = (fx as i32, fy as i32);
    let (ax, ay) = ((x - fx) as f32, (y - fy) as f32);
    let taps = [
        (sx, sy, (1.0 - ax) * (1.0 - ay)),
        (sx + 1, sy, ax * (1.0 - ay)),
        (sx, sy + 1, (1.0 - ax) * ay),
        (sx + 1, sy + 1, ax * ay),
    ];
    let mut acc = [0f32; 3];
    for (tx, ty, w) in taps {
        if w == 0.0 {
            continue;
        }
        if let Some(p) = window.get(tx, ty) {
            for c in 0..3 {
                acc[c] += w * p[c];
            }
        }
    }
    acc
}

/// Writes the normalised crop of `bbox` into `out` (3 × 256 × 256 floats, CHW).
pub fn crop_into_chw(image: &RgbImage, bbox: &CropBox, out: &mut [f32]) {
    let n = CROP_SIZE * CROP_SIZE;
    assert_eq!(out.len(), 3 * n);
    let xs: Vec<f64> = (0..CROP_SIZE)
        .map(|u| bbox.source_of(u as f64, 0))
        .collect();
    let ys: Vec<f64> = (0..CROP_SIZE)
        .map(|v| bbox.source_of(v as f64, 1))
        .collect();
    // The frame pixels the crop reads, with one pixel of margin for the bilinear taps.
    let (x0, x1) = (
        xs[0].floor() as i32 - 1,
        xs[CROP_SIZE - 1].ceil() as i32 + 2,
    );
    let (y0, y1) = (
        ys[0].floor() as i32 - 1,
        ys[CROP_SIZE - 1].ceil() as i32 + 2,
    );
    let sigma = blur_sigma(bbox.size);
    let window = match sigma {
        // Blurred, the frame is float (skimage) and so is the warp: no rounding.
        Some(sigma) => blur_window(image, x0, y0, x1, y1, sigma),
        // Unblurred, 4D-Humans warps the 8-bit frame and gets 8-bit values back.
        None => plain_window(image, x0, y0, x1, y1),
    };
    for (v, &y) in ys.iter().enumerate() {
        for (u, &x) in xs.iter().enumerate() {
            let mut px = sample(&window, x, y);
            if sigma.is_none() {
                px = px.map(|p| p.round_ties_even().clamp(0.0, 255.0));
            }
            for c in 0..3 {
                out[c * n + v * CROP_SIZE + u] = (px[c] - MEAN[c]) / STD[c];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f32, tol: f32) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn box_to_center_and_size() {
        // A square 200 box from keypoints: ×1.2 → 240×240; h/w = 1 < 4/3, so h grows to
        // 240·256/192 = 320, and the square is 320.
        let b = CropBox::from_bbox([100.0, 200.0, 300.0, 400.0], 1.2);
        assert_eq!(b.center, [200.0, 300.0]);
        assert!(close(b.size, 320.0, 1e-3), "{}", b.size);
        // A tall 60×200 detector box: w grows to 150, h stays 200.
        assert_eq!(
            expand_to_aspect_ratio([60.0, 200.0], BBOX_ASPECT),
            [150.0, 200.0]
        );
        let b = CropBox::from_bbox([0.0, 0.0, 60.0, 200.0], 1.0);
        assert_eq!((b.center, b.size), ([30.0, 100.0], 200.0));
        // Already 3:4 → unchanged.
        assert_eq!(
            expand_to_aspect_ratio([150.0, 200.0], BBOX_ASPECT),
            [150.0, 200.0]
        );
    }

    #[test]
    fn warp_maps_box_onto_crop() {
        let b = CropBox {
            center: [500.0, 300.0],
            size: 512.0,
        };
        // Crop pixel 128 is the box centre; 0 and 256 are its edges; 2 source px per pixel.
        assert_eq!(
            (b.source_of(128.0, 0), b.source_of(128.0, 1)),
            (500.0, 300.0)
        );
        assert_eq!((b.source_of(0.0, 0), b.source_of(0.0, 1)), (244.0, 44.0));
        assert_eq!(
            (b.source_of(256.0, 0), b.source_of(256.0, 1)),
            (756.0, 556.0)
        );
        assert_eq!(b.source_of(1.0, 0) - b.source_of(0.0, 0), 2.0);
        // OpenCV's half side is f32(c + s/2) − c: 1e8 + 0.5 rounds away in f32.
        let far = CropBox {
            center: [1.0e8, 0.0],
            size: 1.0,
        };
        assert_eq!(far.source_of(256.0, 0), 1.0e8);
    }

    #[test]
    fn warp_samples_known_points() {
        // A frame whose pixel (x, y) has red = x, green = y: the crop reads coordinates.
        let mut img = RgbImage::new(200, 200);
        for y in 0..200 {
            for x in 0..200 {
                let i = (y * 200 + x) * 3;
                img.data[i..i + 3].copy_from_slice(&[x as u8, y as u8, 9]);
            }
        }
        // Box 128 centred at (100, 60): half a source pixel per crop pixel.
        let b = CropBox {
            center: [100.0, 60.0],
            size: 128.0,
        };
        let mut out = vec![0f32; 3 * 256 * 256];
        crop_into_chw(&img, &b, &mut out);
        let px = |u: usize, v: usize, c: usize| out[c * 65536 + v * 256 + u] * STD[c] + MEAN[c];
        // Crop (128, 128) is source (100, 60); crop (129, 128) is (100.5, 60) → 100.5
        // rounds to even, 100; crop (131, 130) is (101.5, 61) → 102 (ties to even).
        assert!(close(px(128, 128, 0), 100.0, 1e-3) && close(px(128, 128, 1), 60.0, 1e-3));
        assert!(close(px(129, 128, 0), 100.0, 1e-3));
        assert!(close(px(131, 130, 0), 102.0, 1e-3) && close(px(131, 130, 1), 61.0, 1e-3));
        // Crop row 0 is source y = −4: above the frame, so black.
        assert!(close(px(128, 0, 1), 0.0, 1e-3) && close(px(128, 0, 2), 0.0, 1e-3));
        // Crop row 7 is source y = −0.5: half of row 0 (green 0) and half black → 0;
        // blue: 9 × 0.5 = 4.5 → 4 (ties to even).
        assert!(close(px(128, 7, 2), 4.0, 1e-3));
    }

    #[test]
    fn blur_starts_past_1_1() {
        // d = size / 512: 563 → 1.0996 (no blur); 600 → 1.171875, σ = 0.0859375.
        assert_eq!(blur_sigma(563.0), None);
        assert_eq!(blur_sigma(256.0), None);
        let s = blur_sigma(600.0).unwrap();
        assert!(close(s, 0.0859375, 1e-6));
        // σ = 1 at d = 3 (size 1536).
        assert!(close(blur_sigma(1536.0).unwrap(), 1.0, 1e-6));
    }

    #[test]
    fn gaussian_kernel_matches_scipy() {
        // σ = 1, truncate 4: 9 taps; centre 1/Σexp(−k²/2) = 0.398943 (k = −4..4).
        let k = gaussian_kernel(1.0);
        assert_eq!(k.len(), 9);
        assert!(close(k[4], 0.398943, 1e-5), "{}", k[4]);
        assert!(close(k[3], 0.241971, 1e-5) && close(k[5], k[3], 0.0));
        assert!(close(k.iter().sum(), 1.0, 1e-6));
        // σ = 0.0859 → radius round(0.34) = 0: no blur at all.
        assert_eq!(gaussian_kernel(0.0859375), vec![1.0]);
    }

    #[test]
    fn blur_keeps_flat_regions_and_spreads_an_impulse() {
        let mut img = RgbImage::new(21, 21);
        img.data.iter_mut().for_each(|v| *v = 100);
        let i = (10 * 21 + 10) * 3;
        img.data[i] = 200; // red impulse of +100 at (10, 10)
        let w = blur_window(&img, 0, 0, 21, 21, 1.0);
        let k = gaussian_kernel(1.0);
        let at = |x: usize, y: usize| w.data[y * 21 + x];
        assert!(
            close(at(0, 0)[1], 100.0, 1e-3),
            "flat stays flat at the edge"
        );
        assert!(close(at(10, 10)[0], 100.0 + 100.0 * k[4] * k[4], 1e-3));
        assert!(close(at(11, 10)[0], 100.0 + 100.0 * k[5] * k[4], 1e-3));
        // A sub-window is the same as the whole frame's pixels there.
        let part = blur_window(&img, 8, 9, 13, 12, 1.0);
        assert_eq!(part.get(11, 10), Some(at(11, 10)));
        assert_eq!(part.get(7, 10), None);
    }

    #[test]
    fn crop_normalises_and_zero_fills() {
        // A grey frame smaller than the box: the inside is grey, the outside black.
        let mut img = RgbImage::new(64, 64);
        img.data.iter_mut().for_each(|v| *v = 128);
        let b = CropBox {
            center: [32.0, 32.0],
            size: 128.0,
        };
        let mut out = vec![0f32; 3 * 256 * 256];
        crop_into_chw(&img, &b, &mut out);
        let n = 256 * 256;
        let centre = 128 * 256 + 128;
        for c in 0..3 {
            assert!(close(out[c * n + centre], (128.0 - MEAN[c]) / STD[c], 1e-4));
            assert!(
                close(out[c * n], -MEAN[c] / STD[c], 1e-4),
                "corner is black"
            );
        }
    }

    #[test]
    fn blurred_crop_of_flat_frame_is_flat() {
        // Size 2048 → σ = 1.5: the float path; a flat frame stays flat inside.
        let mut img = RgbImage::new(3000, 2500);
        img.data.iter_mut().for_each(|v| *v = 60);
        let b = CropBox {
            center: [1500.0, 1250.0],
            size: 2048.0,
        };
        let mut out = vec![0f32; 3 * 256 * 256];
        crop_into_chw(&img, &b, &mut out);
        let want = (60.0 - MEAN[0]) / STD[0];
        assert!(out[..256 * 256].iter().all(|&v| close(v, want, 1e-3)));
    }
}
