//! The live progress line on stderr — errors first, then elapsed/total, active users,
//! turns, current p50/p95, reverse barge-ins, glitches, within 80 columns — drawn only on a
//! terminal (see [`crate::term`]).

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

/// Widest the line may be: an 80-column terminal less the spinner and its space.
pub const LINE_WIDTH: usize = 78;

impl LiveStats {
    /// One line describing the run now, errors first (they say why nothing else moves),
    /// never wider than [`LINE_WIDTH`]: the least important fields are left off when the
    /// numbers grow.
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
        let fields = [
            format!("errors {}", self.errors.load(Ordering::Relaxed)),
            format!(
                "{:.0}/{:.0}s",
                elapsed.as_secs_f64().min(total.as_secs_f64()),
                total.as_secs_f64()
            ),
            format!(
                "users {}/{}",
                self.active_users.load(Ordering::Relaxed),
                users
            ),
            format!("turns {}", self.turns.load(Ordering::Relaxed)),
            format!("p50 {}", secs(p50)),
            format!("p95 {}", secs(p95)),
            format!("rbi {}", self.reverse_barge_ins.load(Ordering::Relaxed)),
            format!("glitches {}", self.glitches.load(Ordering::Relaxed)),
        ];
        let mut line = String::new();
        for field in fields {
            let sep = if line.is_empty() { "" } else { "  " };
            if line.chars().count() + sep.chars().count() + field.chars().count() > LINE_WIDTH {
                break;
            }
            line.push_str(sep);
            line.push_str(&field);
        }
        line
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
    fn line_shows_errors_first_then_progress_and_percentiles() {
        let stats = LiveStats::default();
        stats.active_users.store(3, Ordering::Relaxed);
        stats.turns.store(2, Ordering::Relaxed);
        stats.errors.store(7, Ordering::Relaxed);
        stats.latencies.lock().unwrap().extend([0.5, 1.5]);
        let line = stats.line(4, Duration::from_secs(10), Duration::from_secs(30));
        assert_eq!(
            line,
            "errors 7  10/30s  users 3/4  turns 2  p50 1.000  p95 1.450  rbi 0  glitches 0"
        );
        assert!(line.chars().count() <= LINE_WIDTH, "{line}");
    }

    #[test]
    fn line_fits_80_columns_with_big_numbers() {
        let stats = LiveStats::default();
        stats.active_users.store(20_000, Ordering::Relaxed);
        stats.turns.store(1_234_567, Ordering::Relaxed);
        stats.errors.store(987_654, Ordering::Relaxed);
        stats.glitches.store(55_555, Ordering::Relaxed);
        stats.reverse_barge_ins.store(44_444, Ordering::Relaxed);
        stats.latencies.lock().unwrap().extend([10.5, 12.25]);
        let line = stats.line(20_000, Duration::from_secs(3600), Duration::from_secs(7200));
        assert!(
            line.chars().count() <= LINE_WIDTH,
            "{} > {LINE_WIDTH}: {line}",
            line.chars().count()
        );
        assert!(line.starts_with("errors 987654  3600/7200s  "), "{line}");
    }
}
