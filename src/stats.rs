//! Descriptive statistics shared by every command: all percentiles in voiceperf come from here.

use serde::{Deserialize, Serialize};

/// Rounds to 6 decimals: the precision of every number in voiceperf's result files (1 µs for
/// seconds), so they read cleanly and round-trip exactly.
pub fn round6(value: f64) -> f64 {
    (value * 1e6).round() / 1e6
}

/// Percentile `p` (0–100) of samples already sorted ascending, linearly interpolated between
/// the closest ranks (the definition numpy uses by default). `None` for no samples.
pub fn percentile_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = (p.clamp(0.0, 100.0) / 100.0) * last as f64;
    let lower = rank.floor() as usize;
    let upper = rank.ceil() as usize;
    let weight = rank - lower as f64;
    Some(sorted[lower] + (sorted[upper] - sorted[lower]) * weight)
}

/// Percentile `p` (0–100) of unsorted samples; non-finite values are ignored.
pub fn percentile(samples: &[f64], p: f64) -> Option<f64> {
    percentile_sorted(&sorted_finite(samples), p)
}

/// Arithmetic mean; `None` for no samples.
pub fn mean(samples: &[f64]) -> Option<f64> {
    if samples.is_empty() {
        None
    } else {
        Some(samples.iter().sum::<f64>() / samples.len() as f64)
    }
}

/// The seed scripts' "P95": values sorted ascending, taken at index ⌊0.95·(n−1)⌋ (no
/// interpolation). Kept only so old reports can be compared; prefer [`Summary`].
pub fn seed_p95(values: &[f64]) -> Option<f64> {
    let sorted = sorted_finite(values);
    let index = (0.95 * sorted.len().checked_sub(1)? as f64) as usize;
    sorted.get(index).copied()
}

/// Finite samples, sorted ascending.
pub fn sorted_finite(samples: &[f64]) -> Vec<f64> {
    let mut sorted: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    sorted
}

/// Distribution summary of a set of samples (same unit as the samples).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of samples summarised.
    pub count: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Population standard deviation.
    pub stddev: f64,
    /// Smallest sample.
    pub min: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest sample.
    pub max: f64,
}

impl Summary {
    /// Summarises the finite samples; `None` when there are none.
    pub fn from_samples(samples: &[f64]) -> Option<Self> {
        let sorted = sorted_finite(samples);
        Self::from_sorted(&sorted)
    }

    /// Summarises samples already sorted ascending (and finite); `None` when empty.
    pub fn from_sorted(sorted: &[f64]) -> Option<Self> {
        let mean = mean(sorted)?;
        let variance = sorted.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / sorted.len() as f64;
        let pct = |p| percentile_sorted(sorted, p).unwrap_or(f64::NAN);
        Some(Summary {
            count: sorted.len(),
            mean,
            stddev: variance.sqrt(),
            min: sorted[0],
            p50: pct(50.0),
            p90: pct(90.0),
            p95: pct(95.0),
            p99: pct(99.0),
            max: sorted[sorted.len() - 1],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_interpolates_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile_sorted(&v, 50.0), Some(2.5));
        assert_eq!(percentile_sorted(&v, 0.0), Some(1.0));
        assert_eq!(percentile_sorted(&v, 100.0), Some(4.0));
        // numpy.percentile([1,2,3,4], 90) == 3.7
        assert!((percentile_sorted(&v, 90.0).unwrap() - 3.7).abs() < 1e-12);
        assert_eq!(percentile_sorted(&[], 50.0), None);
        assert_eq!(percentile_sorted(&[7.0], 99.0), Some(7.0));
    }

    #[test]
    fn unsorted_and_non_finite_inputs() {
        assert_eq!(percentile(&[3.0, f64::NAN, 1.0, 2.0], 50.0), Some(2.0));
        assert_eq!(percentile(&[f64::NAN], 50.0), None);
    }

    #[test]
    fn seed_p95_takes_floor_index_of_sorted_values() {
        // n = 10 → index int(0.95 * 9) = 8
        let v: Vec<f64> = (1..=10).rev().map(f64::from).collect();
        assert_eq!(seed_p95(&v), Some(9.0));
        assert_eq!(seed_p95(&[5.0]), Some(5.0));
        assert_eq!(seed_p95(&[]), None);
    }

    #[test]
    fn summary_of_known_samples() {
        let s = Summary::from_samples(&[4.0, 2.0, 6.0, 8.0]).unwrap();
        assert_eq!(s.count, 4);
        assert_eq!(s.mean, 5.0);
        assert_eq!(s.min, 2.0);
        assert_eq!(s.max, 8.0);
        assert_eq!(s.p50, 5.0);
        assert!((s.stddev - 5.0_f64.sqrt()).abs() < 1e-12);
        assert!(Summary::from_samples(&[]).is_none());
    }
}
