//! `voiceperf run`: the whole pipeline in one command — prep the recordings, validate the
//! dataset, start the built-in agent in-process (or use the user's), benchmark it, join its
//! server log with the run, and render the report — everything in one `results/<timestamp>/`
//! folder.
//!
//! [`run_pipeline`] calls one function per step ([`steps`]), each using its module's library
//! entry point and returning the step's record; `run.json` (`runfolder::record`) is rewritten
//! after every step.

mod steps;

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::agent::AgentOptions;
use crate::bench::{BenchOptions, BenchReport};
use crate::delay::Delay;
use crate::protocol::Protocol;
use crate::runfolder::ANALYSIS_FILE;
use crate::runfolder::record::{AgentRecord, RunRecord};
use crate::term::{Painter, Stream};
use crate::{Outcome, analyze, bench, report};

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

/// The built-in agent of `run` speaking `protocol`: as a telephony bot it sends no RTVI
/// messages (phone streams carry none).
pub fn builtin_agent_for(protocol: Protocol) -> AgentOptions {
    AgentOptions {
        protocol,
        rtvi: protocol == Protocol::Pipecat,
        ..builtin_agent_options()
    }
}

impl RunOptions {
    /// `voiceperf run` with every default: the built-in agent and bench's defaults.
    pub fn new() -> RunOptions {
        RunOptions {
            raw_dir: None,
            prep: true,
            agent: AgentChoice::BuiltIn(Box::new(builtin_agent_options())),
            bench: BenchOptions::default(),
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

/// Runs the pipeline and writes everything into one run folder; prints step lines on stderr
/// but not the final summary (see [`run`]).
pub fn run_pipeline(options: &RunOptions) -> anyhow::Result<RunResult> {
    let mut bench_options = options.bench.clone();
    bench_options.validate()?;
    let mut run = steps::Run::open(options, &mut bench_options)?;

    let (step, prep) = steps::prep(options, &bench_options.audio_dir);
    match prep {
        Ok(prep) => run.record.prep = prep,
        Err(e) => {
            run.record.steps.push(step);
            return Err(run.fail(e)?);
        }
    }
    if let Some(failed) = run
        .record
        .prep
        .as_ref()
        .map(|p| p.failed.len())
        .filter(|&n| n > 0)
    {
        let problem = format!("prep: {failed} recording(s) could not be prepared");
        run.record.problems.push(problem);
    }
    run.push(step)?;

    let (step, validation) = steps::validate(&bench_options.audio_dir)?;
    run.record.validate = Some(validation.record);
    run.push(step)?;
    if let Some(problem) = validation.problem {
        return run.finish(None, vec![problem], Outcome::Failed);
    }

    let runtimes = steps::Runtimes::new()?;
    let (step, agent) = steps::agent(
        options,
        &run.dir,
        &runtimes,
        &mut bench_options,
        &mut run.record.agent,
    )?;
    run.push(step)?;

    let (step, bench) = steps::bench(&bench_options, &runtimes);
    run.push(step)?;
    if let Some(handle) = agent.handle {
        steps::stop_agent(handle, &runtimes, &mut run.record.agent)?;
    }
    drop(runtimes);
    let bench = match bench {
        Ok(bench) => bench,
        Err(e) => return Err(run.fail(e.context("bench"))?),
    };

    let mut problems = bench.problems.clone();
    let step = steps::analyze(agent.log.as_deref(), &bench, &mut problems);
    run.push(step)?;

    let outcome = if bench.outcome == Outcome::GateFailed {
        Outcome::GateFailed
    } else {
        Outcome::failed_if(!problems.is_empty() || !run.record.problems.is_empty())
    };
    run.finish(Some(bench), problems, outcome)
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
    let mut line = if parts.is_empty() {
        match &join.note {
            Some(note) => return Some(format!("where it goes: unknown. {note}")),
            None => return None,
        }
    } else {
        format!("where it goes (mean): {}", parts.join(" · "))
    };
    let c = &join.counts;
    if c.with_vad_wait < c.with_latency {
        line.push_str(&format!(
            " (VAD wait known for {} of {} turns; else inside transport / other)",
            c.with_vad_wait, c.with_latency
        ));
    }
    if let Some(note) = &join.note {
        line.push('\n');
        line.push_str(note);
    }
    Some(line)
}
