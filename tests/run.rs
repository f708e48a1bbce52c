//! `voiceperf run` end to end, on a tiny dataset of two real recordings (MP3 and Opus from
//! raw_recordings/) in a temp folder with a short metrics window: with the built-in agent,
//! against a separately started `voiceperf agent` process and its log, as a concurrency sweep,
//! and stopping early when the dataset does not validate.

mod support;

use std::path::{Path, PathBuf};

use predicates::str::contains;
use support::cli::{AgentProcess, voiceperf};
use support::{names, repo};
use voiceperf::analyze::Analysis;
use voiceperf::runfolder::record::{AgentRecord, RunOutcome, RunRecord, StepStatus};
use voiceperf::runfolder::results::{RunSummary, SweepSummary};
use voiceperf::runfolder::{read_client_files, read_json};

/// A temp folder with `raw/` holding two short recordings in compressed formats.
fn workspace() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let raw = root.path().join("raw");
    std::fs::create_dir(&raw).unwrap();
    let recordings = repo("raw_recordings");
    for name in ["query_4.mp3", "query_7.opus"] {
        std::fs::copy(recordings.join(name), raw.join(name)).unwrap();
    }
    root
}

/// The short-run flags every test uses (2 users, 4 s window, no live line). Each user's
/// first query starts ~2.5 s in (after the greeting), so each measures one turn.
const SHORT: [&str; 7] = [
    "--clients",
    "2",
    "--client-start-delay",
    "0.2",
    "--test-duration",
    "4",
    "-q",
];

/// Checks a single-level run folder: every output file, consistent numbers, the report.
fn check_level(dir: &Path, users: usize) -> RunSummary {
    for file in [
        "summary.json",
        "turns.csv",
        "analysis.json",
        "turns_breakdown.csv",
        "report.html",
        "summary.md",
    ] {
        assert!(
            dir.join(file).is_file(),
            "{file} missing in {:?}",
            names(dir)
        );
    }
    let clients = read_client_files(dir).unwrap().clients;
    assert!(clients.len() >= users, "{} client files", clients.len());
    let summary: RunSummary = read_json(&dir.join("summary.json")).unwrap();
    assert_eq!(summary.run.users, users);
    let latency = summary.results.latency.as_ref().expect("turns measured");
    assert!(latency.count >= 1);
    // Loose bounds: the agent's pipeline alone takes ~1 s (500 ms VAD stop + services).
    assert!(
        latency.p50 > 0.5 && latency.p50 < 3.0,
        "p50 {} s out of range",
        latency.p50
    );
    let analysis: Analysis = read_json(&dir.join("analysis.json")).unwrap();
    let join = analysis.join.as_ref().expect("joined with the run");
    assert!(join.counts.with_all_components >= 1, "{:?}", join.counts);
    assert!(join.overall.vad_wait.is_some() && join.overall.llm_ttfb.is_some());
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains(&format!("{:.3} s", latency.p50)));
    for id in ["latency-cdf", "latency-timeline", "latency-breakdown"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
    }
    summary
}

#[test]
fn run_with_the_built_in_agent_writes_every_output_in_a_fresh_folder() {
    let root = workspace();
    // A folder that holds files is never written into: the run goes to a fresh sibling.
    std::fs::create_dir(root.path().join("out")).unwrap();
    std::fs::write(root.path().join("out/keep.txt"), "mine").unwrap();
    let assert = voiceperf()
        .current_dir(root.path())
        .args([
            "run",
            "--raw-dir",
            "raw",
            "--audio-dir",
            "audio",
            "-o",
            "out",
        ])
        .args(SHORT)
        .assert()
        .success()
        .stdout(contains("latency = first bot audio"))
        .stdout(contains("where it goes (mean): VAD wait"))
        .stdout(contains("report: out-2/report.html"))
        .stderr(contains("prep"))
        .stderr(contains("2 prepared"));
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert_eq!(names(&root.path().join("out")), ["keep.txt"]);

    // prep made the dataset (manifest and both queries) from the recordings.
    assert_eq!(
        names(&root.path().join("audio")),
        ["manifest.json", "query_4.wav", "query_7.wav"]
    );
    let dir = root.path().join("out-2");
    assert!(dir.join("agent.log").is_file() && dir.join("run.json").is_file());
    let summary = check_level(&dir, 2);
    let latency = summary.results.latency.as_ref().unwrap();
    assert!(stdout.contains(&format!("{:.3}", latency.p50)));
    // bench checked itself against the in-process agent's truth lines.
    let agreement = summary.agent_agreement.as_ref().expect("agent agreement");
    assert!(agreement.matched_turns >= 1, "{agreement:?}");
    assert!(agreement.abs_difference_p99_ms.unwrap() < 50.0);

    let record: RunRecord = read_json(&dir.join("run.json")).unwrap();
    let steps: Vec<(&str, &str)> = record
        .steps
        .iter()
        .map(|s| (s.name.as_str(), s.status.name()))
        .collect();
    assert_eq!(
        steps,
        [
            ("prep", "ok"),
            ("validate", "ok"),
            ("agent", "ok"),
            ("bench", "ok"),
            ("analyze", "ok"),
            ("report", "ok")
        ]
    );
    assert_eq!(record.outcome, RunOutcome::Success);
    assert_eq!(record.prep.as_ref().unwrap().prepared, 2);
    let AgentRecord::BuiltIn(agent) = &record.agent else {
        panic!("{:?}", record.agent)
    };
    assert!(agent.connections.unwrap() >= 2);
    assert!(agent.url.starts_with("ws://127.0.0.1:"));
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("built-in voiceperf agent"));
}

#[test]
fn run_against_an_external_agent_joins_its_server_log_and_applies_gates() {
    let root = workspace();
    let log = root.path().join("bot_logs.txt");
    let agent = AgentProcess::start(&["--greeting", "--rtvi"], &log);
    // The agent needs ~1 s per reply, so a 0.2 s p95 gate fails: exit 3, everything written.
    voiceperf()
        .current_dir(root.path())
        .args(["run", "--url", agent.url(), "--server-log"])
        .arg(&log)
        .args(["--raw-dir", "raw", "--audio-dir", "audio", "-o", "ext"])
        .args(["--fail-p95", "0.2", "--min-turns", "1"])
        .args(SHORT)
        .assert()
        .code(3)
        .stderr(contains("--fail-p95 0.2"))
        .stdout(contains("report: ext/report.html"));
    let dir = root.path().join("ext");
    assert!(
        !dir.join("agent.log").exists(),
        "no in-process agent was started"
    );
    check_level(&dir, 2);
    let record: RunRecord = read_json(&dir.join("run.json")).unwrap();
    let agent_step = record.steps.iter().find(|s| s.name == "agent").unwrap();
    assert_eq!(agent_step.status, StepStatus::Skipped);
    assert!(agent_step.detail.contains(agent.url()));
    match &record.agent {
        AgentRecord::External(agent_record) => {
            assert_eq!(agent_record.url, agent.url());
            assert!(
                agent_record
                    .server_log
                    .as_ref()
                    .unwrap()
                    .ends_with("bot_logs.txt")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(record.outcome, RunOutcome::GateFailed);
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("--fail-p95 0.2"), "the failed gate is shown");
    let analysis: Analysis = read_json(&dir.join("analysis.json")).unwrap();
    let join = analysis.join.unwrap();
    assert!(join.counts.with_truth_line >= 1, "{:?}", join.counts);
    assert_eq!(join.counts.connections, join.counts.connections_in_log);
}

/// The agent's log rewritten, line by line as it is written, into loguru's default layout as a
/// stock pipecat bot writes it: no `streamId=` field, and no `voiceperf agent` truth lines.
fn stock_layout_log(mut agent: std::process::Child, log: PathBuf) -> std::thread::JoinHandle<()> {
    use std::io::{BufRead, Write};
    let stderr = agent.stderr.take().unwrap();
    std::thread::spawn(move || {
        let mut out = std::fs::File::create(&log).unwrap();
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line.contains("VoiceperfAgent turn") {
                continue;
            }
            let line = match line.find(" | streamId=") {
                Some(at) => {
                    let rest = &line[at + " | streamId=".len()..];
                    let end = rest.find(' ').unwrap_or(rest.len());
                    format!("{}{}", &line[..at], &rest[end..])
                }
                None => line,
            };
            writeln!(out, "{line}").unwrap();
            out.flush().unwrap();
        }
        let _ = agent.wait();
    })
}

/// A `voiceperf agent` whose log is written to `log` in pipecat's stock layout: its URL, its
/// pid and the thread writing the log (ends when the agent does).
fn stock_layout_agent(log: &Path) -> (String, u32, std::thread::JoinHandle<()>) {
    use std::io::BufRead;
    let mut agent = support::cli::voiceperf_process()
        .args(["agent", "--port", "0", "--greeting"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut listening = String::new();
    std::io::BufReader::new(agent.stdout.take().unwrap())
        .read_line(&mut listening)
        .unwrap();
    let url = listening
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected agent output: {listening}"))
        .to_string();
    let pid = agent.id();
    (url, pid, stock_layout_log(agent, log.to_path_buf()))
}

/// Runs `voiceperf run` with `users` against a stock-layout agent; returns the run's output and
/// its joined analysis.
fn run_with_stock_log(users: &str) -> (std::process::Output, voiceperf::analyze::join::JoinReport) {
    let root = workspace();
    let log = root.path().join("bot.log");
    let (url, pid, writer) = stock_layout_agent(&log);
    let assert = voiceperf()
        .current_dir(root.path())
        .args(["run", "--url", &url, "--server-log"])
        .arg(&log)
        .args(["--raw-dir", "raw", "--audio-dir", "audio", "-o", "stock"])
        .args(["--clients", users, "--client-start-delay", "0.2"])
        .args(["--test-duration", "5", "-q"])
        .env("NO_COLOR", "1")
        .assert();
    support::cli::signal(pid, "KILL");
    writer.join().unwrap();
    let output = assert.get_output().clone();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("streamId=") && text.contains("User stopped speaking"));
    let analysis: Analysis = read_json(&root.path().join("stock/analysis.json")).unwrap();
    (output, analysis.join.unwrap())
}

/// `run --server-log` with a log in pipecat's stock layout (no stream ids): one user, so every
/// line is attributed to its turn by time and every turn is split.
#[test]
fn run_with_a_stock_layout_server_log_splits_every_turn() {
    let (_, join) = run_with_stock_log("1");
    let c = &join.counts;
    assert!(c.with_latency >= 1, "{c:?}");
    assert_eq!(c.with_vad_wait, c.with_latency, "{c:?}");
    assert_eq!(c.with_all_components, c.with_latency, "{c:?}");
    assert!(c.unlabeled_attributed > 0, "{c:?}");
    assert_eq!(c.unlabeled_ambiguous, 0, "{c:?}");
    assert_eq!(join.note, None);
}

/// The same with two users whose turns overlap: the run still succeeds and keeps its analysis;
/// turns whose lines cannot be told apart are left unsplit, and the run says why and what to
/// change.
#[test]
fn run_with_a_stock_layout_log_and_overlapping_users_says_why_the_split_is_missing() {
    let (output, join) = run_with_stock_log("2");
    let c = &join.counts;
    assert!(c.with_latency >= 2, "{c:?}");
    assert!(c.unlabeled_ambiguous > 0, "{c:?}");
    assert!(c.missing_split_overlap > 0, "{c:?}");
    assert_eq!(c.connections_in_log, 2, "{c:?}");
    let note = join.note.as_deref().expect("a note");
    assert!(note.contains("streamId={extra[streamId]}"), "{note}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("logger.contextualize(streamId="),
        "{stdout}"
    );
}

#[test]
fn run_sweeps_levels_and_goes_on_past_a_bad_recording() {
    let root = workspace();
    std::fs::write(
        root.path().join("raw/broken.wav"),
        b"RIFF\x04\0\0\0WAVEjunk",
    )
    .unwrap();
    voiceperf()
        .current_dir(root.path())
        .args([
            "run",
            "--raw-dir",
            "raw",
            "--audio-dir",
            "audio",
            "-o",
            "sweep",
        ])
        .args([
            "--clients",
            "1,2",
            "--client-start-delay",
            "0.2",
            "--test-duration",
            "4",
            "-q",
        ])
        .assert()
        .code(1)
        .stderr(contains("broken.wav"))
        .stdout(contains("latency vs concurrent users"))
        .stdout(contains("report: sweep/report.html"));
    let dir = root.path().join("sweep");
    let sweep: SweepSummary = read_json(&dir.join("sweep.json")).unwrap();
    assert_eq!(
        sweep.levels.iter().map(|l| l.clients).collect::<Vec<_>>(),
        [1, 2]
    );
    for level in &sweep.levels {
        check_level(&dir.join(&level.dir), level.clients);
    }
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    for needle in [
        "id=\"sweep-curve\"",
        "id=\"sweep-cdf\"",
        "Latency vs concurrent users",
        "clients_1/report.html",
        "clients_2/report.html",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    let level_html = std::fs::read_to_string(dir.join("clients_2/report.html")).unwrap();
    assert!(level_html.contains("../report.html"), "level links back");
    let record: RunRecord = read_json(&dir.join("run.json")).unwrap();
    assert_eq!(record.outcome, RunOutcome::Failed);
    assert!(
        record.problems.iter().any(|p| p.contains("prep")),
        "{:?}",
        record.problems
    );
    assert_eq!(record.prep.unwrap().failed.len(), 1);
}

#[test]
fn run_stops_with_the_fixes_when_the_dataset_does_not_validate() {
    let root = tempfile::tempdir().unwrap();
    let audio = root.path().join("bad_set");
    std::fs::create_dir(&audio).unwrap();
    // One second of a tone at 8 kHz: the wrong rate for a pipecat agent.
    let samples: Vec<i16> = (0..8000)
        .map(|i| ((i as f64 * 0.3).sin() * 8000.0) as i16)
        .collect();
    let wav = voiceperf::audio::riff::wrap_pcm16(
        &voiceperf::audio::riff::pcm16_to_bytes(&samples),
        8000,
        1,
    );
    std::fs::write(audio.join("q.wav"), wav).unwrap();
    voiceperf()
        .current_dir(root.path())
        .args(["run", "--no-prep", "--audio-dir", "bad_set", "-o", "out"])
        .args(SHORT)
        .assert()
        .code(1)
        .stderr(contains("not benchmark-ready"))
        .stderr(contains("q.wav"));
    let dir: PathBuf = root.path().join("out");
    assert!(!dir.join("summary.json").exists(), "bench must not run");
    assert!(!dir.join("agent.log").exists(), "no agent must start");
    let record: RunRecord = read_json(&dir.join("run.json")).unwrap();
    assert_eq!(record.outcome, RunOutcome::Failed);
    let last = record.steps.last().unwrap();
    assert_eq!(
        (last.name.as_str(), last.status.name()),
        ("validate", "failed")
    );
    assert!(!record.validate.unwrap().ok);
}

#[test]
fn run_usage_errors_exit_2_before_doing_anything() {
    let root = tempfile::tempdir().unwrap();
    for (args, message) in [
        (vec!["run", "--server-log", "bot.log"], "--server-log"),
        (vec!["run", "--host", "10.1.2.3"], "--host"),
        (vec!["run", "--clients", "0"], "--clients"),
        (vec!["run", "--no-prep", "--raw-dir", "x"], "--raw-dir"),
    ] {
        voiceperf()
            .current_dir(root.path())
            .args(&args)
            .assert()
            .code(2)
            .stderr(contains(message));
    }
    assert!(names(root.path()).is_empty(), "nothing written");
}
