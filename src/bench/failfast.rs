//! Failing fast on a URL that cannot work: when the first connection attempts of a run all
//! fail the same way (refused, unknown host, TLS, an HTTP status at the upgrade, timeout) and
//! none has succeeded, retrying for the whole metrics window only hides the cause. The watch
//! stops the run and keeps one line naming the URL and the cause.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::bench::stop::Stop;

/// Why one connection attempt failed, by cause: attempts that fail "the same way" have equal
/// causes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureCause {
    /// Nothing listens at the address (TCP connection refused).
    Refused,
    /// The host name does not resolve.
    Dns,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// The server answered the upgrade request with this HTTP status instead of 101.
    HttpStatus(u16),
    /// No handshake within `--connect-timeout`.
    Timeout,
    /// Anything else (reset, protocol error, bad URL…).
    Other,
}

impl FailureCause {
    /// The cause in a few words, for the one-line verdict.
    pub fn describe(&self) -> String {
        match self {
            FailureCause::Refused => "connection refused (is the agent running on that port?)".into(),
            FailureCause::Dns => "the host name does not resolve".into(),
            FailureCause::Tls => {
                "TLS handshake failed (for a self-signed or private CA: --ca-cert FILE, or --insecure to skip verification)".into()
            }
            FailureCause::HttpStatus(401 | 403) => "the server refused the upgrade as unauthorised (send credentials with -H 'Authorization: …')".into(),
            FailureCause::HttpStatus(404) => "no WebSocket endpoint at that path (HTTP 404; check the path of --url)".into(),
            FailureCause::HttpStatus(code) => format!("the server answered the upgrade with HTTP {code}"),
            FailureCause::Timeout => "no WebSocket handshake within --connect-timeout".into(),
            FailureCause::Other => "the connection failed".into(),
        }
    }
}

/// One failed attempt: its cause and what happened, secrets removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectFailure {
    /// The cause.
    pub cause: FailureCause,
    /// The URL tried, redacted.
    pub url: String,
    /// What happened, in the library's words (header values removed).
    pub detail: String,
}

impl ConnectFailure {
    /// `<url>: <detail>`: the line recorded for the attempt.
    pub fn message(&self) -> String {
        format!("{}: {}", self.url, self.detail)
    }
}

/// This many failed attempts, all alike and none succeeded, end the run…
pub const FAIL_FAST_ATTEMPTS: usize = 3;
/// …as does a first failure this long after the first attempt started (a slow failure, such
/// as a handshake timeout, is not waited out three times).
pub const FAIL_FAST_AFTER: Duration = Duration::from_secs(5);

/// Watches the connection attempts of one run until the first success.
#[derive(Debug)]
pub struct FailFast {
    stop: Stop,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// A connection succeeded, or two attempts failed differently: the watch is over.
    disarmed: bool,
    first_started: Option<Instant>,
    first: Option<ConnectFailure>,
    failures: usize,
    verdict: Option<String>,
}

impl FailFast {
    /// A watch that fires `stop` when it gives its verdict.
    pub fn new(stop: Stop) -> Self {
        FailFast {
            stop,
            state: Mutex::new(State::default()),
        }
    }

    /// Records one attempt that started at `started` and ended now, failed with `failure`
    /// or succeeded (`None`).
    pub fn attempt(&self, started: Instant, failure: Option<&ConnectFailure>) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if state.disarmed || state.verdict.is_some() {
            return;
        }
        let first_started = *state.first_started.get_or_insert(started);
        let first_started = first_started.min(started);
        state.first_started = Some(first_started);
        let Some(failure) = failure else {
            state.disarmed = true;
            return;
        };
        match &state.first {
            Some(first) if first.cause != failure.cause => {
                state.disarmed = true;
                return;
            }
            Some(_) => {}
            None => state.first = Some(failure.clone()),
        }
        state.failures += 1;
        let elapsed = first_started.elapsed();
        if state.failures >= FAIL_FAST_ATTEMPTS || elapsed >= FAIL_FAST_AFTER {
            let first = state.first.as_ref().unwrap_or(failure);
            state.verdict = Some(format!(
                "cannot connect to {}: {} — {}; every attempt of the first {:.1} s ({}) failed this way, so bench stopped",
                first.url,
                first.detail,
                first.cause.describe(),
                elapsed.as_secs_f64(),
                state.failures,
            ));
            drop(state);
            self.stop.stop();
        }
    }

    /// The one-line verdict, when the watch stopped the run.
    pub fn verdict(&self) -> Option<String> {
        self.state.lock().ok().and_then(|s| s.verdict.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(cause: FailureCause) -> ConnectFailure {
        ConnectFailure {
            cause,
            url: "ws://127.0.0.1:9/ws/client_1_1".into(),
            detail: "IO error: Connection refused (os error 111)".into(),
        }
    }

    #[test]
    fn three_alike_failures_stop_the_run_with_one_line() {
        let stop = Stop::new();
        let watch = FailFast::new(stop.clone());
        let now = Instant::now();
        watch.attempt(now, Some(&failure(FailureCause::Refused)));
        watch.attempt(now, Some(&failure(FailureCause::Refused)));
        assert!(watch.verdict().is_none() && !stop.is_stopped());
        watch.attempt(now, Some(&failure(FailureCause::Refused)));
        let verdict = watch.verdict().unwrap();
        assert!(stop.is_stopped());
        assert!(
            verdict.starts_with("cannot connect to ws://127.0.0.1:9/"),
            "{verdict}"
        );
        assert!(verdict.contains("connection refused"), "{verdict}");
        assert!(!verdict.contains('\n'));
    }

    #[test]
    fn a_success_or_a_different_failure_disarms() {
        let now = Instant::now();
        let watch = FailFast::new(Stop::new());
        watch.attempt(now, Some(&failure(FailureCause::Refused)));
        watch.attempt(now, None);
        for _ in 0..5 {
            watch.attempt(now, Some(&failure(FailureCause::Refused)));
        }
        assert!(watch.verdict().is_none());

        let watch = FailFast::new(Stop::new());
        watch.attempt(now, Some(&failure(FailureCause::Refused)));
        watch.attempt(now, Some(&failure(FailureCause::Timeout)));
        for _ in 0..5 {
            watch.attempt(now, Some(&failure(FailureCause::Refused)));
        }
        assert!(watch.verdict().is_none());
    }

    #[test]
    fn one_slow_failure_is_enough() {
        let watch = FailFast::new(Stop::new());
        let long_ago = Instant::now() - FAIL_FAST_AFTER - Duration::from_millis(1);
        watch.attempt(long_ago, Some(&failure(FailureCause::Timeout)));
        assert!(watch.verdict().unwrap().contains("--connect-timeout"));
    }
}
