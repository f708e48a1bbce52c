//! `voiceperf compare BASE CANDIDATE` on run folders made from a real bench run's files
//! (tests/fixtures/report_run): one connection file per run, its turns copied from the real
//! turn record with the latencies the test chooses (its summary.json copied as it is: compare
//! reads the turns), so the expected verdicts are known.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::cli::{run, voiceperf};

/// A run folder under `root/name` whose one connection measured `latencies` (s), in window.
fn run_folder(root: &Path, name: &str, latencies: &[f64]) -> PathBuf {
    let template_dir = support::fixture("report_run");
    let template = std::fs::read_dir(&template_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("latency_results_")
        })
        .unwrap();
    let mut client = support::json(&template);
    let turn = client["turns"][0].clone();
    let turns: Vec<Value> = latencies
        .iter()
        .enumerate()
        .map(|(i, &latency)| {
            let mut t = turn.clone();
            t["turn"] = (i + 1).into();
            t["in_window"] = true.into();
            t["latency_s"] = latency.into();
            t
        })
        .collect();
    client["turns"] = turns.into();
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = template.file_name().unwrap();
    std::fs::write(dir.join(file), serde_json::to_vec_pretty(&client).unwrap()).unwrap();
    std::fs::copy(template_dir.join("summary.json"), dir.join("summary.json")).unwrap();
    dir
}

/// `n` latencies around `centre`, spread over 100 ms.
fn spread(n: usize, centre: f64) -> Vec<f64> {
    (0..n).map(|i| centre + (i % 10) as f64 * 0.01).collect()
}

fn compare(base: &Path, candidate: &Path, extra: &[&str]) -> support::cli::Run {
    run(voiceperf()
        .env("NO_COLOR", "1")
        .arg("compare")
        .arg(base)
        .arg(candidate)
        .args(extra))
}

#[test]
fn a_slower_candidate_is_significant_and_fails_the_gate() {
    let root = tempfile::tempdir().unwrap();
    let base = run_folder(root.path(), "base", &spread(120, 1.0));
    let slower = run_folder(root.path(), "slower", &spread(120, 1.3));
    let out = compare(&base, &slower, &["--fail-if-slower", "10"]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("120 turns"), "{}", out.stdout);
    let p50 = out.stdout.lines().find(|l| l.starts_with("p50")).unwrap();
    assert!(
        p50.contains("+0.300 (+28.7 %)") && p50.ends_with("slower"),
        "{p50}"
    );
    assert!(
        out.stderr.contains("error: p50 latency is 28.7 %"),
        "{}",
        out.stderr
    );
    // Within tolerance: the same difference passes a 50 % gate.
    let out = compare(&base, &slower, &["--fail-if-slower", "50"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

#[test]
fn noise_is_not_a_difference_and_passes() {
    let root = tempfile::tempdir().unwrap();
    let base = run_folder(root.path(), "base", &spread(120, 1.0));
    let mut shuffled = spread(110, 1.0);
    shuffled.reverse();
    let again = run_folder(root.path(), "again", &shuffled);
    let out = compare(&base, &again, &["--fail-if-slower", "1"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for p in ["p50", "p90", "p95", "p99"] {
        let line = out.stdout.lines().find(|l| l.starts_with(p)).unwrap();
        assert!(line.ends_with("no significant change"), "{line}");
    }
}

#[test]
fn markdown_and_json_carry_the_intervals_and_small_runs_are_marked() {
    let root = tempfile::tempdir().unwrap();
    let base = run_folder(root.path(), "base", &spread(30, 1.0));
    let candidate = run_folder(root.path(), "candidate", &spread(30, 1.5));
    let out = compare(&base, &candidate, &["--format", "markdown"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("| | base | candidate | difference | |"),
        "{}",
        out.stdout
    );
    let p99 = out.stdout.lines().find(|l| l.starts_with("| p99")).unwrap();
    assert!(p99.contains('*') && p99.contains("too few turns"), "{p99}");
    assert!(out.stdout.contains("p99 needs 100"), "{}", out.stdout);
    let p50 = out.stdout.lines().find(|l| l.starts_with("| p50")).unwrap();
    assert!(p50.contains("slower"), "{p50}");

    let out = compare(&base, &candidate, &["--format", "json"]);
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    let row = &json["rows"][0];
    assert_eq!(row["name"], "p50");
    assert_eq!(row["change"], "slower");
    let (low, high) = (
        row["difference_ci"]["low"].as_f64().unwrap(),
        row["difference_ci"]["high"].as_f64().unwrap(),
    );
    assert!(low > 0.4 && high < 0.6, "{row}");
    // Deterministic: the same folders give the same intervals.
    let again = compare(&base, &candidate, &["--format", "json"]);
    assert_eq!(again.stdout, out.stdout);
}

#[test]
fn too_few_turns_cannot_pass_a_gate_and_bad_folders_are_named() {
    let root = tempfile::tempdir().unwrap();
    let tiny = run_folder(root.path(), "tiny", &[1.0]);
    let out = compare(&tiny, &tiny, &["--fail-if-slower", "5"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("cannot decide"), "{}", out.stderr);

    let empty = root.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = compare(&tiny, &empty, &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with("error: ") && out.stderr.contains("empty"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
}

#[test]
fn version_names_the_commit_and_completions_are_printed() {
    let out = run(voiceperf().arg("--version"));
    assert_eq!(out.code, 0);
    let re = regex::Regex::new(r"^voiceperf \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}(-dirty)?|unknown), built \d{4}-\d{2}-\d{2}\)").unwrap();
    assert!(re.is_match(&out.stdout), "{}", out.stdout);
    let out = run(voiceperf().args(["completions", "bash"]));
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.contains("_voiceperf()") && out.stdout.contains("compare"),
        "{}",
        &out.stdout[..200]
    );
}
