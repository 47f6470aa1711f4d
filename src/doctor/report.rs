//! The two ways `doctor` reports: a table for people and JSON for machines.
//!
//! The JSON schema is stable (scripts and CI read it):
//!
//! ```text
//! {
//!   "ok": bool,                 // true when no check failed (warnings allowed)
//!   "checks": [{
//!     "id": "platform",         // stable, as --check takes it
//!     "status": "ok" | "warning" | "failure" | "skipped",
//!     "summary": "one line",
//!     "details": ["line", ...], // possibly empty
//!     "fix": "what to do" | null
//!   }, ...]
//! }
//! ```

use comfy_table::{presets, Cell, ContentArrangement, Table};
use serde::Serialize;

use super::{Check, Status, CHECKS};

/// The JSON document.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    /// No check failed.
    pub ok: bool,
    pub checks: &'a [Check],
}

/// True when nothing failed: the exit status is 0. Warnings alone do not fail.
pub fn passed(checks: &[Check]) -> bool {
    !checks.iter().any(|c| c.status == Status::Failure)
}

pub fn json(checks: &[Check]) -> String {
    let report = Report {
        ok: passed(checks),
        checks,
    };
    serde_json::to_string_pretty(&report).expect("a report always serializes")
}

/// The table, the summary line, then each problem's fix.
pub fn table(checks: &[Check]) -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec!["", "check", "finding"]);
    for check in checks {
        let mut finding = check.summary.clone();
        for detail in &check.details {
            finding.push_str("\n· ");
            finding.push_str(detail);
        }
        table.add_row(vec![
            Cell::new(format!("[{}]", check.status.mark())),
            Cell::new(check.id),
            Cell::new(finding),
        ]);
    }
    let mut out = format!("{}\n\n{}\n", trim_lines(&table), summary_line(checks));
    let problems: Vec<&Check> = checks
        .iter()
        .filter(|c| matches!(c.status, Status::Warning | Status::Failure))
        .collect();
    if !problems.is_empty() {
        out.push_str("\nHow to fix:\n");
        for check in problems {
            let fix = check.fix.as_deref().unwrap_or("(no fix known)");
            out.push_str(&format!(
                "  [{}] {}: {fix}\n",
                check.status.mark(),
                check.id
            ));
        }
    }
    out
}

/// `No issues found!` or `2 warnings, 1 failure`, as flutter doctor sums up.
pub fn summary_line(checks: &[Check]) -> String {
    let count = |s| checks.iter().filter(|c| c.status == s).count();
    let (warnings, failures) = (count(Status::Warning), count(Status::Failure));
    if warnings + failures == 0 {
        return "No issues found!".into();
    }
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}",
        plural(warnings, "warning"),
        plural(failures, "failure")
    )
}

/// `--list`: each check's id and what it looks at.
pub fn list() -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec!["id", "checks"]);
    for def in &CHECKS {
        table.add_row(vec![def.id, def.about]);
    }
    format!("{}\n", trim_lines(&table))
}

/// comfy-table pads every line to the table's width; trailing blanks only get in the
/// way of people copying the output and of tests comparing it.
fn trim_lines(table: &Table) -> String {
    table
        .to_string()
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::{fixtures, run_checks};

    #[test]
    fn summary_lines() {
        let ok = Check::new("cpu", Status::Ok, "fine");
        assert_eq!(summary_line(std::slice::from_ref(&ok)), "No issues found!");
        let warn = Check::new("gpu", Status::Warning, "hm").fix("x");
        let fail = Check::new("disk", Status::Failure, "full").fix("y");
        assert_eq!(
            summary_line(&[ok, warn.clone(), fail.clone()]),
            "1 warning, 1 failure"
        );
        assert_eq!(
            summary_line(&[warn.clone(), warn]),
            "2 warnings, 0 failures"
        );
    }

    #[test]
    fn warnings_alone_pass() {
        let warn = Check::new("gpu", Status::Warning, "hm").fix("x");
        assert!(passed(&[warn]));
        assert!(!passed(&run_checks(&fixtures::broken(), None)));
    }

    #[test]
    fn json_follows_the_schema() {
        let checks = run_checks(&fixtures::broken(), None);
        let value: serde_json::Value = serde_json::from_str(&json(&checks)).unwrap();
        assert_eq!(value["ok"], false);
        let first = &value["checks"][0];
        assert_eq!(first["id"], "platform");
        assert_eq!(first["status"], "failure");
        assert!(first["details"].is_array());
        assert!(first["fix"].is_string());
        let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["details", "fix", "id", "status", "summary"]);
    }

    #[test]
    fn table_lists_fixes_for_problems_only() {
        let text = table(&run_checks(&fixtures::native(), None));
        assert!(text.contains("[✓]"));
        assert!(text.contains("No issues found!"));
        assert!(!text.contains("How to fix"));
        let text = table(&run_checks(&fixtures::broken(), None));
        assert!(text.contains("How to fix:\n  [✗] platform: Convert"));
    }
}
