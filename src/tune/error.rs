//! What can stop `tune` from working out a change: a posekit.toml it cannot edit, or a
//! machine description (`--facts`) with a size it cannot read.

use crate::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum TuneError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{field}: {text:?} is not a size such as 16GB")]
    NotASize { field: &'static str, text: String },
}
