//! FFmpeg's version numbers: the headers posekit was built against and the libraries it
//! runs with, read into the plain facts of [`crate::system::ffmpeg`].

use std::ffi::CStr;

use ffmpeg_next::ffi;

use crate::system::ffmpeg::{FfmpegVersions, LibraryVersion};

/// Reads the version of each library posekit links.
pub fn ffmpeg_versions() -> FfmpegVersions {
    let built = |major: i32, minor: i32, micro: i32| [major as u32, minor as u32, micro as u32];
    // SAFETY: these functions take no arguments, touch no state and return integers.
    let (codec, format, util, scale) = unsafe {
        (
            ffi::avcodec_version(),
            ffi::avformat_version(),
            ffi::avutil_version(),
            ffi::swscale_version(),
        )
    };
    let libraries = vec![
        LibraryVersion {
            name: "avcodec",
            built: built(
                ffi::LIBAVCODEC_VERSION_MAJOR,
                ffi::LIBAVCODEC_VERSION_MINOR,
                ffi::LIBAVCODEC_VERSION_MICRO,
            ),
            running: split_version(codec),
        },
        LibraryVersion {
            name: "avformat",
            built: built(
                ffi::LIBAVFORMAT_VERSION_MAJOR,
                ffi::LIBAVFORMAT_VERSION_MINOR,
                ffi::LIBAVFORMAT_VERSION_MICRO,
            ),
            running: split_version(format),
        },
        LibraryVersion {
            name: "avutil",
            built: built(
                ffi::LIBAVUTIL_VERSION_MAJOR,
                ffi::LIBAVUTIL_VERSION_MINOR,
                ffi::LIBAVUTIL_VERSION_MICRO,
            ),
            running: split_version(util),
        },
        LibraryVersion {
            name: "swscale",
            built: built(
                ffi::LIBSWSCALE_VERSION_MAJOR,
                ffi::LIBSWSCALE_VERSION_MINOR,
                ffi::LIBSWSCALE_VERSION_MICRO,
            ),
            running: split_version(scale),
        },
    ];
    // SAFETY: av_version_info returns a static NUL-terminated string.
    let release = unsafe { CStr::from_ptr(ffi::av_version_info()) }
        .to_string_lossy()
        .into_owned();
    FfmpegVersions { release, libraries }
}

/// FFmpeg packs versions as `major << 16 | minor << 8 | micro`.
fn split_version(packed: u32) -> [u32; 3] {
    [packed >> 16, (packed >> 8) & 0xff, packed & 0xff]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_versions_split() {
        assert_eq!(split_version((59 << 16) | (37 << 8) | 100), [59, 37, 100]);
    }

    #[test]
    fn running_libraries_match_the_headers_here() {
        let versions = ffmpeg_versions();
        assert_eq!(versions.libraries.len(), 4);
        for lib in &versions.libraries {
            assert_eq!(lib.built[0], lib.running[0], "{}", lib.name);
        }
        assert!(!versions.release.is_empty());
    }
}
