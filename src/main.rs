//! The posekit binary: parse, dispatch, and turn errors into messages and exit codes.

use std::process::ExitCode;

use clap::Parser;
use posekit::cli::{Cli, Command};
use posekit::commands::{self, process::Ending};

/// Exit code for a run stopped by Ctrl-C, as shells report SIGINT.
const EXIT_INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Process(args) => commands::process::run(args),
        Command::Bench(args) => commands::bench::run(args).map(|_| Ending::Complete),
        Command::Doctor(args) => return commands::doctor::run(args).unwrap_or_else(report_error),
        Command::Tune(args) => return commands::tune::run(args).unwrap_or_else(report_error),
        Command::Serve(args) => commands::serve::run(args).map(|_| Ending::Complete),
        Command::Export(args) => commands::export::run(args).map(|_| Ending::Complete),
        Command::Compare(args) => commands::compare::run(args).map(|_| Ending::Complete),
        Command::Status(args) => commands::status::run(args).map(|all_done| match all_done {
            true => Ending::Complete,
            false => Ending::Failed,
        }),
    };
    match result {
        Ok(Ending::Complete) => ExitCode::SUCCESS,
        Ok(Ending::Interrupted) => ExitCode::from(EXIT_INTERRUPTED),
        Ok(Ending::Failed) => ExitCode::FAILURE,
        Err(e) => report_error(e),
    }
}

/// Every error is a failure. (A closed stdout is not an error at all: commands print
/// through `commands::stdout`, which stops printing and lets the work and its exit
/// code stand.)
fn report_error(e: anyhow::Error) -> ExitCode {
    eprintln!("posekit: error: {e:#}");
    ExitCode::FAILURE
}
