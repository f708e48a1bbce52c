//! `voiceperf prep` when things go wrong or have been done before: bad recordings, re-runs,
//! dry runs, colliding outputs, usage errors, the JSON report.

mod support;

use std::fs;

use support::audio::{Encoding, Noise, scene, voice_unit, wav_bytes};
use support::cli::{Run, prep};
use support::prep::{check_query, manifest, pad};
use support::{files_under, fixture};

/// A good recording: real voice with silence around it, 16 kHz 16-bit mono.
fn good_wav() -> Vec<u8> {
    let (samples, _) = scene(&voice_unit("front_center"), 0.5, 0.8, -60.0);
    wav_bytes(&[samples], 16_000, Encoding::Int(16), false, &[])
}

fn error_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect()
}

#[test]
fn bad_recordings_fail_one_line_each_and_the_rest_is_prepared() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    fs::create_dir_all(raw.join("more")).unwrap();
    fs::write(raw.join("good.wav"), good_wav()).unwrap();
    fs::copy(fixture("audio/speech.opus"), raw.join("more/good2.opus")).unwrap();
    fs::write(raw.join("empty.wav"), b"").unwrap();
    let flac = fs::read(fixture("audio/speech.flac")).unwrap();
    fs::write(raw.join("truncated.flac"), &flac[..flac.len() / 3]).unwrap();
    let mut noise = Noise(99);
    let random: Vec<u8> = (0..30_000)
        .map(|_| (noise.symmetric() * 127.0 + 128.0) as u8)
        .collect();
    fs::write(raw.join("random.mp3"), &random).unwrap();
    fs::write(raw.join("text.mp3"), "Remember to buy milk.\n".repeat(40)).unwrap();
    fs::write(
        raw.join("zero_frames.wav"),
        wav_bytes(&[vec![]], 16_000, Encoding::Int(16), false, &[]),
    )
    .unwrap();
    let (hiss, _) = scene(&[], 0.0, 2.0, -40.0);
    fs::write(
        raw.join("no_speech.wav"),
        wav_bytes(&[hiss], 16_000, Encoding::Int(16), false, &[]),
    )
    .unwrap();
    fs::write(raw.join("notes.txt"), "not audio").unwrap();

    let Run {
        code,
        stdout,
        stderr,
    } = prep(dir.path(), &["raw", "-o", "out"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let expected = [
        ("raw/empty.wav", "empty file (0 bytes)"),
        ("raw/no_speech.wav", "no speech found"),
        ("raw/random.mp3", "not a recognised audio format"),
        (
            "raw/text.mp3",
            "not a recognised audio format (the file looks like text)",
        ),
        ("raw/truncated.flac", "truncated: audio stops at"),
        ("raw/zero_frames.wav", "no audio frames"),
    ];
    let errors = error_lines(&stderr);
    assert_eq!(errors.len(), expected.len(), "{stderr}");
    for (file, reason) in expected {
        let prefix = format!("error: {file}: {reason}");
        assert!(
            errors.iter().any(|l| l.starts_with(&prefix)),
            "no {prefix:?} in\n{stderr}"
        );
    }
    assert!(
        stderr.contains("note: skipped 1 non-audio file(s): raw/notes.txt"),
        "{stderr}"
    );
    assert!(
        stdout.contains("prepared 2, unchanged 0, failed 6"),
        "{stdout}"
    );

    // The good ones were prepared; nothing was written for the bad ones.
    let out = dir.path().join("out");
    let written = files_under(&out);
    assert_eq!(written, ["good.wav", "manifest.json", "more/good2.wav"]);
    let manifest = manifest(&out);
    assert_eq!(manifest.entries.len(), 2);
    check_query(&out, "more/good2.wav", 1.663, pad() - 0.020..=pad() + 0.010);
}

#[test]
fn rerun_skips_unchanged_recordings() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    fs::create_dir(&raw).unwrap();
    fs::write(raw.join("a.wav"), good_wav()).unwrap();
    fs::copy(fixture("audio/speech.mp3"), raw.join("b.mp3")).unwrap();
    let out = dir.path().join("out");
    let summary = |args: &[&str]| {
        let Run {
            code,
            stdout,
            stderr,
        } = prep(dir.path(), args);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        stdout.lines().last().unwrap_or_default().to_string()
    };
    assert!(summary(&["raw", "-o", "out"]).starts_with("prepared 2, unchanged 0"));
    let manifest_bytes = fs::read(out.join("manifest.json")).unwrap();
    let modified = fs::metadata(out.join("a.wav")).unwrap().modified().unwrap();

    // Nothing changed: nothing rewritten, not even the manifest.
    assert!(summary(&["raw", "-o", "out"]).starts_with("prepared 0, unchanged 2"));
    assert_eq!(
        fs::metadata(out.join("a.wav")).unwrap().modified().unwrap(),
        modified
    );
    assert_eq!(fs::read(out.join("manifest.json")).unwrap(), manifest_bytes);

    // A changed recording is redone, the other is not.
    let (louder, _) = scene(&voice_unit("side_right"), 0.3, 0.8, -60.0);
    fs::write(
        raw.join("a.wav"),
        wav_bytes(&[louder], 16_000, Encoding::Int(16), false, &[]),
    )
    .unwrap();
    assert!(summary(&["raw", "-o", "out"]).starts_with("prepared 1, unchanged 1"));
    // Other settings redo everything; so does --force.
    assert!(
        summary(&["raw", "-o", "out", "--pad-ms", "50"]).starts_with("prepared 2, unchanged 0")
    );
    assert!(
        summary(&["raw", "-o", "out", "--pad-ms", "50"]).starts_with("prepared 0, unchanged 2")
    );
    assert!(summary(&["raw", "-o", "out", "--pad-ms", "50", "--force"]).starts_with("prepared 2"));
    // A query edited by hand is prepared again.
    fs::write(out.join("b.wav"), b"edited").unwrap();
    assert!(
        summary(&["raw", "-o", "out", "--pad-ms", "50"]).starts_with("prepared 1, unchanged 1")
    );
    assert_eq!(manifest(&out).get("a.wav").unwrap().settings.pad_ms, 50);
    // Recordings moved elsewhere, bytes unchanged: not redone, but the manifest says where
    // they are now (validate's fixes name them).
    fs::rename(&raw, dir.path().join("recordings")).unwrap();
    assert!(
        summary(&["recordings", "-o", "out", "--pad-ms", "50"])
            .starts_with("prepared 0, unchanged 2")
    );
    let moved = manifest(&out);
    assert_eq!(moved.get("a.wav").unwrap().source, "recordings/a.wav");
    assert_eq!(moved.get("b.wav").unwrap().source, "recordings/b.mp3");
}

#[test]
fn dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.wav"), good_wav()).unwrap();
    let Run {
        code,
        stdout,
        stderr,
    } = prep(dir.path(), &["a.wav", "-o", "out", "--dry-run"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("would prepare"), "{stdout}");
    assert!(
        stdout.contains("would prepare 1, unchanged 0, failed 0 (dry run: nothing written)"),
        "{stdout}"
    );
    assert!(!dir.path().join("out").exists());
    let files = files_under(dir.path());
    assert_eq!(files, ["a.wav"]);
}

#[test]
fn colliding_outputs_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    fs::create_dir(&raw).unwrap();
    fs::write(raw.join("q1.wav"), good_wav()).unwrap();
    fs::copy(fixture("audio/speech.flac"), raw.join("q1.flac")).unwrap();
    fs::copy(fixture("audio/speech.mp3"), raw.join("q2.mp3")).unwrap();
    let Run {
        code,
        stdout,
        stderr,
    } = prep(dir.path(), &["raw", "-o", "out"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("q1.wav"), "{stderr}");
    assert!(
        stderr.contains("raw/q1.flac") && stderr.contains("raw/q1.wav"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(!dir.path().join("out").exists());

    // Preparing into the input folder would overwrite q1.wav itself: refused as well.
    let run = prep(dir.path(), &["raw/q1.wav", "-o", "raw"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("overwritten"));
}

#[test]
fn report_json_lists_every_file() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.wav"), good_wav()).unwrap();
    fs::write(dir.path().join("bad.mp3"), "text").unwrap();
    let Run {
        code,
        stdout,
        stderr,
    } = prep(
        dir.path(),
        &[
            "a.wav",
            "bad.mp3",
            "missing.ogg",
            "-o",
            "out",
            "--quiet",
            "--report",
            "report.json",
        ],
    );
    assert_eq!(code, 1);
    assert!(stdout.is_empty(), "--quiet prints no table: {stdout}");
    assert_eq!(error_lines(&stderr).len(), 2, "{stderr}");
    assert!(stderr.contains("error: missing.ogg: "), "{stderr}");
    let report: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(report["prepared"], 1);
    assert_eq!(report["failed"], 2);
    assert_eq!(report["dry_run"], false);
    assert_eq!(
        report["settings"]["pad_ms"],
        voiceperf::dataset::manifest::PrepSettings::default().pad_ms
    );
    let files = report["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    let good = files.iter().find(|f| f["input"] == "a.wav").unwrap();
    assert_eq!(good["status"], "prepared");
    assert_eq!(good["output"], "a.wav");
    assert!(good["entry"]["speech_end_s"].as_f64().unwrap() > 0.5);
    let bad = files.iter().find(|f| f["input"] == "bad.mp3").unwrap();
    assert_eq!(bad["status"], "failed");
    assert!(
        bad["error"]
            .as_str()
            .unwrap()
            .contains("not a recognised audio format")
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.wav"), good_wav()).unwrap();
    for (args, message) in [
        (&["a.wav", "--channel", "0"][..], "--channel counts from 1"),
        (
            &["a.wav", "--normalize-peak", "3"][..],
            "--normalize-peak 3 is out of range",
        ),
        (
            &["a.wav", "--pad-ms", "99999"][..],
            "--pad-ms 99999 is too long",
        ),
        (&["a.wav", "-o", "a.wav"][..], "is a file"),
        (
            &[][..],
            "no recordings given and there is no raw_recordings/ folder",
        ),
        (&["a.wav", "--vad-mode", "loud"][..], "invalid value 'loud'"),
    ] {
        let Run { code, stderr, .. } = prep(dir.path(), args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    fs::create_dir(dir.path().join("empty")).unwrap();
    let run = prep(dir.path(), &["empty"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no audio files found in empty"));
}

#[test]
fn defaults_read_raw_recordings_into_audio_files() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("raw_recordings")).unwrap();
    fs::write(dir.path().join("raw_recordings/query_1.wav"), good_wav()).unwrap();
    fs::write(dir.path().join("raw_recordings/.gitkeep"), "").unwrap();
    let Run {
        code,
        stdout,
        stderr,
    } = prep(dir.path(), &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        !stderr.contains("note:"),
        "hidden files are not mentioned: {stderr}"
    );
    let files = files_under(&dir.path().join("audio_files"));
    assert_eq!(files, ["manifest.json", "query_1.wav"]);
    for header in [
        "query",
        "input",
        "in",
        "out",
        "lead cut",
        "trail cut",
        "clipped",
        "status",
    ] {
        assert!(stdout.lines().next().unwrap().contains(header), "{stdout}");
    }
    let row = stdout.lines().nth(1).unwrap();
    assert!(
        row.starts_with("query_1.wav") && row.contains("wave/pcm_s16le 16k mono"),
        "{stdout}"
    );
    assert!(row.ends_with("prepared"), "{stdout}");
}
