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
    };
    match result {
        Ok(Ending::Complete) => ExitCode::SUCCESS,
        Ok(Ending::Interrupted) => ExitCode::from(EXIT_INTERRUPTED),
        Err(e) => report_error(e),
    }
}

fn report_error(e: anyhow::Error) -> ExitCode {
    if is_broken_pipe(&e) {
        return ExitCode::SUCCESS;
    }
    eprintln!("posekit: error: {e:#}");
    ExitCode::FAILURE
}

/// `posekit ... | head` closing stdout early is not a failure.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
