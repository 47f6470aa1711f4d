//! `--report FILE.jsonl`: one line appended per input, done, skipped or failed, with its
//! timings, so a cluster job leaves a record of what it did and why.
//!
//! Lines are appended, never rewritten: an existing report grows across runs and
//! resubmissions, and `posekit status --report` reads the last word on each input. Each
//! line goes out in one `write` on a file opened for appending, which local file systems
//! keep whole even when several shards append to one file; on network file systems give
//! each shard its own file (`report-$SLURM_ARRAY_TASK_ID.jsonl`). An existing file that
//! is not a posekit report is refused, not appended to.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::files::{resolve_for_writing, FileError};

/// One input's line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportLine {
    /// Always `"input"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// posekit's version.
    pub posekit: String,
    /// When the input finished (UTC, RFC 3339).
    pub time: String,
    pub input: PathBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<PathBuf>,
    /// `done`, `skipped`, `failed` or `interrupted`.
    pub status: String,
    /// Why it was skipped or redone, or the error that failed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `I/N` when the run took one shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames: Option<u64>,
    /// Wall seconds spent on this input.
    pub elapsed_s: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fps: Option<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{path} exists and is not a posekit report; refusing to append to it.\nFix: choose another --report path")]
    Foreign { path: PathBuf },
    #[error("cannot append to the report {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub struct Report {
    path: PathBuf,
    file: File,
}

impl Report {
    /// Opens `path` for appending; creates it if missing.
    pub fn open(path: &Path) -> Result<Report, ReportError> {
        let target = resolve_for_writing(path)?;
        if target.exists && !is_report(&target.real) {
            return Err(ReportError::Foreign { path: path.into() });
        }
        let io = |source| ReportError::Io {
            path: path.into(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&target.real)
            .map_err(io)?;
        Ok(Report {
            path: path.into(),
            file,
        })
    }

    pub fn append(&mut self, line: &ReportLine) -> Result<(), ReportError> {
        let mut text = serde_json::to_string(line).expect("a report line serialises");
        text.push('\n');
        self.file
            .write_all(text.as_bytes())
            .map_err(|source| ReportError::Io {
                path: self.path.clone(),
                source,
            })
    }
}

/// Empty, or its first line is a report line.
fn is_report(path: &Path) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    let mut first = String::new();
    if BufReader::new(file).read_line(&mut first).is_err() {
        return false;
    }
    first.trim().is_empty()
        || serde_json::from_str::<ReportLine>(&first).is_ok_and(|l| l.kind == "input")
}

/// Every line of the reports, in order; lines that do not parse are skipped (a shard
/// killed mid-write can leave half a line).
pub fn read(paths: &[PathBuf]) -> std::io::Result<Vec<ReportLine>> {
    let mut lines = Vec::new();
    for path in paths {
        let file = File::open(path)?;
        for line in BufReader::new(file).lines() {
            if let Ok(parsed) = serde_json::from_str::<ReportLine>(&line?) {
                lines.push(parsed);
            }
        }
    }
    Ok(lines)
}

/// This machine's name, for the report.
pub fn host_name() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: gethostname writes at most `len` bytes into the buffer.
    let ok = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) } == 0;
    let end = buffer.iter().position(|b| *b == 0).unwrap_or(buffer.len());
    if ok {
        String::from_utf8_lossy(&buffer[..end]).into_owned()
    } else {
        "unknown".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(status: &str) -> ReportLine {
        ReportLine {
            kind: "input".into(),
            posekit: "0".into(),
            time: "2026-12-02T00:00:00Z".into(),
            input: "a.mp4".into(),
            output: Some("a.poses.jsonl".into()),
            status: status.into(),
            reason: None,
            shard: Some("0/2".into()),
            host: host_name(),
            frames: Some(3),
            elapsed_s: 0.5,
            fps: Some(6.0),
        }
    }

    #[test]
    fn appends_across_opens_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.jsonl");
        Report::open(&path)
            .unwrap()
            .append(&line("failed"))
            .unwrap();
        Report::open(&path).unwrap().append(&line("done")).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"type\":\"inp")
            .unwrap();
        let read = read(&[path]).unwrap();
        assert_eq!(read, [line("failed"), line("done")]);
    }

    #[test]
    fn a_file_of_the_users_is_not_appended_to() {
        let dir = tempfile::tempdir().unwrap();
        let notes = dir.path().join("notes.jsonl");
        std::fs::write(&notes, "my own notes\n").unwrap();
        assert!(matches!(
            Report::open(&notes),
            Err(ReportError::Foreign { .. })
        ));
        assert_eq!(std::fs::read_to_string(&notes).unwrap(), "my own notes\n");
        let folder = dir.path().join("folder");
        std::fs::create_dir(&folder).unwrap();
        assert!(matches!(Report::open(&folder), Err(ReportError::File(_))));
    }
}
