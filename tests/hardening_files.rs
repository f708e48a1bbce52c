//! Issue 15, items 1 and 2: what is not a regular file (a link to a device, a named pipe) is
//! refused with one line and never read; every read is bounded, and `validate` looks at a
//! file's header before anything else, with memory independent of the file's size.

mod support;

use std::fs;
use std::path::Path;
use std::time::Duration;

use support::hardening::*;

const LIMIT: Duration = Duration::from_secs(60);

fn error_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect()
}

/// A prepared dataset with one good query (and its manifest), made by `prep`.
fn prepared_dataset(root: &Path) -> std::path::PathBuf {
    let raw = root.join("raw");
    fs::create_dir_all(&raw).unwrap();
    fs::copy(audio_fixtures().join("speech.flac"), raw.join("good.flac")).unwrap();
    let run = run_bounded(root, &["prep", "raw", "-o", "ds"], LIMIT);
    assert_eq!(run.code(), Some(0), "{}\n{}", run.stdout(), run.stderr());
    root.join("ds")
}

#[test]
fn prep_refuses_devices_and_pipes_with_one_line_each_and_writes_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("in");
    fs::create_dir_all(&raw).unwrap();
    fs::copy(audio_fixtures().join("speech.flac"), raw.join("good.flac")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", raw.join("z.wav")).unwrap();
    std::os::unix::fs::symlink("/dev/urandom", raw.join("r.mp3")).unwrap();
    mkfifo(&raw.join("x.wav"));

    let run = run_bounded(dir.path(), &["prep", "in", "-o", "out"], LIMIT);
    let (stdout, stderr) = (run.stdout(), run.stderr());
    assert!(!run.timed_out, "prep hung or ran away: {stdout}\n{stderr}");
    assert_eq!(run.code(), Some(1), "{stdout}\n{stderr}");
    let errors = error_lines(&stderr);
    for (name, kind) in [
        ("in/z.wav", "character device"),
        ("in/r.mp3", "character device"),
        ("in/x.wav", "named pipe"),
    ] {
        let line = errors
            .iter()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no error line for {name}: {stderr}"));
        assert!(
            line.contains("not a regular file") && line.contains(kind),
            "{line}"
        );
    }
    assert_eq!(errors.len(), 3, "{stderr}");
    let manifest = fs::read_to_string(dir.path().join("out/manifest.json")).unwrap();
    assert!(manifest.contains("\"good.wav\""), "{manifest}");
    // Nothing was made of the special files.
    for name in ["z.wav", "r.wav", "x.wav"] {
        assert!(!dir.path().join("out").join(name).exists(), "{name}");
    }
}

#[test]
fn validate_refuses_devices_and_pipes_in_a_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let ds = prepared_dataset(dir.path());
    std::os::unix::fs::symlink("/dev/zero", ds.join("z.wav")).unwrap();
    mkfifo(&ds.join("x.wav"));

    let run = run_bounded(dir.path(), &["validate", "ds", "--json"], LIMIT);
    assert!(!run.timed_out, "validate hung: {}", run.stderr());
    assert_eq!(run.code(), Some(1), "{}", run.stderr());
    let report: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    let files = report["files"].as_array().unwrap();
    for (name, kind) in [("z.wav", "character device"), ("x.wav", "named pipe")] {
        let file = files.iter().find(|f| f["name"] == name).unwrap();
        assert_eq!(file["status"], "fail", "{file}");
        let structure = &file["checks"][0];
        let message = structure["message"].as_str().unwrap();
        assert!(
            message.contains("not a regular file") && message.contains(kind),
            "{message}"
        );
    }
    let good = files.iter().find(|f| f["name"] == "good.wav").unwrap();
    assert_eq!(good["status"], "pass", "{good}");
}

#[test]
fn validate_prep_and_bench_refuse_a_manifest_that_is_a_pipe_or_a_device() {
    for make in ["fifo", "device"] {
        let dir = tempfile::tempdir().unwrap();
        let ds = prepared_dataset(dir.path());
        let manifest = ds.join("manifest.json");
        fs::remove_file(&manifest).unwrap();
        match make {
            "fifo" => mkfifo(&manifest),
            _ => std::os::unix::fs::symlink("/dev/zero", &manifest).unwrap(),
        }
        let run = run_bounded(dir.path(), &["validate", "ds"], LIMIT);
        assert!(!run.timed_out, "{make}: validate hung: {}", run.stderr());
        assert_eq!(run.code(), Some(1), "{make}: {}", run.stdout());
        let stdout = run.stdout();
        let line = stdout
            .lines()
            .find(|l| l.contains("manifest.json:"))
            .unwrap_or_else(|| panic!("{make}: {stdout}"));
        assert!(line.contains("not a regular file"), "{make}: {line}");

        // prep into that folder stops at the manifest with one line instead of hanging.
        let run = run_bounded(dir.path(), &["prep", "raw", "-o", "ds"], LIMIT);
        assert!(!run.timed_out, "{make}: prep hung: {}", run.stderr());
        assert_ne!(run.code(), Some(0), "{make}");
        assert!(
            run.stderr().contains("not a regular file"),
            "{}",
            run.stderr()
        );

        // bench's dataset: the manifest is left out with a warning, a pipe among the queries
        // is skipped, the good query is spoken.
        mkfifo(&ds.join("pipe.wav"));
        let set = voiceperf::bench::dataset::QuerySet::load(&ds).unwrap();
        assert_eq!(set.files.len(), 1);
        assert!(
            set.warnings
                .iter()
                .any(|w| w.contains("not a regular file")),
            "{:?}",
            set.warnings
        );
        assert!(
            set.skipped[0].file == "pipe.wav"
                && set.skipped[0].reason.contains("not a regular file"),
            "{:?}",
            set.skipped
        );
    }
}
