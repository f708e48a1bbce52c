//! The limits a query is checked against: `validate` fails or warns beyond them, `prep` warns
//! when a query it made would fail them.

use serde::{Deserialize, Serialize};

/// The limits files are checked against (`--min-duration`, `--max-trailing-ms`, …).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// Shortest acceptable file, seconds.
    pub min_duration_s: f64,
    /// Longest acceptable file, seconds.
    pub max_duration_s: f64,
    /// Most non-speech allowed after the end of speech, milliseconds (failure beyond).
    pub max_trailing_ms: f64,
    /// Most non-speech allowed before the start of speech, milliseconds (warning beyond).
    pub max_leading_ms: f64,
    /// Largest share of samples at full scale, percent (warning beyond).
    pub max_clipped_percent: f64,
    /// Quietest acceptable peak, dBFS (warning "too quiet" below).
    pub min_peak_dbfs: f64,
    /// Largest mean sample value, percent of full scale (warning beyond).
    pub max_dc_offset_percent: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            min_duration_s: 0.3,
            max_duration_s: 30.0,
            max_trailing_ms: 100.0,
            max_leading_ms: 500.0,
            max_clipped_percent: 0.1,
            min_peak_dbfs: -30.0,
            max_dc_offset_percent: 1.0,
        }
    }
}
