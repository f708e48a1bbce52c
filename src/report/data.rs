//! What the report reads: the run folder (through [`crate::runfolder`]) and, for each level,
//! analyze's `analysis.json` when there is one.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::analyze::Analysis;
use crate::runfolder::results::{ClientResults, RunSummary};
use crate::runfolder::{ANALYSIS_FILE, Level, SUMMARY_FILE, read_json};

/// A run folder as the report reads it.
pub type RunFolder = crate::runfolder::RunFolder<LevelData>;
/// What a run folder holds, as the report reads it.
pub type Contents = crate::runfolder::Contents<LevelData>;

/// One bench run (one concurrency level) with what was learned about it.
#[derive(Debug, Clone)]
pub struct LevelData {
    /// Its folder.
    pub dir: PathBuf,
    /// `summary.json`.
    pub summary: RunSummary,
    /// Every readable `latency_results_<stream_id>.json`, by user then connection.
    pub clients: Vec<ClientResults>,
    /// Client files left out of the report, with the reason.
    pub unreadable_clients: Vec<String>,
    /// `analysis.json`: the server log joined with this run, when there is one.
    pub analysis: Option<Analysis>,
    /// Why `analysis.json` could not be read, when it exists but is unreadable.
    pub analysis_problem: Option<String>,
}

impl LevelData {
    /// Reads one bench run folder (`summary.json` is required).
    pub fn load(dir: &Path) -> anyhow::Result<LevelData> {
        let level = Level::load(dir)?;
        let summary = match (level.summary, level.summary_problem) {
            (Some(summary), _) => summary,
            (None, problem) => {
                return Err(anyhow::anyhow!(problem.unwrap_or_default()))
                    .with_context(|| format!("no usable {SUMMARY_FILE} in {}", dir.display()));
            }
        };
        let analysis_path = dir.join(ANALYSIS_FILE);
        let (analysis, analysis_problem) = if analysis_path.exists() {
            match read_json::<Analysis>(&analysis_path) {
                Ok(analysis) => (Some(analysis), None),
                Err(e) => (None, Some(format!("{e:#}"))),
            }
        } else {
            (None, None)
        };
        Ok(LevelData {
            dir: level.dir,
            summary,
            clients: level.clients,
            unreadable_clients: level.unreadable,
            analysis,
            analysis_problem,
        })
    }
}

/// Reads a run folder for the report.
/// Reads a run folder for the report; client files that cannot be read are left out and
/// listed in its problems.
pub fn load(dir: &Path) -> anyhow::Result<RunFolder> {
    let mut folder = crate::runfolder::RunFolder::load(dir, LevelData::load)?;
    let levels: Vec<&LevelData> = match &folder.contents {
        Contents::Single(level) => vec![level],
        Contents::Sweep { levels, .. } => levels.iter().collect(),
    };
    let unreadable: Vec<String> = levels
        .iter()
        .flat_map(|l| l.unreadable_clients.iter().cloned())
        .collect();
    folder.problems.extend(unreadable);
    Ok(folder)
}
