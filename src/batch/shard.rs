//! Shards: which inputs of the sorted list this process takes.
//!
//! Shard `I/N` takes every input whose position `p` in the sorted, de-duplicated list has
//! `p % N == I`. Round-robin rather than blocks, so a folder sorted by date spreads its
//! long and short days over all shards. Two shards never share an input, and the `N`
//! shards together take all of them.
//!
//! `--shard auto` reads the index from the scheduler that started the process
//! ([`from_environment`], pure over the variables it is given).

use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

/// A shard and what it was read from, for the run's messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chosen {
    pub shard: Shard,
    /// `--shard`, `Slurm job array`, `Kubernetes Indexed Job`, `AWS Batch array job`.
    pub source: &'static str,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShardError {
    #[error("--shard {0:?} is not I/N (for example 0/4: the first of four shards), or auto")]
    Syntax(String),
    #[error("--shard {index}/{count}: the index must be below the count (0 to {last})", last = count.saturating_sub(1))]
    OutOfRange { index: usize, count: usize },
    #[error("--shard auto: {0}")]
    Environment(String),
}

impl Shard {
    pub fn takes(&self, position: usize) -> bool {
        position % self.count == self.index
    }

    /// The shard that takes `position` among `count` shards.
    pub fn of(position: usize, count: usize) -> usize {
        position % count.max(1)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

pub fn parse(text: &str) -> Result<Shard, ShardError> {
    let syntax = || ShardError::Syntax(text.into());
    let (index, count) = text.split_once('/').ok_or_else(syntax)?;
    let index: usize = index.trim().parse().map_err(|_| syntax())?;
    let count: usize = count.trim().parse().map_err(|_| syntax())?;
    checked(index, count)
}

fn checked(index: usize, count: usize) -> Result<Shard, ShardError> {
    if count == 0 || index >= count {
        return Err(ShardError::OutOfRange { index, count });
    }
    Ok(Shard { index, count })
}

/// The scheduler's index, from its variables. `shards` is `--shards N`, needed where the
/// scheduler gives no count (Kubernetes) or a count that does not match the indices.
pub fn from_environment(
    env: &HashMap<String, String>,
    shards: Option<usize>,
) -> Result<Chosen, ShardError> {
    let get = |name: &str| env.get(name).map(|v| v.trim().to_string());
    let number = |name: &str| -> Result<Option<usize>, ShardError> {
        match get(name) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                ShardError::Environment(format!("{name}={v:?} is not a whole number"))
            }),
        }
    };
    if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
        return slurm(id, &number, shards);
    }
    if let Some(index) = number("JOB_COMPLETION_INDEX")? {
        let count = shards.ok_or_else(|| {
            ShardError::Environment(format!(
                "Kubernetes gives the index (JOB_COMPLETION_INDEX={index}) but not the count.\nFix: add --shards N with N the Job's `completions`"
            ))
        })?;
        return chosen(index, count, "Kubernetes Indexed Job");
    }
    if let Some(index) = number("AWS_BATCH_JOB_ARRAY_INDEX")? {
        let count = match (number("AWS_BATCH_JOB_ARRAY_SIZE")?, shards) {
            (_, Some(n)) => n,
            (Some(n), None) => n,
            (None, None) => {
                return Err(ShardError::Environment(
                    "AWS_BATCH_JOB_ARRAY_INDEX is set but AWS_BATCH_JOB_ARRAY_SIZE is not.\nFix: add --shards N with N the array size".into(),
                ))
            }
        };
        return chosen(index, count, "AWS Batch array job");
    }
    Err(ShardError::Environment(
        "no job-array index in the environment (looked for SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX).\nFix: run inside an array job, or give --shard I/N".into(),
    ))
}

/// Slurm's count is the number of tasks, which is the shard count only when the indices
/// are exactly 0..count-1 (`--array=0-9`, not `--array=1-10` or `--array=0-20:2`).
fn slurm(
    id: usize,
    number: &dyn Fn(&str) -> Result<Option<usize>, ShardError>,
    shards: Option<usize>,
) -> Result<Chosen, ShardError> {
    const SOURCE: &str = "Slurm job array";
    if let Some(count) = shards {
        return chosen(id, count, SOURCE);
    }
    let (count, min, max) = (
        number("SLURM_ARRAY_TASK_COUNT")?,
        number("SLURM_ARRAY_TASK_MIN")?,
        number("SLURM_ARRAY_TASK_MAX")?,
    );
    match (count, min, max) {
        (Some(count), Some(0), Some(max)) if max + 1 == count => chosen(id, count, SOURCE),
        _ => Err(ShardError::Environment(format!(
            "this Slurm array's indices are not 0 to N-1 (task count {}, min {}, max {}), so its count cannot be the shard count.\nFix: submit with --array=0-(N-1), or add --shards N",
            show(count),
            show(min),
            show(max)
        ))),
    }
}

fn show(value: Option<usize>) -> String {
    value.map_or("unset".into(), |v| v.to_string())
}

fn chosen(index: usize, count: usize, source: &'static str) -> Result<Chosen, ShardError> {
    Ok(Chosen {
        shard: checked(index, count)?,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn shards_partition_the_list() {
        for count in 1..6 {
            let mut taken = vec![0; 23];
            for index in 0..count {
                let shard = Shard { index, count };
                for (position, n) in taken.iter_mut().enumerate() {
                    if shard.takes(position) {
                        *n += 1;
                        assert_eq!(Shard::of(position, count), index);
                    }
                }
            }
            assert!(taken.iter().all(|n| *n == 1), "{count}: {taken:?}");
        }
    }

    #[test]
    fn parses_and_checks_i_over_n() {
        assert_eq!(parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        assert_eq!(
            parse("4/4"),
            Err(ShardError::OutOfRange { index: 4, count: 4 })
        );
        assert!(matches!(parse("0/0"), Err(ShardError::OutOfRange { .. })));
        assert!(matches!(parse("two"), Err(ShardError::Syntax(_))));
        assert!(matches!(parse("-1/3"), Err(ShardError::Syntax(_))));
    }

    #[test]
    fn slurm_arrays_from_zero_give_their_count() {
        let vars = env(&[
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "2"),
        ]);
        let chosen = from_environment(&vars, None).unwrap();
        assert_eq!(chosen.shard, Shard { index: 1, count: 3 });
        assert_eq!(chosen.source, "Slurm job array");
    }

    #[test]
    fn slurm_arrays_with_gaps_or_offsets_need_shards() {
        for (min, max, count) in [("1", "3", "3"), ("0", "20", "11")] {
            let vars = env(&[
                ("SLURM_ARRAY_TASK_ID", "2"),
                ("SLURM_ARRAY_TASK_COUNT", count),
                ("SLURM_ARRAY_TASK_MIN", min),
                ("SLURM_ARRAY_TASK_MAX", max),
            ]);
            let err = from_environment(&vars, None).unwrap_err();
            assert!(err.to_string().contains("--shards N"), "{err}");
            let given = from_environment(&vars, Some(21)).unwrap();
            assert_eq!(
                given.shard,
                Shard {
                    index: 2,
                    count: 21
                }
            );
        }
        // A resubmitted single task (--array=1) with --shards keeps its place.
        let single = env(&[
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "1"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "1"),
        ]);
        assert!(from_environment(&single, None).is_err());
        assert_eq!(
            from_environment(&single, Some(3)).unwrap().shard,
            Shard { index: 1, count: 3 }
        );
    }

    #[test]
    fn kubernetes_needs_the_count_and_aws_gives_it() {
        let k8s = env(&[("JOB_COMPLETION_INDEX", "4")]);
        assert!(from_environment(&k8s, None)
            .unwrap_err()
            .to_string()
            .contains("--shards N"));
        let chosen = from_environment(&k8s, Some(5)).unwrap();
        assert_eq!(
            (chosen.shard.index, chosen.source),
            (4, "Kubernetes Indexed Job")
        );
        assert!(matches!(
            from_environment(&k8s, Some(4)),
            Err(ShardError::OutOfRange { .. })
        ));
        let aws = env(&[
            ("AWS_BATCH_JOB_ARRAY_INDEX", "0"),
            ("AWS_BATCH_JOB_ARRAY_SIZE", "2"),
        ]);
        assert_eq!(
            from_environment(&aws, None).unwrap().shard,
            Shard { index: 0, count: 2 }
        );
    }

    #[test]
    fn no_scheduler_or_a_bad_value_is_a_clear_error() {
        let none = from_environment(&env(&[]), None).unwrap_err();
        assert!(none.to_string().contains("SLURM_ARRAY_TASK_ID"));
        let bad = from_environment(&env(&[("SLURM_ARRAY_TASK_ID", "x")]), None).unwrap_err();
        assert!(bad.to_string().contains("not a whole number"));
    }
}
