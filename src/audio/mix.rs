//! Channels to mono: an average of all channels, or one channel when asked for or when the
//! channels cancel each other out (one of them wired with inverted polarity).

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A mix this far below the loudest channel (dB) means the channels cancel out.
pub const PHASE_CANCEL_DB: f64 = 10.0;

/// Which channel(s) made the mono signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelUse {
    /// The recording was mono.
    Mono,
    /// The average of all channels.
    Mix,
    /// One channel (1-based), chosen with `--channel` or because the mix cancelled out.
    Channel(u16),
}

impl std::fmt::Display for ChannelUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChannelUse::Mono => write!(f, "mono"),
            ChannelUse::Mix => write!(f, "mix"),
            ChannelUse::Channel(n) => write!(f, "channel {n}"),
        }
    }
}

/// A mono signal and how it was made.
#[derive(Debug, Clone)]
pub struct Mono {
    /// The samples.
    pub samples: Vec<f32>,
    /// Which channel(s) it came from.
    pub channel: ChannelUse,
    /// Set when the channels cancelled out and the strongest one was used instead.
    pub warning: Option<String>,
}

/// A `--channel` the recording does not have.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("asked for channel {wanted} but the recording has {available} channel(s)")]
pub struct NoSuchChannel {
    /// The 1-based channel asked for.
    pub wanted: u16,
    /// Channels present.
    pub available: usize,
}

/// Turns planar `channels` into mono: channel `only` (1-based) when given, else the average of
/// all channels — unless that average is more than [`PHASE_CANCEL_DB`] quieter than the
/// loudest channel, in which case the loudest channel is used and a warning says why.
pub fn to_mono(mut channels: Vec<Vec<f32>>, only: Option<u16>) -> Result<Mono, NoSuchChannel> {
    let available = channels.len();
    if let Some(wanted) = only {
        let index = usize::from(wanted);
        if index == 0 || index > available {
            return Err(NoSuchChannel { wanted, available });
        }
        return Ok(Mono {
            samples: channels.swap_remove(index - 1),
            channel: ChannelUse::Channel(wanted),
            warning: None,
        });
    }
    if available <= 1 {
        return Ok(Mono {
            samples: channels.pop().unwrap_or_default(),
            channel: ChannelUse::Mono,
            warning: None,
        });
    }
    let frames = channels.iter().map(Vec::len).min().unwrap_or(0);
    for channel in &mut channels {
        channel.truncate(frames);
    }
    // Levels of each channel and of their average, before anything is overwritten.
    let levels: Vec<f64> = channels.iter().map(|c| rms(c)).collect();
    let mix_rms = mix_rms(&channels);
    let (loudest, loudest_rms) =
        levels
            .iter()
            .copied()
            .enumerate()
            .fold(
                (0, 0.0),
                |best, (i, level)| if level > best.1 { (i, level) } else { best },
            );
    if loudest_rms > 0.0 && mix_rms < loudest_rms * 10f64.powf(-PHASE_CANCEL_DB / 20.0) {
        let drop_db = if mix_rms > 0.0 {
            format!("{:.0} dB", 20.0 * (loudest_rms / mix_rms).log10())
        } else {
            "completely".to_string()
        };
        let number = loudest + 1;
        // Channels that do not cancel mix to the power of unrelated signals, Σp/n², or more;
        // a mix well below that is cancellation. Otherwise the mix is quiet because the
        // sound is in one channel of many (a voice in the centre of a 5.1 recording).
        let n = available as f64;
        let unrelated_power = levels.iter().map(|l| l * l).sum::<f64>() / (n * n);
        let why = if mix_rms * mix_rms < unrelated_power / 2.0 {
            format!(
                "the channels cancel out when mixed (mix {drop_db} below channel {number}; \
                 one is phase-inverted?)"
            )
        } else {
            format!(
                "the sound is in channel {number} and the others are nearly silent (mix \
                 {drop_db} below it)"
            )
        };
        return Ok(Mono {
            samples: channels.swap_remove(loudest),
            channel: ChannelUse::Channel(number as u16),
            warning: Some(format!("{why}: used channel {number} alone")),
        });
    }
    // Average into the first channel's buffer: no new allocation for long recordings.
    let mut mix = channels.swap_remove(0);
    for channel in &channels {
        for (m, x) in mix.iter_mut().zip(channel) {
            *m += x;
        }
    }
    let scale = 1.0 / available as f32;
    mix.iter_mut().for_each(|m| *m *= scale);
    Ok(Mono {
        samples: mix,
        channel: ChannelUse::Mix,
        warning: None,
    })
}

/// RMS of the average of equally long `channels`, without storing it.
fn mix_rms(channels: &[Vec<f32>]) -> f64 {
    let frames = channels.first().map_or(0, Vec::len);
    if frames == 0 {
        return 0.0;
    }
    if let [left, right] = channels {
        let power: f64 = left
            .chunks(4096)
            .zip(right.chunks(4096))
            .map(|(l, r)| {
                let block: f32 = l.iter().zip(r).map(|(a, b)| (a + b) * (a + b) * 0.25).sum();
                f64::from(block)
            })
            .sum();
        return (power / frames as f64).sqrt();
    }
    let scale = 1.0 / channels.len() as f32;
    let mut power = 0.0f64;
    for start in (0..frames).step_by(4096) {
        let end = (start + 4096).min(frames);
        let block: f32 = (start..end)
            .map(|i| {
                let m = channels.iter().map(|c| c[i]).sum::<f32>() * scale;
                m * m
            })
            .sum();
        power += f64::from(block);
    }
    (power / frames as f64).sqrt()
}

fn rms(samples: &[f32]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    // Sum blocks in f32 (fast, vectorised) and the block sums in f64 (accurate).
    let power: f64 = samples
        .chunks(4096)
        .map(|block| f64::from(block.iter().map(|x| x * x).sum::<f32>()))
        .sum();
    (power / samples.len() as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wave(n: usize, amplitude: f32) -> Vec<f32> {
        (0..n)
            .map(|i| amplitude * (i as f32 * 0.05).sin())
            .collect()
    }

    #[test]
    fn averages_channels() {
        let mono = to_mono(vec![vec![0.5, 0.25], vec![0.1, -0.25]], None).unwrap();
        assert_eq!(mono.samples, vec![0.3, 0.0]);
        assert_eq!(mono.channel, ChannelUse::Mix);
        assert!(mono.warning.is_none());
    }

    #[test]
    fn mono_passes_through() {
        let mono = to_mono(vec![vec![0.1, 0.2]], None).unwrap();
        assert_eq!(mono.samples, vec![0.1, 0.2]);
        assert_eq!(mono.channel, ChannelUse::Mono);
    }

    #[test]
    fn phase_inverted_channels_fall_back_to_the_strongest() {
        let left = wave(1000, 0.5);
        let right: Vec<f32> = left.iter().map(|x| -0.9 * x).collect();
        let mono = to_mono(vec![right, left.clone()], None).unwrap();
        assert_eq!(mono.channel, ChannelUse::Channel(2));
        assert_eq!(mono.samples, left);
        let warning = mono.warning.unwrap();
        assert!(warning.contains("cancel"), "{warning}");
        assert!(warning.contains("channel 2"), "{warning}");
    }

    #[test]
    fn a_voice_in_one_channel_of_six_is_not_called_phase_inverted() {
        let mut channels = vec![vec![0.0; 1000]; 6];
        channels[2] = wave(1000, 0.5);
        let mono = to_mono(channels, None).unwrap();
        assert_eq!(mono.channel, ChannelUse::Channel(3));
        assert_eq!(
            mono.warning.unwrap(),
            "the sound is in channel 3 and the others are nearly silent (mix 16 dB below it): \
             used channel 3 alone"
        );
        // Half-inverted stereo is still cancellation.
        let left = wave(1000, 0.5);
        let right: Vec<f32> = left.iter().map(|x| -0.6 * x).collect();
        let warning = to_mono(vec![left, right], None).unwrap().warning.unwrap();
        assert!(warning.contains("phase-inverted"), "{warning}");
    }

    #[test]
    fn one_silent_channel_is_not_cancellation() {
        let mono = to_mono(vec![wave(1000, 0.5), vec![0.0; 1000]], None).unwrap();
        assert_eq!(mono.channel, ChannelUse::Mix);
        assert!(mono.warning.is_none());
    }

    #[test]
    fn chosen_channel_is_one_based_and_checked() {
        let mono = to_mono(vec![vec![1.0], vec![2.0], vec![3.0]], Some(3)).unwrap();
        assert_eq!(mono.samples, vec![3.0]);
        assert_eq!(mono.channel, ChannelUse::Channel(3));
        let err = to_mono(vec![vec![1.0], vec![2.0]], Some(3)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "asked for channel 3 but the recording has 2 channel(s)"
        );
        assert!(to_mono(vec![vec![1.0]], Some(0)).is_err());
    }
}
