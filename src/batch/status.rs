//! `posekit status`: where a batch stands, from the results on disk (and the reports).
//!
//! Each input is, in order of precedence:
//! - **done**: its result is complete and records this very input (fingerprint);
//! - **stale**: its result is complete but the input changed since;
//! - **failed**: a report's last word on it is a failure;
//! - **interrupted**: a partial result is there;
//! - **missing**: nothing yet.
//!
//! Everything but done is work left, and with `--shards N` the shards that hold it are
//! given as a ready `--array=` list. [`summarize`] is pure.

use std::path::PathBuf;

use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "state", content = "reason")]
pub enum State {
    Done,
    Stale(String),
    Failed(String),
    Interrupted,
    Missing,
}

impl State {
    pub fn name(&self) -> &'static str {
        match self {
            State::Done => "done",
            State::Stale(_) => "stale",
            State::Failed(_) => "failed",
            State::Interrupted => "interrupted",
            State::Missing => "missing",
        }
    }
}

/// What was found for one input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    pub input: PathBuf,
    pub output: PathBuf,
    /// Its shard, when a shard count was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<usize>,
    #[serde(flatten)]
    pub state: State,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Status {
    pub inputs: usize,
    pub done: usize,
    pub stale: usize,
    pub failed: usize,
    pub interrupted: usize,
    pub missing: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shards: Option<usize>,
    /// Shards with work left, ascending.
    pub shards_with_work: Vec<usize>,
    /// Those shards as Slurm's `--array=` takes them (`1,3-5`); empty when none.
    pub array: String,
    pub rows: Vec<Row>,
}

impl Status {
    pub fn work_left(&self) -> usize {
        self.inputs - self.done
    }
}

pub fn summarize(rows: Vec<Row>, shards: Option<usize>) -> Status {
    let count = |name: &str| rows.iter().filter(|r| r.state.name() == name).count();
    let mut with_work: Vec<usize> = rows
        .iter()
        .filter(|r| r.state != State::Done)
        .filter_map(|r| r.shard)
        .collect();
    with_work.sort_unstable();
    with_work.dedup();
    Status {
        inputs: rows.len(),
        done: count("done"),
        stale: count("stale"),
        failed: count("failed"),
        interrupted: count("interrupted"),
        missing: count("missing"),
        shards,
        array: array_list(&with_work),
        shards_with_work: with_work,
        rows,
    }
}

/// Sorted, distinct indices as ranges: `[0, 1, 2, 5, 7, 8]` → `0-2,5,7-8`.
pub fn array_list(indices: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < indices.len() {
        let start = indices[i];
        let mut end = start;
        while i + 1 < indices.len() && indices[i + 1] == end + 1 {
            i += 1;
            end = indices[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, shard: usize, state: State) -> Row {
        Row {
            input: name.into(),
            output: format!("{name}.poses.jsonl").into(),
            shard: Some(shard),
            state,
        }
    }

    #[test]
    fn counts_states_and_lists_the_shards_with_work() {
        let status = summarize(
            vec![
                row("a", 0, State::Done),
                row("b", 1, State::Failed("not a video".into())),
                row("c", 2, State::Missing),
                row("d", 0, State::Done),
                row("e", 1, State::Interrupted),
                row("f", 5, State::Stale("input changed".into())),
            ],
            Some(6),
        );
        assert_eq!(
            (
                status.done,
                status.failed,
                status.missing,
                status.interrupted,
                status.stale
            ),
            (2, 1, 1, 1, 1)
        );
        assert_eq!(status.work_left(), 4);
        assert_eq!(status.shards_with_work, [1, 2, 5]);
        assert_eq!(status.array, "1-2,5");
    }

    #[test]
    fn array_lists_compress_runs() {
        assert_eq!(array_list(&[]), "");
        assert_eq!(array_list(&[3]), "3");
        assert_eq!(array_list(&[0, 1, 2, 5, 7, 8]), "0-2,5,7-8");
    }

    #[test]
    fn rows_serialise_with_their_state_and_reason() {
        let value = serde_json::to_value(row("b", 1, State::Failed("bad".into()))).unwrap();
        assert_eq!(value["state"], "failed");
        assert_eq!(value["reason"], "bad");
        let done = serde_json::to_value(row("a", 0, State::Done)).unwrap();
        assert_eq!(done["state"], "done");
    }
}
