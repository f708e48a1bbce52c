//! The dataset: a folder of 16 kHz mono 16-bit query WAVs and prep's `manifest.json` about
//! them. Everything the steps share about it lives here — the [`manifest`] schema, the
//! [`Limits`] a query is checked against, the default folder, the order queries are spoken in,
//! and the one lookup of a query's recorded speech bounds.

pub mod limits;
pub mod manifest;

use std::cmp::Ordering;
use std::ops::Range;

pub use limits::Limits;
pub use manifest::{MANIFEST_FILE, Manifest, ManifestEntry, PrepSettings};

use crate::audio::TARGET_RATE;

/// The dataset folder every command uses when none is given: prep writes here, validate and
/// bench read from here.
pub const DEFAULT_DIR: &str = "audio_files";

/// The recordings folder `prep` and `run` prepare when given none.
pub const DEFAULT_RECORDINGS_DIR: &str = "raw_recordings";

/// What the manifest says about where a query's speech is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordedBounds {
    /// The manifest has no entry for the file.
    NoEntry,
    /// The entry describes other bytes (the file changed after prep wrote it).
    Changed,
    /// The entry's bounds do not fit the file (damaged or hand-edited manifest).
    Impossible(String),
    /// Speech bounds `[start, end)` in samples, as prep found them.
    Found(Range<usize>),
}

/// The speech bounds prep recorded for a query of `len` samples whose bytes hash to `sha256`.
/// Only an entry describing exactly these bytes counts; manifests from before the sample
/// fields existed give seconds only.
pub fn recorded_bounds(entry: Option<&ManifestEntry>, sha256: &str, len: usize) -> RecordedBounds {
    let Some(entry) = entry else {
        return RecordedBounds::NoEntry;
    };
    if entry.output_sha256 != sha256 {
        return RecordedBounds::Changed;
    }
    let rate = f64::from(TARGET_RATE);
    let seconds_to_sample = |s: f64| {
        if s.is_finite() && s >= 0.0 {
            Some((s * rate).round() as u64)
        } else {
            None
        }
    };
    let (start, end) = if entry.speech_end_sample > 0 {
        (
            Some(entry.speech_start_sample as u64),
            Some(entry.speech_end_sample as u64),
        )
    } else {
        (
            seconds_to_sample(entry.speech_start_s),
            seconds_to_sample(entry.speech_end_s),
        )
    };
    match (start, end) {
        (Some(start), Some(end)) if start < end && end <= len as u64 => {
            RecordedBounds::Found(start as usize..end as usize)
        }
        _ => RecordedBounds::Impossible(format!(
            "speech {}–{} (samples {}–{}) does not fit a file of {len} samples",
            entry.speech_start_s,
            entry.speech_end_s,
            entry.speech_start_sample,
            entry.speech_end_sample
        )),
    }
}

/// Natural order: runs of digits compare by value, so `query_2` < `query_10`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    while !a.is_empty() && !b.is_empty() {
        let (a_run, a_digits) = leading_run(a);
        let (b_run, b_digits) = leading_run(b);
        let order = if a_digits && b_digits {
            let a_num = a_run.trim_start_matches('0');
            let b_num = b_run.trim_start_matches('0');
            a_num
                .len()
                .cmp(&b_num.len())
                .then_with(|| a_num.cmp(b_num))
                .then_with(|| a_run.len().cmp(&b_run.len()))
        } else {
            a_run.cmp(b_run)
        };
        if order != Ordering::Equal {
            return order;
        }
        a = &a[a_run.len()..];
        b = &b[b_run.len()..];
    }
    a.len().cmp(&b.len())
}

/// The leading run of digits or of non-digits of `s`, and whether it is digits.
fn leading_run(s: &str) -> (&str, bool) {
    let digits = s.starts_with(|c: char| c.is_ascii_digit());
    let end = s
        .find(|c: char| c.is_ascii_digit() != digits)
        .unwrap_or(s.len());
    (&s[..end], digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_puts_2_before_10() {
        let mut names = vec![
            "query_10.wav",
            "query_2.wav",
            "query_1.wav",
            "a/query_3.wav",
            "query_02.wav",
        ];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            vec![
                "a/query_3.wav",
                "query_1.wav",
                "query_2.wav",
                "query_02.wav",
                "query_10.wav"
            ]
        );
    }
}
