//! Scenarios: what a simulated user does over the bot's replies. Besides ordinary turns, a
//! reply can be *interrupted* (the next query starts `--barge-in-after` seconds into it) or get
//! a *distractor* (a short sound that is not a turn: noise, a click, a backchannel). Which one
//! happens over each reply is drawn from `--mix` by a generator seeded with `--seed`, the user
//! and the turn's position in the user's conversation, so a run replays exactly (reconnects
//! included). The built-in distractor sounds are synthesized here.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::audio::TARGET_RATE;
use crate::audio::voice::{VoiceParams, synthesize_speech};
use crate::bench::dataset::{QueryFile, level_bounds};
use crate::fsutil;
use crate::runfolder::results::{Mix, Scenario, SpeechEndSource};

/// Seconds of reply audio before a barge-in or distractor: a list to pick from, or a range to
/// draw from uniformly.
#[derive(Debug, Clone, PartialEq)]
pub enum BargeInAfter {
    /// One of these (s), picked at random.
    List(Vec<f64>),
    /// Uniformly between these (s).
    Range(f64, f64),
}

impl Default for BargeInAfter {
    fn default() -> Self {
        BargeInAfter::Range(0.5, 1.0)
    }
}

impl FromStr for BargeInAfter {
    type Err = String;

    /// `0.8`, `0.5,1,1.5` or `0.5..1.5` (seconds).
    fn from_str(text: &str) -> Result<Self, String> {
        let number = |part: &str| -> Result<f64, String> {
            let part = part.trim().trim_end_matches('s');
            match part.parse::<f64>() {
                Ok(v) if v.is_finite() && (0.0..=60.0).contains(&v) => Ok(v),
                _ => Err(format!(
                    "{part:?} is not a number of seconds between 0 and 60"
                )),
            }
        };
        if let Some((lo, hi)) = text.split_once("..") {
            let (lo, hi) = (number(lo)?, number(hi)?);
            if lo > hi {
                return Err(format!("range {text}: {lo} is more than {hi}"));
            }
            return Ok(BargeInAfter::Range(lo, hi));
        }
        let values = text
            .split(',')
            .map(number)
            .collect::<Result<Vec<f64>, String>>()?;
        Ok(BargeInAfter::List(values))
    }
}

impl fmt::Display for BargeInAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BargeInAfter::List(values) => {
                let parts: Vec<String> = values.iter().map(|v| v.to_string()).collect();
                write!(f, "{}", parts.join(","))
            }
            BargeInAfter::Range(lo, hi) => write!(f, "{lo}..{hi}"),
        }
    }
}

impl BargeInAfter {
    fn draw(&self, rng: &mut StdRng) -> Duration {
        let seconds = match self {
            BargeInAfter::List(values) if values.is_empty() => 0.0,
            BargeInAfter::List(values) => values[rng.random_range(0..values.len())],
            BargeInAfter::Range(lo, hi) if lo < hi => rng.random_range(*lo..*hi),
            BargeInAfter::Range(lo, _) => *lo,
        };
        Duration::from_secs_f64(seconds)
    }
}

/// Parses `--mix`: `turn=0.4,interrupt=0.3,distractor=0.3` (weights; missing kinds are 0).
pub fn parse_mix(text: &str) -> Result<Mix, String> {
    let mut mix = Mix {
        turn: 0.0,
        interrupt: 0.0,
        distractor: 0.0,
    };
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let Some((key, value)) = part.split_once('=') else {
            return Err(format!("{part:?} is not KIND=SHARE"));
        };
        let value: f64 = match value.trim().parse() {
            Ok(v) if f64::is_finite(v) && v >= 0.0 => v,
            _ => return Err(format!("share {value:?} of {key} is not a number ≥ 0")),
        };
        match key.trim() {
            "turn" | "turns" => mix.turn = value,
            "interrupt" | "interrupts" => mix.interrupt = value,
            "distractor" | "distractors" => mix.distractor = value,
            other => {
                return Err(format!(
                    "unknown kind {other:?} (turn, interrupt or distractor)"
                ));
            }
        }
    }
    if mix.turn + mix.interrupt + mix.distractor <= 0.0 {
        return Err("the shares add up to 0".into());
    }
    Ok(mix)
}

/// `--mix`'s default for `--scenario mixed`.
pub const DEFAULT_MIX: Mix = Mix {
    turn: 0.4,
    interrupt: 0.3,
    distractor: 0.3,
};

/// The shares a scenario draws from.
pub fn scenario_mix(scenario: Scenario, mix: Option<Mix>) -> Mix {
    let only = |turn, interrupt, distractor| Mix {
        turn,
        interrupt,
        distractor,
    };
    match scenario {
        Scenario::Turns => only(1.0, 0.0, 0.0),
        Scenario::Interrupt => only(0.0, 1.0, 0.0),
        Scenario::Distractor => only(0.0, 0.0, 1.0),
        Scenario::Mixed => mix.unwrap_or(DEFAULT_MIX),
    }
}

/// What is planned over one turn's reply.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Overlay {
    /// Nothing: the reply plays out.
    None,
    /// The next query starts this long into the reply.
    BargeIn {
        /// Reply audio played before the next query's speech begins.
        after: Duration,
    },
    /// A distractor sound starts this long into the reply.
    Distractor {
        /// Reply audio played before the sound begins.
        after: Duration,
        /// Which sound (an index into the run's sounds).
        sound: usize,
    },
}

/// Draws what happens over each reply.
#[derive(Debug, Clone)]
pub struct Planner {
    /// The shares.
    pub mix: Mix,
    /// The seed.
    pub seed: u64,
    /// Where in the reply a barge-in or distractor starts.
    pub barge_in_after: BargeInAfter,
    /// Number of distractor sounds to pick from.
    pub sounds: usize,
}

impl Planner {
    /// Strict turns only.
    pub fn turns() -> Planner {
        Planner {
            mix: scenario_mix(Scenario::Turns, None),
            seed: 0,
            barge_in_after: BargeInAfter::default(),
            sounds: 0,
        }
    }

    /// What happens over the reply to `user`'s query number `event` (0-based over the user's
    /// whole conversation, reconnects included). A query that itself barged in gets no
    /// distractor over its reply (one event per turn); the draw is then between the other two.
    pub fn overlay(&self, user: usize, event: usize, barged_in: bool) -> Overlay {
        let mut rng = StdRng::seed_from_u64(mix_seed(self.seed, user as u64, event as u64));
        let distractor = if barged_in || self.sounds == 0 {
            0.0
        } else {
            self.mix.distractor
        };
        let (turn, interrupt) = (self.mix.turn, self.mix.interrupt);
        let total = turn + interrupt + distractor;
        let draw: f64 = rng.random();
        let after = self.barge_in_after.draw(&mut rng);
        let sound = rng.random_range(0..self.sounds.max(1));
        if total <= 0.0 {
            return Overlay::None;
        }
        let x = draw * total;
        if x < turn {
            Overlay::None
        } else if x < turn + interrupt {
            Overlay::BargeIn { after }
        } else {
            Overlay::Distractor { after, sound }
        }
    }
}

/// SplitMix64 of the seed, user and event: independent streams per event.
fn mix_seed(seed: u64, user: u64, event: u64) -> u64 {
    let mut z = seed
        .wrapping_add(user.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(event.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Silence before each built-in sound (s).
const LEAD_S: f64 = 0.02;

/// The built-in distractor sounds, all shorter than a typical VAD start threshold except the
/// backchannel: a 100 ms noise burst, a 10 ms click, and a 350 ms voiced "mm-hm".
pub fn builtin_sounds() -> Vec<Arc<QueryFile>> {
    let rate = f64::from(TARGET_RATE);
    let lead = vec![0i16; (LEAD_S * rate) as usize];
    let mut rng = StdRng::seed_from_u64(11);
    let noise_len = (0.1 * rate) as usize;
    let noise: Vec<i16> = (0..noise_len)
        .map(|i| {
            let envelope = (std::f64::consts::PI * i as f64 / noise_len as f64).sin();
            let white: f64 = rng.random_range(-1.0..1.0);
            (white * envelope * 0.3 * 32767.0) as i16
        })
        .collect();
    let click_len = (0.01 * rate) as usize;
    let click: Vec<i16> = (0..click_len)
        .map(|i| {
            let decay = (-(i as f64) / (0.0015 * rate)).exp();
            let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
            (sign * decay * 0.6 * 32767.0) as i16
        })
        .collect();
    let backchannel = synthesize_speech(
        TARGET_RATE,
        VoiceParams {
            seconds: 0.35,
            f0_hz: 140.0,
            seed: 23,
            peak: 0.4,
        },
    );
    [
        ("builtin:noise", noise),
        ("builtin:click", click),
        ("builtin:backchannel", backchannel),
    ]
    .into_iter()
    .map(|(name, body)| {
        let mut samples = lead.clone();
        samples.extend(body);
        samples.extend(vec![0i16; (LEAD_S * rate) as usize]);
        let (start, end) = level_bounds(&samples).unwrap_or((0, samples.len()));
        let bytes = crate::audio::riff::pcm16_to_bytes(&samples);
        Arc::new(QueryFile {
            name: name.into(),
            sha256: fsutil::sha256_hex(&bytes),
            samples,
            speech_start: start,
            speech_end: end.max(start + 1),
            source: SpeechEndSource::Detected,
            rate: TARGET_RATE,
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn barge_in_after_reads_lists_and_ranges() {
        assert_eq!(
            "0.8".parse::<BargeInAfter>().unwrap(),
            BargeInAfter::List(vec![0.8])
        );
        assert_eq!(
            "0.5, 1,1.5s".parse::<BargeInAfter>().unwrap(),
            BargeInAfter::List(vec![0.5, 1.0, 1.5])
        );
        assert_eq!(
            "0.5..1.5".parse::<BargeInAfter>().unwrap(),
            BargeInAfter::Range(0.5, 1.5)
        );
        for bad in ["", "x", "2..1", "-1", "0.5..", "1,,2", "100"] {
            assert!(bad.parse::<BargeInAfter>().is_err(), "{bad}");
        }
        assert_eq!(BargeInAfter::Range(0.5, 1.0).to_string(), "0.5..1");
    }

    #[test]
    fn mix_reads_weights() {
        let mix = parse_mix("turn=2, interrupt=1").unwrap();
        assert_eq!((mix.turn, mix.interrupt, mix.distractor), (2.0, 1.0, 0.0));
        for bad in ["", "turn=0", "turn", "talk=1", "turn=-1", "turn=x"] {
            assert!(parse_mix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn draws_are_reproducible_and_follow_the_shares() {
        let planner = Planner {
            mix: DEFAULT_MIX,
            seed: 7,
            barge_in_after: BargeInAfter::Range(0.5, 1.0),
            sounds: 3,
        };
        let draws: Vec<Overlay> = (0..2000).map(|e| planner.overlay(3, e, false)).collect();
        let again: Vec<Overlay> = (0..2000).map(|e| planner.overlay(3, e, false)).collect();
        assert_eq!(draws, again);
        let other_user: Vec<Overlay> = (0..2000).map(|e| planner.overlay(4, e, false)).collect();
        assert_ne!(draws, other_user);
        let count = |f: fn(&Overlay) -> bool| draws.iter().filter(|o| f(o)).count();
        let barge = count(|o| matches!(o, Overlay::BargeIn { .. }));
        let distractor = count(|o| matches!(o, Overlay::Distractor { .. }));
        assert!((500..700).contains(&barge), "{barge}");
        assert!((500..700).contains(&distractor), "{distractor}");
        for overlay in &draws {
            if let Overlay::BargeIn { after } | Overlay::Distractor { after, .. } = overlay {
                assert!((0.5..1.0).contains(&after.as_secs_f64()), "{after:?}");
            }
            if let Overlay::Distractor { sound, .. } = overlay {
                assert!(*sound < 3);
            }
        }
        // After a barge-in there is no distractor.
        assert!(
            (0..500).all(|e| !matches!(planner.overlay(3, e, true), Overlay::Distractor { .. }))
        );
        assert!((0..100).all(|e| Planner::turns().overlay(1, e, false) == Overlay::None));
    }

    #[test]
    fn builtin_sounds_have_their_lengths() {
        let sounds = builtin_sounds();
        let lengths: Vec<f64> = sounds
            .iter()
            .map(|s| (s.speech_end - s.speech_start) as f64 / 16_000.0)
            .collect();
        assert!((0.07..0.11).contains(&lengths[0]), "{lengths:?}");
        assert!(lengths[1] < 0.02, "{lengths:?}");
        assert!((0.2..0.36).contains(&lengths[2]), "{lengths:?}");
        assert!(sounds.iter().all(|s| s.speech_start >= 300));
    }
}
