//! The user's SMPL model, in `.npz` form (`scripts/smpl_pkl_to_npz.py` makes it from the
//! official `.pkl`): `v_template` [N,3], `shapedirs` [N,3,K], `J_regressor` [J,N] (dense),
//! `kintree_table` [2,J]. posekit ships no SMPL data; it only reads the user's file.
//!
//! The reader takes archives whose members are stored, not compressed (what `np.savez`
//! writes), little-endian float or integer arrays in C order.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read the SMPL model {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the SMPL model {path}: {message}.\nFix: make it with scripts/smpl_pkl_to_npz.py from the official SMPL .pkl (it writes v_template, shapedirs, J_regressor and kintree_table with np.savez)")]
    Bad { path: PathBuf, message: String },
}

/// One array, its values widened to f64.
#[derive(Debug, Clone)]
pub struct Array {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

/// The parts of SMPL the rest skeleton needs.
#[derive(Debug)]
pub struct SmplModel {
    v_template: Array,
    shapedirs: Array,
    j_regressor: Array,
    /// Each joint's parent; `None` for the root.
    pub parents: Vec<Option<usize>>,
}

impl SmplModel {
    pub fn read(path: &Path) -> Result<Self, ModelError> {
        let bad = |message: String| ModelError::Bad {
            path: path.to_path_buf(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut arrays = read_npz(&bytes).map_err(bad)?;
        let mut take = |name: &str, rank: usize| match arrays.remove(name) {
            Some(a) if a.shape.len() == rank => Ok(a),
            Some(a) => Err(bad(format!(
                "{name} has shape {:?}, not {rank} axes",
                a.shape
            ))),
            None => Err(bad(format!("it has no {name} array"))),
        };
        let v_template = take("v_template", 2)?;
        let shapedirs = take("shapedirs", 3)?;
        let j_regressor = take("J_regressor", 2)?;
        let kintree = take("kintree_table", 2)?;
        let n = v_template.shape[0];
        let joints = j_regressor.shape[0];
        if v_template.shape[1] != 3
            || shapedirs.shape[..2] != [n, 3]
            || j_regressor.shape[1] != n
            || kintree.shape != [2, joints]
        {
            return Err(bad(format!(
                "the shapes do not fit together: v_template {:?}, shapedirs {:?}, J_regressor {:?}, kintree_table {:?}",
                v_template.shape, shapedirs.shape, j_regressor.shape, kintree.shape
            )));
        }
        let parents = (0..joints)
            .map(|j| {
                let p = kintree.data[j];
                (j > 0 && p >= 0.0 && (p as usize) < j).then_some(p as usize)
            })
            .collect::<Vec<_>>();
        if parents.iter().skip(1).any(Option::is_none) {
            return Err(bad(
                "kintree_table: every joint but the first needs an earlier parent".into(),
            ));
        }
        Ok(SmplModel {
            v_template,
            shapedirs,
            j_regressor,
            parents,
        })
    }

    /// The rest joints for `betas`: `J_regressor · (v_template + shapedirs · betas)`.
    pub fn rest_joints(&self, betas: &[f32; 10]) -> Vec<[f64; 3]> {
        let n = self.v_template.shape[0];
        let k = self.shapedirs.shape[2].min(betas.len());
        let width = self.shapedirs.shape[2];
        let vertex = |v: usize, c: usize| {
            let shaped: f64 = (0..k)
                .map(|b| self.shapedirs.data[(v * 3 + c) * width + b] * betas[b] as f64)
                .sum();
            self.v_template.data[v * 3 + c] + shaped
        };
        let vertices: Vec<[f64; 3]> = (0..n)
            .map(|v| [vertex(v, 0), vertex(v, 1), vertex(v, 2)])
            .collect();
        (0..self.j_regressor.shape[0])
            .map(|j| {
                let row = &self.j_regressor.data[j * n..(j + 1) * n];
                let mut joint = [0.0; 3];
                for (w, v) in row.iter().zip(&vertices) {
                    for c in 0..3 {
                        joint[c] += w * v[c];
                    }
                }
                joint
            })
            .collect()
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<usize> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?) as usize)
}

fn u32_at(b: &[u8], at: usize) -> Option<usize> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize)
}

/// The arrays of an `.npz` whose members are stored.
pub fn read_npz(bytes: &[u8]) -> Result<HashMap<String, Array>, String> {
    let truncated = || "not a complete .npz (zip) archive".to_string();
    let end = (0..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| bytes[i..].starts_with(&[0x50, 0x4b, 0x05, 0x06]))
        .ok_or_else(truncated)?;
    let entries = u16_at(bytes, end + 10).ok_or_else(truncated)?;
    let mut at = u32_at(bytes, end + 16).ok_or_else(truncated)?;
    let mut arrays = HashMap::new();
    for _ in 0..entries {
        if !bytes
            .get(at..)
            .is_some_and(|b| b.starts_with(&[0x50, 0x4b, 0x01, 0x02]))
        {
            return Err(truncated());
        }
        let method = u16_at(bytes, at + 10).ok_or_else(truncated)?;
        let size = u32_at(bytes, at + 20).ok_or_else(truncated)?;
        let name_len = u16_at(bytes, at + 28).ok_or_else(truncated)?;
        let extra_len = u16_at(bytes, at + 30).ok_or_else(truncated)?;
        let comment_len = u16_at(bytes, at + 32).ok_or_else(truncated)?;
        let local = u32_at(bytes, at + 42).ok_or_else(truncated)?;
        let name = String::from_utf8_lossy(
            bytes
                .get(at + 46..at + 46 + name_len)
                .ok_or_else(truncated)?,
        )
        .trim_end_matches(".npy")
        .to_string();
        at += 46 + name_len + extra_len + comment_len;
        if method != 0 {
            return Err(format!(
                "{name} is compressed (np.savez_compressed); save it with np.savez"
            ));
        }
        let data_at = local
            + 30
            + u16_at(bytes, local + 26).ok_or_else(truncated)?
            + u16_at(bytes, local + 28).ok_or_else(truncated)?;
        let member = bytes.get(data_at..data_at + size).ok_or_else(truncated)?;
        let array = read_npy(member).map_err(|e| format!("{name}: {e}"))?;
        arrays.insert(name, array);
    }
    Ok(arrays)
}

/// One `.npy`: little-endian f4, f8, i4, i8, u4 or u1, C order.
fn read_npy(bytes: &[u8]) -> Result<Array, String> {
    if !bytes.starts_with(b"\x93NUMPY") || bytes.len() < 10 {
        return Err("not a .npy array".into());
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16_at(bytes, 8).unwrap_or(0), 10),
        _ => (u32_at(bytes, 8).unwrap_or(0), 12),
    };
    let header = std::str::from_utf8(bytes.get(start..start + header_len).ok_or("truncated")?)
        .map_err(|_| "header is not text")?;
    if header.contains("'fortran_order': True") {
        return Err("Fortran order; save it C-contiguous (np.ascontiguousarray)".into());
    }
    let descr = field(header, "'descr':").ok_or("no descr")?;
    let descr = descr
        .trim()
        .trim_matches(|c| c == '\'' || c == ',')
        .to_string();
    let shape_text = header
        .split("'shape':")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or("no shape")?;
    let shape: Vec<usize> = shape_text
        .trim()
        .trim_start_matches('(')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| format!("bad shape {shape_text}")))
        .collect::<Result<_, _>>()?;
    let count: usize = shape.iter().product();
    let body = &bytes[start + header_len..];
    let values = decode(&descr, body, count)?;
    Ok(Array {
        shape,
        data: values,
    })
}

fn field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let rest = header.split(key).nth(1)?;
    rest.split(',').next()
}

fn decode(descr: &str, body: &[u8], count: usize) -> Result<Vec<f64>, String> {
    let size = match descr {
        "<f8" | "<i8" => 8,
        "<f4" | "<i4" | "<u4" => 4,
        "|u1" | "|b1" => 1,
        other => {
            return Err(format!(
                "element type {other} is not read (little-endian floats and integers are)"
            ))
        }
    };
    if body.len() < count * size {
        return Err("truncated data".into());
    }
    Ok(body[..count * size]
        .chunks_exact(size)
        .map(|c| match descr {
            "<f8" => f64::from_le_bytes(c.try_into().unwrap_or_default()),
            "<i8" => i64::from_le_bytes(c.try_into().unwrap_or_default()) as f64,
            "<f4" => f32::from_le_bytes(c.try_into().unwrap_or_default()) as f64,
            "<i4" => i32::from_le_bytes(c.try_into().unwrap_or_default()) as f64,
            "<u4" => u32::from_le_bytes(c.try_into().unwrap_or_default()) as f64,
            _ => c[0] as f64,
        })
        .collect())
}
