//! `run.json`: what `voiceperf run` did around the benchmark — the dataset steps, the agent it
//! measured, where each step's output went and how long it took. The report reads it back
//! (through this type) to show the run's configuration.

use serde::{Deserialize, Serialize};

use crate::delay::Delay;
use crate::stats::Summary;

/// `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// voiceperf version.
    pub tool_version: String,
    /// The command line.
    pub command: Vec<String>,
    /// When the run started (local time, ISO 8601).
    pub started_at: String,
    /// When it finished (local time, ISO 8601); `null` while running.
    pub finished_at: Option<String>,
    /// Each step in order, with its outcome and wall time.
    pub steps: Vec<StepRecord>,
    /// The prep step, when it ran.
    pub prep: Option<PrepRecord>,
    /// The validate step, when it ran.
    pub validate: Option<ValidateRecord>,
    /// The agent that was measured.
    pub agent: AgentRecord,
    /// Problems that make the run's exit status non-zero, in words.
    pub problems: Vec<String>,
    /// How the run ended (`running` until it has).
    pub outcome: RunOutcome,
}

/// How a run ended, as `run.json` says it (snake_case strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Still running (or killed before it could say).
    Running,
    /// Every step succeeded.
    Success,
    /// A step failed, or some input or check did.
    Failed,
    /// A CI gate (`--fail-p95`, `--max-error-rate`) was not met.
    GateFailed,
}

impl From<crate::Outcome> for RunOutcome {
    fn from(outcome: crate::Outcome) -> Self {
        match outcome {
            crate::Outcome::Success => RunOutcome::Success,
            crate::Outcome::Failed => RunOutcome::Failed,
            crate::Outcome::GateFailed => RunOutcome::GateFailed,
        }
    }
}

/// How one step of the pipeline went (snake_case strings in `run.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// It did its job.
    Ok,
    /// It did its job, with something the user should look at.
    Warning,
    /// It failed.
    Failed,
    /// It did not run (not asked for, or nothing to do).
    Skipped,
}

impl StepStatus {
    /// The status as `run.json` writes it.
    pub fn name(self) -> &'static str {
        match self {
            StepStatus::Ok => "ok",
            StepStatus::Warning => "warning",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
        }
    }
}

/// One step of the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// `prep`, `validate`, `agent`, `bench`, `analyze` or `report`.
    pub name: String,
    /// How it went.
    pub status: StepStatus,
    /// What it did, in one line.
    pub detail: String,
    /// Wall time (s).
    pub seconds: f64,
}

/// The prep step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrepRecord {
    /// Recordings folder.
    pub raw_dir: String,
    /// Dataset folder written.
    pub audio_dir: String,
    /// Queries (re)written.
    pub prepared: usize,
    /// Queries already up to date.
    pub unchanged: usize,
    /// Recordings that failed, each with its reason.
    pub failed: Vec<String>,
}

/// The validate step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidateRecord {
    /// Files checked.
    pub files: usize,
    /// Files that passed.
    pub passed: usize,
    /// Files with warnings.
    pub warnings: usize,
    /// Files that failed.
    pub failed: usize,
    /// Whether the dataset passed.
    pub ok: bool,
}

/// The agent that was measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AgentRecord {
    /// `voiceperf agent`, started in-process by `run`.
    BuiltIn(Box<BuiltInAgent>),
    /// An agent the user runs (`--url` or `--host/--port`).
    External(ExternalAgent),
}

/// The in-process reference agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuiltInAgent {
    /// URL template it served.
    pub url: String,
    /// Its log, relative to the run folder.
    pub log: String,
    /// Non-speech before the end of a turn (ms).
    pub vad_stop_ms: u32,
    /// Simulated ASR time.
    pub asr: Delay,
    /// Simulated LLM time to first token.
    pub llm_ttfb: Delay,
    /// Simulated TTS time to first audio.
    pub tts_ttfb: Delay,
    /// Whether it greeted each connection.
    pub greeting: bool,
    /// Whether it sent RTVI messages.
    pub rtvi: bool,
    /// Connections it accepted; filled in at shutdown.
    pub connections: Option<u64>,
    /// Replies it started; filled in at shutdown.
    pub replies: Option<u64>,
    /// How late its reply frames left versus their schedule (ms).
    pub pacing_lateness_ms: Option<Summary>,
    /// Warning when the agent could not keep its own pacing.
    pub pacing_warning: Option<String>,
}

/// An agent run by the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalAgent {
    /// URL template benchmarked.
    pub url: String,
    /// Its server log (`--server-log`), if given.
    pub server_log: Option<String>,
}

impl AgentRecord {
    /// The server log analysed, relative to the run folder for the built-in agent.
    pub fn log(&self) -> Option<&str> {
        match self {
            AgentRecord::BuiltIn(agent) => Some(&agent.log),
            AgentRecord::External(agent) => agent.server_log.as_deref(),
        }
    }

    /// The URL template benchmarked.
    pub fn url(&self) -> &str {
        match self {
            AgentRecord::BuiltIn(agent) => &agent.url,
            AgentRecord::External(agent) => &agent.url,
        }
    }
}
