//! `voiceperf` binary: parse the command line, dispatch, print at most one error.

use std::process::ExitCode;

use voiceperf::cli::{Parsed, dispatch, parse_from};

fn main() -> ExitCode {
    let Parsed { cli, settings } = match parse_from(std::env::args_os().collect()) {
        Ok(parsed) => parsed,
        Err(err) => match err.downcast::<clap::Error>() {
            Ok(clap_error) => clap_error.exit(),
            Err(err) => {
                eprintln!("error: {err:#}");
                return ExitCode::from(voiceperf::exit_code_for(&err));
            }
        },
    };
    match dispatch(cli, settings) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(err) => {
            eprintln!("error: {}", voiceperf::text::printable(&format!("{err:#}")));
            ExitCode::from(voiceperf::exit_code_for(&err))
        }
    }
}
