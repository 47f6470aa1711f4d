//! YUV→RGB conversion with the stream's own colour matrix, and display rotation: the two
//! places where a decoded frame differs from what a player shows unless handled on purpose.

use ff::format::Pixel;
use ff::software::scaling;
use ff::{color, frame};
use ffmpeg_next as ff;

use crate::image::RgbImage;

/// Bytes beyond the spare row, for SIMD stores that overshoot a row end.
const SWS_SLACK: usize = 64;

type ConverterKey = (Pixel, u32, u32, color::Space, color::Range);

/// A YUV→RGB24 scaler set to one frame layout and colour matrix.
pub(crate) struct Converter {
    key: ConverterKey,
    scaler: scaling::Context,
}

// SAFETY: an SwsContext holds no thread-local state; it is only ever used by the one
// thread that owns the VideoSource, so moving it between threads is sound.
unsafe impl Send for Converter {}

impl Converter {
    /// Converts `f` to packed RGB into `out` (resized to the frame, every byte written),
    /// (re)building the scaler in `slot` when the layout or colour tags differ from the
    /// last frame's (size changes mid-stream, spliced files).
    pub(crate) fn run(
        slot: &mut Option<Converter>,
        f: &frame::Video,
        stream_space: color::Space,
        out: &mut RgbImage,
    ) -> Result<(), ff::Error> {
        let key = (
            f.format(),
            f.width(),
            f.height(),
            f.color_space(),
            f.color_range(),
        );
        if slot.as_ref().is_none_or(|c| c.key != key) {
            *slot = Some(Converter::new(key, stream_space)?);
        }
        let conv = slot.as_mut().expect("converter was just set");
        // swscale writes straight into the packed image (stride = width × 3), so the
        // conversion is the frame's only copy: no padded frame repacked row by row.
        let (w, h) = (f.width() as usize, f.height() as usize);
        let len = w * h * 3;
        // swscale's output loops may write a little past the last pixel (whole vectors
        // at the end of a row), so the buffer has room for one spare row beyond `len`.
        // The bytes are not zeroed first: swscale writes every one of them.
        out.data.clear();
        out.data.reserve((h + 1) * w * 3 + SWS_SLACK);
        let dst_data: [*mut u8; 4] = [
            out.data.as_mut_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        ];
        let dst_stride: [std::ffi::c_int; 4] = [(w * 3) as std::ffi::c_int, 0, 0, 0];
        // SAFETY: the scaler was built for exactly this frame's format and size (its key);
        // `f`'s planes and strides come from the decoder; `out.data` has capacity for `h`
        // rows of `w * 3` bytes, which is what an RGB24 output of `w × h` writes, plus
        // slack.
        let rows = unsafe {
            let src = f.as_ptr();
            ff::ffi::sws_scale(
                conv.scaler.as_mut_ptr(),
                (*src).data.as_ptr() as *const *const u8,
                (*src).linesize.as_ptr(),
                0,
                h as std::ffi::c_int,
                dst_data.as_ptr(),
                dst_stride.as_ptr(),
            )
        };
        if rows != h as std::ffi::c_int {
            return Err(ff::Error::from(rows.min(-1)));
        }
        // SAFETY: swscale returned all `h` rows, so the first `len` bytes are written.
        unsafe { out.data.set_len(len) };
        (out.width, out.height) = (w as u32, h as u32);
        Ok(())
    }

    fn new(key: ConverterKey, stream_space: color::Space) -> Result<Converter, ff::Error> {
        let (fmt, w, h, space, range) = key;
        // Full chroma interpolation keeps colour edges where the models look; swscale's
        // ACCURATE_RND would add ±1-level rounding exactness at twice the conversion
        // cost (measured 3.8 s → 1.6 s of decoder time on the 230-frame Sports2D clip).
        // scripts/compare_mediapipe.py feeds MediaPipe with these same flags.
        let flags = scaling::Flags::BILINEAR | scaling::Flags::FULL_CHR_H_INT;
        let mut scaler = scaling::Context::get(fmt, w, h, Pixel::RGB24, w, h, flags)?;
        let matrix = Matrix::resolve(space, stream_space, h);
        // The deprecated yuvj* formats mean full range even when the frame says nothing.
        let full = range == color::Range::JPEG
            || matches!(
                fmt,
                Pixel::YUVJ420P | Pixel::YUVJ422P | Pixel::YUVJ444P | Pixel::YUVJ440P
            );
        set_colorspace(&mut scaler, matrix, full, true);
        Ok(Converter { key, scaler })
    }
}

/// Tells swscale which matrix and ranges to use; it assumes BT.601 otherwise. `src_full`
/// and `dst_full` say whether each side is full range (RGB always is).
pub(crate) fn set_colorspace(
    scaler: &mut scaling::Context,
    matrix: Matrix,
    src_full: bool,
    dst_full: bool,
) {
    // SAFETY: the scaler pointer is valid while `scaler` lives; sws_getCoefficients returns
    // a pointer to a static table for any input. The same table serves as the YUV side of
    // either direction. A negative return only means neither side is YUV, where the
    // matrix does not apply, so it is ignored.
    unsafe {
        let coeffs = ff::ffi::sws_getCoefficients(matrix.sws_cs());
        let (src, dst) = (i32::from(src_full), i32::from(dst_full));
        ff::ffi::sws_setColorspaceDetails(
            scaler.as_mut_ptr(),
            coeffs,
            src,
            coeffs,
            dst,
            0,
            1 << 16,
            1 << 16,
        );
    }
}

/// The YUV↔RGB matrices swscale knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Matrix {
    Bt601,
    Bt709,
    Fcc,
    Smpte240m,
    Bt2020,
}

impl Matrix {
    pub(crate) fn from_space(space: color::Space) -> Option<Matrix> {
        match space {
            color::Space::BT709 => Some(Matrix::Bt709),
            color::Space::BT470BG | color::Space::SMPTE170M => Some(Matrix::Bt601),
            color::Space::FCC => Some(Matrix::Fcc),
            color::Space::SMPTE240M => Some(Matrix::Smpte240m),
            color::Space::BT2020NCL | color::Space::BT2020CL => Some(Matrix::Bt2020),
            _ => None,
        }
    }

    /// The frame's tag, else the stream's, else what players assume: BT.709 above SD
    /// height (576 lines), BT.601 at or below.
    pub(crate) fn resolve(frame: color::Space, stream: color::Space, height: u32) -> Matrix {
        Matrix::from_space(frame)
            .or_else(|| Matrix::from_space(stream))
            .unwrap_or(if height > 576 {
                Matrix::Bt709
            } else {
                Matrix::Bt601
            })
    }

    pub(crate) fn sws_cs(self) -> i32 {
        match self {
            Matrix::Bt601 => ff::ffi::SWS_CS_ITU601,
            Matrix::Bt709 => ff::ffi::SWS_CS_ITU709,
            Matrix::Fcc => ff::ffi::SWS_CS_FCC,
            Matrix::Smpte240m => ff::ffi::SWS_CS_SMPTE240M,
            Matrix::Bt2020 => ff::ffi::SWS_CS_BT2020,
        }
    }

    /// The luma weights (Kr, Kb) of the matrix, as the standards give them.
    pub(crate) fn luma_weights(self) -> (f64, f64) {
        match self {
            Matrix::Bt601 => (0.299, 0.114),
            Matrix::Bt709 => (0.2126, 0.0722),
            Matrix::Fcc => (0.30, 0.11),
            Matrix::Smpte240m => (0.212, 0.087),
            Matrix::Bt2020 => (0.2627, 0.0593),
        }
    }

    /// Full-range RGB to limited-range Y, Cb, Cr under this matrix.
    pub(crate) fn yuv_of(self, rgb: [u8; 3]) -> [u8; 3] {
        let (kr, kb) = self.luma_weights();
        let [r, g, b] = rgb.map(f64::from);
        let y = kr * r + (1.0 - kr - kb) * g + kb * b;
        let cb = (b - y) / (2.0 * (1.0 - kb));
        let cr = (r - y) / (2.0 * (1.0 - kr));
        let limited = |v: f64, scale: f64, offset: f64| (offset + v * scale / 255.0).round() as u8;
        [
            limited(y, 219.0, 16.0),
            limited(cb, 224.0, 128.0),
            limited(cr, 224.0, 128.0),
        ]
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Matrix::Bt601 => "bt601",
            Matrix::Bt709 => "bt709",
            Matrix::Fcc => "fcc",
            Matrix::Smpte240m => "smpte240m",
            Matrix::Bt2020 => "bt2020",
        }
    }
}

/// Clockwise degrees (0/90/180/270) to turn frames upright: the display matrix when there
/// is one (FFmpeg 5+ demuxers), else the older `rotate` tag.
pub(crate) fn stream_rotation(stream: &ff::Stream) -> i32 {
    for sd in stream.side_data() {
        if sd.kind() == ff::packet::side_data::Type::DisplayMatrix && sd.data().len() >= 36 {
            let mut m = [0i32; 9];
            for (v, b) in m.iter_mut().zip(sd.data().chunks_exact(4)) {
                *v = i32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
            }
            // SAFETY: m holds the 9 entries av_display_rotation_get reads.
            let ccw = unsafe { ff::ffi::av_display_rotation_get(m.as_ptr()) };
            return snap_rotation(-ccw);
        }
    }
    let tag = stream
        .metadata()
        .get("rotate")
        .and_then(|v| v.trim().parse::<f64>().ok());
    tag.map_or(0, snap_rotation)
}

/// Normalises degrees to the nearest quarter turn in 0..360; NaN (a degenerate matrix) is 0.
fn snap_rotation(deg: f64) -> i32 {
    if !deg.is_finite() {
        return 0;
    }
    let quarter = (deg / 90.0).round() as i64;
    (quarter.rem_euclid(4) * 90) as i32
}

/// The image turned clockwise by `deg` (0, 90, 180 or 270); an upright one is
/// returned as it is, without a copy.
pub(crate) fn rotate(img: RgbImage, deg: i32) -> RgbImage {
    if deg == 0 {
        return img;
    }
    let (w, h) = (img.width as usize, img.height as usize);
    let (ow, oh) = if deg == 180 { (w, h) } else { (h, w) };
    let mut out = RgbImage::new(ow as u32, oh as u32);
    for y in 0..oh {
        for x in 0..ow {
            let (sx, sy) = match deg {
                90 => (y, h - 1 - x),
                180 => (w - 1 - x, h - 1 - y),
                _ => (w - 1 - y, x),
            };
            let s = (sy * w + sx) * 3;
            let d = (y * ow + x) * 3;
            out.data[d..d + 3].copy_from_slice(&img.data[s..s + 3]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::decode::{SourceEvent, VideoSource};
    use std::process::Command;

    /// The first decoded frame.
    fn first_frame(src: &mut VideoSource) -> RgbImage {
        loop {
            if let SourceEvent::Frame(f) = src.next_event().unwrap().unwrap() {
                return (*f.image).clone();
            }
        }
    }

    /// Runs the ffmpeg CLI (raw yuv420p frames on stdin); false when it is not installed.
    fn ffmpeg_cli(yuv: &[u8], w: u32, h: u32, args: &[&str]) -> bool {
        use std::io::Write;
        let size = format!("{w}x{h}");
        let child = Command::new("ffmpeg")
            .args([
                "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", &size,
            ])
            .args(["-r", "10", "-i", "-"])
            .args(args)
            .stdin(std::process::Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            eprintln!("skipped: the ffmpeg CLI is not installed");
            return false;
        };
        child.stdin.take().unwrap().write_all(yuv).unwrap();
        assert!(child.wait().unwrap().success(), "ffmpeg failed on {args:?}");
        true
    }

    /// A yuv420p frame (w, h even) whose pixels come from `f(x, y) -> [Y, U, V]`.
    fn yuv_frame(w: usize, h: usize, f: impl Fn(usize, usize) -> [u8; 3]) -> Vec<u8> {
        let mut out: Vec<u8> = (0..w * h).map(|i| f(i % w, i / w)[0]).collect();
        for c in 1..3 {
            out.extend((0..w * h / 4).map(|i| f(i % (w / 2) * 2, i / (w / 2) * 2)[c]));
        }
        out
    }

    /// Limited-range YUV to RGB with luma weights (kr, kb), as in the standards.
    fn to_rgb([y, u, v]: [u8; 3], kr: f64, kb: f64) -> [f64; 3] {
        let (y, u, v) = (
            (y as f64 - 16.0) / 219.0,
            (u as f64 - 128.0) / 224.0,
            (v as f64 - 128.0) / 224.0,
        );
        let r = y + 2.0 * (1.0 - kr) * v;
        let b = y + 2.0 * (1.0 - kb) * u;
        let g = (y - kr * r - kb * b) / (1.0 - kr - kb);
        [r, g, b].map(|c| (c * 255.0).clamp(0.0, 255.0))
    }

    fn dist(a: [u8; 3], b: [f64; 3]) -> f64 {
        (0..3)
            .map(|i| (a[i] as f64 - b[i]).powi(2))
            .sum::<f64>()
            .sqrt()
    }

    #[test]
    fn rotation_maps_corners_clockwise() {
        let mut img = RgbImage::new(3, 2);
        img.data[0] = 255; // top-left red
        let r90 = rotate(img.clone(), 90);
        assert_eq!((r90.width, r90.height, r90.pixel(1, 0)[0]), (2, 3, 255));
        assert_eq!(rotate(img.clone(), 180).pixel(2, 1)[0], 255);
        assert_eq!(rotate(img.clone(), 270).pixel(0, 2)[0], 255);
        assert_eq!(
            [
                snap_rotation(-90.0),
                snap_rotation(450.0),
                snap_rotation(f64::NAN)
            ],
            [270, 90, 0]
        );
    }

    #[test]
    fn untagged_matrix_follows_player_convention() {
        let u = color::Space::Unspecified;
        assert_eq!(Matrix::resolve(u, u, 576), Matrix::Bt601);
        assert_eq!(Matrix::resolve(u, u, 720), Matrix::Bt709);
        assert_eq!(
            Matrix::resolve(u, color::Space::BT470BG, 1080),
            Matrix::Bt601
        );
        assert_eq!(
            Matrix::resolve(color::Space::BT709, color::Space::BT470BG, 480),
            Matrix::Bt709
        );
    }
    /// Small frames default to BT.601, so a BT.709 tag must be read to decode these right.
    #[test]
    fn bt709_tagged_colours_decode_with_bt709() {
        // Pure red, green, blue and a skin tone, as BT.709 limited-range YUV.
        let patches = [
            [63u8, 102, 240],
            [173, 42, 26],
            [32, 240, 118],
            [150, 108, 150],
        ];
        let yuv = yuv_frame(64, 64, |x, y| patches[(y / 32) * 2 + x / 32]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bt709.mkv");
        let p = path.to_str().unwrap();
        let tags = [
            "-colorspace",
            "bt709",
            "-color_primaries",
            "bt709",
            "-color_trc",
            "bt709",
        ];
        if !ffmpeg_cli(&yuv, 64, 64, &[&["-c:v", "ffv1"][..], &tags, &[p]].concat()) {
            return;
        }
        let mut src = VideoSource::open(&path).unwrap();
        assert_eq!(src.info().color_matrix, "bt709");
        let img = first_frame(&mut src);
        for (i, patch) in patches.iter().enumerate() {
            let got = img.pixel(16 + 32 * (i as u32 % 2), 16 + 32 * (i as u32 / 2));
            let (d709, d601) = (
                dist(got, to_rgb(*patch, 0.2126, 0.0722)),
                dist(got, to_rgb(*patch, 0.299, 0.114)),
            );
            eprintln!("patch {i}: got {got:?}, {d709:.1} from bt709, {d601:.1} from bt601");
            assert!(d709 < 4.0 && d709 < d601, "patch {i}: {got:?}");
        }
    }

    #[test]
    fn rotate_tag_turns_frames_upright_as_ffmpeg_does() {
        // 64×32 with a bright top-left block; the CLI's own autorotate is the reference.
        let yuv = yuv_frame(64, 32, |x, y| {
            [if x < 16 && y < 16 { 235 } else { 16 }, 128, 128]
        });
        let dir = tempfile::tempdir().unwrap();
        let (plain, rotated) = (dir.path().join("plain.mp4"), dir.path().join("rotated.mp4"));
        if !ffmpeg_cli(
            &yuv,
            64,
            32,
            &["-c:v", "mpeg4", "-q:v", "2", plain.to_str().unwrap()],
        ) {
            return;
        }
        // FFmpeg 5.1 turns the tag into a display matrix only when stream-copying.
        let cli = |args: &[&str]| {
            Command::new("ffmpeg")
                .args(["-v", "error", "-y", "-i"])
                .args(args)
                .output()
                .unwrap()
        };
        let (p, r) = (plain.to_str().unwrap(), rotated.to_str().unwrap());
        assert!(cli(&[p, "-c", "copy", "-metadata:s:v:0", "rotate=90", r])
            .status
            .success());
        let reference = cli(&[
            r,
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "gray",
            "-",
        ])
        .stdout;
        assert_eq!(
            reference.len(),
            32 * 64,
            "the CLI rotates it upright to 32×64"
        );

        let mut src = VideoSource::open(&rotated).unwrap();
        assert_eq!(
            (src.info().width, src.info().height, src.info().rotation),
            (32, 64, 270)
        );
        let img = &first_frame(&mut src);
        assert_eq!((img.width, img.height), (32, 64));
        for (x, y) in [(8, 8), (24, 8), (8, 56), (24, 56)] {
            let ours = img.pixel(x, y)[0] > 128;
            assert_eq!(
                ours,
                reference[(y * 32 + x) as usize] > 128,
                "at ({x}, {y})"
            );
        }
        assert!(
            img.pixel(8, 56)[0] > 128,
            "the corner block ends bottom-left"
        );
    }
}
