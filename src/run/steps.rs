//! The steps of `voiceperf run`, one function each, each returning its [`StepRecord`] (and
//! what the next steps need); [`Run`] is the run folder being filled and its `run.json`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;

use super::{AgentChoice, RunOptions, RunResult};
use crate::agent::{self, AgentHandle, LogTarget};
use crate::analyze::{self, AnalyzeOptions, RunJoin};
use crate::bench::{self, BenchOptions, BenchReport, Stop};
use crate::dataset::{DEFAULT_RECORDINGS_DIR, PrepSettings};
use crate::prep::{self, FileStatus, PrepOptions};
use crate::report;
use crate::runfolder::record::{
    AgentRecord, BuiltInAgent, ExternalAgent, PrepRecord, RunOutcome, RunRecord, StepRecord,
    StepStatus, ValidateRecord,
};
use crate::runfolder::{AGENT_LOG_FILE, ANALYSIS_FILE, BREAKDOWN_CSV_FILE, RUN_FILE};
use crate::serverlog::input::Input;
use crate::term::{Painter, Stream};
use crate::validate::{self, ValidateOptions};
use crate::{Outcome, clock, fsutil};

/// Times one step and records it.
struct StepTimer {
    name: &'static str,
    started: Instant,
}

impl StepTimer {
    fn start(name: &'static str) -> StepTimer {
        StepTimer {
            name,
            started: Instant::now(),
        }
    }

    /// The step's record, also printed as one line on stderr.
    fn finish(self, status: StepStatus, detail: String) -> StepRecord {
        let record = StepRecord {
            name: self.name.to_string(),
            status,
            detail,
            seconds: self.started.elapsed().as_secs_f64(),
        };
        let paint = Painter::for_stream(Stream::Stderr);
        let mark = match status {
            StepStatus::Ok => paint.green("✓"),
            StepStatus::Failed => paint.red("✗"),
            StepStatus::Skipped => paint.dim("–"),
            StepStatus::Warning => paint.yellow("!"),
        };
        eprintln!(
            "{mark} {:<9}{} {}",
            record.name,
            record.detail,
            paint.dim(&format!("({:.1} s)", record.seconds))
        );
        record
    }
}

/// The run folder being filled, and its `run.json`.
pub(super) struct Run {
    /// The run folder.
    pub dir: PathBuf,
    /// `run.json` as it stands.
    pub record: RunRecord,
}

impl Run {
    /// Picks the run folder (never reusing one that holds files), points bench at it and
    /// writes the first `run.json`.
    pub fn open(options: &RunOptions, bench_options: &mut BenchOptions) -> anyhow::Result<Run> {
        let dir = bench::prepare_output_dir(bench_options)?;
        // `-o out` in the current folder comes back as `./out-2` when `out` holds files.
        let dir = dir.strip_prefix(".").map_or(dir.clone(), Path::to_path_buf);
        bench_options.output_dir = Some(dir.clone());
        bench_options.output_dir_exact = true;
        let paint = Painter::for_stream(Stream::Stderr);
        eprintln!(
            "{} results in {}",
            paint.bold("voiceperf run:"),
            dir.display()
        );
        let agent = match &options.agent {
            AgentChoice::BuiltIn(agent) => AgentRecord::BuiltIn(Box::new(BuiltInAgent {
                url: String::new(),
                log: AGENT_LOG_FILE.to_string(),
                vad_stop_ms: agent.vad_stop_ms,
                asr: agent.asr,
                llm_ttfb: agent.llm_ttfb,
                tts_ttfb: agent.tts_ttfb,
                greeting: agent.greeting,
                rtvi: agent.rtvi,
                connections: None,
                replies: None,
                pacing_lateness_ms: None,
                pacing_warning: None,
            })),
            AgentChoice::External { server_log } => AgentRecord::External(ExternalAgent {
                url: bench_options.url.clone(),
                server_log: server_log.as_deref().map(fsutil::slash),
            }),
        };
        let run = Run {
            dir,
            record: RunRecord {
                tool_version: crate::VERSION.to_string(),
                command: std::env::args().collect(),
                started_at: clock::local_timestamp(),
                finished_at: None,
                steps: Vec::new(),
                prep: None,
                validate: None,
                agent,
                problems: Vec::new(),
                outcome: RunOutcome::Running,
            },
        };
        run.save()?;
        Ok(run)
    }

    /// Rewrites `run.json`.
    pub fn save(&self) -> anyhow::Result<()> {
        fsutil::write_json_atomic(&self.dir.join(RUN_FILE), &self.record)
    }

    /// Records a finished step and saves.
    pub fn push(&mut self, step: StepRecord) -> anyhow::Result<()> {
        self.record.steps.push(step);
        self.save()
    }

    /// Records an error that ends the run, saves, and hands the error back to return.
    pub fn fail(&mut self, error: anyhow::Error) -> anyhow::Result<anyhow::Error> {
        self.record.problems.push(format!("{error:#}"));
        self.record.outcome = RunOutcome::Failed;
        self.record.finished_at = Some(clock::local_timestamp());
        self.save()?;
        Ok(error)
    }

    /// Records the outcome, renders the report (when bench ran), and rewrites `run.json` a
    /// last time.
    pub fn finish(
        mut self,
        bench: Option<BenchReport>,
        problems: Vec<String>,
        outcome: Outcome,
    ) -> anyhow::Result<RunResult> {
        self.record.problems.extend(problems);
        self.record.outcome = outcome.into();
        let mut report = None;
        if bench.is_some() {
            let timer = StepTimer::start("report");
            // The report shows the steps, so the record is on disk before it renders.
            self.record.finished_at = Some(clock::local_timestamp());
            self.save()?;
            match report::render_folder(&self.dir) {
                Ok(rendered) => {
                    self.record
                        .steps
                        .push(timer.finish(StepStatus::Ok, fsutil::slash(&rendered.html)));
                    report = Some(rendered.html);
                }
                Err(e) => {
                    self.record
                        .steps
                        .push(timer.finish(StepStatus::Failed, format!("{e:#}")));
                    self.record.problems.push(format!("report: {e:#}"));
                }
            }
        }
        self.record.finished_at = Some(clock::local_timestamp());
        self.save()?;
        let outcome = if report.is_none() && bench.is_some() && outcome == Outcome::Success {
            Outcome::Failed
        } else {
            outcome
        };
        Ok(RunResult {
            dir: self.dir,
            report,
            record: self.record,
            bench,
            outcome,
        })
    }
}

/// Step 1, prep: recordings → dataset, skipping what is up to date. The error, when there is
/// one, ends the run.
pub(super) fn prep(
    options: &RunOptions,
    audio_dir: &Path,
) -> (StepRecord, anyhow::Result<Option<PrepRecord>>) {
    let timer = StepTimer::start("prep");
    let raw_dir = match &options.raw_dir {
        Some(dir) => Some(dir.clone()),
        None => Some(PathBuf::from(DEFAULT_RECORDINGS_DIR)).filter(|d| d.is_dir()),
    };
    let raw_dir = match (options.prep, raw_dir) {
        (false, _) => {
            let detail = format!("--no-prep: {} used as it is", audio_dir.display());
            return (timer.finish(StepStatus::Skipped, detail), Ok(None));
        }
        (true, None) => {
            let detail = format!(
                "no {DEFAULT_RECORDINGS_DIR}/ folder: {} used as it is",
                audio_dir.display()
            );
            return (timer.finish(StepStatus::Skipped, detail), Ok(None));
        }
        (true, Some(raw_dir)) => raw_dir,
    };
    let prep_options = PrepOptions {
        inputs: vec![raw_dir.clone()],
        output_dir: audio_dir.to_path_buf(),
        settings: PrepSettings::default(),
        force: false,
        dry_run: false,
        quiet: true,
        report: None,
    };
    let report = match prep::prepare_all(&prep_options) {
        Ok(report) => report,
        Err(e) => {
            let step = timer.finish(
                StepStatus::Failed,
                format!("{}: {e:#}", fsutil::slash(&raw_dir)),
            );
            return (
                step,
                Err(e.context(format!("preparing {}", raw_dir.display()))),
            );
        }
    };
    let failed: Vec<String> = report
        .files
        .iter()
        .filter(|f| f.status == FileStatus::Failed)
        .map(|f| format!("{}: {}", f.input, f.error.as_deref().unwrap_or("failed")))
        .collect();
    let paint = Painter::for_stream(Stream::Stderr);
    for failure in &failed {
        eprintln!("  {} {failure}", paint.red("error:"));
    }
    let detail = format!(
        "{} → {}: {} prepared, {} up to date, {} failed",
        fsutil::slash(&raw_dir),
        fsutil::slash(audio_dir),
        report.prepared,
        report.unchanged,
        failed.len()
    );
    let status = if failed.is_empty() {
        StepStatus::Ok
    } else {
        StepStatus::Warning
    };
    let record = PrepRecord {
        raw_dir: fsutil::slash(&raw_dir),
        audio_dir: fsutil::slash(audio_dir),
        prepared: report.prepared,
        unchanged: report.unchanged,
        failed,
    };
    (timer.finish(status, detail), Ok(Some(record)))
}

/// What the validate step found.
pub(super) struct Validation {
    /// Its record in `run.json`.
    pub record: ValidateRecord,
    /// Why the run cannot go on, when the dataset is not benchmark-ready.
    pub problem: Option<String>,
}

/// Step 2, validate: the fixes are printed and the run stops when the dataset is not
/// benchmark-ready.
pub(super) fn validate(audio_dir: &Path) -> anyhow::Result<(StepRecord, Validation)> {
    let timer = StepTimer::start("validate");
    let validation =
        validate::validate_dataset(&ValidateOptions::new(vec![audio_dir.to_path_buf()]))?;
    let totals = &validation.totals;
    let record = ValidateRecord {
        files: totals.files,
        passed: totals.passed,
        warnings: totals.warnings,
        failed: totals.failed,
        ok: validation.passed,
    };
    let detail = format!(
        "{}: {} files, {} passed, {} with warnings, {} failed",
        fsutil::slash(audio_dir),
        totals.files,
        totals.passed,
        totals.warnings,
        totals.failed
    );
    if !validation.passed {
        let step = timer.finish(StepStatus::Failed, detail);
        eprint!(
            "{}",
            validate::output::render(&validation, &Painter::for_stream(Stream::Stderr), true)
        );
        let problem = format!(
            "the dataset in {} is not benchmark-ready: apply the fixes above (or re-record), then run again",
            audio_dir.display()
        );
        let found = Validation {
            record,
            problem: Some(problem),
        };
        return Ok((step, found));
    }
    let status = if totals.warnings > 0 {
        StepStatus::Warning
    } else {
        StepStatus::Ok
    };
    let found = Validation {
        record,
        problem: None,
    };
    Ok((timer.finish(status, detail), found))
}

/// The agent and the load generator each get a runtime of their own, so the agent's pacing
/// and bench's timing do not wait on each other's tasks.
pub(super) struct Runtimes {
    bench: tokio::runtime::Runtime,
    agent: tokio::runtime::Runtime,
}

impl Runtimes {
    /// Starts both runtimes.
    pub fn new() -> anyhow::Result<Runtimes> {
        Ok(Runtimes {
            bench: tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("voiceperf-bench")
                .build()
                .context("starting the tokio runtime")?,
            agent: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .thread_name("voiceperf-agent")
                .build()
                .context("starting the agent's tokio runtime")?,
        })
    }
}

/// The agent a run measures.
pub(super) struct Agent {
    /// The built-in agent, running; `None` for the user's own.
    pub handle: Option<AgentHandle>,
    /// Its server log, when there is one to analyse.
    pub log: Option<PathBuf>,
}

/// Step 3, agent: starts the built-in agent on a free port (pointing bench and the record at
/// it), or notes the user's.
pub(super) fn agent(
    options: &RunOptions,
    dir: &Path,
    runtimes: &Runtimes,
    bench_options: &mut BenchOptions,
    record: &mut AgentRecord,
) -> anyhow::Result<(StepRecord, Agent)> {
    let timer = StepTimer::start("agent");
    match &options.agent {
        AgentChoice::BuiltIn(agent_options) => {
            let path = dir.join(AGENT_LOG_FILE);
            let mut agent_options = (**agent_options).clone();
            agent_options.log = LogTarget::File(path.clone());
            let handle = runtimes.agent.block_on(agent::start(agent_options))?;
            let addr = handle.local_addr();
            bench_options.url = crate::protocol::url_template(&addr.ip().to_string(), addr.port());
            if bench_options.agent_log.is_none() {
                bench_options.agent_log = Some(path.clone());
            }
            if let AgentRecord::BuiltIn(a) = record {
                a.url = bench_options.url.clone();
            }
            let detail = format!("built-in agent on {addr}, log {}", fsutil::slash(&path));
            let agent = Agent {
                handle: Some(handle),
                log: Some(path),
            };
            Ok((timer.finish(StepStatus::Ok, detail), agent))
        }
        AgentChoice::External { server_log } => {
            let log = server_log
                .as_ref()
                .map_or("no server log".to_string(), |l| {
                    format!("server log {}", fsutil::slash(l))
                });
            let detail = format!(
                "not started: benchmarking your agent at {} ({log})",
                bench_options.url
            );
            let agent = Agent {
                handle: None,
                log: server_log.clone(),
            };
            Ok((timer.finish(StepStatus::Skipped, detail), agent))
        }
    }
}

/// Step 4, bench: every `--clients` level against the agent.
pub(super) fn bench(
    bench_options: &BenchOptions,
    runtimes: &Runtimes,
) -> (StepRecord, anyhow::Result<BenchReport>) {
    let timer = StepTimer::start("bench");
    let ramp = bench_options.client_start_delay.as_secs_f64()
        * (bench_options.clients.iter().copied().max().unwrap_or(1) - 1) as f64;
    let users: Vec<String> = bench_options
        .clients
        .iter()
        .map(|c| c.to_string())
        .collect();
    eprintln!(
        "  {:<9}{} user(s): {:.1} s ramp, then a {} s metrics window per level, then the last turns finish…",
        "bench",
        users.join(","),
        ramp,
        bench_options.test_duration.as_secs_f64()
    );
    let result = runtimes.bench.block_on(async {
        let stop = Stop::on_signal();
        bench::bench(bench_options, &stop).await
    });
    let step = match &result {
        Ok(run) => {
            let turns: usize = run
                .levels
                .iter()
                .map(|l| l.summary.results.latency.as_ref().map_or(0, |s| s.count))
                .sum();
            let levels: Vec<String> = run.levels.iter().map(|l| l.clients.to_string()).collect();
            let status = if run.outcome == Outcome::Success {
                StepStatus::Ok
            } else {
                StepStatus::Failed
            };
            timer.finish(
                status,
                format!(
                    "{} user(s) × {} s window against {}: {turns} turn(s) measured",
                    levels.join(","),
                    bench_options.test_duration.as_secs_f64(),
                    bench_options.url
                ),
            )
        }
        Err(e) => timer.finish(StepStatus::Failed, format!("{e:#}")),
    };
    (step, result)
}

/// Stops the built-in agent and records what it saw.
pub(super) fn stop_agent(
    handle: AgentHandle,
    runtimes: &Runtimes,
    record: &mut AgentRecord,
) -> anyhow::Result<()> {
    let report = runtimes.agent.block_on(handle.shutdown())?;
    if let AgentRecord::BuiltIn(a) = record {
        a.connections = Some(report.counters.connections_accepted);
        a.replies = Some(report.counters.replies_started);
        a.pacing_lateness_ms = report.pacing_lateness_ms.clone();
        a.pacing_warning = agent::pacing_warning(&report);
    }
    Ok(())
}

/// Step 5, analyze: the server log joined with each level of the run; problems are added to
/// `problems`.
pub(super) fn analyze(
    log: Option<&Path>,
    bench: &BenchReport,
    problems: &mut Vec<String>,
) -> StepRecord {
    let timer = StepTimer::start("analyze");
    let Some(log) = log else {
        return timer.finish(
            StepStatus::Skipped,
            "no server log (give --server-log FILE for the latency breakdown)".into(),
        );
    };
    let mut details = Vec::new();
    let mut failed = false;
    let sweeping = bench.levels.len() > 1;
    for level in &bench.levels {
        let name = if sweeping {
            format!("{} user(s): ", level.clients)
        } else {
            String::new()
        };
        match analyze_level(log, &level.dir) {
            Ok(detail) => details.push(format!("{name}{detail}")),
            Err(e) => {
                failed = true;
                details.push(format!("{name}failed"));
                problems.push(format!("analyze {}: {name}{e:#}", log.display()));
            }
        }
    }
    let status = if failed {
        StepStatus::Failed
    } else {
        StepStatus::Ok
    };
    timer.finish(
        status,
        format!("{}: {}", fsutil::slash(log), details.join("; ")),
    )
}

/// Joins the server log with one level's folder; writes `analysis.json` and the per-turn
/// breakdown CSV there. Returns a one-line description.
fn analyze_level(log: &Path, level_dir: &Path) -> anyhow::Result<String> {
    let mut options = AnalyzeOptions::new(vec![Input::File(log.to_path_buf())]);
    options.run = Some(RunJoin {
        dir: level_dir.to_path_buf(),
        log_utc_offset_s: None,
    });
    let analysis = analyze::analyze(&options)?;
    // A log whose lines carry no stream id, from overlapping users: the latency was measured,
    // only its split is missing; the analysis is kept so the report says why and what to
    // change.
    let unsplit = match analysis.empty_reason() {
        None => false,
        Some(analyze::EmptyReason::NoStreamIds { .. }) => true,
        Some(reason) => anyhow::bail!("{reason}"),
    };
    for input in &analysis.inputs {
        if let Some(error) = &input.error {
            anyhow::bail!("{}: {error}", input.name);
        }
    }
    fsutil::write_json_atomic(&level_dir.join(ANALYSIS_FILE), &analysis)?;
    let join = analysis
        .join
        .as_ref()
        .context("the analysis has no join with the run")?;
    fsutil::write_atomic(
        &level_dir.join(BREAKDOWN_CSV_FILE),
        analyze::output::turns_csv(join).as_bytes(),
    )?;
    if analysis.warnings_total > 0 {
        anyhow::bail!(
            "{} log line(s) rejected (malformed or non-physical values; first: {}:{}: {})",
            analysis.warnings_total,
            analysis.warnings.first().map_or("", |w| w.file.as_str()),
            analysis.warnings.first().map_or(0, |w| w.line),
            analysis.warnings.first().map_or("", |w| w.message.as_str())
        );
    }
    let c = &join.counts;
    let why = if unsplit || join.note.is_some() {
        " (the log's lines carry no stream id and users overlapped: see the report)"
    } else {
        ""
    };
    Ok(format!(
        "{} of {} turns split into VAD/ASR/LLM/TTS/other{why}",
        c.with_all_components, c.with_latency
    ))
}
