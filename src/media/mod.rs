//! FFmpeg, and only here: decoding videos into frames ([`decode`]), encoding the overlay
//! video ([`encode`]), and reading the libraries' versions ([`versions`]) for `doctor`.
//! Nothing outside this folder uses `ffmpeg_next`.

pub mod decode;
pub mod encode;
pub mod versions;
