//! `voiceperf bench`: many simulated users over the pipecat WebSocket protocol, each a tokio
//! task speaking the dataset on an absolute clock, measuring end-of-speech → first-bot-audio
//! latency, glitches and reverse barge-ins, with results written as the run goes.
//!
//! The pipeline: [`dataset`] loads the queries and their speech ends; [`shape`] plans who
//! talks when (closed model, `--stages`, or open arrivals) and [`shard`] which of those users
//! this process simulates; [`client`] runs the users on worker threads, one [`pacer`] per
//! thread sending every due chunk (a microphone follows [`schedule`], a conversation is the
//! [`turn`] state machine with a [`playback`] model); [`writer`] keeps the results on disk;
//! [`summary`], [`output`] and [`sweep`] aggregate and present them; [`truth`] checks them
//! against the agent's own log; [`live`] draws the progress line.

mod client;
pub mod connect;
mod connection;
pub mod dataset;
pub mod failfast;
pub mod live;
pub mod output;
mod pacer;
pub mod playback;
pub mod scenario;
pub mod schedule;
pub mod shape;
pub mod shard;
pub mod stop;
pub mod sweep;
pub mod truth;
pub mod turn;
pub mod wire;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::audio::TARGET_RATE;
use crate::bench::connect::{Dialer, Header, TlsTrust};
use crate::bench::connection::RunContext;
use crate::bench::dataset::{QueryFile, QuerySet};
use crate::bench::failfast::FailFast;
use crate::bench::live::{LiveLine, LiveStats};
use crate::bench::scenario::{BargeInAfter, Planner};
use crate::bench::schedule::MetricsWindow;
use crate::bench::shard::ShardSpec;
use crate::bench::turn::TurnConfig;
use crate::clock::{UnixClock, signed_secs};
use crate::protocol::{self, url_template};
use crate::runfolder::results::{
    LoadShape, Mix, OnError, RunInfo, RunSummary, Scenario, ShardInfo, SummaryConfig, SweepSummary,
};
use crate::runfolder::{CONFIG_FILE, SWEEP_FILE, client_file_name};
use crate::serverlog::parse::ServiceNames;
use crate::summary::{Finish, SummaryContext};
use crate::term::{Painter, Stream};
use crate::{CliError, Outcome, fsutil, redact};

pub use crate::bench::stop::Stop;
// The aggregation moved down to the shared `summary` module (merge uses it too); the old
// paths keep working.
pub use crate::summary::{self, store};

/// Validated options of `voiceperf bench`.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// WebSocket URL template; `{stream_id}` is replaced by each connection's stream id.
    pub url: String,
    /// Concurrency levels: one run per level, in order (`--clients 1,4,16`).
    pub clients: Vec<usize>,
    /// Delay between user starts.
    pub client_start_delay: Duration,
    /// Length of the metrics window.
    pub test_duration: Duration,
    /// Latency (s) below which a turn is a reverse barge-in.
    pub threshold: f64,
    /// Results folder; `None` → `results/<timestamp>/`.
    pub output_dir: Option<PathBuf>,
    /// Write into `output_dir` as is (the caller owns it) instead of picking a fresh folder
    /// when it already holds files.
    pub output_dir_exact: bool,
    /// Dataset folder.
    pub audio_dir: PathBuf,
    /// Outgoing chunk length (ms).
    pub chunk_ms: u32,
    /// Silence after a reply has played out before it counts as ended.
    pub reply_gap: Duration,
    /// Extra silence before the next query.
    pub turn_gap: Duration,
    /// Wait for reply audio after the speech end.
    pub reply_timeout: Duration,
    /// Wait for a greeting after connecting.
    pub greeting_timeout: Duration,
    /// Wait for the TCP + WebSocket handshake.
    pub connect_timeout: Duration,
    /// Headers sent with every WebSocket upgrade request (values never written anywhere).
    pub headers: Vec<Header>,
    /// How `wss://` servers are trusted.
    pub tls: TlsTrust,
    /// What a user does after a connection error.
    pub on_error: OnError,
    /// Save each connection's received bot audio as WAV.
    pub save_audio: bool,
    /// Level (dBFS) a reply sample must reach to count as audible.
    pub audible_dbfs: f64,
    /// Report the highest level whose p95 latency is at most this (s).
    pub slo_p95: Option<f64>,
    /// Fail (exit 3) when a level's p95 latency exceeds this (s).
    pub fail_p95: Option<f64>,
    /// Fail (exit 3) when a level's error rate exceeds this (0–1).
    pub max_error_rate: Option<f64>,
    /// Agent log with truth lines to check agreement against.
    pub agent_log: Option<PathBuf>,
    /// No live progress line.
    pub quiet: bool,
    /// What the users do over the bot's replies.
    pub scenario: Scenario,
    /// Shares of turns, barge-ins and distractors for `Scenario::Mixed` (`None`: the default
    /// mix).
    pub mix: Option<Mix>,
    /// Seed of the scenario's draws; `None` picks one from the clock (recorded in
    /// `summary.json`).
    pub seed: Option<u64>,
    /// Seconds of reply audio before a barge-in or distractor.
    pub barge_in_after: BargeInAfter,
    /// A reply still sending audio this long after a barge-in or distractor did not stop.
    pub stop_limit: Duration,
    /// Distractor sounds (prepared like queries); `None`: the built-in synthetic bursts.
    pub distractor_dir: Option<PathBuf>,
    /// Fail (exit 3) when a level's p95 stop latency exceeds this (s).
    pub fail_stop_p95: Option<f64>,
    /// Fail (exit 3) when a level's false-stop rate exceeds this (0–1).
    pub max_false_stop_rate: Option<f64>,
    /// A gate over fewer measured turns (events) than this fails as not evaluated.
    pub min_turns: usize,
    /// The settings of the command line, as `--config` reads them (written into the results
    /// folder as config.toml).
    pub settings: Option<String>,
    /// How users come and go: the closed model of `clients`, `--stages`, or open arrivals.
    pub shape: LoadShape,
    /// This process is one shard of a run split over several (`--shard I/N`).
    pub shard: Option<ShardSpec>,
    /// The shared start of the run (`--start-at`, unix s); `None` → now.
    pub start_at: Option<f64>,
    /// Worker threads for the users (`--threads`); `None` → one per CPU.
    pub threads: Option<usize>,
    /// The wire protocol spoken (`--protocol`, with a telephony call's custom parameters).
    pub wire: wire::Wire,
}

impl Default for BenchOptions {
    /// The defaults of `voiceperf bench` and `voiceperf run` alike: a short run of 4 users
    /// against an agent on the local default port.
    fn default() -> Self {
        BenchOptions {
            url: url_template(protocol::DEFAULT_HOST, protocol::DEFAULT_PORT),
            clients: vec![4],
            client_start_delay: Duration::from_millis(500),
            test_duration: Duration::from_secs(30),
            threshold: 0.5,
            output_dir: None,
            output_dir_exact: false,
            audio_dir: PathBuf::from(crate::dataset::DEFAULT_DIR),
            chunk_ms: 32,
            reply_gap: Duration::from_secs(1),
            turn_gap: Duration::ZERO,
            reply_timeout: Duration::from_secs(15),
            greeting_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(10),
            headers: Vec::new(),
            tls: TlsTrust::default(),
            on_error: OnError::Reconnect,
            save_audio: false,
            audible_dbfs: -40.0,
            slo_p95: None,
            fail_p95: None,
            max_error_rate: None,
            agent_log: None,
            quiet: false,
            scenario: Scenario::Turns,
            mix: None,
            seed: None,
            barge_in_after: BargeInAfter::default(),
            stop_limit: Duration::from_secs(1),
            distractor_dir: None,
            fail_stop_p95: None,
            max_false_stop_rate: None,
            min_turns: sweep::DEFAULT_MIN_TURNS,
            settings: None,
            shape: LoadShape::Closed,
            shard: None,
            start_at: None,
            threads: None,
            wire: wire::Wire::default(),
        }
    }
}

impl BenchOptions {
    /// The URL of the connection with `stream_id`.
    pub fn url_for(&self, stream_id: &str) -> String {
        self.url.replace("{stream_id}", stream_id)
    }

    /// Samples per outgoing chunk, at the wire's input rate.
    pub fn chunk_samples(&self) -> usize {
        self.chunk_ms as usize * self.wire.input_rate() as usize / 1000
    }

    /// Host and port of the URL (for the seed's `config` fields).
    pub fn host_port(&self) -> (String, u16) {
        let probe = self.url_for("x");
        match probe.parse::<tokio_tungstenite::tungstenite::http::Uri>() {
            Ok(uri) => (
                uri.host().unwrap_or_default().to_string(),
                uri.port_u16()
                    .unwrap_or(if uri.scheme_str() == Some("wss") {
                        443
                    } else {
                        80
                    }),
            ),
            Err(_) => (String::new(), 0),
        }
    }

    /// Who talks when in a run of `clients` users (for the closed model), whole.
    pub fn plan(&self, clients: usize) -> shape::Plan {
        shape::plan(
            &self.shape,
            clients,
            self.client_start_delay,
            self.test_duration,
        )
    }

    /// Checks values that flags alone cannot; usage errors are [`CliError::Usage`].
    pub fn validate(&self) -> anyhow::Result<()> {
        let usage = |msg: String| Err(CliError::Usage(msg).into());
        if self.clients.is_empty() || self.clients.contains(&0) {
            return usage("--clients needs one or more counts ≥ 1, e.g. 4 or 1,4,16".into());
        }
        if let Some(&n) = self.clients.iter().find(|&&n| n > 20_000) {
            return usage(format!("--clients {n} is more than 20000 users"));
        }
        if !(10..=1000).contains(&self.chunk_ms) {
            return usage(format!(
                "--chunk-ms {} must be between 10 and 1000",
                self.chunk_ms
            ));
        }
        if let Some(frame_ms) = self.wire.fixed_chunk_ms()
            && self.chunk_ms != frame_ms
        {
            return usage(format!(
                "--chunk-ms {}: {} sends {frame_ms} ms of caller audio per media message",
                self.chunk_ms,
                self.wire.protocol()
            ));
        }
        if !(self.url.starts_with("ws://") || self.url.starts_with("wss://")) {
            return usage(format!(
                "--url {} must start with ws:// or wss://",
                redact::url(&self.url)
            ));
        }
        if (self.tls.insecure || self.tls.ca_cert.is_some()) && !self.url.starts_with("wss://") {
            return usage("--ca-cert and --insecure apply to wss:// URLs only".into());
        }
        if let Err(e) = self
            .url_for("client_1_0")
            .parse::<tokio_tungstenite::tungstenite::http::Uri>()
        {
            return usage(format!("--url {}: {e}", redact::url(&self.url)));
        }
        if !self.threshold.is_finite() || self.threshold < 0.0 {
            return usage(format!("--threshold {} must be ≥ 0", self.threshold));
        }
        if !(self.audible_dbfs.is_finite() && (-120.0..=0.0).contains(&self.audible_dbfs)) {
            return usage(format!(
                "--audible-dbfs {} must be between -120 and 0",
                self.audible_dbfs
            ));
        }
        if let Some(r) = self.max_error_rate
            && !(0.0..=1.0).contains(&r)
        {
            return usage(format!(
                "--max-error-rate {r} must be a fraction between 0 and 1"
            ));
        }
        if let Some(r) = self.max_false_stop_rate
            && !(0.0..=1.0).contains(&r)
        {
            return usage(format!(
                "--max-false-stop-rate {r} must be a fraction between 0 and 1"
            ));
        }
        if self.stop_limit.is_zero() || self.stop_limit > Duration::from_secs(60) {
            return usage("--stop-limit must be more than 0 s and at most 60 s".into());
        }
        if self.distractor_dir.is_some() && !self.uses_distractors() {
            return usage(format!(
                "--distractor-dir needs --scenario distractor or mixed (with a distractor share), not {}",
                self.scenario.name()
            ));
        }
        for (flag, value) in [
            ("--slo-p95", self.slo_p95),
            ("--fail-p95", self.fail_p95),
            ("--fail-stop-p95", self.fail_stop_p95),
        ] {
            if let Some(v) = value
                && !(v.is_finite() && v > 0.0)
            {
                return usage(format!("{flag} {v} must be a positive number of seconds"));
            }
        }
        if self.test_duration.is_zero() {
            return usage("--test-duration must be more than 0 s".into());
        }
        if self.threads == Some(0) {
            return usage("--threads must be at least 1".into());
        }
        self.validate_shape()?;
        self.validate_shard()
    }

    fn validate_shape(&self) -> anyhow::Result<()> {
        let usage = |msg: String| Err(CliError::Usage(msg).into());
        let sweep = self.clients.len() > 1;
        match &self.shape {
            LoadShape::Closed => Ok(()),
            LoadShape::Stages { stages, preset } => {
                let flag = preset
                    .as_ref()
                    .map_or("--stages".to_string(), |p| format!("--preset {p}"));
                if sweep {
                    return usage(format!(
                        "{flag} runs one shape: give one --clients value, not a sweep"
                    ));
                }
                if stages.is_empty() || stages.iter().all(|s| s.target == 0) {
                    return usage(format!(
                        "{flag} needs a stage with at least one user, e.g. 30s:10,1m:10,30s:0"
                    ));
                }
                if stages
                    .iter()
                    .any(|s| !(s.duration_s.is_finite() && s.duration_s > 0.0))
                {
                    return usage(format!("{flag}: every stage needs a duration above 0 s"));
                }
                if let Some(peak) = stages.iter().map(|s| s.target).max()
                    && peak > shape::MAX_USERS
                {
                    return usage(format!(
                        "{flag} reaches {peak} users, more than {}",
                        shape::MAX_USERS
                    ));
                }
                Ok(())
            }
            LoadShape::Open {
                arrival_rate,
                turns_per_conversation,
                ..
            } => {
                if sweep {
                    return usage("--arrival-rate runs one shape: give no --clients sweep".into());
                }
                if !(arrival_rate.is_finite() && *arrival_rate > 0.0) {
                    return usage(format!(
                        "--arrival-rate {arrival_rate} must be a positive number of conversations per second"
                    ));
                }
                if *turns_per_conversation == 0 {
                    return usage("--turns-per-conversation must be at least 1".into());
                }
                let expected = arrival_rate * self.test_duration.as_secs_f64();
                if expected > shape::MAX_USERS as f64 * 0.9 {
                    return usage(format!(
                        "--arrival-rate {arrival_rate} over --test-duration {:.0} s is about {expected:.0} conversations, more than one run holds ({})",
                        self.test_duration.as_secs_f64(),
                        shape::MAX_USERS
                    ));
                }
                Ok(())
            }
        }
    }

    fn validate_shard(&self) -> anyhow::Result<()> {
        let usage = |msg: String| Err(CliError::Usage(msg).into());
        if let Some(shard) = self.shard {
            if shard.count == 0 || shard.index >= shard.count {
                return usage(format!(
                    "--shard {shard}: the index must be from 0 to the shard count − 1"
                ));
            }
            if self.clients.len() > 1 {
                return usage(
                    "--shard runs one shard of one run: give one --clients value, not a sweep"
                        .into(),
                );
            }
            if self.start_at.is_none() {
                return usage(format!(
                    "--shard {shard} needs --start-at: the shared start every shard ramps from (e.g. --start-at $(( $(date +%s) + 60 )))"
                ));
            }
        }
        if let Some(start_at) = self.start_at {
            let ahead = start_at - UnixClock::new().now_unix();
            if ahead > MAX_START_AHEAD_S {
                return usage(format!(
                    "--start-at is {:.1} h from now; more than {:.0} h ahead is taken for a mistake (unix seconds, not milliseconds?)",
                    ahead / 3600.0,
                    MAX_START_AHEAD_S / 3600.0
                ));
            }
        }
        Ok(())
    }

    /// Whether the scenario makes distractor sounds.
    pub fn uses_distractors(&self) -> bool {
        scenario::scenario_mix(self.scenario, self.mix).distractor > 0.0
    }

    fn summary_config(&self, users: usize, metrics_start_time: f64, seed: u64) -> SummaryConfig {
        let (host, port) = self.host_port();
        SummaryConfig {
            host,
            port,
            num_clients: users,
            client_start_delay: self.client_start_delay.as_secs_f64(),
            test_duration: self.test_duration.as_secs_f64(),
            threshold: self.threshold,
            metrics_start_time,
            url: redact::url(&self.url),
            chunk_ms: self.chunk_ms,
            reply_gap: self.reply_gap.as_secs_f64(),
            turn_gap: self.turn_gap.as_secs_f64(),
            reply_timeout: self.reply_timeout.as_secs_f64(),
            greeting_timeout: self.greeting_timeout.as_secs_f64(),
            connect_timeout: self.connect_timeout.as_secs_f64(),
            on_error: self.on_error,
            audible_dbfs: self.audible_dbfs,
            audio_dir: self.audio_dir.display().to_string(),
            save_audio: self.save_audio,
            agent_log: self.agent_log.as_ref().map(|p| p.display().to_string()),
            sweep_levels: self.clients.clone(),
            slo_p95: self.slo_p95,
            fail_p95: self.fail_p95,
            max_error_rate: self.max_error_rate,
            scenario: self.scenario,
            mix: Some(scenario::scenario_mix(self.scenario, self.mix)),
            seed: Some(seed),
            barge_in_after: Some(self.barge_in_after.to_string()),
            stop_limit: Some(self.stop_limit.as_secs_f64()),
            distractor_dir: self
                .distractor_dir
                .as_ref()
                .map(|d| d.display().to_string()),
            rtvi: matches!(self.wire, wire::Wire::Pipecat { rtvi: true }),
            fail_stop_p95: self.fail_stop_p95,
            max_false_stop_rate: self.max_false_stop_rate,
            min_turns: Some(self.min_turns),
            load: self.shape.clone(),
            protocol: self.wire.protocol().name().to_string(),
        }
    }

    fn gates(&self) -> sweep::Gates {
        sweep::Gates {
            slo_p95: self.slo_p95,
            fail_p95: self.fail_p95,
            max_error_rate: self.max_error_rate,
            fail_stop_p95: self.fail_stop_p95,
            max_false_stop_rate: self.max_false_stop_rate,
            min_turns: self.min_turns,
        }
    }
}

/// How far ahead `--start-at` may be.
const MAX_START_AHEAD_S: f64 = 24.0 * 3600.0;

/// One concurrency level's results.
#[derive(Debug, Clone)]
pub struct LevelRun {
    /// Concurrent users.
    pub clients: usize,
    /// Its run folder (holding `summary.json`, `turns.csv` and the client files).
    pub dir: PathBuf,
    /// Its summary.
    pub summary: RunSummary,
}

/// The result of [`bench`].
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// The top-level results folder.
    pub dir: PathBuf,
    /// Each level run, in order (one unless sweeping).
    pub levels: Vec<LevelRun>,
    /// The sweep table and gate results (written as `sweep.json` when sweeping).
    pub sweep: SweepSummary,
    /// How the run should end the process.
    pub outcome: Outcome,
    /// Why the outcome is not success, in words.
    pub problems: Vec<String>,
}

/// Runs a benchmark (every `--clients` level) inside the caller's tokio runtime; `stop`
/// ends it early with what was measured written.
pub async fn bench(options: &BenchOptions, stop: &Stop) -> anyhow::Result<BenchReport> {
    options.validate()?;
    let audio_dir = options.audio_dir.clone();
    let rate = options.wire.input_rate();
    // The dataset is 16 kHz; a telephony wire carries 8 kHz: every file is resampled once
    // here, as prep resamples.
    let dataset = tokio::task::spawn_blocking(move || {
        QuerySet::load(&audio_dir).and_then(|set| {
            if rate == TARGET_RATE {
                Ok(set)
            } else {
                set.at_rate(rate)
            }
        })
    })
    .await
    .context("loading the dataset")??;
    for warning in &dataset.warnings {
        eprintln!("warning: {warning}");
    }
    for skipped in &dataset.skipped {
        eprintln!(
            "warning: skipping {}: {}",
            dataset.dir.join(&skipped.file).display(),
            skipped.reason
        );
    }
    let sounds: Vec<Arc<QueryFile>> = match (&options.distractor_dir, options.uses_distractors()) {
        (_, false) => Vec::new(),
        (None, true) => scenario::builtin_sounds(),
        (Some(dir), true) => {
            let dir = dir.clone();
            let sounds = tokio::task::spawn_blocking(move || QuerySet::load_sounds(&dir))
                .await
                .context("loading the distractor sounds")?
                .context("--distractor-dir")?;
            for skipped in &sounds.skipped {
                eprintln!(
                    "warning: skipping distractor {}: {}",
                    sounds.dir.join(&skipped.file).display(),
                    skipped.reason
                );
            }
            sounds.files
        }
    };
    // Sounds are played on the microphone's clock: at the wire's rate, like the queries.
    let rate = options.wire.input_rate();
    let sounds: Arc<[Arc<QueryFile>]> = sounds
        .iter()
        .map(|f| {
            f.at_rate(rate)
                .map(Arc::new)
                .with_context(|| format!("resampling distractor {} to {rate} Hz", f.name))
        })
        .collect::<anyhow::Result<Vec<_>>>()?
        .into();
    // Every shard of a run must draw the same plan (and record the same config): without
    // --seed, shards take it from the shared --start-at, other runs from the clock.
    let seed = options.seed.unwrap_or_else(|| match options.start_at {
        Some(start_at) => start_at.to_bits(),
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    });
    let setup = ScenarioSetup { sounds, seed };
    let most_users = options
        .clients
        .iter()
        .map(|&clients| options.plan(clients).peak_users())
        .max()
        .unwrap_or(1);
    let wanted_files = most_users as u64 * 2 + 256;
    match fsutil::raise_open_files_limit(wanted_files) {
        Ok(limit) if limit < wanted_files => eprintln!(
            "warning: open-file limit is {limit}, fewer than the {wanted_files} {most_users} users need"
        ),
        Ok(_) => {}
        Err(e) => eprintln!("warning: could not raise the open-file limit: {e}"),
    }
    let dir = prepare_output_dir(options)?;
    let mut missing_files = Vec::new();
    if let Some(settings) = &options.settings {
        let path = dir.join(CONFIG_FILE);
        if let Err(e) = fsutil::write_atomic(&path, settings.as_bytes()) {
            eprintln!("warning: {e:#}");
            missing_files.push(MissingFile {
                path,
                reason: format!("{e:#}"),
            });
        }
    }
    let sweeping = options.clients.len() > 1;
    let mut levels = Vec::new();
    for &clients in &options.clients {
        if stop.is_stopped() {
            break;
        }
        let level_dir = if sweeping {
            fsutil::create_unique_dir(&dir, &format!("clients_{clients}"))?
        } else {
            dir.clone()
        };
        let (summary, missing) =
            run_level(options, clients, &dataset, &setup, &level_dir, stop).await?;
        missing_files.extend(missing);
        if sweeping && !options.quiet {
            let p95 = summary.results.latency.as_ref().map(|l| l.p95);
            eprintln!(
                "{clients} user(s): p95 latency {} over {} turn(s) → {}",
                p95.map_or("–".into(), |p| format!("{p:.3} s")),
                summary.results.latency.as_ref().map_or(0, |l| l.count),
                level_dir.display()
            );
        }
        levels.push(LevelRun {
            clients,
            dir: level_dir,
            summary,
        });
    }
    let pairs: Vec<(&RunSummary, &Path)> = levels
        .iter()
        .map(|l| (&l.summary, l.dir.as_path()))
        .collect();
    let sweep = sweep::evaluate(&pairs, &dir, options.gates());
    if sweeping {
        let path = dir.join(SWEEP_FILE);
        if let Err(e) = fsutil::write_json_atomic(&path, &sweep) {
            missing_files.push(MissingFile {
                path,
                reason: format!("{e:#}"),
            });
        }
    }
    let mut problems = Vec::new();
    for missing in &missing_files {
        problems.push(format!(
            "{} is missing: could not write it ({})",
            missing.path.display(),
            missing.reason
        ));
    }
    if stop.is_stopped() {
        problems.push("the run was stopped before the end of the metrics window".to_string());
    }
    for level in &levels {
        if level.summary.results.latency.is_none() {
            problems.push(format!(
                "{} user(s): no turn got reply audio inside the metrics window",
                level.clients
            ));
        }
    }
    if !dataset.skipped.is_empty() {
        problems.push(format!(
            "{} dataset file(s) could not be used",
            dataset.skipped.len()
        ));
    }
    for level in &levels {
        if let Some(warning) = level
            .summary
            .shard
            .as_ref()
            .and_then(|s| s.clock.warning.as_ref())
        {
            problems.push(format!("shard clock check: {warning}"));
        }
    }
    // A shard's gates are judged by `merge`, over the whole run: one shard's share of the
    // turns says nothing about the run's p95, and a failed pod should mean a failed shard.
    let gates_judged_here = options.shard.is_none();
    let outcome = if gates_judged_here && !sweep.gate_failures.is_empty() {
        Outcome::GateFailed
    } else {
        Outcome::failed_if(!problems.is_empty())
    };
    if gates_judged_here {
        problems.extend(sweep.gate_failures.iter().cloned());
    }
    Ok(BenchReport {
        dir,
        levels,
        sweep,
        outcome,
        problems,
    })
}

/// Runs `voiceperf bench`: builds the runtime, stops on Ctrl-C or SIGTERM, prints the summary.
pub fn run(options: &BenchOptions) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let result = runtime.block_on(async {
        let stop = Stop::on_signal();
        bench(options, &stop).await
    })?;
    let paint = Painter::for_stream(Stream::Stdout);
    if result.levels.len() == 1 {
        print!(
            "{}",
            output::summary_text(&result.levels[0].summary, &result.dir, paint)
        );
    } else {
        print!("{}", output::sweep_text(&result.sweep, paint));
        println!("results: {}", result.dir.display());
    }
    if let Some(warning) = result
        .levels
        .iter()
        .find_map(|l| l.summary.self_check.warning.as_ref())
    {
        let paint = Painter::for_stream(Stream::Stderr);
        eprintln!("{}", paint.red(&paint.bold(&format!("warning: {warning}"))));
    }
    for problem in &result.problems {
        eprintln!("error: {problem}");
    }
    Ok(result.outcome)
}

/// Picks the results folder: `results/<timestamp>/` by default; a given folder is used when
/// new or empty, else a fresh sibling (`DIR-2`, …) so nothing is overwritten.
pub fn prepare_output_dir(options: &BenchOptions) -> anyhow::Result<PathBuf> {
    let Some(dir) = &options.output_dir else {
        let name = chrono::Local::now().format("%Y%m%d_%H%M%S").to_string();
        return fsutil::create_unique_dir(Path::new("results"), &name);
    };
    let is_empty_dir = |d: &Path| d.read_dir().map(|mut e| e.next().is_none()).ok();
    if options.output_dir_exact || !dir.exists() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        return Ok(dir.clone());
    }
    match is_empty_dir(dir) {
        Some(true) => Ok(dir.clone()),
        Some(false) => {
            let parent = dir
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "results".into());
            let fresh = fsutil::create_unique_dir(parent, &name)?;
            eprintln!(
                "note: {} already holds files; writing to {} instead",
                dir.display(),
                fresh.display()
            );
            Ok(fresh)
        }
        None => bail!("--output-dir {} is not a folder", dir.display()),
    }
}

/// The distractor sounds and the seed of a run's scenario (the same for every level).
struct ScenarioSetup {
    sounds: Arc<[Arc<QueryFile>]>,
    seed: u64,
}

/// Runs one concurrency level to completion and writes its final files.
async fn run_level(
    options: &BenchOptions,
    clients: usize,
    dataset: &QuerySet,
    setup: &ScenarioSetup,
    dir: &Path,
    stop: &Stop,
) -> anyhow::Result<(RunSummary, Vec<MissingFile>)> {
    let clock = UnixClock::new();
    let whole = options.plan(clients);
    let total_users = whole.users.len();
    let plan = match options.shard {
        Some(shard) => whole.shard(shard.index, shard.count),
        None => whole,
    };
    let run_start = match options.start_at {
        Some(start_at) => clock.instant_at(start_at),
        None => Instant::now() + Duration::from_millis(20),
    };
    let ready_at = clock.now_unix();
    if let Some(shard) = options.shard {
        check_shard_start(shard, &plan, run_start, total_users, &clock)?;
    }
    let window = MetricsWindow {
        start: run_start + plan.window_start,
        end: run_start + plan.window_end,
    };
    let metrics_start_unix = clock.unix(window.start);
    let config = options.summary_config(total_users, metrics_start_unix, setup.seed);
    let dataset_info = dataset.info();
    let shard_users = plan.users.len();
    let shard_info = |clock_check| {
        let (shard, start_at) = (options.shard?, options.start_at?);
        Some(ShardInfo {
            index: shard.index,
            count: shard.count,
            run_id: shard::run_id(&config, &dataset_info, start_at, shard.count),
            start_at,
            host: shard::host_name(),
            users: shard_users,
            clock: clock_check,
        })
    };
    let start_at = options.start_at.unwrap_or(ready_at);
    let context = Arc::new(SummaryContext {
        config: config.clone(),
        dataset: dataset_info.clone(),
        run: RunInfo {
            started_at: clock.unix(run_start),
            metrics_start_at: metrics_start_unix,
            metrics_end_at: clock.unix(window.end),
            finished_at: None,
            complete: false,
            stopped_early: false,
            users: plan.users.len(),
        },
        shard: shard_info(shard::clock_check(start_at, ready_at, None, None)),
    });
    let fail_fast = Arc::new(FailFast::new(stop.clone()));
    let dialer = Dialer::new(&options.url, &options.headers, &options.tls)?
        .watched_by(Arc::clone(&fail_fast));
    let (writer, writer_thread) = writer::spawn(dir.to_path_buf(), Arc::clone(&context))
        .context("starting the results writer")?;
    let live = Arc::new(LiveStats::default());
    let ctx = Arc::new(RunContext {
        options: options.clone(),
        clock,
        files: dataset.files.clone().into(),
        turn_config: Arc::new(TurnConfig {
            reply_gap: options.reply_gap,
            turn_gap: options.turn_gap,
            reply_timeout: options.reply_timeout,
            greeting_timeout: options.greeting_timeout,
            threshold: options.threshold,
            window,
            planner: Planner {
                mix: scenario::scenario_mix(options.scenario, options.mix),
                seed: setup.seed,
                barge_in_after: options.barge_in_after.clone(),
                sounds: setup.sounds.len(),
            },
            stop_limit: options.stop_limit,
            sounds: Arc::clone(&setup.sounds),
            services: ServiceNames::pipecat(),
        }),
        run_start,
        metrics_start_unix,
        dir: dir.to_path_buf(),
        writer,
        wire: options.wire.clone(),
        dialer,
        live: Arc::clone(&live),
        stop: stop.clone(),
        audible_amplitude: turn::audible_amplitude(options.audible_dbfs),
        greeting: turn::GreetingMemory::default(),
    });
    let line = LiveLine::start(
        live,
        plan.users.len(),
        run_start,
        window.end.saturating_duration_since(run_start),
        options.quiet,
    );
    let threads = options.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let workers = client::run_users(&ctx, plan.users, threads).context("starting the users")?;
    let first_late = tokio::task::spawn_blocking(move || {
        let mut worst: Option<Duration> = None;
        for worker in workers {
            match worker.join() {
                Ok(late) => worst = worst.max(late),
                Err(_) => eprintln!("warning: a bench worker thread panicked"),
            }
        }
        worst
    })
    .await
    .context("waiting for the users")?;
    line.finish();
    drop(ctx);
    let mut store = tokio::task::spawn_blocking(move || writer_thread.join())
        .await
        .context("waiting for the results writer")?
        .map_err(|_| anyhow::anyhow!("the results writer thread panicked"))?;
    store.mark_all_stale();
    store.refresh(true);

    let agent_agreement = match &options.agent_log {
        Some(log) => {
            let truth = crate::serverlog::read_truth_log(log)?;
            let chunk_s = f64::from(options.chunk_ms) / 1000.0;
            Some(truth::check_agreement(log, &truth, &mut store, chunk_s))
        }
        None => None,
    };
    let finish = Finish {
        finished_at: clock.now_unix(),
        stopped_early: stop.is_stopped(),
        agent_agreement,
        shard: shard_info(shard::clock_check(
            start_at,
            ready_at,
            first_late.map(|d| d.as_secs_f64() * 1000.0),
            Some(clock.wall_drift() * 1000.0),
        )),
    };
    let dir = dir.to_path_buf();
    // Every file is tried even when one fails (a full disk): the summary is returned, to be
    // printed, with the files that could not be written.
    let (summary, missing) = tokio::task::spawn_blocking(move || {
        let mut missing = Vec::new();
        let mut write = |path: PathBuf, result: anyhow::Result<()>| {
            if let Err(e) = result {
                missing.push(MissingFile {
                    path,
                    reason: format!("{e:#}"),
                });
            }
        };
        for client in store.clients.values() {
            let path = dir.join(client_file_name(&client.results.stream_id));
            write(
                path.clone(),
                fsutil::write_json_atomic(&path, &client.results),
            );
        }
        let summary = summary::summarize(&context, &store, Some(&finish));
        let path = dir.join(crate::runfolder::SUMMARY_FILE);
        write(path.clone(), fsutil::write_json_atomic(&path, &summary));
        let path = dir.join(crate::runfolder::TURNS_CSV_FILE);
        let csv = output::turns_csv(store.clients.values().map(|c| &c.results));
        write(path.clone(), fsutil::write_atomic(&path, csv.as_bytes()));
        (summary, missing)
    })
    .await
    .context("writing the results")?;
    if let Some(verdict) = fail_fast.verdict() {
        bail!(verdict);
    }
    Ok((summary, missing))
}

/// A results file that could not be written (its data is only in what was printed).
#[derive(Debug, Clone)]
pub struct MissingFile {
    /// Where it should be.
    pub path: PathBuf,
    /// Why it is not.
    pub reason: String,
}

/// A shard refuses to start when its first user is already more than the tolerance late:
/// its users would ramp late and its window would not line up with the other shards'.
fn check_shard_start(
    shard: ShardSpec,
    plan: &shape::Plan,
    run_start: Instant,
    total_users: usize,
    clock: &UnixClock,
) -> anyhow::Result<()> {
    let now = Instant::now();
    if let Some(first) = plan.first_start() {
        let late_s = signed_secs(now, run_start + first);
        if late_s * 1000.0 > shard::TOLERANCE_MS {
            bail!(
                "shard {shard} started {late_s:.1} s after its first user was due ({} = --start-at + {:.1} s): its users would ramp late and its metrics window would not line up with the other shards'. Start the run again with a later --start-at (every shard must be running before it).",
                crate::clock::iso_utc(clock.unix(run_start + first)),
                first.as_secs_f64()
            );
        }
    }
    let wait = signed_secs(run_start, now).max(0.0);
    eprintln!(
        "shard {shard}: {} of the run's {total_users} user(s); shared start {} (in {wait:.1} s)",
        plan.users.len(),
        crate::clock::iso_utc(clock.unix(run_start)),
    );
    Ok(())
}
