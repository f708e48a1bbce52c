//! Finding the files to check: the `.wav` files of each dataset folder (walked recursively,
//! hidden files passed over), its `manifest.json`, and what is wrong with a folder as a whole.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use super::results::{Finding, Rule, Status};
use super::rules::{output_flag, redo_command, shell_word};
use crate::audio::decode::has_audio_extension;
use crate::dataset::manifest::{MANIFEST_FILE, Manifest, ManifestEntry};
use crate::fsutil;

/// A dataset folder and its manifest.
#[derive(Debug, Clone)]
pub struct DatasetFolder {
    /// The folder.
    pub dir: PathBuf,
    /// The folder as shown to the user ('/'-separated).
    pub display: String,
    /// Its `manifest.json`, when there is a readable one.
    pub manifest: Option<Manifest>,
}

/// A `.wav` file to check.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Where it is.
    pub path: PathBuf,
    /// Index of its dataset in [`FoundFiles::datasets`].
    pub dataset: usize,
    /// Its path relative to the dataset folder ('/'-separated): its manifest key.
    pub name: String,
}

/// The files and folders found from the paths given.
#[derive(Debug, Clone, Default)]
pub struct FoundFiles {
    /// Dataset folders (a file given on its own belongs to its parent folder).
    pub datasets: Vec<DatasetFolder>,
    /// `.wav` files, in the order found (each folder sorted by name).
    pub files: Vec<Candidate>,
    /// Folder-level findings.
    pub findings: Vec<Finding>,
}

impl FoundFiles {
    /// The path of `file` as shown to the user: its dataset folder joined with its name.
    pub fn display(&self, file: &Candidate) -> String {
        join_display(&self.datasets[file.dataset].display, &file.name)
    }

    fn dataset_index(&mut self, dir: &Path, display: String) -> usize {
        let key = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        if let Some(i) = self
            .datasets
            .iter()
            .position(|d| d.dir.canonicalize().unwrap_or_else(|_| d.dir.clone()) == key)
        {
            return i;
        }
        let manifest = match Manifest::load(dir) {
            Ok(manifest) => manifest,
            Err(e) => {
                let path = join_display(&display, MANIFEST_FILE);
                let rebuild = format!(
                    "to rebuild it, prep the recordings into {} again with --force",
                    shell_word(&display)
                );
                // Deleting it makes the dataset valid (each file is then judged by its own
                // analysis); a folder in its place cannot be removed with one safe command.
                let removable =
                    std::fs::symlink_metadata(Manifest::path(dir)).is_ok_and(|m| !m.is_dir());
                let (fix, command) = if removable {
                    let command = format!("rm -- {}", shell_word(&path));
                    (format!("delete it: {command} ({rebuild})"), Some(command))
                } else {
                    (
                        format!("move the folder {path} out of the dataset ({rebuild})"),
                        None,
                    )
                };
                self.findings.push(Finding {
                    path,
                    rule: Rule::ManifestUnreadable,
                    status: Status::Fail,
                    message: format!("{e:#}"),
                    fix: Some(fix),
                    command,
                });
                None
            }
        };
        self.datasets.push(DatasetFolder {
            dir: dir.to_path_buf(),
            display,
            manifest,
        });
        self.datasets.len() - 1
    }
}

/// `dir/name` for messages, '/'-separated, without `./` for the current folder.
pub fn join_display(dir: &str, name: &str) -> String {
    let dir = dir.trim_end_matches('/');
    if dir.is_empty() || dir == "." {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

fn is_wav(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("wav"))
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.to_string_lossy().starts_with('.')
}

/// Finds the `.wav` files of `paths` (folders walked recursively; a file is checked whatever
/// its name) with their datasets and manifests, and reports folder-level problems: a path
/// that cannot be read, a folder without `.wav` files, files that are not `.wav`, an
/// unreadable manifest, manifest entries whose file is gone.
pub fn collect(paths: &[PathBuf]) -> FoundFiles {
    let mut collected = FoundFiles::default();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    for path in paths {
        let display = fsutil::slash(path);
        let metadata = match std::fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(e) => {
                collected.findings.push(Finding {
                    path: display,
                    rule: Rule::Unreadable,
                    status: Status::Fail,
                    message: format!("cannot read it: {e}"),
                    fix: Some("give the dataset folder (by default audio_files/)".into()),
                    command: None,
                });
                continue;
            }
        };
        if metadata.is_dir() {
            collect_dir(&mut collected, &mut seen, path, display);
        } else {
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| display.clone());
            let dataset = collected.dataset_index(parent, fsutil::slash(parent));
            if seen.insert(path.canonicalize().unwrap_or_else(|_| path.clone())) {
                collected.files.push(Candidate {
                    path: path.clone(),
                    dataset,
                    name,
                });
            }
        }
    }
    collected
}

fn collect_dir(
    collected: &mut FoundFiles,
    seen: &mut HashSet<PathBuf>,
    dir: &Path,
    display: String,
) {
    let dataset = collected.dataset_index(dir, display.clone());
    let mut wav_files = 0usize;
    let mut other_files = 0usize;
    let walk = WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| entry.depth() == 0 || !is_hidden(entry.file_name()));
    for entry in walk {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                let path = e.path().map_or_else(|| display.clone(), fsutil::slash);
                collected.findings.push(Finding {
                    path,
                    rule: Rule::Unreadable,
                    status: Status::Fail,
                    message: format!("cannot read it: {e}"),
                    fix: Some("check its permissions".into()),
                    command: None,
                });
                continue;
            }
        };
        if entry.file_type().is_dir() {
            continue;
        }
        let path = entry.path();
        let relative = fsutil::relative_slash(dir, path);
        if is_wav(path) {
            wav_files += 1;
            if seen.insert(path.canonicalize().unwrap_or_else(|_| path.to_path_buf())) {
                collected.files.push(Candidate {
                    path: path.to_path_buf(),
                    dataset,
                    name: relative,
                });
            }
            continue;
        }
        if entry.depth() == 1 && entry.file_name() == MANIFEST_FILE {
            continue;
        }
        other_files += 1;
        let shown = join_display(&display, &relative);
        collected.findings.push(if has_audio_extension(path) {
            let (fix, command) = convert_fix(&collected.datasets[dataset], &relative, path, &shown);
            Finding {
                message: "not a .wav file: bench only plays .wav queries".into(),
                fix: Some(fix),
                command,
                path: shown,
                rule: Rule::NotWav,
                status: Status::Warning,
            }
        } else {
            Finding {
                path: shown,
                rule: Rule::NotWav,
                status: Status::Note,
                message: "not audio: ignored".into(),
                fix: None,
                command: None,
            }
        });
    }
    if wav_files == 0 {
        let message = if other_files == 0 {
            "empty folder: no .wav files".to_string()
        } else {
            format!("no .wav files (only {other_files} other file(s))")
        };
        collected.findings.push(Finding {
            path: display.clone(),
            rule: Rule::NoWavFiles,
            status: Status::Fail,
            message,
            fix: Some(format!(
                "prepare recordings into it: give voiceperf prep your recordings (files or \
                 folders){}",
                match output_flag(&display).as_str() {
                    "" => String::new(),
                    flag => format!(" and{flag}"),
                }
            )),
            command: None,
        });
    }
    if let Some(manifest) = &collected.datasets[dataset].manifest {
        // Any prep run into the dataset rewrites the manifest without the refused keys: the
        // one that prepares a query whose recording is known (unchanged, so skipped) will do.
        let rewrite = manifest
            .entries
            .iter()
            .filter(|(name, _)| dir.join(name.as_str()).is_file())
            .find_map(|(name, entry)| redo_command(&display, name, Some(entry), "").ok());
        for key in &manifest.refused_keys {
            let (fix, command) = match &rewrite {
                Some(command) => (
                    format!(
                        "drop it from the file: {command} (prep rewrites the manifest without it)"
                    ),
                    Some(command.clone()),
                ),
                None => (
                    format!(
                        "delete the entry from {MANIFEST_FILE}, or prep recordings into {} \
                         (prep rewrites the manifest without it)",
                        shell_word(&display)
                    ),
                    None,
                ),
            };
            collected.findings.push(Finding {
                path: join_display(&display, MANIFEST_FILE),
                rule: Rule::ManifestBadKey,
                status: Status::Warning,
                message: format!("entry {key:?} is not a file inside the dataset folder: ignored"),
                fix: Some(fix),
                command,
            });
        }
        let missing: BTreeMap<&String, &ManifestEntry> = manifest
            .entries
            .iter()
            .filter(|(name, _)| !dir.join(name.as_str()).is_file())
            .collect();
        for (name, entry) in missing {
            let (fix, command) = match redo_command(&display, name, Some(entry), "") {
                Ok(command) => (format!("run: {command} to make it again"), Some(command)),
                Err(words) => (format!("{words} to make it again"), None),
            };
            collected.findings.push(Finding {
                path: join_display(&display, name),
                rule: Rule::ManifestMissingFile,
                status: Status::Warning,
                message: format!("listed in {MANIFEST_FILE} but missing"),
                fix: Some(fix),
                command,
            });
        }
    }
}

/// The fix for a recording in the dataset that is not a `.wav` (`relative` to the dataset,
/// shown as `shown`): prep it into the dataset, when that makes the query next to it without
/// replacing another file.
fn convert_fix(
    dataset: &DatasetFolder,
    relative: &str,
    path: &Path,
    shown: &str,
) -> (String, Option<String>) {
    let then = " (then move the original out of the dataset)";
    let query = path.with_extension("wav");
    let query_name = Path::new(relative).with_extension("wav");
    let made_from_it = dataset
        .manifest
        .as_ref()
        .and_then(|m| m.get(&fsutil::slash(&query_name)))
        .is_some_and(|entry| entry.source == shown);
    if relative.contains('/') {
        // prep names a file's query after the file alone: it would land at the top.
        (
            format!(
                "convert it: prep the folder holding it into a folder of its own and move the \
                 query here as {}{then}",
                fsutil::slash(&query_name)
            ),
            None,
        )
    } else if query.exists() && !made_from_it {
        (
            format!(
                "convert it with voiceperf prep into another folder ({} is already taken by \
                 another file){then}",
                fsutil::slash(&query_name)
            ),
            None,
        )
    } else {
        let command = format!(
            "voiceperf prep {}{}",
            shell_word(shown),
            output_flag(&dataset.display)
        );
        (format!("convert it: {command}{then}"), Some(command))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_paths() {
        assert_eq!(join_display("audio_files/", "q.wav"), "audio_files/q.wav");
        assert_eq!(join_display(".", "q.wav"), "q.wav");
        assert_eq!(join_display("", "sub/q.wav"), "sub/q.wav");
    }

    #[test]
    fn walks_folders_and_reports_strays() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::create_dir(root.join(".git")).unwrap();
        for name in ["b.wav", "A.WAV", "sub/c.wav", ".hidden.wav", ".git/x.wav"] {
            std::fs::write(root.join(name), b"x").unwrap();
        }
        std::fs::write(root.join("notes.txt"), b"x").unwrap();
        std::fs::write(root.join("q.mp3"), b"x").unwrap();
        std::fs::write(root.join("sub/manifest.json"), b"{}").unwrap();
        let collected = collect(&[root.to_path_buf(), root.join("b.wav")]);
        let names: Vec<&str> = collected.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["A.WAV", "b.wav", "sub/c.wav"]);
        let findings: Vec<(String, Status)> = collected
            .findings
            .iter()
            .map(|f| (f.path.rsplit('/').next().unwrap().to_string(), f.status))
            .collect();
        assert!(findings.contains(&("notes.txt".into(), Status::Note)));
        assert!(findings.contains(&("q.mp3".into(), Status::Warning)));
        // A manifest.json below the dataset root is not prep's: reported.
        assert!(findings.contains(&("manifest.json".into(), Status::Note)));
        assert_eq!(findings.len(), 3, "{findings:?}");
    }

    #[test]
    fn empty_and_missing_folders_are_failures() {
        let dir = tempfile::tempdir().unwrap();
        let collected = collect(&[dir.path().to_path_buf(), dir.path().join("nope")]);
        let rules: Vec<Rule> = collected.findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, [Rule::NoWavFiles, Rule::Unreadable]);
        assert!(collected.findings[0].message.contains("empty folder"));
        assert!(
            collected
                .findings
                .iter()
                .all(|f| f.status == Status::Fail && f.fix.is_some())
        );
    }
}
