//! Helpers shared by the integration tests: each test file says `mod support;` and uses the
//! parts it needs. Paths, JSON, folder listings and number comparisons are here; the rest is
//! in the submodules:
//! - `audio`: recorded voices, noise, scenes, synthesized speech, WAV files;
//! - `agent`: the built-in agent with short fixed delays; `client`: a pipecat client for it;
//! - `bench`: a dataset, reply and agent log in a temp folder, and short bench options;
//! - `cli`: running the binary (to completion, or in the background as the agent);
//! - `prep`: checking what prep wrote; `validate`: validate's checks and reports.
//! - `hardening`: a counting allocator, runs of the binary bounded in time and memory.
//! - `analysis`: every number of an `analyze` result is finite.

// Every test binary compiles this module on its own and uses only part of it.
#![allow(dead_code)]

pub mod agent;
pub mod analysis;
pub mod audio;
pub mod bench;
pub mod cli;
pub mod client;
pub mod hardening;
pub mod prep;
pub mod validate;

use std::path::{Path, PathBuf};

/// A path inside the repository (`audio_files`, `raw_recordings`, …).
pub fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A committed test fixture: `relative` under `tests/fixtures` (`logs/seed_compat.log`, …).
pub fn fixture(relative: &str) -> PathBuf {
    repo("tests/fixtures").join(relative)
}

/// Reads a JSON file as a generic value.
pub fn json(path: &Path) -> serde_json::Value {
    voiceperf::runfolder::read_json(path).unwrap()
}

/// Writes `bytes` to `dir/name`, creating the folders on the way; returns the path.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The names of the entries of `dir` (files and folders), sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The files anywhere under `dir`, relative and '/'-separated, sorted.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| voiceperf::fsutil::relative_slash(dir, e.path()))
        .collect();
    files.sort();
    files
}

/// Asserts `actual` (a number, or an `Option` that must hold one) is within `tolerance` of
/// `expected`.
#[track_caller]
pub fn close_within(actual: impl Into<Option<f64>>, expected: f64, tolerance: f64) {
    let actual = actual.into().expect("a value");
    assert!(
        (actual - expected).abs() < tolerance,
        "expected {expected}, got {actual}"
    );
}

/// Asserts `actual` equals `expected` but for floating-point rounding (1e-9).
#[track_caller]
pub fn close(actual: impl Into<Option<f64>>, expected: f64) {
    close_within(actual, expected, 1e-9);
}

/// Asserts `actual` equals `expected` to the microsecond (bench rounds its times to it).
#[track_caller]
pub fn close_to_us(actual: impl Into<Option<f64>>, expected: f64) {
    close_within(actual, expected, 1e-6);
}

/// Asserts two lists of numbers are equal but for floating-point rounding.
#[track_caller]
pub fn values(actual: &[f64], expected: &[f64]) {
    assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
    for (a, e) in actual.iter().zip(expected) {
        close(*a, *e);
    }
}
