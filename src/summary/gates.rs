//! CI gates and the sweep table: one row per `--clients` level (or one merged run), the
//! highest level meeting `--slo-p95`, and the `--fail-p95` / `--max-error-rate` checks that
//! make the exit status non-zero. Shared by `bench` and `merge`.

use std::path::Path;

use crate::clock::local_timestamp;
use crate::runfolder::results::{RunSummary, SweepLevel, SweepSummary};

/// The fewest turns a gate decides on unless `--min-turns` says otherwise: with fewer, a p95
/// rests on one or two turns and an error rate jumps by whole percents per turn.
pub const DEFAULT_MIN_TURNS: usize = 20;

/// Gate settings.
#[derive(Debug, Clone, Copy)]
pub struct Gates {
    /// `--slo-p95` (s).
    pub slo_p95: Option<f64>,
    /// `--fail-p95` (s).
    pub fail_p95: Option<f64>,
    /// `--max-error-rate` (0–1).
    pub max_error_rate: Option<f64>,
    /// `--min-turns`: below this many turns a gate fails with "too few turns" instead of
    /// deciding on noise.
    pub min_turns: usize,
}

impl Default for Gates {
    fn default() -> Self {
        Gates {
            slo_p95: None,
            fail_p95: None,
            max_error_rate: None,
            min_turns: DEFAULT_MIN_TURNS,
        }
    }
}

/// Builds the sweep table from each level's summary and folder, and checks the gates.
pub fn evaluate(levels: &[(&RunSummary, &Path)], root: &Path, gates: Gates) -> SweepSummary {
    let mut rows = Vec::new();
    let mut gate_failures = Vec::new();
    for (summary, dir) in levels {
        let clients = summary.config.num_clients;
        let latency = summary.results.latency.clone();
        let p95 = latency.as_ref().map(|l| l.p95);
        let meets_slo = gates.slo_p95.and_then(|slo| p95.map(|p95| p95 <= slo));
        let measured = latency.as_ref().map_or(0, |l| l.count);
        if let Some(limit) = gates.fail_p95 {
            match p95 {
                Some(_) if measured < gates.min_turns => gate_failures.push(format!(
                    "{clients} user(s): too few turns for --fail-p95 {limit} s: {measured} \
                     measured, --min-turns {}",
                    gates.min_turns
                )),
                Some(p95) if p95 > limit => gate_failures.push(format!(
                    "{clients} user(s): p95 latency {p95:.3} s > --fail-p95 {limit} s"
                )),
                Some(_) => {}
                None => gate_failures.push(format!(
                    "{clients} user(s): no turn measured, so --fail-p95 {limit} s cannot pass"
                )),
            }
        }
        let error_rate = summary.errors.error_rate;
        let attempted = summary.errors.attempted;
        if let Some(limit) = gates.max_error_rate {
            if attempted < gates.min_turns {
                gate_failures.push(format!(
                    "{clients} user(s): too few turns for --max-error-rate {:.2} %: {attempted} \
                     attempted, --min-turns {}",
                    limit * 100.0,
                    gates.min_turns
                ));
            } else if error_rate > limit {
                gate_failures.push(format!(
                    "{clients} user(s): error rate {:.2} % > --max-error-rate {:.2} %",
                    error_rate * 100.0,
                    limit * 100.0
                ));
            }
        }
        rows.push(SweepLevel {
            clients,
            dir: dir.strip_prefix(root).unwrap_or(dir).display().to_string(),
            turns: latency.as_ref().map_or(0, |l| l.count),
            latency,
            error_rate,
            reverse_barge_ins: summary
                .results
                .reverse_barge_in_detection
                .total_reverse_barge_ins,
            glitches: summary.results.glitch_detection.total_glitches,
            trustworthy: summary.self_check.trustworthy,
            meets_slo,
        });
    }
    let max_clients_meeting_slo = rows
        .iter()
        .filter(|r| r.meets_slo == Some(true))
        .map(|r| r.clients)
        .max();
    SweepSummary {
        timestamp: local_timestamp(),
        tool_version: crate::VERSION.to_string(),
        levels: rows,
        slo_p95: gates.slo_p95,
        max_clients_meeting_slo,
        fail_p95: gates.fail_p95,
        max_error_rate: gates.max_error_rate,
        gate_failures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runfolder::results::TurnOutcome;
    use crate::summary::store::Store;
    use crate::summary::summarize;
    use crate::summary::tests::{client, context, turn};

    /// A run of one user with `n` replied turns of 1 s.
    fn run_with_turns(n: usize) -> RunSummary {
        let mut store = Store::default();
        let turns = (0..n)
            .map(|_| turn(Some(1.0), true, TurnOutcome::Replied))
            .collect();
        store.clients.insert((1, 1), client(1, turns, 0));
        summarize(&context(), &store, None)
    }

    fn failures(turns: usize, gates: Gates) -> Vec<String> {
        let summary = run_with_turns(turns);
        let dir = Path::new("/tmp/run");
        evaluate(&[(&summary, dir)], dir, gates).gate_failures
    }

    #[test]
    fn too_few_turns_fail_every_gate_with_the_reason() {
        let gates = Gates {
            fail_p95: Some(2.0),
            max_error_rate: Some(0.5),
            ..Gates::default()
        };
        // 5 turns of 1 s would pass both gates; below --min-turns 20 they fail, saying why.
        let f = failures(5, gates);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f[0].contains("too few turns for --fail-p95"), "{f:?}");
        assert!(f[0].contains("5 measured, --min-turns 20"), "{f:?}");
        assert!(f[1].contains("too few turns for --max-error-rate"), "{f:?}");
        // Enough turns: both pass; a lower --min-turns lets the 5 turns decide.
        assert!(failures(25, gates).is_empty());
        assert!(failures(5, Gates { min_turns: 5, ..gates }).is_empty());
        // A gate that is not set asks for no turns.
        assert!(failures(1, Gates::default()).is_empty());
    }

    #[test]
    fn enough_turns_still_fail_a_slow_run() {
        let gates = Gates {
            fail_p95: Some(0.5),
            ..Gates::default()
        };
        let f = failures(30, gates);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].contains("> --fail-p95 0.5 s"), "{f:?}");
    }
}
