//! FFmpeg's versions as plain data, for `doctor`'s checks; `media::versions` reads them.
//!
//! The two can differ when the binary moves to another machine or the system's FFmpeg
//! is upgraded; a different major version breaks the ABI, which `doctor` reports.

/// One FFmpeg library's version, built against and running.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LibraryVersion {
    /// `avcodec`, `avformat`, `avutil` or `swscale`.
    pub name: &'static str,
    /// `[major, minor, micro]` from the headers at build time.
    pub built: [u32; 3],
    /// `[major, minor, micro]` reported by the loaded library.
    pub running: [u32; 3],
}

/// FFmpeg as posekit sees it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FfmpegVersions {
    /// The release the running libraries belong to (`5.1.6-0+deb12u1`).
    pub release: String,
    pub libraries: Vec<LibraryVersion>,
}
