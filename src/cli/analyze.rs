//! Flags of `voiceperf analyze`.

use std::path::PathBuf;

use clap::Args;

use crate::CliError;
use crate::analyze::join::parse_utc_offset;
use crate::analyze::window::{WindowSpec, parse_user_time};
use crate::analyze::{AnalyzeOptions, OutputFormat, RunJoin};
use crate::serverlog::input::Input;
use crate::serverlog::parse::{ServiceNames, ServicePattern};

/// Flags of `voiceperf analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Agent server logs (NVIDIA pipecat loguru format, `docker compose logs` output is fine),
    /// plain or gzip; `-` reads stdin. Several logs are read in order as one.
    #[arg(value_name = "LOG", required = true)]
    pub logs: Vec<String>,

    /// Analyze every line instead of only those after the last client start.
    #[arg(long, conflicts_with = "run")]
    pub all: bool,

    /// Only lines logged at or after this time: the log's own format `YYYY-MM-DD
    /// HH:MM:SS[.fff]`, or RFC 3339 / unix seconds (converted to this machine's local time).
    /// Replaces the last-client-start window.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Only lines logged at or before this time (same formats as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Join with this bench run folder (results/<timestamp>): only its stream ids and the
    /// turns inside its metrics window count, and each turn's latency is split into VAD wait,
    /// ASR, LLM TTFB, TTS TTFB and transport/other.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["since", "until"])]
    pub run: Option<PathBuf>,

    /// With --run: the log clock's UTC offset (e.g. +01:00) when it cannot be measured from
    /// the log (no agent truth lines, no client start lines).
    #[arg(
        long,
        value_name = "±HH:MM",
        requires = "run",
        allow_hyphen_values = true
    )]
    pub log_utc_offset: Option<String>,

    /// Service names (boxed: keeps the CLI's command enum small).
    #[command(flatten)]
    pub services: Box<ServiceArgs>,

    /// Output formats and files (boxed, like `services`).
    #[command(flatten)]
    pub output: Box<OutputArgs>,
}

/// Where results go.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print the full result as JSON instead of the tables.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,

    /// Print the per-client table as CSV instead of the text report.
    #[arg(long)]
    pub csv: bool,

    /// Also write the JSON result to this file.
    #[arg(long, value_name = "FILE")]
    pub export_json: Option<PathBuf>,

    /// Also write the CSV table to this file.
    #[arg(long, value_name = "FILE")]
    pub export_csv: Option<PathBuf>,

    /// Rejected-line warnings (malformed or non-physical values) printed on stderr (all are counted and kept in the JSON).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub max_warnings: usize,

    /// With --run: also write the joined per-turn table to this CSV file.
    #[arg(long, value_name = "FILE", requires = "run")]
    pub export_turns_csv: Option<PathBuf>,
}

/// Which service class names are the LLM, the TTS and the ASR.
#[derive(Debug, Args)]
pub struct ServiceArgs {
    /// LLM service class name(s) in the log, `*` wildcards allowed, comma-separated or repeated
    /// [default: *LLMService].
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub llm_service: Vec<String>,

    /// TTS service class name(s) [default: *TTSService].
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub tts_service: Vec<String>,

    /// ASR service class name(s) [default: *STTService,WhisperSTTServiceMLX,RivaASRService,
    /// NemotronASRService].
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub asr_service: Vec<String>,
}

impl AnalyzeArgs {
    /// Validates the flags into the options the command runs with.
    pub fn into_options(self) -> anyhow::Result<AnalyzeOptions> {
        let stdin_count = self.logs.iter().filter(|l| l.as_str() == "-").count();
        if stdin_count > 1 {
            return Err(CliError::Usage("`-` (stdin) can be given only once".into()).into());
        }
        let inputs = self.logs.iter().map(|l| Input::from_arg(l)).collect();

        let time = |flag: &str, value: &Option<String>| {
            value
                .as_deref()
                .map(parse_user_time)
                .transpose()
                .map_err(|e| CliError::Usage(format!("--{flag}: {e:#}")))
        };
        let since = time("since", &self.since)?;
        let until = time("until", &self.until)?;
        if let (Some(s), Some(u)) = (since, until) {
            if s > u {
                return Err(CliError::Usage(format!("--since {s} is after --until {u}")).into());
            }
        }
        let window = if self.all || since.is_some() || until.is_some() {
            WindowSpec::Range { since, until }
        } else {
            WindowSpec::LastClientStart
        };

        let defaults = ServiceNames::default();
        let services = ServiceNames {
            llm: patterns("llm-service", &self.services.llm_service, defaults.llm)?,
            tts: patterns("tts-service", &self.services.tts_service, defaults.tts)?,
            asr: patterns("asr-service", &self.services.asr_service, defaults.asr)?,
        };

        let log_utc_offset_s = self
            .log_utc_offset
            .as_deref()
            .map(parse_utc_offset)
            .transpose()
            .map_err(|e| CliError::Usage(format!("--log-utc-offset: {e:#}")))?;
        let run = self.run.map(|dir| RunJoin {
            dir,
            log_utc_offset_s,
        });

        let format = if self.output.json {
            OutputFormat::Json
        } else if self.output.csv {
            OutputFormat::Csv
        } else {
            OutputFormat::Text
        };
        Ok(AnalyzeOptions {
            inputs,
            window,
            services,
            format,
            export_json: self.output.export_json,
            export_csv: self.output.export_csv,
            run,
            export_turns_csv: self.output.export_turns_csv,
            max_warnings: self.output.max_warnings,
        })
    }
}

fn patterns(
    flag: &str,
    given: &[String],
    default: Vec<ServicePattern>,
) -> Result<Vec<ServicePattern>, CliError> {
    if given.is_empty() {
        return Ok(default);
    }
    given
        .iter()
        .map(|name| {
            ServicePattern::new(name.trim()).ok_or_else(|| {
                CliError::Usage(format!(
                    "--{flag} `{name}`: a service class name (without `#N`), `*` allowed"
                ))
            })
        })
        .collect()
}
