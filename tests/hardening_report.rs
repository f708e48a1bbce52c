//! Issue 15, item 3: `report` on run files holding extreme values (1e308 and -1e308: finite,
//! but their difference is not) and on a damaged per-connection file (`NaN`, `1e400`): the
//! axes cope with any finite range, a damaged file is left out with a note, the report is
//! written.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

const FIXTURE: &str = "tests/fixtures/report_run";

fn saved_run() -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("run");
    std::fs::create_dir(&dir).unwrap();
    for entry in std::fs::read_dir(FIXTURE).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    (root, dir)
}

fn client_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("latency_results_")
        })
        .collect();
    files.sort();
    files
}

fn report(dir: &Path) -> std::process::Output {
    Command::cargo_bin("voiceperf")
        .unwrap()
        .arg("report")
        .arg(dir)
        .env("NO_COLOR", "1")
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap()
}

#[test]
fn extreme_finite_latencies_are_drawn_not_a_panic() {
    let (_root, dir) = saved_run();
    // The first connection with two turns or more.
    let (path, mut client) = client_files(&dir)
        .into_iter()
        .map(|p| {
            let value: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            (p, value)
        })
        .find(|(_, v)| v["turns"].as_array().is_some_and(|t| t.len() >= 2))
        .expect("the fixture has a connection with two turns");
    let path = &path;
    let turns = client["turns"].as_array_mut().unwrap();
    for (turn, value) in turns.iter_mut().zip([1e308, -1e308]) {
        turn["latency_s"] = value.into();
        turn["audible_latency_s"] = value.into();
        turn["in_window"] = true.into();
        turn["outcome"] = "replied".into();
    }
    client["individual_latencies"] = serde_json::json!([1e308, -1e308]);
    std::fs::write(path, serde_json::to_vec_pretty(&client).unwrap()).unwrap();
    let mut summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    summary["results"]["latency"]["max"] = 1e308.into();
    summary["results"]["latency"]["min"] = (-1e308).into();
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_vec_pretty(&summary).unwrap(),
    )
    .unwrap();

    let output = report(&dir);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("Latency histogram"), "the charts are drawn");
    let not_a_number = regex::Regex::new(r"NaN|\binf\b").unwrap();
    let found: Vec<&str> = not_a_number
        .find_iter(&html)
        .map(|m| &html[m.start().saturating_sub(80)..(m.end() + 40).min(html.len())])
        .collect();
    assert!(found.is_empty(), "NaN or inf drawn: {found:#?}");
    assert!(dir.join("summary.md").is_file());
}

#[test]
fn a_damaged_connection_file_is_left_out_with_a_note() {
    let (_root, dir) = saved_run();
    let files = client_files(&dir);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    // `NaN` is not JSON, `1e400` does not fit a float: serde refuses both.
    let damaged = text.replacen("\"threshold\": 0.5", "\"threshold\": NaN", 1);
    assert_ne!(damaged, text, "the fixture has a threshold to damage");
    std::fs::write(&files[0], damaged).unwrap();
    let text = std::fs::read_to_string(&files[1]).unwrap();
    let damaged = text.replacen("\"chunk_ms\": 32", "\"chunk_ms\": 1e400", 1);
    assert_ne!(damaged, text);
    std::fs::write(&files[1], damaged).unwrap();

    let output = report(&dir);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Written, and the run says what it left out (exit 1: something could not be read).
    assert!(dir.join("report.html").is_file(), "{stderr}");
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    for file in &files[..2] {
        let name = file.file_name().unwrap().to_string_lossy();
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with("warning: left out of the report:") && l.contains(&*name)),
            "{name}: {stderr}"
        );
    }
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("Latency histogram"));
}
