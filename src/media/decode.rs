//! Video decoding with FFmpeg: frames in presentation order as packed RGB, converted with
//! the stream's own colour matrix and turned upright by its display rotation.
//!
//! Pose models are sensitive to colour: swscale assumes BT.601 unless told otherwise, and
//! decoding a BT.709 file that way shifted enough colours to change 10% of detections, so
//! the matrix is always set explicitly here.

pub(crate) mod convert;
mod recycle;

use std::path::Path;
use std::sync::Arc;
use std::sync::Once;

use ff::{codec, color, format, frame, media, Packet};
use ffmpeg_next as ff;

use super::CodecThreads;
use crate::image::RgbImage;
use convert::{rotate, stream_rotation, Converter, Matrix};
use recycle::Recycler;

/// One decoded frame.
pub struct Frame {
    /// Position among decoded frames in presentation order, from 0. Skipped frames take an
    /// index too, so every index appears exactly once as a frame or a skip.
    pub index: u64,
    /// Presentation time in seconds from the start of the stream.
    pub t: f64,
    /// Shared, so that whoever holds a frame (a worker, the overlay) never copies it.
    pub image: Arc<RgbImage>,
    /// The decoder's own picture, when it was asked for and can be encoded as it is
    /// (see [`SourcePicture`]).
    pub picture: Option<Arc<SourcePicture>>,
}

/// A decoded frame's 8-bit 4:2:0 YUV picture, shared with the decoder by reference (no
/// copy). The overlay encodes it with the skeletons drawn on, which spares converting
/// the frame back from RGB: that conversion was a quarter of what `--render` cost.
/// Only upright, limited-range yuv420p pictures are kept, the common case; others go
/// the RGB way.
pub struct SourcePicture {
    pub(crate) frame: frame::Video,
    /// The matrix the YUV was made with, so that it is only reused under the same one.
    pub(crate) matrix: Matrix,
}

/// How a video is decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeOptions {
    pub threads: CodecThreads,
    /// Keep each frame's [`SourcePicture`] (the overlay wants it).
    pub keep_pictures: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            threads: CodecThreads::Auto,
            keep_pictures: false,
        }
    }
}

/// What the file says about its video, as posekit will deliver it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct VideoInfo {
    pub path: String,
    /// Size of the delivered RGB frames, after rotation.
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub codec: String,
    /// Exact when the container records it, else estimated from duration × fps; None when
    /// neither is known. Meant for progress bars, not for loop bounds.
    pub frames: Option<u64>,
    /// Clockwise rotation applied to decoded frames: 0, 90, 180 or 270.
    pub rotation: i32,
    /// Colour matrix used for YUV→RGB, e.g. "bt709" (tagged, or assumed from the height).
    pub color_matrix: String,
}

pub enum SourceEvent {
    Frame(Frame),
    /// A frame that could not be decoded (corrupt packet); the stream goes on after it.
    Skipped {
        index: u64,
        reason: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{path}: no such file; check the path (relative to the current folder)")]
    NotFound { path: String },
    #[error("{path}: not a video FFmpeg can read ({reason}); check that it is a complete video file, not a renamed, empty or half-downloaded one")]
    NotAVideo { path: String, reason: String },
    #[error("{path}: has no video stream (audio only?); give posekit a file that contains video")]
    NoVideoStream { path: String },
    #[error("{path}: this FFmpeg build has no decoder for codec '{codec}'; re-encode the file (ffmpeg -i IN -c:v libx264 OUT.mp4) or use an FFmpeg built with that decoder")]
    UnsupportedCodec { path: String, codec: String },
    #[error("{path}: the video decoder failed: {reason}; the file is probably damaged, try re-encoding it with ffmpeg")]
    Decoder { path: String, reason: String },
    #[error("{path}: reading stopped mid-file: {reason}; the frames before this point were delivered, check the disk or copy the file again")]
    Read { path: String, reason: String },
    #[error("{path}: could not convert frames to RGB: {reason}; this is a posekit bug, please report it with the output of `ffprobe {path}`")]
    Convert { path: String, reason: String },
    #[error("{path}: the first image of the sequence cannot be read ({reason}), so the frame size is unknown; fix or remove it")]
    FirstImage { path: String, reason: String },
}

/// After this many failed packets in a row, decoding is hopeless (wrong profile, garbage
/// data) and the stream ends with an error instead of a flood of skips.
const MAX_FAILURES_IN_A_ROW: u32 = 100;

/// FFmpeg's global setup, shared with `render`. Its own log lines are silenced below fatal
/// because every problem reaches the user through our errors and skip counts instead.
pub(crate) fn init_ffmpeg() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let _ = ff::init();
        ff::log::set_level(ff::log::Level::Fatal);
    });
}

enum State {
    Reading,
    Draining,
    Done,
}

/// A decoded video, delivered one event at a time.
pub struct VideoSource {
    input: format::context::Input,
    decoder: ff::decoder::Video,
    stream_index: usize,
    time_base: f64,
    start_pts: i64,
    stream_space: color::Space,
    info: VideoInfo,
    converter: Option<Converter>,
    /// Frames handed out, written again once nobody holds them.
    recycler: Recycler,
    keep_pictures: bool,
    decoded: frame::Video,
    next_index: u64,
    failures_in_a_row: u32,
    state: State,
    /// A read error met mid-file, reported after the decoder has been drained.
    deferred: Option<SourceError>,
}

impl VideoSource {
    /// Opens `path` with FFmpeg's frame threads (see [`CodecThreads`]) and RGB frames only.
    pub fn open(path: &Path) -> Result<VideoSource, SourceError> {
        VideoSource::open_with(path, DecodeOptions::default())
    }

    pub fn open_with(path: &Path, options: DecodeOptions) -> Result<VideoSource, SourceError> {
        init_ffmpeg();
        let shown = path.display().to_string();
        let not_a_video = |reason: String| SourceError::NotAVideo {
            path: shown.clone(),
            reason,
        };
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SourceError::NotFound { path: shown });
            }
            Err(e) => return Err(not_a_video(e.to_string())),
            Ok(m) if m.is_dir() => return Err(not_a_video("it is a directory".into())),
            Ok(m) if m.len() == 0 => return Err(not_a_video("the file is empty".into())),
            Ok(_) => {}
        }
        let input = format::input(path).map_err(|e| not_a_video(e.to_string()))?;

        // A cover picture in an audio file is a "video" stream of one frame; not a video.
        let usable = |s: &ff::Stream| {
            s.parameters().medium() == media::Type::Video
                && !s
                    .disposition()
                    .contains(format::stream::Disposition::ATTACHED_PIC)
        };
        let stream = match input.streams().best(media::Type::Video) {
            Some(s) if usable(&s) => s,
            _ => input
                .streams()
                .find(usable)
                .ok_or_else(|| SourceError::NoVideoStream {
                    path: shown.clone(),
                })?,
        };
        let stream_index = stream.index();
        let codec_name = stream.parameters().id().name().to_string();
        let tb = stream.time_base();
        let time_base = f64::from(tb);
        let start_pts = match stream.start_time() {
            ff::ffi::AV_NOPTS_VALUE => 0,
            s => s,
        };
        let fps = [stream.avg_frame_rate(), stream.rate()]
            .into_iter()
            .map(f64::from)
            .find(|r| r.is_finite() && *r > 0.0)
            .unwrap_or(30.0); // unknown rate: only used for missing timestamps and estimates
        let frames = if stream.frames() > 0 {
            Some(stream.frames() as u64)
        } else if stream.duration() > 0 {
            Some((stream.duration() as f64 * time_base * fps).round() as u64)
        } else if input.duration() > 0 {
            Some((input.duration() as f64 / f64::from(ff::ffi::AV_TIME_BASE) * fps).round() as u64)
        } else {
            None
        };
        let rotation = stream_rotation(&stream);

        let mut ctx =
            codec::context::Context::from_parameters(stream.parameters()).map_err(|e| {
                SourceError::Decoder {
                    path: shown.clone(),
                    reason: e.to_string(),
                }
            })?;
        // Decoding runs on its own thread beside the pose workers; frame threads keep it
        // ahead of many workers on HD VP9/H.264, at some CPU cost per frame.
        ctx.set_threading(options.threads.threading());
        // SAFETY: ctx owns a valid AVCodecContext that is not yet opened; pkt_timebase is
        // a plain field the decoder reads when opened, and setting it is what ffmpeg does.
        unsafe { (*ctx.as_mut_ptr()).pkt_timebase = tb.into() };
        let decoder = ctx.decoder().video().map_err(|e| match e {
            ff::Error::DecoderNotFound => SourceError::UnsupportedCodec {
                path: shown.clone(),
                codec: codec_name.clone(),
            },
            e => SourceError::Decoder {
                path: shown.clone(),
                reason: e.to_string(),
            },
        })?;
        let (w, h) = (decoder.width(), decoder.height());
        if w == 0 || h == 0 {
            return Err(not_a_video("the video stream has no frame size".into()));
        }
        let stream_space = decoder.color_space();
        let matrix = Matrix::resolve(color::Space::Unspecified, stream_space, h);
        let (width, height) = if rotation % 180 == 0 { (w, h) } else { (h, w) };
        let info = VideoInfo {
            path: shown,
            width,
            height,
            fps,
            codec: codec_name,
            frames,
            rotation,
            color_matrix: matrix.name().to_string(),
        };
        Ok(VideoSource {
            input,
            decoder,
            stream_index,
            time_base,
            start_pts,
            stream_space,
            info,
            converter: None,
            recycler: Recycler::default(),
            keep_pictures: options.keep_pictures,
            decoded: frame::Video::empty(),
            next_index: 0,
            failures_in_a_row: 0,
            state: State::Reading,
            deferred: None,
        })
    }

    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    /// Next decoded frame or skipped (corrupt) frame; None at end of stream. Decode errors
    /// on one packet are reported as Skipped and decoding goes on; only unrecoverable
    /// errors end the stream (return Err once, then None).
    pub fn next_event(&mut self) -> Option<Result<SourceEvent, SourceError>> {
        loop {
            if matches!(self.state, State::Done) {
                return None;
            }
            // Always empty the decoder before feeding it, so send_packet never sees EAGAIN.
            match self.decoder.receive_frame(&mut self.decoded) {
                Ok(()) => {
                    self.failures_in_a_row = 0;
                    let event = self.emit_decoded();
                    if event.is_err() {
                        self.state = State::Done;
                    }
                    return Some(event);
                }
                Err(ff::Error::Eof) => {
                    self.state = State::Done;
                    return self.deferred.take().map(Err);
                }
                Err(ff::Error::Other {
                    errno: ff::error::EAGAIN,
                }) => {}
                Err(e) => return Some(self.failed(format!("the decoder rejected a frame: {e}"))),
            }
            match self.state {
                State::Reading => {
                    if let Some(event) = self.feed() {
                        return Some(event);
                    }
                }
                // Draining never asks for more input; EAGAIN here would loop forever.
                _ => {
                    self.state = State::Done;
                    return self.deferred.take().map(Err);
                }
            }
        }
    }

    /// Reads one packet into the decoder; returns an event only when that packet failed.
    fn feed(&mut self) -> Option<Result<SourceEvent, SourceError>> {
        let mut packet = Packet::empty();
        match packet.read(&mut self.input) {
            Ok(()) if packet.stream() != self.stream_index => None,
            Ok(()) => match self.decoder.send_packet(&packet) {
                Ok(()) => None,
                Err(e) => Some(self.failed(format!("corrupt packet: {e}"))),
            },
            Err(ff::Error::Eof) => self.drain(None),
            // The demuxer resyncs past bad data by itself; keep reading.
            Err(ff::Error::InvalidData)
            | Err(ff::Error::Other {
                errno: ff::error::EAGAIN,
            }) => {
                self.failures_in_a_row += 1;
                (self.failures_in_a_row > MAX_FAILURES_IN_A_ROW).then(|| {
                    self.state = State::Done;
                    Err(self.read_error("too much unreadable data in a row".into()))
                })
            }
            // I/O errors are sticky in FFmpeg; deliver what the decoder holds, then report.
            Err(e) => {
                let err = self.read_error(e.to_string());
                self.drain(Some(err))
            }
        }
    }

    fn drain(&mut self, deferred: Option<SourceError>) -> Option<Result<SourceEvent, SourceError>> {
        self.deferred = deferred;
        self.state = State::Draining;
        if self.decoder.send_eof().is_err() {
            self.state = State::Done;
            return self.deferred.take().map(Err);
        }
        None
    }

    fn read_error(&self, reason: String) -> SourceError {
        SourceError::Read {
            path: self.info.path.clone(),
            reason,
        }
    }

    /// One frame's worth of failure: a skip, unless failures have become the norm.
    fn failed(&mut self, reason: String) -> Result<SourceEvent, SourceError> {
        self.failures_in_a_row += 1;
        if self.failures_in_a_row > MAX_FAILURES_IN_A_ROW {
            self.state = State::Done;
            return Err(SourceError::Decoder {
                path: self.info.path.clone(),
                reason: format!("{MAX_FAILURES_IN_A_ROW} packets in a row failed ({reason})"),
            });
        }
        let index = self.next_index;
        self.next_index += 1;
        Ok(SourceEvent::Skipped { index, reason })
    }

    fn emit_decoded(&mut self) -> Result<SourceEvent, SourceError> {
        let index = self.next_index;
        self.next_index += 1;
        if self.decoded.is_corrupt() {
            let reason = "the decoder marked the frame corrupt".to_string();
            return Ok(SourceEvent::Skipped { index, reason });
        }
        let t = match self.decoded.timestamp() {
            Some(ts) => (ts - self.start_pts) as f64 * self.time_base,
            None => index as f64 / self.info.fps,
        };
        let (converter, decoded, space) = (&mut self.converter, &self.decoded, self.stream_space);
        let image = match self.info.rotation {
            0 => self
                .recycler
                .fill(|out| Converter::run(converter, decoded, space, out)),
            // Turned frames are rare (phone videos): converted, then copied turned.
            deg => {
                let mut upright = RgbImage::new(0, 0);
                Converter::run(converter, decoded, space, &mut upright)
                    .map(|()| Arc::new(rotate(upright, deg)))
            }
        };
        let image = image.map_err(|e| SourceError::Convert {
            path: self.info.path.clone(),
            reason: e.to_string(),
        })?;
        let picture = self.keep_pictures.then(|| self.picture()).flatten();
        Ok(SourceEvent::Frame(Frame {
            index,
            t,
            image,
            picture,
        }))
    }

    /// The decoded picture by reference, when it is one the overlay can encode as it is.
    fn picture(&self) -> Option<Arc<SourcePicture>> {
        let f = &self.decoded;
        let plain = f.format() == ff::format::Pixel::YUV420P
            && f.color_range() != color::Range::JPEG
            && self.info.rotation == 0;
        if !plain {
            return None;
        }
        let mut shared = frame::Video::empty();
        // SAFETY: both frames are valid; av_frame_ref only adds references to the
        // decoder's buffers (the decoder unrefs its own frame before reusing it).
        let ok = unsafe { ff::ffi::av_frame_ref(shared.as_mut_ptr(), f.as_ptr()) } >= 0;
        ok.then(|| {
            Arc::new(SourcePicture {
                frame: shared,
                matrix: Matrix::resolve(f.color_space(), self.stream_space, f.height()),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn clip() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sports2d_clip.webm")
    }

    /// Decodes everything, returning frames and the number of skips; panics on Err.
    fn decode_all(src: &mut VideoSource) -> (Vec<Frame>, usize) {
        let (mut frames, mut skips) = (Vec::new(), 0);
        while let Some(ev) = src.next_event() {
            match ev.expect("no fatal error") {
                SourceEvent::Frame(f) => frames.push(f),
                SourceEvent::Skipped { .. } => skips += 1,
            }
        }
        (frames, skips)
    }

    #[test]
    fn decodes_the_real_clip_in_order_with_its_tags() {
        let mut src = VideoSource::open(&clip()).unwrap();
        let info = src.info().clone();
        assert_eq!((info.width, info.height, info.rotation), (1768, 994, 0));
        assert_eq!(
            (info.codec.as_str(), info.color_matrix.as_str()),
            ("vp9", "bt709")
        );
        assert!(
            (info.fps - 30.0).abs() < 1e-6 && info.frames == Some(60),
            "{info:?}"
        );
        let (frames, skips) = decode_all(&mut src);
        assert_eq!((frames.len(), skips), (60, 0));
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(f.index, i as u64);
            assert!(
                (f.t - i as f64 / 30.0).abs() < 0.002,
                "frame {i} at {}",
                f.t
            );
            assert_eq!((f.image.width, f.image.height), (1768, 994));
            assert_eq!(f.image.data.len(), 1768 * 994 * 3);
        }
        assert!(src.next_event().is_none());
    }

    #[test]
    fn a_truncated_file_still_gives_the_frames_before_the_cut() {
        let bytes = std::fs::read(clip()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cut = dir.path().join("cut.webm");
        std::fs::write(&cut, &bytes[..bytes.len() * 3 / 4]).unwrap();
        let mut src = VideoSource::open(&cut).unwrap();
        let (mut frames, mut events) = (0, 0);
        while let Some(ev) = src.next_event() {
            events += 1;
            if let Ok(SourceEvent::Frame(f)) = ev {
                assert_eq!(f.index, frames);
                frames += 1;
            }
        }
        eprintln!("{frames} frames, {events} events before the cut");
        assert!((10..60).contains(&frames), "{frames} frames");
        assert!(
            events - frames <= 2,
            "at most a skip and an error after the cut"
        );
    }

    #[test]
    fn a_corrupt_packet_is_skipped_and_decoding_goes_on() {
        let mut bytes = std::fs::read(clip()).unwrap();
        // Inside the payload of the 5th packet (at byte 117813, 3088 bytes long), so the
        // container stays intact and only the VP9 data is damaged.
        for b in &mut bytes[117_900..118_400] {
            *b ^= 0x5a;
        }
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.webm");
        std::fs::write(&bad, &bytes).unwrap();
        let mut src = VideoSource::open(&bad).unwrap();
        let (mut frames, mut skips) = (0, 0);
        for expected in 0.. {
            let (index, frame) = match src.next_event() {
                None => break,
                Some(Ok(SourceEvent::Frame(f))) => (f.index, true),
                Some(Ok(SourceEvent::Skipped { index, .. })) => (index, false),
                Some(Err(e)) => panic!("{e}"),
            };
            assert_eq!(index, expected);
            (frames, skips) = if frame {
                (frames + 1, skips)
            } else {
                (frames, skips + 1)
            };
        }
        assert_eq!(frames + skips, 60, "every index appears once");
        assert!(skips >= 1 && frames >= 40, "{frames} frames, {skips} skips");
    }

    #[test]
    fn unreadable_inputs_give_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.mp4");
        let err = VideoSource::open(&missing).err().unwrap();
        assert!(matches!(err, SourceError::NotFound { .. }), "{err}");
        assert!(err.to_string().contains("missing.mp4"));

        let text = dir.path().join("notes.mp4");
        std::fs::write(&text, "these are my notes, not a video\n".repeat(100)).unwrap();
        let err = VideoSource::open(&text).err().unwrap();
        assert!(matches!(err, SourceError::NotAVideo { .. }), "{err}");

        // A hand-made WAV: 0.1 s of 16-bit mono silence.
        let mut wav = Vec::new();
        let data_len = 1600u32;
        for (tag, v) in [(b"RIFF", 36 + data_len), (b"WAVE", 0)] {
            wav.extend(tag);
            if tag == b"RIFF" {
                wav.extend(v.to_le_bytes());
            }
        }
        wav.extend(b"fmt \x10\0\0\0\x01\0\x01\0");
        wav.extend(8000u32.to_le_bytes());
        wav.extend(16000u32.to_le_bytes());
        wav.extend(b"\x02\0\x10\0data");
        wav.extend(data_len.to_le_bytes());
        wav.extend(vec![0u8; data_len as usize]);
        let audio = dir.path().join("sound.wav");
        std::fs::write(&audio, wav).unwrap();
        let err = VideoSource::open(&audio).err().unwrap();
        assert!(matches!(err, SourceError::NoVideoStream { .. }), "{err}");

        let err = VideoSource::open(dir.path()).err().unwrap();
        assert!(matches!(err, SourceError::NotAVideo { .. }), "{err}");
    }
}
