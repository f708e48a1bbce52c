//! One logical run split over several processes or machines (`--shard I/N --start-at T`):
//! which shard this is, the run id every shard of one run shares, and the check of the
//! shard's own start and clock that `merge` reads back.

use sha2::{Digest, Sha256};

use crate::runfolder::results::{ClockCheck, DatasetInfo, SummaryConfig};

/// How late a shard may be ready, or its first user start, or how far its wall clock may move
/// against its monotonic clock during the run, before it is out of tolerance (ms).
pub const TOLERANCE_MS: f64 = 1000.0;

/// Shard `index` of `count` (0-based, as Kubernetes numbers Indexed Job pods).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    /// 0 to `count − 1`.
    pub index: usize,
    /// Shards in the run.
    pub count: usize,
}

impl std::fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The run id: the same for every shard of one run, different when the shared start, the
/// shard count, the configuration (bar file paths, which may differ between machines) or the
/// dataset differ.
pub fn run_id(
    config: &SummaryConfig,
    dataset: &DatasetInfo,
    start_at: f64,
    count: usize,
) -> String {
    let mut config = config.clone();
    config.audio_dir = String::new();
    config.agent_log = None;
    let files: Vec<(&str, &str)> = dataset
        .files
        .iter()
        .map(|f| (f.file.as_str(), f.sha256.as_str()))
        .collect();
    let identity = serde_json::json!({
        "start_at_us": (start_at * 1e6).round() as i64,
        "shards": count,
        "config": config,
        "dataset": files,
    });
    let digest = Sha256::digest(identity.to_string().as_bytes());
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// The machine's name: `HOSTNAME` (the pod name on Kubernetes), else the kernel's.
pub fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// The clock check from what the shard saw: when it was ready (unix s), how late its first
/// user started (ms) and how far its wall clock moved against its run clock (ms).
pub fn clock_check(
    start_at: f64,
    ready_at: f64,
    first_user_late_ms: Option<f64>,
    wall_clock_drift_ms: Option<f64>,
) -> ClockCheck {
    let lead_s = start_at - ready_at;
    let mut problems = Vec::new();
    if lead_s * 1000.0 < -TOLERANCE_MS {
        problems.push(format!(
            "it was ready {:.1} s after the shared start",
            -lead_s
        ));
    }
    if let Some(late) = first_user_late_ms.filter(|&l| l > TOLERANCE_MS) {
        problems.push(format!(
            "its first user started {late:.0} ms after its time"
        ));
    }
    if let Some(drift) = wall_clock_drift_ms.filter(|d| d.abs() > TOLERANCE_MS) {
        problems.push(format!(
            "its wall clock moved {drift:+.0} ms against its monotonic clock during the run (stepped by NTP?)"
        ));
    }
    let round = |v: f64| (v * 1000.0).round() / 1000.0;
    ClockCheck {
        ready_at,
        lead_s: round(lead_s),
        first_user_late_ms: first_user_late_ms.map(round),
        wall_clock_drift_ms: wall_clock_drift_ms.map(round),
        tolerance_ms: TOLERANCE_MS,
        ok: problems.is_empty(),
        warning: (!problems.is_empty()).then(|| problems.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_check_names_what_is_out_of_tolerance() {
        let fine = clock_check(100.0, 40.0, Some(0.8), Some(-0.2));
        assert!(fine.ok && fine.warning.is_none());
        assert_eq!(fine.lead_s, 60.0);
        let late = clock_check(100.0, 103.5, Some(3500.0), Some(1500.0));
        assert!(!late.ok);
        let warning = late.warning.unwrap();
        assert!(warning.contains("ready 3.5 s after"), "{warning}");
        assert!(warning.contains("first user started 3500 ms"), "{warning}");
        assert!(warning.contains("+1500 ms"), "{warning}");
    }
}
