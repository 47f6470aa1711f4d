//! `posekit export`: posekit's JSON Lines results in the formats other tools read.
//!
//! [`result`] reads a result once; each format is a pure writer over it ([`csv`],
//! [`openpose`], [`trc`], [`amass`]) that returns what to write, and this module puts it
//! on disk through [`crate::files::export`]. Every field is documented in
//! `docs/formats.md`.

pub mod amass;
pub mod bvh;
pub mod csv;
pub mod landmarks;
pub mod openpose;
pub mod result;
pub mod smpl_model;
pub mod trc;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::files::export::{write_new_file, ExportFileError, FolderWriter};
use result::ResultFile;

/// The formats `posekit export --to` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Openpose,
    Trc,
    Amass,
    Bvh,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Openpose => "openpose",
            Format::Trc => "trc",
            Format::Amass => "amass",
            Format::Bvh => "bvh",
        }
    }

    /// Where the export goes when no path is given, beside the result: `clip.csv`,
    /// `clip_json/` (the folder name Pose2Sim uses), `clip_trc/`, `clip_amass/`.
    pub fn default_dest(self, result: &Path) -> PathBuf {
        let stem = stem_of(result);
        let name = match self {
            Format::Csv => format!("{stem}.csv"),
            Format::Openpose => format!("{stem}_json"),
            Format::Trc => format!("{stem}_trc"),
            Format::Amass => format!("{stem}_amass"),
            Format::Bvh => format!("{stem}_bvh"),
        };
        result.with_file_name(name)
    }
}

/// The video's stem from a result's name: `clip.poses.jsonl` and
/// `clip.poses.partial.jsonl` are both `clip`.
pub fn stem_of(result: &Path) -> String {
    let name = result
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut stem = name.as_str();
    for suffix in [".jsonl", ".partial", ".poses"] {
        stem = stem.strip_suffix(suffix).unwrap_or(stem);
    }
    match stem.is_empty() {
        true => "result".to_string(),
        false => stem.to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    File(#[from] ExportFileError),
    #[error("{0} has no SMPL parameters: the amass export needs a result from `posekit process --hmr2`.\nFix: run `posekit process VIDEO --hmr2` and export that result")]
    NoSmpl(PathBuf),
    #[error("{what} has no tracks (no person has a track_id), so there is nothing to write one file per track for.\nFix: export a video's result that found people, or use --to csv / openpose")]
    NoTracks { what: PathBuf },
    #[error("--to bvh needs --smpl-model FILE.npz: the rest skeleton comes from your SMPL model (posekit ships none).\nFix: make the .npz with scripts/smpl_pkl_to_npz.py from the official SMPL .pkl and pass --smpl-model")]
    NoModel,
    #[error("the SMPL model has {0} joints; the bvh export needs SMPL's 24 (HMR2's pose has 24 rotations)")]
    Joints(usize),
    #[error(transparent)]
    Model(#[from] smpl_model::ModelError),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What one export wrote.
#[derive(Debug, Serialize)]
pub struct Written {
    pub format: Format,
    pub path: PathBuf,
    pub files: usize,
    pub bytes: u64,
}

/// Writes `result` (read from `source`) as `format` at `dest`; `bvh` reads its skeleton
/// from `smpl_model`.
pub fn write(
    result: &ResultFile,
    source: &Path,
    format: Format,
    dest: &Path,
    overwrite: bool,
    smpl_model: Option<&Path>,
) -> Result<Written, ExportError> {
    let stem = stem_of(source);
    let written = |files, bytes| Written {
        format,
        path: dest.to_path_buf(),
        files,
        bytes,
    };
    if format == Format::Csv {
        let text = csv::render(result);
        write_new_file(dest, text.as_bytes(), overwrite)?;
        return Ok(written(1, text.len() as u64));
    }
    let ids = result.track_ids();
    if format != Format::Openpose && ids.is_empty() {
        return Err(ExportError::NoTracks {
            what: source.to_path_buf(),
        });
    }
    let model = match format {
        Format::Bvh => Some(smpl_model::SmplModel::read(
            smpl_model.ok_or(ExportError::NoModel)?,
        )?),
        _ => None,
    };
    if let Some(joints) = model.as_ref().map(|m| m.parents.len()).filter(|&j| j != 24) {
        return Err(ExportError::Joints(joints));
    }
    if matches!(format, Format::Amass | Format::Bvh)
        && !result
            .frames
            .iter()
            .any(|f| f.persons.iter().any(|p| p.smpl.is_some()))
    {
        return Err(ExportError::NoSmpl(source.to_path_buf()));
    }
    let folder = FolderWriter::open(dest, overwrite)?;
    let (files, bytes) = match format {
        Format::Openpose => write_pages(&folder, result, &stem)?,
        Format::Trc => write_tracks(&folder, result, &stem, &ids)?,
        Format::Amass => amass::write_tracks(&folder, result, &stem, &ids)?,
        _ => match &model {
            Some(model) => write_bvh(&folder, result, &stem, &ids, model)?,
            None => return Err(ExportError::NoModel),
        },
    };
    folder.finish()?;
    Ok(written(files, bytes))
}

fn write_pages(
    folder: &FolderWriter,
    result: &ResultFile,
    stem: &str,
) -> Result<(usize, u64), ExportError> {
    let mut bytes = 0;
    for frame in &result.frames {
        let page = openpose::render(frame);
        folder.write(&openpose::file_name(stem, frame.frame), page.as_bytes())?;
        bytes += page.len() as u64;
    }
    Ok((result.frames.len(), bytes))
}

fn write_tracks(
    folder: &FolderWriter,
    result: &ResultFile,
    stem: &str,
    ids: &[u32],
) -> Result<(usize, u64), ExportError> {
    let mut bytes = 0;
    for &id in ids {
        let name = format!("{stem}_track{id}.trc");
        let text = trc::render(&name, result.rate(), &result.track(id));
        folder.write(&name, text.as_bytes())?;
        bytes += text.len() as u64;
    }
    Ok((ids.len(), bytes))
}

fn write_bvh(
    folder: &FolderWriter,
    result: &ResultFile,
    stem: &str,
    ids: &[u32],
    model: &smpl_model::SmplModel,
) -> Result<(usize, u64), ExportError> {
    let (mut files, mut bytes) = (0, 0);
    for &id in ids {
        let smpl: Vec<&result::Smpl> = result
            .track(id)
            .into_iter()
            .filter_map(|(_, p)| p.smpl.as_ref())
            .collect();
        if smpl.is_empty() {
            continue;
        }
        let betas: Vec<[f32; 10]> = smpl.iter().map(|s| s.betas).collect();
        let rest = model.rest_joints(&amass::median_betas(&betas));
        let frames: Vec<bvh::Pose> = smpl
            .iter()
            .map(|s| bvh::Pose {
                poses: amass::pose_row(s),
                trans: s.cam_t,
            })
            .collect();
        let text = bvh::render(&rest, &model.parents, &frames, result.rate());
        folder.write(&format!("{stem}_track{id}.bvh"), text.as_bytes())?;
        files += 1;
        bytes += text.len() as u64;
    }
    Ok((files, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_drop_posekit_suffixes() {
        assert_eq!(stem_of(Path::new("a/clip.poses.jsonl")), "clip");
        assert_eq!(stem_of(Path::new("clip.poses.partial.jsonl")), "clip");
        assert_eq!(stem_of(Path::new("run.jsonl")), "run");
        assert_eq!(
            Format::Openpose.default_dest(Path::new("d/clip.poses.jsonl")),
            Path::new("d/clip_json")
        );
    }
}
