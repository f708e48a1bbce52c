//! What must pass `voiceperf validate`: a good query passes every rule, whatever prep accepts
//! and prepares passes (with and without its manifest), and so does the committed dataset.

mod support;

use std::path::{Path, PathBuf};

use support::audio::{
    Encoding, Noise, RATE, VOICES, hum, to_pcm16, voice_unit, wav, wav_bytes, white_noise,
    write_wav,
};
use support::cli::{prep, voiceperf};
use support::validate::{assert_rule, check, file, good_query, run_validate};
use support::{fixture, repo, write_file};
use voiceperf::validate::results::BoundsSource;
use voiceperf::validate::{Rule, Status, ValidationReport};

#[test]
fn a_good_query_passes_every_rule() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "good.wav", &wav(&good_query()));
    let report = check(dir.path());
    let f = file(&report, "good.wav");
    assert_eq!(f.status, Status::Pass, "{:#?}", f.checks);
    assert!(report.passed);
    for check in &f.checks {
        let expected = if check.rule == Rule::Manifest {
            Status::Skipped
        } else {
            Status::Pass
        };
        assert_eq!(check.status, expected, "{check:?}");
    }
    let m = &f.measurements;
    assert_eq!(m.frames, Some(good_query().len() as u64));
    assert_eq!(m.speech_bounds_from, Some(BoundsSource::Analysis));
    let trailing = m.trailing_ms.unwrap();
    // 40 ms after the voice, and the recording fades out over its last few ms.
    assert!((35.0..=60.0).contains(&trailing), "{trailing}");
    let leading = m.leading_ms.unwrap();
    assert!((185.0..=215.0).contains(&leading), "{leading}");
}

// ---- the property: whatever prep accepts, validate passes ----

/// A pseudo-random generator for the input variations.
struct Pick(u64);

impl Pick {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// A recording at `rate` Hz with `channels` channels in the given sample format: the voice
/// resampled (linearly: it only has to sound like speech) with silence and background noise
/// or hum around it.
fn recording(pick: &mut Pick, path: &Path) {
    let voice = voice_unit(VOICES[pick.next(4)]);
    let rate = [8_000u32, 16_000, 22_050, 44_100, 48_000][pick.next(5)];
    let channels = 1 + pick.next(2);
    let encoding = [
        Encoding::U8,
        Encoding::Int(16),
        Encoding::Int(24),
        Encoding::Int(32),
        Encoding::Float(32),
    ][pick.next(5)];
    let lead_s = 0.3 + 0.1 * pick.next(8) as f64;
    let trail_s = 0.3 + 0.2 * pick.next(7) as f64;
    let noise_db = [-75.0, -60.0, -50.0][pick.next(3)];
    let hum = pick.next(3) == 0;
    let gain = [0.3, 1.0, 1.6][pick.next(3)];

    let step = 16_000.0 / f64::from(rate);
    let voice_len = (voice.len() as f64 / step) as usize;
    let lead = (lead_s * f64::from(rate)) as usize;
    let total = lead + voice_len + (trail_s * f64::from(rate)) as usize;
    let background = white_noise(total, noise_db, &mut Noise::seeded(pick.next(1000) as u64));
    let signal: Vec<f32> = background
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let mut x = n;
            if hum {
                x += 0.003 * (2.0 * std::f64::consts::PI * 50.0 * i as f64 / f64::from(rate)).sin();
            }
            if i >= lead && i < lead + voice_len {
                let at = (i - lead) as f64 * step;
                let k = at as usize;
                let frac = at - k as f64;
                let next = voice.get(k + 1).copied().unwrap_or(0.0);
                x += gain * (f64::from(voice[k]) * (1.0 - frac) + f64::from(next) * frac);
            }
            x as f32
        })
        .collect();
    let bytes = wav_bytes(&vec![signal; channels], rate, encoding, false, &[]);
    std::fs::write(path, bytes).unwrap();
}

/// A hard case for the speech detector, as a 16 kHz mono WAV: `name`'s voice scaled to peak at
/// `peak_dbfs`, only `lead_ms` of background before it and `tail_ms` after, over white noise
/// of `noise_dbfs` (RMS) and, with `hum_dbfs`, 50 Hz mains hum with harmonics.
fn hard_recording(
    path: &Path,
    name: &str,
    peak_dbfs: f64,
    (lead_ms, tail_ms): (usize, usize),
    noise_dbfs: f64,
    hum_dbfs: Option<f64>,
) {
    let voice = voice_unit(name);
    let peak = voice.iter().map(|s| f64::from(s.abs())).fold(0.0, f64::max);
    let gain = 10f64.powf(peak_dbfs / 20.0) / peak;
    let lead = lead_ms * RATE / 1000;
    let total = lead + voice.len() + tail_ms * RATE / 1000;
    let background = white_noise(total, noise_dbfs, &mut Noise::seeded(voice.len() as u64));
    let signal: Vec<f64> = background
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let hum = hum_dbfs.map_or(0.0, |level| hum(10f64.powf(level / 20.0), i));
            let v = if i >= lead && i < lead + voice.len() {
                f64::from(voice[i - lead]) * gain
            } else {
                0.0
            };
            v + n + hum
        })
        .collect();
    write_wav(path, &to_pcm16(&signal));
}

/// Recordings of every kind prep accepts (generated WAVs in varied formats with noise or hum,
/// hard cases with quiet speech and little background, every committed compressed fixture)
/// prepared by the binary into `dir/dataset`, which it returns.
fn prepared_dataset(dir: &Path) -> PathBuf {
    let raw = dir.join("raw");
    std::fs::create_dir(&raw).unwrap();
    let mut pick = Pick(0x5EED);
    for i in 0..12 {
        recording(&mut pick, &raw.join(format!("generated_{i:02}.wav")));
    }
    for (i, (name, peak, lead_tail, noise, hum)) in [
        ("front_center", -42.0, (200, 150), -72.0, None),
        ("rear_left", -42.0, (100, 100), -75.0, None),
        ("side_right", -38.0, (300, 300), -75.0, Some(-65.0)),
        ("front_left", -35.0, (150, 150), -65.0, None),
        ("rear_left", -6.0, (100, 100), -40.0, None),
        ("side_right", -6.0, (200, 150), -60.0, Some(-40.0)),
    ]
    .into_iter()
    .enumerate()
    {
        let path = raw.join(format!("hard_{i:02}.wav"));
        hard_recording(&path, name, peak, lead_tail, noise, hum);
    }
    // Every committed compressed fixture (each decodes to the same voice, so prepared copies
    // of lossless ones may be identical: that is a warning, not a failure).
    for name in [
        "speech.flac",
        "speech.mp3",
        "speech.ogg",
        "speech.m4a",
        "speech_alac.m4a",
        "speech.opus",
        "speech.webm",
        "speech.aiff",
        "speech.caf",
    ] {
        let renamed = name.replace('.', "_") + "." + name.rsplit('.').next().unwrap();
        std::fs::copy(fixture(&format!("audio/{name}")), raw.join(renamed)).unwrap();
    }
    let out = dir.join("dataset");
    let run = prep(dir, &["raw", "-o", "dataset", "-q"]);
    assert_eq!(run.code, 0, "prep: {}", run.stderr);
    out
}

/// Files in a prepared dataset: 12 generated, 6 hard cases, 9 compressed fixtures.
const PREPARED_FILES: usize = 27;

/// Runs `voiceperf validate DIR --json`, asserts exit status 0 (listing the failures
/// otherwise) and that every file passed but for harmless warnings, and returns the report.
fn validate_passes(dir: &Path) -> ValidationReport {
    let run = run_validate(&[dir.to_str().unwrap(), "--json"]);
    let report: ValidationReport = serde_json::from_str(&run.stdout).unwrap();
    let failures: Vec<String> = report
        .files
        .iter()
        .flat_map(|f| {
            f.problems()
                .into_iter()
                .filter(|c| c.status == Status::Fail)
                .map(move |c| format!("{}: {}", f.name, c.message))
        })
        .collect();
    assert_eq!(run.code, 0, "{failures:#?}\n{:#?}", report.folder_findings);
    assert!(
        report.folder_findings.is_empty(),
        "{:#?}",
        report.folder_findings
    );
    for f in &report.files {
        let trailing = f.measurements.trailing_ms.unwrap();
        assert!(trailing <= 100.0, "{}: {trailing}", f.name);
        // Nothing but harmless warnings: identical lossless copies, loud or quiet queries.
        for c in f.problems() {
            assert!(
                matches!(c.rule, Rule::Duplicate | Rule::Clipping | Rule::Level),
                "{}: {c:?}",
                f.name
            );
        }
    }
    report
}

/// Asserts that each file's own analysis (`analysed_speech_*_s`) finds the speech bounds prep
/// recorded in `manifest` within 10 ms.
fn analysis_agrees_with_prep(
    report: &ValidationReport,
    manifest: &voiceperf::dataset::manifest::Manifest,
) {
    for f in &report.files {
        let entry = manifest.get(&f.name).unwrap();
        let m = &f.measurements;
        let start = m.analysed_speech_start_s.unwrap() - entry.speech_start_s;
        let end = m.analysed_speech_end_s.unwrap() - entry.speech_end_s;
        assert!(
            start.abs() <= 0.010 && end.abs() <= 0.010,
            "{}: analysis moves the start by {:.1} ms and the end by {:.1} ms",
            f.name,
            start * 1000.0,
            end * 1000.0
        );
    }
}

#[test]
fn prep_output_always_passes_validate() {
    let dir = tempfile::tempdir().unwrap();
    let out = prepared_dataset(dir.path());
    let report = validate_passes(&out);
    assert_eq!(report.files.len(), PREPARED_FILES);
    for f in &report.files {
        assert_eq!(
            f.measurements.speech_bounds_from,
            Some(BoundsSource::Manifest),
            "{}",
            f.name
        );
    }
    let manifest = voiceperf::dataset::manifest::Manifest::load(&out)
        .unwrap()
        .unwrap();
    analysis_agrees_with_prep(&report, &manifest);
}

/// The same property when only the WAV files are kept (copied without `manifest.json`, or a
/// folder bench reads without one): each file's own analysis must pass, and find prep's
/// bounds.
#[test]
fn prep_output_passes_validate_without_its_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let out = prepared_dataset(dir.path());
    let manifest = voiceperf::dataset::manifest::Manifest::load(&out)
        .unwrap()
        .unwrap();
    let copy = dir.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    for name in manifest.entries.keys() {
        std::fs::copy(out.join(name), copy.join(name)).unwrap();
    }
    let report = validate_passes(&copy);
    assert_eq!(report.files.len(), PREPARED_FILES);
    for f in &report.files {
        assert_eq!(
            f.measurements.speech_bounds_from,
            Some(BoundsSource::Analysis),
            "{}",
            f.name
        );
        assert_rule(&report, &f.name, Rule::Manifest, Status::Skipped);
    }
    analysis_agrees_with_prep(&report, &manifest);
}

#[test]
fn the_committed_dataset_passes() {
    let dataset = repo("audio_files");
    let report = check(&dataset);
    assert!(report.passed, "{report:#?}");
    assert_eq!(report.files.len(), 10);
    assert!(
        report.folder_findings.is_empty(),
        "{:#?}",
        report.folder_findings
    );
    for f in &report.files {
        assert_eq!(f.status, Status::Pass, "{}: {:#?}", f.name, f.problems());
        assert_rule(&report, &f.name, Rule::Manifest, Status::Pass);
    }
    // And through the binary, from the repository root with no arguments.
    let output = voiceperf()
        .arg("validate")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("10 files: 10 passed"), "{stdout}");
}

#[test]
fn the_committed_dataset_passes_without_its_manifest() {
    let dataset = repo("audio_files");
    let manifest = voiceperf::dataset::manifest::Manifest::load(&dataset)
        .unwrap()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for name in manifest.entries.keys() {
        std::fs::copy(dataset.join(name), dir.path().join(name)).unwrap();
    }
    let report = validate_passes(dir.path());
    assert_eq!(report.files.len(), 10);
    for f in &report.files {
        assert_eq!(f.status, Status::Pass, "{}: {:#?}", f.name, f.problems());
    }
    analysis_agrees_with_prep(&report, &manifest);
}
