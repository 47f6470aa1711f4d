//! One module per subcommand: typed options in, work done, a report out.

use crate::cli::{LandmarkModelArg, PersonDetectorArg, PoseArgs};
use crate::engine::ModelSource;
use crate::models::builtin;

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

pub mod bench;
pub mod doctor;
pub mod export;
pub mod process;
pub mod serve;
pub mod status;
pub mod stdout;
pub mod tune;
