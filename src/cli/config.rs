//! `--config FILE.toml` for `bench` and `run`: any flag of the command as a TOML key (its long
//! name, `test-duration = "30s"`, `clients = [1, 4, 16]`, `insecure = true`); a flag given on
//! the command line wins over the file. The settings a run used — every flag, defaults
//! included — are written back in the same format ([`effective`]) into the run folder as
//! `config.toml`, so `--config results/<run>/config.toml` repeats it.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::Path;

use anyhow::{Context, bail};
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command, CommandFactory, FromArgMatches};

use super::Cli;
use crate::CliError;

/// Subcommands that take `--config`.
pub const CONFIGURABLE: [&str; 2] = ["bench", "run"];

/// Flags never taken from or written to a settings file: `--config` itself, help, and the
/// results folder (a repeated run gets a fresh one).
const NOT_SETTINGS: [&str; 4] = ["config", "help", "version", "output-dir"];

/// The parsed command line with `--config` applied, and for `bench`/`run` the settings the
/// command runs with, as TOML.
#[derive(Debug)]
pub struct Parsed {
    /// The command line.
    pub cli: Cli,
    /// Every setting of `bench`/`run` (see [`effective`]).
    pub settings: Option<String>,
}

/// Parses `args` (program name first). Clap's own errors (usage, `--help`, `--version`) are
/// returned as `clap::Error` inside the `anyhow::Error` so the caller can let clap print them.
pub fn parse_from(args: Vec<OsString>) -> anyhow::Result<Parsed> {
    let command = Cli::command();
    let matches = command.clone().try_get_matches_from(&args)?;
    let Some((name, sub)) = matches.subcommand() else {
        return Ok(Parsed {
            cli: Cli::from_arg_matches(&matches)?,
            settings: None,
        });
    };
    if !CONFIGURABLE.contains(&name) {
        return Ok(Parsed {
            cli: Cli::from_arg_matches(&matches)?,
            settings: None,
        });
    }
    let sub_command = command
        .find_subcommand(name)
        .context("the subcommand parsed but is not defined")?
        .clone();
    let (matches, sub) = match sub.get_one::<std::path::PathBuf>("config") {
        Some(path) => {
            let extra = config_args(&sub_command, sub, path)?;
            let at = args
                .iter()
                .position(|a| a.to_str() == Some(name))
                .context("the subcommand is not on the command line")?;
            let mut merged: Vec<OsString> = args[..=at].to_vec();
            merged.extend(extra);
            merged.extend(args[at + 1..].iter().cloned());
            let matches = command.clone().try_get_matches_from(&merged)?;
            let sub = matches
                .subcommand_matches(name)
                .context("the subcommand vanished")?
                .clone();
            (matches, sub)
        }
        None => (matches.clone(), sub.clone()),
    };
    Ok(Parsed {
        cli: Cli::from_arg_matches(&matches)?,
        settings: Some(effective(name, &sub_command, &sub)),
    })
}

fn takes_no_value(arg: &Arg) -> bool {
    matches!(
        arg.get_action(),
        ArgAction::SetTrue | ArgAction::SetFalse | ArgAction::Count
    )
}

/// The command-line arguments the settings file at `path` adds: one per key whose flag (and
/// whose conflicting flags) the command line did not give.
fn config_args(
    command: &Command,
    given: &ArgMatches,
    path: &Path,
) -> anyhow::Result<Vec<OsString>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("--config {}", path.display()))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| {
        CliError::Usage(format!(
            "--config {}: not valid TOML: {}",
            path.display(),
            e.to_string().trim()
        ))
    })?;
    let name = command.get_name();
    let on_command_line =
        |arg: &Arg| given.value_source(arg.get_id().as_str()) == Some(ValueSource::CommandLine);
    let mut args = Vec::new();
    for (key, value) in &table {
        let long = key.replace('_', "-");
        let arg = command
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()))
            .filter(|_| !NOT_SETTINGS.contains(&long.as_str()));
        let Some(arg) = arg else {
            return Err(CliError::Usage(format!(
                "--config {}: {key} is not a setting of `voiceperf {name}` (keys are its long flag names, e.g. test-duration = \"30s\"; see voiceperf {name} --help)",
                path.display()
            ))
            .into());
        };
        // Conflicts are declared on one side only (`--port` conflicts with `--url`).
        let conflicts_with_given = command.get_arguments().any(|other| {
            on_command_line(other)
                && (command
                    .get_arg_conflicts_with(other)
                    .iter()
                    .any(|c| c.get_id() == arg.get_id())
                    || command
                        .get_arg_conflicts_with(arg)
                        .iter()
                        .any(|c| c.get_id() == other.get_id()))
        });
        if on_command_line(arg) || conflicts_with_given {
            continue;
        }
        let scalar = |v: &toml::Value| -> anyhow::Result<String> {
            Ok(match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                _ => bail!(
                    "--config {}: {key} must be a string, number or true/false",
                    path.display()
                ),
            })
        };
        match value {
            toml::Value::Boolean(on) if takes_no_value(arg) => {
                if *on {
                    args.push(format!("--{long}").into());
                }
            }
            toml::Value::Array(items) => {
                let items = items
                    .iter()
                    .map(scalar)
                    .collect::<anyhow::Result<Vec<_>>>()?;
                if matches!(arg.get_action(), ArgAction::Append)
                    && arg.get_value_delimiter().is_none()
                {
                    args.extend(
                        items
                            .iter()
                            .map(|i| OsString::from(format!("--{long}={i}"))),
                    );
                } else {
                    args.push(format!("--{long}={}", items.join(",")).into());
                }
            }
            other if takes_no_value(arg) => {
                return Err(CliError::Usage(format!(
                    "--config {}: {key} is a switch: give true or false, not {other}",
                    path.display()
                ))
                .into());
            }
            toml::Value::String(url) if long == "url" && url.contains("***") => {
                return Err(CliError::Usage(format!(
                    "--config {}: its url has secrets left out (***), as voiceperf writes it: give --url on the command line",
                    path.display()
                ))
                .into());
            }
            other => args.push(format!("--{long}={}", scalar(other)?).into()),
        }
    }
    Ok(args)
}

/// A value as TOML: a number or boolean when it reads as one, else a string.
fn toml_value(raw: &str) -> toml::Value {
    if let Ok(i) = raw.parse::<i64>() {
        toml::Value::Integer(i)
    } else if let Ok(f) = raw.parse::<f64>()
        && f.is_finite()
    {
        toml::Value::Float(f)
    } else if let Ok(b) = raw.parse::<bool>() {
        toml::Value::Boolean(b)
    } else {
        toml::Value::String(raw.to_string())
    }
}

/// Every setting `voiceperf <name>` runs with (defaults included) as a settings file that
/// `--config` reads back. Header values are secrets and are not written: their names are
/// listed in a comment.
pub fn effective(name: &str, command: &Command, matches: &ArgMatches) -> String {
    let mut table = toml::Table::new();
    let mut headers = BTreeSet::new();
    let mut secrets_left_out = false;
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        let id = arg.get_id().as_str();
        if NOT_SETTINGS.contains(&long) || matches.value_source(id).is_none() {
            continue;
        }
        if long == "header" {
            for raw in matches.get_raw(id).into_iter().flatten() {
                let text = raw.to_string_lossy();
                headers.insert(
                    text.split(':')
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                );
            }
            continue;
        }
        if takes_no_value(arg) {
            table.insert(long.into(), toml::Value::Boolean(matches.get_flag(id)));
            continue;
        }
        let raws: Vec<String> = matches
            .get_raw(id)
            .into_iter()
            .flatten()
            .map(|r| r.to_string_lossy().into_owned())
            .collect();
        let multiple = matches!(arg.get_action(), ArgAction::Append);
        let raws: Vec<String> = if long == "url" {
            let redacted: Vec<String> = raws.iter().map(|r| crate::redact::url(r)).collect();
            if redacted != raws {
                secrets_left_out = true;
            }
            redacted
        } else {
            raws
        };
        let value = if multiple {
            toml::Value::Array(raws.iter().map(|r| toml_value(r)).collect())
        } else if let Some(raw) = raws.first() {
            toml_value(raw)
        } else {
            continue;
        };
        table.insert(long.into(), value);
    }
    let mut text = format!(
        "# Settings of this `voiceperf {name}` run (voiceperf {}).\n# Repeat it: voiceperf {name} --config config.toml   (flags given on the command line win)\n",
        crate::LONG_VERSION
    );
    if !headers.is_empty() {
        text.push_str(&format!(
            "# Header values are not saved; give them again: {}\n",
            headers
                .iter()
                .map(|h| format!("-H '{h}: …'"))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    if secrets_left_out {
        text.push_str(
            "# The URL's secrets (user info, token parameters) are not saved (***): give --url again.\n",
        );
    }
    text.push_str(&toml::to_string(&table).unwrap_or_default());
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> anyhow::Result<Parsed> {
        parse_from(args.iter().map(OsString::from).collect())
    }

    fn bench(parsed: Parsed) -> (crate::bench::BenchOptions, String) {
        match parsed.cli.command {
            super::super::Command::Bench(args) => {
                (args.into_options().unwrap(), parsed.settings.unwrap())
            }
            _ => panic!("not bench"),
        }
    }

    #[test]
    fn the_file_sets_flags_and_the_command_line_wins() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "test-duration = \"2m\"\nclients = [1, 4]\nthreshold = 0.25\nquiet = true\nurl = \"ws://h:1/ws\"\nheader = [\"X-A: 1\", \"X-B: 2\"]\n",
        )
        .unwrap();
        let f = file.to_str().unwrap();
        let parsed = parse(&["voiceperf", "bench", "--config", f, "--threshold", "0.75"]).unwrap();
        let (o, _) = bench(parsed);
        assert_eq!(o.test_duration, std::time::Duration::from_secs(120));
        assert_eq!(o.clients, vec![1, 4]);
        assert_eq!(o.threshold, 0.75);
        assert!(o.quiet);
        assert_eq!(o.url, "ws://h:1/ws/{stream_id}");
        assert_eq!(o.headers.len(), 2);
        // --port on the command line overrides the file's --url it conflicts with.
        let parsed = parse(&["voiceperf", "bench", "--config", f, "--port", "9"]).unwrap();
        let (o, settings) = bench(parsed);
        assert_eq!(o.url, "ws://127.0.0.1:9/ws/{stream_id}");
        assert!(settings.contains("test-duration = \"2m\""), "{settings}");
        assert!(settings.contains("-H 'X-A: …'"), "{settings}");
        assert!(!settings.contains("X-A: 1"), "{settings}");
        // A token in the URL is not written, and a file holding the redacted URL says so.
        let parsed = parse(&["voiceperf", "bench", "--url", "wss://h/ws?token=abc123"]).unwrap();
        let (_, settings) = bench(parsed);
        assert!(
            !settings.contains("abc123") && settings.contains("token=***"),
            "{settings}"
        );
        std::fs::write(&file, &settings).unwrap();
        let err = parse(&["voiceperf", "bench", "--config", f]).unwrap_err();
        assert!(format!("{err:#}").contains("give --url"), "{err:#}");
        let parsed = parse(&[
            "voiceperf",
            "bench",
            "--config",
            f,
            "--url",
            "wss://h/ws?token=abc123",
        ]);
        assert!(parsed.is_ok());
    }

    #[test]
    fn written_settings_read_back_to_the_same_options() {
        let parsed = parse(&[
            "voiceperf",
            "bench",
            "--clients",
            "2,8",
            "--test-duration",
            "45s",
            "--audible-dbfs",
            "-30",
            "--save-audio",
            "-o",
            "somewhere",
        ])
        .unwrap();
        let (first, written) = bench(parsed);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, &written).unwrap();
        let again = parse(&["voiceperf", "bench", "--config", file.to_str().unwrap()]).unwrap();
        let (second, rewritten) = bench(again);
        assert_eq!(
            format!("{:?}", second.clients),
            format!("{:?}", first.clients)
        );
        assert_eq!(second.test_duration, first.test_duration);
        assert_eq!(second.audible_dbfs, -30.0);
        assert!(second.save_audio);
        assert_eq!(
            second.output_dir, None,
            "the results folder is not a setting"
        );
        assert_eq!(rewritten, written);
    }

    #[test]
    fn unknown_keys_and_bad_toml_are_usage_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "test-durration = 30\n").unwrap();
        let err = parse(&["voiceperf", "bench", "--config", file.to_str().unwrap()]).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("c.toml") && text.contains("test-durration"),
            "{text}"
        );
        std::fs::write(&file, "clients = [\n").unwrap();
        let err = parse(&["voiceperf", "bench", "--config", file.to_str().unwrap()]).unwrap_err();
        assert!(format!("{err:#}").contains("not valid TOML"), "{err:#}");
    }
}
