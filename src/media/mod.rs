//! Where frames come from and go to. FFmpeg, and only here: decoding videos into frames
//! ([`decode`]), encoding the overlay video ([`encode`]), and reading the libraries'
//! versions ([`versions`]) for `doctor`; nothing outside this folder uses `ffmpeg_next`.
//! Stills ([`still`]) and folders of them played as a video ([`images`]) use the `image`
//! crate's JPEG and PNG decoders.

pub mod decode;
pub mod encode;
pub mod images;
pub mod still;
pub mod versions;

/// How many threads FFmpeg's decoder or encoder may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodecThreads {
    /// One thread: the least CPU per frame, for when the pose workers take every core.
    One,
    /// The codec's own choice (frame threads, about one per core): the fastest, at some
    /// CPU cost per frame, for when there are cores to spare.
    Auto,
}

impl CodecThreads {
    /// FFmpeg's threading setting for a codec context (a count of 0 is the codec's choice).
    fn threading(self) -> ffmpeg_next::threading::Config {
        ffmpeg_next::threading::Config {
            kind: ffmpeg_next::threading::Type::Frame,
            count: match self {
                CodecThreads::One => 1,
                CodecThreads::Auto => 0,
            },
            ..Default::default()
        }
    }
}
