//! `posekit status`: reads a batch's results and reports, and says what is left.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::process::gather_inputs;
use super::stdout::print_line;
use crate::batch::inputs::{image_frames, Input, InputKind};
use crate::batch::report::{self, ReportLine};
use crate::batch::shard::Shard;
use crate::batch::status::{summarize, Row, State, Status};
use crate::cli::StatusArgs;
use crate::files::fingerprint::{self, Fingerprint};
use crate::files::partial_path;
use crate::output::jsonl::{is_posekit_result, read_ends};

/// True when every input is done.
pub fn run(args: &StatusArgs) -> Result<bool> {
    let inputs = gather_inputs(&args.inputs, &args.batch)?;
    let reports = report::read(&args.report)
        .with_context(|| format!("reading the reports {:?}", args.report))?;
    let last_words = last_words(reports);
    let shards = args.batch.shards.map(|n| n as usize);
    let rows = inputs
        .iter()
        .enumerate()
        .map(|(position, input)| Row {
            input: input.path.clone(),
            output: input.result_path(args.batch.out_dir.as_deref()),
            shard: shards.map(|n| Shard::of(position, n)),
            state: state_of(input, args.batch.out_dir.as_deref(), &last_words),
        })
        .collect();
    let status = summarize(rows, shards);
    if args.json {
        print_line(&serde_json::to_string(&status)?)?;
    } else {
        print_human(&status)?;
    }
    Ok(status.work_left() == 0)
}

/// Each input's latest report line (reports are appended in time order).
fn last_words(lines: Vec<ReportLine>) -> HashMap<PathBuf, ReportLine> {
    let mut last = HashMap::new();
    for line in lines {
        last.insert(line.input.clone(), line);
    }
    last
}

fn state_of(
    input: &Input,
    out_dir: Option<&Path>,
    reports: &HashMap<PathBuf, ReportLine>,
) -> State {
    let output = input.result_path(out_dir);
    if let Some(ends) = read_ends(&output).filter(|e| e.finished()) {
        let now = current_fingerprint(input).and_then(|f| serde_json::to_value(f).ok());
        return match now {
            Some(now) if ends.header["input"] == now => State::Done,
            Some(_) => State::Stale("the input changed since its result was made".into()),
            None => State::Stale("the input cannot be read now".into()),
        };
    }
    if let Some(line) = reports.get(&input.key).filter(|l| l.status == "failed") {
        return State::Failed(line.reason.clone().unwrap_or_default());
    }
    let partial = partial_path(&output);
    if is_posekit_result(&partial) {
        return State::Interrupted;
    }
    State::Missing
}

fn current_fingerprint(input: &Input) -> Option<Fingerprint> {
    match input.kind {
        InputKind::Video => fingerprint::of_file(&input.path).ok(),
        InputKind::ImageFolder => {
            let frames = image_frames(&input.path).ok()?;
            fingerprint::of_images(&frames).ok()
        }
    }
}

fn print_human(status: &Status) -> Result<()> {
    print_line(&format!(
        "{} inputs: {} done, {} failed, {} interrupted, {} stale, {} missing",
        status.inputs, status.done, status.failed, status.interrupted, status.stale, status.missing
    ))?;
    for row in status.rows.iter().filter(|r| r.state != State::Done) {
        let shard = row.shard.map_or(String::new(), |s| format!(" [shard {s}]"));
        let reason = match &row.state {
            State::Failed(why) | State::Stale(why) => format!(": {}", first_line(why)),
            _ => String::new(),
        };
        print_line(&format!(
            "  {:<11} {}{shard}{reason}",
            row.state.name(),
            row.input.display()
        ))?;
    }
    if !status.array.is_empty() {
        print_line(&format!(
            "shards with work left: {}; resubmit them with --array={}",
            status.array, status.array
        ))?;
    }
    Ok(())
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}
