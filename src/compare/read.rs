//! Reading a posekit result back: the header, and each frame's persons with what
//! `compare` needs of them. Anything that is not posekit's own JSON Lines is refused.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::metrics::Rotation;
use crate::output::jsonl::is_posekit_result;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a posekit result (its first line is not a posekit header).\nFix: compare two files written by `posekit process`")]
    NotPosekit { path: PathBuf },
    #[error("{path}, line {line}: {reason}")]
    Line {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

/// A result file as `compare` sees it.
#[derive(Debug, Default)]
pub struct ResultFile {
    pub path: String,
    pub header: serde_json::Value,
    /// Persons by frame index.
    pub frames: BTreeMap<u64, Vec<Person>>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Person {
    pub keypoints: Vec<[f32; 5]>,
    #[serde(default)]
    pub smpl: Option<Smpl>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Smpl {
    pub global_orient: [f32; 3],
    pub body_pose: Vec<[f32; 3]>,
    #[serde(default)]
    pub global_orient_rotmat: Option<[[[f32; 3]; 3]; 1]>,
    #[serde(default)]
    pub body_pose_rotmat: Option<Vec<[[f32; 3]; 3]>>,
    pub betas: Vec<f32>,
    pub cam_t: [f32; 3],
    #[serde(default)]
    pub keypoints_3d: Option<Vec<[f32; 3]>>,
}

impl Smpl {
    pub fn has_rotmat(&self) -> bool {
        self.global_orient_rotmat.is_some() && self.body_pose_rotmat.is_some()
    }

    /// The root, then the body joints, from the matrices when asked (and present), else
    /// from axis-angle.
    pub fn rotations(&self, from_rotmat: bool) -> Vec<Rotation> {
        match (
            from_rotmat,
            &self.global_orient_rotmat,
            &self.body_pose_rotmat,
        ) {
            (true, Some([root]), Some(body)) => std::iter::once(root)
                .chain(body)
                .map(Rotation::from_rotmat)
                .collect(),
            _ => std::iter::once(&self.global_orient)
                .chain(&self.body_pose)
                .map(Rotation::from_axis_angle)
                .collect(),
        }
    }
}

#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct FrameLine {
    frame: u64,
    persons: Vec<Person>,
}

/// Reads `path`, refusing anything that does not start with a posekit header.
pub fn read(path: &Path) -> Result<ResultFile, ReadError> {
    if !is_posekit_result(path) {
        if let Err(source) = std::fs::metadata(path) {
            return Err(ReadError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
        return Err(ReadError::NotPosekit {
            path: path.to_path_buf(),
        });
    }
    let file = std::fs::File::open(path).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(std::io::BufReader::new(file), path)
}

/// The lines of a result; `path` names it in errors.
pub fn parse(reader: impl BufRead, path: &Path) -> Result<ResultFile, ReadError> {
    let mut result = ResultFile {
        path: path.display().to_string(),
        ..ResultFile::default()
    };
    for (n, line) in reader.lines().enumerate() {
        let bad = |reason: String| ReadError::Line {
            path: path.to_path_buf(),
            line: n + 1,
            reason,
        };
        let line = line.map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let kind: Line = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        match kind.kind.as_str() {
            "header" => {
                result.header = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?
            }
            "frame" => {
                let frame: FrameLine =
                    serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
                result.frames.insert(frame.frame, frame.persons);
            }
            _ => {}
        }
    }
    Ok(result)
}
