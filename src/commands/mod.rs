//! One module per subcommand: typed options in, work done, a report out.

use crate::cli::PoseArgs;
use crate::engine::ModelSource;
use crate::models::builtin;

/// The detector and landmark models the user named, or the built-in ones.
pub fn blazepose_sources(args: &PoseArgs) -> (ModelSource, ModelSource) {
    let pick = |path: &Option<std::path::PathBuf>, builtin: ModelSource| {
        path.clone().map(ModelSource::File).unwrap_or(builtin)
    };
    (
        pick(&args.detector, builtin::DETECTOR),
        pick(&args.landmarks, builtin::LANDMARKS),
    )
}

pub mod bench;
pub mod doctor;
pub mod process;
pub mod serve;
pub mod status;
pub mod stdout;
pub mod tune;
