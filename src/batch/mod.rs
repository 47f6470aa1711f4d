//! Batches: from what the user named to the inputs this process runs, and the record of
//! what it did, for folders of videos and cluster job arrays.
//!
//! - [`manifest`]: manifest files (text, CSV, JSON Lines), parsed with line numbers;
//! - [`inputs`]: videos, folders (walked, or played as image sequences) and manifests to
//!   one sorted, de-duplicated list, with each input's path under `--out-dir`;
//! - [`shard`]: which inputs of that list one shard takes, and the shard from a
//!   scheduler's environment (Slurm, Kubernetes, AWS Batch);
//! - [`resume`]: whether an existing result is already this run's (pure);
//! - [`report`]: the `--report` lines;
//! - [`status`]: where a batch stands, for `posekit status` (pure).

pub mod inputs;
pub mod manifest;
pub mod report;
pub mod resume;
pub mod shard;
pub mod status;
