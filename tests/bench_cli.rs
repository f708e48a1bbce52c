//! The `voiceperf bench` binary: flags, exit statuses, console output, the sweep, SIGINT.

mod support;

use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;
use support::bench::Fixture;
use support::cli::{signal, voiceperf, voiceperf_process, wait_exit};
use support::json;
use voiceperf::agent::{self, AgentHandle};

/// A multi-thread runtime hosting an agent while the binary runs in the foreground.
struct Agent {
    runtime: tokio::runtime::Runtime,
    handle: Option<AgentHandle>,
}

impl Agent {
    fn start(fx: &Fixture) -> Agent {
        Agent::start_with(fx.agent_options())
    }

    fn start_with(options: agent::AgentOptions) -> Agent {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let handle = runtime.block_on(agent::start(options)).unwrap();
        Agent {
            runtime,
            handle: Some(handle),
        }
    }

    fn port(&self) -> String {
        self.handle
            .as_ref()
            .unwrap()
            .local_addr()
            .port()
            .to_string()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            let _ = self.runtime.block_on(handle.shutdown());
        }
    }
}

fn bench_cmd(fx: &Fixture, port: &str) -> Command {
    let mut cmd = voiceperf();
    cmd.args(["bench", "--port", port, "--audio-dir"])
        .arg(&fx.audio_dir)
        .arg("--output-dir")
        .arg(&fx.out)
        .args([
            "--client-start-delay",
            "0.2",
            "--reply-gap",
            "0.5",
            "--greeting-timeout",
            "0.2",
            "--reply-timeout",
            "3",
        ])
        .env("NO_COLOR", "1");
    cmd
}

#[test]
fn bad_flags_are_usage_errors() {
    let fx = Fixture::new(&[(0.5, 0.0)]);
    for args in [
        vec!["--clients", "0"],
        vec!["--chunk-ms", "5"],
        vec!["--test-duration=-1"],
        vec!["--max-error-rate", "2"],
        vec!["--url", "http://example.com/ws"],
    ] {
        bench_cmd(&fx, "1")
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(args[0].split('=').next().unwrap()));
    }
    bench_cmd(&fx, "1")
        .args(["--url", "ws://127.0.0.1:1/ws"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
}

#[test]
fn bad_telephony_flags_are_usage_errors() {
    let fx = Fixture::new(&[(0.5, 0.0)]);
    for (args, says) in [
        (vec!["--protocol", "fax"], "--protocol"),
        (
            vec!["--protocol", "twilio", "--chunk-ms", "32"],
            "--chunk-ms 32",
        ),
        (
            vec!["--custom-param", "a=b"],
            "--custom-param needs a telephony",
        ),
        (
            vec!["--protocol", "twilio", "--custom-param", "novalue"],
            "KEY=VALUE",
        ),
        (
            vec!["--protocol", "twilio", "--telnyx-encoding", "PCMA"],
            "--telnyx-encoding PCMA needs --protocol telnyx",
        ),
    ] {
        bench_cmd(&fx, "1")
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
}

/// `--protocol twilio` against the agent answering as a Twilio bot at `/ws`: the stream id is
/// not appended to the URL, and the summary says which protocol was spoken.
#[test]
fn a_twilio_run_says_its_protocol() {
    let fx = Fixture::new(&[(0.6, 0.0)]);
    let agent = Agent::start_with(agent::AgentOptions {
        protocol: voiceperf::protocol::Protocol::Telephony(
            voiceperf::protocol::telephony::Provider::Twilio,
        ),
        ..fx.agent_options()
    });
    let url = format!("ws://127.0.0.1:{}/ws", agent.port());
    let out = fx.root.path().join("twilio-run");
    voiceperf()
        .args([
            "bench",
            "--protocol",
            "twilio",
            "--url",
            &url,
            "--audio-dir",
        ])
        .arg(&fx.audio_dir)
        .arg("--output-dir")
        .arg(&out)
        .args([
            "--clients",
            "1",
            "--test-duration",
            "3",
            "--greeting-timeout",
            "0.2",
            "--reply-gap",
            "0.5",
            "--custom-param",
            "from_number=+15550001111",
        ])
        .env("NO_COLOR", "1")
        .assert()
        .success()
        .stdout(predicate::str::contains("twilio protocol"));
    let summary = json(&out.join("summary.json"));
    assert_eq!(summary["config"]["protocol"], "twilio");
    assert_eq!(summary["config"]["chunk_ms"], 20);
    assert_eq!(summary["config"]["url"], url);
    assert!(summary["results"]["turns"]["replied"].as_u64().unwrap() >= 1);
}

#[test]
fn missing_dataset_is_a_clear_error() {
    let fx = Fixture::new(&[(0.5, 0.0)]);
    voiceperf()
        .args(["bench", "--port", "1", "--audio-dir"])
        .arg(fx.root.path().join("nothing-here"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("does not exist"));
}

#[test]
fn run_prints_the_summary_and_fails_the_p95_gate() {
    let fx = Fixture::new(&[(0.8, 0.0)]);
    let agent = Agent::start(&fx);
    let output = bench_cmd(&fx, &agent.port())
        .args([
            "--clients",
            "2",
            "--test-duration",
            "2",
            "--fail-p95",
            "0.05",
            "--min-turns",
            "1",
        ])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("--fail-p95"))
        .get_output()
        .stdout
        .clone();
    let stdout = String::from_utf8(output).unwrap();
    assert!(stdout.contains("latency = first bot audio"), "{stdout}");
    assert!(stdout.contains("self-check: send lateness"), "{stdout}");
    assert!(stdout.contains(&format!("results: {}", fx.out.display())));
    assert!(!stdout.contains('\u{1b}'), "colour with NO_COLOR");
    let summary = json(&fx.out.join("summary.json"));
    assert_eq!(summary["config"]["num_clients"], 2);
    assert!(summary["results"]["latency"]["p95"].as_f64().unwrap() > 0.05);
}

#[test]
fn a_sweep_runs_each_level_and_finds_the_slo() {
    let fx = Fixture::new(&[(0.6, 0.0)]);
    let agent = Agent::start(&fx);
    let stdout = bench_cmd(&fx, &agent.port())
        .args([
            "--clients",
            "1,2",
            "--test-duration",
            "1.5",
            "--slo-p95",
            "30",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let stdout = String::from_utf8(stdout).unwrap();
    assert!(stdout.contains("latency vs concurrent users"), "{stdout}");
    assert!(
        stdout.contains("highest level meeting p95 ≤ 30 s: 2 users"),
        "{stdout}"
    );
    let sweep = json(&fx.out.join("sweep.json"));
    let levels = sweep["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 2);
    assert_eq!(levels[1]["clients"], 2);
    assert_eq!(sweep["max_clients_meeting_slo"], 2);
    for dir in ["clients_1", "clients_2"] {
        let summary = json(&fx.out.join(dir).join("summary.json"));
        assert!(summary["results"]["latency"]["count"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn an_existing_results_folder_is_never_overwritten() {
    let fx = Fixture::new(&[(0.6, 0.0)]);
    std::fs::create_dir_all(&fx.out).unwrap();
    std::fs::write(fx.out.join("summary.json"), b"keep me").unwrap();
    let agent = Agent::start(&fx);
    bench_cmd(&fx, &agent.port())
        .args(["--test-duration", "1", "-q"])
        .assert()
        .success()
        .stderr(predicate::str::contains("already holds files"));
    assert_eq!(
        std::fs::read(fx.out.join("summary.json")).unwrap(),
        b"keep me"
    );
    let fresh = fx.out.with_file_name("run-2");
    assert!(fresh.join("summary.json").exists());
}

#[test]
fn sigint_stops_the_run_and_writes_what_was_measured() {
    signal_stops_the_run("INT");
}

/// Issue 15, item 10: SIGTERM (what `docker stop`, systemd and `timeout` send) ends bench as
/// SIGINT does.
#[test]
fn sigterm_stops_the_run_like_sigint() {
    signal_stops_the_run("TERM");
}

fn signal_stops_the_run(name: &str) {
    let fx = Fixture::new(&[(0.6, 0.0)]);
    let agent = Agent::start(&fx);
    let mut child = voiceperf_process()
        .args(["bench", "--port", &agent.port(), "--audio-dir"])
        .arg(&fx.audio_dir)
        .arg("--output-dir")
        .arg(&fx.out)
        .args([
            "--test-duration",
            "120",
            "--reply-gap",
            "0.5",
            "--greeting-timeout",
            "0.2",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    signal(child.id(), name);
    // Within 15 s, or bench ignored the signal.
    let status = wait_exit(&mut child, Duration::from_secs(15));
    assert_eq!(status.code(), Some(1));
    let summary = json(&fx.out.join("summary.json"));
    assert_eq!(summary["run"]["stopped_early"], true);
    assert!(summary["results"]["latency"]["count"].as_u64().unwrap() >= 1);
}

#[test]
fn a_gate_over_too_few_turns_fails_and_percentiles_carry_intervals() {
    let fx = Fixture::new(&[(0.6, 0.0)]);
    let agent = Agent::start(&fx);
    // A generous limit the run would meet: it still fails, as not evaluated, because a 2 s run
    // of 2 users has far fewer than the default 20 turns.
    let output = bench_cmd(&fx, &agent.port())
        .args(["--clients", "2", "--test-duration", "2", "--fail-p95", "30"])
        .assert()
        .code(3)
        .get_output()
        .clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let summary = json(&fx.out.join("summary.json"));
    let turns = summary["results"]["latency"]["count"].as_u64().unwrap();
    assert!((1..20).contains(&turns), "{turns} turns");
    let expected = format!(
        "gate --fail-p95 not evaluated: {turns} turns < --min-turns 20 (run longer or with more users, or lower --min-turns)"
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert_eq!(summary["config"]["min_turns"], 20);

    // Every percentile carries a bootstrap interval holding its estimate; the thin tail is
    // marked in the console table with its legend.
    let ci = &summary["results"]["latency_ci"];
    assert_eq!(ci["count"].as_u64().unwrap(), turns);
    for name in ["p50", "p90", "p95", "p99"] {
        let value = summary["results"]["latency"][name].as_f64().unwrap();
        if turns >= 2 {
            let (low, high) = (
                ci[name]["low"].as_f64().unwrap(),
                ci[name]["high"].as_f64().unwrap(),
            );
            assert!(
                low - 1e-6 <= value && value <= high + 1e-6,
                "{name} {value} not in [{low}, {high}]"
            );
        }
    }
    let unsupported: Vec<&str> = ci["unsupported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(unsupported.contains(&"p95") && unsupported.contains(&"p99"));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let p99 = summary["results"]["latency"]["p99"].as_f64().unwrap();
    assert!(stdout.contains(&format!("{p99:.3}*")), "{stdout}");
    assert!(stdout.contains("* too few turns support"), "{stdout}");

    // The self-check states its error bound, and trusts the run exactly when the bound is
    // within its tolerance of at least 5 ms.
    let sc = &summary["self_check"];
    let bound = sc["error_bound_ms"].as_f64().unwrap();
    let limit = sc["limit_ms"].as_f64().unwrap();
    assert!(limit >= 5.0, "{limit}");
    assert_eq!(sc["trustworthy"].as_bool().unwrap(), bound <= limit, "{sc}");
    assert!(stdout.contains("self-check: latency error ≤"), "{stdout}");

    // The same run with --min-turns 1 evaluates the gate, and 30 s passes.
    let fx = Fixture::new(&[(0.6, 0.0)]);
    bench_cmd(&fx, &agent.port())
        .args(["--clients", "2", "--test-duration", "2", "--fail-p95", "30"])
        .args(["--min-turns", "1"])
        .assert()
        .success();
}

/// Issue 15, item 6: a full disk (here every file write fails with EFBIG: the file-size limit
/// is 0 and SIGXFSZ is ignored) loses no summary: the table is printed on stdout, stderr names
/// every file that is missing, no temp file is left, and the exit status says it failed.
#[cfg(unix)]
#[test]
fn a_full_disk_still_prints_the_summary_and_names_the_missing_files() {
    use std::os::unix::process::CommandExt as _;
    let fx = Fixture::new(&[(0.6, 0.0)]);
    let agent = Agent::start(&fx);
    let mut command = voiceperf_process();
    command
        .env("NO_COLOR", "1")
        .args(["bench", "--port", &agent.port(), "--audio-dir"])
        .arg(&fx.audio_dir)
        .arg("--output-dir")
        .arg(&fx.out)
        .args([
            "--test-duration",
            "2",
            "--client-start-delay",
            "0.2",
            "--reply-gap",
            "0.5",
            "--greeting-timeout",
            "0.2",
            "-q",
        ]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    // The summary table, with its turns.
    assert!(
        stdout.contains("latency"),
        "no summary on stdout: {stdout:?}\n{stderr}"
    );
    assert!(stdout.contains("turns"), "{stdout}");
    for missing in ["summary.json", "turns.csv", "latency_results_client_"] {
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with("error: ") && l.contains(missing) && l.contains("missing")),
            "{missing} not named missing: {stderr}"
        );
    }
    let left = support::files_under(&fx.out);
    assert!(
        !left
            .iter()
            .any(|f| f.contains(voiceperf::fsutil::TEMP_PREFIX)),
        "temp files left: {left:?}"
    );
    assert!(!fx.out.join("summary.json").exists());
}

/// Issue 15, item 9: a password in the URL, a token in its query and a header value never
/// reach a file of the run (summary.json, the per-connection JSON, turns.csv, the settings,
/// and summary.md and report.html rendered from it) nor the console.
#[test]
fn secrets_reach_no_output_file_and_no_console() {
    const SECRETS: [&str; 3] = ["pw-s3cret-1", "tok-s3cret-2", "hdr-s3cret-3"];
    let fx = Fixture::new(&[(0.6, 0.0)]);
    let agent = Agent::start(&fx);
    let url = format!(
        "ws://alice:{}@127.0.0.1:{}/ws/{{stream_id}}?token={}&lang=en",
        SECRETS[0],
        agent.port(),
        SECRETS[1]
    );
    let bench = voiceperf()
        .env("NO_COLOR", "1")
        .args(["bench", "--url", &url, "--audio-dir"])
        .arg(&fx.audio_dir)
        .arg("--output-dir")
        .arg(&fx.out)
        .args(["-H", &format!("Authorization: Bearer {}", SECRETS[2])])
        .args([
            "--test-duration",
            "1.5",
            "--client-start-delay",
            "0.2",
            "--reply-gap",
            "0.5",
            "--greeting-timeout",
            "0.2",
        ])
        .output()
        .unwrap();
    let report = voiceperf()
        .env("NO_COLOR", "1")
        .arg("report")
        .arg(&fx.out)
        .output()
        .unwrap();
    let mut console = String::new();
    for output in [&bench, &report] {
        console.push_str(&String::from_utf8_lossy(&output.stdout));
        console.push_str(&String::from_utf8_lossy(&output.stderr));
    }
    let files = support::files_under(&fx.out);
    for wanted in ["summary.json", "turns.csv", "summary.md", "report.html"] {
        assert!(
            files.iter().any(|f| f.ends_with(wanted)),
            "{wanted} not written: {files:?}\n{console}"
        );
    }
    assert!(
        files.iter().any(|f| f.contains("latency_results_")),
        "{files:?}"
    );
    // The redacted URL is what is shown.
    let summary = std::fs::read_to_string(fx.out.join("summary.json")).unwrap();
    assert!(summary.contains("ws://***@127.0.0.1:"), "{summary}");
    for secret in SECRETS {
        assert!(
            !console.contains(secret),
            "{secret} on the console: {console}"
        );
        for file in &files {
            let bytes = std::fs::read(fx.out.join(file)).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(secret),
                "{secret} in {file}"
            );
        }
    }
}
