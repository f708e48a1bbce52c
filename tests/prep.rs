//! `voiceperf prep` end to end: every input format in, 16 kHz mono 16-bit WAV out, trimmed to
//! a known end of speech; channel handling; normalisation; the committed dataset.

mod support;

use std::fs;

use support::audio::{Encoding, at_rate, read_query, scene, voice_unit, wav_bytes};
use support::cli::{Run, prep};
use support::prep::{check_query, manifest, pad, trailing_residual};
use support::{fixture, repo};
use voiceperf::audio::mix::ChannelUse;

/// Real voice (speech ends at its last sample) with 0.5 s before and 1.0 s after, over
/// -60 dBFS noise.
fn rear_left_scene() -> (Vec<f32>, f64) {
    scene(&voice_unit("rear_left"), 0.5, 1.0, -60.0)
}

#[test]
fn wav_variants_end_one_pad_after_speech() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    fs::create_dir(&raw).unwrap();
    let (mono, speech_end) = rear_left_scene();
    let list = b"INFOISFT\x0a\x00\x00\x00voiceperf\x00".to_vec();
    let junk = [0u8; 27];
    // (name, rate, channels, encoding, extensible, extra chunks before data)
    let variants: [(&str, u32, usize, Encoding, bool, bool); 10] = [
        ("u8_8k_mono", 8_000, 1, Encoding::U8, false, false),
        ("s16_16k_mono", 16_000, 1, Encoding::Int(16), false, false),
        ("s16_44k_stereo", 44_100, 2, Encoding::Int(16), false, false),
        ("s24_48k_mono", 48_000, 1, Encoding::Int(24), false, false),
        (
            "s24_96k_stereo_ext",
            96_000,
            2,
            Encoding::Int(24),
            true,
            false,
        ),
        ("s32_22k_mono", 22_050, 1, Encoding::Int(32), false, false),
        (
            "f32_32k_stereo",
            32_000,
            2,
            Encoding::Float(32),
            false,
            false,
        ),
        ("f32_48k_ext", 48_000, 1, Encoding::Float(32), true, false),
        ("f64_44k_mono", 44_100, 1, Encoding::Float(64), false, false),
        ("s16_11k_chunks", 11_025, 1, Encoding::Int(16), false, true),
    ];
    for (name, rate, count, encoding, extensible, chunks) in variants {
        let channel = at_rate(&mono, rate);
        let channels = vec![channel; count];
        let extra: Vec<(&[u8; 4], &[u8])> = if chunks {
            vec![
                (b"LIST", &list[..]),
                (b"JUNK", &junk[..]),
                (b"fact", &[0, 0, 0, 0][..]),
            ]
        } else {
            vec![]
        };
        fs::write(
            raw.join(format!("{name}.wav")),
            wav_bytes(&channels, rate, encoding, extensible, &extra),
        )
        .unwrap();
    }
    let Run {
        code,
        stdout,
        stderr,
    } = prep(dir.path(), &["raw", "-o", "out"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("prepared 10, unchanged 0, failed 0"),
        "{stdout}"
    );
    let out = dir.path().join("out");
    let manifest = manifest(&out);
    assert_eq!(manifest.entries.len(), 10);
    for (name, rate, count, ..) in variants {
        let query = format!("{name}.wav");
        let entry = manifest.get(&query).unwrap();
        assert_eq!(entry.input.sample_rate, rate, "{name}");
        assert_eq!(entry.input.channels, count, "{name}");
        assert_eq!(entry.source, format!("raw/{query}"));
        // Lossless input: the end of speech is found to within a few ms, then the pad kept.
        check_query(&out, &query, speech_end, pad() - 0.020..=pad() + 0.001);
        let expected_lead = 300.0; // 0.5 s of silence minus the 200 ms kept
        assert!(
            (entry.trimmed_leading_ms - expected_lead).abs() < 25.0,
            "{name}: lead cut {} ms",
            entry.trimmed_leading_ms
        );
        assert!(entry.warnings.is_empty(), "{name}: {:?}", entry.warnings);
    }
    // 16 kHz 16-bit mono input is copied sample for sample (only trimmed).
    let entry = manifest.get("s16_16k_mono.wav").unwrap();
    let input: Vec<i16> = mono
        .iter()
        .map(|&x| (f64::from(x) * 32767.0).round() as i16)
        .collect();
    let start = (entry.trimmed_leading_ms * 16.0).round() as usize;
    let samples = read_query(&out.join("s16_16k_mono.wav"));
    assert_eq!(samples, input[start..start + samples.len()]);
}

#[test]
fn compressed_and_other_containers_end_one_pad_after_speech() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    fs::create_dir(&raw).unwrap();
    // All hold the same scene: speech ends at 0.4 s + 1.263 s (see make_fixtures.sh).
    let cases = [
        ("speech.flac", "flac", "flac", 22_050, 1),
        ("speech.mp3", "mp3", "mp3", 44_100, 2),
        ("speech.ogg", "ogg", "vorbis", 48_000, 1),
        ("speech.m4a", "isomp4", "aac", 48_000, 1),
        ("speech_alac.m4a", "isomp4", "alac", 22_050, 1),
        ("speech.opus", "ogg", "opus", 48_000, 1),
        ("speech.webm", "matroska", "opus", 48_000, 2),
        ("speech.aiff", "aiff", "pcm_s16be", 11_025, 1),
        ("speech.caf", "caf", "pcm_s16le", 8_000, 1),
    ];
    for (name, ..) in cases {
        let unique = name.replace('.', "_") + "." + name.rsplit('.').next().unwrap();
        fs::copy(fixture(&format!("audio/{name}")), raw.join(unique)).unwrap();
    }
    let Run {
        code,
        stdout,
        stderr,
    } = prep(dir.path(), &["raw"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let out = dir.path().join("audio_files");
    let manifest = manifest(&out);
    for (name, container, codec, rate, channels) in cases {
        let query = name.replace('.', "_") + ".wav";
        let entry = manifest.get(&query).unwrap_or_else(|| panic!("{query}"));
        let format = &entry.input;
        assert_eq!(
            (
                format.container.as_str(),
                format.codec.as_str(),
                format.sample_rate,
                format.channels
            ),
            (container, codec, rate, channels),
            "{name}"
        );
        // symphonia keeps AAC's 1024 priming frames, which delay everything by 21.3 ms.
        let speech_end = 1.663
            + if codec == "aac" {
                1024.0 / 48_000.0
            } else {
                0.0
            };
        // Lossy codecs smear the end of a sound by a few ms.
        check_query(&out, &query, speech_end, pad() - 0.020..=pad() + 0.010);
        assert!(stdout.contains(&format.describe()), "{stdout}");
    }
}

#[test]
fn phase_inverted_stereo_falls_back_to_one_channel() {
    let dir = tempfile::tempdir().unwrap();
    let (mono, speech_end) = rear_left_scene();
    let inverted: Vec<f32> = mono.iter().map(|x| -x * 0.9).collect();
    fs::write(
        dir.path().join("inverted.wav"),
        wav_bytes(
            &[mono.clone(), inverted],
            16_000,
            Encoding::Int(16),
            false,
            &[],
        ),
    )
    .unwrap();
    let Run {
        code,
        stdout,
        stderr,
    } = prep(dir.path(), &["inverted.wav", "-o", "mix"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("cancel out"), "{stdout}");
    let entry = manifest(&dir.path().join("mix"))
        .get("inverted.wav")
        .unwrap()
        .clone();
    assert_eq!(entry.channel, ChannelUse::Channel(1));
    assert!(
        entry.warnings.iter().any(|w| w.contains("phase-inverted")),
        "{:?}",
        entry.warnings
    );
    check_query(
        &dir.path().join("mix"),
        "inverted.wav",
        speech_end,
        pad() - 0.020..=pad() + 0.001,
    );

    // --channel picks one explicitly; a channel the file lacks fails that file.
    let run = prep(
        dir.path(),
        &["inverted.wav", "-o", "second", "--channel", "2"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let entry = manifest(&dir.path().join("second"))
        .get("inverted.wav")
        .unwrap()
        .clone();
    assert_eq!(entry.channel, ChannelUse::Channel(2));
    assert!(entry.warnings.is_empty(), "{:?}", entry.warnings);
    let Run { code, stderr, .. } = prep(
        dir.path(),
        &["inverted.wav", "-o", "third", "--channel", "3"],
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("inverted.wav: asked for channel 3 but the recording has 2 channel(s)"),
        "{stderr}"
    );
}

#[test]
fn pad_lead_and_normalisation_are_applied() {
    let dir = tempfile::tempdir().unwrap();
    let (mono, speech_end) = scene(&voice_unit("side_right"), 1.0, 1.0, -70.0);
    let quiet: Vec<f32> = mono.iter().map(|x| x * 0.1).collect();
    fs::write(
        dir.path().join("quiet.wav"),
        wav_bytes(&[quiet], 16_000, Encoding::Int(16), false, &[]),
    )
    .unwrap();
    let run = prep(
        dir.path(),
        &[
            "quiet.wav",
            "-o",
            "out",
            "--pad-ms",
            "40",
            "--keep-leading-ms",
            "0",
            "--normalize-peak",
            "-3",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let out = dir.path().join("out");
    check_query(&out, "quiet.wav", speech_end, 0.020..=0.041);
    let entry = manifest(&out).get("quiet.wav").unwrap().clone();
    assert!(entry.speech_start_s < 0.001, "{}", entry.speech_start_s);
    assert!(
        (entry.trimmed_leading_ms - 1000.0).abs() < 20.0,
        "{}",
        entry.trimmed_leading_ms
    );
    let gain = entry.gain_db.expect("gain recorded");
    assert!(gain > 15.0, "{gain}");
    let peak = read_query(&out.join("quiet.wav"))
        .iter()
        .map(|s| f64::from(s.unsigned_abs()))
        .fold(0.0, f64::max);
    let peak_db = 20.0 * (peak / 32767.0).log10();
    assert!((peak_db + 3.0).abs() < 0.01, "peak {peak_db} dBFS");
    assert_eq!(entry.clipped_samples, 0);
    assert_eq!(entry.settings.pad_ms, 40);
    assert_eq!(entry.settings.normalize_peak_dbfs, Some(-3.0));
}

/// Quiet speech (peaking at -42 dBFS) with only 200 ms of background before it: the start is
/// found where the voice becomes audible, so nothing of the first word is cut (it once came out
/// ~800 ms late, and prep cut ~600 ms of speech); and the query, analysed again, has the
/// bounds prep recorded.
#[test]
fn quiet_speech_with_little_lead_in_keeps_its_first_word() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    fs::create_dir(&raw).unwrap();
    let names = ["front_center", "rear_left", "side_right", "front_left"];
    let mut voice_ends = Vec::new();
    for name in names {
        let clean = voice_unit(name);
        let peak = clean.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let quiet: Vec<f32> = clean.iter().map(|x| x / peak * 0.00794).collect();
        let (mono, speech_end) = scene(&quiet, 0.2, 0.15, -75.0);
        voice_ends.push(speech_end);
        let bytes = wav_bytes(&[mono], 16_000, Encoding::Int(16), false, &[]);
        fs::write(raw.join(format!("{name}.wav")), bytes).unwrap();
    }
    let run = prep(dir.path(), &["raw", "-o", "out"]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = dir.path().join("out");
    let manifest = manifest(&out);
    for (name, voice_end) in names.iter().zip(voice_ends) {
        let query = format!("{name}.wav");
        let entry = manifest.get(&query).unwrap();
        // The voice starts at 200 ms (its first few ms are below the noise): the start is
        // found where it becomes audible, and prep, keeping 200 ms before that, cuts none of
        // the voice.
        let start_in_recording = entry.trimmed_leading_ms / 1000.0 + entry.speech_start_s;
        assert!(
            (0.18..=0.26).contains(&start_in_recording),
            "{name}: speech starts at {start_in_recording} s"
        );
        assert!(
            entry.trimmed_leading_ms <= 200.0,
            "{name}: {} ms cut before the speech",
            entry.trimmed_leading_ms
        );
        assert!(trailing_residual(entry, voice_end) <= 0.100, "{name}");
        let samples = read_query(&out.join(&query));
        let again = voiceperf::audio::speech::find_speech(&samples, &Default::default())
            .unwrap_or_else(|| panic!("{name}: no speech in the query"));
        assert!(
            again.start.abs_diff(entry.speech_start_sample) <= 160
                && again.end.abs_diff(entry.speech_end_sample) <= 160,
            "{name}: {again:?} vs {entry:?}"
        );
    }
}

/// `cargo run --release -- prep` turns the committed raw_recordings/ into the committed
/// audio_files/: same queries, same speech bounds, samples equal to within rounding.
#[test]
fn committed_dataset_is_what_prep_makes() {
    let committed = manifest(&repo("audio_files"));
    let names: Vec<&String> = committed.entries.keys().collect();
    let expected: Vec<String> = (1..=10).map(|n| format!("query_{n}.wav")).collect();
    let mut sorted_expected: Vec<&String> = expected.iter().collect();
    sorted_expected.sort();
    assert_eq!(names, sorted_expected);
    let listing = support::names(&repo("audio_files"));
    assert_eq!(listing.len(), 11, "{listing:?}");

    let dir = tempfile::tempdir().unwrap();
    let run = prep(
        dir.path(),
        &[
            repo("raw_recordings").to_str().unwrap(),
            "-o",
            "fresh",
            "--quiet",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let fresh = manifest(&dir.path().join("fresh"));
    for (name, old) in &committed.entries {
        let new = fresh.get(name).unwrap();
        assert_eq!(
            old.source_sha256, new.source_sha256,
            "{name}: raw recording changed"
        );
        assert_eq!(old.settings, new.settings, "{name}");
        assert!((old.duration_s - new.duration_s).abs() < 0.0015, "{name}");
        assert!(
            (old.speech_end_s - new.speech_end_s).abs() < 0.0015,
            "{name}"
        );
        let a = read_query(&repo("audio_files").join(name));
        let b = read_query(&dir.path().join("fresh").join(name));
        let common = a.len().min(b.len());
        let worst = (0..common)
            .map(|i| (i32::from(a[i]) - i32::from(b[i])).abs())
            .max()
            .unwrap_or(0);
        assert!(
            worst <= 2 || old.output_sha256 == new.output_sha256,
            "{name}: differs by {worst}"
        );
        assert!(
            old.speech_end_s <= old.duration_s - pad() + 0.001,
            "{name}: ends in speech"
        );
    }
}

#[test]
fn float_overs_are_clipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (mono, _) = rear_left_scene();
    // Float WAV can hold samples beyond full scale; 16-bit cannot.
    let hot: Vec<f32> = mono.iter().map(|x| x * 4.0).collect();
    let mut bytes = wav_bytes(
        std::slice::from_ref(&hot),
        16_000,
        Encoding::Float(32),
        false,
        &[],
    );
    // wav_bytes clamps to ±1; write the real values over its data chunk.
    let data_start = bytes.len() - 4 * hot.len();
    for (i, x) in hot.iter().enumerate() {
        bytes[data_start + 4 * i..data_start + 4 * i + 4].copy_from_slice(&x.to_le_bytes());
    }
    fs::write(dir.path().join("hot.wav"), bytes).unwrap();
    let run = prep(dir.path(), &["hot.wav", "-o", "out"]);
    assert_eq!(run.code, 0, "{run:?}");
    let entry = manifest(&dir.path().join("out"))
        .get("hot.wav")
        .unwrap()
        .clone();
    let overs = hot.iter().filter(|x| x.abs() * 32768.0 > 32767.5).count();
    assert!(overs > 0);
    assert!(
        entry.clipped_samples > 0 && entry.clipped_samples <= overs,
        "{} of {overs}",
        entry.clipped_samples
    );
    assert!(
        entry.warnings.iter().any(|w| w.contains("samples clipped")),
        "{:?}",
        entry.warnings
    );
    let samples = read_query(&dir.path().join("out/hot.wav"));
    assert!(samples.contains(&i16::MAX) || samples.contains(&i16::MIN));
}
