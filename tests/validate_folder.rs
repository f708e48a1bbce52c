//! `voiceperf validate` on a dataset folder as a whole: the `manifest` rule against the
//! `manifest.json` prep wrote (and the speech bounds it records), and the folder-level findings
//! (empty folder, stray files, unreadable manifest, files the manifest lists but are missing).

mod support;

use support::audio::{RATE, wav};
use support::validate::{assert_rule, check, file, good_query, prep_into, recorded_query};
use support::write_file;
use voiceperf::validate::results::BoundsSource;
use voiceperf::validate::{Rule, Status};

#[test]
fn manifest_rule_and_prep_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    let out = dir.path().join("ds");
    write_file(
        &raw,
        "q1.wav",
        &wav(&recorded_query("rear_left", 900, 1200)),
    );
    write_file(
        &raw,
        "q2.wav",
        &wav(&recorded_query("front_left", 600, 700)),
    );
    prep_into(vec![raw.join("q1.wav"), raw.join("q2.wav")], &out);
    let report = check(&out);
    assert!(report.passed, "{report:#?}");
    let manifest = voiceperf::dataset::manifest::Manifest::load(&out)
        .unwrap()
        .unwrap();
    for name in ["q1.wav", "q2.wav"] {
        assert_rule(&report, name, Rule::Manifest, Status::Pass);
        let f = file(&report, name);
        let entry = manifest.get(name).unwrap();
        assert_eq!(f.source.as_deref(), Some(entry.source.as_str()));
        // An unchanged file is judged by the bounds prep found on the whole recording.
        let m = &f.measurements;
        assert_eq!(m.speech_bounds_from, Some(BoundsSource::Manifest));
        assert_eq!(
            m.speech_end_s,
            Some(entry.speech_end_sample as f64 / 16_000.0)
        );
        let expected_trailing = (entry.samples - entry.speech_end_sample) as f64 / 16.0;
        assert_eq!(m.trailing_ms, Some(expected_trailing));
        assert!(expected_trailing <= 100.0);
        // ... and the file's own analysis agrees closely.
        let analysed = m.analysed_speech_end_s.unwrap();
        assert!(
            (analysed - entry.speech_end_s).abs() < 0.015,
            "{analysed} vs {entry:?}"
        );
    }

    // Edited after prep: one sample changed, one file appended with a second of silence.
    let q1 = out.join("q1.wav");
    let mut bytes = std::fs::read(&q1).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&q1, &bytes).unwrap();
    let q2 = voiceperf::audio::wav::read_pcm16_mono(&out.join("q2.wav")).unwrap();
    let mut longer = q2.samples.clone();
    longer.extend(std::iter::repeat_n(0, RATE));
    std::fs::write(out.join("q2.wav"), wav(&longer)).unwrap();
    write_file(&out, "extra.wav", &wav(&good_query()));
    let report = check(&out);
    assert!(!report.passed);
    assert_rule(&report, "q1.wav", Rule::Manifest, Status::Fail);
    let changed = file(&report, "q1.wav").check(Rule::Manifest).unwrap();
    assert!(
        changed.message.starts_with("changed since prep"),
        "{changed:?}"
    );
    let source = manifest.get("q1.wav").unwrap().source.clone();
    assert!(
        changed
            .fix
            .as_ref()
            .unwrap()
            .contains(&format!("voiceperf prep {source} -o ")),
        "{changed:?}"
    );
    // A changed file is measured afresh: the added second of silence shows.
    let q2 = file(&report, "q2.wav");
    assert_eq!(
        q2.measurements.speech_bounds_from,
        Some(BoundsSource::Analysis)
    );
    assert_rule(&report, "q2.wav", Rule::TrailingSilence, Status::Fail);
    let fix = q2
        .check(Rule::TrailingSilence)
        .unwrap()
        .fix
        .clone()
        .unwrap();
    assert!(
        fix.contains(&format!("voiceperf prep {}", raw.join("q2.wav").display())),
        "{fix}"
    );
    assert_rule(&report, "extra.wav", Rule::Manifest, Status::Warning);

    // Running the fix makes the dataset pass again.
    prep_into(vec![raw.join("q1.wav"), raw.join("q2.wav")], &out);
    std::fs::remove_file(out.join("extra.wav")).unwrap();
    let report = check(&out);
    assert!(report.passed, "{report:#?}");
}

#[test]
fn folder_level_findings() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let only_text = dir.path().join("only_text");
    write_file(&only_text, "README.txt", b"notes");
    let mixed = dir.path().join("mixed");
    write_file(&mixed, "q.wav", &wav(&good_query()));
    write_file(&mixed, "q.mp3", b"ID3");
    write_file(&mixed, "manifest.json", b"{ not json");

    let report = check(&empty);
    assert!(!report.passed);
    assert_eq!(report.folder_findings.len(), 1);
    assert_eq!(report.folder_findings[0].rule, Rule::NoWavFiles);
    assert!(report.folder_findings[0].message.contains("empty folder"));

    let report = check(&only_text);
    assert!(!report.passed);
    let rules: Vec<(Rule, Status)> = report
        .folder_findings
        .iter()
        .map(|f| (f.rule, f.status))
        .collect();
    assert_eq!(
        rules,
        [
            (Rule::NotWav, Status::Note),
            (Rule::NoWavFiles, Status::Fail)
        ]
    );

    let report = check(&mixed);
    let rules: Vec<(Rule, Status)> = report
        .folder_findings
        .iter()
        .map(|f| (f.rule, f.status))
        .collect();
    assert_eq!(
        rules,
        [
            (Rule::ManifestUnreadable, Status::Fail),
            (Rule::NotWav, Status::Warning)
        ],
        "{:#?}",
        report.folder_findings
    );
    assert!(report.folder_findings.iter().all(|f| f.fix.is_some()));
    // The file itself is fine; the broken manifest fails the run.
    assert_eq!(file(&report, "q.wav").status, Status::Pass);
    assert!(!report.passed);
}

#[test]
fn manifest_json_is_expected_and_missing_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    let out = dir.path().join("ds");
    write_file(&raw, "a.wav", &wav(&good_query()));
    write_file(&raw, "b.wav", &wav(&recorded_query("side_right", 300, 50)));
    prep_into(vec![raw.clone()], &out);
    std::fs::remove_file(out.join("b.wav")).unwrap();
    let report = check(&out);
    assert_eq!(report.files.len(), 1);
    assert_eq!(
        report.folder_findings.len(),
        1,
        "{:#?}",
        report.folder_findings
    );
    let missing = &report.folder_findings[0];
    assert_eq!(
        (missing.rule, missing.status),
        (Rule::ManifestMissingFile, Status::Warning)
    );
    assert!(missing.path.ends_with("ds/b.wav"), "{}", missing.path);
    assert!(report.passed);
}
