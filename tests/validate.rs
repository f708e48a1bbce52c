//! `voiceperf validate` on real files generated in-test from the committed voice fixtures:
//! every rule with a passing and a failing input, folder-level findings, the text and JSON
//! output, exit statuses, and the property that prep's output always passes.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use voiceperf::audio::riff;
use voiceperf::dataset::Limits;
use voiceperf::validate::results::BoundsSource;
use voiceperf::validate::{
    FileReport, Rule, Status, ValidateOptions, ValidationReport, validate_dataset,
};

const RATE: usize = 16_000;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/audio")
        .join(name)
}

/// A real recorded voice (alsa-utils' "Rear Left"), 16 kHz mono, speech to its last sample.
fn voice(name: &str) -> Vec<i16> {
    voiceperf::audio::wav::read_pcm16_mono(&fixture(&format!("voice_{name}.wav")))
        .unwrap()
        .samples
}

/// Deterministic white noise at about `dbfs` (RMS).
fn noise(len: usize, dbfs: f64, seed: u64) -> Vec<f64> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let amplitude = 10f64.powf(dbfs / 20.0) * 32768.0 * 3f64.sqrt();
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * amplitude
        })
        .collect()
}

/// `lead_ms` of quiet background, the voice, then `trail_ms` of background (−70 dBFS noise).
fn query(voice: &[i16], lead_ms: usize, trail_ms: usize) -> Vec<i16> {
    let lead = lead_ms * RATE / 1000;
    let trail = trail_ms * RATE / 1000;
    let background = noise(lead + voice.len() + trail, -70.0, voice.len() as u64);
    background
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let v = if i >= lead && i < lead + voice.len() {
                f64::from(voice[i - lead])
            } else {
                0.0
            };
            (v + n).round().clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}

/// A benchmark-ready query: 200 ms before the voice, 40 ms after it.
fn good_query() -> Vec<i16> {
    query(&voice("rear_left"), 200, 40)
}

fn wav(samples: &[i16]) -> Vec<u8> {
    riff::wrap_pcm16(&riff::pcm16_to_bytes(samples), 16_000, 1)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A WAVE file with the given `fmt ` fields (an extensible one when `sub_format` is given).
fn wav_with_format(
    format_tag: u16,
    sub_format: Option<u16>,
    channels: u16,
    rate: u32,
    bits: u16,
    data: &[u8],
) -> Vec<u8> {
    let block_align = channels * bits.div_ceil(8);
    let mut fmt = Vec::new();
    fmt.extend_from_slice(&format_tag.to_le_bytes());
    fmt.extend_from_slice(&channels.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    fmt.extend_from_slice(&block_align.to_le_bytes());
    fmt.extend_from_slice(&bits.to_le_bytes());
    if let Some(sub) = sub_format {
        fmt.extend_from_slice(&22u16.to_le_bytes());
        fmt.extend_from_slice(&bits.to_le_bytes());
        fmt.extend_from_slice(&4u32.to_le_bytes());
        fmt.extend_from_slice(&sub.to_le_bytes());
        fmt.extend_from_slice(&[
            0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
        ]);
    }
    let mut out = b"RIFF\0\0\0\0WAVE".to_vec();
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    out.extend_from_slice(&fmt);
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
    let riff_len = (out.len() - 8) as u32;
    out[4..8].copy_from_slice(&riff_len.to_le_bytes());
    out
}

fn check_with(dir: &Path, limits: Limits) -> ValidationReport {
    let mut options = ValidateOptions::new(vec![dir.to_path_buf()]);
    options.limits = limits;
    validate_dataset(&options).unwrap()
}

fn check(dir: &Path) -> ValidationReport {
    check_with(dir, Limits::default())
}

fn file<'r>(report: &'r ValidationReport, name: &str) -> &'r FileReport {
    report
        .files
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("{name} not in {:?}", report.files))
}

/// Asserts `rule` has `expected` on `name`, and that every problem carries a fix.
fn assert_rule(report: &ValidationReport, name: &str, rule: Rule, expected: Status) {
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

#[test]
fn a_good_query_passes_every_rule() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good.wav", &wav(&good_query()));
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

#[test]
fn riff_structure_rule() {
    let dir = tempfile::tempdir().unwrap();
    let good = wav(&good_query());
    let mut truncated = good.clone();
    truncated.truncate(good.len() - 1001);
    let mut size_mismatch = good.clone();
    size_mismatch[4..8].copy_from_slice(&1000u32.to_le_bytes());
    let mut no_data = good[..36].to_vec();
    no_data[4..8].copy_from_slice(&28u32.to_le_bytes());
    write(dir.path(), "good.wav", &good);
    write(dir.path(), "truncated.wav", &truncated);
    write(dir.path(), "size_mismatch.wav", &size_mismatch);
    write(dir.path(), "no_data.wav", &no_data);
    write(dir.path(), "text.wav", b"this is a text file, not audio\n");
    write(dir.path(), "empty.wav", b"");
    let report = check(dir.path());
    assert_rule(&report, "good.wav", Rule::RiffStructure, Status::Pass);
    for bad in [
        "truncated.wav",
        "size_mismatch.wav",
        "no_data.wav",
        "text.wav",
        "empty.wav",
    ] {
        assert_rule(&report, bad, Rule::RiffStructure, Status::Fail);
        assert_eq!(file(&report, bad).status, Status::Fail);
    }
    let truncated = file(&report, "truncated.wav")
        .check(Rule::RiffStructure)
        .unwrap();
    assert!(
        truncated.message.contains("chunk `data` declares"),
        "{}",
        truncated.message
    );
    // The samples present are still measured.
    assert!(
        file(&report, "truncated.wav")
            .measurements
            .duration_s
            .unwrap()
            > 1.0
    );
    let no_data = file(&report, "no_data.wav")
        .check(Rule::RiffStructure)
        .unwrap();
    assert!(
        no_data.message.contains("no `data` chunk"),
        "{}",
        no_data.message
    );
    assert!(!report.passed);
}

#[test]
fn pcm_format_rule() {
    let dir = tempfile::tempdir().unwrap();
    let samples = good_query();
    let pcm = riff::pcm16_to_bytes(&samples);
    let stereo: Vec<i16> = samples.iter().flat_map(|&s| [s, s]).collect();
    let float: Vec<u8> = samples
        .iter()
        .flat_map(|&s| (f32::from(s) / 32768.0).to_le_bytes())
        .collect();
    let eight_bit: Vec<u8> = samples.iter().map(|&s| ((s >> 8) + 128) as u8).collect();
    write(
        dir.path(),
        "extensible_pcm.wav",
        &wav_with_format(0xFFFE, Some(1), 1, 16_000, 16, &pcm),
    );
    write(
        dir.path(),
        "stereo.wav",
        &riff::wrap_pcm16(&riff::pcm16_to_bytes(&stereo), 16_000, 2),
    );
    // Other content than the extensible file, so the two are not duplicates.
    let inverted: Vec<i16> = samples.iter().map(|&s| s.saturating_neg()).collect();
    write(
        dir.path(),
        "rate_44k.wav",
        &riff::wrap_pcm16(&riff::pcm16_to_bytes(&inverted), 44_100, 1),
    );
    write(
        dir.path(),
        "float.wav",
        &wav_with_format(3, None, 1, 16_000, 32, &float),
    );
    write(
        dir.path(),
        "extensible_float.wav",
        &wav_with_format(0xFFFE, Some(3), 1, 16_000, 32, &float),
    );
    write(
        dir.path(),
        "eight_bit.wav",
        &wav_with_format(1, None, 1, 16_000, 8, &eight_bit),
    );
    // 16 kHz mono 16-bit, but 4-byte frames: its frame count would be half its samples.
    let mut wide_frames = riff::wrap_pcm16(&riff::pcm16_to_bytes(&stereo), 16_000, 1);
    wide_frames[32..34].copy_from_slice(&4u16.to_le_bytes());
    write(dir.path(), "block_align_4.wav", &wide_frames);
    let report = check(dir.path());
    assert_rule(&report, "extensible_pcm.wav", Rule::PcmFormat, Status::Pass);
    assert_eq!(file(&report, "extensible_pcm.wav").status, Status::Pass);
    let wide = file(&report, "block_align_4.wav")
        .check(Rule::PcmFormat)
        .unwrap();
    assert!(
        wide.message
            .starts_with("16-bit PCM, 16000 Hz, mono, block align 4 bytes (not 2)"),
        "{}",
        wide.message
    );
    for bad in [
        "block_align_4.wav",
        "stereo.wav",
        "rate_44k.wav",
        "float.wav",
        "extensible_float.wav",
        "eight_bit.wav",
    ] {
        assert_rule(&report, bad, Rule::PcmFormat, Status::Fail);
        // Audio checks need the right format; they say so instead of guessing.
        assert_rule(&report, bad, Rule::TrailingSilence, Status::Skipped);
    }
    let stereo = file(&report, "stereo.wav").check(Rule::PcmFormat).unwrap();
    assert!(stereo.message.contains("2 channels"), "{}", stereo.message);
    assert!(stereo.fix.as_ref().unwrap().contains("voiceperf prep"));
    let m = &file(&report, "rate_44k.wav").measurements;
    assert_eq!(m.format.as_ref().unwrap().sample_rate, 44_100);
    // Duration follows the file's own rate.
    let expected = samples.len() as f64 / 44_100.0;
    assert!((m.duration_s.unwrap() - expected).abs() < 1e-9);
}

#[test]
fn frames_and_duration_rules() {
    let dir = tempfile::tempdir().unwrap();
    let side_right = voice("side_right");
    // 0.2 s: the start of the voice with a short fade.
    let short: Vec<i16> = side_right[..RATE / 5]
        .iter()
        .enumerate()
        .map(|(i, &s)| (f64::from(s) * ((RATE / 5 - i) as f64 / 160.0).min(1.0)) as i16)
        .collect();
    // 31 s of speech: the four voices over and over, 250 ms apart.
    let mut long = Vec::new();
    let voices = ["front_center", "front_left", "rear_left", "side_right"].map(voice);
    let mut k = 0;
    while long.len() < 31 * RATE {
        long.extend(query(&voices[k % 4], 250, 0));
        k += 1;
    }
    long.truncate(31 * RATE);
    write(dir.path(), "good.wav", &wav(&good_query()));
    write(dir.path(), "zero_frames.wav", &wav(&[]));
    write(dir.path(), "short.wav", &wav(&short));
    write(dir.path(), "long.wav", &wav(&long));
    let report = check(dir.path());
    assert_rule(&report, "good.wav", Rule::Frames, Status::Pass);
    assert_rule(&report, "good.wav", Rule::Duration, Status::Pass);
    assert_rule(&report, "zero_frames.wav", Rule::Frames, Status::Fail);
    assert_rule(
        &report,
        "zero_frames.wav",
        Rule::RiffStructure,
        Status::Pass,
    );
    assert_rule(&report, "short.wav", Rule::Duration, Status::Fail);
    assert_rule(&report, "long.wav", Rule::Duration, Status::Fail);
    // The long file is all speech: only its length is wrong.
    assert_rule(&report, "long.wav", Rule::TrailingSilence, Status::Pass);
    let long_check = file(&report, "long.wav").check(Rule::Duration).unwrap();
    assert!(
        long_check.message.contains("31.00 s > 30 s"),
        "{}",
        long_check.message
    );
    assert!(
        long_check
            .fix
            .as_ref()
            .unwrap()
            .contains("--max-duration 31 "),
        "{long_check:?}"
    );
    let short_check = file(&report, "short.wav").check(Rule::Duration).unwrap();
    assert_eq!(short_check.value, Some(0.2));
    assert!(
        short_check.message.contains("0.20 s < 0.3 s"),
        "{short_check:?}"
    );

    // The limits are the user's to move.
    let report = check_with(
        dir.path(),
        Limits {
            min_duration_s: 0.1,
            max_duration_s: 40.0,
            ..Limits::default()
        },
    );
    assert_rule(&report, "short.wav", Rule::Duration, Status::Pass);
    assert_rule(&report, "long.wav", Rule::Duration, Status::Pass);
}

#[test]
fn speech_rule() {
    let dir = tempfile::tempdir().unwrap();
    let hiss: Vec<i16> = noise(2 * RATE, -40.0, 3)
        .iter()
        .map(|&x| x.round() as i16)
        .collect();
    write(dir.path(), "good.wav", &wav(&good_query()));
    write(dir.path(), "hiss.wav", &wav(&hiss));
    write(dir.path(), "silence.wav", &wav(&vec![0; RATE]));
    let report = check(dir.path());
    assert_rule(&report, "good.wav", Rule::Speech, Status::Pass);
    for bad in ["hiss.wav", "silence.wav"] {
        assert_rule(&report, bad, Rule::Speech, Status::Fail);
        assert_rule(&report, bad, Rule::TrailingSilence, Status::Skipped);
    }
    let silence = file(&report, "silence.wav");
    assert!(
        silence
            .check(Rule::Speech)
            .unwrap()
            .message
            .contains("digital silence")
    );
    assert_rule(&report, "silence.wav", Rule::Level, Status::Warning);
}

#[test]
fn trailing_silence_rule() {
    let dir = tempfile::tempdir().unwrap();
    let voice = voice("rear_left");
    write(dir.path(), "tight.wav", &wav(&query(&voice, 200, 60)));
    write(dir.path(), "query_3.wav", &wav(&query(&voice, 200, 840)));
    let report = check(dir.path());
    assert_rule(&report, "tight.wav", Rule::TrailingSilence, Status::Pass);
    assert_rule(&report, "query_3.wav", Rule::TrailingSilence, Status::Fail);
    let c = file(&report, "query_3.wav")
        .check(Rule::TrailingSilence)
        .unwrap();
    let value = c.value.unwrap();
    // 840 ms of background plus the few ms of fade at the end of the recording.
    assert!((840.0..=860.0).contains(&value), "{value}");
    assert_eq!(c.limit, Some(100.0));
    assert_eq!(c.unit.as_deref(), Some("ms"));
    assert_eq!(
        c.message,
        format!("trailing silence {value:.0} ms > 100 ms")
    );
    let fix = c.fix.as_deref().unwrap();
    assert!(
        fix.starts_with("run: voiceperf prep <recording> -o ") && fix.ends_with(" to accept)"),
        "{fix}"
    );
    let accept: f64 = fix
        .split("--max-trailing-ms ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(accept >= value && accept <= value + 10.0, "{fix}");
    // Accepting it, as the fix offers, passes.
    let report = check_with(
        dir.path(),
        Limits {
            max_trailing_ms: accept,
            ..Limits::default()
        },
    );
    assert_rule(&report, "query_3.wav", Rule::TrailingSilence, Status::Pass);
}

#[test]
fn leading_silence_rule() {
    let dir = tempfile::tempdir().unwrap();
    let voice = voice("front_center");
    write(dir.path(), "lead_300.wav", &wav(&query(&voice, 300, 50)));
    write(dir.path(), "lead_900.wav", &wav(&query(&voice, 900, 50)));
    let report = check(dir.path());
    assert_rule(&report, "lead_300.wav", Rule::LeadingSilence, Status::Pass);
    assert_rule(
        &report,
        "lead_900.wav",
        Rule::LeadingSilence,
        Status::Warning,
    );
    let f = file(&report, "lead_900.wav");
    assert_eq!(f.status, Status::Warning, "a warning, not a failure");
    let leading = f.measurements.leading_ms.unwrap();
    assert!((880.0..=910.0).contains(&leading), "{leading}");
    assert!(report.passed, "warnings pass without --strict");
}

#[test]
fn clipping_level_and_dc_rules() {
    let dir = tempfile::tempdir().unwrap();
    let good = good_query();
    let scaled = |gain: f64, offset: f64| -> Vec<i16> {
        good.iter()
            .map(|&s| {
                (f64::from(s) * gain + offset)
                    .round()
                    .clamp(-32768.0, 32767.0) as i16
            })
            .collect()
    };
    write(dir.path(), "good.wav", &wav(&good));
    write(dir.path(), "clipped.wav", &wav(&scaled(2.5, 0.0)));
    // The voice peaks at -6 dBFS: -28 dB brings it to -34 dBFS.
    write(
        dir.path(),
        "quiet.wav",
        &wav(&scaled(10f64.powf(-28.0 / 20.0), 0.0)),
    );
    write(dir.path(), "dc.wav", &wav(&scaled(1.0, 800.0)));
    let report = check(dir.path());
    for rule in [Rule::Clipping, Rule::Level, Rule::DcOffset] {
        assert_rule(&report, "good.wav", rule, Status::Pass);
    }
    assert_rule(&report, "clipped.wav", Rule::Clipping, Status::Warning);
    assert_rule(&report, "quiet.wav", Rule::Level, Status::Warning);
    assert_rule(&report, "dc.wav", Rule::DcOffset, Status::Warning);
    for (name, rule) in [
        ("clipped.wav", Rule::Clipping),
        ("quiet.wav", Rule::Level),
        ("dc.wav", Rule::DcOffset),
    ] {
        let f = file(&report, name);
        assert_eq!(f.status, Status::Warning, "{name}: {:#?}", f.checks);
        assert_eq!(
            f.problems().len(),
            1,
            "{name}: only {rule:?} {:#?}",
            f.problems()
        );
    }
    let clipped = &file(&report, "clipped.wav").measurements;
    assert!(clipped.clipped_percent.unwrap() > 0.1);
    let quiet = file(&report, "quiet.wav").check(Rule::Level).unwrap();
    assert!(
        quiet.message.starts_with("too quiet: peak -34"),
        "{}",
        quiet.message
    );
    assert!(quiet.fix.as_ref().unwrap().contains("--normalize-peak"));
    let dc = file(&report, "dc.wav")
        .measurements
        .dc_offset_percent
        .unwrap();
    assert!((dc - 800.0 / 32768.0 * 100.0).abs() < 0.05, "{dc}");
}

#[test]
fn duplicate_rule_names_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let good = wav(&good_query());
    write(dir.path(), "a.wav", &good);
    write(dir.path(), "sub/b.wav", &good);
    write(
        dir.path(),
        "other.wav",
        &wav(&query(&voice("side_right"), 200, 40)),
    );
    let report = check(dir.path());
    assert_rule(&report, "other.wav", Rule::Duplicate, Status::Pass);
    for (name, other) in [("a.wav", "sub/b.wav"), ("sub/b.wav", "a.wav")] {
        assert_rule(&report, name, Rule::Duplicate, Status::Warning);
        let message = &file(&report, name).check(Rule::Duplicate).unwrap().message;
        assert!(message.ends_with(&format!("/{other}")), "{message}");
    }
    // A dataset of copies: each warning names a few of the others, not all of them.
    for k in 0..8 {
        write(dir.path(), &format!("copies/c{k}.wav"), &good);
    }
    let report = check(dir.path());
    let message = &file(&report, "copies/c0.wav")
        .check(Rule::Duplicate)
        .unwrap()
        .message;
    assert_eq!(message.matches(".wav").count(), 5, "{message}");
    assert!(message.ends_with(" and 4 more"), "{message}");
}

/// Prepares `inputs` with prep (the library, as the command does) into `out`.
fn prep_into(inputs: Vec<PathBuf>, out: &Path) {
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

#[test]
fn manifest_rule_and_prep_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    let out = dir.path().join("ds");
    write(&raw, "q1.wav", &wav(&query(&voice("rear_left"), 900, 1200)));
    write(&raw, "q2.wav", &wav(&query(&voice("front_left"), 600, 700)));
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
    write(&out, "extra.wav", &wav(&good_query()));
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
    write(&only_text, "README.txt", b"notes");
    let mixed = dir.path().join("mixed");
    write(&mixed, "q.wav", &wav(&good_query()));
    write(&mixed, "q.mp3", b"ID3");
    write(&mixed, "manifest.json", b"{ not json");

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
    write(&raw, "a.wav", &wav(&good_query()));
    write(&raw, "b.wav", &wav(&query(&voice("side_right"), 300, 50)));
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

// ---- the binary: text output, JSON, exit statuses ----

fn voiceperf() -> Command {
    let mut cmd = Command::cargo_bin("voiceperf").unwrap();
    cmd.env_remove("NO_COLOR");
    cmd
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_validate(args: &[&str]) -> Run {
    let output = voiceperf().arg("validate").args(args).output().unwrap();
    Run {
        code: output.status.code().unwrap(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

#[test]
fn command_output_and_exit_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good");
    write(
        &good,
        "query_1.wav",
        &wav(&query(&voice("side_right"), 200, 40)),
    );
    write(
        &good,
        "query_2.wav",
        &wav(&query(&voice("front_left"), 100, 20)),
    );
    let warned = dir.path().join("warned");
    write(
        &warned,
        "query_1.wav",
        &wav(&query(&voice("front_center"), 900, 50)),
    );
    let failed = dir.path().join("failed");
    write(&failed, "query_1.wav", &wav(&good_query()));
    write(
        &failed,
        "query_3.wav",
        &wav(&query(&voice("rear_left"), 200, 840)),
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
            && line.contains(" ms > 100 ms — run: voiceperf prep <recording> -o ")
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
    write(dir.path(), "query_1.wav", &wav(&good_query()));
    write(
        dir.path(),
        "query_3.wav",
        &wav(&query(&voice("rear_left"), 200, 840)),
    );
    write(dir.path(), "notes.txt", b"hi");
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
    assert!(trailing["fix"].as_str().unwrap().contains("voiceperf prep"));
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
    write(
        dir.path(),
        "q.wav",
        &wav(&query(&voice("rear_left"), 200, 840)),
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

/// A recording at `rate` Hz with `channels` channels, written with hound in the given sample
/// format: the voice resampled (linearly: it only has to sound like speech) with silence
/// and background noise or hum around it.
fn recording(pick: &mut Pick, path: &Path) {
    let names = ["front_center", "front_left", "rear_left", "side_right"];
    let voice = voice(names[pick.next(4)]);
    let rate = [8_000u32, 16_000, 22_050, 44_100, 48_000][pick.next(5)];
    let channels = 1 + pick.next(2) as u16;
    let (bits, float) = [
        (8u16, false),
        (16, false),
        (24, false),
        (32, false),
        (32, true),
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
    let background = noise(total, noise_db, pick.next(1000) as u64);
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for (i, &n) in background.iter().enumerate() {
        let mut x = n / 32768.0;
        if hum {
            x += 0.003 * (2.0 * std::f64::consts::PI * 50.0 * i as f64 / f64::from(rate)).sin();
        }
        if i >= lead && i < lead + voice_len {
            let at = (i - lead) as f64 * step;
            let k = at as usize;
            let frac = at - k as f64;
            let next = voice.get(k + 1).copied().unwrap_or(0);
            x += gain * (f64::from(voice[k]) * (1.0 - frac) + f64::from(next) * frac) / 32768.0;
        }
        let x = x.clamp(-1.0, 1.0);
        for _ in 0..channels {
            if float {
                writer.write_sample(x as f32).unwrap();
            } else {
                let full = (1i64 << (bits - 1)) as f64;
                let v = (x * full).round().clamp(-full, full - 1.0) as i32;
                writer.write_sample(v).unwrap();
            }
        }
    }
    writer.finalize().unwrap();
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
    let voice = voice(name);
    let peak = voice
        .iter()
        .map(|s| f64::from(s.unsigned_abs()))
        .fold(0.0, f64::max);
    let gain = 10f64.powf(peak_dbfs / 20.0) * 32768.0 / peak;
    let lead = lead_ms * RATE / 1000;
    let total = lead + voice.len() + tail_ms * RATE / 1000;
    let background = noise(total, noise_dbfs, voice.len() as u64);
    let samples: Vec<i16> = background
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let t = i as f64 / RATE as f64;
            let w = 2.0 * std::f64::consts::PI * 50.0 * t;
            let hum = hum_dbfs.map_or(0.0, |level| {
                10f64.powf(level / 20.0) * 32768.0 / 0.648
                    * (0.8 * w.sin() + 0.4 * (3.0 * w).sin() + 0.2 * (5.0 * w).sin())
            });
            let v = if i >= lead && i < lead + voice.len() {
                f64::from(voice[i - lead]) * gain
            } else {
                0.0
            };
            (v + n + hum).round().clamp(-32768.0, 32767.0) as i16
        })
        .collect();
    std::fs::write(path, wav(&samples)).unwrap();
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
        std::fs::copy(fixture(name), raw.join(renamed)).unwrap();
    }
    let out = dir.join("dataset");
    let prep = voiceperf()
        .args([
            "prep",
            raw.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "-q",
        ])
        .output()
        .unwrap();
    assert_eq!(
        prep.status.code(),
        Some(0),
        "prep: {}",
        String::from_utf8_lossy(&prep.stderr)
    );
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
    let dataset = Path::new(env!("CARGO_MANIFEST_DIR")).join("audio_files");
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
    let dataset = Path::new(env!("CARGO_MANIFEST_DIR")).join("audio_files");
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
