//! One module per subcommand: typed options in, work done, a report out.

use std::time::Duration;

use crate::cli::{DeviceArg, LandmarkModelArg, PersonDetectorArg, PoseArgs};
use crate::engine::{cache_dir, DeviceRequest, ModelSource, Placement};
use crate::models::builtin;
use crate::system::Probe;

/// The person detector and landmark models the user named, or the built-in ones.
pub fn blazepose_sources(args: &PoseArgs) -> (ModelSource, ModelSource) {
    let pick = |path: &Option<std::path::PathBuf>, builtin: ModelSource| {
        path.clone().map(ModelSource::File).unwrap_or(builtin)
    };
    let detector = match args.person_detector {
        PersonDetectorArg::Blazepose => builtin::DETECTOR,
        PersonDetectorArg::Movenet => builtin::PERSON_DETECTOR,
    };
    let landmarks = match args.landmark_model {
        LandmarkModelArg::Lite => builtin::LANDMARKS_LITE,
        LandmarkModelArg::Full => builtin::LANDMARKS,
        LandmarkModelArg::Heavy => builtin::LANDMARKS_HEAVY,
    };
    (
        pick(&args.detector, detector),
        pick(&args.landmarks, landmarks),
    )
}

/// Where HMR2 runs: `--device`, else `[process] device` in posekit.toml, else auto.
/// TensorRT keeps its engines under posekit's cache directory, keyed by the GPU's name.
pub fn hmr2_placement(args: &PoseArgs, configured: Option<DeviceRequest>) -> Placement {
    let request = match args.device {
        Some(DeviceArg::Auto) => DeviceRequest::Auto,
        Some(DeviceArg::Cpu) => DeviceRequest::Cpu,
        Some(DeviceArg::Cuda) => DeviceRequest::Cuda,
        Some(DeviceArg::TensorRt) => DeviceRequest::TensorRt,
        None => configured.unwrap_or_default(),
    };
    let tensorrt = request == DeviceRequest::TensorRt;
    Placement {
        request,
        trt_cache: cache_dir().filter(|_| tensorrt).map(|d| d.join("tensorrt")),
        gpu_name: match tensorrt {
            true => match crate::system::gpu::probe(Duration::from_secs(3)) {
                Probe::Found(devices) => devices.first().map(|d| d.name.clone()),
                _ => None,
            },
            false => None,
        },
    }
}

pub mod bench;
pub mod compare;
pub mod doctor;
pub mod export;
pub mod process;
pub mod serve;
pub mod status;
pub mod stdout;
pub mod tune;
