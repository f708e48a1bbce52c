//! `voiceperf run`: the whole pipeline in one command — prep the recordings, validate the
//! dataset, start the built-in agent in-process (or use the user's), benchmark it, join its
//! server log with the run, and render the report — everything in one `results/<timestamp>/`
//! folder.
//!
//! Each step uses its module's library entry point ([`prep::prepare_all`],
//! [`validate::validate_dataset`], [`agent::start`], [`bench::bench`], [`analyze::analyze`],
//! [`report::render_folder`]); [`record`] is `run.json`, rewritten after every step.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;

use crate::agent::{AgentOptions, LogTarget};
use crate::analyze::{AnalyzeOptions, RunJoin};
use crate::bench::{BenchOptions, BenchReport, Stop};
use crate::dataset::manifest::PrepSettings;
use crate::delay::Delay;
use crate::prep::{FileStatus, PrepOptions};
use crate::runfolder::record::{
    AgentRecord, BuiltInAgent, ExternalAgent, PrepRecord, RunRecord, StepRecord, ValidateRecord,
};
use crate::runfolder::{AGENT_LOG_FILE, ANALYSIS_FILE, BREAKDOWN_CSV_FILE, RUN_FILE};
use crate::serverlog::input::Input;
use crate::term::{Painter, Stream};
use crate::validate::ValidateOptions;
use crate::{Outcome, agent, analyze, bench, clock, fsutil, prep, report, validate};

/// The recordings folder `run` prepares when given none.
pub const DEFAULT_RAW_DIR: &str = "raw_recordings";

/// Which agent the run measures.
#[derive(Debug, Clone)]
pub enum AgentChoice {
    /// Start `voiceperf agent` in-process with these options (port and log are set by `run`).
    BuiltIn(Box<AgentOptions>),
    /// The agent at the bench URL, run by the user.
    External {
        /// Its server log, analysed and joined with the run when given.
        server_log: Option<PathBuf>,
    },
}

/// Validated options of `voiceperf run`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Recordings to prepare into `bench.audio_dir`; `None`: `raw_recordings/` if it exists.
    pub raw_dir: Option<PathBuf>,
    /// Whether to run the prep step at all.
    pub prep: bool,
    /// The agent measured.
    pub agent: AgentChoice,
    /// The benchmark (its `audio_dir` is the dataset, its `output_dir` the run folder).
    pub bench: BenchOptions,
}

/// The built-in agent as `run` starts it: the reference pipeline (500 ms VAD stop) with
/// service times that vary from turn to turn like real services (ASR 50±10 ms, LLM TTFB
/// 300±60 ms, TTS TTFB 150±30 ms), a greeting and RTVI messages, on a free loopback port.
pub fn builtin_agent_options() -> AgentOptions {
    AgentOptions {
        host: "127.0.0.1".into(),
        port: 0,
        asr: Delay::Normal {
            mean_ms: 50.0,
            sd_ms: 10.0,
        },
        llm_ttfb: Delay::Normal {
            mean_ms: 300.0,
            sd_ms: 60.0,
        },
        tts_ttfb: Delay::Normal {
            mean_ms: 150.0,
            sd_ms: 30.0,
        },
        greeting: true,
        rtvi: true,
        ..AgentOptions::default()
    }
}

impl RunOptions {
    /// `voiceperf run` with every default: the built-in agent, 4 users, a 30 s window.
    pub fn new() -> RunOptions {
        RunOptions {
            raw_dir: None,
            prep: true,
            agent: AgentChoice::BuiltIn(Box::new(builtin_agent_options())),
            bench: BenchOptions {
                clients: vec![4],
                client_start_delay: std::time::Duration::from_millis(500),
                test_duration: std::time::Duration::from_secs(30),
                ..BenchOptions::default()
            },
        }
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// What a finished `run` produced.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The run folder.
    pub dir: PathBuf,
    /// The HTML report, when it was written.
    pub report: Option<PathBuf>,
    /// `run.json` as written last.
    pub record: RunRecord,
    /// The benchmark, when it ran.
    pub bench: Option<BenchReport>,
    /// How the process should end.
    pub outcome: Outcome,
}

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

    fn finish(self, status: &str, detail: String) -> StepRecord {
        let record = StepRecord {
            name: self.name.to_string(),
            status: status.to_string(),
            detail,
            seconds: self.started.elapsed().as_secs_f64(),
        };
        let paint = Painter::for_stream(Stream::Stderr);
        let mark = match status {
            "ok" => paint.green("✓"),
            "failed" => paint.red("✗"),
            "skipped" => paint.dim("–"),
            _ => paint.yellow("!"),
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

/// Runs the pipeline and writes everything into one run folder; prints step lines on stderr
/// but not the final summary (see [`run`]).
pub fn run_pipeline(options: &RunOptions) -> anyhow::Result<RunResult> {
    let mut bench_options = options.bench.clone();
    bench_options.validate()?;
    let dir = bench::prepare_output_dir(&bench_options)?;
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

    let agent_record = match &options.agent {
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
    let mut record = RunRecord {
        tool_version: crate::VERSION.to_string(),
        command: std::env::args().collect(),
        started_at: clock::local_timestamp(),
        finished_at: None,
        steps: Vec::new(),
        prep: None,
        validate: None,
        agent: agent_record,
        problems: Vec::new(),
        outcome: "running".into(),
    };
    let record_path = dir.join(RUN_FILE);
    fsutil::write_json_atomic(&record_path, &record)?;

    // 1. prep: recordings → dataset, skipping what is up to date.
    let raw_dir = match &options.raw_dir {
        Some(dir) => Some(dir.clone()),
        None => Some(PathBuf::from(DEFAULT_RAW_DIR)).filter(|d| d.is_dir()),
    };
    let timer = StepTimer::start("prep");
    match (options.prep, raw_dir) {
        (false, _) => record.steps.push(timer.finish(
            "skipped",
            format!(
                "--no-prep: {} used as it is",
                bench_options.audio_dir.display()
            ),
        )),
        (true, None) => record.steps.push(timer.finish(
            "skipped",
            format!(
                "no {DEFAULT_RAW_DIR}/ folder: {} used as it is",
                bench_options.audio_dir.display()
            ),
        )),
        (true, Some(raw_dir)) => {
            let prep_options = PrepOptions {
                inputs: vec![raw_dir.clone()],
                output_dir: bench_options.audio_dir.clone(),
                settings: PrepSettings::default(),
                force: false,
                dry_run: false,
                quiet: true,
                report: None,
            };
            let report = match prep::prepare_all(&prep_options) {
                Ok(report) => report,
                Err(e) => {
                    record.steps.push(
                        timer.finish("failed", format!("{}: {e:#}", fsutil::slash(&raw_dir))),
                    );
                    record.problems.push(format!("prep: {e:#}"));
                    record.outcome = "failed".into();
                    record.finished_at = Some(clock::local_timestamp());
                    fsutil::write_json_atomic(&record_path, &record)?;
                    return Err(e.context(format!("preparing {}", raw_dir.display())));
                }
            };
            let failed: Vec<String> = report
                .files
                .iter()
                .filter(|f| f.status == FileStatus::Failed)
                .map(|f| format!("{}: {}", f.input, f.error.as_deref().unwrap_or("failed")))
                .collect();
            for failure in &failed {
                eprintln!("  {} {failure}", paint.red("error:"));
            }
            let detail = format!(
                "{} → {}: {} prepared, {} up to date, {} failed",
                fsutil::slash(&raw_dir),
                fsutil::slash(&bench_options.audio_dir),
                report.prepared,
                report.unchanged,
                failed.len()
            );
            if !failed.is_empty() {
                record.problems.push(format!(
                    "prep: {} recording(s) could not be prepared",
                    failed.len()
                ));
            }
            let status = if failed.is_empty() { "ok" } else { "warning" };
            record.steps.push(timer.finish(status, detail));
            record.prep = Some(PrepRecord {
                raw_dir: fsutil::slash(&raw_dir),
                audio_dir: fsutil::slash(&bench_options.audio_dir),
                prepared: report.prepared,
                unchanged: report.unchanged,
                failed,
            });
        }
    }
    fsutil::write_json_atomic(&record_path, &record)?;

    // 2. validate: stop with the fixes when the dataset is not benchmark-ready.
    let timer = StepTimer::start("validate");
    let validation =
        validate::validate_dataset(&ValidateOptions::new(vec![bench_options.audio_dir.clone()]))?;
    let totals = &validation.totals;
    record.validate = Some(ValidateRecord {
        files: totals.files,
        passed: totals.passed,
        warnings: totals.warnings,
        failed: totals.failed,
        ok: validation.passed,
    });
    let detail = format!(
        "{}: {} files, {} passed, {} with warnings, {} failed",
        fsutil::slash(&bench_options.audio_dir),
        totals.files,
        totals.passed,
        totals.warnings,
        totals.failed
    );
    if !validation.passed {
        record.steps.push(timer.finish("failed", detail));
        eprint!(
            "{}",
            validate::output::render(&validation, &Painter::for_stream(Stream::Stderr), true)
        );
        let problem = format!(
            "the dataset in {} is not benchmark-ready: apply the fixes above (or re-record), then run again",
            bench_options.audio_dir.display()
        );
        return finish(dir, record, None, vec![problem], Outcome::Failed);
    }
    let status = if totals.warnings > 0 { "warning" } else { "ok" };
    record.steps.push(timer.finish(status, detail));
    fsutil::write_json_atomic(&record_path, &record)?;

    // 3. agent and bench, each on its own runtime so the agent's pacing and the load
    // generator's timing do not wait on each other's tasks.
    let bench_runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("voiceperf-bench")
        .build()
        .context("starting the tokio runtime")?;
    let agent_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("voiceperf-agent")
        .build()
        .context("starting the agent's tokio runtime")?;
    let (agent, log_path) = match &options.agent {
        AgentChoice::BuiltIn(agent_options) => {
            let timer = StepTimer::start("agent");
            let path = dir.join(AGENT_LOG_FILE);
            let mut agent_options = (**agent_options).clone();
            agent_options.log = LogTarget::File(path.clone());
            let handle = agent_runtime.block_on(agent::start(agent_options))?;
            let port = handle.local_addr().port();
            bench_options.url = bench::url_template(&handle.local_addr().ip().to_string(), port);
            if bench_options.agent_log.is_none() {
                bench_options.agent_log = Some(path.clone());
            }
            if let AgentRecord::BuiltIn(a) = &mut record.agent {
                a.url = bench_options.url.clone();
            }
            record.steps.push(timer.finish(
                "ok",
                format!(
                    "built-in agent on {}, log {}",
                    handle.local_addr(),
                    fsutil::slash(&path)
                ),
            ));
            (Some(handle), Some(path))
        }
        AgentChoice::External { server_log } => {
            let timer = StepTimer::start("agent");
            let log = server_log
                .as_ref()
                .map_or("no server log".to_string(), |l| {
                    format!("server log {}", fsutil::slash(l))
                });
            record.steps.push(timer.finish(
                "skipped",
                format!(
                    "not started: benchmarking your agent at {} ({log})",
                    bench_options.url
                ),
            ));
            (None, server_log.clone())
        }
    };
    fsutil::write_json_atomic(&record_path, &record)?;

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
    let bench_result = bench_runtime.block_on(async {
        let stop = Stop::on_ctrl_c();
        bench::bench(&bench_options, &stop).await
    });
    let bench_step = match &bench_result {
        Ok(run) => {
            let turns: usize = run
                .levels
                .iter()
                .map(|l| l.summary.results.latency.as_ref().map_or(0, |s| s.count))
                .sum();
            let levels: Vec<String> = run.levels.iter().map(|l| l.clients.to_string()).collect();
            timer.finish(
                if run.outcome == Outcome::Success {
                    "ok"
                } else {
                    "failed"
                },
                format!(
                    "{} user(s) × {} s window against {}: {turns} turn(s) measured",
                    levels.join(","),
                    bench_options.test_duration.as_secs_f64(),
                    bench_options.url
                ),
            )
        }
        Err(e) => timer.finish("failed", format!("{e:#}")),
    };
    record.steps.push(bench_step);

    if let Some(handle) = agent {
        let report = agent_runtime.block_on(handle.shutdown())?;
        if let AgentRecord::BuiltIn(a) = &mut record.agent {
            a.connections = Some(report.counters.connections_accepted);
            a.replies = Some(report.counters.replies_started);
            a.pacing_lateness_ms = report.pacing_lateness_ms.clone();
            a.pacing_warning = agent::pacing_warning(&report);
        }
    }
    drop(agent_runtime);
    drop(bench_runtime);
    let bench_run = match bench_result {
        Ok(run) => run,
        Err(e) => {
            record.problems.push(format!("bench: {e:#}"));
            fsutil::write_json_atomic(&record_path, &record)?;
            return Err(e);
        }
    };
    let mut problems = bench_run.problems.clone();
    fsutil::write_json_atomic(&record_path, &record)?;

    // 4. analyze: the server log joined with each level of the run.
    let timer = StepTimer::start("analyze");
    match &log_path {
        None => record.steps.push(timer.finish(
            "skipped",
            "no server log (give --server-log FILE for the latency breakdown)".into(),
        )),
        Some(log) => {
            let mut details = Vec::new();
            let mut failed = false;
            let sweeping = bench_run.levels.len() > 1;
            for level in &bench_run.levels {
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
            record.steps.push(timer.finish(
                if failed { "failed" } else { "ok" },
                format!("{}: {}", fsutil::slash(log), details.join("; ")),
            ));
        }
    }

    let outcome = if bench_run.outcome == Outcome::GateFailed {
        Outcome::GateFailed
    } else {
        Outcome::failed_if(!problems.is_empty() || !record.problems.is_empty())
    };
    finish(dir, record, Some(bench_run), problems, outcome)
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
    if let Some(reason) = analysis.empty_reason() {
        anyhow::bail!("{reason}");
    }
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
            "{} malformed value(s) in the log (first: {}:{}: {})",
            analysis.warnings_total,
            analysis.warnings.first().map_or("", |w| w.file.as_str()),
            analysis.warnings.first().map_or(0, |w| w.line),
            analysis.warnings.first().map_or("", |w| w.message.as_str())
        );
    }
    let c = &join.counts;
    Ok(format!(
        "{} of {} turns split into VAD/ASR/LLM/TTS/other",
        c.with_all_components, c.with_latency
    ))
}

/// Records the outcome, renders the report, and rewrites `run.json` a last time.
fn finish(
    dir: PathBuf,
    mut record: RunRecord,
    bench: Option<BenchReport>,
    problems: Vec<String>,
    outcome: Outcome,
) -> anyhow::Result<RunResult> {
    record.problems.extend(problems);
    record.outcome = match outcome {
        Outcome::Success => "success",
        Outcome::Failed => "failed",
        Outcome::GateFailed => "gate_failed",
    }
    .into();
    let record_path = dir.join(RUN_FILE);
    let mut report = None;
    if bench.is_some() {
        let timer = StepTimer::start("report");
        // The report shows the steps, so the record is on disk before it renders.
        record.finished_at = Some(clock::local_timestamp());
        fsutil::write_json_atomic(&record_path, &record)?;
        match report::render_folder(&dir) {
            Ok(rendered) => {
                record
                    .steps
                    .push(timer.finish("ok", fsutil::slash(&rendered.html)));
                report = Some(rendered.html);
            }
            Err(e) => {
                record.steps.push(timer.finish("failed", format!("{e:#}")));
                record.problems.push(format!("report: {e:#}"));
            }
        }
    }
    record.finished_at = Some(clock::local_timestamp());
    fsutil::write_json_atomic(&record_path, &record)?;
    let outcome = if report.is_none() && bench.is_some() && outcome == Outcome::Success {
        Outcome::Failed
    } else {
        outcome
    };
    Ok(RunResult {
        dir,
        report,
        record,
        bench,
        outcome,
    })
}

/// Runs `voiceperf run`: the pipeline, then the summary and the report's path on stdout.
pub fn run(options: &RunOptions) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let result = run_pipeline(options)?;
    let out = Painter::for_stream(Stream::Stdout);
    let err = Painter::for_stream(Stream::Stderr);
    if let Some(bench_run) = &result.bench {
        println!();
        if let [level] = bench_run.levels.as_slice() {
            print!(
                "{}",
                bench::output::summary_text(&level.summary, &result.dir, out)
            );
            if let Some(line) = breakdown_line(&level.dir) {
                println!("{line}");
            }
        } else {
            print!("{}", bench::output::sweep_text(&bench_run.sweep, out));
            println!("results: {}", result.dir.display());
        }
        if let Some(warning) = bench_run
            .levels
            .iter()
            .find_map(|l| l.summary.self_check.warning.as_ref())
        {
            eprintln!("{}", err.red(&err.bold(&format!("warning: {warning}"))));
        }
    }
    if let AgentRecord::BuiltIn(agent) = &result.record.agent
        && let Some(warning) = &agent.pacing_warning
    {
        eprintln!("{}", err.red(&format!("warning: {warning}")));
    }
    for problem in &result.record.problems {
        eprintln!("{} {problem}", err.red("error:"));
    }
    if let Some(report) = &result.report {
        println!(
            "{} {}  ({:.0} s in all)",
            out.bold("report:"),
            report.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(result.outcome)
}

/// "where the latency goes" in one line, from a level's `analysis.json`.
fn breakdown_line(level_dir: &Path) -> Option<String> {
    let analysis: analyze::Analysis =
        crate::runfolder::read_json(&level_dir.join(ANALYSIS_FILE)).ok()?;
    let join = analysis.join?;
    let parts: Vec<String> = report::charts::parts(&join.overall)
        .iter()
        .filter_map(|(_, label, _, s)| Some(format!("{label} {:.0} ms", s.as_ref()?.mean * 1000.0)))
        .collect();
    (!parts.is_empty()).then(|| format!("where it goes (mean): {}", parts.join(" · ")))
}
