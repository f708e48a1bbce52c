//! Flags of `voiceperf bench` (compatible with the seed launcher's).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::CliError;
use crate::bench::{BenchOptions, url_template};
use crate::runfolder::results::OnError;

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
    /// Agent host.
    #[arg(long, default_value = "127.0.0.1", conflicts_with = "url")]
    pub host: String,
    /// Agent port.
    #[arg(long, default_value_t = 8100, conflicts_with = "url")]
    pub port: u16,
    /// Full WebSocket URL instead of --host/--port; `{stream_id}` is replaced per connection
    /// (appended as a last path segment when absent), e.g. ws://10.0.0.5:8100/ws/{stream_id}.
    #[arg(long)]
    pub url: Option<String>,
    /// Concurrent users; a comma-separated list (1,4,16,64) runs a concurrency sweep.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    pub clients: Vec<usize>,
    /// Seconds between user starts.
    #[arg(long, default_value_t = 1.0)]
    pub client_start_delay: f64,
    /// Seconds of the metrics window, which opens when the last user has started.
    #[arg(long, default_value_t = 150.0)]
    pub test_duration: f64,
    /// Latency (s) below which a turn counts as a reverse barge-in.
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f64,
    /// Results folder (default results/<timestamp>/; never overwritten: a folder that holds
    /// files gets a fresh sibling DIR-2).
    #[arg(long, short = 'o')]
    pub output_dir: Option<PathBuf>,
    /// Dataset folder of 16 kHz mono int16 WAVs (spoken in natural name order).
    #[arg(long, default_value = "audio_files")]
    pub audio_dir: PathBuf,
    /// Milliseconds of audio per outgoing chunk.
    #[arg(long, default_value_t = 32)]
    pub chunk_ms: u32,
    /// Seconds of silence after the reply has played out before it counts as ended.
    #[arg(long, default_value_t = 1.0)]
    pub reply_gap: f64,
    /// Extra seconds of silence between a reply's end and the next query.
    #[arg(long, default_value_t = 0.0)]
    pub turn_gap: f64,
    /// Seconds to wait for reply audio after the end of speech before the turn fails.
    #[arg(long, default_value_t = 15.0)]
    pub reply_timeout: f64,
    /// Seconds to wait for a greeting after connecting.
    #[arg(long, default_value_t = 5.0)]
    pub greeting_timeout: f64,
    /// Seconds to wait for the WebSocket handshake.
    #[arg(long, default_value_t = 10.0)]
    pub connect_timeout: f64,
    /// What a user does when its connection fails.
    #[arg(long, value_enum, default_value = "reconnect")]
    pub on_error: OnError,
    /// Save each connection's received bot audio as bot_response_<stream_id>.wav.
    #[arg(long)]
    pub save_audio: bool,
    /// Level (dBFS) a reply sample must reach to count as audible.
    #[arg(long, default_value_t = -40.0, allow_negative_numbers = true)]
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
}

/// Seconds from a flag as a duration, or a usage error naming the flag.
fn seconds(flag: &str, value: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        CliError::Usage(format!("--{flag} {value} must be a number of seconds ≥ 0")).into()
    })
}

impl BenchArgs {
    /// Validates the flags into the options the command runs with.
    pub fn into_options(self) -> anyhow::Result<BenchOptions> {
        self.flags.into_options()
    }
}

impl BenchFlags {
    /// Validates the flags into the options the command runs with.
    pub fn into_options(self) -> anyhow::Result<BenchOptions> {
        let url = match self.url {
            Some(url) if url.contains("{stream_id}") => url,
            Some(url) => format!("{}/{{stream_id}}", url.trim_end_matches('/')),
            None => url_template(&self.host, self.port),
        };
        let options = BenchOptions {
            url,
            clients: self.clients,
            client_start_delay: seconds("client-start-delay", self.client_start_delay)?,
            test_duration: seconds("test-duration", self.test_duration)?,
            threshold: self.threshold,
            output_dir: self.output_dir,
            output_dir_exact: false,
            audio_dir: self.audio_dir,
            chunk_ms: self.chunk_ms,
            reply_gap: seconds("reply-gap", self.reply_gap)?,
            turn_gap: seconds("turn-gap", self.turn_gap)?,
            reply_timeout: seconds("reply-timeout", self.reply_timeout)?,
            greeting_timeout: seconds("greeting-timeout", self.greeting_timeout)?,
            connect_timeout: seconds("connect-timeout", self.connect_timeout)?,
            on_error: self.on_error,
            save_audio: self.save_audio,
            audible_dbfs: self.audible_dbfs,
            slo_p95: self.slo_p95,
            fail_p95: self.fail_p95,
            max_error_rate: self.max_error_rate,
            agent_log: self.agent_log,
            quiet: self.quiet,
        };
        options.validate()?;
        Ok(options)
    }
}
