//! Reading a run folder back for the report, through the types that wrote it: bench's
//! [`results`](crate::runfolder::results), analyze's [`Analysis`] and run's [`RunRecord`].

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::analyze::Analysis;
use crate::runfolder::record::{ANALYSIS_FILE, RUN_FILE, RunRecord};
use crate::runfolder::results::{
    self, ClientResults, RunSummary, SUMMARY_FILE, SWEEP_FILE, SweepSummary,
};

/// One bench run (one concurrency level) with what was learned about it.
#[derive(Debug, Clone)]
pub struct LevelData {
    /// Its folder.
    pub dir: PathBuf,
    /// `summary.json`.
    pub summary: RunSummary,
    /// Every `latency_results_<stream_id>.json`, by user then connection.
    pub clients: Vec<ClientResults>,
    /// `analysis.json`: the server log joined with this run, when there is one.
    pub analysis: Option<Analysis>,
    /// Why `analysis.json` could not be read, when it exists but is unreadable.
    pub analysis_problem: Option<String>,
}

/// What a run folder holds.
#[derive(Debug, Clone)]
pub enum Contents {
    /// One bench run.
    Single(Box<LevelData>),
    /// A concurrency sweep: `sweep.json` and one folder per level.
    Sweep {
        /// `sweep.json`.
        sweep: SweepSummary,
        /// Each level that could be read, in sweep order.
        levels: Vec<LevelData>,
        /// Levels that could not be read, with the reason.
        unreadable: Vec<String>,
    },
}

/// A run folder, read.
#[derive(Debug, Clone)]
pub struct RunFolder {
    /// The folder.
    pub dir: PathBuf,
    /// Its results.
    pub contents: Contents,
    /// `run.json` of `voiceperf run` (here, or in the sweep folder above a level).
    pub record: Option<RunRecord>,
    /// Whether this folder is one level of a sweep whose folder is the parent.
    pub parent_sweep: bool,
    /// Files that could not be read and were left out of the report.
    pub problems: Vec<String>,
}

impl LevelData {
    /// Reads one bench run folder (`summary.json` and the client files are required).
    pub fn load(dir: &Path) -> anyhow::Result<LevelData> {
        let summary: RunSummary = results::read_json(&dir.join(SUMMARY_FILE))?;
        let clients = results::read_client_results(dir)?;
        let analysis_path = dir.join(ANALYSIS_FILE);
        let (analysis, analysis_problem) = if analysis_path.exists() {
            match results::read_json::<Analysis>(&analysis_path) {
                Ok(analysis) => (Some(analysis), None),
                Err(e) => (None, Some(format!("{e:#}"))),
            }
        } else {
            (None, None)
        };
        Ok(LevelData {
            dir: dir.to_path_buf(),
            summary,
            clients,
            analysis,
            analysis_problem,
        })
    }
}

impl RunFolder {
    /// Reads a run folder written by `voiceperf run` or `voiceperf bench`.
    pub fn load(dir: &Path) -> anyhow::Result<RunFolder> {
        if !dir.is_dir() {
            bail!("{}: not a folder", dir.display());
        }
        let mut problems = Vec::new();
        let record = read_record(&dir.join(RUN_FILE), &mut problems);
        let sweep_path = dir.join(SWEEP_FILE);
        if sweep_path.exists() {
            let sweep: SweepSummary = results::read_json(&sweep_path)?;
            let mut levels = Vec::new();
            let mut unreadable = Vec::new();
            for level in &sweep.levels {
                let level_dir = dir.join(&level.dir);
                // The report of each level is written into its folder: only folders inside
                // the sweep's, whatever a damaged or hand-made sweep.json says.
                let inside = Path::new(&level.dir)
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)));
                if !inside || level.dir.is_empty() {
                    unreadable.push(format!(
                        "{}: level folder {:?} is not a folder inside the sweep's",
                        sweep_path.display(),
                        level.dir
                    ));
                    continue;
                }
                match LevelData::load(&level_dir) {
                    Ok(data) => levels.push(data),
                    Err(e) => unreadable.push(format!("{}: {e:#}", level_dir.display())),
                }
            }
            return Ok(RunFolder {
                dir: dir.to_path_buf(),
                contents: Contents::Sweep {
                    sweep,
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
        let level = LevelData::load(dir)
            .with_context(|| format!("reading the run folder {}", dir.display()))?;
        let parent = dir.parent().filter(|p| p.join(SWEEP_FILE).exists());
        let record = match (record, parent) {
            (Some(record), _) => Some(record),
            (None, Some(parent)) => read_record(&parent.join(RUN_FILE), &mut problems),
            (None, None) => None,
        };
        let parent_sweep = parent.is_some();
        Ok(RunFolder {
            dir: dir.to_path_buf(),
            contents: Contents::Single(Box::new(level)),
            record,
            parent_sweep,
            problems,
        })
    }
}

/// `run.json`, if present; an unreadable one is noted and left out.
fn read_record(path: &Path, problems: &mut Vec<String>) -> Option<RunRecord> {
    if !path.exists() {
        return None;
    }
    match results::read_json(path) {
        Ok(record) => Some(record),
        Err(e) => {
            problems.push(format!("{e:#}"));
            None
        }
    }
}
