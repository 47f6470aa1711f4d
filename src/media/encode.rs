//! The overlay video writer: RGB frames in, H.264 (or MPEG-4) out, tagged with the colour
//! matrix its YUV was made with so that players show the colours posekit drew.
//!
//! Like the JSON Lines writer, it writes to a hidden temporary file beside the target and
//! renames it into place in `finish` (the rules of [`crate::files`]), so a crash never
//! leaves a half-written file under the name the user asked for. The container's comment
//! says posekit made it, so a later interrupted run knows which `.partial` video it may
//! replace.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use ff::format::Pixel;
use ff::software::scaling;
use ff::{codec, color, encoder, format, frame, Dictionary, Packet, Rational};
use ffmpeg_next as ff;

use super::decode::convert::{set_colorspace, Matrix};
use super::decode::{init_ffmpeg, SourcePicture};
use super::CodecThreads;
use crate::files::{keep, resolve_for_writing, Resolved, TempFile};
use crate::image::{paint_rgb, Canvas, RgbImage};

/// The container comment of every overlay posekit writes.
const CONTAINER_COMMENT: &str = "posekit overlay";

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("could not create the overlay video {path}: {reason}; check that the folder exists and is writable")]
    Create { path: String, reason: String },
    #[error("no encoder for the overlay video {path}: {reason}; use an .mp4 or .mkv name, or an FFmpeg with libx264")]
    NoEncoder { path: String, reason: String },
    #[error("overlay frame for {path} is {got_w}×{got_h}, but the video was created {want_w}×{want_h}; this is a posekit bug, please report it")]
    FrameSize {
        path: String,
        got_w: u32,
        got_h: u32,
        want_w: u32,
        want_h: u32,
    },
    #[error("writing the overlay video {path} failed: {reason}; check free disk space")]
    Write { path: String, reason: String },
}

/// The overlay is a preview that shares two cores with the models, so the encoder is
/// chosen for its CPU cost. Measured on the 230-frame Sports2D clip, 2 workers, one run:
/// `process` kept 47 fps of 71–76 with ultrafast at crf 23 (9.4 MB), 34–36 with veryfast
/// at crf 20 (4.4 MB, the old setting). x264 keeps its own thread count: pinning it to one
/// thread made the writer thread the bottleneck.
const X264_PRESET: &str = "ultrafast";
/// ultrafast compresses less (no CABAC, no trellis), so crf 23 keeps that clip at 9.4 MB
/// where crf 20 made 14 MB, at the same speed.
const X264_CRF: &str = "23";

/// Encoders in order of preference; the first one the container accepts is used.
/// libvpx-vp9 is there for `.webm`, which takes neither of the others.
const ENCODERS: [&str; 3] = ["libx264", "mpeg4", "libvpx-vp9"];

/// An SwsContext wrapper that may move to the writer thread.
struct Scaler(scaling::Context);

// SAFETY: an SwsContext has no thread-local state, and only the Renderer's owner uses it.
unsafe impl Send for Scaler {}

pub struct Renderer {
    output: format::context::Output,
    encoder: encoder::video::Encoder,
    scaler: Scaler,
    rgb: frame::Video,
    yuv: frame::Video,
    /// The matrix the video is encoded and tagged with.
    matrix: Matrix,
    width: u32,
    height: u32,
    encoder_tb: Rational,
    stream_tb: Rational,
    next_pts: i64,
    target: Resolved,
    /// Declared last, so FFmpeg's file is closed before an unfinished one is removed.
    temp: TempFile,
}

impl Renderer {
    /// Creates `path` for `width`×`height` at `fps`: H.264 via libx264 when available
    /// (yuv420p, crf 23, preset ultrafast: see [`X264_PRESET`]), else MPEG-4; container from the extension, mp4
    /// when it names none FFmpeg knows.
    ///
    /// yuv420p needs even sizes, so an odd width or height is padded by one pixel on the
    /// right or bottom, repeating the last column or row (no visible border, and nothing
    /// of the picture is cropped): a 1768×993 input gives a 1768×994 video.
    pub fn create(
        path: &Path,
        width: u32,
        height: u32,
        fps: f64,
        threads: CodecThreads,
    ) -> Result<Renderer, RenderError> {
        init_ffmpeg();
        let shown = path.display().to_string();
        let create_err = |reason: String| RenderError::Create {
            path: shown.clone(),
            reason,
        };
        if width == 0 || height == 0 || !(fps.is_finite() && fps > 0.0) {
            return Err(create_err(format!(
                "invalid size {width}×{height} or rate {fps} fps"
            )));
        }
        let target = resolve_for_writing(path).map_err(|e| create_err(e.to_string()))?;
        let temp = TempFile::beside(&target.real);
        let known = CString::new(temp.path().to_string_lossy().as_bytes())
            // SAFETY: av_guess_format only reads the NUL-terminated name; it returns a
            // pointer to a static muxer description or null.
            .map(|name| unsafe {
                !ff::ffi::av_guess_format(std::ptr::null(), name.as_ptr(), std::ptr::null())
                    .is_null()
            })
            .unwrap_or(false);
        let mut output = if known {
            format::output(temp.path())
        } else {
            format::output_as(temp.path(), "mp4")
        }
        .map_err(|e| create_err(e.to_string()))?;
        // From here on the temporary file exists; Drop removes it if anything fails.
        let (w, h) = (width + width % 2, height + height % 2);
        let matrix = if h > 576 {
            Matrix::Bt709
        } else {
            Matrix::Bt601
        };
        let rate = Rational::from(fps).reduce();
        let global_header = output
            .format()
            .flags()
            .contains(format::Flags::GLOBAL_HEADER);

        let no_encoder = |reason: String| RenderError::NoEncoder {
            path: shown.clone(),
            reason,
        };
        let codec = ENCODERS
            .iter()
            .filter_map(|name| encoder::find_by_name(name))
            // SAFETY: both pointers are valid: the muxer of an open context, a codec id.
            .find(|c| unsafe {
                ff::ffi::avformat_query_codec((*output.as_ptr()).oformat, c.id().into(), 0) == 1
            })
            .ok_or_else(|| {
                no_encoder(format!(
                    "the {} container takes none of {ENCODERS:?}",
                    output.format().name()
                ))
            })?;
        let mut enc = codec::context::Context::new_with_codec(codec)
            .encoder()
            .video()
            .map_err(|e| no_encoder(e.to_string()))?;
        enc.set_width(w);
        enc.set_height(h);
        enc.set_format(Pixel::YUV420P);
        enc.set_frame_rate(Some(rate));
        enc.set_time_base(rate.invert());
        enc.set_aspect_ratio(Rational(1, 1));
        enc.set_color_range(color::Range::MPEG);
        let (space, primaries, trc) = match matrix {
            Matrix::Bt709 => (
                color::Space::BT709,
                color::Primaries::BT709,
                color::TransferCharacteristic::BT709,
            ),
            _ => (
                color::Space::SMPTE170M,
                color::Primaries::SMPTE170M,
                color::TransferCharacteristic::SMPTE170M,
            ),
        };
        enc.set_colorspace(space);
        enc.set_color_primaries(primaries);
        enc.set_color_transfer_characteristic(trc);
        let mut flags = codec::Flags::empty();
        if global_header {
            flags |= codec::Flags::GLOBAL_HEADER;
        }
        let mut options = Dictionary::new();
        match codec.name() {
            "libx264" => {
                options.set("preset", X264_PRESET);
                options.set("crf", X264_CRF);
            }
            "libvpx-vp9" => {
                options.set("deadline", "realtime");
                options.set("cpu-used", "8");
                options.set("crf", "30");
                options.set("row-mt", "1");
                enc.set_bit_rate(0);
            }
            _ => {
                // MPEG-4 has no crf; a fixed quantiser of 3 looks close to crf 20.
                flags |= codec::Flags::QSCALE;
                enc.set_global_quality(3 * ff::ffi::FF_QP2LAMBDA);
            }
        }
        enc.set_flags(flags);
        if threads == CodecThreads::One {
            enc.set_threading(threads.threading());
            // libx264 takes its own thread count from its options, not the context's.
            options.set("threads", "1");
        }
        let encoder = enc
            .open_with(options)
            .map_err(|e| no_encoder(format!("{}: {e}", codec.name())))?;
        let mut stream = output
            .add_stream(codec)
            .map_err(|e| create_err(e.to_string()))?;
        stream.set_parameters(&encoder);
        stream.set_time_base(rate.invert());
        stream.set_avg_frame_rate(rate);
        let mut metadata = Dictionary::new();
        metadata.set("comment", CONTAINER_COMMENT);
        output.set_metadata(metadata);
        output
            .write_header()
            .map_err(|e| create_err(e.to_string()))?;
        // The muxer may pick its own time base while writing the header.
        let stream_tb = output.stream(0).map_or(rate.invert(), |s| s.time_base());

        // No ACCURATE_RND: it buys ±1-level exactness, invisible in a preview with
        // skeletons drawn on it, at about twice the conversion cost on the writer thread.
        let flags = scaling::Flags::BILINEAR | scaling::Flags::FULL_CHR_H_INP;
        let mut scaler = scaling::Context::get(Pixel::RGB24, w, h, Pixel::YUV420P, w, h, flags)
            .map_err(|e| create_err(format!("colour converter: {e}")))?;
        set_colorspace(&mut scaler, matrix, true, false);
        Ok(Renderer {
            output,
            encoder,
            scaler: Scaler(scaler),
            rgb: frame::Video::new(Pixel::RGB24, w, h),
            yuv: frame::Video::new(Pixel::YUV420P, w, h),
            matrix,
            width,
            height,
            encoder_tb: rate.invert(),
            stream_tb,
            next_pts: 0,
            target,
            temp,
        })
    }

    /// Appends one frame with `draw` painted on it; frames are shown in the order
    /// written, one per 1/fps. `picture`, the decoder's YUV of the same frame, is
    /// encoded as it is when it fits (same size, even, same matrix): nothing is then
    /// converted. Otherwise `image` is converted, and painted on before that.
    pub fn write(
        &mut self,
        image: &RgbImage,
        picture: Option<&SourcePicture>,
        draw: impl FnOnce(&mut dyn Canvas),
    ) -> Result<(), RenderError> {
        if (image.width, image.height) != (self.width, self.height) {
            return Err(RenderError::FrameSize {
                path: self.target.given.display().to_string(),
                got_w: image.width,
                got_h: image.height,
                want_w: self.width,
                want_h: self.height,
            });
        }
        match picture.filter(|p| self.fits(p)) {
            Some(picture) => {
                copy_planes(&picture.frame, &mut self.yuv);
                draw(&mut YuvCanvas::new(&mut self.yuv, self.matrix));
            }
            None => {
                pad_into(image, &mut self.rgb);
                draw(&mut RgbCanvas {
                    frame: &mut self.rgb,
                    width: image.width,
                    height: image.height,
                });
                self.scaler
                    .0
                    .run(&self.rgb, &mut self.yuv)
                    .map_err(|e| self.write_err(e))?;
            }
        }
        self.yuv.set_pts(Some(self.next_pts));
        self.next_pts += 1;
        self.encoder
            .send_frame(&self.yuv)
            .map_err(|e| self.write_err(e))?;
        self.write_packets()
    }

    /// Whether `picture` can be encoded as it is: the encoder's own size (so even) and
    /// matrix, in the encoder's yuv420p.
    fn fits(&self, picture: &SourcePicture) -> bool {
        let f = &picture.frame;
        (f.width(), f.height()) == (self.yuv.width(), self.yuv.height())
            && f.format() == self.yuv.format()
            && picture.matrix == self.matrix
    }

    /// Flushes the encoder, writes the trailer and moves the file to its final name, or
    /// to a `.partial` name when the run was interrupted; returns where it went.
    pub fn finish(mut self, interrupted: bool) -> Result<PathBuf, RenderError> {
        self.encoder.send_eof().map_err(|e| self.write_err(e))?;
        self.write_packets()?;
        self.output.write_trailer().map_err(|e| self.write_err(e))?;
        let Renderer {
            output,
            target,
            temp,
            ..
        } = self;
        // Closing the container flushes FFmpeg's buffers before the rename.
        drop(output);
        keep(temp, &target, interrupted, is_posekit_video).map_err(|e| RenderError::Write {
            path: target.given.display().to_string(),
            reason: e.to_string(),
        })
    }

    fn write_packets(&mut self) -> Result<(), RenderError> {
        let mut packet = Packet::empty();
        loop {
            match self.encoder.receive_packet(&mut packet) {
                Ok(()) => {
                    packet.set_stream(0);
                    packet.rescale_ts(self.encoder_tb, self.stream_tb);
                    packet
                        .write_interleaved(&mut self.output)
                        .map_err(|e| self.write_err(e))?;
                }
                Err(ff::Error::Eof)
                | Err(ff::Error::Other {
                    errno: ff::error::EAGAIN,
                }) => return Ok(()),
                Err(e) => return Err(self.write_err(e)),
            }
        }
    }

    fn write_err(&self, e: impl std::fmt::Display) -> RenderError {
        RenderError::Write {
            path: self.target.given.display().to_string(),
            reason: e.to_string(),
        }
    }
}

/// True when `path` is a video posekit rendered: its container comment says so.
pub fn is_posekit_video(path: &Path) -> bool {
    init_ffmpeg();
    format::input(&path)
        .is_ok_and(|input| input.metadata().get("comment") == Some(CONTAINER_COMMENT))
}

/// Copies the three planes of a yuv420p frame into another of the same size.
fn copy_planes(src: &frame::Video, dst: &mut frame::Video) {
    let (w, h) = (src.width() as usize, src.height() as usize);
    for (plane, (pw, ph)) in [(w, h), (w / 2, h / 2), (w / 2, h / 2)]
        .into_iter()
        .enumerate()
    {
        let (from, to) = (src.stride(plane), dst.stride(plane));
        let (src_data, dst_data) = (src.data(plane), dst.data_mut(plane));
        for row in 0..ph {
            dst_data[row * to..][..pw].copy_from_slice(&src_data[row * from..][..pw]);
        }
    }
}

/// The encoder's RGB frame (row-padded) as a canvas the size of the picture in it.
struct RgbCanvas<'a> {
    frame: &'a mut frame::Video,
    width: u32,
    height: u32,
}

impl Canvas for RgbCanvas<'_> {
    fn width(&self) -> u32 {
        self.width
    }

    fn height(&self) -> u32 {
        self.height
    }

    fn fill_row(&mut self, y: u32, x0: u32, x1: u32, rgb: [u8; 3]) {
        let stride = self.frame.stride(0);
        let row = &mut self.frame.data_mut(0)[y as usize * stride..];
        paint_rgb(&mut row[x0 as usize * 3..x1 as usize * 3], rgb);
    }
}

/// A yuv420p frame (the picture's own size, as `Renderer::fits` ensures) as a canvas:
/// each span sets luma at full resolution and the chroma samples it touches (so a colour
/// edge may bleed by one pixel, as 4:2:0 always does).
struct YuvCanvas<'a> {
    frame: &'a mut frame::Video,
    matrix: Matrix,
    /// The last colour painted and its Y, Cb, Cr: a frame paints a handful of colours.
    last: ([u8; 3], [u8; 3]),
}

impl<'a> YuvCanvas<'a> {
    fn new(frame: &'a mut frame::Video, matrix: Matrix) -> Self {
        YuvCanvas {
            frame,
            matrix,
            last: ([0; 3], matrix.yuv_of([0; 3])),
        }
    }
}

impl Canvas for YuvCanvas<'_> {
    fn width(&self) -> u32 {
        self.frame.width()
    }

    fn height(&self) -> u32 {
        self.frame.height()
    }

    fn fill_row(&mut self, y: u32, x0: u32, x1: u32, rgb: [u8; 3]) {
        if self.last.0 != rgb {
            self.last = (rgb, self.matrix.yuv_of(rgb));
        }
        let ([luma, cb, cr], (x0, x1, y)) = (self.last.1, (x0 as usize, x1 as usize, y as usize));
        let stride = self.frame.stride(0);
        self.frame.data_mut(0)[y * stride..][x0..x1].fill(luma);
        for (plane, value) in [(1, cb), (2, cr)] {
            let stride = self.frame.stride(plane);
            self.frame.data_mut(plane)[y / 2 * stride..][x0 / 2..x1.div_ceil(2)].fill(value);
        }
    }
}

/// Copies packed RGB into the (even-sized, row-padded) frame, repeating the last column
/// and row into the padding.
fn pad_into(image: &RgbImage, dst: &mut frame::Video) {
    let (w, h) = (image.width as usize, image.height as usize);
    let (dw, dh) = (dst.width() as usize, dst.height() as usize);
    let stride = dst.stride(0);
    let data = dst.data_mut(0);
    for y in 0..dh {
        let src = &image.data[y.min(h - 1) * w * 3..][..w * 3];
        let row = &mut data[y * stride..][..dw * 3];
        row[..w * 3].copy_from_slice(src);
        for x in w..dw {
            row[x * 3..x * 3 + 3].copy_from_slice(&src[(w - 1) * 3..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::decode::{SourceEvent, VideoSource};

    /// Quadrants of red, green, blue and a skin tone, shifted a little per frame.
    fn synthetic(w: u32, h: u32, i: u32) -> RgbImage {
        let colours = [[220, 30, 30], [30, 200, 40], [40, 50, 210], [200, 150, 120]];
        let mut img = RgbImage::new(w, h);
        for y in 0..h {
            for x in 0..w {
                let q = usize::from((x + i) * 2 >= w) + 2 * usize::from(y * 2 >= h);
                let o = ((y * w + x) * 3) as usize;
                img.data[o..o + 3].copy_from_slice(&colours[q]);
            }
        }
        img
    }

    fn round_trip(name: &str, w: u32, h: u32) -> (VideoSource, Vec<RgbImage>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        let mut r = Renderer::create(&path, w, h, 25.0, CodecThreads::Auto).unwrap();
        for i in 0..10 {
            r.write(&synthetic(w, h, i), None, |_| {}).unwrap();
        }
        r.finish(false).unwrap();
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "only the video, no temporary file");
        let mut src = VideoSource::open(&path).unwrap();
        let mut frames = Vec::new();
        while let Some(ev) = src.next_event() {
            if let SourceEvent::Frame(f) = ev.unwrap() {
                frames.push((*f.image).clone());
            }
        }
        (src, frames)
    }

    fn assert_colours_survive(frames: &[RgbImage], w: u32, h: u32) {
        for (i, img) in frames.iter().enumerate() {
            let want = synthetic(w, h, i as u32);
            // Sample well inside each quadrant, away from compression ringing at the edges.
            for (x, y) in [
                (w / 4 + 6, h / 4),
                (w * 3 / 4 - 6, h / 4),
                (w / 4 + 6, h * 3 / 4),
                (w * 3 / 4 - 6, h * 3 / 4),
            ] {
                let (got, exp) = (img.pixel(x, y), want.pixel(x, y));
                let err = (0..3).map(|c| got[c].abs_diff(exp[c])).max().unwrap();
                assert!(err <= 12, "frame {i} at ({x}, {y}): {got:?} vs {exp:?}");
            }
        }
    }

    #[test]
    fn hd_frames_survive_a_round_trip_tagged_bt709() {
        let (src, frames) = round_trip("overlay.mp4", 1280, 720);
        assert_eq!(frames.len(), 10);
        assert_eq!((src.info().width, src.info().height), (1280, 720));
        assert_eq!(
            (src.info().codec.as_str(), src.info().color_matrix.as_str()),
            ("h264", "bt709")
        );
        assert!((src.info().fps - 25.0).abs() < 1e-6);
        assert_colours_survive(&frames, 1280, 720);
    }

    #[test]
    fn odd_sizes_are_padded_by_one_pixel() {
        let (src, frames) = round_trip("odd.mkv", 161, 121);
        assert_eq!((src.info().width, src.info().height), (162, 122));
        assert_eq!(src.info().color_matrix, "bt601");
        assert_eq!(frames.len(), 10);
        let cropped: Vec<RgbImage> = frames.iter().map(|f| crop(f, 161, 121)).collect();
        assert_colours_survive(&cropped, 161, 121);
    }

    #[test]
    fn webm_and_unknown_extensions_still_get_a_video() {
        let (src, frames) = round_trip("overlay.webm", 96, 64);
        assert_eq!((src.info().codec.as_str(), frames.len()), ("vp9", 10));
        let (src, frames) = round_trip("overlay.posekit", 96, 64);
        assert_eq!((src.info().codec.as_str(), frames.len()), ("h264", 10));
    }

    /// Renders `frames` frames of `clip`, painting a 20×10 white block at (8, 8) on each,
    /// from the decoder's YUV pictures when `pictures`, else from RGB; decodes the result.
    fn render_clip(clip: &Path, pictures: bool, frames: usize) -> (Vec<RgbImage>, Vec<RgbImage>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("overlay.mp4");
        let options = crate::media::decode::DecodeOptions {
            keep_pictures: pictures,
            ..Default::default()
        };
        let mut src = VideoSource::open_with(clip, options).unwrap();
        let (w, h) = (src.info().width, src.info().height);
        let mut r = Renderer::create(&path, w, h, 25.0, CodecThreads::Auto).unwrap();
        let mut originals = Vec::new();
        while let Some(ev) = src.next_event() {
            let SourceEvent::Frame(f) = ev.unwrap() else {
                continue;
            };
            assert_eq!(
                f.picture.is_some(),
                pictures,
                "a picture only when asked for"
            );
            if let Some(picture) = &f.picture {
                assert!(
                    r.fits(picture),
                    "the clip's pictures are encoded as they are"
                );
            }
            let paint = |c: &mut dyn Canvas| (8..18).for_each(|y| c.fill_row(y, 8, 28, [255; 3]));
            r.write(&f.image, f.picture.as_deref(), paint).unwrap();
            originals.push((*f.image).clone());
            if originals.len() == frames {
                break;
            }
        }
        r.finish(false).unwrap();
        let mut out = VideoSource::open(&path).unwrap();
        let mut rendered = Vec::new();
        while let Some(ev) = out.next_event() {
            if let SourceEvent::Frame(f) = ev.unwrap() {
                rendered.push((*f.image).clone());
            }
        }
        (originals, rendered)
    }

    #[test]
    fn pictures_encoded_as_decoded_look_like_the_rgb_way_with_the_drawing_on() {
        let clip = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sports2d_clip.webm");
        let (originals, direct) = render_clip(&clip, true, 6);
        let (_, via_rgb) = render_clip(&clip, false, 6);
        assert_eq!((direct.len(), via_rgb.len()), (6, 6));
        for (i, ((orig, a), b)) in originals.iter().zip(&direct).zip(&via_rgb).enumerate() {
            // The painted block is white both ways (limited-range white, decoded back).
            for (x, y) in [(10, 10), (26, 16)] {
                assert!(
                    a.pixel(x, y).iter().all(|&v| v >= 240),
                    "frame {i}: {:?}",
                    a.pixel(x, y)
                );
                assert!(
                    b.pixel(x, y).iter().all(|&v| v >= 240),
                    "frame {i}: {:?}",
                    b.pixel(x, y)
                );
            }
            // Away from it, the picture is the source's, either way, up to compression.
            let mean_err = |img: &RgbImage| {
                let sum: u64 = (img.data.iter().zip(&orig.data))
                    .skip(img.width as usize * 3 * 40)
                    .map(|(p, q)| u64::from(p.abs_diff(*q)))
                    .sum();
                sum as f64 / (img.data.len() - img.width as usize * 3 * 40) as f64
            };
            let (direct_err, rgb_err) = (mean_err(a), mean_err(b));
            assert!(
                direct_err < 4.0 && rgb_err < 4.0,
                "frame {i}: {direct_err} / {rgb_err}"
            );
        }
    }

    #[test]
    fn colours_become_limited_range_yuv_under_each_matrix() {
        for m in [Matrix::Bt601, Matrix::Bt709, Matrix::Bt2020] {
            assert_eq!(m.yuv_of([255; 3]), [235, 128, 128]);
            assert_eq!(m.yuv_of([0; 3]), [16, 128, 128]);
        }
        // Red under BT.709 and BT.601, as the standards' tables give it.
        assert_eq!(Matrix::Bt709.yuv_of([255, 0, 0]), [63, 102, 240]);
        assert_eq!(Matrix::Bt601.yuv_of([255, 0, 0]), [81, 90, 240]);
    }

    #[test]
    fn source_and_renderer_can_move_to_their_threads() {
        fn assert_send<T: Send>() {}
        assert_send::<VideoSource>();
        assert_send::<Renderer>();
    }

    #[test]
    fn bad_paths_and_sizes_give_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/folder/out.mp4");
        let err = Renderer::create(&path, 64, 64, 30.0, CodecThreads::Auto)
            .err()
            .unwrap();
        assert!(matches!(err, RenderError::Create { .. }), "{err}");
        assert!(err.to_string().contains("no/such/folder/out.mp4"), "{err}");
        let path = dir.path().join("out.mp4");
        let mut r = Renderer::create(&path, 64, 64, 30.0, CodecThreads::Auto).unwrap();
        let err = r.write(&RgbImage::new(32, 32), None, |_| {}).unwrap_err();
        assert!(matches!(err, RenderError::FrameSize { .. }), "{err}");
        drop(r);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "temporary removed"
        );
    }

    fn crop(img: &RgbImage, w: u32, h: u32) -> RgbImage {
        let mut out = RgbImage::new(w, h);
        for y in 0..h as usize {
            let src = &img.data[y * img.width as usize * 3..][..w as usize * 3];
            out.data[y * w as usize * 3..][..w as usize * 3].copy_from_slice(src);
        }
        out
    }
}
