//! The writer of JSON Lines results (the lines themselves are [`super::wire`]'s), and
//! how posekit recognises a result it wrote.
//!
//! The writer flushes after every frame so that a crash keeps finished work, and follows
//! the rules of [`crate::files`]: a temporary beside the real target, renamed when
//! complete; a `.partial` name (never a user's file) when interrupted.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::files::{keep, resolve_for_writing, FileError, Resolved, TempFile};

/// Writes a result file safely; see the module docs.
pub struct JsonlWriter {
    target: Resolved,
    out: BufWriter<File>,
    /// Declared after `out`, so the file is closed before the temporary is removed.
    temp: TempFile,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write results to {path}: {source}\nFix: choose a writable place with -o PATH")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    File(#[from] FileError),
    #[error("could not encode a result line: {0}")]
    Encode(#[from] serde_json::Error),
}

impl JsonlWriter {
    /// Opens a temporary file beside `target`; fails early when the folder is unwritable.
    pub fn create(target: &Path) -> Result<Self, WriteError> {
        let target = resolve_for_writing(target)?;
        let temp = TempFile::beside(&target.real);
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(temp.path())
            .map_err(|source| WriteError::Io {
                path: target.given.clone(),
                source,
            })?;
        Ok(JsonlWriter {
            target,
            out: BufWriter::new(file),
            temp,
        })
    }

    /// Writes one line and flushes it, so finished frames survive a crash.
    pub fn line<T: Serialize>(&mut self, value: &T) -> Result<(), WriteError> {
        serde_json::to_writer(&mut self.out, value)?;
        self.out
            .write_all(b"\n")
            .and_then(|_| self.out.flush())
            .map_err(|source| self.io_error(source))
    }

    /// Moves the finished file into place; returns where it went. An interrupted run goes
    /// to a `.partial.jsonl` name and leaves any complete earlier result untouched. A
    /// writer dropped without `finish` (an error mid-run) leaves no temporary behind.
    pub fn finish(self, interrupted: bool) -> Result<PathBuf, WriteError> {
        let JsonlWriter { target, out, temp } = self;
        let io_error = |path: &Path, source| WriteError::Io {
            path: path.to_path_buf(),
            source,
        };
        out.into_inner()
            .map_err(|e| io_error(&target.given, e.into_error()))?;
        Ok(keep(temp, &target, interrupted, is_posekit_result)?)
    }

    fn io_error(&self, source: std::io::Error) -> WriteError {
        WriteError::Io {
            path: self.target.given.clone(),
            source,
        }
    }
}

/// True when `path` starts with a posekit header, i.e. is a result posekit can
/// regenerate and may replace; any other existing file is the user's and is kept.
pub fn is_posekit_result(path: &Path) -> bool {
    use std::io::BufRead;
    let Ok(file) = File::open(path) else {
        return false;
    };
    let mut first = String::new();
    if std::io::BufReader::new(file.take(64 * 1024))
        .read_line(&mut first)
        .is_err()
    {
        return false;
    }
    serde_json::from_str::<serde_json::Value>(&first)
        .map(|v| v["type"] == "header" && v["posekit"].is_string())
        .unwrap_or(false)
}

/// A result's first and last lines, parsed: its header and (when the run finished) its
/// summary. What resume and `posekit status` read, without the frames in between.
#[derive(Debug)]
pub struct Ends {
    pub header: serde_json::Value,
    pub last: Option<serde_json::Value>,
}

impl Ends {
    /// The last line is the summary of a run that was not interrupted.
    pub fn finished(&self) -> bool {
        self.last
            .as_ref()
            .is_some_and(|last| last["type"] == "summary" && last["interrupted"] == false)
    }
}

/// `None` when `path` is missing or not a posekit result.
pub fn read_ends(path: &Path) -> Option<Ends> {
    use std::io::BufRead;
    if !is_posekit_result(path) {
        return None;
    }
    let file = File::open(path).ok()?;
    let mut first = String::new();
    std::io::BufReader::new(&file).read_line(&mut first).ok()?;
    let header = serde_json::from_str(&first).ok()?;
    let last = last_line(&file).and_then(|line| serde_json::from_str(&line).ok());
    Some(Ends { header, last })
}

/// The last non-empty line, read backwards in growing blocks (a summary with many
/// tracks can be long; a result can be gigabytes).
fn last_line(file: &File) -> Option<String> {
    use std::os::unix::fs::FileExt;
    let size = file.metadata().ok()?.len();
    let mut block = 64 * 1024u64;
    loop {
        let start = size.saturating_sub(block);
        let mut bytes = vec![0; (size - start) as usize];
        file.read_exact_at(&mut bytes, start).ok()?;
        let text = String::from_utf8_lossy(&bytes);
        let trimmed = text.trim_end();
        match trimmed.rfind('\n') {
            Some(at) => return Some(trimmed[at + 1..].to_string()),
            None if start == 0 => return Some(trimmed.to_string()),
            None => block *= 4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_are_the_header_and_the_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let long = "x".repeat(200_000);
        std::fs::write(
            &path,
            format!("{{\"type\":\"header\",\"posekit\":\"1\"}}\n{{\"type\":\"frame\"}}\n{{\"type\":\"summary\",\"pad\":\"{long}\"}}\n"),
        )
        .unwrap();
        let ends = read_ends(&path).unwrap();
        assert_eq!(ends.header["posekit"], "1");
        assert_eq!(ends.last.unwrap()["type"], "summary");
        std::fs::write(&path, "{\"type\":\"header\",\"posekit\":\"1\"}\n").unwrap();
        assert_eq!(read_ends(&path).unwrap().last.unwrap()["type"], "header");
        std::fs::write(&path, "not posekit\n").unwrap();
        assert!(read_ends(&path).is_none());
    }

    #[test]
    fn finished_file_replaces_nothing_until_finish() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("r.jsonl");
        let mut w = JsonlWriter::create(&target).unwrap();
        w.line(&serde_json::json!({"type": "header", "posekit": "x"}))
            .unwrap();
        assert!(!target.exists(), "target must appear only on finish");
        let dest = w.finish(false).unwrap();
        assert_eq!(dest, target);
        assert!(is_posekit_result(&target));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn interrupted_run_goes_to_partial_and_keeps_old_result() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("r.jsonl");
        std::fs::write(&target, "old\n").unwrap();
        let mut w = JsonlWriter::create(&target).unwrap();
        w.line(&serde_json::json!({"a": 1})).unwrap();
        let dest = w.finish(true).unwrap();
        assert_eq!(dest, dir.path().join("r.partial.jsonl"));
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old\n");
    }

    #[test]
    fn dropped_writer_removes_its_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let w = JsonlWriter::create(&dir.path().join("r.jsonl")).unwrap();
        drop(w);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn user_file_is_not_a_posekit_result() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("notes.jsonl");
        std::fs::write(&p, "{\"type\":\"mine\"}\n").unwrap();
        assert!(!is_posekit_result(&p));
        assert!(!is_posekit_result(&dir.path().join("missing")));
    }
}
