//! `voiceperf merge SHARD_DIR… -o DIR`: the shards of one run (`bench --shard I/N`) made into
//! one run folder that `report`, `analyze --run` and the CI gates read as any other.
//!
//! Every figure is recomputed from all the shards' turns by the same code that summarises a
//! single run ([`crate::summary`]): percentiles are never averaged; errors, connections and
//! turns are summed. Each shard's self-check stays its own (its raw lateness samples are not
//! in its files) and the worst one is the merged run's; the per-shard table goes into
//! `summary.json` (`shards`). Shards that are not one run are refused ([`check`]).

pub mod check;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::fsutil;
use crate::runfolder::results::{ClientResults, RunSummary, SelfCheck, ShardRow, SweepSummary};
use crate::runfolder::{Level, bot_audio_file_name, client_file_name};
use crate::summary::gates::{self, Gates};
use crate::summary::{self, Finish, SummaryContext, text};
use crate::term::{Painter, Stream};
use crate::{CliError, Outcome};

/// Validated options of `voiceperf merge`.
#[derive(Debug, Clone, Default)]
pub struct MergeOptions {
    /// The shards' run folders.
    pub shards: Vec<PathBuf>,
    /// The merged run folder to write (new or empty).
    pub output: PathBuf,
    /// Merge even with shards missing or unfinished (the run is then marked incomplete).
    pub partial: bool,
    /// CI gates; each unset one is taken from the shards' configuration (`min_turns` is
    /// ignored: see the field below).
    pub gates: Gates,
    /// `--min-turns`; unset: the shards' (else [`gates::DEFAULT_MIN_TURNS`]).
    pub min_turns: Option<usize>,
}

/// What [`merge`] made.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The merged run folder.
    pub dir: PathBuf,
    /// Its summary.
    pub summary: RunSummary,
    /// The gates' verdict.
    pub gates: SweepSummary,
    /// How the command should end.
    pub outcome: Outcome,
    /// Why the outcome is not success, in words.
    pub problems: Vec<String>,
}

/// One shard as read.
struct Shard {
    dir: PathBuf,
    summary: RunSummary,
    clients: Vec<ClientResults>,
}

/// Merges the shard folders into `options.output`.
pub fn merge(options: &MergeOptions) -> anyhow::Result<Merged> {
    if options.shards.is_empty() {
        return Err(CliError::Usage("merge needs one or more shard folders".into()).into());
    }
    let mut shards = Vec::new();
    for dir in &options.shards {
        shards.push(read_shard(dir)?);
    }
    shards.sort_by_key(|s| s.summary.shard.as_ref().map_or(0, |i| i.index));

    let folders: Vec<check::ShardFolder<'_>> = shards
        .iter()
        .filter_map(|s| {
            Some(check::ShardFolder {
                dir: s.dir.display().to_string(),
                summary: &s.summary,
                shard: s.summary.shard.as_ref()?,
            })
        })
        .collect();
    let findings = check::check(&folders);
    if !findings.fatal.is_empty() {
        bail!("refusing to merge: {}", findings.fatal.join("\n  "));
    }
    if !findings.incomplete.is_empty() && !options.partial {
        bail!(
            "refusing to merge: {}\n  (--partial merges what there is, marked incomplete)",
            findings.incomplete.join("\n  ")
        );
    }
    let mut problems = findings.incomplete;

    let mut clients: BTreeMap<(usize, usize), (&ClientResults, usize)> = BTreeMap::new();
    let mut stream_ids: BTreeMap<&str, usize> = BTreeMap::new();
    for (k, shard) in shards.iter().enumerate() {
        for client in &shard.clients {
            if let Some(&other) = stream_ids.get(client.stream_id.as_str()) {
                bail!(
                    "refusing to merge: stream id {} is in both {} and {}: not shards of one run",
                    client.stream_id,
                    shards[other].dir.display(),
                    shard.dir.display()
                );
            }
            stream_ids.insert(&client.stream_id, k);
            if clients
                .insert((client.user, client.connection), (client, k))
                .is_some()
            {
                bail!(
                    "refusing to merge: user {} connection {} is in two shards: not shards of one run",
                    client.user,
                    client.connection
                );
            }
        }
    }
    let all: Vec<&ClientResults> = clients.values().map(|(c, _)| *c).collect();

    let first = &shards[0].summary;
    let mut run = first.run.clone();
    run.started_at = shards
        .iter()
        .map(|s| s.summary.run.started_at)
        .fold(f64::INFINITY, f64::min);
    run.users = shards.iter().map(|s| s.summary.run.users).sum();
    let context = SummaryContext {
        config: first.config.clone(),
        dataset: first.dataset.clone(),
        run,
        shard: None,
    };
    let finished_at = shards
        .iter()
        .filter_map(|s| s.summary.run.finished_at)
        .fold(f64::NEG_INFINITY, f64::max);
    let finish = Finish {
        finished_at: if finished_at.is_finite() {
            finished_at
        } else {
            context.run.started_at
        },
        stopped_early: shards.iter().any(|s| s.summary.run.stopped_early),
        agent_agreement: agent_agreement(&shards, &all),
        shard: None,
    };
    let rows: Vec<ShardRow> = shards.iter().map(shard_row).collect();
    let mut summary =
        summary::summarize_clients(&context, &all, worst_self_check(&rows), Some(&finish));
    add_shard_warnings(&mut summary.self_check, &rows);
    summary.run.complete = problems.is_empty() && shards.iter().all(|s| s.summary.run.complete);
    summary.shards = rows;
    for row in &summary.shards {
        if let Some(warning) = &row.clock.warning {
            problems.push(format!("shard {} clock check: {warning}", row.index));
        }
    }
    if summary.results.latency.is_none() {
        problems.push("no turn got reply audio inside the metrics window".into());
    }

    let dir = prepare_output(&options.output)?;
    for (client, k) in clients.values() {
        let name = client_file_name(&client.stream_id);
        copy(&shards[*k].dir.join(&name), &dir.join(&name))?;
        let audio = bot_audio_file_name(&client.stream_id);
        if shards[*k].dir.join(&audio).exists() {
            copy(&shards[*k].dir.join(&audio), &dir.join(&audio))?;
        }
    }
    summary::write_summary_files(&dir, &summary, all.iter().copied())?;

    let gates = Gates {
        slo_p95: options.gates.slo_p95.or(summary.config.slo_p95),
        fail_p95: options.gates.fail_p95.or(summary.config.fail_p95),
        max_error_rate: options
            .gates
            .max_error_rate
            .or(summary.config.max_error_rate),
        fail_stop_p95: options.gates.fail_stop_p95.or(summary.config.fail_stop_p95),
        max_false_stop_rate: options
            .gates
            .max_false_stop_rate
            .or(summary.config.max_false_stop_rate),
        min_turns: options
            .min_turns
            .or(summary.config.min_turns)
            .unwrap_or(gates::DEFAULT_MIN_TURNS),
    };
    let verdict = gates::evaluate(&[(&summary, dir.as_path())], &dir, gates);
    let outcome = if !verdict.gate_failures.is_empty() {
        Outcome::GateFailed
    } else {
        Outcome::failed_if(!problems.is_empty())
    };
    problems.extend(verdict.gate_failures.iter().cloned());
    Ok(Merged {
        dir,
        summary,
        gates: verdict,
        outcome,
        problems,
    })
}

/// Runs `voiceperf merge`: merges, prints the summary with the per-shard table.
pub fn run(options: &MergeOptions) -> anyhow::Result<Outcome> {
    let merged = merge(options)?;
    let paint = Painter::for_stream(Stream::Stdout);
    print!(
        "{}",
        text::summary_text(&merged.summary, &merged.dir, paint)
    );
    println!("report: voiceperf report {}", merged.dir.display());
    let paint = Painter::for_stream(Stream::Stderr);
    if let Some(warning) = &merged.summary.self_check.warning {
        eprintln!("{}", paint.red(&paint.bold(&format!("warning: {warning}"))));
    }
    for problem in &merged.problems {
        eprintln!("error: {problem}");
    }
    Ok(merged.outcome)
}

fn read_shard(dir: &Path) -> anyhow::Result<Shard> {
    if !dir.is_dir() {
        bail!("{}: not a folder", dir.display());
    }
    let level = Level::load(dir)?;
    let summary = match (level.summary, level.summary_problem) {
        (Some(summary), _) => summary,
        (None, problem) => bail!(
            "{}: not a shard's run folder: {}",
            dir.display(),
            problem.unwrap_or_default()
        ),
    };
    if summary.shard.is_none() {
        bail!(
            "{}: a whole run, not a shard (it was not made by `bench --shard I/N`)",
            dir.display()
        );
    }
    if let Some(problem) = level.unreadable.first() {
        bail!(
            "{}: {} client file(s) cannot be read, so its turns cannot all be merged: {problem}",
            dir.display(),
            level.unreadable.len()
        );
    }
    Ok(Shard {
        dir: dir.to_path_buf(),
        summary,
        clients: level.clients,
    })
}

/// A new or empty output folder.
fn prepare_output(dir: &Path) -> anyhow::Result<PathBuf> {
    if dir.exists() {
        let empty = dir
            .read_dir()
            .with_context(|| format!("-o {}: not a folder", dir.display()))?
            .next()
            .is_none();
        if !empty {
            bail!(
                "-o {} already holds files; merge writes into a new or empty folder",
                dir.display()
            );
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir.to_path_buf())
}

fn copy(from: &Path, to: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    fsutil::write_atomic(to, &bytes)
}

fn shard_row(shard: &Shard) -> ShardRow {
    let s = &shard.summary;
    let info = s.shard.as_ref();
    ShardRow {
        index: info.map_or(0, |i| i.index),
        dir: shard.dir.display().to_string(),
        host: info.map_or_else(String::new, |i| i.host.clone()),
        users: s.run.users,
        connections: s.results.total_clients,
        latency: s.results.latency.clone(),
        errors: s.errors.total,
        error_rate: s.errors.error_rate,
        complete: s.run.complete,
        self_check: s.self_check.clone(),
        clock: info.map(|i| i.clock.clone()).unwrap_or_else(|| {
            crate::runfolder::results::ClockCheck {
                ready_at: 0.0,
                lead_s: 0.0,
                first_user_late_ms: None,
                wall_clock_drift_ms: None,
                tolerance_ms: 0.0,
                ok: false,
                warning: Some("no clock check".into()),
            }
        }),
    }
}

/// The merged run's self-check before its turns judge it: the worst shard's send lateness
/// and receive lag (by p99). [`summary::summarize_clients`] then bounds the merged turns'
/// latency error with them.
fn worst_self_check(rows: &[ShardRow]) -> SelfCheck {
    let worst = |pick: fn(&SelfCheck) -> Option<&crate::stats::Summary>| {
        rows.iter()
            .filter_map(|r| pick(&r.self_check))
            .max_by(|a, b| a.p99.total_cmp(&b.p99))
            .cloned()
    };
    summary::self_check_of(
        worst(|c| c.send_lateness_ms.as_ref()),
        worst(|c| c.receive_lag_ms.as_ref()),
    )
}

/// Trusted only when every shard is, self-check and clock check alike, and the merged
/// turns' error bound is within the tolerance.
fn add_shard_warnings(check: &mut SelfCheck, rows: &[ShardRow]) {
    let mut warnings: Vec<String> = rows
        .iter()
        .filter_map(|r| {
            let warning = r.self_check.warning.as_ref().or(r.clock.warning.as_ref())?;
            Some(format!("shard {} ({}): {warning}", r.index, r.host))
        })
        .collect();
    if warnings.is_empty() && !check.trustworthy {
        warnings.extend(check.warning.take());
    }
    check.trustworthy = warnings.is_empty();
    check.warning = (!warnings.is_empty()).then(|| warnings.join(" — "));
}

/// The agreement with the agent's truth lines, over the turns every shard matched (each
/// matched turn carries its difference); `None` when no shard checked it.
fn agent_agreement(
    shards: &[Shard],
    clients: &[&ClientResults],
) -> Option<crate::runfolder::results::AgentAgreement> {
    let checked: Vec<_> = shards
        .iter()
        .filter_map(|s| s.summary.agent_agreement.as_ref())
        .collect();
    if checked.is_empty() {
        return None;
    }
    let mut logs: Vec<&str> = checked.iter().map(|a| a.log.as_str()).collect();
    logs.dedup();
    let differences: Vec<f64> = clients
        .iter()
        .flat_map(|c| c.turns.iter())
        .filter_map(|t| t.agent.as_ref().map(|a| a.difference_ms))
        .collect();
    let mut agreement = summary::agent_agreement(
        logs.join(", "),
        checked.iter().map(|a| a.truth_lines).sum(),
        &differences,
    );
    let signal_differences: Vec<f64> = clients
        .iter()
        .flat_map(|c| c.turns.iter())
        .filter_map(|t| {
            let stop = t
                .interruption
                .as_ref()
                .map(|i| &i.stop)
                .or(t.distractor.as_ref().map(|d| &d.stop))?;
            stop.agent.as_ref()?.signal_difference_ms
        })
        .collect();
    agreement.interruption_lines = checked.iter().map(|a| a.interruption_lines).sum();
    agreement.matched_stops = signal_differences.len();
    agreement.stop_signal_difference_ms = crate::stats::Summary::from_samples(&signal_differences);
    Some(agreement)
}
