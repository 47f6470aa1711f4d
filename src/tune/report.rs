//! How `tune` shows a plan: a table of each value with its reason and the unified diff of
//! each file it would change (for people), or one JSON document (for scripts).
//!
//! The JSON schema: `{"plan": Plan, "files": [{"file": "config" | "wslconfig", "path",
//! "exists", "changes", "refused", "written", "backup"}]}`; `refused` is the reason a
//! file is left alone (else null), `written` is `created`, `replaced` or `unchanged` after
//! `--write` (else null).

use std::path::PathBuf;

use comfy_table::{presets, ContentArrangement, Table};
use serde::Serialize;

use super::changes::{Change, Target};
use super::diff::unified;
use super::plan::{Plan, Source};
use super::size;
use crate::system::wsl::Kind;

/// One file in the JSON report.
#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    pub file: Target,
    pub path: Option<PathBuf>,
    pub exists: bool,
    /// Whether `--write` changes (or changed) it.
    pub changes: bool,
    pub refused: Option<String>,
    pub written: Option<&'static str>,
    pub backup: Option<PathBuf>,
}

#[derive(Serialize)]
struct Document<'a> {
    plan: &'a Plan,
    files: &'a [FileReport],
}

pub fn json(plan: &Plan, files: &[FileReport]) -> String {
    serde_json::to_string_pretty(&Document { plan, files }).expect("a plan always serializes")
}

/// The config's layout now, to show beside the plan's.
#[derive(Clone, Copy, Debug, Default)]
pub struct Current {
    pub workers: Option<usize>,
    pub threads_per_worker: Option<usize>,
}

/// One line saying what the plan is for.
pub fn heading(plan: &Plan, distro: Option<&str>) -> String {
    let platform = match plan.platform {
        Kind::Native => "native Linux",
        Kind::Wsl1 => "WSL1",
        Kind::Wsl2 => "WSL2",
    };
    let distro = distro.map_or(String::new(), |d| format!(" ({d})"));
    format!(
        "Plan for {} on {platform}{distro}, {} cores (from {}), machine key {}\n",
        plan.model.name, plan.layout.cores, plan.layout.cores_source, plan.machine_key
    )
}

/// The values and their reasons.
pub fn table(plan: &Plan, current: Current) -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec!["setting", "value", "why"]);
    let now = |planned: usize, current: Option<usize>| match current {
        Some(c) if c != planned => format!("{planned} (now {c})"),
        _ => planned.to_string(),
    };
    let l = &plan.layout;
    let from = match l.source {
        Source::Bench => "",
        Source::Estimate => " (estimate)",
    };
    table.add_row(vec![
        "[process] workers".to_string(),
        now(l.workers, current.workers),
        format!("{}{from}", l.workers_reason),
    ]);
    table.add_row(vec![
        "[process] threads_per_worker".to_string(),
        now(l.threads_per_worker, current.threads_per_worker),
        l.threads_reason.clone(),
    ]);
    let mut basis = l.memory_reason.clone();
    for line in &plan.model.basis {
        basis.push_str("\n· ");
        basis.push_str(line);
    }
    table.add_row(vec![
        "memory needed".to_string(),
        format!(
            "{} of {}",
            size(l.memory_needed_bytes),
            size(l.memory_budget_bytes)
        ),
        basis,
    ]);
    if let Some(wsl) = &plan.wslconfig {
        for s in &wsl.settings {
            let value = match (&s.current, s.line, s.change) {
                (Some(c), Some(line), true) => format!("{} (now {c}, line {line})", s.value),
                (None, _, true) => format!("{} (added)", s.value),
                (Some(_), Some(line), false) => format!("{} (line {line}, kept)", s.value),
                _ => format!("{} (WSL's default)", s.value),
            };
            table.add_row(vec![
                format!(".wslconfig [{}] {}", s.section, s.key),
                value,
                s.reason.clone(),
            ]);
        }
        table.add_row(vec![
            "Windows RAM".to_string(),
            wsl.host_memory_bytes.map_or("unknown".into(), size),
            wsl.host_memory_basis.clone(),
        ]);
    }
    let mut out = table
        .to_string()
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n");
    out.push('\n');
    for note in &plan.notes {
        out.push_str(&format!("\nnote: {note}"));
    }
    if !plan.notes.is_empty() {
        out.push('\n');
    }
    out
}

/// The diff of one change, or a line saying it changes nothing.
pub fn change(change: &Change) -> String {
    let name = change.path.display().to_string();
    if !change.changes_anything() {
        return format!("{name}: no change needed\n");
    }
    let old_label = match change.before {
        Some(_) => name.clone(),
        None => "/dev/null".into(),
    };
    let crlf = match change.after.contains("\r\n") {
        true => " (CRLF line endings kept)",
        false => "",
    };
    let new_label = format!("{name} (after tune --write){crlf}");
    unified(
        change.before.as_deref().unwrap_or(""),
        &change.after,
        &old_label,
        &new_label,
    )
}
