//! The HMR2 stage of `process`: loading one model for all workers, and running it on the
//! persons BlazePose found in a frame.

use std::path::PathBuf;

use super::error::PipelineError;
use crate::engine::{Device, Engine, EngineError, ModelSource, Placement, WeightSharing};
use crate::image::RgbImage;
use crate::models::hmr2::config::KEYPOINT_BOX_RESCALE;
use crate::models::hmr2::{CropBox, Hmr2, Smpl};
use crate::pose::Person;

/// What `--hmr2` and its companions asked for.
#[derive(Clone, Debug)]
pub struct Hmr2Options {
    pub model: PathBuf,
    /// Also write the arrays (and vertices, when the model has them) as a NumPy .npz.
    pub npz: Option<PathBuf>,
    /// How workers share the weights; the engine's measured default unless overridden.
    pub sharing: WeightSharing,
    /// Where it runs (`--device`).
    pub placement: Placement,
    /// `--hmr2-batch`: most crops per call; `None`: [`default_batch`] for the device used.
    pub batch: Option<usize>,
}

/// Crops per HMR2 call when `--hmr2-batch` is not given: 1 on the CPU, where a batch
/// is no faster per crop than its crops one by one (the model's GEMMs already fill the
/// cores), and 8 on a GPU, which one crop leaves mostly idle. Not yet measured on a GPU:
/// `scripts/gpu_check.sh` measures batches 1 to 16.
pub fn default_batch(device: Device) -> usize {
    match device.is_gpu() {
        true => 8,
        false => 1,
    }
}

/// One [`Hmr2`] per worker, all over the same weights (see `engine::sharing`).
pub fn load(
    engine: &Engine,
    options: &Hmr2Options,
    workers: usize,
    threads_per_worker: usize,
) -> Result<Vec<Hmr2>, PipelineError> {
    let source = ModelSource::File(options.model.clone());
    let failed = |error| PipelineError::Hmr2Load {
        path: options.model.clone(),
        error,
    };
    let sessions = engine
        .worker_sessions(
            &source,
            workers,
            threads_per_worker,
            options.sharing,
            &options.placement,
        )
        .map_err(failed)?;
    sessions
        .into_iter()
        .map(|s| {
            Ok(Hmr2::new(s)
                .map_err(failed)?
                .keep_vertices(options.npz.is_some()))
        })
        .collect()
}

/// HMR2 for every person of a frame, in one batch; the result is parallel to `persons`.
/// BlazePose boxes are keypoint boxes, so they are grown by 1.2 as 4D-Humans does.
pub fn recover(
    hmr2: &mut Hmr2,
    image: &RgbImage,
    persons: &[Person],
) -> Result<Vec<Smpl>, EngineError> {
    let boxes: Vec<CropBox> = persons.iter().map(crop_box).collect();
    hmr2.estimate(image, &boxes)
}

/// The HMR2 crop of a BlazePose person.
pub fn crop_box(person: &Person) -> CropBox {
    CropBox::from_bbox(person.bbox, KEYPOINT_BOX_RESCALE)
}
