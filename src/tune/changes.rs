//! What each file becomes under a plan, computed before anything is written: the text of
//! `posekit.toml` and of `.wslconfig` after the change. Pure, so a refusal (a line that
//! cannot be read for certain) is found before either file is touched, and the diff the
//! user reviews is exactly what `--write` writes.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::plan::Plan;
use super::wslconfig_edit::{self, Set};
use super::TuneError;
use crate::bench::layout::Layout;
use crate::config;

/// The template for a new `.wslconfig`: comments and the two sections; the values go in
/// through the same line-wise editing as for an existing file.
pub const WSLCONFIG_TEMPLATE: &str = include_str!("../../templates/wslconfig");

/// Which file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Config,
    Wslconfig,
}

/// One file's change: `before` is `None` when the file does not exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub target: Target,
    pub path: PathBuf,
    pub before: Option<String>,
    pub after: String,
}

impl Change {
    pub fn changes_anything(&self) -> bool {
        self.before.as_deref() != Some(self.after.as_str())
    }
}

/// `posekit.toml` with the plan's layout.
pub fn config_change(
    plan: &Plan,
    path: &Path,
    before: Option<String>,
) -> Result<Change, TuneError> {
    let layout = Layout {
        workers: plan.layout.workers,
        threads_per_worker: plan.layout.threads_per_worker,
    };
    let after = config::with_layout(before.as_deref().unwrap_or(""), path, layout)?;
    Ok(Change {
        target: Target::Config,
        path: path.to_path_buf(),
        before,
        after,
    })
}

/// `.wslconfig` with the plan's values: in an existing file only the settings that must
/// change; in a new one (from the template, with CRLF endings because it is a Windows
/// file that Windows tools will open) every setting, so the user sees what is in force.
pub fn wslconfig_change(
    plan: &Plan,
    path: &Path,
    before: Option<String>,
) -> Result<Option<Change>, wslconfig_edit::Unparseable> {
    let Some(wsl) = &plan.wslconfig else {
        return Ok(None);
    };
    let (base, new_file) = match &before {
        Some(text) => (text.clone(), false),
        None => (WSLCONFIG_TEMPLATE.replace('\n', "\r\n"), true),
    };
    let sets: Vec<Set> = wsl
        .settings
        .iter()
        .filter(|s| new_file || s.change)
        .map(|s| Set {
            section: s.section,
            key: s.key,
            value: &s.value,
        })
        .collect();
    // Even with nothing to set, an existing file is checked, so a broken line is reported.
    wslconfig_edit::check(&base)?;
    let after = wslconfig_edit::apply(&base, &sets)?;
    Ok(Some(Change {
        target: Target::Wslconfig,
        path: path.to_path_buf(),
        before,
        after,
    }))
}
