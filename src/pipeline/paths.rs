//! Names of the files `process` writes: defaults, temporaries and partial results.
//!
//! Every output is written to a hidden temporary beside its target and renamed when
//! complete; an interrupted run renames to a `.partial` name instead, so a partial result
//! can never be mistaken for a complete one nor replace an earlier complete one.

use std::path::{Path, PathBuf};

/// `dir/clip.mp4` → `dir/clip.poses.jsonl`.
pub fn default_output(video: &Path) -> PathBuf {
    let stem = video
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "video".into());
    video.with_file_name(format!("{stem}.poses.jsonl"))
}

/// `x.poses.jsonl` → `x.poses.partial.jsonl`; `overlay.mp4` → `overlay.partial.mp4`.
pub fn partial_path(target: &Path) -> PathBuf {
    let stem = target
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match target.extension() {
        Some(ext) => target.with_file_name(format!("{stem}.partial.{}", ext.to_string_lossy())),
        None => target.with_file_name(format!("{stem}.partial")),
    }
}

/// `dir/.name.tmp-PID.ext`: hidden, in the same folder so the final rename is atomic,
/// and ending in the target's extension so FFmpeg picks the same container.
pub fn temp_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map_or("output".into(), |n| n.to_string_lossy());
    let ext = target
        .extension()
        .map_or(String::new(), |e| format!(".{}", e.to_string_lossy()));
    target.with_file_name(format!(".{name}.tmp-{}{ext}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_and_partial_names() {
        let out = default_output(Path::new("/v/clip.mp4"));
        assert_eq!(out, Path::new("/v/clip.poses.jsonl"));
        assert_eq!(partial_path(&out), Path::new("/v/clip.poses.partial.jsonl"));
        assert_eq!(
            partial_path(Path::new("o/overlay.mp4")),
            Path::new("o/overlay.partial.mp4")
        );
        assert_eq!(partial_path(Path::new("o/raw")), Path::new("o/raw.partial"));
    }

    #[test]
    fn temporary_is_hidden_beside_the_target_with_its_extension() {
        let temp = temp_path(Path::new("/o/overlay.mp4"));
        assert_eq!(temp.parent(), Some(Path::new("/o")));
        let name = temp.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with(".overlay.mp4.tmp-"), "{name}");
        assert!(name.ends_with(".mp4"), "{name}");
    }
}
