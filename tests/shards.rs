//! One run split into shards: 4 `voiceperf bench --shard I/4` processes against one built-in
//! agent (port 0), merged by `voiceperf merge`, compared with the same users run as one
//! process; `report`, `analyze --run` and the CI gates on the merged folder; the refusals of
//! shards that are not one run; a shard started too late.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use support::bench::Fixture;
use support::json;
use voiceperf::Outcome;
use voiceperf::agent::{self, AgentHandle};
use voiceperf::bench::shard::ShardSpec;
use voiceperf::bench::{BenchOptions, Stop, bench};
use voiceperf::merge::{MergeOptions, merge};
use voiceperf::runfolder::results::RunSummary;
use voiceperf::runfolder::{SUMMARY_FILE, read_json};

const BIN: &str = env!("CARGO_BIN_EXE_voiceperf");

/// An agent on port 0 in a runtime of its own, while the binaries run in the foreground.
struct Agent {
    runtime: tokio::runtime::Runtime,
    handle: Option<AgentHandle>,
}

impl Agent {
    fn start(fx: &Fixture) -> Agent {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let handle = runtime.block_on(agent::start(fx.agent_options())).unwrap();
        Agent {
            runtime,
            handle: Some(handle),
        }
    }

    fn url(&self) -> String {
        format!(
            "ws://{}/ws/{{stream_id}}",
            self.handle.as_ref().unwrap().local_addr()
        )
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            let _ = self.runtime.block_on(handle.shutdown());
        }
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// `voiceperf bench` against `url` with this test's timing: 8 users 0.25 s apart, a 5 s
/// window, short gaps; `extra` adds flags.
fn bench_cmd(fx: &Fixture, url: &str, out: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["bench", "--url", url, "--audio-dir"])
        .arg(&fx.audio_dir)
        .arg("--output-dir")
        .arg(out)
        .args([
            "--clients",
            "8",
            "--client-start-delay",
            "0.25",
            "--test-duration",
            "5",
            "--reply-gap",
            "0.5",
            "--greeting-timeout",
            "0.2",
            "--reply-timeout",
            "3",
            "--agent-log",
        ])
        .arg(&fx.agent_log)
        .arg("-q")
        .args(extra)
        .env("NO_COLOR", "1");
    cmd
}

fn said(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn summary(dir: &Path) -> RunSummary {
    read_json(&dir.join(SUMMARY_FILE)).unwrap()
}

/// In-window turns whose start is within 50 ms of a window edge: the only ones two runs of
/// the same users may count differently (the edge falls between their scheduled starts).
fn edge_turns(dir: &Path) -> usize {
    let s = summary(dir);
    let (start, end) = (s.run.metrics_start_at, s.run.metrics_end_at);
    voiceperf::runfolder::read_client_files(dir)
        .unwrap()
        .clients
        .iter()
        .flat_map(|c| c.turns.iter())
        .filter(|t| {
            (t.scheduled_start_at - start).abs() < 0.05 || (t.scheduled_start_at - end).abs() < 0.05
        })
        .count()
}

#[test]
fn four_shards_merged_match_the_same_users_in_one_process() {
    let fx = Fixture::new(&[(1.0, 0.0)]);
    let agent = Agent::start(&fx);
    let url = agent.url();
    let run = fx.root.path().join("run");

    // Four shard processes, started together on one shared start a few seconds ahead.
    let start_at = format!("{:.3}", unix_now() + 4.0);
    let shards: Vec<PathBuf> = (0..4).map(|i| run.join(format!("shard-{i}"))).collect();
    let children: Vec<_> = shards
        .iter()
        .enumerate()
        .map(|(i, dir)| {
            let shard = format!("{i}/4");
            bench_cmd(
                &fx,
                &url,
                dir,
                &["--shard", &shard, "--start-at", &start_at],
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", said(&out));
    }
    let s1 = summary(&shards[1]);
    let info = s1.shard.as_ref().expect("a shard's summary says so");
    assert_eq!((info.index, info.count, info.users), (1, 4, 2));
    assert_eq!(s1.config.num_clients, 8, "--clients is the whole run's");
    assert!(info.clock.ok, "{:?}", info.clock);
    assert!(
        info.clock.lead_s > 0.5,
        "the shard was ready before the start"
    );
    // Users 2 and 6 (every 4th from 2), with the stream ids the whole run would have.
    let users: Vec<usize> = s1.clients.iter().map(|c| c.user).collect();
    assert_eq!(users, vec![2, 6]);
    assert!(
        s1.clients
            .iter()
            .all(|c| c.stream_id.starts_with(&format!("client_{}_", c.user)))
    );
    // One shared window, opening when the run's last user (8) starts: 7 × 0.25 s after.
    let start: f64 = start_at.parse().unwrap();
    for dir in &shards {
        let s = summary(dir);
        assert!((s.run.started_at - start).abs() < 1e-3);
        assert!((s.run.metrics_start_at - (start + 1.75)).abs() < 1e-3);
        assert_eq!(s.shard.as_ref().unwrap().run_id, info.run_id);
    }

    let merged = run.join("merged");
    let out = Command::new(BIN)
        .arg("merge")
        .args(&shards)
        .arg("-o")
        .arg(&merged)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", said(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("merged from 4 shard(s)"), "{stdout}");
    assert!(
        stdout.contains("shard host"),
        "the per-shard table: {stdout}"
    );
    let m = summary(&merged);
    assert_eq!(m.run.users, 8);
    assert_eq!(m.results.total_clients, 8);
    assert_eq!(m.shards.len(), 4);
    assert!(m.shard.is_none() && m.run.complete);
    let by_shard: usize = shards
        .iter()
        .map(|d| summary(d).results.turns.in_window)
        .sum();
    assert_eq!(m.results.turns.in_window, by_shard, "turns are summed");
    let shard_errors: usize = shards.iter().map(|d| summary(d).errors.total).sum();
    assert_eq!(m.errors.total, shard_errors);
    let worst = m
        .shards
        .iter()
        .filter_map(|s| s.self_check.send_lateness_ms.as_ref().map(|l| l.p99))
        .fold(0.0, f64::max);
    assert_eq!(
        m.self_check.send_lateness_ms.as_ref().unwrap().p99,
        worst,
        "the worst shard's self-check is the run's"
    );
    // Percentiles recomputed from every turn, not averaged: the merged p50 is the p50 of
    // the union of the shards' latencies.
    let mut all: Vec<f64> = voiceperf::runfolder::read_client_files(&merged)
        .unwrap()
        .clients
        .iter()
        .flat_map(|c| c.individual_latencies.clone())
        .collect();
    all.sort_by(f64::total_cmp);
    let p50 = voiceperf::stats::percentile_sorted(&all, 50.0).unwrap();
    assert!((m.results.latency.as_ref().unwrap().p50 - p50).abs() < 1e-6);
    let matched: usize = shards
        .iter()
        .map(|d| summary(d).agent_agreement.unwrap().matched_turns)
        .sum();
    assert_eq!(m.agent_agreement.as_ref().unwrap().matched_turns, matched);

    // The same 8 users as one process.
    let single = run.join("single");
    let out = bench_cmd(&fx, &url, &single, &[]).output().unwrap();
    assert!(out.status.success(), "{}", said(&out));
    let one = summary(&single);
    let (lm, lo) = (
        m.results.latency.as_ref().unwrap(),
        one.results.latency.as_ref().unwrap(),
    );
    let edges = edge_turns(&merged) + edge_turns(&single);
    assert!(
        lm.count.abs_diff(lo.count) <= edges,
        "turns: merged {} vs one process {} ({edges} at a window edge)",
        lm.count,
        lo.count
    );
    if edges == 0 {
        assert_eq!(lm.count, lo.count);
    }
    assert_eq!(m.results.total_clients, one.results.total_clients);
    // Within run-to-run noise (the agent's delays are fixed; generous bounds).
    assert!(
        (lm.p50 - lo.p50).abs() < 0.1,
        "p50 {} vs {}",
        lm.p50,
        lo.p50
    );
    assert!(
        (lm.p95 - lo.p95).abs() < 0.2,
        "p95 {} vs {}",
        lm.p95,
        lo.p95
    );

    // report, analyze --run and the gates work on the merged folder as on one run.
    let out = Command::new(BIN)
        .args(["report"])
        .arg(&merged)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", said(&out));
    let html = std::fs::read_to_string(merged.join("report.html")).unwrap();
    assert!(html.contains(r#"<section id="shards">"#));
    assert!(html.contains(r#"<section id="load">"#));
    let md = std::fs::read_to_string(merged.join("summary.md")).unwrap();
    assert!(md.contains("| shard | host |"), "{md}");
    let out = Command::new(BIN)
        .arg("analyze")
        .arg(&fx.agent_log)
        .arg("--run")
        .arg(&merged)
        .arg("--export-json")
        .arg(merged.join("analysis.json"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", said(&out));
    let counts = &json(&merged.join("analysis.json"))["join"]["counts"];
    assert_eq!(counts["connections"], 8, "{counts}");
    assert_eq!(counts["connections_in_log"], 8, "{counts}");
    assert_eq!(counts["with_latency"], lm.count, "{counts}");
    assert!(
        counts["with_truth_line"].as_u64() >= Some(lm.count as u64),
        "{counts}"
    );
    let gated = run.join("gated");
    let out = Command::new(BIN)
        .arg("merge")
        .args(&shards)
        .args(["--fail-p95", "0.001", "--min-turns", "1", "-o"])
        .arg(&gated)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", said(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--fail-p95"));
}

/// Two 1-user shards of a tiny run, made in-process; returns their folders.
async fn two_shards(fx: &Fixture, agent: &AgentHandle, name: &str, start_at: f64) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let mut runs = Vec::new();
    for index in 0..2 {
        let dir = fx.root.path().join(name).join(format!("shard-{index}"));
        let options = BenchOptions {
            clients: vec![2],
            test_duration: Duration::from_secs(1),
            shard: Some(ShardSpec { index, count: 2 }),
            start_at: Some(start_at),
            output_dir: Some(dir.clone()),
            agent_log: None,
            ..fx.bench_options(agent)
        };
        dirs.push(dir);
        runs.push(async move { bench(&options, &Stop::new()).await });
    }
    let (a, b) = tokio::join!(runs.remove(0), runs.remove(0));
    for run in [a, b] {
        assert_eq!(run.unwrap().outcome, Outcome::Success);
    }
    dirs
}

fn merge_into(
    shards: &[PathBuf],
    out: &Path,
    partial: bool,
) -> anyhow::Result<voiceperf::merge::Merged> {
    merge(&MergeOptions {
        shards: shards.to_vec(),
        output: out.to_path_buf(),
        partial,
        ..MergeOptions::default()
    })
}

fn refusal(shards: &[PathBuf], out: &Path) -> String {
    match merge_into(shards, out, false) {
        Ok(_) => panic!("merged shards that are not one run: {shards:?}"),
        Err(e) => format!("{e:#}"),
    }
}

fn edit_summary(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join(SUMMARY_FILE);
    let mut value = json(&path);
    edit(&mut value);
    std::fs::write(&path, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_that_are_not_one_run_are_refused() {
    let fx = Fixture::new(&[(0.5, 0.0)]);
    let agent = agent::start(fx.agent_options()).await.unwrap();
    let start = unix_now() + 1.5;
    let one = two_shards(&fx, &agent, "one", start).await;
    let other = two_shards(&fx, &agent, "other", unix_now() + 1.5).await;
    agent.shutdown().await.unwrap();
    let out = |name: &str| fx.root.path().join("merged").join(name);

    // The two shards of one run merge.
    let merged = merge_into(&one, &out("ok"), false).unwrap();
    assert_eq!(merged.outcome, Outcome::Success, "{:?}", merged.problems);
    assert_eq!(merged.summary.run.users, 2);
    // Into a folder that holds files: no.
    let e = refusal(&one, &out("ok"));
    assert!(e.contains("already holds files"), "{e}");

    // Another run's shard (another start).
    let e = refusal(&[one[0].clone(), other[1].clone()], &out("mixed"));
    assert!(
        e.contains("not shards of one run") && e.contains("--start-at"),
        "{e}"
    );

    // The same run id but a configuration changed since: named field by field.
    let edited = fx.root.path().join("edited");
    copy_dir(&one[1], &edited);
    edit_summary(&edited, |v| v["config"]["threshold"] = 0.9.into());
    let e = refusal(&[one[0].clone(), edited.clone()], &out("config"));
    assert!(e.contains("config threshold: 0.5 vs 0.9"), "{e}");

    // A window that does not line up.
    let shifted = fx.root.path().join("shifted");
    copy_dir(&one[1], &shifted);
    edit_summary(&shifted, |v| {
        let at = v["run"]["metrics_start_at"].as_f64().unwrap();
        v["run"]["metrics_start_at"] = (at + 0.5).into();
    });
    let e = refusal(&[one[0].clone(), shifted], &out("window"));
    assert!(e.contains("metrics windows 0.500 s apart"), "{e}");

    // A shard given twice, and one missing.
    let e = refusal(&[one[0].clone(), one[0].clone()], &out("twice"));
    assert!(e.contains("shard 0/2 is given 2 times"), "{e}");
    let e = refusal(&one[..1], &out("missing"));
    assert!(
        e.contains("shard(s) 1 of 2 missing") && e.contains("--partial"),
        "{e}"
    );
    // … which --partial merges, marked incomplete and failing.
    let partial = merge_into(&one[..1], &out("partial"), true).unwrap();
    assert_eq!(partial.outcome, Outcome::Failed);
    assert!(!partial.summary.run.complete);

    // A shard that did not finish.
    let unfinished = fx.root.path().join("unfinished");
    copy_dir(&one[1], &unfinished);
    edit_summary(&unfinished, |v| v["run"]["complete"] = false.into());
    let e = refusal(&[one[0].clone(), unfinished], &out("unfinished"));
    assert!(e.contains("did not finish"), "{e}");

    // A stream in two shards.
    let doubled = fx.root.path().join("doubled");
    copy_dir(&one[1], &doubled);
    for entry in std::fs::read_dir(&one[0]).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("latency_results_") {
            std::fs::copy(&path, doubled.join(&name)).unwrap();
        }
    }
    let e = refusal(&[one[0].clone(), doubled], &out("doubled"));
    assert!(e.contains("is in both"), "{e}");

    // A whole run is not a shard.
    let whole = merged.dir.clone();
    let e = refusal(&[one[0].clone(), whole], &out("whole"));
    assert!(e.contains("a whole run, not a shard"), "{e}");
}

#[test]
fn a_shard_started_after_its_first_user_was_due_refuses_to_run() {
    let fx = Fixture::new(&[(0.5, 0.0)]);
    let late = format!("{:.0}", unix_now() - 10.0);
    let out = bench_cmd(
        &fx,
        "ws://127.0.0.1:9/ws/{stream_id}",
        &fx.out,
        &["--shard", "0/2", "--start-at", &late],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("shard 0/2 started") && stderr.contains("later --start-at"),
        "{stderr}"
    );

    // --shard needs --start-at; auto/N needs JOB_COMPLETION_INDEX below N.
    let out = bench_cmd(
        &fx,
        "ws://127.0.0.1:9/ws/{stream_id}",
        &fx.out,
        &["--shard", "1/2"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --start-at"));
    let ahead = format!("{:.0}", unix_now() + 3600.0);
    for (index, expected) in [
        (None, "JOB_COMPLETION_INDEX, which is not set"),
        (Some("5"), "not below the shard count"),
    ] {
        let mut cmd = bench_cmd(
            &fx,
            "ws://127.0.0.1:9/ws/{stream_id}",
            &fx.out,
            &["--shard", "auto/4", "--start-at", &ahead],
        );
        cmd.env_remove("JOB_COMPLETION_INDEX");
        if let Some(index) = index {
            cmd.env("JOB_COMPLETION_INDEX", index);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", said(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(expected),
            "{}",
            said(&out)
        );
    }
}
