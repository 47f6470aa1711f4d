//! `tune`: from the machine's facts and the model's memory cost to a plan (the worker
//! layout for `process` and, under WSL2, `.wslconfig` values), each value with its reason,
//! and the safe writing of that plan.
//!
//! The parts are separate on purpose: [`plan::plan`] decides (pure); [`wslconfig_edit`]
//! and [`changes`] compute each file's new text (pure); [`diff`] shows it; writing goes
//! through [`crate::files::write_file`] (atomically, keeping a timestamped backup). So every machine and
//! every messy `.wslconfig` is a unit test, and the command is thin glue.

pub mod changes;
pub mod cost;
pub mod diff;
mod error;
pub mod limits;
pub mod machine;
pub mod plan;
pub mod report;
pub mod wslconfig_edit;

pub use cost::{ModelCost, UserModel};
pub(crate) use error::TuneError;
pub use plan::{plan, PlanOptions};

pub(crate) use crate::doctor::size;
