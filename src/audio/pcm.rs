//! Float samples to 16-bit integers: rounding to the nearest step, counting what clips, and
//! the optional peak normalisation.

/// Samples converted to 16-bit integers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pcm16 {
    /// The converted samples.
    pub samples: Vec<i16>,
    /// Samples beyond the 16-bit range that were clamped.
    pub clipped: usize,
}

/// Converts full-scale ±1.0 samples to 16-bit integers: scaled by 32768 (the inverse of
/// decoding, so 16-bit input round-trips exactly), rounded to nearest, clamped to the 16-bit
/// range with each clamped sample counted.
pub fn to_pcm16(samples: &[f32]) -> Pcm16 {
    let mut clipped = 0;
    let samples = samples
        .iter()
        .map(|&x| {
            let rounded = scale_and_round(x);
            let clamped = rounded.clamp(i32::from(i16::MIN), i32::from(i16::MAX));
            clipped += usize::from(rounded != clamped);
            clamped as i16
        })
        .collect();
    Pcm16 { samples, clipped }
}

/// One full-scale sample as a 16-bit integer: rounded to nearest, saturating.
pub fn sample_to_i16(x: f32) -> i16 {
    scale_and_round(x).clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}

/// `x × 32768` rounded to nearest (halves away from zero). In f64 the `+ 0.5` is exact, and
/// `as` truncates toward zero and saturates (NaN becomes 0): fast and vectorisable, unlike a
/// call to `round`.
#[inline]
fn scale_and_round(x: f32) -> i32 {
    let scaled = f64::from(x) * 32768.0;
    (scaled + 0.5f64.copysign(scaled)) as i32
}

/// Largest absolute sample value.
pub fn peak(samples: &[f32]) -> f32 {
    samples.iter().fold(0.0f32, |m, &x| m.max(x.abs()))
}

/// Level in dBFS of an amplitude (full scale 1.0); −inf for 0.
pub fn amplitude_dbfs(amplitude: f64) -> f64 {
    20.0 * amplitude.log10()
}

/// Gain (linear) that brings the peak of `samples` to `target_dbfs`, where 0 dBFS is the
/// largest 16-bit value; `None` for silence.
pub fn gain_to_peak(samples: &[f32], target_dbfs: f64) -> Option<f64> {
    let current = f64::from(peak(samples));
    if current <= 0.0 {
        return None;
    }
    let target = 10f64.powf(target_dbfs / 20.0) * f64::from(i16::MAX) / 32768.0;
    Some(target / current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_to_nearest_and_round_trips_16_bit() {
        let pcm = to_pcm16(&[0.0, 0.4 / 32768.0, 0.6 / 32768.0, -0.6 / 32768.0, -1.0]);
        assert_eq!(pcm.samples, vec![0, 0, 1, -1, -32768]);
        assert_eq!(pcm.clipped, 0);
        let all: Vec<f32> = (i16::MIN..=i16::MAX)
            .map(|s| f32::from(s) / 32768.0)
            .collect();
        let back = to_pcm16(&all);
        assert!(back.samples.iter().copied().eq(i16::MIN..=i16::MAX));
    }

    #[test]
    fn counts_clipped_samples() {
        let pcm = to_pcm16(&[1.0, 1.5, -1.2, 0.99, -1.0, f32::NAN, f32::INFINITY]);
        assert_eq!(
            pcm.samples,
            vec![32767, 32767, -32768, 32440, -32768, 0, 32767]
        );
        assert_eq!(pcm.clipped, 4);
        assert_eq!(sample_to_i16(-2.0), i16::MIN);
        assert_eq!(sample_to_i16(0.499_999_97 / 32768.0), 0);
        assert_eq!(sample_to_i16(-1.5 / 32768.0), -2);
    }

    #[test]
    fn gain_reaches_the_target_peak_without_clipping() {
        let samples = [0.1f32, -0.25, 0.2];
        let gain = gain_to_peak(&samples, -1.0).unwrap();
        let scaled: Vec<f32> = samples
            .iter()
            .map(|&x| (f64::from(x) * gain) as f32)
            .collect();
        assert!(
            (amplitude_dbfs(f64::from(peak(&scaled))) - (-1.0 + amplitude_dbfs(32767.0 / 32768.0)))
                .abs()
                < 1e-4
        );
        let full = gain_to_peak(&samples, 0.0).unwrap();
        let scaled: Vec<f32> = samples
            .iter()
            .map(|&x| (f64::from(x) * full) as f32)
            .collect();
        assert_eq!(to_pcm16(&scaled).clipped, 0);
        assert_eq!(gain_to_peak(&[0.0; 4], -1.0), None);
    }
}
