//! Where speech starts and ends in a 16 kHz mono recording — the one speech-bounds detector
//! behind `prep`'s trimming, `validate`'s checks and `bench`'s speech-end estimate.
//!
//! The WebRTC VAD ([`super::vad::Vad`]) says which 10 ms frames sound like speech; on its own
//! it is too coarse (10 ms steps, a hangover of up to ~90 ms after speech) and too easily
//! fooled (a click, the first frames of steady noise). So its decisions are combined with the
//! signal's energy. Both look at the signal through a 4th-order 100 Hz high-pass, so a DC
//! offset, rumble or mains hum is neither speech nor "loud".
//!
//! The answer must not depend on how much background the recording holds: `validate` and
//! `bench` re-analyse prep's trimmed output (≤ 200 ms before the speech, an 80 ms pad after)
//! and must find the bounds prep found on the whole recording. So the levels are estimated
//! in a way that a short background measures like a long one, the final background level
//! is measured on the background prep keeps, and the edges are found at the sample level,
//! independently of where the 10 ms frame grid falls.
//!
//! 1. The background level comes from minimum statistics: the mean power of the frames within
//!    2 dB of the quietest 100 ms (not a percentile of all frames, which rises when there is
//!    little background). The VAD hears the signal raised (by up to 40 dB, never lowered) so
//!    its 10th loudest frame sits at −20 dBFS — it does not hear speech peaking near −40 dBFS
//!    at all — after first hearing 1 s
//!    of the recording's own background frames (a fresh VAD needs about a second of
//!    background before it hears quiet speech). The speech level is the 95th percentile of
//!    the energies of VAD-speech frames at least 6 dB above the background; speech must be
//!    12 dB above the background.
//! 2. *Active* frames are VAD-speech frames clearly above the background (and within 35 dB of
//!    the speech level). Active frames less than 300 ms apart form one segment.
//! 3. A segment is stretched over loud frames that follow (or precede) it within 300 ms even
//!    when the VAD does not call them speech — the release of a final "t" after its silent
//!    closure, a quiet last syllable — and then over the frames still 5 dB above the
//!    background (and within 45 dB of the speech level), across dips of up to 20 ms: down to
//!    where the fading sound meets the noise.
//! 4. Isolated segments (500 ms of quiet before or after) at either end are not speech when
//!    they are very short (< 60 ms: a click) or short and unvoiced (< 400 ms without 40 ms of
//!    70–400 Hz periodicity: a cough, a knock, a breath). A short voiced word is kept, and a
//!    long pause inside the utterance keeps both phrases.
//! 5. The outer edges of the utterance are found again at the sample level with the rules of
//!    step 3, from its first and last active frames, in 10 ms windows at every sample, then
//!    refined with a 2 ms envelope: the start on the high-passed signal, the end on the same
//!    filter run backwards in time, whose ringing cannot extend past the end of a sound.
//! 6. Steps 2–5 are done again with the levels measured where a copy of the recording
//!    trimmed to the speech has the same sound: the background as the median power of
//!    10 ms windows in the 180 ms up to 20 ms before the speech and the 50 ms from 30 ms
//!    after it (background that prep's defaults keep), the speech level on the speech found
//!    (not on the clicks and coughs around it). So prep's output, analysed again, sees the
//!    same levels to a few hundredths of a dB — which matters: a fading tail that hovers
//!    near the edge level moves the edge by 10–30 ms for a tenth of a dB. When the speech is
//!    more than 3 dB quieter than the loudest sounds the VAD gain came from (a loud cough
//!    after quiet speech), the VAD listens again raised by the speech's own level.
//!
//! Cost: roughly 0.15 s per 10 minutes of audio on one core, most of it the filter and the VAD
//! (the second pass only redoes the cheap frame logic and the local edge search).

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::TARGET_RATE;
use super::pcm::sample_to_i16;
use super::vad::{Vad, VadMode, frame_samples};
use crate::stats::percentile;

/// Length of an analysis frame in milliseconds.
pub const FRAME_MS: u32 = 10;
const FRAME: usize = frame_samples(FRAME_MS);
/// Half-length of the sample-accurate envelope window (1 ms).
const ENVELOPE_HALF: usize = 16;
/// Window of the sample-level edge search (10 ms), how long a dip below the edge level it
/// crosses (20 ms), how far from the speech it looks for loud sound (300 ms), and how much
/// further for the fading edge (200 ms), in samples.
const WINDOW: usize = FRAME;
const GAP: usize = 2 * FRAME;
const BRIDGE: usize = 30 * FRAME;
const REACH: usize = 20 * FRAME;
/// Energy given to digital silence, in dBFS.
const FLOOR_DB: f64 = -100.0;
/// Frames quieter than this (dBFS) are digital silence, which the VAD does not learn from.
const SILENCE_DB: f64 = -90.0;
/// Background frames the VAD hears before the recording (1 s).
const PRIME_FRAMES: usize = 100;
/// Level (dBFS) the VAD hears the loudest frames of quieter speech at, and the most gain used
/// to get there: the WebRTC VAD does not hear speech peaking near -40 dBFS at all.
const VAD_LEVEL_DB: f64 = -20.0;
const MAX_VAD_GAIN_DB: f64 = 40.0;
/// Loud frames that set the VAD gain (100 ms: more than a click).
const LOUD_FRAMES: usize = 10;
/// Samples the high-pass filter settles on before the first one (50 ms).
const SETTLE_LEAD: usize = 800;
/// Where the background next to the speech is measured, relative to its start (before) and
/// end (after), in samples: within what prep keeps by default (200 ms before, 80 ms after),
/// away from the faint onset and fading tail.
const LOCAL_BEFORE: Range<usize> = 20 * FRAME / 10..200 * FRAME / 10;
const LOCAL_AFTER: Range<usize> = 30 * FRAME / 10..80 * FRAME / 10;
/// Fewest 10 ms windows (one per ms) the local background level is taken from (30 ms).
const MIN_LOCAL_WINDOWS: usize = 30;
/// Frames averaged for the background level (100 ms).
const NOISE_WINDOW_FRAMES: usize = 10;

/// Settings of the speech-bounds detector; [`Default`] suits prepared queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpeechConfig {
    /// How strictly the WebRTC VAD separates speech from other sound.
    pub vad_mode: VadMode,
    /// A sound isolated from the rest (see `isolation_ms`) counts as speech only when it lasts
    /// at least this long (milliseconds). Shorter ones are taken for clicks or coughs.
    pub min_isolated_ms: u32,
    /// Silence on either side that makes a sound "isolated" (milliseconds).
    pub isolation_ms: u32,
}

impl Default for SpeechConfig {
    fn default() -> Self {
        SpeechConfig {
            vad_mode: VadMode::Aggressive,
            min_isolated_ms: 400,
            isolation_ms: 500,
        }
    }
}

/// Where speech is in a recording, to the sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeechBounds {
    /// Index of the first sample of speech.
    pub start: usize,
    /// One past the index of the last sample of speech.
    pub end: usize,
    /// Background level next to the speech (median power of its 10 ms windows), dBFS.
    pub noise_floor_dbfs: f64,
    /// Speech level (95th percentile of the energies of speech frames), dBFS.
    pub speech_level_dbfs: f64,
    /// Short isolated sounds that were not taken for speech (sample ranges).
    pub ignored: Vec<Range<usize>>,
}

impl SpeechBounds {
    /// Start of speech in seconds (at 16 kHz).
    pub fn start_s(&self) -> f64 {
        self.start as f64 / f64::from(TARGET_RATE)
    }

    /// End of speech in seconds (at 16 kHz).
    pub fn end_s(&self) -> f64 {
        self.end as f64 / f64::from(TARGET_RATE)
    }
}

/// Finds where speech starts and ends in 16 kHz mono `samples`: the first and one-past-the-last
/// sample of the utterance, both sample-accurate, from WebRTC VAD frame decisions refined by
/// the signal's energy (see the module documentation). `None` when there is no speech at all
/// (silence, steady noise, or only clicks).
pub fn find_speech(samples: &[i16], config: &SpeechConfig) -> Option<SpeechBounds> {
    let mut analysis = Analysis::new(samples, config.vad_mode);
    let found = analysis.bounds(config)?;
    // The VAD heard the recording raised by its loudest sounds. When those are not the
    // speech (a cough or a knock far louder than quiet speech), it hears it again raised by
    // the speech's own level — as it hears a copy trimmed to the speech.
    let speech_frames = found.start / FRAME..found.end.div_ceil(FRAME);
    let gain_db = vad_gain_db(&analysis.energy[speech_frames]);
    if gain_db > analysis.vad_gain_db + 3.0 {
        analysis.listen(gain_db, config.vad_mode);
        return analysis.bounds(config).or(Some(found));
    }
    Some(found)
}

/// Per-frame measurements of one recording.
struct Analysis<'a> {
    /// The high-passed signal, full scale ±1.
    filtered: Vec<f32>,
    /// The recording as given.
    samples: &'a [i16],
    /// Energy of each 10 ms frame of `filtered`, dBFS.
    energy: Vec<f64>,
    /// Background level, dBFS (see [`noise_floor`]).
    noise: f64,
    /// Gain the VAD heard the filtered signal with, dB.
    vad_gain_db: f64,
    /// The VAD's decision for each frame.
    vad: Vec<bool>,
}

/// Energy thresholds derived from the background and speech levels, dBFS.
struct Levels {
    /// A VAD-speech frame this loud is speech.
    active: f64,
    /// A frame this loud just before or after speech belongs to it.
    bridge: f64,
    /// Speech fades out (or in) down to this level.
    edge: f64,
}

/// A run of frames taken for one phrase (frame indices, end exclusive).
#[derive(Debug, Clone)]
struct Segment {
    /// From the first to the last active frame.
    core: Range<usize>,
    /// The core stretched over the sound around it.
    frames: Range<usize>,
}

impl<'a> Analysis<'a> {
    fn new(samples: &'a [i16], mode: VadMode) -> Self {
        let filtered = high_pass(samples);
        let energy: Vec<f64> = filtered
            .chunks(FRAME)
            .map(|frame| {
                let power =
                    frame.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / frame.len() as f64;
                power_db(power)
            })
            .collect();
        let noise = noise_floor(&energy);
        let mut analysis = Analysis {
            samples,
            filtered,
            energy,
            noise,
            vad_gain_db: 0.0,
            vad: Vec::new(),
        };
        analysis.listen(vad_gain_db(&analysis.energy), mode);
        analysis
    }

    /// Runs the VAD over the recording raised by `gain_db`, after 1 s of the recording's own
    /// background.
    fn listen(&mut self, gain_db: f64, mode: VadMode) {
        // The VAD hears the filtered signal too, so a DC offset or hum cannot pass for voice,
        // and raised to a normal speaking level: it misses quiet speech at its true level.
        let gain = 10f64.powf(gain_db / 20.0) as f32;
        let mut vad = Vad::new(mode);
        let mut frame = [0i16; FRAME];
        let mut classify = |vad: &mut Vad, k: usize| {
            let samples = &self.filtered[k * FRAME..((k + 1) * FRAME).min(self.filtered.len())];
            frame.fill(0);
            for (to, &x) in frame.iter_mut().zip(samples) {
                *to = sample_to_i16(x * gain);
            }
            // The frame length is always valid; a failure would mean "not speech".
            vad.is_speech(&frame).unwrap_or(false)
        };
        // Prime the VAD on the recording's own background, so it has learned the noise before
        // the first frame: a fresh VAD needs up to a second of background before it hears
        // quiet speech, which a recording with a short lead-in does not give it.
        let energy = &self.energy;
        let background: Vec<usize> = (0..energy.len())
            .filter(|&k| energy[k] > SILENCE_DB && energy[k] <= self.noise + 3.0)
            .collect();
        if !background.is_empty() {
            for i in 0..PRIME_FRAMES {
                classify(&mut vad, background[i % background.len()]);
            }
        }
        self.vad = (0..energy.len()).map(|k| classify(&mut vad, k)).collect();
        self.vad_gain_db = gain_db;
    }

    fn bounds(&self, config: &SpeechConfig) -> Option<SpeechBounds> {
        let all = 0..self.energy.len();
        let found = self.bounds_over(self.noise, self.speech_level(self.noise, all)?, config)?;
        // Measure both levels again where a copy of the recording trimmed to the speech has
        // the same sound — the background next to the speech, the speech itself (without the
        // clicks and coughs around it) — and find the bounds again against them.
        let noise = self
            .local_noise(found.start, found.end)
            .unwrap_or(self.noise);
        let utterance = found.start / FRAME..found.end.div_ceil(FRAME);
        match self.speech_level(noise, utterance) {
            Some(speech) => self.bounds_over(noise, speech, config).or(Some(found)),
            None => Some(found),
        }
    }

    /// The speech level among `frames`: the 95th percentile of the energies of VAD-speech
    /// frames at least 6 dB above the background (the VAD errs there in loud noise), dBFS.
    fn speech_level(&self, noise: f64, frames: Range<usize>) -> Option<f64> {
        let energies: Vec<f64> = frames
            .filter(|&k| self.vad[k] && self.energy[k] >= noise + 6.0)
            .map(|k| self.energy[k])
            .collect();
        percentile(&energies, 95.0)
    }

    /// The background level next to the speech at `start..end`: the median power of the
    /// 10 ms windows (at every millisecond) in the 180 ms up to 20 ms before the start and
    /// the 50 ms from 30 ms after the end — background that prep's defaults keep around the
    /// speech, so prep's output measures the same. `None` when there is too little of it.
    fn local_noise(&self, start: usize, end: usize) -> Option<f64> {
        let signal = &self.filtered;
        let before =
            start.saturating_sub(LOCAL_BEFORE.end)..start.saturating_sub(LOCAL_BEFORE.start);
        let after =
            (end + LOCAL_AFTER.start).min(signal.len())..(end + LOCAL_AFTER.end).min(signal.len());
        let mut powers: Vec<f64> = [before, after]
            .into_iter()
            .flat_map(|range| {
                sliding_power(&signal[range], FRAME)
                    .into_iter()
                    .step_by(FRAME / 10)
            })
            .collect();
        if powers.len() < MIN_LOCAL_WINDOWS {
            return None;
        }
        let middle = powers.len() / 2;
        let (_, median, _) = powers.select_nth_unstable_by(middle, f64::total_cmp);
        Some(power_db(*median))
    }

    /// The speech bounds against a background level of `noise` and a speech level of `speech`
    /// (dBFS).
    fn bounds_over(&self, noise: f64, speech: f64, config: &SpeechConfig) -> Option<SpeechBounds> {
        let frames = self.energy.len();
        // Speech must stand clearly above the background.
        if speech < noise + 12.0 {
            return None;
        }
        let levels = Levels {
            active: (noise + 12.0).max(speech - 35.0),
            bridge: (noise + 7.0).max(speech - 40.0),
            edge: (noise + 5.0).max(speech - 45.0),
        };
        let active: Vec<bool> = (0..frames)
            .map(|k| self.vad[k] && self.energy[k] >= levels.active)
            .collect();

        let segments = self.segments(&active, &levels);
        let (kept, ignored) = self.choose_segments(&segments, config, &levels);
        let first = kept.first()?;
        let last = kept.last()?;
        let start = self.refine_start(first, &levels);
        let end = self.refine_end(last, &levels);
        if end <= start {
            return None;
        }
        Some(SpeechBounds {
            start,
            end,
            noise_floor_dbfs: noise,
            speech_level_dbfs: speech,
            ignored: ignored
                .iter()
                .map(|s| s.frames.start * FRAME..(s.frames.end * FRAME).min(self.filtered.len()))
                .collect(),
        })
    }

    /// Groups active frames into segments and stretches each over the sound around it.
    fn segments(&self, active: &[bool], levels: &Levels) -> Vec<Segment> {
        let (loud, edge) = (levels.bridge, levels.edge);
        const MERGE_FRAMES: usize = 30; // 300 ms
        const BRIDGE_FRAMES: usize = 30; // 300 ms
        let mut segments: Vec<Segment> = Vec::new();
        for k in (0..active.len()).filter(|&k| active[k]) {
            match segments.last_mut() {
                Some(last) if k - last.frames.end < MERGE_FRAMES => {
                    last.frames.end = k + 1;
                    last.core.end = k + 1;
                }
                _ => segments.push(Segment {
                    core: k..k + 1,
                    frames: k..k + 1,
                }),
            }
        }
        let frames = self.energy.len();
        for segment in &mut segments {
            // Loud sound shortly after (a final plosive, a quiet last syllable).
            let mut end = segment.frames.end;
            let mut k = end;
            while k < frames && k < end + BRIDGE_FRAMES {
                if self.energy[k] >= loud {
                    end = k + 1;
                }
                k += 1;
            }
            // Then the fading tail down to the background, over dips of up to 20 ms.
            while let Some(next) = (end..(end + 3).min(frames)).find(|&k| self.energy[k] >= edge) {
                end = next + 1;
            }
            segment.frames.end = end;

            let mut start = segment.frames.start;
            let mut k = start;
            while k > 0 && k + BRIDGE_FRAMES > start {
                k -= 1;
                if self.energy[k] >= loud {
                    start = k;
                }
            }
            while let Some(previous) = (start.saturating_sub(3)..start)
                .rev()
                .find(|&k| self.energy[k] >= edge)
            {
                start = previous;
            }
            segment.frames.start = start;
        }
        // Stretching can make neighbours touch or overlap: merge them.
        let mut merged: Vec<Segment> = Vec::new();
        for segment in segments {
            match merged.last_mut() {
                Some(last) if segment.frames.start <= last.frames.end => {
                    last.frames.end = last.frames.end.max(segment.frames.end);
                    last.core.end = last.core.end.max(segment.core.end);
                }
                _ => merged.push(segment),
            }
        }
        merged
    }

    /// First sample of `segment`'s speech, found again at the sample level (see [`onset`])
    /// from the segment's first active frame on the high-passed signal.
    fn refine_start(&self, segment: &Segment, levels: &Levels) -> usize {
        let signal = &self.filtered;
        let core = (segment.core.start * FRAME).min(signal.len());
        let from = (segment.frames.start * FRAME)
            .min(core.saturating_sub(BRIDGE))
            .saturating_sub(REACH);
        let to = (core + 2 * WINDOW + GAP).min(signal.len());
        from + onset(&signal[from..to], core - from, levels)
    }

    /// One past the last sample of `segment`'s speech: the [`onset`] of the time-reversed
    /// sound, from the segment's last active frame, on the signal high-passed backwards in
    /// time, whose ringing cannot extend past the end of a sound.
    fn refine_end(&self, segment: &Segment, levels: &Levels) -> usize {
        let len = self.samples.len();
        let core = (segment.core.end * FRAME).min(len);
        let from = core.saturating_sub(2 * WINDOW + GAP);
        let to = ((segment.frames.end * FRAME).max(core + BRIDGE) + REACH).min(len);
        let mut reversed = high_pass_backwards(self.samples, from..to);
        reversed.reverse();
        to - onset(&reversed, to - core, levels)
    }

    /// Splits segments into the utterance and the isolated clicks and coughs before or after
    /// it. An isolated segment is ignored when it is very short, or short and unvoiced (no
    /// pitch: a cough, a knock, a breath) — a short word has a voiced vowel and is kept.
    fn choose_segments<'s>(
        &self,
        segments: &'s [Segment],
        config: &SpeechConfig,
        levels: &Levels,
    ) -> (&'s [Segment], Vec<Segment>) {
        const CLICK_FRAMES: usize = 6; // 60 ms
        const MIN_VOICED_FRAMES: usize = 4; // 40 ms
        let frame_ms = FRAME_MS as usize;
        let min_len = config.min_isolated_ms as usize / frame_ms;
        let isolation = config.isolation_ms as usize / frame_ms;
        let not_speech = |s: &Segment| {
            s.frames.len() < CLICK_FRAMES
                || (s.frames.len() < min_len
                    && self.voiced_frames(s.frames.clone(), levels.bridge) < MIN_VOICED_FRAMES)
        };
        let mut lo = 0;
        let mut hi = segments.len();
        let mut ignored = Vec::new();
        // Only trim while something else remains: a lone sound is judged below.
        while hi - lo > 1 {
            let last = &segments[hi - 1];
            let gap = last.frames.start - segments[hi - 2].frames.end;
            if gap >= isolation && not_speech(last) {
                ignored.push(last.clone());
                hi -= 1;
            } else {
                break;
            }
        }
        while hi - lo > 1 {
            let first = &segments[lo];
            let gap = segments[lo + 1].frames.start - first.frames.end;
            if gap >= isolation && not_speech(first) {
                ignored.push(first.clone());
                lo += 1;
            } else {
                break;
            }
        }
        ignored.sort_by_key(|s| s.frames.start);
        let kept = &segments[lo..hi];
        // One lone click is no speech at all.
        if kept.len() == 1 && kept[0].frames.len() < CLICK_FRAMES {
            return (&segments[0..0], ignored);
        }
        (kept, ignored)
    }

    /// Frames in `frames` louder than `level` whose signal is periodic with a pitch between
    /// 70 and 400 Hz (normalised autocorrelation ≥ 0.6 over 20 ms).
    fn voiced_frames(&self, frames: Range<usize>, level: f64) -> usize {
        const WINDOW: usize = 320;
        const MIN_LAG: usize = (TARGET_RATE / 400) as usize;
        const MAX_LAG: usize = (TARGET_RATE / 70) as usize;
        let x = &self.filtered;
        frames
            .filter(|&k| self.energy[k] >= level)
            .filter(|&k| {
                let from = k * FRAME;
                if from + WINDOW + MAX_LAG > x.len() {
                    return false;
                }
                let head = &x[from..from + WINDOW];
                let head_power: f64 = head.iter().map(|&v| f64::from(v).powi(2)).sum();
                (MIN_LAG..=MAX_LAG).any(|lag| {
                    let tail = &x[from + lag..from + lag + WINDOW];
                    let (mut cross, mut tail_power) = (0.0f64, 0.0f64);
                    for (&a, &b) in head.iter().zip(tail) {
                        cross += f64::from(a) * f64::from(b);
                        tail_power += f64::from(b).powi(2);
                    }
                    cross >= 0.6 * (head_power * tail_power).sqrt() && cross > 0.0
                })
            })
            .count()
    }
}

/// Gain (dB) that brings the loudest 100 ms of the recording (its 10th loudest frame) up to
/// a normal speaking level for the VAD; never a cut.
fn vad_gain_db(energy: &[f64]) -> f64 {
    let mut sorted = energy.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let Some(&reference) = sorted.get(LOUD_FRAMES.min(sorted.len()).saturating_sub(1)) else {
        return 0.0;
    };
    (VAD_LEVEL_DB - reference).clamp(0.0, MAX_VAD_GAIN_DB)
}

/// The background level from frame energies (dBFS): the mean power of the frames within
/// 2 dB of the quietest 100 ms (minimum statistics). Unlike a percentile of all frames it
/// does not depend on how much of the recording is background, so a trimmed query measures
/// like its source recording.
fn noise_floor(energy: &[f64]) -> f64 {
    let power: Vec<f64> = energy.iter().map(|&db| db_to_power(db)).collect();
    let window = NOISE_WINDOW_FRAMES.min(power.len());
    if window == 0 {
        return FLOOR_DB;
    }
    let quietest = power
        .windows(window)
        .map(|w| w.iter().sum::<f64>() / window as f64)
        .fold(f64::INFINITY, f64::min);
    let limit = quietest * db_to_power(2.0);
    let (sum, count) = power
        .iter()
        .filter(|&&p| p <= limit)
        .fold((0.0, 0usize), |(sum, count), &p| (sum + p, count + 1));
    if count == 0 {
        return power_db(quietest);
    }
    power_db(sum / count as f64)
}

/// Energy of the 2 ms of `signal` around sample `i`, dBFS.
fn envelope_db(signal: &[f32], i: usize) -> f64 {
    let from = i.saturating_sub(ENVELOPE_HALF);
    let to = (i + ENVELOPE_HALF).min(signal.len());
    let window = &signal[from..to];
    let power =
        window.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / window.len().max(1) as f64;
    power_db(power)
}

/// Where a sound under way at sample `core` of `signal` (high-passed) begins, to the sample
/// — the same rules as the frame-level stretching, redone independently of where the 10 ms
/// frame grid falls, so the same sound gets the same edge however the recording was
/// trimmed: back from `core` over loud sound (10 ms windows at the bridge level) within
/// 300 ms, then over the fading-in sound (20 ms windows at the edge level) across dips of up
/// to 20 ms; then to the first sample whose 2 ms envelope reaches the edge level, and on to
/// the first sample that loud on its own (so the envelope's width does not lengthen the
/// speech).
fn onset(signal: &[f32], core: usize, levels: &Levels) -> usize {
    // power[p]: mean power of the window starting at p.
    let power = sliding_power(signal, WINDOW);
    if power.is_empty() {
        return core.min(signal.len());
    }
    let (bridge, edge) = (db_to_power(levels.bridge), db_to_power(levels.edge));
    // The sound may begin anywhere in the first active frame: start from its end.
    let anchor = (core.saturating_sub(BRIDGE)..=core + FRAME)
        .take_while(|&p| p < power.len())
        .find(|&p| power[p] >= bridge)
        .unwrap_or(core + FRAME)
        .min(power.len() - 1);
    let mut first = anchor;
    for p in (0..=anchor).rev() {
        if power[p] >= edge {
            first = p;
        } else if first - p > GAP {
            break;
        }
    }
    let Some(onset) = (first..(first + WINDOW).min(signal.len()))
        .find(|&i| envelope_db(signal, i) >= levels.edge)
    else {
        return first;
    };
    let amplitude = 10f64.powf(levels.edge / 20.0) as f32;
    (onset..(onset + ENVELOPE_HALF).min(signal.len()))
        .find(|&i| signal[i].abs() >= amplitude)
        .unwrap_or(onset)
}

/// Mean power of `signal` in every window of `window` samples, by the window's first sample
/// (empty when the signal is shorter).
fn sliding_power(signal: &[f32], window: usize) -> Vec<f64> {
    if window == 0 || signal.len() < window {
        return Vec::new();
    }
    let mut sum: f64 = signal[..window].iter().map(|&x| f64::from(x).powi(2)).sum();
    let mut power = Vec::with_capacity(signal.len() - window + 1);
    power.push(sum / window as f64);
    for i in window..signal.len() {
        sum += f64::from(signal[i]).powi(2) - f64::from(signal[i - window]).powi(2);
        power.push(sum.max(0.0) / window as f64);
    }
    power
}

/// Power of a level in dBFS.
fn db_to_power(db: f64) -> f64 {
    10f64.powf(db / 10.0)
}

/// `x` in dB relative to full-scale power, floored at [`FLOOR_DB`].
fn power_db(power: f64) -> f64 {
    if power > 0.0 {
        (10.0 * power.log10()).max(FLOOR_DB)
    } else {
        FLOOR_DB
    }
}

/// A fourth-order Butterworth high-pass at 100 Hz (two RBJ biquads), output at full scale
/// ±1: removes DC offset, rumble and most of the mains hum without touching speech.
fn high_pass(samples: &[i16]) -> Vec<f32> {
    const CUTOFF_HZ: f64 = 100.0;
    // Q of the two second-order sections of a fourth-order Butterworth filter.
    const QS: [f64; 2] = [0.541_196_100_146_197, 1.306_562_964_876_376_4];
    let w0 = 2.0 * std::f64::consts::PI * CUTOFF_HZ / f64::from(TARGET_RATE);
    let cos = w0.cos();
    let mut sections = QS.map(|q| {
        let alpha = w0.sin() / (2.0 * q);
        let a0 = 1.0 + alpha;
        Biquad {
            b0: (1.0 + cos) / 2.0 / a0,
            b1: -(1.0 + cos) / a0,
            b2: (1.0 + cos) / 2.0 / a0,
            a1: -2.0 * cos / a0,
            a2: (1.0 - alpha) / a0,
            state: [0.0; 4],
        }
    });
    // Settle the filter on the first 50 ms mirrored (point-symmetric about the first sample,
    // which continues a hum or a DC offset without a step), so the recording's first frames
    // carry no start-up transient and measure like the same sound later in a longer file.
    if let Some(&first) = samples.first() {
        let x0 = f64::from(first) / 32768.0;
        let lead = SETTLE_LEAD.min(samples.len() - 1);
        let mirrored = |i: usize| 2.0 * x0 - f64::from(samples[i]) / 32768.0;
        let x = mirrored(lead);
        sections[0].state = [x, x, 0.0, 0.0];
        for i in (1..=lead).rev() {
            sections
                .iter_mut()
                .fold(mirrored(i), |x, section| section.process(x));
        }
    }
    samples
        .iter()
        .map(|&s| {
            let x = f64::from(s) / 32768.0;
            sections.iter_mut().fold(x, |x, section| section.process(x)) as f32
        })
        .collect()
}

/// [`high_pass`] run backwards in time over `range` of `samples` (starting 100 ms after it, so
/// the filter has settled): its ringing precedes sounds instead of following them, so it
/// cannot lengthen the end of speech.
fn high_pass_backwards(samples: &[i16], range: Range<usize>) -> Vec<f32> {
    const SETTLE: usize = TARGET_RATE as usize / 10;
    let settle_end = (range.end + SETTLE).min(samples.len());
    let reversed: Vec<i16> = samples[range.start..settle_end]
        .iter()
        .rev()
        .copied()
        .collect();
    let mut filtered = high_pass(&reversed);
    filtered.reverse();
    filtered.truncate(range.len());
    filtered
}

/// One second-order IIR section (direct form I).
struct Biquad {
    b0: f64,
    b1: f64,
    b2: f64,
    a1: f64,
    a2: f64,
    /// x[n-1], x[n-2], y[n-1], y[n-2].
    state: [f64; 4],
}

impl Biquad {
    fn process(&mut self, x: f64) -> f64 {
        let [x1, x2, y1, y2] = self.state;
        let y = self.b0 * x + self.b1 * x1 + self.b2 * x2 - self.a1 * y1 - self.a2 * y2;
        self.state = [x, x1, y, y1];
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: usize = TARGET_RATE as usize;
    const VOICES: [&str; 4] = ["front_center", "rear_left", "side_right", "front_left"];

    /// Real recorded voice (16 kHz mono) whose speech ends at the last sample.
    fn voice(name: &str) -> Vec<f64> {
        let path = format!(
            "{}/tests/fixtures/audio/voice_{name}.wav",
            env!("CARGO_MANIFEST_DIR")
        );
        hound::WavReader::open(&path)
            .unwrap()
            .samples::<i16>()
            .map(|s| f64::from(s.unwrap()) / 32768.0)
            .collect()
    }

    /// Deterministic Gaussian noise (xorshift + Box-Muller).
    struct Noise(u64);

    impl Noise {
        fn uniform(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }

        fn gaussian(&mut self) -> f64 {
            let a = self.uniform().max(1e-300);
            let b = self.uniform();
            (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()
        }
    }

    fn db(frame: &[f64]) -> f64 {
        10.0 * (frame.iter().map(|v| v * v).sum::<f64>() / frame.len() as f64)
            .max(1e-12)
            .log10()
    }

    /// The 95th percentile of the clean voice's 10 ms frame energies.
    fn speech_level(voice: &[f64]) -> f64 {
        let energies: Vec<f64> = voice.chunks(FRAME).map(db).collect();
        percentile(&energies, 95.0).unwrap()
    }

    /// Start of the first and end of the last 10 ms frame of `voice` at least `level` dBFS.
    fn audible(voice: &[f64], level: f64) -> (usize, usize) {
        let loud: Vec<usize> = voice
            .chunks(FRAME)
            .enumerate()
            .filter(|(_, f)| db(f) >= level)
            .map(|(k, _)| k)
            .collect();
        (
            loud[0] * FRAME,
            ((loud[loud.len() - 1] + 1) * FRAME).min(voice.len()),
        )
    }

    fn pcm(signal: &[f64]) -> Vec<i16> {
        signal
            .iter()
            .map(|&x| (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
            .collect()
    }

    /// A recording: 0.5 s, the voice, then 1.5 s, with background noise of `noise_db` dBFS
    /// (white, or 50 Hz mains hum with harmonics when `hum`).
    struct Scene {
        signal: Vec<f64>,
        /// Where the voice starts and ends (its first and one-past-last sample).
        voice_start: usize,
        voice_end: usize,
        /// Where it is clearly audible over the background.
        audible_start: usize,
        audible_end: usize,
    }

    fn scene(voice: &[f64], noise_db: Option<f64>, hum: bool) -> Scene {
        let lead = RATE / 2;
        let mut signal = vec![0.0; lead];
        signal.extend_from_slice(voice);
        signal.resize(signal.len() + RATE * 3 / 2, 0.0);
        let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
        if let Some(level) = noise_db {
            let amplitude = 10f64.powf(level / 20.0);
            for (i, x) in signal.iter_mut().enumerate() {
                *x += if hum {
                    let t = i as f64 / RATE as f64;
                    let w = 2.0 * std::f64::consts::PI * 50.0 * t;
                    // RMS of this mix is 0.648, so scale it to the wanted level.
                    amplitude / 0.648
                        * (0.8 * w.sin() + 0.4 * (3.0 * w).sin() + 0.2 * (5.0 * w).sin())
                } else {
                    amplitude * noise.gaussian()
                };
            }
        }
        let level = (noise_db.unwrap_or(-100.0) + 10.0).max(speech_level(voice) - 40.0);
        let (start, end) = audible(voice, level);
        Scene {
            signal,
            voice_start: lead,
            voice_end: lead + voice.len(),
            audible_start: lead + start,
            audible_end: lead + end,
        }
    }

    const PAD: usize = RATE / 10;

    /// The trimming contract with a 100 ms pad: the output (speech end + pad) keeps all
    /// audible speech and ends at most 100 ms after the voice does.
    fn check(scene: &Scene, bounds: &SpeechBounds, what: &str) {
        let out_end = (bounds.end + PAD).min(scene.signal.len());
        assert!(
            out_end >= scene.audible_end,
            "{what}: cuts speech: output ends {} ms before the audible end",
            (scene.audible_end - out_end) / 16
        );
        assert!(
            out_end <= scene.voice_end + PAD,
            "{what}: {} ms of trailing non-speech",
            (out_end - scene.voice_end) / 16
        );
        assert!(
            bounds.start + RATE / 50 >= scene.voice_start
                && bounds.start <= scene.audible_start + FRAME,
            "{what}: start {} vs voice {}..audible {}",
            bounds.start,
            scene.voice_start,
            scene.audible_start
        );
    }

    #[test]
    fn clean_and_noisy_recordings_end_where_speech_ends() {
        let backgrounds: [(Option<f64>, bool); 7] = [
            (None, false),
            (Some(-60.0), false),
            (Some(-45.0), false),
            (Some(-35.0), false),
            (Some(-60.0), true),
            (Some(-40.0), true),
            (Some(-35.0), true),
        ];
        for name in VOICES {
            let voice = voice(name);
            for (noise, hum) in backgrounds {
                let scene = scene(&voice, noise, hum);
                let what = format!(
                    "{name} with {noise:?} dBFS {}",
                    if hum { "hum" } else { "noise" }
                );
                let bounds = find_speech(&pcm(&scene.signal), &SpeechConfig::default())
                    .unwrap_or_else(|| panic!("{what}: no speech found"));
                check(&scene, &bounds, &what);
                assert!(bounds.ignored.is_empty(), "{what}: {:?}", bounds.ignored);
            }
        }
    }

    #[test]
    fn quiet_fading_last_word_is_kept() {
        for name in VOICES {
            let mut voice = voice(name);
            // The last 400 ms trail off to -25 dB.
            let n = voice.len();
            let fade = RATE * 2 / 5;
            for i in 0..fade {
                voice[n - fade + i] *= 10f64.powf(-25.0 * i as f64 / fade as f64 / 20.0);
            }
            for noise in [None, Some(-50.0)] {
                let scene = scene(&voice, noise, false);
                let bounds = find_speech(&pcm(&scene.signal), &SpeechConfig::default()).unwrap();
                check(&scene, &bounds, &format!("faded {name}, noise {noise:?}"));
            }
        }
    }

    #[test]
    fn long_pause_inside_the_utterance_keeps_both_phrases() {
        let first = voice("front_center");
        let second = voice("side_right");
        let mut both = first.clone();
        both.resize(first.len() + RATE * 3 / 2, 0.0);
        both.extend_from_slice(&second);
        for noise in [None, Some(-45.0)] {
            let scene = scene(&both, noise, false);
            let bounds = find_speech(&pcm(&scene.signal), &SpeechConfig::default()).unwrap();
            check(&scene, &bounds, &format!("pause, noise {noise:?}"));
            assert!(bounds.start < scene.voice_start + first.len() / 4);
        }
    }

    #[test]
    fn short_words_around_a_pause_are_speech() {
        // The first 250 ms of "Front", 0.8 s of silence, then a phrase; and a phrase, 0.6 s,
        // then the first 300 ms of "Rear": short voiced sounds, shorter than
        // `min_isolated_ms`.
        let start_of = |v: Vec<f64>, ms: usize| -> Vec<f64> {
            let n = RATE * ms / 1000;
            let fade = RATE / 100;
            (0..n)
                .map(|i| v[i] * ((n - i) as f64 / fade as f64).min(1.0))
                .collect()
        };
        let front = start_of(voice("front_center"), 250);
        let rear = start_of(voice("rear_left"), 300);
        let mut leading = front.clone();
        leading.resize(front.len() + RATE * 4 / 5, 0.0);
        leading.extend_from_slice(&voice("side_right"));
        let mut trailing = voice("side_right");
        trailing.resize(trailing.len() + RATE * 3 / 5, 0.0);
        trailing.extend_from_slice(&rear);
        for (signal, what) in [(leading, "leading word"), (trailing, "trailing word")] {
            for noise in [None, Some(-45.0)] {
                let scene = scene(&signal, noise, false);
                let bounds = find_speech(&pcm(&scene.signal), &SpeechConfig::default()).unwrap();
                check(&scene, &bounds, &format!("{what}, noise {noise:?}"));
                assert!(bounds.ignored.is_empty(), "{what}: {:?}", bounds.ignored);
            }
        }
    }

    /// Adds a short sound `after` samples past the voice's end.
    fn with_sound_after(scene: &mut Scene, after: usize, sound: &[f64]) -> Range<usize> {
        let at = scene.voice_end + after;
        for (x, s) in scene.signal[at..].iter_mut().zip(sound) {
            *x += s;
        }
        at..at + sound.len()
    }

    #[test]
    fn isolated_click_or_cough_after_speech_is_not_the_end() {
        let click: Vec<f64> = (0..48)
            .map(|i| 0.9 * (-(i as f64) / 8.0).exp() * if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        // A cough: 250 ms of low-passed noise under a fast-attack envelope, peaking near
        // -15 dBFS.
        let mut noise = Noise(42);
        let mut low = 0.0;
        let cough: Vec<f64> = (0..RATE / 4)
            .map(|i| {
                let t = i as f64 / (RATE / 4) as f64;
                low = 0.7 * low + 0.3 * noise.gaussian();
                0.5 * (std::f64::consts::PI * t).sin().powi(2) * (-3.0 * t).exp() * low
            })
            .collect();
        for name in VOICES {
            for (sound, what) in [(&click, "click"), (&cough, "cough")] {
                for noise in [None, Some(-45.0)] {
                    let mut scene = scene(&voice(name), noise, false);
                    let at = with_sound_after(&mut scene, RATE * 7 / 10, sound);
                    let what = format!("{name} + {what}, noise {noise:?}");
                    let bounds = find_speech(&pcm(&scene.signal), &SpeechConfig::default())
                        .unwrap_or_else(|| panic!("{what}: no speech"));
                    check(&scene, &bounds, &what);
                    assert_eq!(bounds.ignored.len(), 1, "{what}");
                    let ignored = &bounds.ignored[0];
                    assert!(
                        ignored.start < at.end && ignored.end > at.start,
                        "{what}: {ignored:?} vs {at:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn no_speech_at_all() {
        let config = SpeechConfig::default();
        assert_eq!(find_speech(&[], &config), None);
        assert_eq!(find_speech(&[0; 32_000], &config), None);
        let mut noise = Noise(7);
        let hiss: Vec<f64> = (0..48_000).map(|_| 0.02 * noise.gaussian()).collect();
        assert_eq!(find_speech(&pcm(&hiss), &config), None);
        let mut click = vec![0.0; 32_000];
        for (i, x) in click[16_000..16_040].iter_mut().enumerate() {
            *x = 0.8 * (-(i as f64) / 6.0).exp();
        }
        assert_eq!(find_speech(&pcm(&click), &config), None);
    }

    #[test]
    fn dc_offset_and_rumble_are_not_speech() {
        let voice = voice("rear_left");
        let mut scene = scene(&voice, None, false);
        for (i, x) in scene.signal.iter_mut().enumerate() {
            let t = i as f64 / RATE as f64;
            *x += 0.05 + 0.02 * (2.0 * std::f64::consts::PI * 20.0 * t).sin();
        }
        let bounds = find_speech(&pcm(&scene.signal), &SpeechConfig::default()).unwrap();
        check(&scene, &bounds, "dc + rumble");
    }

    #[test]
    fn any_length_and_content_is_handled() {
        let spoken = pcm(&voice("front_center"));
        let mut noise = Noise(3);
        let loud: Vec<i16> = (0..40_000)
            .map(|_| (noise.gaussian() * 12_000.0) as i16)
            .collect();
        for len in [1, 2, 15, 159, 160, 161, 479, 480, 999, 3_000, 7_777] {
            for source in [&spoken, &loud] {
                let samples = &source[..len.min(source.len())];
                if let Some(b) = find_speech(samples, &SpeechConfig::default()) {
                    assert!(b.start < b.end && b.end <= samples.len(), "{len}: {b:?}");
                }
            }
        }
        let full_scale = vec![i16::MAX; 16_000];
        assert!(find_speech(&full_scale, &SpeechConfig::default()).is_none());
        for mode in [
            VadMode::Quality,
            VadMode::LowBitrate,
            VadMode::VeryAggressive,
        ] {
            let config = SpeechConfig {
                vad_mode: mode,
                ..SpeechConfig::default()
            };
            let scene = scene(&voice("rear_left"), Some(-50.0), false);
            let bounds = find_speech(&pcm(&scene.signal), &config).unwrap();
            assert!(
                bounds.end > scene.voice_end - RATE / 5 && bounds.end <= scene.voice_end,
                "{mode:?}"
            );
        }
    }

    #[test]
    fn speech_at_the_very_edges() {
        let voice = voice("side_right");
        let bounds = find_speech(&pcm(&voice), &SpeechConfig::default()).unwrap();
        assert!(bounds.start < 160, "{}", bounds.start);
        assert!(bounds.end + 160 >= voice.len() && bounds.end <= voice.len());
        assert!((bounds.end_s() - bounds.end as f64 / 16_000.0).abs() < 1e-12);
    }

    // ---- The hard cases: quiet speech, little background; and the same answer on prep's
    // ---- trimmed output as on the whole recording.

    /// What surrounds the voice in a hard case.
    #[derive(Debug, Clone, Copy)]
    enum Background {
        /// Digital silence.
        Silence,
        /// White noise of this RMS level, dBFS.
        Noise(f64),
        /// 50 Hz mains hum (with its 3rd and 5th harmonics) of this RMS level, dBFS.
        Hum(f64),
    }

    impl Background {
        fn samples(self, len: usize) -> Vec<f64> {
            let mut noise = Noise(0x2545_F491_4F6C_DD1D);
            (0..len)
                .map(|i| match self {
                    Background::Silence => 0.0,
                    Background::Noise(level) => 10f64.powf(level / 20.0) * noise.gaussian(),
                    Background::Hum(level) => {
                        let w = 2.0 * std::f64::consts::PI * 50.0 * i as f64 / RATE as f64;
                        10f64.powf(level / 20.0) / 0.648
                            * (0.8 * w.sin() + 0.4 * (3.0 * w).sin() + 0.2 * (5.0 * w).sin())
                    }
                })
                .collect()
        }
    }

    /// Energies (dBFS) of the 10 ms frames of `signal` above 100 Hz — speech as heard over
    /// a hum, which is mostly below.
    fn energies_above_100_hz(signal: &[f64]) -> Vec<f64> {
        high_pass(&pcm(signal))
            .chunks(FRAME)
            .map(|frame| db(&frame.iter().map(|&x| f64::from(x)).collect::<Vec<_>>()))
            .collect()
    }

    /// `voice` scaled to peak at `peak_dbfs` (its own level when `None`), with `lead_ms`
    /// before and `tail_ms` after, over `background`. It is audible where its frames above
    /// 100 Hz are 6 dB over the background's (and within 40 dB of its speech level).
    fn hard_case(
        voice: &[f64],
        peak_dbfs: Option<f64>,
        lead_ms: usize,
        tail_ms: usize,
        background: Background,
    ) -> Scene {
        let peak = voice.iter().fold(0.0f64, |m, &x| m.max(x.abs()));
        let gain = peak_dbfs.map_or(1.0, |level| 10f64.powf(level / 20.0) / peak);
        let voice: Vec<f64> = voice.iter().map(|x| x * gain).collect();
        let lead = lead_ms * RATE / 1000;
        let mut signal = vec![0.0; lead];
        signal.extend_from_slice(&voice);
        signal.resize(signal.len() + tail_ms * RATE / 1000, 0.0);
        let around = background.samples(signal.len());
        for (x, b) in signal.iter_mut().zip(around) {
            *x += b;
        }
        let background_db = {
            let energies = energies_above_100_hz(&background.samples(RATE));
            let power = energies[5..]
                .iter()
                .map(|&e| 10f64.powf(e / 10.0))
                .sum::<f64>();
            10.0 * (power / (energies.len() - 5) as f64).max(1e-10).log10()
        };
        let energies = energies_above_100_hz(&voice);
        let level = (background_db + 6.0).max(percentile(&energies, 95.0).unwrap() - 40.0);
        let audible: Vec<usize> = (0..energies.len())
            .filter(|&k| energies[k] >= level)
            .collect();
        Scene {
            voice_start: lead,
            voice_end: lead + voice.len(),
            audible_start: lead + audible[0] * FRAME,
            audible_end: lead + ((audible[audible.len() - 1] + 1) * FRAME).min(voice.len()),
            signal,
        }
    }

    /// prep's defaults: background kept before and after the speech, samples.
    const KEEP: usize = RATE / 5;
    fn prep_pad() -> usize {
        crate::dataset::manifest::PrepSettings::default().pad_ms as usize * RATE / 1000
    }

    /// Finds the speech as prep does and checks the query prep would cut: nothing audible
    /// cut at either end, edges within a frame or so of the audible voice, at most 100 ms of
    /// non-speech after it; then re-analyses that query, which must give the same bounds
    /// (within 10 ms) and pass validate's 100 ms trailing limit. Returns the bounds.
    fn check_trimmed(scene: &Scene, what: &str) -> SpeechBounds {
        let config = SpeechConfig::default();
        let samples = pcm(&scene.signal);
        let b = find_speech(&samples, &config).unwrap_or_else(|| panic!("{what}: no speech"));
        let ms = |n: usize| n as f64 / 16.0;
        let out_start = b.start.saturating_sub(KEEP);
        let out_end = (b.end + prep_pad()).min(samples.len());
        assert!(
            out_start <= scene.audible_start && b.start <= scene.audible_start + FRAME,
            "{what}: start {} ms after the audible voice",
            ms(b.start) - ms(scene.audible_start)
        );
        assert!(
            b.start + RATE / 50 >= scene.voice_start,
            "{what}: start {} ms before the voice",
            ms(scene.voice_start) - ms(b.start)
        );
        assert!(
            // (The audible end is that of a 10 ms frame.)
            out_end >= scene.audible_end && b.end + FRAME * 3 / 2 >= scene.audible_end,
            "{what}: end {} ms before the audible voice ends",
            ms(scene.audible_end) - ms(b.end)
        );
        assert!(
            out_end <= scene.voice_end + RATE / 10,
            "{what}: {} ms of non-speech kept after the voice",
            ms(out_end) - ms(scene.voice_end)
        );
        let query = &samples[out_start..out_end];
        let again = find_speech(query, &config)
            .unwrap_or_else(|| panic!("{what}: no speech in the trimmed query"));
        let start_moved = ms(again.start + out_start) - ms(b.start);
        let end_moved = ms(again.end + out_start) - ms(b.end);
        assert!(
            start_moved.abs() <= 10.0 && end_moved.abs() <= 10.0,
            "{what}: the trimmed query's bounds move by {start_moved} ms (start) and \
             {end_moved} ms (end)"
        );
        assert!(ms(query.len() - again.end) <= 100.0, "{what}");
        b
    }

    #[test]
    fn prep_keeps_the_background_the_level_is_measured_on() {
        let prep = crate::dataset::manifest::PrepSettings::default();
        assert!(prep.keep_leading_ms as usize * RATE / 1000 >= LOCAL_BEFORE.end);
        assert!(prep.pad_ms as usize * RATE / 1000 >= LOCAL_AFTER.end);
    }

    #[test]
    fn quiet_speech_with_little_background_is_kept_whole() {
        for name in VOICES {
            let voice = voice(name);
            for peak in [-45.0, -40.0, -35.0] {
                for (lead, tail) in [(100, 100), (200, 150), (300, 300)] {
                    for background in [
                        Background::Silence,
                        Background::Noise(peak - 30.0),
                        Background::Hum(peak - 25.0),
                    ] {
                        let scene = hard_case(&voice, Some(peak), lead, tail, background);
                        let what =
                            format!("{name} at {peak} dBFS, {lead}/{tail} ms, {background:?}");
                        let bounds = check_trimmed(&scene, &what);
                        assert!(bounds.ignored.is_empty(), "{what}: {:?}", bounds.ignored);
                    }
                }
            }
        }
    }

    #[test]
    fn speech_in_noise_and_hum_with_little_background_is_kept_whole() {
        for name in VOICES {
            let voice = voice(name);
            for (lead, tail) in [(100, 100), (300, 300)] {
                for background in [
                    Background::Noise(-60.0),
                    Background::Noise(-45.0),
                    Background::Noise(-35.0),
                    Background::Hum(-60.0),
                    Background::Hum(-45.0),
                    Background::Hum(-35.0),
                ] {
                    let scene = hard_case(&voice, None, lead, tail, background);
                    check_trimmed(&scene, &format!("{name}, {lead}/{tail} ms, {background:?}"));
                }
            }
        }
    }

    #[test]
    fn hard_cases_fading_word_pause_click_and_cough() {
        let fade = |mut voice: Vec<f64>| {
            // The last 400 ms trail off to -25 dB.
            let n = voice.len();
            let len = RATE * 2 / 5;
            for i in 0..len {
                voice[n - len + i] *= 10f64.powf(-25.0 * i as f64 / len as f64 / 20.0);
            }
            voice
        };
        for name in VOICES {
            for (peak, background) in [
                (Some(-40.0), Background::Silence),
                (Some(-40.0), Background::Noise(-70.0)),
                (None, Background::Noise(-50.0)),
            ] {
                let scene = hard_case(&fade(voice(name)), peak, 200, 150, background);
                check_trimmed(&scene, &format!("faded {name} at {peak:?}, {background:?}"));
            }
        }

        // A 1.5 s pause inside the utterance: both phrases kept.
        let first = voice("front_center");
        let mut both = first.clone();
        both.resize(first.len() + RATE * 3 / 2, 0.0);
        both.extend_from_slice(&voice("side_right"));
        for (peak, background) in [
            (Some(-40.0), Background::Noise(-70.0)),
            (Some(-35.0), Background::Hum(-60.0)),
            (None, Background::Noise(-45.0)),
        ] {
            let scene = hard_case(&both, peak, 150, 150, background);
            let what = format!("pause at {peak:?}, {background:?}");
            let bounds = check_trimmed(&scene, &what);
            assert!(bounds.start < scene.voice_start + first.len() / 4, "{what}");
        }

        // A click or a cough 700 ms after the speech: ignored.
        let click: Vec<f64> = (0..48)
            .map(|i| 0.9 * (-(i as f64) / 8.0).exp() * if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let mut noise = Noise(42);
        let mut low = 0.0;
        let cough: Vec<f64> = (0..RATE / 4)
            .map(|i| {
                let t = i as f64 / (RATE / 4) as f64;
                low = 0.7 * low + 0.3 * noise.gaussian();
                0.5 * (std::f64::consts::PI * t).sin().powi(2) * (-3.0 * t).exp() * low
            })
            .collect();
        for name in VOICES {
            for (sound, kind) in [(&click, "click"), (&cough, "cough")] {
                for (peak, background) in [
                    (Some(-45.0), Background::Noise(-75.0)),
                    (Some(-42.0), Background::Noise(-72.0)),
                    (Some(-40.0), Background::Silence),
                    (Some(-35.0), Background::Noise(-65.0)),
                    (None, Background::Noise(-50.0)),
                ] {
                    let mut scene = hard_case(&voice(name), peak, 200, 1200, background);
                    let at = with_sound_after(&mut scene, RATE * 7 / 10, sound);
                    let what = format!("{name} at {peak:?} + {kind}, {background:?}");
                    let bounds = check_trimmed(&scene, &what);
                    assert_eq!(bounds.ignored.len(), 1, "{what}");
                    let ignored = &bounds.ignored[0];
                    assert!(
                        ignored.start < at.end && ignored.end > at.start,
                        "{what}: {ignored:?} vs {at:?}"
                    );
                }
            }
        }
    }
}
