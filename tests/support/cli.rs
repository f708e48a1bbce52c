//! Running the `voiceperf` binary: as a command whose output is checked, or as a background
//! process (the agent, a long bench) that is signalled and waited for.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use assert_cmd::cargo::CommandCargoExt;

/// The `voiceperf` binary, to run to completion (`.assert()`, `.output()` or [`run`]).
pub fn voiceperf() -> Command {
    Command::cargo_bin("voiceperf").unwrap()
}

/// The `voiceperf` binary, to spawn in the background.
pub fn voiceperf_process() -> std::process::Command {
    std::process::Command::cargo_bin("voiceperf").unwrap()
}

/// How a run of the binary ended and what it printed.
#[derive(Debug)]
pub struct Run {
    /// The exit status.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `command` to completion; its output must be UTF-8.
pub fn run(command: &mut Command) -> Run {
    let output = command.output().unwrap();
    Run {
        code: output
            .status
            .code()
            .expect("exited, not killed by a signal"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Runs `voiceperf prep ARGS` in `dir`, without colour.
pub fn prep(dir: &Path, args: &[&str]) -> Run {
    run(voiceperf()
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .arg("prep")
        .args(args))
}

/// A `voiceperf agent` process on a free port; killed if still running when dropped.
pub struct AgentProcess {
    pub child: Child,
    /// The first line it printed (`listening on ws://…\n`).
    pub listening: String,
}

impl AgentProcess {
    /// Starts `voiceperf agent --port 0 ARGS --log LOG` and waits for its listening line.
    pub fn start(args: &[&str], log: &Path) -> AgentProcess {
        let mut child = voiceperf_process()
            .args(["agent", "--port", "0"])
            .args(args)
            .arg("--log")
            .arg(log)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut listening = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut listening)
            .unwrap();
        AgentProcess { child, listening }
    }

    /// The URL it listens on.
    pub fn url(&self) -> &str {
        self.listening
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected agent output: {}", self.listening))
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends signal `name` (`TERM`, `INT`, …) to process `pid`.
pub fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for `child` to exit; kills it and fails if it is still running after `within`.
pub fn wait_exit(child: &mut Child, within: Duration) -> ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
