//! Issue 15, item 7: a manifest entry whose speech bounds lie outside its file
//! (`speech_end_sample = 2^63`, with the file's true `output_sha256`) is not trusted: a
//! warning names it and the bounds are found by analysis.

mod support;

use std::path::Path;

use support::validate::{assert_rule, check, file, prep_into, recorded_query};
use support::{audio::wav, write_file};
use voiceperf::dataset::{RecordedBounds, recorded_bounds};
use voiceperf::validate::results::BoundsSource;
use voiceperf::validate::{Rule, Status};

/// A dataset prepared from one recording, with its manifest entry's end of speech set to
/// `end_sample` (the sha256 left as prep wrote it); returns the real end, in samples.
fn dataset_with_end(out: &Path, end_sample: u64) -> usize {
    let raw = out.parent().unwrap().join("raw");
    write_file(&raw, "q1.wav", &wav(&recorded_query("rear_left", 600, 900)));
    prep_into(vec![raw.join("q1.wav")], out);
    let path = out.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let entry = &mut manifest["entries"]["q1.wav"];
    let real = entry["speech_end_sample"].as_u64().unwrap() as usize;
    entry["speech_end_sample"] = end_sample.into();
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    real
}

#[test]
fn bounds_outside_the_file_are_a_warning_and_analysis_decides() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ds");
    let real_end = dataset_with_end(&out, 1 << 63);
    let report = check(&out);
    assert_rule(&report, "q1.wav", Rule::Manifest, Status::Warning);
    let manifest = file(&report, "q1.wav").check(Rule::Manifest).unwrap();
    assert!(
        manifest.message.contains("does not fit")
            && manifest.message.contains("9223372036854775808"),
        "{manifest:?}"
    );
    let m = &file(&report, "q1.wav").measurements;
    assert_eq!(m.speech_bounds_from, Some(BoundsSource::Analysis));
    // Not clamped to the end of the file: where the speech really ends (within 20 ms).
    let end = m.speech_end_s.unwrap();
    let duration = m.duration_s.unwrap();
    assert!(
        (end - real_end as f64 / 16_000.0).abs() < 0.02 && duration - end > 0.03,
        "speech end {end} s, file {duration} s, prep found {real_end} samples"
    );
}

#[test]
fn recorded_bounds_refuse_every_impossible_range() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ds");
    dataset_with_end(&out, 1);
    let manifest = voiceperf::dataset::Manifest::load(&out).unwrap().unwrap();
    let mut entry = manifest.get("q1.wav").unwrap().clone();
    let sha = entry.output_sha256.clone();
    let len = entry.samples;
    for (start, end) in [
        (0, usize::MAX),
        (0, 1 << 63),
        (0, len + 1),
        (len, len),
        (10, 5),
        (usize::MAX, 1),
    ] {
        entry.speech_start_sample = start;
        entry.speech_end_sample = end;
        assert!(
            matches!(
                recorded_bounds(Some(&entry), &sha, len),
                RecordedBounds::Impossible(_)
            ),
            "{start}..{end} of {len}"
        );
    }
    // Seconds only (older manifests): the same refusal for 1e300 s, negative or NaN.
    entry.speech_end_sample = 0;
    entry.speech_start_sample = 0;
    for (start, end) in [
        (0.0, 1e300),
        (-1.0, 0.5),
        (0.0, f64::NAN),
        (0.0, f64::INFINITY),
    ] {
        entry.speech_start_s = start;
        entry.speech_end_s = end;
        assert!(
            matches!(
                recorded_bounds(Some(&entry), &sha, len),
                RecordedBounds::Impossible(_)
            ),
            "{start}..{end} s"
        );
    }
}

/// Issue 15, item 10: manifest keys that point outside the dataset (`/etc/passwd`, `../x`)
/// are refused with a warning, never resolved.
#[test]
fn manifest_keys_outside_the_dataset_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ds");
    dataset_with_end(&out, 1);
    // A file next to the dataset that a `../` key would reach.
    write_file(dir.path(), "outside.wav", b"not yours");
    let path = out.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let entry = manifest["entries"]["q1.wav"].clone();
    for key in [
        "/etc/passwd",
        "../outside.wav",
        "sub/../../outside.wav",
        "gone\n.wav",
    ] {
        manifest["entries"][key] = entry.clone();
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();

    let report = check(&out);
    let refused: Vec<&str> = report
        .folder_findings
        .iter()
        .filter(|f| f.rule == Rule::ManifestBadKey)
        .map(|f| {
            assert_eq!(f.status, Status::Warning);
            f.message.as_str()
        })
        .collect();
    assert_eq!(refused.len(), 3, "{:#?}", report.folder_findings);
    for key in ["/etc/passwd", "../outside.wav", "sub/../../outside.wav"] {
        assert!(
            refused.iter().any(|m| m.contains(key)),
            "{key}: {refused:?}"
        );
    }
    // The one plain (if odd) key is a missing file.
    let missing: Vec<_> = report
        .folder_findings
        .iter()
        .filter(|f| f.rule == Rule::ManifestMissingFile)
        .collect();
    assert_eq!(missing.len(), 1, "{missing:#?}");
    assert!(missing[0].path.ends_with("gone\n.wav"), "{missing:#?}");
    // The real query is still judged by its own entry.
    assert_rule(&report, "q1.wav", Rule::Manifest, Status::Warning);
}
