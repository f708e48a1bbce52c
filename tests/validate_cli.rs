//! The `voiceperf validate` binary: text output, `--json`, `--strict`, `--quiet`, exit
//! statuses, usage errors and colour.

mod support;

use std::path::Path;

use support::audio::wav;
use support::cli::voiceperf;
use support::validate::{good_query, recorded_query, run_validate};
use support::write_file;
use voiceperf::validate::ValidationReport;

#[test]
fn command_output_and_exit_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good");
    write_file(
        &good,
        "query_1.wav",
        &wav(&recorded_query("side_right", 200, 40)),
    );
    write_file(
        &good,
        "query_2.wav",
        &wav(&recorded_query("front_left", 100, 20)),
    );
    let warned = dir.path().join("warned");
    write_file(
        &warned,
        "query_1.wav",
        &wav(&recorded_query("front_center", 900, 50)),
    );
    let failed = dir.path().join("failed");
    write_file(&failed, "query_1.wav", &wav(&good_query()));
    write_file(
        &failed,
        "query_3.wav",
        &wav(&recorded_query("rear_left", 200, 840)),
    );
    let path = |p: &Path| p.to_str().unwrap().to_string();

    let run = run_validate(&[&path(&good)]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].contains("2 .wav files"), "{}", run.stdout);
    assert!(lines[1].starts_with("✓ query_1.wav  "), "{}", run.stdout);
    assert!(lines[2].starts_with("✓ query_2.wav  "), "{}", run.stdout);
    assert_eq!(
        lines[3],
        "2 files: 2 passed, 0 with warnings, 0 failed — benchmark-ready"
    );
    // Not a terminal: no colour codes, even without NO_COLOR.
    assert!(!run.stdout.contains('\x1b'));

    let run = run_validate(&[&path(&warned)]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains("⚠ query_1.wav: leading silence"),
        "{}",
        run.stdout
    );
    let run = run_validate(&[&path(&warned), "--strict"]);
    assert_eq!(run.code, 1, "--strict fails on warnings: {}", run.stdout);
    assert!(run.stdout.contains("--strict"), "{}", run.stdout);

    let run = run_validate(&[&path(&failed)]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("✗ query_3.wav: "))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(
        line.contains(": trailing silence ")
            && line.contains(" ms > 100 ms — prep its original recording into ")
            && line.contains("(or --max-trailing-ms "),
        "{line}"
    );
    assert!(run.stdout.contains("1 passed, 0 with warnings, 1 failed"));
    // --quiet: only the problem and the totals.
    let run = run_validate(&[&path(&failed), "-q"]);
    assert_eq!(run.code, 1);
    assert!(!run.stdout.contains("✓"), "{}", run.stdout);
    assert_eq!(run.stdout.lines().count(), 3, "{}", run.stdout);

    // Several folders at once.
    let run = run_validate(&[&path(&good), &path(&failed)]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("4 files: 3 passed"), "{}", run.stdout);

    // Usage errors: exit 2 with a one-line reason.
    for args in [
        vec![path(&dir.path().join("missing"))],
        vec![
            path(&good),
            "--min-duration".into(),
            "9".into(),
            "--max-duration".into(),
            "2".into(),
        ],
        vec![path(&good), "--max-clipped-percent".into(), "200".into()],
        vec![path(&good), "--no-such-flag".into()],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = run_validate(&args);
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains("error"), "{}", run.stderr);
    }
    // No folder given and no audio_files/ here.
    let output = voiceperf()
        .arg("validate")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("audio_files"));

    // An empty dataset folder is a failure, not a usage error.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let run = run_validate(&[&path(&empty)]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("empty folder"), "{}", run.stdout);
}

#[test]
fn json_report_has_stable_fields() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "query_1.wav", &wav(&good_query()));
    write_file(
        dir.path(),
        "query_3.wav",
        &wav(&recorded_query("rear_left", 200, 840)),
    );
    write_file(dir.path(), "notes.txt", b"hi");
    let run = run_validate(&[dir.path().to_str().unwrap(), "--json"]);
    assert_eq!(run.code, 1);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    for key in [
        "tool",
        "version",
        "inputs",
        "limits",
        "strict",
        "files",
        "folder_findings",
        "totals",
        "passed",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    assert_eq!(json["tool"], "voiceperf validate");
    assert_eq!(json["passed"], false);
    assert_eq!(json["limits"]["max_trailing_ms"], 100.0);
    assert_eq!(json["totals"]["files"], 2);
    assert_eq!(json["totals"]["failed"], 1);
    let files = json["files"].as_array().unwrap();
    assert_eq!(files[0]["name"], "query_1.wav");
    assert_eq!(files[0]["status"], "pass");
    let bad = &files[1];
    assert_eq!(bad["status"], "fail");
    let measurements = bad["measurements"].as_object().unwrap();
    for key in [
        "bytes",
        "sha256",
        "audio_sha256",
        "format",
        "frames",
        "duration_s",
        "speech_start_s",
        "speech_end_s",
        "speech_bounds_from",
        "analysed_speech_start_s",
        "analysed_speech_end_s",
        "leading_ms",
        "trailing_ms",
        "noise_floor_dbfs",
        "speech_level_dbfs",
        "clipped_samples",
        "clipped_percent",
        "peak_dbfs",
        "dc_offset_percent",
    ] {
        assert!(measurements.contains_key(key), "missing measurements.{key}");
    }
    let rules: Vec<&str> = bad["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        [
            "riff_structure",
            "pcm_format",
            "frames",
            "duration",
            "speech",
            "trailing_silence",
            "leading_silence",
            "clipping",
            "level",
            "dc_offset",
            "duplicate",
            "manifest"
        ]
    );
    let trailing = bad["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["rule"] == "trailing_silence")
        .unwrap();
    assert_eq!(trailing["status"], "fail");
    assert_eq!(trailing["unit"], "ms");
    assert_eq!(trailing["limit"], 100.0);
    assert!(trailing["value"].as_f64().unwrap() > 800.0);
    assert!(
        trailing["fix"]
            .as_str()
            .unwrap()
            .contains("prep its original recording")
    );
    // Not made by prep: no recording known, so no command to run.
    assert_eq!(trailing["command"], serde_json::Value::Null);
    assert_eq!(json["folder_findings"][0]["rule"], "not_wav");
    assert_eq!(json["folder_findings"][0]["status"], "note");
    // The result struct is the schema: the JSON reads back into it.
    let report: ValidationReport = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report.files.len(), 2);
}

#[test]
fn no_color_and_terminal_rules_are_respected() {
    // Output is never a terminal under test; NO_COLOR must not change anything then either.
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "q.wav",
        &wav(&recorded_query("rear_left", 200, 840)),
    );
    let output = voiceperf()
        .env("NO_COLOR", "1")
        .args(["validate", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(!stdout.contains('\x1b'));
    assert!(stdout.contains("✗ q.wav: trailing silence"), "{stdout}");
    assert!(output.stderr.is_empty(), "no progress bar off a terminal");
}
