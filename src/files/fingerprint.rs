//! A fast identity of an input: enough to tell that a result was made from this very
//! file, without reading a whole video. `resume` compares it with a result's header.
//!
//! A video: its size, its modification time and a sha256 of its first and last MiB (the
//! container's header and index live there, and a re-encode or a truncated copy changes
//! them). An image folder: the number of images, their total size, the newest
//! modification time, and a sha256 of the listing (names, sizes, times).

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Bytes hashed at each end of a file.
const SAMPLE: u64 = 1 << 20;

/// Written in the result's header as `"input"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Bytes (an image folder: all its images together).
    pub size: u64,
    /// Modification time, nanoseconds since 1970 (an image folder: its newest image).
    pub mtime_ns: i64,
    /// sha256, hex: of the first and last MiB of a file, or of an image folder's listing.
    pub sample_sha256: String,
    /// Images in an image folder; absent for a video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<usize>,
}

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(meta.mtime_nsec())
}

/// The fingerprint of one file.
pub fn of_file(path: &Path) -> std::io::Result<Fingerprint> {
    let mut file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    let size = meta.len();
    let mut hasher = Sha256::new();
    let mut buffer = Vec::with_capacity(SAMPLE as usize);
    (&mut file).take(SAMPLE).read_to_end(&mut buffer)?;
    hasher.update(&buffer);
    if size > SAMPLE {
        buffer.clear();
        file.seek(SeekFrom::Start(size.saturating_sub(SAMPLE).max(SAMPLE)))?;
        file.take(SAMPLE).read_to_end(&mut buffer)?;
        hasher.update(&buffer);
    }
    Ok(Fingerprint {
        size,
        mtime_ns: mtime_ns(&meta),
        sample_sha256: hex(&hasher.finalize()),
        images: None,
    })
}

/// The fingerprint of an image folder's frames, in play order.
pub fn of_images(frames: &[PathBuf]) -> std::io::Result<Fingerprint> {
    let mut hasher = Sha256::new();
    let (mut size, mut newest) = (0u64, i64::MIN);
    for frame in frames {
        let meta = std::fs::metadata(frame)?;
        let name = frame.file_name().unwrap_or_default().to_string_lossy();
        hasher.update(format!("{name}\0{}\0{}\n", meta.len(), mtime_ns(&meta)));
        size += meta.len();
        newest = newest.max(mtime_ns(&meta));
    }
    Ok(Fingerprint {
        size,
        mtime_ns: newest.max(0),
        sample_sha256: hex(&hasher.finalize()),
        images: Some(frames.len()),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_at_either_end_changes_the_sample_and_the_middle_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.mp4");
        let mut bytes = vec![7u8; 3 * SAMPLE as usize];
        std::fs::write(&path, &bytes).unwrap();
        let first = of_file(&path).unwrap();
        assert_eq!(first.size, 3 * SAMPLE);
        // The middle MiB is not sampled: only size and time would notice.
        bytes[SAMPLE as usize + 5] = 0;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(of_file(&path).unwrap().sample_sha256, first.sample_sha256);
        let last = bytes.len() - 1;
        bytes[last] = 0;
        std::fs::write(&path, &bytes).unwrap();
        assert_ne!(of_file(&path).unwrap().sample_sha256, first.sample_sha256);
    }

    #[test]
    fn small_files_and_image_listings() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.png");
        std::fs::write(&a, b"tiny").unwrap();
        let small = of_file(&a).unwrap();
        assert_eq!(small.size, 4);
        assert_eq!(small.images, None);
        let b = dir.path().join("b.png");
        std::fs::write(&b, b"other").unwrap();
        let two = of_images(&[a.clone(), b.clone()]).unwrap();
        assert_eq!((two.size, two.images), (9, Some(2)));
        assert_ne!(of_images(&[a]).unwrap().sample_sha256, two.sample_sha256);
    }
}
