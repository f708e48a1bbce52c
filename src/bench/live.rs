//! The live progress line on stderr — elapsed/remaining, active users, turns, current
//! p50/p95, reverse barge-ins, glitches, errors — drawn only on a terminal (see
//! [`crate::term`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::stats;

/// Counters the users update as the run goes.
#[derive(Debug, Default)]
pub struct LiveStats {
    /// Users currently running.
    pub active_users: AtomicUsize,
    /// In-window turns finished.
    pub turns: AtomicUsize,
    /// Glitches in those turns.
    pub glitches: AtomicUsize,
    /// Reverse barge-ins in those turns.
    pub reverse_barge_ins: AtomicUsize,
    /// Errors so far.
    pub errors: AtomicUsize,
    /// Latencies of replied in-window turns (s).
    pub latencies: Mutex<Vec<f64>>,
}

impl LiveStats {
    /// One line describing the run now.
    pub fn line(&self, users: usize, elapsed: Duration, total: Duration) -> String {
        let (p50, p95) = match self.latencies.lock() {
            Ok(latencies) => {
                let sorted = stats::sorted_finite(&latencies);
                (
                    stats::percentile_sorted(&sorted, 50.0),
                    stats::percentile_sorted(&sorted, 95.0),
                )
            }
            Err(_) => (None, None),
        };
        let secs = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.3}"));
        format!(
            "{:.0} s, {:.0} s left · users {}/{} · turns {} · p50 {} p95 {} · reverse barge-ins {} · glitches {} · errors {}",
            elapsed.as_secs_f64(),
            total.saturating_sub(elapsed).as_secs_f64(),
            self.active_users.load(Ordering::Relaxed),
            users,
            self.turns.load(Ordering::Relaxed),
            secs(p50),
            secs(p95),
            self.reverse_barge_ins.load(Ordering::Relaxed),
            self.glitches.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        )
    }
}

/// The live line of a running level; clears itself when finished.
pub struct LiveLine {
    bar: ProgressBar,
    task: tokio::task::JoinHandle<()>,
}

impl LiveLine {
    /// Starts redrawing every 250 ms for a run of `users` expected to last `total` from
    /// `start` (hidden off a terminal or when `quiet`).
    pub fn start(
        stats: Arc<LiveStats>,
        users: usize,
        start: Instant,
        total: Duration,
        quiet: bool,
    ) -> Self {
        let bar = crate::term::progress_bar(total.as_secs().max(1), quiet);
        if let Ok(style) = ProgressStyle::with_template("{spinner} {wide_msg}") {
            bar.set_style(style);
        }
        let drawn = bar.clone();
        let task = tokio::spawn(async move {
            if drawn.is_hidden() {
                return;
            }
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            // A late redraw is simply skipped: the line shows the present, not a backlog.
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tick.tick().await;
                let elapsed = start.elapsed();
                drawn.set_position(elapsed.as_secs());
                drawn.set_message(stats.line(users, elapsed, total));
                drawn.tick();
            }
        });
        LiveLine { bar, task }
    }

    /// Stops and clears the line.
    pub fn finish(self) {
        self.task.abort();
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shows_progress_and_percentiles() {
        let stats = LiveStats::default();
        stats.active_users.store(3, Ordering::Relaxed);
        stats.turns.store(2, Ordering::Relaxed);
        stats.latencies.lock().unwrap().extend([0.5, 1.5]);
        let line = stats.line(4, Duration::from_secs(10), Duration::from_secs(30));
        assert!(line.starts_with("10 s, 20 s left"), "{line}");
        assert!(line.contains("users 3/4"), "{line}");
        assert!(line.contains("p50 1.000 p95 1.450"), "{line}");
        assert!(line.contains("errors 0"), "{line}");
    }
}
