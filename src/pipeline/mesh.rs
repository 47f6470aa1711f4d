//! The HMR2 stage of `process`: loading one model for all workers, running it on the
//! persons BlazePose found in a frame, and the `.npz` sink for its arrays.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::engine::{Engine, EngineError, ModelSource, WeightSharing};
use crate::image::RgbImage;
use crate::models::hmr2::config::{KEYPOINT_BOX_RESCALE, NUM_BETAS, NUM_BODY_JOINTS};
use crate::models::hmr2::{CropBox, Hmr2, Smpl};
use crate::output::npz::NpzWriter;
use crate::pose::Person;

/// What `--hmr2` and its companions asked for.
#[derive(Clone, Debug)]
pub struct Hmr2Options {
    pub model: PathBuf,
    /// Also write rotation matrices in the JSON Lines records.
    pub rotmat: bool,
    /// Also write the arrays (and vertices, when the model has them) as a NumPy .npz.
    pub npz: Option<PathBuf>,
    /// How workers share the weights; the engine's measured default unless overridden.
    pub sharing: WeightSharing,
}

/// One [`Hmr2`] per worker, all over the same weights (see `engine::sharing`).
pub fn load(
    engine: &Engine,
    options: &Hmr2Options,
    workers: usize,
    threads_per_worker: usize,
) -> Result<Vec<Hmr2>> {
    let source = ModelSource::File(options.model.clone());
    let sessions = engine
        .worker_sessions(&source, workers, threads_per_worker, options.sharing)
        .with_context(|| format!("loading the HMR2 model {}", options.model.display()))?;
    sessions
        .into_iter()
        .map(|s| Ok(Hmr2::new(s)?.keep_vertices(options.npz.is_some())))
        .collect()
}

/// HMR2 for every person of a frame, in one batch; the result is parallel to `persons`.
/// BlazePose boxes are keypoint boxes, so they are grown by 1.2 as 4D-Humans does.
pub fn recover(
    hmr2: &mut Hmr2,
    image: &RgbImage,
    persons: &[Person],
) -> Result<Vec<Smpl>, EngineError> {
    let boxes: Vec<CropBox> = persons
        .iter()
        .map(|p| CropBox::from_bbox(p.bbox, KEYPOINT_BOX_RESCALE))
        .collect();
    hmr2.estimate(image, &boxes)
}

/// Writes each person's HMR2 arrays as one row of each array in the .npz.
pub struct NpzSink {
    writer: NpzWriter,
}

impl NpzSink {
    pub fn create(path: &Path) -> Result<Self> {
        let writer = NpzWriter::create(path)
            .with_context(|| format!("cannot write the .npz {}", path.display()))?;
        Ok(Self { writer })
    }

    /// One row per person of frame `frame`.
    pub fn push_frame(&mut self, frame: u64, smpl: &[Smpl]) -> Result<()> {
        for (person, s) in smpl.iter().enumerate() {
            self.push_person(frame, person, s)
                .context("writing the .npz spool")?;
        }
        Ok(())
    }

    fn push_person(&mut self, frame: u64, person: usize, s: &Smpl) -> std::io::Result<()> {
        let w = &mut self.writer;
        let flat =
            |m: &[[[f32; 3]; 3]]| -> Vec<f32> { m.iter().flatten().flatten().copied().collect() };
        let points = |p: &[[f32; 3]]| -> Vec<f32> { p.iter().flatten().copied().collect() };
        w.push_i64("frame", frame as i64)?;
        w.push_i64("person", person as i64)?;
        w.push_f32("global_orient", &[3], &s.global_orient_aa())?;
        w.push_f32(
            "body_pose",
            &[NUM_BODY_JOINTS, 3],
            &points(&s.body_pose_aa()),
        )?;
        w.push_f32(
            "global_orient_rotmat",
            &[1, 3, 3],
            &flat(&[s.global_orient]),
        )?;
        w.push_f32(
            "body_pose_rotmat",
            &[NUM_BODY_JOINTS, 3, 3],
            &flat(&s.body_pose),
        )?;
        w.push_f32("betas", &[NUM_BETAS], &s.betas)?;
        w.push_f32("pred_cam", &[3], &s.pred_cam)?;
        w.push_f32("cam_t", &[3], &s.cam_t)?;
        w.push_f32("focal_length", &[], &[s.focal_length])?;
        w.push_f32("box_center", &[2], &s.crop.center)?;
        w.push_f32("box_size", &[], &[s.crop.size])?;
        if let Some(k) = &s.keypoints_3d {
            w.push_f32("keypoints_3d", &[k.len(), 3], &points(k))?;
        }
        if let Some(v) = &s.vertices {
            w.push_f32("vertices", &[v.len(), 3], &points(v))?;
        }
        Ok(())
    }

    pub fn finish(self, interrupted: bool) -> Result<PathBuf> {
        Ok(self.writer.finish(interrupted)?)
    }
}
