//! `voiceperf analyze`: an agent server's log → per-service timings per client.
//!
//! The pipeline: [`input`] opens each log (file or stdin, plain or gzip) and splits it into
//! lines in constant memory; [`parse`] recognises metric, client-start and agent truth lines;
//! [`collect`] folds them per stream inside the [`window`]; [`summary`] computes per-client
//! means, the seed's overall numbers and percentiles over all samples into an [`Analysis`]
//! (the JSON schema); [`join`] attributes the samples to a bench run's turns and splits each
//! turn's latency; [`report`] renders text and CSV.

pub mod collect;
pub mod join;
pub mod output;
pub mod results;
pub mod window;

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::Outcome;
use crate::fsutil;
use crate::serverlog::input::{self, Input, LineReader};
use crate::serverlog::parse::{LineParser, MetricKind, ServiceNames};
use crate::term::{Painter, Stream};
use collect::{Collected, Collector};
pub use results::Analysis;
use results::InputReport;
use window::{WindowReport, WindowSpec};

/// What goes to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// The seed's tables plus percentiles.
    #[default]
    Text,
    /// The [`Analysis`] as JSON.
    Json,
    /// The per-client table as CSV ([`output::csv`]).
    Csv,
}

/// Validated options of `voiceperf analyze`.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// Logs, read in order as one concatenated log.
    pub inputs: Vec<Input>,
    /// Which lines count.
    pub window: WindowSpec,
    /// Service names recognised as LLM, TTS and ASR.
    pub services: ServiceNames,
    /// What to print on stdout.
    pub format: OutputFormat,
    /// Also write the JSON here.
    pub export_json: Option<PathBuf>,
    /// Also write the CSV here.
    pub export_csv: Option<PathBuf>,
    /// Join with this bench run; its streams and metrics window replace `window`.
    pub run: Option<RunJoin>,
    /// Also write the joined per-turn table (CSV) here (with `run`).
    pub export_turns_csv: Option<PathBuf>,
    /// Rejected-line warnings printed on stderr (all are counted).
    pub max_warnings: usize,
}

impl AnalyzeOptions {
    /// Options for `inputs` with every default: seed window, pipecat service names, text.
    pub fn new(inputs: Vec<Input>) -> Self {
        AnalyzeOptions {
            inputs,
            window: WindowSpec::LastClientStart,
            services: ServiceNames::default(),
            format: OutputFormat::Text,
            export_json: None,
            export_csv: None,
            run: None,
            export_turns_csv: None,
            max_warnings: 20,
        }
    }
}

/// A bench run to join the log with.
#[derive(Debug, Clone, PartialEq)]
pub struct RunJoin {
    /// The run folder (`results/<timestamp>`).
    pub dir: PathBuf,
    /// The log clock's offset from UTC (s), when known; measured from the log otherwise.
    pub log_utc_offset_s: Option<i32>,
}

/// Why an analysis has nothing to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmptyReason {
    /// Default window, but no client-start line anywhere.
    #[error(
        "no client start found: no `Accepting WebSocket connection for stream ID client_<n>_<digits>` \
         line in {lines} lines, so the default window (after the last client start) is empty; \
         use --all to analyze every line, or --run DIR to take the turns of a bench run (a \
         stock pipecat log has no such line){metric_hint}"
    )]
    NoClientStart {
        /// Lines read.
        lines: u64,
        /// Extra hint about metric lines.
        metric_hint: String,
    },
    /// Not one metric line of the recognised services.
    #[error(
        "no metric lines: none of the {lines} lines is a TTFB / processing time / token / ASR \
         compute latency line of the services {services} (pipecat logs them at DEBUG level with \
         `PipelineParams(enable_metrics=True, enable_usage_metrics=True)`); if your services \
         have other names, use --llm-service/--tts-service/--asr-service"
    )]
    NoMetricLines {
        /// Lines read.
        lines: u64,
        /// The service names looked for.
        services: String,
    },
    /// Metric lines inside the window, but every one was rejected: nothing usable remains.
    #[error(
        "nothing usable: all {rejected} metric line(s) inside the window were rejected \
         ({reasons}); first: {first}"
    )]
    AllRejected {
        /// Lines rejected.
        rejected: u64,
        /// Counts by reason, e.g. "2 not a number, 1 infinite".
        reasons: String,
        /// The first rejected line, `file:line: message`.
        first: String,
    },
    /// Joined with a run, the log's lines have no stream id and none could be attributed.
    #[error("no turn of the run could be split: {note}")]
    NoStreamIds {
        /// Why, and what to change.
        note: String,
    },
    /// Metric lines exist, none inside the window.
    #[error("window empty: {metric_lines} metric lines in the log, none {window}")]
    WindowEmpty {
        /// Metric lines anywhere.
        metric_lines: u64,
        /// The window, described.
        window: String,
    },
}

/// Reads the logs (joined with the bench run of `options.run`, if any) and computes the
/// analysis. Unreadable inputs are reported in [`Analysis::inputs`] and the others still read;
/// an error only when no input could be opened or the run folder cannot be read.
pub fn analyze(options: &AnalyzeOptions) -> Result<Analysis> {
    let run = match &options.run {
        Some(run) => Some(join::JoinedRun::load(&run.dir)?),
        None => None,
    };
    let window = match &run {
        Some(run) => run.window(),
        None => options.window.clone(),
    };
    let (collected, inputs) = read_logs(options, window)?;
    let (collected, joined) = match (&run, &options.run) {
        (Some(run), Some(join_options)) => {
            let (collected, report) = join::join(collected, run, join_options.log_utc_offset_s);
            (collected, Some(report))
        }
        _ => (collected, None),
    };
    Ok(build_analysis(
        collected,
        inputs,
        options.services.clone(),
        joined,
    ))
}

/// One pass over the logs.
fn read_logs(
    options: &AnalyzeOptions,
    window: WindowSpec,
) -> Result<(Collected, Vec<InputReport>)> {
    let parser = LineParser::new(options.services.clone());
    let mut collector = Collector::new(window);
    let mut inputs = Vec::with_capacity(options.inputs.len());
    let mut scratch = Vec::new();
    for input in &options.inputs {
        let name = input.to_string();
        let opened = match input::open(input) {
            Ok(opened) => opened,
            Err(e) => {
                inputs.push(InputReport {
                    name,
                    gzip: false,
                    bytes: 0,
                    lines: 0,
                    error: Some(format!("{e:#}")),
                });
                continue;
            }
        };
        let mut lines = LineReader::new(opened.reader);
        let mut error = None;
        loop {
            let line_number = lines.line_number() + 1;
            let line = match lines.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => break,
                Err(e) => {
                    error = Some(format!(
                        "read error after line {}: {e}",
                        lines.line_number()
                    ));
                    break;
                }
            };
            let text = if input::has_escape(line) {
                input::strip_ansi(line, &mut scratch);
                &scratch[..]
            } else {
                line
            };
            if let Some(event) = parser.parse(text) {
                collector.observe(event, text, &name, line_number);
            }
        }
        collector.counts.lines += lines.line_number();
        collector.counts.bytes += lines.bytes();
        collector.counts.truncated_lines += lines.truncated_lines();
        inputs.push(InputReport {
            name,
            gzip: opened.gzip,
            bytes: lines.bytes(),
            lines: lines.line_number(),
            error,
        });
    }
    if !inputs.is_empty() && inputs.iter().all(|i| i.error.is_some() && i.lines == 0) {
        let errors: Vec<String> = inputs.iter().filter_map(|i| i.error.clone()).collect();
        anyhow::bail!("no input could be read: {}", errors.join("; "));
    }
    Ok((collector.finish(), inputs))
}

fn build_analysis(
    collected: Collected,
    inputs: Vec<InputReport>,
    services: ServiceNames,
    joined: Option<join::JoinReport>,
) -> Analysis {
    let clients: Vec<results::ClientReport> = collected
        .streams
        .iter()
        .map(|(id, data)| results::client_report(id, data))
        .collect();
    let seed = results::seed_numbers(&clients);
    let percentiles = results::all_sample_percentiles(&clients);
    let latencies: Vec<f64> = clients
        .iter()
        .flat_map(|c| c.agent_turns.iter().map(|t| t.truth.latency_s))
        .collect();
    let mut window = describe_window(&collected);
    if let Some(joined) = &joined {
        window.description = format!(
            "the bench run {}: its {} stream ids, samples of turns inside its metrics window \
             ({} to {}, unix s)",
            joined.run_dir,
            joined.counts.connections,
            joined.metrics_start_at,
            joined.metrics_end_at
        );
    }
    Analysis {
        version: crate::VERSION.to_string(),
        inputs,
        services,
        window,
        counts: collected.counts,
        seed,
        percentiles,
        agent_turn_latency: crate::stats::Summary::from_samples(&latencies),
        clients,
        warnings: collected.warnings,
        warnings_total: collected.warnings_total,
        join: joined,
    }
}

fn describe_window(collected: &Collected) -> WindowReport {
    let window = &collected.window;
    let (since, until) = window.bounds();
    let description = match window {
        WindowSpec::LastClientStart => match &collected.last_client_start {
            Some(start) => format!(
                "after the last client start, {} at {}:{}{} (the old analyzer's rule; --all for every line)",
                start.stream_id,
                start.file,
                start.line,
                start
                    .log_time
                    .as_ref()
                    .map(|t| format!(" ({t})"))
                    .unwrap_or_default()
            ),
            None => "after the last client start (none found)".to_string(),
        },
        WindowSpec::Range {
            since: None,
            until: None,
        } => "every line (--all)".to_string(),
        WindowSpec::Range { .. } => format!("lines logged {}", time_bounds(since, until)),
        WindowSpec::Streams { stream_ids, .. } => format!(
            "the run's {} stream ids, lines logged {}",
            stream_ids.len(),
            time_bounds(since, until)
        ),
    };
    WindowReport {
        mode: window.mode().to_string(),
        description,
        last_client_start: collected.last_client_start.clone(),
        since: since.map(|t| t.to_string()),
        until: until.map(|t| t.to_string()),
        stream_ids: match window {
            WindowSpec::Streams { stream_ids, .. } => Some(stream_ids.len()),
            _ => None,
        },
    }
}

fn time_bounds(
    since: Option<crate::serverlog::parse::LogTime>,
    until: Option<crate::serverlog::parse::LogTime>,
) -> String {
    match (since, until) {
        (Some(s), Some(u)) => format!("from {s} to {u} (log clock)"),
        (Some(s), None) => format!("from {s} on (log clock)"),
        (None, Some(u)) => format!("until {u} (log clock)"),
        (None, None) => "at any time".to_string(),
    }
}

impl Analysis {
    /// Why the analysis has nothing to show, or `None` if it has samples or agent turns.
    pub fn empty_reason(&self) -> Option<EmptyReason> {
        let samples: usize = MetricKind::ALL.iter().map(|&k| self.sample_count(k)).sum();
        if samples + self.agent_turn_count() > 0 {
            return None;
        }
        let counts = &self.counts;
        if self.window.mode == WindowSpec::LastClientStart.mode() && counts.client_starts == 0 {
            let metric_hint = if counts.metric_lines == 0 {
                " (there are no metric lines either)".to_string()
            } else {
                format!(" ({} metric lines are there)", counts.metric_lines)
            };
            return Some(EmptyReason::NoClientStart {
                lines: counts.lines,
                metric_hint,
            });
        }
        if counts.metric_lines == 0 {
            let names: Vec<&str> = self
                .services
                .llm
                .iter()
                .chain(&self.services.tts)
                .chain(&self.services.asr)
                .map(|p| p.as_str())
                .collect();
            return Some(EmptyReason::NoMetricLines {
                lines: counts.lines,
                services: names.join(", "),
            });
        }
        // Joined with a run, accepted lines can all fall outside the run's metrics window:
        // then the window is the reason, not the rejections.
        let all_rejected = counts.rejected_lines > 0
            && (self.join.is_none() || counts.metric_lines_in_window == 0);
        if all_rejected {
            return Some(EmptyReason::AllRejected {
                rejected: counts.rejected_lines,
                reasons: self.rejected_summary(),
                first: self
                    .warnings
                    .first()
                    .map(|w| format!("{}:{}: {}", w.file, w.line, w.message))
                    .unwrap_or_default(),
            });
        }
        if let Some(note) = self.join.as_ref().and_then(|j| j.note.clone()) {
            return Some(EmptyReason::NoStreamIds { note });
        }
        let mut window = self.window.description.clone();
        if let Some(j) = &self.join {
            if j.counts.unlabeled_outside > 0 {
                window.push_str(&format!(
                    "; {} lines without a stream id fell outside every turn of the run: they \
                     are attributed by time, so check that the log clock's offset from UTC is \
                     right (--log-utc-offset; used: {} from {})",
                    j.counts.unlabeled_outside,
                    j.clock.offset_s,
                    j.clock.source.replace('_', " ")
                ));
            }
        }
        if counts.untimed_metric_lines > 0 {
            window.push_str(&format!(
                "; {} metric lines had no timestamp",
                counts.untimed_metric_lines
            ));
        }
        Some(EmptyReason::WindowEmpty {
            metric_lines: counts.metric_lines,
            window: format!("inside the window: {window}"),
        })
    }

    /// The rejected lines by reason, e.g. "2 not a number, 1 infinite".
    pub fn rejected_summary(&self) -> String {
        self.counts
            .rejected_by_reason
            .iter()
            .map(|(reason, n)| format!("{n} {reason}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether something went wrong on the way (an unreadable input or rejected lines).
    pub fn had_problems(&self) -> bool {
        self.warnings_total > 0 || self.inputs.iter().any(|i| i.error.is_some())
    }
}

/// Runs `voiceperf analyze`: analysis, problems on stderr, report on stdout, exports.
pub fn run(options: &AnalyzeOptions) -> Result<Outcome> {
    let analysis = analyze(options)?;
    let paint_err = Painter::for_stream(Stream::Stderr);
    for input in &analysis.inputs {
        if let Some(error) = &input.error {
            eprintln!("{} {}: {error}", paint_err.red("error:"), input.name);
        }
    }
    for warning in analysis.warnings.iter().take(options.max_warnings) {
        // One line each, whatever control characters the log line held.
        eprintln!(
            "{} {}:{}: {}",
            paint_err.yellow("warning:"),
            crate::text::printable(&warning.file),
            warning.line,
            crate::text::printable(&warning.message)
        );
    }
    let hidden = analysis
        .warnings_total
        .saturating_sub(options.max_warnings as u64);
    if hidden > 0 {
        eprintln!(
            "{} {hidden} more rejected line(s) not shown (--max-warnings; the first {} are in the JSON)",
            paint_err.yellow("warning:"),
            collect::MAX_KEPT_WARNINGS
        );
    }
    if let Some(reason) = analysis.empty_reason() {
        return Err(reason.into());
    }
    if let Some(path) = &options.export_json {
        fsutil::write_json_atomic(path, &analysis)?;
    }
    if let Some(path) = &options.export_csv {
        fsutil::write_atomic(path, output::csv(&analysis).as_bytes())?;
    }
    if let (Some(path), Some(joined)) = (&options.export_turns_csv, &analysis.join) {
        fsutil::write_atomic(path, output::turns_csv(joined).as_bytes())?;
    }
    let stdout = match options.format {
        OutputFormat::Text => output::text(&analysis, Painter::for_stream(Stream::Stdout)),
        OutputFormat::Json => {
            let mut json = serde_json::to_string_pretty(&analysis).context("encoding JSON")?;
            json.push('\n');
            json
        }
        OutputFormat::Csv => output::csv(&analysis),
    };
    print_stdout(&stdout)?;
    Ok(Outcome::failed_if(analysis.had_problems()))
}

fn print_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // `voiceperf analyze … | head` closing the pipe early is not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to stdout"),
    }
}
