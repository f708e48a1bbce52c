//! Checking what `voiceperf prep` wrote: the manifest and each query against it.

use std::ops::RangeInclusive;
use std::path::Path;

use voiceperf::dataset::manifest::{Manifest, ManifestEntry, PrepSettings};

use super::audio::read_query;

/// Non-speech prep keeps after the end of speech by default, seconds.
pub fn pad() -> f64 {
    f64::from(PrepSettings::default().pad_ms) / 1000.0
}

/// The manifest of a dataset folder (which must exist).
pub fn manifest(dir: &Path) -> Manifest {
    Manifest::load(dir).unwrap().expect("manifest.json")
}

/// Seconds of non-speech the query keeps after the known end of speech (`speech_end`,
/// seconds in the recording): its end in the recording's timeline minus the speech end.
pub fn trailing_residual(entry: &ManifestEntry, speech_end: f64) -> f64 {
    entry.trimmed_leading_ms / 1000.0 + entry.duration_s - speech_end
}

/// Checks a query made from a recording whose speech ends at `speech_end` s: right format,
/// manifest consistent with the file, and trailing residual within `residual` seconds.
pub fn check_query(dir: &Path, name: &str, speech_end: f64, residual: RangeInclusive<f64>) {
    let entry = manifest(dir)
        .get(name)
        .unwrap_or_else(|| panic!("{name} not in manifest"))
        .clone();
    let path = dir.join(name);
    let samples = read_query(&path);
    assert_eq!(samples.len(), entry.samples, "{name}");
    assert!(
        (entry.duration_s - samples.len() as f64 / 16_000.0).abs() < 1e-9,
        "{name}"
    );
    assert_eq!(
        voiceperf::fsutil::sha256_file(&path).unwrap(),
        entry.output_sha256,
        "{name}"
    );
    assert!(entry.speech_start_s < entry.speech_end_s && entry.speech_end_s <= entry.duration_s);
    let kept = trailing_residual(&entry, speech_end);
    assert!(
        residual.contains(&kept),
        "{name}: {:.1} ms kept after the end of speech, wanted {:.0}..={:.0} ms",
        kept * 1000.0,
        residual.start() * 1000.0,
        residual.end() * 1000.0
    );
    assert!(
        samples.iter().any(|&s| s.unsigned_abs() > 3000),
        "{name}: no speech left"
    );
}
