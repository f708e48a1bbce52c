//! The run folder: what `bench` and `run` write into `results/<timestamp>/` and what
//! `analyze --run`, `report` and `run` read back. The types are the JSON schema
//! ([`results`] for bench's files, [`record`] for `run.json`); the file names and the readers
//! live here too, so every step names and reads a file the same way.
//!
//! A run folder holds one bench run (a *level*: `summary.json`, `turns.csv` and one
//! `latency_results_<stream_id>.json` per connection), or a concurrency sweep (`sweep.json`
//! and one level folder per `--clients` value), plus `run.json` when `voiceperf run` made it.

pub mod record;
pub mod results;

use std::path::{Component, Path, PathBuf};

use anyhow::{Context, bail};

use record::RunRecord;
use results::{ClientResults, RunSummary, SweepSummary};

/// Name of the per-connection results file for `stream_id`.
pub fn client_file_name(stream_id: &str) -> String {
    format!("{CLIENT_FILE_PREFIX}{stream_id}.json")
}

/// What every per-connection results file name starts with.
pub const CLIENT_FILE_PREFIX: &str = "latency_results_";
/// Name of the run summary file.
pub const SUMMARY_FILE: &str = "summary.json";
/// Name of the per-turn CSV export.
pub const TURNS_CSV_FILE: &str = "turns.csv";
/// Name of the concurrency-sweep file (written only when several `--clients` levels ran).
pub const SWEEP_FILE: &str = "sweep.json";
/// Name of the settings a run used (`--config` reads it back to repeat the run).
pub const CONFIG_FILE: &str = "config.toml";
/// Name of the run record in the run folder.
pub const RUN_FILE: &str = "run.json";
/// Name of the in-process agent's log in the run folder.
pub const AGENT_LOG_FILE: &str = "agent.log";
/// Name of the joined server-log analysis in a run (or level) folder.
pub const ANALYSIS_FILE: &str = "analysis.json";
/// Name of the per-turn latency breakdown CSV in a run (or level) folder.
pub const BREAKDOWN_CSV_FILE: &str = "turns_breakdown.csv";
/// Name of the HTML report.
pub const REPORT_FILE: &str = "report.html";
/// Name of the Markdown summary.
pub const MARKDOWN_FILE: &str = "summary.md";

/// Name of the saved bot audio of one connection (`--save-audio`), as the replaced client
/// named it.
pub fn bot_audio_file_name(stream_id: &str) -> String {
    format!("bot_response_{stream_id}.wav")
}

/// Largest run-folder file read (a long run's per-connection file is megabytes).
pub const MAX_RUN_FILE_BYTES: u64 = 1 << 30;

/// Reads a JSON file of the run folder (a regular file of at most [`MAX_RUN_FILE_BYTES`])
/// into its type.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let bytes = crate::fsutil::read_regular(path, MAX_RUN_FILE_BYTES)
        .with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))
}

/// The per-connection results of a level folder that could be read, sorted by user then
/// connection, and one line per file that could not (left out).
#[derive(Debug, Clone, Default)]
pub struct ClientFiles {
    /// The files read.
    pub clients: Vec<ClientResults>,
    /// `<path>: <reason>` for each file left out.
    pub unreadable: Vec<String>,
}

/// Reads every `latency_results_*.json` in `dir`. A damaged file is left out and noted; only
/// a folder that cannot be listed is an error.
pub fn read_client_files(dir: &Path) -> anyhow::Result<ClientFiles> {
    let mut files = ClientFiles::default();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("listing {}", dir.display()))?
            .path();
        let is_client_file = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(CLIENT_FILE_PREFIX) && n.ends_with(".json"));
        if is_client_file {
            match read_json::<ClientResults>(&path) {
                Ok(client) => files.clients.push(client),
                Err(e) => files.unreadable.push(format!("{e:#}")),
            }
        }
    }
    files.clients.sort_by_key(|c| (c.user, c.connection));
    Ok(files)
}

/// One bench run (one concurrency level), read back.
#[derive(Debug, Clone)]
pub struct Level {
    /// Its folder.
    pub dir: PathBuf,
    /// `summary.json`, when present and readable.
    pub summary: Option<RunSummary>,
    /// Why `summary.json` could not be used, when it could not.
    pub summary_problem: Option<String>,
    /// Every readable `latency_results_<stream_id>.json`, by user then connection.
    pub clients: Vec<ClientResults>,
    /// Client files left out, with the reason.
    pub unreadable: Vec<String>,
}

impl Level {
    /// Reads a level folder: its client files and, when readable, `summary.json`.
    pub fn load(dir: &Path) -> anyhow::Result<Level> {
        let files = read_client_files(dir)?;
        let summary_path = dir.join(SUMMARY_FILE);
        let (summary, summary_problem) = match read_json::<RunSummary>(&summary_path) {
            Ok(summary) => (Some(summary), None),
            Err(e) => (None, Some(format!("{e:#}"))),
        };
        Ok(Level {
            dir: dir.to_path_buf(),
            summary,
            summary_problem,
            clients: files.clients,
            unreadable: files.unreadable,
        })
    }

    /// The metrics window (unix s): from `summary.json`, else from the first client file.
    pub fn metrics_window(&self) -> Option<(f64, f64)> {
        match (&self.summary, self.clients.first()) {
            (Some(s), _) => Some((s.run.metrics_start_at, s.run.metrics_end_at)),
            (None, Some(c)) => Some((c.metrics_start_time, c.metrics_start_time + c.test_duration)),
            (None, None) => None,
        }
    }
}

/// What a run folder holds, with each level read as `L`.
#[derive(Debug, Clone)]
pub enum Contents<L> {
    /// One bench run.
    Single(Box<L>),
    /// A concurrency sweep: `sweep.json` and one folder per level.
    Sweep {
        /// `sweep.json` (boxed: it is much larger than a level).
        sweep: Box<SweepSummary>,
        /// Each level that could be read, in sweep order.
        levels: Vec<L>,
        /// Levels that could not be read, with the reason.
        unreadable: Vec<String>,
    },
}

/// A run folder, read; `L` is what a level is read as ([`Level`] by default).
#[derive(Debug, Clone)]
pub struct RunFolder<L = Level> {
    /// The folder.
    pub dir: PathBuf,
    /// Its results.
    pub contents: Contents<L>,
    /// `run.json` of `voiceperf run` (here, or in the sweep folder above a level).
    pub record: Option<RunRecord>,
    /// Whether this folder is one level of a sweep whose folder is the parent.
    pub parent_sweep: bool,
    /// Files that could not be read and were left out.
    pub problems: Vec<String>,
}

impl RunFolder {
    /// Reads a run folder written by `voiceperf run` or `voiceperf bench`; a level is read with
    /// `load_level` (e.g. [`Level::load`] plus what a caller needs on top).
    pub fn load<L>(
        dir: &Path,
        load_level: impl Fn(&Path) -> anyhow::Result<L>,
    ) -> anyhow::Result<RunFolder<L>> {
        if !dir.is_dir() {
            bail!("{}: not a folder", dir.display());
        }
        let mut problems = Vec::new();
        let record = read_record(&dir.join(RUN_FILE), &mut problems);
        let sweep_path = dir.join(SWEEP_FILE);
        if sweep_path.exists() {
            let sweep: SweepSummary = read_json(&sweep_path)?;
            let mut levels = Vec::new();
            let mut unreadable = Vec::new();
            for level in &sweep.levels {
                let level_dir = dir.join(&level.dir);
                // Only folders inside the sweep's, whatever a damaged or hand-made sweep.json
                // says: each level's report is written into its folder.
                let inside = Path::new(&level.dir)
                    .components()
                    .all(|c| matches!(c, Component::Normal(_)));
                if !inside || level.dir.is_empty() {
                    unreadable.push(format!(
                        "{}: level folder {:?} is not a folder inside the sweep's",
                        sweep_path.display(),
                        level.dir
                    ));
                    continue;
                }
                match load_level(&level_dir) {
                    Ok(data) => levels.push(data),
                    Err(e) => unreadable.push(format!("{}: {e:#}", level_dir.display())),
                }
            }
            return Ok(RunFolder {
                dir: dir.to_path_buf(),
                contents: Contents::Sweep {
                    sweep: Box::new(sweep),
                    levels,
                    unreadable,
                },
                record,
                parent_sweep: false,
                problems,
            });
        }
        if !dir.join(SUMMARY_FILE).exists() {
            bail!(
                "{}: not a run folder (no {SUMMARY_FILE} or {SWEEP_FILE}; results of `voiceperf run` or `voiceperf bench` go in results/<timestamp>/)",
                dir.display()
            );
        }
        let level =
            load_level(dir).with_context(|| format!("reading the run folder {}", dir.display()))?;
        let parent = dir.parent().filter(|p| p.join(SWEEP_FILE).exists());
        let record = match (record, parent) {
            (Some(record), _) => Some(record),
            (None, Some(parent)) => read_record(&parent.join(RUN_FILE), &mut problems),
            (None, None) => None,
        };
        Ok(RunFolder {
            dir: dir.to_path_buf(),
            contents: Contents::Single(Box::new(level)),
            record,
            parent_sweep: parent.is_some(),
            problems,
        })
    }
}

/// `run.json`, if present; an unreadable one is noted and left out.
fn read_record(path: &Path, problems: &mut Vec<String>) -> Option<RunRecord> {
    if !path.exists() {
        return None;
    }
    match read_json(path) {
        Ok(record) => Some(record),
        Err(e) => {
            problems.push(format!("{e:#}"));
            None
        }
    }
}
