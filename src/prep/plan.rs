//! Which recordings `prep` will read and which query file each one becomes.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::bail;
use walkdir::WalkDir;

use crate::audio::decode::has_audio_extension;
use crate::fsutil::TEMP_PREFIX;

/// One recording to prepare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The recording.
    pub input: PathBuf,
    /// The query's path relative to the output folder ('/'-separated, ends in `.wav`).
    pub output: String,
}

/// The recordings found, and what was passed over.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Recordings to prepare, sorted by output path.
    pub jobs: Vec<Job>,
    /// Files in the given folders that are not audio (by extension).
    pub skipped: Vec<PathBuf>,
    /// Inputs that do not exist, with the reason.
    pub missing: Vec<(PathBuf, String)>,
}

/// Finds the recordings among `inputs` (files, or folders walked recursively; hidden files
/// and the output folder itself are passed over) and maps each to a query path: a file given
/// directly keeps its name, a file in a folder its path below that folder, with `.wav`.
/// Fails when two recordings would become the same query, a query would overwrite a
/// recording, or the output folder is one of the input folders.
pub fn plan(inputs: &[PathBuf], output_dir: &Path) -> anyhow::Result<Plan> {
    let mut plan = Plan::default();
    let output_canonical = output_dir.canonicalize().ok();
    for input in inputs {
        let metadata = match std::fs::metadata(input) {
            Ok(m) => m,
            Err(e) => {
                plan.missing.push((input.clone(), e.to_string()));
                continue;
            }
        };
        if !metadata.is_dir() {
            plan.jobs.push(Job {
                input: input.clone(),
                output: query_name(Path::new(input.file_name().unwrap_or(input.as_os_str()))),
            });
            continue;
        }
        if output_canonical.is_some() && input.canonicalize().ok() == output_canonical {
            bail!(
                "the output folder {} is the input folder {} (the queries would land among \
                 the recordings, and overwrite the .wav ones): choose another folder with -o; \
                 nothing was written",
                output_dir.display(),
                input.display()
            );
        }
        let walk = WalkDir::new(input)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|entry| {
                let hidden =
                    entry.depth() > 0 && entry.file_name().to_string_lossy().starts_with('.');
                let is_output = entry.file_type().is_dir()
                    && output_canonical.is_some()
                    && entry.path().canonicalize().ok() == output_canonical;
                !hidden && !is_output
            });
        for entry in walk {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    let path = e.path().unwrap_or(input).to_path_buf();
                    plan.missing.push((path, e.to_string()));
                    continue;
                }
            };
            if entry.file_type().is_dir() {
                continue;
            }
            let path = entry.path();
            if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(TEMP_PREFIX))
            {
                continue;
            }
            if !has_audio_extension(path) {
                plan.skipped.push(path.to_path_buf());
                continue;
            }
            let relative = path.strip_prefix(input).unwrap_or(path);
            plan.jobs.push(Job {
                input: path.to_path_buf(),
                output: query_name(relative),
            });
        }
    }
    // The same recording reached twice (a folder and a file in it, a folder given twice)
    // makes the same query once, not a collision with itself.
    let mut seen = HashSet::new();
    plan.jobs.retain(|job| {
        let input = job
            .input
            .canonicalize()
            .unwrap_or_else(|_| job.input.clone());
        seen.insert((input, job.output.clone()))
    });
    check_collisions(&plan.jobs, output_dir)?;
    plan.jobs.sort_by(|a, b| a.output.cmp(&b.output));
    Ok(plan)
}

/// `relative` with its extension replaced by `.wav`, '/'-separated.
fn query_name(relative: &Path) -> String {
    let with_wav = relative.with_extension("wav");
    with_wav
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn check_collisions(jobs: &[Job], output_dir: &Path) -> anyhow::Result<()> {
    let mut by_output: BTreeMap<&str, Vec<&Path>> = BTreeMap::new();
    for job in jobs {
        by_output.entry(&job.output).or_default().push(&job.input);
    }
    let clashes: Vec<String> = by_output
        .iter()
        .filter(|(_, inputs)| inputs.len() > 1)
        .map(|(output, inputs)| {
            let names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
            format!(
                "{} ← {}",
                output_dir.join(output).display(),
                names.join(" and ")
            )
        })
        .collect();
    if !clashes.is_empty() {
        bail!(
            "{} output file(s) would be written by more than one input (rename one, or prep \
             them into different folders); nothing was written: {}",
            clashes.len(),
            clashes.join("; ")
        );
    }
    for job in jobs {
        let output = output_dir.join(&job.output);
        if let (Ok(a), Ok(b)) = (output.canonicalize(), job.input.canonicalize())
            && a == b
        {
            bail!(
                "{} would be overwritten by its own prepared version (inputs are never \
                 modified: choose another output folder with -o); nothing was written",
                job.input.display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn touch(path: &Path) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, b"x").unwrap();
    }

    #[test]
    fn walks_folders_and_mirrors_paths() {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("raw");
        touch(&raw.join("b.MP3"));
        touch(&raw.join("sub/a.flac"));
        touch(&raw.join("notes.txt"));
        touch(&raw.join(".hidden.wav"));
        touch(&raw.join(".git/x.wav"));
        let single = dir.path().join("elsewhere/c.opus");
        touch(&single);
        let out = raw.join("out");
        touch(&out.join("old.wav"));
        let plan = plan(&[raw.clone(), single.clone()], &out).unwrap();
        let outputs: Vec<&str> = plan.jobs.iter().map(|j| j.output.as_str()).collect();
        assert_eq!(outputs, ["b.wav", "c.wav", "sub/a.wav"]);
        assert_eq!(plan.jobs[1].input, single);
        assert_eq!(plan.skipped, vec![raw.join("notes.txt")]);
        assert!(plan.missing.is_empty());
    }

    #[test]
    fn colliding_outputs_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        touch(&dir.path().join("q1.mp3"));
        touch(&dir.path().join("q1.flac"));
        let err = plan(&[dir.path().to_path_buf()], &dir.path().join("out")).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("q1.wav"), "{message}");
        assert!(
            message.contains("q1.flac") && message.contains("q1.mp3"),
            "{message}"
        );
    }

    #[test]
    fn a_recording_reached_twice_is_one_job_not_a_collision() {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("raw");
        touch(&raw.join("q1.mp3"));
        touch(&raw.join("q2.flac"));
        let out = dir.path().join("out");
        let twice = plan(&[raw.clone(), raw.join("q1.mp3"), raw.clone()], &out).unwrap();
        let outputs: Vec<&str> = twice.jobs.iter().map(|j| j.output.as_str()).collect();
        assert_eq!(outputs, ["q1.wav", "q2.wav"]);
        // Two different recordings still collide.
        touch(&dir.path().join("elsewhere/q1.mp3"));
        let err = plan(&[raw, dir.path().join("elsewhere")], &out).unwrap_err();
        assert!(err.to_string().contains("more than one input"), "{err}");
    }

    #[test]
    fn the_output_folder_cannot_be_an_input_folder() {
        let dir = tempfile::tempdir().unwrap();
        touch(&dir.path().join("raw/q1.mp3"));
        let raw = dir.path().join("raw");
        let err = plan(std::slice::from_ref(&raw), &raw.join(".")).unwrap_err();
        assert!(err.to_string().contains("is the input folder"), "{err}");
    }

    #[test]
    fn never_overwrites_an_input() {
        let dir = tempfile::tempdir().unwrap();
        touch(&dir.path().join("q.wav"));
        let err = plan(&[dir.path().join("q.wav")], dir.path()).unwrap_err();
        assert!(err.to_string().contains("overwritten"), "{err}");
    }

    #[test]
    fn missing_inputs_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let plan = plan(&[dir.path().join("nope.wav")], dir.path()).unwrap();
        assert!(plan.jobs.is_empty());
        assert_eq!(plan.missing.len(), 1);
    }
}
