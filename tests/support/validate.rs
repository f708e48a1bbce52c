//! `voiceperf validate` as the validate tests use it: benchmark-shaped queries made from the
//! recorded voices, the library's check of a folder, lookups and rule assertions on its
//! report, and the binary's run.

use std::path::{Path, PathBuf};

use voiceperf::dataset::Limits;
use voiceperf::validate::{
    FileReport, Rule, Status, ValidateOptions, ValidationReport, validate_dataset,
};

use super::audio::{scene, to_pcm16, voice_unit};
use super::cli::{Run, run, voiceperf};

/// `lead_ms` of quiet background, the recorded voice `name`, then `trail_ms` of background
/// (−70 dBFS noise), as 16-bit samples.
pub fn recorded_query(name: &str, lead_ms: usize, trail_ms: usize) -> Vec<i16> {
    let (signal, _) = scene(
        &voice_unit(name),
        lead_ms as f64 / 1000.0,
        trail_ms as f64 / 1000.0,
        -70.0,
    );
    to_pcm16(&signal)
}

/// A benchmark-ready query: 200 ms before the voice, 40 ms after it.
pub fn good_query() -> Vec<i16> {
    recorded_query("rear_left", 200, 40)
}

/// Validates `dir` (the library, as the command does) against `limits`.
pub fn check_with(dir: &Path, limits: Limits) -> ValidationReport {
    let mut options = ValidateOptions::new(vec![dir.to_path_buf()]);
    options.limits = limits;
    validate_dataset(&options).unwrap()
}

/// Validates `dir` against the default limits.
pub fn check(dir: &Path) -> ValidationReport {
    check_with(dir, Limits::default())
}

/// The report of file `name`.
pub fn file<'r>(report: &'r ValidationReport, name: &str) -> &'r FileReport {
    report
        .files
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("{name} not in {:?}", report.files))
}

/// Asserts `rule` has `expected` on `name`, and that every problem carries a fix.
#[track_caller]
pub fn assert_rule(report: &ValidationReport, name: &str, rule: Rule, expected: Status) {
    let f = file(report, name);
    let check = f.check(rule).unwrap();
    assert_eq!(
        check.status, expected,
        "{name} {rule:?}: {check:?}\nall: {:#?}",
        f.checks
    );
    if matches!(check.status, Status::Warning | Status::Fail) {
        assert!(
            check.fix.as_deref().is_some_and(|f| !f.is_empty()),
            "{name} {rule:?} has no fix"
        );
    }
}

/// Prepares `inputs` with prep (the library, as the command does) into `out`.
pub fn prep_into(inputs: Vec<PathBuf>, out: &Path) {
    let options = voiceperf::prep::PrepOptions {
        inputs,
        output_dir: out.to_path_buf(),
        settings: Default::default(),
        force: false,
        dry_run: false,
        quiet: true,
        report: None,
    };
    let report = voiceperf::prep::prepare_all(&options).unwrap();
    assert_eq!(report.failed, 0, "{:#?}", report.files);
}

/// Runs `voiceperf validate ARGS` with `NO_COLOR` unset (output is not a terminal, so there
/// must be no colour anyway).
pub fn run_validate(args: &[&str]) -> Run {
    run(voiceperf()
        .env_remove("NO_COLOR")
        .arg("validate")
        .args(args))
}
