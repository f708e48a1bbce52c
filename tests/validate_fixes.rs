//! Every fix command `validate` prints works as printed: a folder of broken datasets, one per
//! problem that has a command fix; for each, `validate --json` gives the commands, each is
//! split the way a POSIX shell would split it, run (the real binary, or `rm`) from the folder
//! validate ran in, and must succeed; validate must then pass. Every rule is either covered
//! here or listed as one whose fix is words only, so a new rule with a command and no case
//! fails the test.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use support::audio::{Encoding, WavFormat, wav, wav_bytes, wav_file, write_wav};
use support::cli::{prep, run, voiceperf};
use support::validate::recorded_query;
use voiceperf::audio::riff;

/// Rules whose fixes are words only: no command can fix them (record again, split, remove
/// a duplicate, high-pass the recording first, give another path, prepare unknown recordings).
const WORDS_ONLY: [&str; 6] = [
    "duration",
    "speech",
    "dc_offset",
    "duplicate",
    "unreadable",
    "no_wav_files",
];

/// The folder holding the recordings: a space in its name, so commands must quote.
const RECORDINGS: &str = "my recordings";

/// Runs `voiceperf validate --json DATASET` in `root`: the exit code and the report.
fn validate_json(root: &Path, dataset: &str) -> (i32, Value) {
    let out = run(voiceperf()
        .current_dir(root)
        .args(["validate", "--json", dataset]));
    let report: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", out.stdout, out.stderr));
    (out.code, report)
}

/// Every check and finding of `report` with a problem: (rule, status, fix, command).
fn problems(report: &Value) -> Vec<(String, String, String, Option<String>)> {
    let checks = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["checks"].as_array().unwrap().iter());
    let findings = report["folder_findings"].as_array().unwrap().iter();
    checks
        .chain(findings)
        .filter(|c| c["status"] == "fail" || c["status"] == "warning")
        .map(|c| {
            (
                c["rule"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
                c["fix"].as_str().unwrap_or_default().to_string(),
                c["command"].as_str().map(str::to_string),
            )
        })
        .collect()
}

/// Runs one fix command in `root`, split as a POSIX shell splits it; it must succeed.
fn run_fix(root: &Path, command: &str) {
    let words = shlex::split(command).unwrap_or_else(|| panic!("not shell words: {command}"));
    let (program, args) = words.split_first().expect("a command");
    let (code, stdout, stderr) = match program.as_str() {
        "voiceperf" => {
            let out = run(voiceperf()
                .current_dir(root)
                .env("NO_COLOR", "1")
                .args(args));
            (out.code, out.stdout, out.stderr)
        }
        "rm" => {
            let out = std::process::Command::new("rm")
                .current_dir(root)
                .args(args)
                .output()
                .unwrap();
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        }
        other => panic!("fix runs {other}, which this test does not know: {command}"),
    };
    assert_eq!(code, 0, "`{command}` failed:\n{stdout}\n{stderr}");
}

/// A 16 kHz mono recording: `lead_ms` of background, a recorded voice, `trail_ms` after it.
fn write_recording(root: &Path, name: &str, voice: &str, lead_ms: usize, trail_ms: usize) {
    let path = root.join(RECORDINGS).join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    write_wav(&path, &recorded_query(voice, lead_ms, trail_ms));
}

/// `voiceperf prep "my recordings/NAME" -o DATASET ARGS` in `root`; it must succeed.
fn prep_ok(root: &Path, recording: &str, dataset: &str, args: &[&str]) {
    let input = format!("{RECORDINGS}/{recording}");
    let mut all = vec![input.as_str(), "-o", dataset, "-q"];
    all.extend_from_slice(args);
    let out = prep(root, &all);
    assert_eq!(out.code, 0, "prep {all:?}: {}\n{}", out.stdout, out.stderr);
}

/// Edits `DATASET/manifest.json` in place.
fn edit_manifest(root: &Path, dataset: &str, edit: impl FnOnce(&mut Value)) {
    let path = root.join(dataset).join("manifest.json");
    let mut manifest: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut manifest);
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
}

/// Builds each broken dataset in `root`; returns (dataset, the rules it must print a
/// command for).
fn build(root: &Path) -> Vec<(&'static str, Vec<&'static str>)> {
    write_recording(root, "q.wav", "rear_left", 800, 900);
    write_recording(root, "r.wav", "front_center", 300, 300);
    write_recording(root, "tree/en/n.wav", "side_right", 300, 300);
    let voice = recorded_query("front_left", 300, 300);
    // A quiet recording: speech peaking near −40 dBFS.
    let peak = voice.iter().map(|s| s.unsigned_abs()).max().unwrap();
    let quiet: Vec<i16> = voice
        .iter()
        .map(|&s| (f64::from(s) * 330.0 / f64::from(peak)).round() as i16)
        .collect();
    write_wav(&root.join(RECORDINGS).join("quiet.wav"), &quiet);
    // A float recording above full scale: prep clips it converting to 16-bit.
    let loud: Vec<u8> = voice
        .iter()
        .flat_map(|&s| (f32::from(s) / 32768.0 * 8.0).to_le_bytes())
        .collect();
    let float = WavFormat {
        tag: riff::WAVE_FORMAT_IEEE_FLOAT,
        channels: 1,
        rate: 16_000,
        bits: 32,
        extensible: false,
    };
    std::fs::write(
        root.join(RECORDINGS).join("loud.wav"),
        wav_file(float, &[], &loud),
    )
    .unwrap();

    let mut cases = Vec::new();

    // A query cut short by 7 bytes: broken RIFF structure, and changed since prep.
    prep_ok(root, "q.wav", "cut", &[]);
    let query = root.join("cut/q.wav");
    let bytes = std::fs::read(&query).unwrap();
    std::fs::write(&query, &bytes[..bytes.len() - 7]).unwrap();
    cases.push(("cut", vec!["riff_structure", "manifest"]));

    // Not a WAV at all any more.
    prep_ok(root, "q.wav", "garbage", &[]);
    std::fs::write(root.join("garbage/q.wav"), b"this is not a wav file").unwrap();
    cases.push(("garbage", vec!["riff_structure"]));

    // Overwritten with stereo: wrong format.
    prep_ok(root, "q.wav", "stereo", &[]);
    let mono: Vec<f32> = recorded_query("rear_left", 200, 40)
        .iter()
        .map(|&s| f32::from(s) / 32768.0)
        .collect();
    std::fs::write(
        root.join("stereo/q.wav"),
        wav_bytes(&[mono.clone(), mono], 16_000, Encoding::Int(16), false, &[]),
    )
    .unwrap();
    cases.push(("stereo", vec!["pcm_format", "manifest"]));

    // Overwritten with a WAV of no frames.
    prep_ok(root, "q.wav", "empty", &[]);
    std::fs::write(root.join("empty/q.wav"), wav(&[])).unwrap();
    cases.push(("empty", vec!["frames", "manifest"]));

    // Prepared with too much kept after the speech, or before it.
    prep_ok(root, "q.wav", "trailing", &["--pad-ms", "600"]);
    cases.push(("trailing", vec!["trailing_silence"]));
    prep_ok(root, "q.wav", "leading", &["--keep-leading-ms", "700"]);
    cases.push(("leading", vec!["leading_silence"]));

    // Clipped by prep's own conversion; too quiet.
    prep_ok(root, "loud.wav", "clipped", &[]);
    cases.push(("clipped", vec!["clipping"]));
    prep_ok(root, "quiet.wav", "quiet", &[]);
    cases.push(("quiet", vec!["level"]));

    // One sample edited after prep.
    prep_ok(root, "q.wav", "edited", &[]);
    let query = root.join("edited/q.wav");
    let mut bytes = std::fs::read(&query).unwrap();
    bytes[1001] ^= 0x10;
    std::fs::write(&query, bytes).unwrap();
    cases.push(("edited", vec!["manifest"]));

    // Speech bounds in the manifest that do not fit the file.
    prep_ok(root, "q.wav", "bounds", &[]);
    edit_manifest(root, "bounds", |m| {
        m["entries"]["q.wav"]["speech_end_sample"] = Value::from(1u64 << 40);
    });
    cases.push(("bounds", vec!["manifest"]));

    // A query gone from the dataset (the other one keeps it a dataset).
    prep_ok(root, "q.wav", "missing", &[]);
    prep_ok(root, "r.wav", "missing", &[]);
    std::fs::remove_file(root.join("missing/q.wav")).unwrap();
    cases.push(("missing", vec!["manifest_missing_file"]));

    // A recording in a sub-folder, from a folder walk, then damaged: prep the folder again.
    let out = prep(root, &[&format!("{RECORDINGS}/tree"), "-o", "nested", "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    std::fs::write(root.join("nested/en/n.wav"), b"RIFF").unwrap();
    cases.push(("nested", vec!["riff_structure"]));

    // A recording in another format dropped into the dataset.
    prep_ok(root, "q.wav", "flac", &[]);
    std::fs::copy(
        support::fixture("audio/speech.flac"),
        root.join("flac/speech.flac"),
    )
    .unwrap();
    cases.push(("flac", vec!["not_wav"]));

    // A manifest that is not JSON.
    prep_ok(root, "q.wav", "unreadable", &[]);
    std::fs::write(root.join("unreadable/manifest.json"), b"{not json").unwrap();
    cases.push(("unreadable", vec!["manifest_unreadable"]));

    // A manifest key outside the dataset.
    prep_ok(root, "q.wav", "badkey", &[]);
    edit_manifest(root, "badkey", |m| {
        let entry = m["entries"]["q.wav"].clone();
        m["entries"]["../outside.wav"] = entry;
    });
    cases.push(("badkey", vec!["manifest_bad_key"]));

    cases
}

/// The names of every validate rule, from `Rule::name` in the source: a rule added there
/// must be covered here or listed in [`WORDS_ONLY`].
fn all_rules() -> BTreeSet<String> {
    let source = std::fs::read_to_string(support::repo("src/validate/results.rs")).unwrap();
    let pattern = regex::Regex::new(r#"Rule::\w+ => "(\w+)""#).unwrap();
    let rules: BTreeSet<String> = pattern
        .captures_iter(&source)
        .map(|c| c[1].to_string())
        .collect();
    assert!(rules.len() >= 18, "{rules:?}");
    rules
}

#[test]
fn every_printed_fix_command_works_and_makes_the_dataset_pass() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cases = build(root);
    let mut covered = BTreeSet::new();
    for (dataset, expected) in cases {
        let (code, report) = validate_json(root, dataset);
        let found = problems(&report);
        let mut commands: Vec<String> = Vec::new();
        let mut rules_with_commands = BTreeSet::new();
        for (rule, _, fix, command) in &found {
            let Some(command) = command else { continue };
            assert!(
                fix.contains(command.as_str()),
                "{dataset}: the fix must print the command as it is: {fix:?} vs {command:?}"
            );
            assert!(
                !command.contains('<') && !command.contains('>') && !command.contains('…'),
                "{dataset}: placeholder in {command:?}"
            );
            assert!(
                !WORDS_ONLY.contains(&rule.as_str()),
                "{dataset}: {rule} is listed as words-only but printed {command:?}"
            );
            rules_with_commands.insert(rule.clone());
            if !commands.contains(command) {
                commands.push(command.clone());
            }
        }
        for rule in &expected {
            assert!(
                rules_with_commands.contains(*rule),
                "{dataset}: expected a command fix for {rule}, got {found:#?}"
            );
        }
        assert!(
            code != 0 || found.iter().any(|(_, status, ..)| status == "warning"),
            "{dataset}: nothing wrong found: {found:#?}"
        );
        eprintln!("{dataset}: running {commands:?}");
        for command in &commands {
            run_fix(root, command);
        }
        let (code, after) = validate_json(root, dataset);
        let left = problems(&after);
        assert_eq!(
            code, 0,
            "{dataset}: still failing after {commands:?}: {left:#?}"
        );
        assert_eq!(after["passed"], true, "{dataset}");
        // The problems fixed are gone, but for the converted original that is still in the
        // dataset (its fix says to move it out).
        for (rule, _, fix, _) in &left {
            assert!(
                rule == "not_wav" && dataset == "flac",
                "{dataset}: {rule} still there after {commands:?}: {fix}"
            );
        }
        covered.extend(rules_with_commands);
    }
    let words_only: BTreeSet<String> = WORDS_ONLY.iter().map(|s| s.to_string()).collect();
    let uncovered: Vec<String> = all_rules()
        .difference(&covered)
        .filter(|r| !words_only.contains(*r))
        .cloned()
        .collect();
    assert!(
        uncovered.is_empty(),
        "rules with no case here and not listed as words-only: {uncovered:?}"
    );
}

#[test]
fn fixes_with_unknown_recordings_are_words_not_placeholders() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // A dataset made without prep: no manifest, a query with too much trailing silence,
    // an empty folder next to it, and a manifest naming a recording that is gone.
    write_wav(
        &root.join("handmade/q.wav"),
        &recorded_query("rear_left", 200, 900),
    );
    std::fs::create_dir_all(root.join("nothing")).unwrap();
    write_recording(root, "q.wav", "rear_left", 300, 300);
    prep_ok(root, "q.wav", "moved", &["--pad-ms", "600"]);
    std::fs::remove_file(root.join(RECORDINGS).join("q.wav")).unwrap();
    for dataset in ["handmade", "nothing", "moved"] {
        let (code, report) = validate_json(root, dataset);
        assert_ne!(code, 0, "{dataset}");
        let found = problems(&report);
        assert!(!found.is_empty(), "{dataset}");
        for (rule, _, fix, command) in &found {
            assert_eq!(command, &None, "{dataset} {rule}: {fix}");
            assert!(
                !fix.contains('<') && !fix.contains("…"),
                "{dataset} {rule}: placeholder in {fix:?}"
            );
        }
    }
    let (_, report) = validate_json(root, "moved");
    let fix = &problems(&report)[0].2;
    assert!(
        fix.contains("my recordings/q.wav") && fix.contains("not found from this folder"),
        "{fix}"
    );
}

#[test]
fn a_recording_whose_prep_fails_leaves_its_query_marked_stale() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_recording(root, "q.wav", "rear_left", 300, 300);
    let recording = root.join(RECORDINGS).join("q.wav");
    let original = std::fs::read(&recording).unwrap();
    prep_ok(root, "q.wav", "ds", &[]);
    assert_eq!(validate_json(root, "ds").0, 0);

    // The recording is replaced by something prep cannot read: prep fails, the old query
    // stays, and its entry says why it is stale.
    std::fs::write(&recording, b"this is not audio, just words\n".repeat(20)).unwrap();
    let out = prep(root, &[&format!("{RECORDINGS}/q.wav"), "-o", "ds"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("marked stale in manifest.json"),
        "{}",
        out.stderr
    );
    assert!(root.join("ds/q.wav").is_file());
    let entry = support::prep::manifest(&root.join("ds"))
        .get("q.wav")
        .unwrap()
        .clone();
    let error = entry.last_error.expect("marked stale");
    assert!(
        error.starts_with("prep of my recordings/q.wav failed: not a recognised audio format"),
        "{error}"
    );

    let (code, report) = validate_json(root, "ds");
    assert_ne!(code, 0, "a stale query must fail validate");
    let check = report["files"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["rule"] == "manifest")
        .unwrap()
        .clone();
    assert_eq!(check["status"], "fail", "{check}");
    let message = check["message"].as_str().unwrap();
    assert!(
        message.starts_with("stale: the last prep of its recording failed")
            && message.contains("not a recognised audio format"),
        "{message}"
    );
    let fix = check["fix"].as_str().unwrap();
    assert!(
        fix.starts_with("fix or replace the recording my recordings/q.wav, then run: voiceperf prep 'my recordings/q.wav' -o ds"),
        "{fix}"
    );
    // Preparing it again as it is fails again: the fix is not a command to run as it is.
    assert_eq!(check["command"], Value::Null);

    // The recording restored: prep finds it unchanged, the entry is current again.
    std::fs::write(&recording, original).unwrap();
    prep_ok(root, "q.wav", "ds", &[]);
    let entry = support::prep::manifest(&root.join("ds"))
        .get("q.wav")
        .unwrap()
        .clone();
    assert_eq!(entry.last_error, None);
    assert_eq!(validate_json(root, "ds").0, 0);
}
