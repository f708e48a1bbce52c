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
            let scaled = (f64::from(x) * 32768.0).round();
            if scaled > f64::from(i16::MAX) {
                clipped += 1;
                i16::MAX
            } else if scaled < f64::from(i16::MIN) {
                clipped += 1;
                i16::MIN
            } else if scaled.is_nan() {
                0
            } else {
                scaled as i16
            }
        })
        .collect();
    Pcm16 { samples, clipped }
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
        let pcm = to_pcm16(&[1.0, 1.5, -1.2, 0.99, -1.0]);
        assert_eq!(pcm.samples, vec![32767, 32767, -32768, 32440, -32768]);
        assert_eq!(pcm.clipped, 3);
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
