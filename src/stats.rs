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

/// Fewest samples that support percentile `p` (0–100): at least one sample must lie beyond
/// it, so n ≥ 100 / (100 − p): 2 for p50, 10 for p90, 20 for p95, 100 for p99. Below that the
/// percentile is the largest sample (or an interpolation towards it) and says little about
/// the tail it names.
pub fn min_samples_for(p: f64) -> usize {
    let tail = (100.0 - p.clamp(0.0, 100.0)).max(1e-9);
    ((100.0 / tail) - 1e-9).ceil().max(1.0) as usize
}

/// Resamples a bootstrap draws unless told otherwise: enough for the 2.5th/97.5th percentiles
/// of the resampled statistic to settle to a few per cent of the interval's width.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;
/// Seed of every bootstrap in voiceperf, so that the same samples give the same interval on
/// every run and machine.
pub const BOOTSTRAP_SEED: u64 = 0x766f_6963_6570_6572; // "voiceper"

/// A small deterministic generator (SplitMix64): the bootstrap's draws must not change with a
/// dependency's version, or the same run folder would print different intervals.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform index below `n` (> 0), without modulo bias worth speaking of for n ≪ 2⁶⁴.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// A two-sided confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

impl Interval {
    /// Whether `value` lies inside (bounds included).
    pub fn contains(&self, value: f64) -> bool {
        self.low <= value && value <= self.high
    }
}

/// Fills `out` with a resample (with replacement) of `sorted`, sorted.
fn resample_sorted(sorted: &[f64], rng: &mut SplitMix64, out: &mut Vec<f64>) {
    out.clear();
    out.extend((0..sorted.len()).map(|_| sorted[rng.below(sorted.len())]));
    out.sort_by(f64::total_cmp);
}

/// The `level` (e.g. 0.95) percentile-bootstrap confidence interval of percentile `p` of the
/// finite `samples`: `resamples` resamples drawn with a generator seeded by `seed`, the
/// interval between the (1−level)/2 and (1+level)/2 percentiles of their `p`-th percentiles.
/// `None` for fewer than 2 samples.
pub fn bootstrap_percentile_ci(
    samples: &[f64],
    p: f64,
    level: f64,
    resamples: usize,
    seed: u64,
) -> Option<Interval> {
    let sorted = sorted_finite(samples);
    if sorted.len() < 2 || resamples == 0 {
        return None;
    }
    let mut rng = SplitMix64::new(seed);
    let mut buf = Vec::with_capacity(sorted.len());
    let mut estimates: Vec<f64> = (0..resamples)
        .map(|_| {
            resample_sorted(&sorted, &mut rng, &mut buf);
            percentile_sorted(&buf, p).unwrap_or(f64::NAN)
        })
        .collect();
    estimates.sort_by(f64::total_cmp);
    interval_of(&estimates, level)
}

/// The `level` bootstrap interval of the difference `p`-th percentile of `candidate` minus
/// that of `base` (each resampled on its own), seeded by `seed`. `None` when either has
/// fewer than 2 finite samples.
pub fn bootstrap_difference_ci(
    base: &[f64],
    candidate: &[f64],
    p: f64,
    level: f64,
    resamples: usize,
    seed: u64,
) -> Option<Interval> {
    let base = sorted_finite(base);
    let candidate = sorted_finite(candidate);
    if base.len() < 2 || candidate.len() < 2 || resamples == 0 {
        return None;
    }
    let mut rng = SplitMix64::new(seed);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut differences: Vec<f64> = (0..resamples)
        .map(|_| {
            resample_sorted(&base, &mut rng, &mut a);
            resample_sorted(&candidate, &mut rng, &mut b);
            percentile_sorted(&b, p).unwrap_or(f64::NAN)
                - percentile_sorted(&a, p).unwrap_or(f64::NAN)
        })
        .collect();
    differences.sort_by(f64::total_cmp);
    interval_of(&differences, level)
}

/// Percentiles every latency table reports, with their names.
pub const REPORTED_PERCENTILES: [(&str, f64); 4] =
    [("p50", 50.0), ("p90", 90.0), ("p95", 95.0), ("p99", 99.0)];

/// Most resampled values one set of confidence intervals draws: with many samples the
/// resamples are cut so that a summary rewritten at the end of a long run stays quick.
const BOOTSTRAP_BUDGET: usize = 20_000_000;
/// Fewest resamples however many samples there are.
const MIN_RESAMPLES: usize = 200;

/// The 95 % bootstrap confidence interval of each reported percentile (p50, p90, p95, p99)
/// of one set of samples, and whether enough samples support each (see
/// [`min_samples_for`]). Written into `summary.json` next to the percentiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PercentileCis {
    /// Confidence level of every interval (0.95).
    pub level: f64,
    /// Resamples drawn (seeded with [`BOOTSTRAP_SEED`], so the same samples give the same
    /// intervals).
    pub resamples: usize,
    /// Samples the intervals are over.
    pub count: usize,
    /// Interval of the median (`None` below 2 samples).
    pub p50: Option<Interval>,
    /// Interval of the 90th percentile.
    pub p90: Option<Interval>,
    /// Interval of the 95th percentile.
    pub p95: Option<Interval>,
    /// Interval of the 99th percentile.
    pub p99: Option<Interval>,
    /// Names of the percentiles too few samples support (`count` < [`min_samples_for`]):
    /// printed with a `*`.
    pub unsupported: Vec<String>,
}

impl PercentileCis {
    /// The interval of the percentile named `name` (`"p95"`).
    pub fn get(&self, name: &str) -> Option<Interval> {
        match name {
            "p50" => self.p50,
            "p90" => self.p90,
            "p95" => self.p95,
            "p99" => self.p99,
            _ => None,
        }
    }

    /// Whether too few samples support the percentile named `name`.
    pub fn is_unsupported(&self, name: &str) -> bool {
        self.unsupported.iter().any(|u| u == name)
    }
}

/// Whether `count` samples support percentile `p` (see [`min_samples_for`]).
pub fn supports(count: usize, p: f64) -> bool {
    count >= min_samples_for(p)
}

/// 95 % percentile-bootstrap intervals of p50/p90/p95/p99 of the finite `samples`, all four
/// from the same seeded resamples; `None` when there are no samples.
pub fn percentile_cis(samples: &[f64]) -> Option<PercentileCis> {
    const LEVEL: f64 = 0.95;
    let sorted = sorted_finite(samples);
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let resamples = BOOTSTRAP_RESAMPLES.min((BOOTSTRAP_BUDGET / n).max(MIN_RESAMPLES));
    let mut estimates: [Vec<f64>; 4] = Default::default();
    if n >= 2 {
        let mut rng = SplitMix64::new(BOOTSTRAP_SEED);
        let mut buf = Vec::with_capacity(n);
        for _ in 0..resamples {
            resample_sorted(&sorted, &mut rng, &mut buf);
            for (k, (_, p)) in REPORTED_PERCENTILES.iter().enumerate() {
                estimates[k].push(percentile_sorted(&buf, *p).unwrap_or(f64::NAN));
            }
        }
    }
    let mut intervals = estimates.map(|mut e| {
        e.sort_by(f64::total_cmp);
        interval_of(&e, LEVEL).map(|i| Interval {
            low: round6(i.low),
            high: round6(i.high),
        })
    });
    let [p50, p90, p95, p99] = std::mem::take(&mut intervals);
    Some(PercentileCis {
        level: LEVEL,
        resamples: if n >= 2 { resamples } else { 0 },
        count: n,
        p50,
        p90,
        p95,
        p99,
        unsupported: REPORTED_PERCENTILES
            .iter()
            .filter(|(_, p)| !supports(n, *p))
            .map(|(name, _)| (*name).to_string())
            .collect(),
    })
}

fn interval_of(sorted_estimates: &[f64], level: f64) -> Option<Interval> {
    let alpha = (1.0 - level.clamp(0.0, 1.0)) / 2.0;
    Some(Interval {
        low: percentile_sorted(sorted_estimates, alpha * 100.0)?,
        high: percentile_sorted(sorted_estimates, (1.0 - alpha) * 100.0)?,
    })
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
    #[test]
    fn min_samples_put_one_sample_beyond_the_percentile() {
        assert_eq!(min_samples_for(50.0), 2);
        assert_eq!(min_samples_for(90.0), 10);
        assert_eq!(min_samples_for(95.0), 20);
        assert_eq!(min_samples_for(99.0), 100);
        assert_eq!(min_samples_for(0.0), 1);
    }

    #[test]
    fn bootstrap_is_deterministic_and_covers_the_estimate() {
        let samples: Vec<f64> = (0..200).map(|i| 1.0 + f64::from(i % 37) / 100.0).collect();
        let ci = bootstrap_percentile_ci(&samples, 50.0, 0.95, 1000, BOOTSTRAP_SEED).unwrap();
        let again = bootstrap_percentile_ci(&samples, 50.0, 0.95, 1000, BOOTSTRAP_SEED).unwrap();
        assert_eq!(ci, again);
        let p50 = percentile(&samples, 50.0).unwrap();
        assert!(ci.contains(p50), "{ci:?} {p50}");
        assert!(ci.high - ci.low < 0.1, "{ci:?}");
        // Fewer samples, wider interval.
        let few = bootstrap_percentile_ci(&samples[..10], 50.0, 0.95, 1000, 7).unwrap();
        assert!(few.high - few.low > ci.high - ci.low, "{few:?} vs {ci:?}");
        assert!(bootstrap_percentile_ci(&[1.0], 50.0, 0.95, 1000, 7).is_none());
    }

    #[test]
    fn bootstrap_difference_separates_shifted_samples_only() {
        let base: Vec<f64> = (0..100).map(|i| 1.0 + f64::from(i % 10) / 100.0).collect();
        let same = bootstrap_difference_ci(&base, &base, 50.0, 0.95, 1000, 1).unwrap();
        assert!(same.contains(0.0), "{same:?}");
        let slower: Vec<f64> = base.iter().map(|v| v + 0.2).collect();
        let shifted = bootstrap_difference_ci(&base, &slower, 50.0, 0.95, 1000, 1).unwrap();
        assert!(
            !shifted.contains(0.0) && shifted.contains(0.2),
            "{shifted:?}"
        );
    }

    #[test]
    fn splitmix_draws_indices_in_range_evenly() {
        let mut rng = SplitMix64::new(42);
        let mut counts = [0usize; 4];
        for _ in 0..4000 {
            counts[rng.below(4)] += 1;
        }
        assert!(
            counts.iter().all(|&c| (900..1100).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn percentile_cis_contain_the_estimates_and_mark_thin_tails() {
        let samples: Vec<f64> = (0..50)
            .map(|i| 1.0 + f64::from(i * 7 % 50) / 100.0)
            .collect();
        let cis = percentile_cis(&samples).unwrap();
        let again = percentile_cis(&samples).unwrap();
        assert_eq!(
            cis, again,
            "seeded: the same samples give the same intervals"
        );
        assert_eq!(cis.count, 50);
        assert_eq!(cis.resamples, BOOTSTRAP_RESAMPLES);
        let s = Summary::from_samples(&samples).unwrap();
        for (name, value) in [
            ("p50", s.p50),
            ("p90", s.p90),
            ("p95", s.p95),
            ("p99", s.p99),
        ] {
            let ci = cis.get(name).unwrap();
            assert!(
                ci.low <= value + 1e-6 && value <= ci.high + 1e-6,
                "{name} {ci:?} {value}"
            );
        }
        // 50 samples support p95 (≥ 20) but not p99 (≥ 100).
        assert_eq!(cis.unsupported, vec!["p99".to_string()]);
        assert!(cis.is_unsupported("p99") && !cis.is_unsupported("p95"));
        let one = percentile_cis(&[1.2]).unwrap();
        assert!(one.p50.is_none() && one.resamples == 0);
        assert_eq!(one.unsupported, vec!["p50", "p90", "p95", "p99"]);
        assert!(percentile_cis(&[]).is_none());
        // Many samples: fewer resamples, still at least the floor.
        let many = vec![1.0; 100_000];
        assert_eq!(percentile_cis(&many).unwrap().resamples, 200);
    }
}
