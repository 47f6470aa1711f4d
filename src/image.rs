//! Plain RGB images and the affine sampling every model crop is made with.
//!
//! Holds no FFmpeg and no ort: frames arrive here already converted to RGB by
//! `pipeline::source`, and models read crops out of them as float tensors.
//!
//! The sampler reproduces MediaPipe's CPU `ImageToTensorCalculator`
//! (`mediapipe/calculators/tensor/image_to_tensor_converter_opencv.cc`), which maps the
//! rotated rectangle's corners onto the tensor's corners and calls OpenCV's
//! `warpPerspective` with `INTER_LINEAR` on the 8-bit image. OpenCV samples in fixed point
//! (source coordinates rounded to 1/32 pixel, integer weights, 8-bit result), so this does
//! the same: the detector was measured to be sensitive to how its input is made.

use ndarray::Array4;

/// An 8-bit RGB image, rows packed with no padding (`stride == width * 3`).
#[derive(Clone, Debug, PartialEq)]
pub struct RgbImage {
    pub width: u32,
    pub height: u32,
    /// `height` rows of `width * 3` bytes, R G B interleaved.
    pub data: Vec<u8>,
}

impl RgbImage {
    /// A black image of the given size.
    pub fn new(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            data: vec![0; width as usize * height as usize * 3],
        }
    }

    /// The pixel at (x, y); the caller keeps x < width and y < height.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }
}

/// What the overlay paints on: a packed RGB image here, the encoder's YUV frame in
/// `media::encode`. Painting is opaque, a row span at a time.
pub trait Canvas {
    fn width(&self) -> u32;
    fn height(&self) -> u32;
    /// Paints pixels `x0..x1` of row `y` in `rgb`; the caller keeps them inside.
    fn fill_row(&mut self, y: u32, x0: u32, x1: u32, rgb: [u8; 3]);
}

impl Canvas for RgbImage {
    fn width(&self) -> u32 {
        self.width
    }

    fn height(&self) -> u32 {
        self.height
    }

    fn fill_row(&mut self, y: u32, x0: u32, x1: u32, rgb: [u8; 3]) {
        let start = (y as usize * self.width as usize + x0 as usize) * 3;
        let end = start + (x1 - x0) as usize * 3;
        paint_rgb(&mut self.data[start..end], rgb);
    }
}

/// Sets every pixel of a span of packed RGB bytes to `rgb`.
pub fn paint_rgb(span: &mut [u8], rgb: [u8; 3]) {
    for px in span.chunks_exact_mut(3) {
        px.copy_from_slice(&rgb);
    }
}

/// A rectangle in frame pixels, rotated by `rotation` radians about its centre
/// (positive turns the rectangle's x axis towards the frame's +y, i.e. clockwise on screen).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RotatedRect {
    pub center_x: f32,
    pub center_y: f32,
    pub width: f32,
    pub height: f32,
    pub rotation: f32,
}

impl RotatedRect {
    /// The whole image as a rect (MediaPipe's `GetRoi` without a ROI).
    pub fn full_image(width: u32, height: u32) -> Self {
        Self {
            center_x: 0.5 * width as f32,
            center_y: 0.5 * height as f32,
            width: width as f32,
            height: height as f32,
            rotation: 0.0,
        }
    }

    /// Grows the rect to the tensor's aspect ratio (letterboxing), as `PadRoi` in
    /// `image_to_tensor_utils.cc` does; returns the grown rect and the padding
    /// `[left, top, right, bottom]` as fractions of the tensor.
    pub fn pad_to_aspect(&self, out_width: usize, out_height: usize) -> (Self, [f32; 4]) {
        let tensor_aspect = out_height as f32 / out_width as f32;
        let roi_aspect = self.height / self.width;
        let mut rect = *self;
        if tensor_aspect > roi_aspect {
            rect.height = self.width * tensor_aspect;
            let v = (1.0 - roi_aspect / tensor_aspect) / 2.0;
            (rect, [0.0, v, 0.0, v])
        } else {
            rect.width = self.height / tensor_aspect;
            let h = (1.0 - tensor_aspect / roi_aspect) / 2.0;
            (rect, [h, 0.0, h, 0.0])
        }
    }
}

/// What to fill where the rect reaches outside the image (OpenCV border modes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BorderMode {
    /// Black (8-bit value 0, before the float range is applied): `BORDER_CONSTANT`.
    Zero,
    /// The nearest edge pixel: `BORDER_REPLICATE`.
    Replicate,
}

/// The tensor to make: size, border and the float range 0..255 is mapped onto.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CropSpec {
    pub out_width: usize,
    pub out_height: usize,
    pub border: BorderMode,
    pub range: (f32, f32),
}

/// Maps tensor pixel indices (u, v) to source pixel coordinates (integers at pixel
/// centres, OpenCV's convention): `src = origin + u * du + v * dv`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CropAffine {
    pub origin: [f64; 2],
    pub du: [f64; 2],
    pub dv: [f64; 2],
}

impl CropAffine {
    /// The map OpenCV derives from the rect's corners: `cv::boxPoints` (in f32, as OpenCV
    /// computes them) sent to tensor corners (0,H), (0,0), (W,0), (W,H).
    pub fn new(rect: &RotatedRect, out_width: usize, out_height: usize) -> Self {
        // cv::RotatedRect holds degrees; the radians→degrees→radians trip is OpenCV's.
        let degrees = (rect.rotation * 180.0) as f64 / std::f64::consts::PI;
        let radians = degrees * std::f64::consts::PI / 180.0;
        let b = radians.cos() as f32 * 0.5;
        let a = radians.sin() as f32 * 0.5;
        let (cx, cy, w, h) = (rect.center_x, rect.center_y, rect.width, rect.height);
        let bottom_left = [cx - a * h - b * w, cy + b * h - a * w];
        let top_left = [cx + a * h - b * w, cy - b * h - a * w];
        let top_right = [2.0 * cx - bottom_left[0], 2.0 * cy - bottom_left[1]];
        let f = |p: [f32; 2]| [p[0] as f64, p[1] as f64];
        let (o, r, d) = (f(top_left), f(top_right), f(bottom_left));
        Self {
            origin: o,
            du: [
                (r[0] - o[0]) / out_width as f64,
                (r[1] - o[1]) / out_width as f64,
            ],
            dv: [
                (d[0] - o[0]) / out_height as f64,
                (d[1] - o[1]) / out_height as f64,
            ],
        }
    }

    /// Source coordinates of tensor position (u, v).
    pub fn to_source(&self, u: f64, v: f64) -> [f64; 2] {
        [
            self.origin[0] + u * self.du[0] + v * self.dv[0],
            self.origin[1] + u * self.du[1] + v * self.dv[1],
        ]
    }

    /// Tensor position of source coordinates (x, y): the inverse of [`Self::to_source`].
    pub fn to_tensor(&self, x: f64, y: f64) -> [f64; 2] {
        let det = self.du[0] * self.dv[1] - self.dv[0] * self.du[1];
        let (dx, dy) = (x - self.origin[0], y - self.origin[1]);
        [
            (dx * self.dv[1] - dy * self.dv[0]) / det,
            (self.du[0] * dy - self.du[1] * dx) / det,
        ]
    }
}

/// OpenCV's `INTER_BITS`: source coordinates are kept to 1/32 pixel.
const INTER_BITS: i32 = 5;
const INTER_TAB_SIZE: i32 = 1 << INTER_BITS;

/// Samples `rect` of `image` into a new NHWC tensor `[1, out_height, out_width, 3]`.
pub fn crop_to_tensor(image: &RgbImage, rect: &RotatedRect, spec: &CropSpec) -> Array4<f32> {
    let mut out = Array4::zeros((1, spec.out_height, spec.out_width, 3));
    let slice = out.as_slice_mut().expect("a fresh array is contiguous");
    crop_into(image, rect, spec, slice);
    out
}

/// Samples `rect` of `image` into `out` (`out_height * out_width * 3` floats, HWC).
pub fn crop_into(image: &RgbImage, rect: &RotatedRect, spec: &CropSpec, out: &mut [f32]) {
    assert_eq!(out.len(), spec.out_width * spec.out_height * 3);
    let affine = CropAffine::new(rect, spec.out_width, spec.out_height);
    let scale = (spec.range.1 - spec.range.0) / 255.0;
    // The 256 possible values, mapped once: a table read is cheaper than a float
    // multiply-add per channel, and gives the same floats.
    let levels: [f32; 256] = std::array::from_fn(|i| i as f32 * scale + spec.range.0);
    for v in 0..spec.out_height {
        prefetch_row(image, &affine, v + 4, spec.out_width);
        let row = &mut out[v * spec.out_width * 3..(v + 1) * spec.out_width * 3];
        for (u, px) in row.chunks_exact_mut(3).enumerate() {
            let [x, y] = affine.to_source(u as f64, v as f64);
            let rgb = sample_fixed_point(image, x, y, spec.border);
            for c in 0..3 {
                px[c] = levels[rgb[c] as usize];
            }
        }
    }
}

/// Asks the CPU to fetch the source rows that tensor row `v` will sample. A frame is
/// several MB, written moments ago by the decoder thread on another core, so the samples
/// missed the cache: the loads waited on memory for about 40% of the crop's time.
/// Fetching four rows ahead lets memory work while the samples of this row are computed
/// (a rotated 620-pixel ROI of a cold 1768×994 frame: 2.6 ms a crop without, 0.9 ms with).
#[inline(always)]
fn prefetch_row(image: &RgbImage, affine: &CropAffine, v: usize, width: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let (w, h) = (image.width as i64, image.height as i64);
        let stride = w * 3;
        // Every 4th sample: at least one per cache line of the rows it crosses while a
        // sample moves up to 5 pixels along the row (ROIs up to 5 × 256 pixels wide).
        for u in (0..width).step_by(4) {
            let [x, y] = affine.to_source(u as f64, v as f64);
            let (sx, sy) = (x as i64, y as i64);
            if sx < 0 || sy < 0 || sx >= w || sy + 1 >= h {
                continue;
            }
            let i = (sy * stride + sx * 3) as usize;
            // SAFETY: prefetching is a hint with no effect on memory or on faults, and
            // both addresses are inside `image.data` (checked just above).
            unsafe {
                let base = image.data.as_ptr();
                _mm_prefetch(base.add(i) as *const i8, _MM_HINT_T0);
                _mm_prefetch(base.add(i + stride as usize) as *const i8, _MM_HINT_T0);
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (image, affine, v, width);
}

/// `v` rounded to the nearest integer, ties to even, as OpenCV's `cvRound` (SSE2's
/// `cvtsd2si`, which is also what this compiles to on x86-64: `round_ties_even` there is a
/// call into libm unless the build targets SSE4.1, and it was 7% of the crop's time).
#[inline(always)]
fn round_to_i32(v: f64) -> i32 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of x86-64's baseline, so these instructions always exist.
        unsafe {
            use std::arch::x86_64::{_mm_cvtsd_si32, _mm_set_sd};
            _mm_cvtsd_si32(_mm_set_sd(v))
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        v.round_ties_even() as i32
    }
}

/// One bilinear sample the way OpenCV's 8-bit `remap` makes it.
#[inline(always)]
fn sample_fixed_point(image: &RgbImage, x: f64, y: f64, border: BorderMode) -> [u8; 3] {
    let fx = round_to_i32(x * INTER_TAB_SIZE as f64);
    let fy = round_to_i32(y * INTER_TAB_SIZE as f64);
    let (sx, sy) = (fx >> INTER_BITS, fy >> INTER_BITS);
    let (ax, ay) = (fx & (INTER_TAB_SIZE - 1), fy & (INTER_TAB_SIZE - 1));
    // Weights sum to 1024; products of 1/32 steps are exact, as in OpenCV's table.
    let weights = [
        (INTER_TAB_SIZE - ax) * (INTER_TAB_SIZE - ay),
        ax * (INTER_TAB_SIZE - ay),
        (INTER_TAB_SIZE - ax) * ay,
        ax * ay,
    ];
    let (w, h) = (image.width as i32, image.height as i32);
    if sx >= 0 && sy >= 0 && sx + 1 < w && sy + 1 < h {
        // All four taps inside, the common case: two 6-byte reads, one per row.
        let stride = w as usize * 3;
        let i = sy as usize * stride + sx as usize * 3;
        let (top, bottom) = (
            &image.data[i..i + 6],
            &image.data[i + stride..i + stride + 6],
        );
        return std::array::from_fn(|c| {
            let s = weights[0] * top[c] as i32
                + weights[1] * top[c + 3] as i32
                + weights[2] * bottom[c] as i32
                + weights[3] * bottom[c + 3] as i32;
            // OpenCV rounds half up: (sum * 32 + 2^14) >> 15 == (sum + 512) >> 10; the
            // weights sum to 1024, so the result fits in 8 bits.
            ((s + 512) >> 10) as u8
        });
    }
    let taps = [(sx, sy), (sx + 1, sy), (sx, sy + 1), (sx + 1, sy + 1)];
    let mut acc = [0i32; 3];
    for (&(tx, ty), &w) in taps.iter().zip(&weights) {
        if w == 0 {
            continue;
        }
        if let Some(p) = tap(image, tx, ty, border) {
            for c in 0..3 {
                acc[c] += w * p[c] as i32;
            }
        }
    }
    acc.map(|s| ((s + 512) >> 10).clamp(0, 255) as u8)
}

/// The pixel at (x, y) under the border mode; `None` is the zero border.
fn tap(image: &RgbImage, x: i32, y: i32, border: BorderMode) -> Option<[u8; 3]> {
    let (w, h) = (image.width as i32, image.height as i32);
    if w == 0 || h == 0 {
        return None;
    }
    let inside = x >= 0 && y >= 0 && x < w && y < h;
    match (inside, border) {
        (true, _) => Some(image.pixel(x as u32, y as u32)),
        (false, BorderMode::Zero) => None,
        (false, BorderMode::Replicate) => {
            Some(image.pixel(x.clamp(0, w - 1) as u32, y.clamp(0, h - 1) as u32))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An image whose pixel (x, y) is (x, y, 7) so samples reveal where they came from.
    fn ramp(width: u32, height: u32) -> RgbImage {
        let mut img = RgbImage::new(width, height);
        for y in 0..height {
            for x in 0..width {
                let i = ((y * width + x) * 3) as usize;
                img.data[i..i + 3].copy_from_slice(&[x as u8, y as u8, 7]);
            }
        }
        img
    }

    fn spec(w: usize, h: usize, border: BorderMode) -> CropSpec {
        CropSpec {
            out_width: w,
            out_height: h,
            border,
            range: (0.0, 255.0),
        }
    }

    /// The sampler written plainly (rounding by `round_ties_even`, every tap through the
    /// border rule), which the fast path must match byte for byte.
    fn reference_sample(image: &RgbImage, x: f64, y: f64, border: BorderMode) -> [u8; 3] {
        let fx = (x * 32.0).round_ties_even() as i32;
        let fy = (y * 32.0).round_ties_even() as i32;
        let (sx, sy, ax, ay) = (fx >> 5, fy >> 5, fx & 31, fy & 31);
        let weights = [
            (32 - ax) * (32 - ay),
            ax * (32 - ay),
            (32 - ax) * ay,
            ax * ay,
        ];
        let taps = [(sx, sy), (sx + 1, sy), (sx, sy + 1), (sx + 1, sy + 1)];
        let mut acc = [0i32; 3];
        for (&(tx, ty), &w) in taps.iter().zip(&weights) {
            if let (true, Some(p)) = (w != 0, tap(image, tx, ty, border)) {
                (0..3).for_each(|c| acc[c] += w * p[c] as i32);
            }
        }
        acc.map(|s| ((s + 512) >> 10) as u8)
    }

    /// Deterministic noise: the same "random" image and rects on every run.
    fn lcg(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *state >> 33
    }

    #[test]
    fn the_fast_sampler_matches_the_plain_one_everywhere() {
        let mut seed = 7;
        let mut img = RgbImage::new(97, 61);
        img.data.iter_mut().for_each(|b| *b = lcg(&mut seed) as u8);
        for case in 0..200 {
            // Rects inside, across the edges and beyond them, at any rotation.
            let rect = RotatedRect {
                center_x: (lcg(&mut seed) % 160) as f32 - 30.0 + 0.37,
                center_y: (lcg(&mut seed) % 120) as f32 - 30.0 + 0.11,
                width: 5.0 + (lcg(&mut seed) % 120) as f32,
                height: 5.0 + (lcg(&mut seed) % 120) as f32,
                rotation: (lcg(&mut seed) % 629) as f32 / 100.0 - std::f32::consts::PI,
            };
            let border = [BorderMode::Zero, BorderMode::Replicate][case % 2];
            let spec = CropSpec {
                range: (-1.0, 1.0),
                ..spec(19, 23, border)
            };
            let got = crop_to_tensor(&img, &rect, &spec);
            let affine = CropAffine::new(&rect, 19, 23);
            for v in 0..23 {
                for u in 0..19 {
                    let [x, y] = affine.to_source(u as f64, v as f64);
                    let want = reference_sample(&img, x, y, border);
                    for c in 0..3 {
                        let want = want[c] as f32 * (2.0 / 255.0) - 1.0;
                        assert_eq!(got[[0, v, u, c]], want, "case {case} at ({u}, {v})");
                    }
                }
            }
        }
    }

    #[test]
    fn rounding_is_to_nearest_with_ties_to_even() {
        for (v, want) in [
            (0.5, 0),
            (1.5, 2),
            (2.5, 2),
            (-0.5, 0),
            (-1.5, -2),
            (2.4999, 2),
        ] {
            assert_eq!(round_to_i32(v), want, "{v}");
        }
    }

    #[test]
    fn identity_crop_copies_the_image() {
        let img = ramp(8, 6);
        let t = crop_to_tensor(
            &img,
            &RotatedRect::full_image(8, 6),
            &spec(8, 6, BorderMode::Zero),
        );
        assert_eq!(t[[0, 0, 0, 0]], 0.0);
        assert_eq!(t[[0, 5, 7, 0]], 7.0);
        assert_eq!(t[[0, 5, 7, 1]], 5.0);
        assert_eq!(t[[0, 3, 2, 2]], 7.0);
    }

    #[test]
    fn affine_round_trips_points() {
        let rect = RotatedRect {
            center_x: 100.0,
            center_y: 50.0,
            width: 80.0,
            height: 40.0,
            rotation: 0.4,
        };
        let a = CropAffine::new(&rect, 64, 32);
        let [x, y] = a.to_source(10.5, 20.25);
        let [u, v] = a.to_tensor(x, y);
        assert!((u - 10.5).abs() < 1e-9 && (v - 20.25).abs() < 1e-9);
        // The tensor's centre lands on the rect's centre.
        let [cx, cy] = a.to_source(32.0, 16.0);
        assert!((cx - 100.0).abs() < 1e-4 && (cy - 50.0).abs() < 1e-4);
    }

    #[test]
    fn rotation_by_90_degrees_turns_the_crop() {
        // Rotated +90°, the tensor's x axis runs down the source's +y axis.
        let rect = RotatedRect {
            center_x: 4.0,
            center_y: 4.0,
            width: 8.0,
            height: 8.0,
            rotation: std::f32::consts::FRAC_PI_2,
        };
        let a = CropAffine::new(&rect, 8, 8);
        assert!((a.du[0]).abs() < 1e-6 && (a.du[1] - 1.0).abs() < 1e-6);
        assert!((a.dv[0] + 1.0).abs() < 1e-6 && a.dv[1].abs() < 1e-6);
        let t = crop_to_tensor(&ramp(8, 8), &rect, &spec(8, 8, BorderMode::Replicate));
        // Tensor (u=0, v=0) samples the source's top-right corner (x=8 → replicated 7).
        assert_eq!(t[[0, 0, 0, 0]], 7.0);
        assert_eq!(t[[0, 0, 0, 1]], 0.0);
        // Moving along u walks down the source.
        assert_eq!(t[[0, 0, 3, 1]], 3.0);
    }

    #[test]
    fn borders_are_black_or_replicated() {
        let img = RgbImage {
            width: 2,
            height: 2,
            data: vec![200; 12],
        };
        let rect = RotatedRect {
            center_x: 10.0,
            center_y: 0.5,
            width: 2.0,
            height: 2.0,
            rotation: 0.0,
        };
        let zero = crop_to_tensor(&img, &rect, &spec(2, 2, BorderMode::Zero));
        assert!(zero.iter().all(|&v| v == 0.0));
        let rep = crop_to_tensor(&img, &rect, &spec(2, 2, BorderMode::Replicate));
        assert!(rep.iter().all(|&v| v == 200.0));
    }

    #[test]
    fn bilinear_half_pixel_rounds_like_opencv() {
        // A 2x1 image 0 | 255 sampled at x = 0.5: (0 + 255) / 2 = 127.5 rounds up to 128.
        let img = RgbImage {
            width: 2,
            height: 1,
            data: vec![0, 0, 0, 255, 255, 255],
        };
        assert_eq!(
            sample_fixed_point(&img, 0.5, 0.0, BorderMode::Replicate),
            [128; 3]
        );
        // 1/64 pixel rounds to the nearest 1/32 step (ties to even: 0.5/32 → 0).
        assert_eq!(
            sample_fixed_point(&img, 1.0 / 64.0, 0.0, BorderMode::Replicate),
            [0; 3]
        );
    }

    #[test]
    fn float_range_maps_0_255() {
        let img = RgbImage {
            width: 1,
            height: 1,
            data: vec![0, 255, 51],
        };
        let s = CropSpec {
            range: (-1.0, 1.0),
            ..spec(1, 1, BorderMode::Zero)
        };
        let t = crop_to_tensor(&img, &RotatedRect::full_image(1, 1), &s);
        assert_eq!(t[[0, 0, 0, 0]], -1.0);
        assert!((t[[0, 0, 0, 1]] - 1.0).abs() < 1e-6);
        assert!((t[[0, 0, 0, 2]] - (51.0 * 2.0 / 255.0 - 1.0)).abs() < 1e-6);
    }

    #[test]
    fn padding_letterboxes_a_wide_frame() {
        let (rect, pad) = RotatedRect::full_image(200, 100).pad_to_aspect(224, 224);
        assert_eq!((rect.width, rect.height), (200.0, 200.0));
        assert_eq!(pad, [0.0, 0.25, 0.0, 0.25]);
        let (rect, pad) = RotatedRect::full_image(100, 200).pad_to_aspect(224, 224);
        assert_eq!((rect.width, rect.height), (200.0, 200.0));
        assert_eq!(pad, [0.25, 0.0, 0.25, 0.0]);
    }
}
