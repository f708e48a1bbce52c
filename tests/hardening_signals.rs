//! Issue 15, item 8: Ctrl-C (SIGINT) or SIGTERM during prep finishes the recordings in flight,
//! starts no more, removes no finished work, leaves no temp file and writes the manifest of
//! what finished; a later run removes temp files an earlier, killed run left behind.

mod support;

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use support::cli::{prep, voiceperf_process};
use support::validate::recorded_query;
use support::{audio::wav, files_under, write_file};
use voiceperf::fsutil::TEMP_PREFIX;

const RECORDINGS: usize = 40;

/// `RECORDINGS` recordings of a voice and 12 s of background each (slow enough to stop midway).
fn recordings(dir: &Path) {
    let bytes = wav(&recorded_query("rear_left", 300, 12_000));
    for i in 0..RECORDINGS {
        write_file(&dir.join("raw"), &format!("q{i:02}.wav"), &bytes);
    }
}

fn interrupted_prep_keeps_what_finished(signal: libc::c_int) {
    let dir = tempfile::tempdir().unwrap();
    recordings(dir.path());
    let out = dir.path().join("ds");
    let child = voiceperf_process()
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .args(["prep", "raw", "-o", "ds", "--quiet"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Signal once the first query is written.
    let started = Instant::now();
    while !out.is_dir() || !files_under(&out).iter().any(|f| f.ends_with(".wav")) {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "prep wrote nothing"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: signalling the child we spawned.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");

    let files = files_under(&out);
    assert!(
        !files.iter().any(|f| f.contains(TEMP_PREFIX)),
        "temp files left: {files:?}"
    );
    let wavs: Vec<&String> = files.iter().filter(|f| f.ends_with(".wav")).collect();
    assert!(
        !wavs.is_empty() && wavs.len() < RECORDINGS,
        "stopped midway: {} of {RECORDINGS}",
        wavs.len()
    );
    let manifest = voiceperf::dataset::Manifest::load(&out)
        .unwrap()
        .expect("a manifest");
    let listed: Vec<&String> = manifest.entries.keys().collect();
    assert_eq!(
        listed, wavs,
        "the manifest lists exactly the queries written"
    );

    // Running again prepares the rest.
    let again = prep(dir.path(), &["raw", "-o", "ds", "--quiet"]);
    assert_eq!(again.code, 0, "{again:?}");
    let manifest = voiceperf::dataset::Manifest::load(&out).unwrap().unwrap();
    assert_eq!(manifest.entries.len(), RECORDINGS);
}

#[test]
fn sigint_during_prep_writes_the_manifest_of_what_finished() {
    interrupted_prep_keeps_what_finished(libc::SIGINT);
}

#[test]
fn sigterm_during_prep_writes_the_manifest_of_what_finished() {
    interrupted_prep_keeps_what_finished(libc::SIGTERM);
}

#[test]
fn stale_temp_files_of_a_killed_run_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        &dir.path().join("raw"),
        "q.wav",
        &wav(&recorded_query("rear_left", 300, 100)),
    );
    let out = dir.path().join("ds");
    let stale = write_file(&out, &format!("{TEMP_PREFIX}killed"), b"half a query");
    let nested = write_file(&out, &format!("sub/{TEMP_PREFIX}killed"), b"half a query");
    let fresh = write_file(&out, &format!("{TEMP_PREFIX}inflight"), b"being written");
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for path in [&stale, &nested] {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(hour_ago)
            .unwrap();
    }
    let run = prep(dir.path(), &["raw", "-o", "ds", "--quiet"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        !stale.exists() && !nested.exists(),
        "stale temp files removed"
    );
    assert!(
        fresh.exists(),
        "a recent temp file may be another run's: kept"
    );
    assert!(out.join("q.wav").is_file());
}
