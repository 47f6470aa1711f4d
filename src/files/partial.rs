//! The names results go under: the default result beside a video, and the `.partial`
//! names an interrupted run keeps its work under.
//!
//! A partial file is a user's file like any other: one posekit wrote itself may be
//! replaced by the next interrupted run, but anything else at that name (the user's own
//! `clip.poses.partial.jsonl`, a link, a FIFO) is kept, and the partial result takes the
//! first free numbered name instead, which the run says.

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
    numbered_partial(target, 1)
}

/// The `n`th partial name: `x.partial.ext`, then `x.partial-2.ext`, `x.partial-3.ext`, …
fn numbered_partial(target: &Path, n: usize) -> PathBuf {
    let stem = target
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tag = match n {
        1 => "partial".to_string(),
        n => format!("partial-{n}"),
    };
    match target.extension() {
        Some(ext) => target.with_file_name(format!("{stem}.{tag}.{}", ext.to_string_lossy())),
        None => target.with_file_name(format!("{stem}.{tag}")),
    }
}

/// Where an interrupted run's result for `target` goes: the partial name if it is free
/// or holds a regular file `is_ours` recognises as posekit's, else the first free
/// numbered name. Says so on stderr when the usual name was taken.
pub fn partial_destination(target: &Path, is_ours: impl Fn(&Path) -> bool) -> PathBuf {
    let usual = partial_path(target);
    // A folder holds finitely many names, so a free one is always found.
    for n in 1.. {
        let candidate = numbered_partial(target, n);
        let free = match std::fs::symlink_metadata(&candidate) {
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
            Ok(meta) => meta.file_type().is_file() && is_ours(&candidate),
        };
        if free {
            if n > 1 {
                eprintln!(
                    "posekit: {} is not a partial result posekit wrote, so it is kept; this run's partial result goes to {}",
                    usual.display(),
                    candidate.display()
                );
            }
            return candidate;
        }
    }
    unreachable!("the numbered names run out only past usize::MAX files")
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
    fn a_users_partial_file_is_kept_and_a_free_name_taken() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("v.poses.jsonl");
        assert_eq!(
            partial_destination(&target, |_| false),
            dir.path().join("v.poses.partial.jsonl")
        );
        std::fs::write(dir.path().join("v.poses.partial.jsonl"), "mine").unwrap();
        assert_eq!(
            partial_destination(&target, |_| false),
            dir.path().join("v.poses.partial-2.jsonl")
        );
        assert_eq!(
            partial_destination(&target, |_| true),
            dir.path().join("v.poses.partial.jsonl"),
            "posekit's own partial file may be replaced"
        );
    }

    #[test]
    fn a_link_at_the_partial_name_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("ov.mp4");
        std::os::unix::fs::symlink("elsewhere.mp4", dir.path().join("ov.partial.mp4")).unwrap();
        assert_eq!(
            partial_destination(&target, |_| true),
            dir.path().join("ov.partial-2.mp4")
        );
    }
}
