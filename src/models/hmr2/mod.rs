//! HMR2.0 (4D-Humans) mesh recovery over the engine's [`Inference`] trait: persons' crops
//! go through the model in batches (a frame's, or several frames' with `--hmr2-batch`),
//! and each comes back as SMPL parameters plus a camera in full-image coordinates.
//!
//! The model is the user's ONNX export (`scripts/export_hmr2_onnx.py`); its contract is in
//! `docs/hmr2-onnx.md` and is checked here at load, so a wrong file fails before the
//! first frame with the mismatch named.

pub mod config;
pub mod post;
pub mod pre;

use ndarray::{Array4, ArrayD};

use crate::engine::{EngineError, Inference, ModelInfo, Outputs, TensorInfo};
use crate::image::RgbImage;
use config::{CROP_SIZE, INPUT, NUM_BETAS, NUM_BODY_JOINTS, OUTPUTS};
pub use pre::CropBox;

/// A 3×3 rotation matrix, rows first.
pub type RotMat = [[f32; 3]; 3];

/// One person's mesh recovery.
#[derive(Clone, Debug, PartialEq)]
pub struct Smpl {
    /// The square the crop was taken from.
    pub crop: CropBox,
    pub global_orient: RotMat,
    /// 23 body joints, SMPL order.
    pub body_pose: Vec<RotMat>,
    pub betas: [f32; NUM_BETAS],
    /// Weak-perspective crop camera (s, tx, ty).
    pub pred_cam: [f32; 3],
    /// Body translation in the full image's camera (see [`post::cam_crop_to_full`]).
    pub cam_t: [f32; 3],
    /// Focal length in pixels `cam_t` goes with.
    pub focal_length: f32,
    /// The model's 3D keypoints, when it has them.
    pub keypoints_3d: Option<Vec<[f32; 3]>>,
    /// The mesh, when the model has it and vertices were asked for.
    pub vertices: Option<Vec<[f32; 3]>>,
}

impl Smpl {
    pub fn global_orient_aa(&self) -> [f32; 3] {
        post::rotmat_to_axis_angle(&self.global_orient)
    }

    pub fn body_pose_aa(&self) -> Vec<[f32; 3]> {
        self.body_pose
            .iter()
            .map(post::rotmat_to_axis_angle)
            .collect()
    }
}

/// The model and what it provides.
pub struct Hmr2 {
    model: Box<dyn Inference>,
    keep_vertices: bool,
}

impl Hmr2 {
    /// Checks the contract; see `docs/hmr2-onnx.md`.
    pub fn new(model: Box<dyn Inference>) -> Result<Self, EngineError> {
        check_contract(model.info())?;
        Ok(Self {
            model,
            keep_vertices: false,
        })
    }

    /// Vertices are 82 KB a person; they are copied out only for the .npz.
    pub fn keep_vertices(mut self, keep: bool) -> Self {
        self.keep_vertices = keep;
        self
    }

    pub fn info(&self) -> &ModelInfo {
        self.model.info()
    }

    pub fn has_output(&self, name: &str) -> bool {
        self.info().outputs.iter().any(|o| o.name == name)
    }

    /// Runs all `boxes` of `image` as one batch.
    pub fn estimate(
        &mut self,
        image: &RgbImage,
        boxes: &[CropBox],
    ) -> Result<Vec<Smpl>, EngineError> {
        let rows: Vec<(&RgbImage, CropBox)> = boxes.iter().map(|b| (image, *b)).collect();
        self.estimate_rows(&rows, rows.len().max(1))
    }

    /// Runs crops of possibly different frames, at most `max_batch` per model call, in
    /// the order given; the result is parallel to `rows`. A GPU is filled by batches of
    /// crops gathered across consecutive frames (`--hmr2-batch`).
    pub fn estimate_rows(
        &mut self,
        rows: &[(&RgbImage, CropBox)],
        max_batch: usize,
    ) -> Result<Vec<Smpl>, EngineError> {
        let mut all = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(max_batch.max(1)) {
            let mut batch = Array4::<f32>::zeros((chunk.len(), 3, CROP_SIZE, CROP_SIZE));
            for ((image, b), slot) in chunk.iter().zip(batch.outer_iter_mut()) {
                let mut slot = slot;
                let out = slot
                    .as_slice_mut()
                    .expect("rows of a fresh array are contiguous");
                pre::crop_into_chw(image, b, out);
            }
            let outputs = self.model.run(batch.view().into_dyn())?;
            all.extend(self.decode(&outputs, chunk)?);
        }
        Ok(all)
    }

    fn decode(
        &self,
        outputs: &Outputs,
        rows: &[(&RgbImage, CropBox)],
    ) -> Result<Vec<Smpl>, EngineError> {
        let model = &self.info().name;
        let n = rows.len();
        let get = |name: &str| -> Result<Option<&[f32]>, EngineError> {
            if !outputs.names.iter().any(|o| o == name) {
                return Ok(None);
            }
            let a: &ArrayD<f32> = outputs.get(model, name)?;
            // Declared shapes may leave sizes open (exporters often do); the real
            // ones are checked here, before anything is sliced by them.
            let spec = OUTPUTS.iter().find(|o| o.name == name);
            let dims_ok = spec.is_none_or(|spec| {
                a.ndim() == spec.dims.len() + 1
                    && spec
                        .dims
                        .iter()
                        .zip(&a.shape()[1..])
                        .all(|(want, &got)| want.is_none_or(|w| w as usize == got))
            });
            if a.shape().first() != Some(&n) || !dims_ok {
                return Err(contract(
                    model,
                    format!(
                        "output {name:?} has shape {:?} for a batch of {n}",
                        a.shape()
                    ),
                ));
            }
            a.as_slice()
                .map(Some)
                .ok_or_else(|| contract(model, format!("output {name:?} is not contiguous")))
        };
        let need = |name: &str| {
            get(name)?.ok_or_else(|| contract(model, format!("has no output {name:?}")))
        };
        let (cam, go, bp, betas) = (
            need("pred_cam")?,
            need("global_orient")?,
            need("body_pose")?,
            need("betas")?,
        );
        let kp = get("pred_keypoints_3d")?;
        let verts = if self.keep_vertices {
            get("pred_vertices")?
        } else {
            None
        };
        Ok(rows
            .iter()
            .enumerate()
            .map(|(i, (image, b))| {
                let focal = post::focal_length(image.width, image.height);
                let pred_cam = [cam[3 * i], cam[3 * i + 1], cam[3 * i + 2]];
                Smpl {
                    crop: *b,
                    global_orient: rotmat(&go[9 * i..9 * i + 9]),
                    body_pose: bp[9 * NUM_BODY_JOINTS * i..9 * NUM_BODY_JOINTS * (i + 1)]
                        .chunks_exact(9)
                        .map(rotmat)
                        .collect(),
                    betas: std::array::from_fn(|k| betas[NUM_BETAS * i + k]),
                    pred_cam,
                    cam_t: post::cam_crop_to_full(
                        pred_cam,
                        b.center,
                        b.size,
                        [image.width, image.height],
                        focal,
                    ),
                    focal_length: focal,
                    keypoints_3d: kp.map(|k| points(k, n, i)),
                    vertices: verts.map(|v| points(v, n, i)),
                }
            })
            .collect())
    }
}

fn rotmat(m: &[f32]) -> RotMat {
    [[m[0], m[1], m[2]], [m[3], m[4], m[5]], [m[6], m[7], m[8]]]
}

/// Item `i` of a batch of `n` point sets, as points.
fn points(all: &[f32], n: usize, i: usize) -> Vec<[f32; 3]> {
    let per = all.len() / n;
    all[per * i..per * (i + 1)]
        .chunks_exact(3)
        .map(|p| [p[0], p[1], p[2]])
        .collect()
}

fn contract(model: &str, reason: String) -> EngineError {
    EngineError::Contract {
        model: model.to_string(),
        reason: format!("{reason} (the HMR2 ONNX contract is in docs/hmr2-onnx.md)"),
    }
}

/// `[batch, 23, 3, 3]`: a dynamic first axis is the batch; other open sizes are `?`.
fn show_dims(shape: &[i64]) -> String {
    let dims: Vec<String> = shape
        .iter()
        .enumerate()
        .map(|(i, &d)| match (i, d < 0) {
            (0, true) => "batch".into(),
            (_, true) => "?".into(),
            _ => d.to_string(),
        })
        .collect();
    format!("[{}]", dims.join(", "))
}

fn describe(tensors: &[TensorInfo]) -> String {
    tensors
        .iter()
        .map(|t| format!("{:?} {}", t.name, show_dims(&t.shape)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Holds `info` to the HMR2 contract: one input `img` [batch, 3, 256, 256] and the
/// required outputs by name and shape, each with a dynamic batch axis.
pub fn check_contract(info: &ModelInfo) -> Result<(), EngineError> {
    let model = &info.name;
    let (name, shape) = INPUT;
    let input_ok = matches!(info.inputs.as_slice(), [i] if i.name == name && i.shape == shape);
    if !input_ok {
        return Err(contract(
            model,
            format!(
                "is not an HMR2 model: expected one input \"img\" {}, found {}",
                show_dims(&shape),
                describe(&info.inputs)
            ),
        ));
    }
    for spec in &OUTPUTS {
        let Some(out) = info.outputs.iter().find(|o| o.name == spec.name) else {
            if spec.required {
                return Err(contract(
                    model,
                    format!(
                        "is not an HMR2 model: it has no output {:?} (outputs: {})",
                        spec.name,
                        describe(&info.outputs)
                    ),
                ));
            }
            continue;
        };
        let rank_ok = out.shape.len() == spec.dims.len() + 1 && out.shape[0] < 0;
        let dims_ok = rank_ok
            && spec
                .dims
                .iter()
                .zip(&out.shape[1..])
                // An open size (-1) can't be proven wrong at load; `decode` checks it.
                .all(|(want, &got)| got < 0 || want.is_none_or(|w| w == got));
        if !dims_ok {
            let want: Vec<String> = spec
                .dims
                .iter()
                .map(|d| d.map_or("N".to_string(), |d| d.to_string()))
                .collect();
            return Err(contract(
                model,
                format!(
                    "output {:?} should be [batch, {}], found {}",
                    spec.name,
                    want.join(", "),
                    show_dims(&out.shape)
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
