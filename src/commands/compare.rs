//! `posekit compare A.jsonl B.jsonl`: reads both results, prints how they differ.

use anyhow::Result;

use super::stdout::print_line;
use crate::cli::CompareArgs;
use crate::compare::{compare, read::read, report};

pub fn run(args: &CompareArgs) -> Result<()> {
    let a = read(&args.a)?;
    let b = read(&args.b)?;
    let comparison = compare(&a, &b);
    if comparison.frames_compared == 0 {
        eprintln!("compare: the two files have no frame index in common");
    }
    match args.json {
        true => print_line(&serde_json::to_string_pretty(&comparison)?)?,
        false => print_line(&report::table(&comparison))?,
    }
    Ok(())
}
