//! Failing fast: a URL nothing can connect to ends bench within seconds, with one line naming
//! the URL and the cause and exit status 1, instead of retrying for the whole metrics window.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use support::bench::Fixture;

/// Runs bench against `url` with a 60 s window; returns (exit code, stderr, seconds taken).
fn bench(fx: &Fixture, url: &str) -> (Option<i32>, String, f64) {
    let started = Instant::now();
    let output = Command::cargo_bin("voiceperf")
        .unwrap()
        .args(["bench", "--url", url, "--audio-dir"])
        .arg(&fx.audio_dir)
        .arg("--output-dir")
        .arg(&fx.out)
        .args(["--clients", "2", "--test-duration", "60s", "--quiet"])
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(90))
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        started.elapsed().as_secs_f64(),
    )
}

fn error_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.starts_with("error")).collect()
}

#[test]
fn nothing_listening_stops_bench_in_seconds_with_one_line() {
    let fx = Fixture::new(&[(0.5, 0.1)]);
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (code, stderr, secs) = bench(&fx, &format!("ws://127.0.0.1:{port}/ws"));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(secs < 20.0, "took {secs:.1} s: {stderr}");
    let errors = error_lines(&stderr);
    assert_eq!(errors.len(), 1, "{stderr}");
    let line = errors[0];
    assert!(
        line.starts_with(&format!(
            "error: cannot connect to ws://127.0.0.1:{port}/ws/client_"
        )),
        "{line}"
    );
    assert!(line.contains("connection refused"), "{line}");
}

#[test]
fn an_upgrade_refused_with_401_names_the_status_and_the_way_out() {
    let fx = Fixture::new(&[(0.5, 0.1)]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let _ = stream.write_all(
                b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    let (code, stderr, secs) = bench(&fx, &format!("ws://127.0.0.1:{port}/ws?token=abc123"));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(secs < 20.0, "took {secs:.1} s: {stderr}");
    let errors = error_lines(&stderr);
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("HTTP 401"), "{}", errors[0]);
    assert!(errors[0].contains("-H 'Authorization"), "{}", errors[0]);
    assert!(errors[0].contains("token=***"), "{}", errors[0]);
    assert!(!stderr.contains("abc123"), "{stderr}");
}
