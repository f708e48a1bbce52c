//! `voiceperf validate`'s rules on the file itself, each with passing and failing inputs:
//! RIFF structure, PCM format (encoding, rate, channels, block align), frames and duration.

mod support;

use support::audio::{RATE, VOICES, WavFormat, voice, wav, wav_file};
use support::validate::{assert_rule, check, check_with, file, good_query, recorded_query};
use support::write_file;
use voiceperf::audio::riff;
use voiceperf::dataset::Limits;
use voiceperf::validate::{Rule, Status};

/// A mono 16 kHz WAV of `bits`-bit `tag` samples, its `fmt ` chunk extensible or not.
fn mono_16k(tag: u16, bits: u16, extensible: bool, data: &[u8]) -> Vec<u8> {
    let format = WavFormat {
        tag,
        channels: 1,
        rate: 16_000,
        bits,
        extensible,
    };
    wav_file(format, &[], data)
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
    write_file(dir.path(), "good.wav", &good);
    write_file(dir.path(), "truncated.wav", &truncated);
    write_file(dir.path(), "size_mismatch.wav", &size_mismatch);
    write_file(dir.path(), "no_data.wav", &no_data);
    write_file(dir.path(), "text.wav", b"this is a text file, not audio\n");
    write_file(dir.path(), "empty.wav", b"");
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
    write_file(
        dir.path(),
        "extensible_pcm.wav",
        &mono_16k(riff::WAVE_FORMAT_PCM, 16, true, &pcm),
    );
    write_file(
        dir.path(),
        "stereo.wav",
        &riff::wrap_pcm16(&riff::pcm16_to_bytes(&stereo), 16_000, 2),
    );
    // Other content than the extensible file, so the two are not duplicates.
    let inverted: Vec<i16> = samples.iter().map(|&s| s.saturating_neg()).collect();
    write_file(
        dir.path(),
        "rate_44k.wav",
        &riff::wrap_pcm16(&riff::pcm16_to_bytes(&inverted), 44_100, 1),
    );
    write_file(
        dir.path(),
        "float.wav",
        &mono_16k(riff::WAVE_FORMAT_IEEE_FLOAT, 32, false, &float),
    );
    write_file(
        dir.path(),
        "extensible_float.wav",
        &mono_16k(riff::WAVE_FORMAT_IEEE_FLOAT, 32, true, &float),
    );
    write_file(
        dir.path(),
        "eight_bit.wav",
        &mono_16k(riff::WAVE_FORMAT_PCM, 8, false, &eight_bit),
    );
    // 16 kHz mono 16-bit, but 4-byte frames: its frame count would be half its samples.
    let mut wide_frames = riff::wrap_pcm16(&riff::pcm16_to_bytes(&stereo), 16_000, 1);
    wide_frames[32..34].copy_from_slice(&4u16.to_le_bytes());
    write_file(dir.path(), "block_align_4.wav", &wide_frames);
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
    assert!(
        stereo
            .fix
            .as_ref()
            .unwrap()
            .contains("prep its original recording")
    );
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
    let mut k = 0;
    while long.len() < 31 * RATE {
        long.extend(recorded_query(VOICES[k % 4], 250, 0));
        k += 1;
    }
    long.truncate(31 * RATE);
    write_file(dir.path(), "good.wav", &wav(&good_query()));
    write_file(dir.path(), "zero_frames.wav", &wav(&[]));
    write_file(dir.path(), "short.wav", &wav(&short));
    write_file(dir.path(), "long.wav", &wav(&long));
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
