//! The AMASS-style export of HMR2 results: one `.npz` per track, with the keys AMASS
//! loaders and `smpl2bvh`-style tools read.
//!
//! - `poses` [T, 72] f32: global orientation then the 23 body joints, axis-angle (radians);
//! - `trans` [T, 3] f32: HMR2's `cam_t`, the body's translation in the camera frame
//!   (x right, y down, z forward, metres), not a world trajectory;
//! - `betas` [10] f32: the track's shape, the median of its frames' betas;
//! - `mocap_framerate` f32 scalar: the video's frame rate;
//! - `gender` str: `"neutral"` (HMR2 fits the neutral SMPL model);
//! - `frame` [T] i64: the video frame of each row.
//!
//! Frames without SMPL parameters (persons filled into gaps) are left out.

use super::result::{Frame, Person, ResultFile, Smpl};
use super::ExportError;
use crate::files::export::FolderWriter;
use crate::output::npz::NpzWriter;

/// Writes one archive per track into `folder`; returns (files, bytes).
pub fn write_tracks(
    folder: &FolderWriter,
    result: &ResultFile,
    stem: &str,
    ids: &[u32],
) -> Result<(usize, u64), ExportError> {
    let mut files = 0;
    let mut bytes = 0;
    for &id in ids {
        let rows: Vec<(&Frame, &Smpl)> = result
            .track(id)
            .into_iter()
            .filter_map(|(f, p): (&Frame, &Person)| p.smpl.as_ref().map(|s| (f, s)))
            .collect();
        if rows.is_empty() {
            continue;
        }
        let path = folder.path_of(&format!("{stem}_track{id}.npz"));
        let io = |source| ExportError::Io {
            path: path.clone(),
            source,
        };
        let written = write_track(&path, &rows, result.rate() as f32).map_err(io)?;
        bytes += std::fs::metadata(&written).map_err(io)?.len();
        files += 1;
    }
    Ok((files, bytes))
}

fn write_track(
    path: &std::path::Path,
    rows: &[(&Frame, &Smpl)],
    rate: f32,
) -> std::io::Result<std::path::PathBuf> {
    let mut npz = NpzWriter::create(path)?;
    for (frame, smpl) in rows {
        npz.push_f32("poses", &[72], &pose_row(smpl))?;
        npz.push_f32("trans", &[3], &smpl.cam_t)?;
        npz.push_i64("frame", frame.frame as i64)?;
    }
    let betas: Vec<[f32; 10]> = rows.iter().map(|(_, s)| s.betas).collect();
    npz.set_f32("betas", &[10], &median_betas(&betas))?;
    npz.set_f32("mocap_framerate", &[], &[rate])?;
    npz.set_str("gender", "neutral")?;
    npz.finish(false)
}

/// Global orientation then the 23 body joints (missing joints stay zero).
pub fn pose_row(smpl: &Smpl) -> [f32; 72] {
    let mut row = [0.0; 72];
    row[..3].copy_from_slice(&smpl.global_orient);
    for (j, axis_angle) in smpl.body_pose.iter().take(23).enumerate() {
        row[3 + 3 * j..6 + 3 * j].copy_from_slice(axis_angle);
    }
    row
}

/// The per-component median (the mean of the middle two for an even count).
pub fn median_betas(all: &[[f32; 10]]) -> [f32; 10] {
    let mut out = [0.0; 10];
    for (k, slot) in out.iter_mut().enumerate() {
        let mut values: Vec<f32> = all.iter().map(|b| b[k]).collect();
        values.sort_by(f32::total_cmp);
        let n = values.len();
        *slot = match n {
            0 => 0.0,
            _ if n % 2 == 1 => values[n / 2],
            _ => 0.5 * (values[n / 2 - 1] + values[n / 2]),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_betas_per_component() {
        let mut a = [0.0; 10];
        let mut b = [0.0; 10];
        let mut c = [0.0; 10];
        a[0] = 3.0;
        b[0] = 1.0;
        c[0] = 2.0;
        assert_eq!(median_betas(&[a, b, c])[0], 2.0);
        assert_eq!(median_betas(&[a, b])[0], 2.0);
    }
}
