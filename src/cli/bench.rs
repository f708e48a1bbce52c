//! Flags of `voiceperf bench` (compatible with the seed launcher's).

use std::path::PathBuf;
use std::sync::LazyLock;

use clap::Args;

use super::value::{DurationArg, SHARD_INDEX_VAR, ShardArg, StagesArg, StartAtArg};
use crate::CliError;
use crate::bench::connect::{Header, TlsTrust};
use crate::bench::scenario::{BargeInAfter, parse_mix};
use crate::bench::shard::ShardSpec;
use crate::bench::wire::Wire;
use crate::bench::{BenchOptions, shape};
use crate::dataset::DEFAULT_DIR;
use crate::protocol::telephony::{Codec, Provider};
use crate::protocol::{self, Protocol, url_template};
use crate::runfolder::results::{LoadShape, Mix, OnError, Scenario};

/// Flags of `voiceperf bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The flags, boxed: bench has many, and the `Command` enum should stay small.
    #[command(flatten)]
    pub flags: Box<BenchFlags>,
}

/// The flags of `voiceperf bench` themselves.
#[derive(Debug, Args)]
pub struct BenchFlags {
    /// Wire protocol: pipecat's protobuf frames, or play a phone provider's side of each call
    /// (twilio, telnyx, plivo, exotel, vonage: 8 kHz caller audio in 20 ms media messages).
    #[arg(long, default_value = "pipecat", value_parser = super::agent::parse_protocol, value_name = "PROTOCOL")]
    pub protocol: Protocol,
    /// Telephony: a custom parameter of every call, KEY=VALUE (repeatable; `{stream_id}` in
    /// the value becomes the connection's stream id).
    #[arg(long = "custom-param", value_name = "KEY=VALUE", value_parser = parse_custom_param)]
    pub custom_params: Vec<(String, String)>,
    /// Telnyx: the caller audio's G.711 law.
    #[arg(long, value_enum, default_value_t = TelnyxEncoding::Pcmu)]
    pub telnyx_encoding: TelnyxEncoding,
    /// Settings file: any flag below as `long-name = value` (test-duration = "30s",
    /// clients = [1, 4], insecure = true); flags on the command line win. Every run folder
    /// gets the settings it ran with as config.toml, so `--config results/<run>/config.toml`
    /// repeats a run.
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// Agent host.
    #[arg(long, default_value = protocol::DEFAULT_HOST, conflicts_with = "url")]
    pub host: String,
    /// Agent port.
    #[arg(long, default_value_t = protocol::DEFAULT_PORT, conflicts_with = "url")]
    pub port: u16,
    /// Full WebSocket URL instead of --host/--port, ws:// or wss:// (TLS); `{stream_id}` is
    /// replaced per connection (appended as a last path segment when absent, except with a
    /// telephony --protocol, whose bots listen at one path such as /ws; a query string is
    /// kept), e.g. wss://agent.example.com/ws/{stream_id}?room=bench.
    #[arg(long)]
    pub url: Option<String>,
    /// Header sent with every WebSocket upgrade request, 'Name: value' (repeatable), e.g.
    /// -H 'Authorization: Bearer …'. Values are never written to results or printed.
    #[arg(short = 'H', long = "header", value_name = "'NAME: VALUE'")]
    pub headers: Vec<Header>,
    /// PEM file of CA certificates to trust for wss:// besides the system's (for an agent
    /// whose certificate a private CA signed).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Accept any certificate for wss:// (self-signed test servers): still encrypted, but
    /// the server is not authenticated.
    #[arg(long, conflicts_with = "ca_cert")]
    pub insecure: bool,
    /// Concurrent users; a comma-separated list (1,4,16,64) runs a concurrency sweep.
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULTS.clients.clone())]
    pub clients: Vec<usize>,
    /// Time between user starts (seconds, or with a unit: 500ms).
    #[arg(long, value_name = "DURATION", default_value_t = DurationArg(DEFAULTS.client_start_delay))]
    pub client_start_delay: DurationArg,
    /// Length of the metrics window, which opens when the last user has started (seconds, or
    /// with a unit: 30s, 2m).
    #[arg(long, value_name = "DURATION", default_value_t = DurationArg(DEFAULTS.test_duration))]
    pub test_duration: DurationArg,
    /// Latency (s) below which a turn counts as a reverse barge-in.
    #[arg(long, default_value_t = DEFAULTS.threshold)]
    pub threshold: f64,
    /// Results folder (default results/<timestamp>/; never overwritten: a folder that holds
    /// files gets a fresh sibling DIR-2).
    #[arg(long, short = 'o')]
    pub output_dir: Option<PathBuf>,
    /// Dataset folder of 16 kHz mono int16 WAVs (spoken in natural name order).
    #[arg(long, default_value = DEFAULT_DIR)]
    pub audio_dir: PathBuf,
    /// Milliseconds of audio per outgoing chunk [default: 32; telephony: the provider's media
    /// frame, 20 ms (Exotel 100 ms)].
    #[arg(long)]
    pub chunk_ms: Option<u32>,
    /// Silence after the reply has played out before it counts as ended.
    #[arg(long, value_name = "DURATION", default_value_t = DurationArg(DEFAULTS.reply_gap))]
    pub reply_gap: DurationArg,
    /// Extra silence between a reply's end and the next query.
    #[arg(long, value_name = "DURATION", default_value_t = DurationArg(DEFAULTS.turn_gap))]
    pub turn_gap: DurationArg,
    /// How long to wait for reply audio after the end of speech before the turn fails.
    #[arg(long, value_name = "DURATION", default_value_t = DurationArg(DEFAULTS.reply_timeout))]
    pub reply_timeout: DurationArg,
    /// How long to wait for a greeting after connecting.
    #[arg(long, value_name = "DURATION", default_value_t = DurationArg(DEFAULTS.greeting_timeout))]
    pub greeting_timeout: DurationArg,
    /// How long to wait for the WebSocket handshake.
    #[arg(long, value_name = "DURATION", default_value_t = DurationArg(DEFAULTS.connect_timeout))]
    pub connect_timeout: DurationArg,
    /// What a user does when its connection fails.
    #[arg(long, value_enum, default_value_t = DEFAULTS.on_error)]
    pub on_error: OnError,
    /// Save each connection's received bot audio as bot_response_<stream_id>.wav.
    #[arg(long)]
    pub save_audio: bool,
    /// Level (dBFS) a reply sample must reach to count as audible.
    #[arg(long, default_value_t = DEFAULTS.audible_dbfs, allow_negative_numbers = true)]
    pub audible_dbfs: f64,
    /// Report the highest --clients level whose p95 latency is at most this many seconds.
    #[arg(long)]
    pub slo_p95: Option<f64>,
    /// Exit with status 3 when a level's p95 latency exceeds this many seconds.
    #[arg(long)]
    pub fail_p95: Option<f64>,
    /// Exit with status 3 when a level's error rate (failed turns / attempted) exceeds this
    /// fraction, e.g. 0.01.
    #[arg(long)]
    pub max_error_rate: Option<f64>,
    /// Agent log holding `VoiceperfAgent turn …` truth lines: check that bench's
    /// measurement agrees with the agent's own, per turn.
    #[arg(long)]
    pub agent_log: Option<PathBuf>,
    /// No live progress line.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// What users do over the bot's replies: strict turns; interrupt (the next query starts
    /// --barge-in-after seconds into every reply); distractor (a short sound that is not a
    /// turn over every reply); mixed (drawn by --mix).
    #[arg(long, value_enum, default_value_t = DEFAULTS.scenario)]
    pub scenario: Scenario,
    /// Shares for --scenario mixed, e.g. turn=0.4,interrupt=0.3,distractor=0.3 (the default).
    #[arg(long, value_name = "SHARES", value_parser = parse_mix)]
    pub mix: Option<Mix>,
    /// Seed of the scenario's draws (default: from the clock; recorded in summary.json) and of
    /// the --arrival-rate arrival times (default there: 1; every shard of a run must use the
    /// same).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Seconds of reply audio before a barge-in or distractor: one value, a list (0.5,1,1.5)
    /// picked at random, or a range (0.5..1.5) drawn uniformly.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULTS.barge_in_after.clone())]
    pub barge_in_after: BargeInAfter,
    /// A reply still sending audio this long after a barge-in or distractor began did not
    /// stop.
    #[arg(long, value_name = "DURATION", default_value_t = DurationArg(DEFAULTS.stop_limit))]
    pub stop_limit: DurationArg,
    /// Distractor sounds (16 kHz mono WAVs, prepared like queries); default: built-in
    /// synthetic bursts (100 ms noise, 10 ms click, 350 ms voiced backchannel).
    #[arg(long, value_name = "DIR")]
    pub distractor_dir: Option<PathBuf>,
    /// Speak the RTVI client handshake (client-ready) when connecting; some servers wait for
    /// it before they send anything.
    #[arg(long)]
    pub rtvi: bool,
    /// Exit with status 3 when a level's p95 barge-in stop latency exceeds this many seconds.
    #[arg(long, value_name = "SECS")]
    pub fail_stop_p95: Option<f64>,
    /// Exit with status 3 when a level's false-stop rate on distractors exceeds this fraction.
    #[arg(long, value_name = "FRACTION")]
    pub max_false_stop_rate: Option<f64>,
    /// A CI gate (--fail-p95, --max-error-rate, --fail-stop-p95, --max-false-stop-rate) over
    /// fewer measured turns (barge-ins, distractors) than this is not evaluated and fails with
    /// exit 3; 0 evaluates gates however few turns support them.
    #[arg(long, value_name = "N", default_value_t = crate::bench::sweep::DEFAULT_MIN_TURNS)]
    pub min_turns: usize,
    /// Ramp users in stages instead of --clients, as k6 does: DURATION:USERS,… goes from 0
    /// users linearly to each target over its duration, e.g. 30s:10,2m:50,30s:0; users
    /// leaving hang up after their turn in progress. The metrics window is all the stages.
    #[arg(long, value_name = "STAGES", conflicts_with_all = ["clients", "client_start_delay", "preset", "arrival_rate"])]
    pub stages: Option<StagesArg>,
    /// A ready-made shape peaking at --clients users: `spike` (a tenth of them for a minute,
    /// all of them within 10 s for --test-duration, back to a tenth) or `soak` (ramp up over
    /// the --client-start-delay ramp, hold for --test-duration, e.g. 1h).
    #[arg(long, value_enum, conflicts_with = "arrival_rate")]
    pub preset: Option<Preset>,
    /// Open model: new conversations per second, arriving at random (a Poisson process)
    /// during --test-duration however many are already talking; each takes
    /// --turns-per-conversation turns, then hangs up.
    #[arg(long, value_name = "PER_SECOND", conflicts_with_all = ["clients", "client_start_delay"])]
    pub arrival_rate: Option<f64>,
    /// Turns each conversation of --arrival-rate takes before hanging up.
    #[arg(long, value_name = "N", default_value_t = 3, requires = "arrival_rate")]
    pub turns_per_conversation: usize,
    /// Run shard I of N of one run (I from 0; --clients is the whole run's users, this shard
    /// simulates every N-th from user I+1). `auto/N` takes I from JOB_COMPLETION_INDEX, as in a
    /// Kubernetes Indexed Job. Needs --start-at. `voiceperf merge` joins the shards' folders.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<ShardArg>,
    /// Shared wall-clock start of the run (unix seconds or RFC 3339, e.g.
    /// 2026-12-03T10:00:00Z): users start on the schedule counted from it. A shard started
    /// after its first user was due (by more than 1 s) refuses to run.
    #[arg(long, value_name = "TIME")]
    pub start_at: Option<StartAtArg>,
    /// Worker threads for the simulated users (default: one per CPU available).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// `--preset`: a ready-made load shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// A tenth of the users for a minute, all of them within 10 s, back to a tenth.
    Spike,
    /// Ramp up, hold for --test-duration, ramp down.
    Soak,
}

/// bench's defaults, stated once in [`BenchOptions::default`].
static DEFAULTS: LazyLock<BenchOptions> = LazyLock::new(BenchOptions::default);

impl BenchArgs {
    /// Validates the flags into the options the command runs with.
    pub fn into_options(self) -> anyhow::Result<BenchOptions> {
        self.flags.into_options()
    }
}

impl BenchFlags {
    /// Validates the flags into the options the command runs with.
    pub fn into_options(self) -> anyhow::Result<BenchOptions> {
        let telephony = self.protocol.provider().is_some();
        let url = match self.url {
            Some(url) if telephony => url,
            Some(url) => with_stream_id(&url),
            None => url_template(&self.host, self.port),
        };
        let usage = |msg: String| anyhow::Error::from(CliError::Usage(msg));
        let mut wire = Wire::for_protocol(self.protocol, self.custom_params.clone());
        if let Wire::Telephony(t) = &mut wire {
            if self.telnyx_encoding == TelnyxEncoding::Pcma {
                if t.provider != Provider::Telnyx {
                    return Err(usage(format!(
                        "--telnyx-encoding PCMA needs --protocol telnyx, not {}",
                        t.provider
                    )));
                }
                t.codec = Codec::Pcma;
            }
        } else if !self.custom_params.is_empty() {
            return Err(usage(
                "--custom-param needs a telephony --protocol (twilio, telnyx, plivo, exotel, vonage)"
                    .into(),
            ));
        }
        if self.rtvi {
            match &mut wire {
                Wire::Pipecat { rtvi } => *rtvi = true,
                Wire::Telephony(t) => {
                    return Err(usage(format!(
                        "--rtvi needs --protocol pipecat (RTVI messages ride on pipecat frames), not {}",
                        t.provider
                    )));
                }
            }
        }
        let chunk_ms = self
            .chunk_ms
            .or(wire.fixed_chunk_ms())
            .unwrap_or(DEFAULTS.chunk_ms);
        let shape = if let Some(StagesArg(stages)) = self.stages {
            LoadShape::Stages {
                stages,
                preset: None,
            }
        } else if let Some(preset) = self.preset {
            let name = match preset {
                Preset::Spike => "spike",
                Preset::Soak => "soak",
            };
            let [peak] = self.clients[..] else {
                return Err(usage(format!(
                    "--preset {name} peaks at one --clients value, not a sweep"
                )));
            };
            let ramp = self
                .client_start_delay
                .0
                .mul_f64(peak.saturating_sub(1) as f64);
            LoadShape::Stages {
                stages: shape::preset(name, peak, self.test_duration.0, ramp).ok_or_else(|| {
                    usage(format!(
                        "--preset {name} is not one of {:?}",
                        shape::PRESETS
                    ))
                })?,
                preset: Some(name.to_string()),
            }
        } else if let Some(arrival_rate) = self.arrival_rate {
            LoadShape::Open {
                arrival_rate,
                turns_per_conversation: self.turns_per_conversation,
                seed: self.seed.unwrap_or(1),
            }
        } else {
            LoadShape::Closed
        };
        let shard = match self.shard {
            Some(arg) => {
                let index_var = std::env::var(SHARD_INDEX_VAR).ok();
                let (index, count) = arg.resolve(index_var.as_deref()).map_err(usage)?;
                Some(ShardSpec { index, count })
            }
            None => None,
        };
        let options = BenchOptions {
            url,
            clients: self.clients,
            client_start_delay: self.client_start_delay.0,
            test_duration: self.test_duration.0,
            threshold: self.threshold,
            output_dir: self.output_dir,
            output_dir_exact: false,
            audio_dir: self.audio_dir,
            chunk_ms,
            reply_gap: self.reply_gap.0,
            turn_gap: self.turn_gap.0,
            reply_timeout: self.reply_timeout.0,
            greeting_timeout: self.greeting_timeout.0,
            connect_timeout: self.connect_timeout.0,
            headers: self.headers,
            tls: TlsTrust {
                ca_cert: self.ca_cert,
                insecure: self.insecure,
            },
            on_error: self.on_error,
            save_audio: self.save_audio,
            audible_dbfs: self.audible_dbfs,
            slo_p95: self.slo_p95,
            fail_p95: self.fail_p95,
            max_error_rate: self.max_error_rate,
            agent_log: self.agent_log,
            quiet: self.quiet,
            scenario: self.scenario,
            mix: self.mix,
            seed: self.seed,
            barge_in_after: self.barge_in_after,
            stop_limit: self.stop_limit.0,
            distractor_dir: self.distractor_dir,
            fail_stop_p95: self.fail_stop_p95,
            max_false_stop_rate: self.max_false_stop_rate,
            min_turns: self.min_turns,
            settings: None,
            shape,
            shard,
            start_at: self.start_at.map(|t| t.0),
            threads: self.threads,
            wire,
        };
        if options.mix.is_some() && options.scenario != Scenario::Mixed {
            return Err(crate::CliError::Usage(format!(
                "--mix needs --scenario mixed, not {}",
                options.scenario.name()
            ))
            .into());
        }
        options.validate()?;
        Ok(options)
    }
}

/// Telnyx's caller audio law (`--telnyx-encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TelnyxEncoding {
    /// G.711 µ-law.
    #[value(name = "PCMU", alias = "pcmu")]
    Pcmu,
    /// G.711 A-law.
    #[value(name = "PCMA", alias = "pcma")]
    Pcma,
}

/// `--custom-param KEY=VALUE`.
fn parse_custom_param(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

/// `url` with a `{stream_id}` placeholder: kept where given, else appended as the last path
/// segment, before any query string or fragment.
fn with_stream_id(url: &str) -> String {
    if url.contains("{stream_id}") {
        return url.to_string();
    }
    let rest_at = url.find(['?', '#']).unwrap_or(url.len());
    let (path, rest) = url.split_at(rest_at);
    format!("{}/{{stream_id}}{rest}", path.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_id_goes_into_the_path_and_the_query_is_kept() {
        assert_eq!(with_stream_id("ws://h:1/ws"), "ws://h:1/ws/{stream_id}");
        assert_eq!(with_stream_id("ws://h:1/ws/"), "ws://h:1/ws/{stream_id}");
        assert_eq!(
            with_stream_id("wss://h/ws?token=a&b=c"),
            "wss://h/ws/{stream_id}?token=a&b=c"
        );
        assert_eq!(
            with_stream_id("wss://h/x/{stream_id}/y?t=1"),
            "wss://h/x/{stream_id}/y?t=1"
        );
    }
}
