//! `voiceperf` binary: parse the command line, dispatch, print at most one error.

use std::process::ExitCode;

use clap::Parser;
use voiceperf::cli::{Cli, dispatch};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(err) => {
            eprintln!("error: {}", voiceperf::text::printable(&format!("{err:#}")));
            ExitCode::from(voiceperf::exit_code_for(&err))
        }
    }
}
