//! One recording through the pipeline: decode → mono → 16 kHz → speech bounds → trim →
//! (normalise) → 16-bit samples, with everything worth recording about it.

use crate::audio::decode::{DecodedAudio, decode_bytes};
use crate::audio::mix::to_mono;
use crate::audio::pcm::{amplitude_dbfs, gain_to_peak, peak, to_pcm16};
use crate::audio::resample::to_target_rate;
use crate::audio::speech::{SpeechConfig, find_speech};
use crate::audio::{TARGET_RATE, wav};
use crate::dataset::Limits;
use crate::dataset::manifest::{ManifestEntry, PrepSettings};

const RATE: f64 = TARGET_RATE as f64;

/// A prepared query, not yet written.
#[derive(Debug, Clone)]
pub struct PreparedQuery {
    /// The WAV file's bytes.
    pub wav: Vec<u8>,
    /// Its manifest entry (with `output_sha256` filled in).
    pub entry: ManifestEntry,
}

/// Runs a recording's bytes through the pipeline. `source` is the name recorded in the
/// manifest; errors are one line, without the file name.
pub fn prepare(
    bytes: &[u8],
    extension: Option<&str>,
    source: String,
    source_sha256: String,
    settings: &PrepSettings,
) -> Result<PreparedQuery, String> {
    let decoded = decode_bytes(bytes, extension).map_err(|e| e.to_string())?;
    let DecodedAudio {
        channels,
        format,
        warnings: mut notes,
        ..
    } = decoded;
    let mono = to_mono(channels, settings.channel).map_err(|e| e.to_string())?;
    notes.extend(mono.warning.clone());
    let audio = to_target_rate(&mono.samples, format.sample_rate).map_err(|e| e.to_string())?;
    drop(mono.samples);

    let analysed = to_pcm16(&audio);
    let config = SpeechConfig {
        vad_mode: settings.vad_mode,
        ..SpeechConfig::default()
    };
    let Some(bounds) = find_speech(&analysed.samples, &config) else {
        let level = amplitude_dbfs(f64::from(peak(&audio)));
        return Err(if level.is_finite() {
            format!("no speech found (peak level {level:.0} dBFS)")
        } else {
            "no speech found (the recording is digital silence)".to_string()
        });
    };

    let len = audio.len();
    let out_start = bounds
        .start
        .saturating_sub(ms_to_samples(settings.keep_leading_ms));
    let out_end = (bounds.end + ms_to_samples(settings.pad_ms)).min(len);
    let kept = &audio[out_start..out_end];
    let gain = settings
        .normalize_peak_dbfs
        .and_then(|target| gain_to_peak(kept, target));
    let query = match gain {
        Some(gain) => {
            let scaled: Vec<f32> = kept.iter().map(|&x| (f64::from(x) * gain) as f32).collect();
            to_pcm16(&scaled)
        }
        None => to_pcm16(kept),
    };

    for ignored in &bounds.ignored {
        notes.push(format!(
            "ignored an isolated {:.0} ms sound at {:.2} s (click or cough?)",
            ignored.len() as f64 / RATE * 1000.0,
            ignored.start as f64 / RATE
        ));
    }
    if bounds.end + ms_to_samples(10) >= len {
        notes.push("speech runs to the very end of the recording: it may be cut off".into());
    }
    if bounds.start < ms_to_samples(10) {
        notes
            .push("speech starts at the very beginning of the recording: it may be cut off".into());
    }
    if query.clipped > 0 {
        notes.push(format!("{} samples clipped at full scale", query.clipped));
    }
    let snr = bounds.speech_level_dbfs - bounds.noise_floor_dbfs;
    if snr < 20.0 {
        notes.push(format!(
            "noisy: speech is only {snr:.0} dB above the background"
        ));
    }
    let speech_peak = amplitude_dbfs(f64::from(peak(&audio[bounds.start..bounds.end])));
    match gain {
        None if speech_peak < -30.0 => notes.push(format!(
            "quiet: speech peaks at {speech_peak:.0} dBFS (--normalize-peak can raise it)"
        )),
        Some(gain) if gain > 100.0 => notes.push(format!(
            "normalising raised the level by {:.0} dB (background noise too)",
            20.0 * gain.log10()
        )),
        _ => {}
    }

    let samples = query.samples.len();
    // Say so here when validate's default limits will fail the query, not after the run.
    let limits = Limits::default();
    let duration_s = samples as f64 / RATE;
    if duration_s < limits.min_duration_s {
        notes.push(format!(
            "the query lasts only {duration_s:.2} s: validate fails queries shorter than {} s",
            limits.min_duration_s
        ));
    } else if duration_s > limits.max_duration_s {
        notes.push(format!(
            "the query lasts {duration_s:.1} s: validate fails queries longer than {} s",
            limits.max_duration_s
        ));
    }

    let wav = wav::encode_pcm16_mono(&query.samples);
    let entry = ManifestEntry {
        source,
        source_sha256,
        output_sha256: crate::fsutil::sha256_hex(&wav),
        speech_start_s: (bounds.start - out_start) as f64 / RATE,
        speech_end_s: (bounds.end - out_start) as f64 / RATE,
        duration_s,
        samples,
        speech_start_sample: bounds.start - out_start,
        speech_end_sample: bounds.end - out_start,
        input: format,
        channel: mono.channel,
        trimmed_leading_ms: out_start as f64 / RATE * 1000.0,
        trimmed_trailing_ms: (len - out_end) as f64 / RATE * 1000.0,
        clipped_samples: query.clipped,
        gain_db: gain.map(|g| 20.0 * g.log10()),
        noise_floor_dbfs: bounds.noise_floor_dbfs,
        speech_level_dbfs: bounds.speech_level_dbfs,
        warnings: notes,
        settings: *settings,
        tool_version: crate::VERSION.to_string(),
        last_error: None,
    };
    Ok(PreparedQuery { wav, entry })
}

fn ms_to_samples(ms: u32) -> usize {
    (u64::from(ms) * u64::from(TARGET_RATE) / 1000) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::riff;

    #[test]
    fn a_query_validate_would_refuse_for_its_length_is_flagged() {
        let path = format!(
            "{}/tests/fixtures/audio/voice_front_center.wav",
            env!("CARGO_MANIFEST_DIR")
        );
        let voice = wav::read_pcm16_mono(std::path::Path::new(&path))
            .unwrap()
            .samples;
        // 0.2 s of the voice, nothing around it: found, prepared, too short for validate.
        let short = riff::wrap_pcm16(&riff::pcm16_to_bytes(&voice[4800..8000]), 16_000, 1);
        let prepared = prepare(
            &short,
            Some("wav"),
            "short.wav".into(),
            String::new(),
            &PrepSettings::default(),
        )
        .unwrap();
        assert!(
            prepared
                .entry
                .warnings
                .iter()
                .any(|w| w
                    == "the query lasts only 0.20 s: validate fails queries shorter than 0.3 s"),
            "{:?}",
            prepared.entry.warnings
        );
        let whole = riff::wrap_pcm16(&riff::pcm16_to_bytes(&voice), 16_000, 1);
        let prepared = prepare(
            &whole,
            Some("wav"),
            "whole.wav".into(),
            String::new(),
            &PrepSettings::default(),
        )
        .unwrap();
        assert!(
            !prepared
                .entry
                .warnings
                .iter()
                .any(|w| w.contains("validate")),
            "{:?}",
            prepared.entry.warnings
        );
    }
}
