//! `voiceperf report`: a run folder's JSON → `report.html` (one self-contained page: inline
//! CSS, inline SVG charts, no script, nothing loaded from anywhere) and `summary.md`.
//!
//! The steps: [`data`] reads the folder back through the types that wrote it (bench's
//! results, analyze's analysis, run's record), [`charts`] draws each chart with the small
//! [`svg`] kit, [`html`] assembles the page and [`markdown`] the summary. The JSON is only
//! read; the outputs are written atomically.

pub mod bargein;
pub mod charts;
pub mod data;
pub mod html;
pub mod load;
pub mod markdown;
pub mod svg;

use std::path::{Path, PathBuf};

use crate::Outcome;
use crate::fsutil;
use crate::report::data::Contents;
use crate::runfolder::{MARKDOWN_FILE, REPORT_FILE};

/// Validated options of `voiceperf report`.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// The run folder (`results/<timestamp>`) to render.
    pub dir: PathBuf,
    /// Write the HTML here instead of `DIR/report.html` (and no `summary.md`).
    pub output: Option<PathBuf>,
}

/// What [`render_folder`] wrote.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The HTML report.
    pub html: PathBuf,
    /// The Markdown summary.
    pub markdown: Option<PathBuf>,
    /// The reports of each level of a sweep.
    pub level_reports: Vec<PathBuf>,
    /// Files that could not be read and were left out.
    pub problems: Vec<String>,
}

/// Renders a run folder's `report.html` and `summary.md` into the folder (and, for a sweep,
/// every level's into its own folder).
pub fn render_folder(dir: &Path) -> anyhow::Result<Rendered> {
    render_to(dir, None)
}

fn render_to(dir: &Path, output: Option<&Path>) -> anyhow::Result<Rendered> {
    let folder = data::load(dir)?;
    let mut problems = folder.problems.clone();
    let mut level_reports = Vec::new();
    if let Contents::Sweep {
        levels, unreadable, ..
    } = &folder.contents
    {
        problems.extend(unreadable.iter().cloned());
        if output.is_none() {
            for level in levels {
                let rendered = render_to(&level.dir, None)?;
                problems.extend(rendered.problems);
                level_reports.push(rendered.html);
            }
        }
    }
    if let Contents::Single(level) = &folder.contents
        && let Some(problem) = &level.analysis_problem
    {
        problems.push(problem.clone());
    }
    let html_path = output.map_or_else(|| dir.join(REPORT_FILE), Path::to_path_buf);
    fsutil::write_atomic(&html_path, html::render(&folder).as_bytes())?;
    let markdown = match output {
        Some(_) => None,
        None => {
            let path = dir.join(MARKDOWN_FILE);
            fsutil::write_atomic(&path, markdown::render(&folder).as_bytes())?;
            Some(path)
        }
    };
    Ok(Rendered {
        html: html_path,
        markdown,
        level_reports,
        problems,
    })
}

/// Runs `voiceperf report`: renders the report and prints its path.
pub fn run(options: &ReportOptions) -> anyhow::Result<Outcome> {
    let rendered = render_to(&options.dir, options.output.as_deref())?;
    for problem in &rendered.problems {
        eprintln!("warning: left out of the report: {problem}");
    }
    println!("report: {}", rendered.html.display());
    if let Some(markdown) = &rendered.markdown {
        println!("summary: {}", markdown.display());
    }
    Ok(Outcome::failed_if(!rendered.problems.is_empty()))
}
