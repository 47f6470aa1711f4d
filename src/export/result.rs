//! Reading a posekit result back: the one reader of whole JSON Lines results.
//!
//! Only posekit's own results are read (their first line is a posekit header, as
//! [`crate::output::jsonl::is_posekit_result`] decides). A result whose last line is not a
//! summary, or whose summary says the run was interrupted, is partial: it is refused unless
//! the caller accepts partial results.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::output::jsonl::is_posekit_result;

/// A whole result, as the exporters need it.
#[derive(Debug)]
pub struct ResultFile {
    /// The video's frame rate from the header's `source.fps` (0 when unknown, e.g. images).
    pub fps: f64,
    pub frames: Vec<Frame>,
    /// False when the run did not finish (see the module docs).
    pub complete: bool,
}

#[derive(Debug, Deserialize)]
pub struct Frame {
    pub frame: u64,
    pub t: f64,
    pub persons: Vec<Person>,
}

#[derive(Debug, Deserialize)]
pub struct Person {
    pub track_id: Option<u32>,
    #[serde(default)]
    pub filled: bool,
    /// 33 × [x px, y px, z, visibility, presence].
    pub keypoints: Vec<[f32; 5]>,
    /// 33 × [x, y, z] metres, hip-centred.
    pub world: Vec<[f32; 3]>,
    pub smpl: Option<Smpl>,
}

/// The fields of a person's `smpl` the exports use (`docs/hmr2-onnx.md`).
#[derive(Debug, Deserialize)]
pub struct Smpl {
    pub global_orient: [f32; 3],
    pub body_pose: Vec<[f32; 3]>,
    pub betas: [f32; 10],
    pub cam_t: [f32; 3],
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} is not a posekit result (its first line is not a posekit header); posekit exports only the JSON Lines that `posekit process` writes.\nFix: give the .poses.jsonl file that `posekit process` wrote")]
    Foreign(PathBuf),
    #[error("{path}, line {line}: {message}")]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{0} is a partial result: the run that wrote it did not finish (its last line is not a summary, or the summary says interrupted).\nFix: finish the run (`posekit process` resumes it), or add --partial to export the frames it has")]
    Partial(PathBuf),
}

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    source: Source,
}

#[derive(Default, Deserialize)]
struct Source {
    #[serde(default)]
    fps: f64,
}

#[derive(Deserialize)]
struct Summary {
    #[serde(default)]
    interrupted: bool,
}

/// Reads `path`; refuses a partial result unless `accept_partial`.
pub fn read(path: &Path, accept_partial: bool) -> Result<ResultFile, ReadError> {
    if !is_posekit_result(path) {
        return match std::fs::metadata(path) {
            Err(source) => Err(ReadError::Io {
                path: path.to_path_buf(),
                source,
            }),
            Ok(_) => Err(ReadError::Foreign(path.to_path_buf())),
        };
    }
    let result = read_lines(path)?;
    if !result.complete && !accept_partial {
        return Err(ReadError::Partial(path.to_path_buf()));
    }
    Ok(result)
}

fn read_lines(path: &Path) -> Result<ResultFile, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut result = ResultFile {
        fps: 0.0,
        frames: Vec::new(),
        complete: false,
    };
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| ReadError::Line {
            path: path.to_path_buf(),
            line: i + 1,
            message,
        };
        let kind: Kind = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        // A line after the summary would mean a damaged file; count it as not complete.
        result.complete = false;
        match kind.kind.as_str() {
            "header" => {
                let header: Header = parse(&line).map_err(bad)?;
                result.fps = header.source.fps;
            }
            "frame" => result.frames.push(parse(&line).map_err(bad)?),
            "summary" => {
                let summary: Summary = parse(&line).map_err(bad)?;
                result.complete = !summary.interrupted;
            }
            _ => {}
        }
    }
    Ok(result)
}

#[derive(Deserialize)]
struct Kind {
    #[serde(rename = "type")]
    kind: String,
}

fn parse<T: serde::de::DeserializeOwned>(line: &str) -> Result<T, String> {
    serde_json::from_str(line).map_err(|e| e.to_string())
}

impl ResultFile {
    /// The track IDs present, in increasing order (persons without one are left out).
    pub fn track_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self
            .frames
            .iter()
            .flat_map(|f| f.persons.iter().filter_map(|p| p.track_id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// One track's frames, in order: (frame, person).
    pub fn track(&self, id: u32) -> Vec<(&Frame, &Person)> {
        self.frames
            .iter()
            .filter_map(|f| {
                f.persons
                    .iter()
                    .find(|p| p.track_id == Some(id))
                    .map(|p| (f, p))
            })
            .collect()
    }

    /// The frame rate to write: the video's, else one from the frame times, else 30.
    pub fn rate(&self) -> f64 {
        if self.fps > 0.0 {
            return self.fps;
        }
        match (self.frames.first(), self.frames.last()) {
            (Some(a), Some(b)) if b.t > a.t => (b.frame - a.frame) as f64 / (b.t - a.t),
            _ => 30.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = r#"{"type":"header","posekit":"0.1.0","source":{"fps":25.0}}"#;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("r.jsonl");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn partial_and_foreign_results_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let frame = r#"{"type":"frame","frame":0,"t":0.0,"persons":[]}"#;
        let path = write(dir.path(), &format!("{HEADER}\n{frame}\n"));
        assert!(matches!(read(&path, false), Err(ReadError::Partial(_))));
        assert_eq!(read(&path, true).unwrap().frames.len(), 1);
        let stopped = r#"{"type":"summary","interrupted":true}"#;
        let path = write(dir.path(), &format!("{HEADER}\n{frame}\n{stopped}\n"));
        assert!(matches!(read(&path, false), Err(ReadError::Partial(_))));
        let done = r#"{"type":"summary","interrupted":false}"#;
        let path = write(dir.path(), &format!("{HEADER}\n{frame}\n{done}\n"));
        let result = read(&path, false).unwrap();
        assert!(result.complete);
        assert_eq!(result.rate(), 25.0);
        let path = write(dir.path(), "{\"type\":\"header\"}\n");
        assert!(matches!(read(&path, false), Err(ReadError::Foreign(_))));
    }
}
