//! A folder of still images played as a video: the frames in name order at a frame rate
//! the user gives (`--fps`), since stills carry none.
//!
//! The first image sets the frame size. A later image that cannot be decoded, or has
//! another size, is a skipped frame with its reason, as a corrupt packet is in a video:
//! the frame index still counts it, and the run goes on.

use std::path::PathBuf;
use std::sync::Arc;

use super::decode::{Frame, SourceError, SourceEvent, VideoInfo};
use super::still::{decode_still, StillFormat};
use crate::image::RgbImage;

pub struct ImageSequence {
    info: VideoInfo,
    frames: std::vec::IntoIter<PathBuf>,
    first: Option<RgbImage>,
    next_index: u64,
}

impl ImageSequence {
    /// `frames` in the order to play them (the caller lists the folder); `fps` is
    /// positive.
    pub fn open(folder: &str, frames: Vec<PathBuf>, fps: f64) -> Result<Self, SourceError> {
        let Some(first_path) = frames.first() else {
            return Err(SourceError::NotAVideo {
                path: folder.into(),
                reason: "the folder holds no JPEG or PNG images".into(),
            });
        };
        let first = read(first_path).map_err(|reason| SourceError::FirstImage {
            path: first_path.display().to_string(),
            reason,
        })?;
        let info = VideoInfo {
            path: folder.into(),
            width: first.width,
            height: first.height,
            fps,
            codec: "images".into(),
            frames: Some(frames.len() as u64),
            rotation: 0,
            color_matrix: "rgb".into(),
        };
        Ok(ImageSequence {
            info,
            frames: frames.into_iter(),
            first: Some(first),
            next_index: 0,
        })
    }

    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    pub fn next_event(&mut self) -> Option<Result<SourceEvent, SourceError>> {
        let path = self.frames.next()?;
        let index = self.next_index;
        self.next_index += 1;
        let image = match self.first.take() {
            Some(first) => Ok(first),
            None => read(&path).and_then(|image| self.same_size(image)),
        };
        Some(Ok(match image {
            Ok(image) => SourceEvent::Frame(Frame {
                index,
                t: index as f64 / self.info.fps,
                image: Arc::new(image),
                picture: None,
            }),
            Err(reason) => SourceEvent::Skipped {
                index,
                reason: format!("{}: {reason}", path.display()),
            },
        }))
    }

    fn same_size(&self, image: RgbImage) -> Result<RgbImage, String> {
        if (image.width, image.height) == (self.info.width, self.info.height) {
            return Ok(image);
        }
        Err(format!(
            "{}×{}, not the sequence's {}×{} (the first image's size)",
            image.width, image.height, self.info.width, self.info.height
        ))
    }
}

fn read(path: &std::path::Path) -> Result<RgbImage, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let format = StillFormat::sniff(&bytes).ok_or("not a JPEG or PNG image")?;
    decode_still(&bytes, format)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(path: &std::path::Path, width: u32, height: u32) {
        ::image::RgbImage::new(width, height).save(path).unwrap();
    }

    #[test]
    fn plays_frames_in_order_and_skips_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        let names = ["1.png", "2.png", "3.png", "4.png"];
        png(&dir.path().join("1.png"), 8, 6);
        std::fs::write(dir.path().join("2.png"), b"not an image").unwrap();
        png(&dir.path().join("3.png"), 4, 4);
        png(&dir.path().join("4.png"), 8, 6);
        let frames = names.iter().map(|n| dir.path().join(n)).collect();
        let mut source = ImageSequence::open("frames", frames, 25.0).unwrap();
        assert_eq!((source.info().width, source.info().height), (8, 6));
        let mut seen = Vec::new();
        while let Some(event) = source.next_event() {
            seen.push(match event.unwrap() {
                SourceEvent::Frame(f) => format!("frame {} at {}", f.index, f.t),
                SourceEvent::Skipped { index, reason } => {
                    format!("skip {index}: {}", reason.rsplit(": ").next().unwrap())
                }
            });
        }
        assert_eq!(
            seen,
            [
                "frame 0 at 0",
                "skip 1: not a JPEG or PNG image",
                "skip 2: 4×4, not the sequence's 8×6 (the first image's size)",
                "frame 3 at 0.12"
            ]
        );
    }

    #[test]
    fn an_unreadable_first_image_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("0.jpg");
        std::fs::write(&bad, b"\xFF\xD8\xFFcut").unwrap();
        let err = ImageSequence::open("frames", vec![bad], 30.0)
            .err()
            .unwrap();
        assert!(err.to_string().contains("first image"), "{err}");
    }
}
