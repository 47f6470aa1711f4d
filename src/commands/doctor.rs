//! `posekit doctor`: read the machine once, run the pure checks, report, and exit 1 only
//! when a check failed.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};

use super::stdout::print;
use crate::cli::DoctorArgs;
use crate::config::config_path;
use crate::doctor::{report, run_checks};
use crate::system::{gather, GatherOptions};

pub fn run(args: &DoctorArgs) -> Result<ExitCode> {
    if args.list {
        print(&report::list())?;
        return Ok(ExitCode::SUCCESS);
    }
    let options = GatherOptions {
        ort_lib: args.runtime.ort_lib.clone(),
        host: args.host.clone(),
        port: args.port,
        output_dir: std::env::current_dir().context("reading the working directory")?,
        config_path: config_path(),
        timeout: Duration::from_secs_f64(args.timeout),
    };
    let facts = gather(&options);
    let checks = run_checks(&facts, args.check.as_deref());
    let text = if args.json {
        report::json(&checks) + "\n"
    } else {
        report::table(&checks)
    };
    print(&text)?;
    Ok(if report::passed(&checks) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
