//! Accuracy and stability figures of the speech-bounds detector over a large set of generated
//! hard cases and the committed recordings — a measurement, run on demand (ignored by
//! `cargo test`; the regular tests check a smaller set):
//!
//!     cargo test --release --test prep_speech_accuracy -- --ignored --nocapture --test-threads 1
//!
//! For each case it finds the speech as prep does, cuts the query prep would cut (200 ms
//! before the start, the default pad after the end), analyses that query again, and reports
//! how far the start and end are from the audible voice, the residual after the voice, and
//! how far the bounds move on the trimmed query. Each figure is also checked.

mod support;

use support::audio::{Noise, RATE, VOICES, hum, to_pcm16, voice_unit};
use voiceperf::audio::speech::{SpeechConfig, find_speech};
use voiceperf::dataset::manifest::PrepSettings;

/// Energy of `frame`, dBFS.
fn db(frame: &[f64]) -> f64 {
    10.0 * (frame.iter().map(|v| v * v).sum::<f64>() / frame.len() as f64)
        .max(1e-12)
        .log10()
}

/// A fourth-order Butterworth high-pass at 100 Hz: speech as heard over a hum.
fn high_pass(samples: &[f64]) -> Vec<f64> {
    const QS: [f64; 2] = [0.541_196_100_146_197, 1.306_562_964_876_376_4];
    let w0 = 2.0 * std::f64::consts::PI * 100.0 / RATE as f64;
    let cos = w0.cos();
    let mut out = samples.to_vec();
    for q in QS {
        let alpha = w0.sin() / (2.0 * q);
        let a0 = 1.0 + alpha;
        let (b0, b1, a1, a2) = (
            (1.0 + cos) / 2.0 / a0,
            -(1.0 + cos) / a0,
            -2.0 * cos / a0,
            (1.0 - alpha) / a0,
        );
        let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
        for v in &mut out {
            let x = *v;
            let y = b0 * x + b1 * x1 + b0 * x2 - a1 * y1 - a2 * y2;
            (x2, x1, y2, y1) = (x1, x, y1, y);
            *v = y;
        }
    }
    out
}

/// What happened to one case, in ms.
struct Outcome {
    /// Found start minus the audible voice's start.
    start_late: f64,
    /// Audible voice's end minus the found end.
    end_early: f64,
    /// Non-speech the query keeps after the voice's last sample.
    residual: f64,
    /// How far the trimmed query's bounds are from the recording's (start, end), or `None`
    /// when no speech is found in it.
    moved: Option<(f64, f64)>,
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture in release"]
fn generated_hard_cases() {
    let config = SpeechConfig::default();
    let pad = PrepSettings::default().pad_ms as usize * RATE / 1000;
    let keep = PrepSettings::default().keep_leading_ms as usize * RATE / 1000;
    let mut outcomes = Vec::new();
    let mut missed = Vec::new();
    for name in VOICES {
        // Real recorded voice, full scale ±1; its speech ends at the last sample.
        let clean: Vec<f64> = voice_unit(name).into_iter().map(f64::from).collect();
        let peak = clean.iter().fold(0.0f64, |m, &x| m.max(x.abs()));
        for peak_db in [-42.0, -35.0, -20.0, -6.0] {
            let gain = 10f64.powf(peak_db / 20.0) / peak;
            let voice: Vec<f64> = clean.iter().map(|x| x * gain).collect();
            // The voice is audible where its frames above 100 Hz are 6 dB over the
            // background (and within 40 dB of its speech level).
            let energies: Vec<f64> = high_pass(&voice).chunks(160).map(db).collect();
            let mut sorted = energies.clone();
            sorted.sort_by(f64::total_cmp);
            let speech_level = sorted[sorted.len() * 95 / 100];
            // (background level dBFS or none, hum rather than white noise)
            for (noise_db, is_hum) in [
                (None, false),
                (Some(-75.0), false),
                (Some(-65.0), false),
                (Some(-60.0), false),
                (Some(-60.0), true),
                (Some(-50.0), false),
                (Some(-45.0), true),
                (Some(-35.0), false),
            ] {
                if noise_db.is_some_and(|n| n > peak_db - 20.0) {
                    continue;
                }
                let amplitude = noise_db.map_or(0.0, |n| 10f64.powf(n / 20.0));
                let background_db = match noise_db {
                    None => -200.0,
                    Some(n) if !is_hum => n,
                    Some(_) => {
                        let alone: Vec<f64> = (0..RATE).map(|i| hum(amplitude, i)).collect();
                        db(&high_pass(&alone)[RATE / 10..])
                    }
                };
                let level = (background_db + 6.0).max(speech_level - 40.0);
                let loud: Vec<usize> = (0..energies.len())
                    .filter(|&k| energies[k] >= level)
                    .collect();
                for (lead_ms, tail_ms) in [(100, 100), (200, 150), (300, 300), (1000, 1000)] {
                    for seed in 1..=6u64 {
                        let lead = lead_ms * RATE / 1000;
                        let mut signal = vec![0.0; lead];
                        signal.extend_from_slice(&voice);
                        signal.resize(signal.len() + tail_ms * RATE / 1000, 0.0);
                        let mut noise =
                            Noise(0x9E37_79B9_7F4A_7C15 ^ seed.wrapping_mul(0x2545_F491_4F6C_DD1D));
                        for (i, x) in signal.iter_mut().enumerate() {
                            *x += if is_hum {
                                hum(amplitude, i)
                            } else {
                                amplitude * noise.gaussian()
                            };
                        }
                        let audible_start = lead + loud[0] * 160;
                        let audible_end =
                            lead + ((loud[loud.len() - 1] + 1) * 160).min(voice.len());
                        let voice_end = lead + voice.len();
                        let samples = to_pcm16(&signal);
                        let what = format!(
                            "{name} at {peak_db} dBFS, {noise_db:?}{} {lead_ms}/{tail_ms} ms #{seed}",
                            if is_hum { " hum" } else { "" }
                        );
                        let Some(found) = find_speech(&samples, &config) else {
                            missed.push(what);
                            continue;
                        };
                        let out_start = found.start.saturating_sub(keep);
                        let out_end = (found.end + pad).min(samples.len());
                        let again = find_speech(&samples[out_start..out_end], &config);
                        let ms = |a: usize, b: usize| (a as f64 - b as f64) / 16.0;
                        outcomes.push((
                            what,
                            Outcome {
                                start_late: ms(found.start, audible_start),
                                end_early: ms(audible_end, found.end),
                                residual: ms(out_end, voice_end),
                                moved: again.map(|a| {
                                    (
                                        ms(a.start + out_start, found.start),
                                        ms(a.end + out_start, found.end),
                                    )
                                }),
                            },
                        ));
                    }
                }
            }
        }
    }
    let worst = |f: &dyn Fn(&Outcome) -> f64| {
        outcomes.iter().map(|(what, o)| (f(o), what.as_str())).fold(
            (f64::NEG_INFINITY, ""),
            |a, b| if b.0 > a.0 { b } else { a },
        )
    };
    let count = |f: &dyn Fn(&Outcome) -> bool| outcomes.iter().filter(|(_, o)| f(o)).count();
    let moved = |o: &Outcome, pick: fn((f64, f64)) -> f64| o.moved.map_or(f64::INFINITY, pick);
    println!(
        "{} generated cases ({} with no speech found)",
        outcomes.len() + missed.len(),
        missed.len()
    );
    println!(
        "worst start after the audible voice: {:.1} ms ({})",
        worst(&|o| o.start_late).0,
        worst(&|o| o.start_late).1
    );
    println!(
        "worst end before the audible voice ends: {:.1} ms ({})",
        worst(&|o| o.end_early).0,
        worst(&|o| o.end_early).1
    );
    println!(
        "worst residual after the voice: {:.1} ms ({})",
        worst(&|o| o.residual).0,
        worst(&|o| o.residual).1
    );
    println!(
        "trimmed query: no speech in {}; start moves > 5 ms in {}, > 10 ms in {} (worst {:.1} ms); end moves > 5 ms in {}, > 10 ms in {} (worst {:.1} ms)",
        count(&|o| o.moved.is_none()),
        count(&|o| moved(o, |m| m.0.abs()) > 5.0),
        count(&|o| moved(o, |m| m.0.abs()) > 10.0),
        worst(&|o| moved(o, |m| m.0.abs())).0,
        count(&|o| moved(o, |m| m.1.abs()) > 5.0),
        count(&|o| moved(o, |m| m.1.abs()) > 10.0),
        worst(&|o| moved(o, |m| m.1.abs())).0,
    );
    assert!(missed.is_empty(), "no speech found: {missed:#?}");
    // Edges of the audible voice are 10 ms frames: a frame and a half of slack at the end.
    assert!(worst(&|o| o.start_late).0 <= 10.0);
    assert!(worst(&|o| o.end_early).0 <= 15.0);
    assert!(worst(&|o| o.residual).0 <= 100.0);
    assert!(worst(&|o| moved(o, |m| m.0.abs().max(m.1.abs()))).0 <= 10.0);
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture in release"]
fn committed_recordings() {
    let mut paths: Vec<_> = std::fs::read_dir(support::repo("raw_recordings"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let settings = PrepSettings::default();
    println!(
        "recording: bounds prep records → bounds found in its query (samples), moves, trailing"
    );
    for path in paths {
        let bytes = std::fs::read(&path).unwrap();
        let extension = path.extension().and_then(|e| e.to_str());
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let prepared = voiceperf::prep::process::prepare(
            &bytes,
            extension,
            name.clone(),
            String::new(),
            &settings,
        )
        .unwrap();
        let query = voiceperf::audio::wav::parse_pcm16_mono(&prepared.wav).unwrap();
        let again = find_speech(&query.samples, &SpeechConfig::default()).unwrap();
        let entry = &prepared.entry;
        let ms = |a: usize, b: usize| (a as f64 - b as f64) / 16.0;
        let (start_moved, end_moved) = (
            ms(again.start, entry.speech_start_sample),
            ms(again.end, entry.speech_end_sample),
        );
        let trailing = ms(query.samples.len(), again.end);
        println!(
            "{name:14} {}..{} → {}..{}: start {start_moved:+.1} ms, end {end_moved:+.1} ms, trailing {trailing:.1} ms",
            entry.speech_start_sample, entry.speech_end_sample, again.start, again.end
        );
        assert!(
            start_moved.abs() <= 10.0 && end_moved.abs() <= 10.0,
            "{name}"
        );
        assert!(trailing <= 100.0, "{name}");
    }
}
