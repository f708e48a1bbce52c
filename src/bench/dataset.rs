//! The queries the simulated users speak: every `.wav` under the audio folder in natural name
//! order (`query_2` before `query_10`), as 16 kHz mono int16 samples, each with the sample
//! where its speech ends — from prep's manifest when it describes this exact file, else from
//! prep's speech-bounds logic run on the samples.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};

use crate::audio::resample::{self, ResampleError};
use crate::audio::speech::{self, SpeechConfig};
use crate::audio::{TARGET_RATE, pcm, wav};
use crate::dataset::{self, Manifest, RecordedBounds, natural_cmp};
use crate::fsutil;
use crate::runfolder::results::{DatasetFile, DatasetInfo, SkippedFile, SpeechEndSource};

/// Largest query file read (over half an hour of 16 kHz mono audio).
pub const MAX_QUERY_BYTES: u64 = 64 << 20;

/// One query file, loaded.
#[derive(Debug, Clone)]
pub struct QueryFile {
    /// Path relative to the audio folder, '/'-separated.
    pub name: String,
    /// Mono samples at [`QueryFile::rate`] (16 kHz as loaded).
    pub samples: Vec<i16>,
    /// Sample rate of `samples` and of the speech bounds: 16 kHz, or the wire's rate after
    /// [`QuerySet::at_rate`].
    pub rate: u32,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// First speech sample.
    pub speech_start: usize,
    /// Speech end: index of the first sample after the speech (≥ 1).
    pub speech_end: usize,
    /// Where the bounds came from.
    pub source: SpeechEndSource,
}

impl QueryFile {
    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.rate)
    }

    /// Speech end in seconds from the file start.
    pub fn speech_end_s(&self) -> f64 {
        self.speech_end as f64 / f64::from(self.rate)
    }

    /// The file at `rate` Hz: its samples resampled with prep's band-limited resampler and
    /// its speech bounds moved to the nearest sample of the new rate.
    pub fn at_rate(&self, rate: u32) -> Result<QueryFile, ResampleError> {
        if rate == self.rate {
            return Ok(self.clone());
        }
        let unit: Vec<f32> = self
            .samples
            .iter()
            .map(|&s| f32::from(s) / 32768.0)
            .collect();
        let samples = pcm::to_pcm16(&resample::resample(&unit, self.rate, rate)?).samples;
        let scale = |n: usize| {
            ((n as u64 * u64::from(rate) + u64::from(self.rate) / 2) / u64::from(self.rate))
                as usize
        };
        let speech_end = scale(self.speech_end).clamp(1, samples.len().max(1));
        Ok(QueryFile {
            name: self.name.clone(),
            sha256: self.sha256.clone(),
            speech_start: scale(self.speech_start).min(speech_end - 1),
            speech_end,
            source: self.source,
            rate,
            samples,
        })
    }

    /// The file's row in `summary.json`.
    pub fn info(&self) -> DatasetFile {
        let rate = f64::from(self.rate);
        DatasetFile {
            file: self.name.clone(),
            sha256: self.sha256.clone(),
            duration_s: self.duration_s(),
            speech_start_s: self.speech_start as f64 / rate,
            speech_end_s: self.speech_end_s(),
            speech_end_source: self.source,
            trailing_ms: (self.samples.len() - self.speech_end) as f64 / rate * 1000.0,
        }
    }
}

/// The queries of a run: the dataset folder loaded for speaking.
#[derive(Debug, Clone)]
pub struct QuerySet {
    /// The audio folder.
    pub dir: PathBuf,
    /// Usable files in speaking order.
    pub files: Vec<Arc<QueryFile>>,
    /// Files that could not be used.
    pub skipped: Vec<SkippedFile>,
    /// Whether prep's manifest was present.
    pub manifest_found: bool,
    /// Things the user should know (stale manifest entries, unreadable manifest).
    pub warnings: Vec<String>,
}

impl QuerySet {
    /// Loads every `.wav` under `dir`. Unusable files are skipped with their reason; it is an
    /// error only when no file is usable.
    pub fn load(dir: &Path) -> anyhow::Result<QuerySet> {
        Self::load_with(dir, detect_speech_bounds)
    }

    /// Loads distractor sounds (`--distractor-dir`) like queries; a sound prep's speech logic
    /// finds no speech in (a click, a noise burst) is bounded by its audible samples instead.
    pub fn load_sounds(dir: &Path) -> anyhow::Result<QuerySet> {
        Self::load_with(dir, |samples| {
            detect_speech_bounds(samples).or_else(|| level_bounds(samples))
        })
    }

    fn load_with(
        dir: &Path,
        detect: fn(&[i16]) -> Option<(usize, usize)>,
    ) -> anyhow::Result<QuerySet> {
        if !dir.is_dir() {
            bail!(
                "audio folder {} does not exist (make one with `voiceperf prep`, or pass --audio-dir)",
                dir.display()
            );
        }
        let bounds_from_manifest = ManifestBounds::load(dir);
        let mut warnings = bounds_from_manifest.warnings.clone();
        let mut names = Vec::new();
        for entry in walkdir::WalkDir::new(dir).follow_links(true) {
            let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
            let path = entry.path();
            let is_wav = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("wav"));
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            // Not only regular files: a pipe or device named `.wav` is skipped with its reason.
            if !entry.file_type().is_dir() && is_wav && !hidden {
                names.push(fsutil::relative_slash(dir, path));
            }
        }
        names.sort_by(|a, b| natural_cmp(a, b));
        let mut files = Vec::new();
        let mut skipped = Vec::new();
        for name in names {
            match load_file(dir, &name, &bounds_from_manifest, detect) {
                Ok((file, warning)) => {
                    warnings.extend(warning);
                    files.push(Arc::new(file));
                }
                Err(e) => skipped.push(SkippedFile {
                    file: name,
                    reason: format!("{e:#}"),
                }),
            }
        }
        if files.is_empty() {
            let why = if skipped.is_empty() {
                "no .wav files".to_string()
            } else {
                skipped
                    .iter()
                    .map(|s| format!("{}: {}", s.file, s.reason))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            bail!("no usable query in {}: {why}", dir.display());
        }
        Ok(QuerySet {
            dir: dir.to_path_buf(),
            files,
            skipped,
            manifest_found: bounds_from_manifest.found(),
            warnings,
        })
    }

    /// The queries at `rate` Hz (a telephony wire's 8 kHz): every file resampled as prep
    /// resamples (see [`QueryFile::at_rate`]).
    pub fn at_rate(&self, rate: u32) -> anyhow::Result<QuerySet> {
        let files = self
            .files
            .iter()
            .map(|f| {
                f.at_rate(rate)
                    .map(Arc::new)
                    .with_context(|| format!("resampling {} to {rate} Hz", f.name))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(QuerySet {
            files,
            ..self.clone()
        })
    }

    /// The dataset's description in `summary.json`.
    pub fn info(&self) -> DatasetInfo {
        DatasetInfo {
            audio_dir: self.dir.display().to_string(),
            manifest_found: self.manifest_found,
            files: self.files.iter().map(|f| f.info()).collect(),
            skipped: self.skipped.clone(),
            warnings: self.warnings.clone(),
        }
    }
}

/// Loads one query; also returns a warning about its manifest entry, if any.
fn load_file(
    dir: &Path,
    name: &str,
    manifest: &ManifestBounds,
    detect: fn(&[i16]) -> Option<(usize, usize)>,
) -> anyhow::Result<(QueryFile, Option<String>)> {
    let path = dir.join(name);
    let bytes = fsutil::read_regular(&path, MAX_QUERY_BYTES)
        .with_context(|| format!("reading {}", path.display()))?;
    let samples = read_16k_mono(&bytes)?;
    if samples.is_empty() {
        bail!("no audio samples");
    }
    let sha256 = fsutil::sha256_hex(&bytes);
    let len = samples.len();
    let (from_manifest, warning) = manifest.bounds(name, &sha256, len);
    let (speech_start, speech_end, source) = match from_manifest {
        Some((start, end)) => (start, end, SpeechEndSource::Manifest),
        None => {
            let (start, end) = detect(&samples).ok_or_else(|| {
                anyhow::anyhow!("no speech found (check it with `voiceperf validate`)")
            })?;
            (start, end, SpeechEndSource::Detected)
        }
    };
    let file = QueryFile {
        name: name.to_string(),
        samples,
        rate: TARGET_RATE,
        sha256,
        speech_start,
        speech_end: speech_end.clamp(1, len),
        source,
    };
    Ok((file, warning))
}

/// Reads a 16 kHz mono int16 WAV (the dataset format), or says why the file is not one.
fn read_16k_mono(bytes: &[u8]) -> anyhow::Result<Vec<i16>> {
    Ok(wav::parse_pcm16_mono(bytes)?.samples)
}

/// Speech bounds `[start, end)` in samples, by prep's logic (VAD refined by energy).
fn detect_speech_bounds(samples: &[i16]) -> Option<(usize, usize)> {
    speech::find_speech(samples, &SpeechConfig::default()).map(|b| (b.start, b.end))
}

/// Level at or above which a sample is part of a sound that is not speech (dBFS).
const SOUND_DBFS: f64 = -40.0;

/// `[first, last + 1)` of the samples at or above −40 dBFS: the bounds of a sound that is not
/// speech; `None` for silence.
pub fn level_bounds(samples: &[i16]) -> Option<(usize, usize)> {
    let amplitude = crate::bench::turn::audible_amplitude(SOUND_DBFS);
    let loud = |s: &i16| i32::from(*s).abs() >= amplitude;
    let first = samples.iter().position(loud)?;
    let last = samples.iter().rposition(loud)?;
    Some((first, last + 1))
}

/// Speech bounds recorded by prep's manifest, used only for files whose bytes are the ones
/// prep wrote (same SHA-256).
#[derive(Debug, Default)]
struct ManifestBounds {
    manifest: Option<Manifest>,
    warnings: Vec<String>,
}

impl ManifestBounds {
    fn load(dir: &Path) -> Self {
        match Manifest::load(dir) {
            Ok(manifest) => ManifestBounds {
                manifest,
                warnings: Vec::new(),
            },
            Err(e) => ManifestBounds {
                manifest: None,
                warnings: vec![format!(
                    "{e:#}; speech ends are detected from the audio instead"
                )],
            },
        }
    }

    fn found(&self) -> bool {
        self.manifest.is_some()
    }

    /// The manifest's `[start, end)` for `name`, when it describes these bytes; otherwise
    /// `None`, with a warning when the entry exists but cannot be used.
    fn bounds(
        &self,
        name: &str,
        sha256: &str,
        len: usize,
    ) -> (Option<(usize, usize)>, Option<String>) {
        let entry = self.manifest.as_ref().and_then(|m| m.get(name));
        match dataset::recorded_bounds(entry, sha256, len) {
            RecordedBounds::NoEntry => (None, None),
            RecordedBounds::Found(range) => (Some((range.start, range.end)), None),
            RecordedBounds::Changed => (
                None,
                Some(format!(
                    "{name} changed since `voiceperf prep` wrote it (SHA-256 differs from manifest.json); its speech end was detected from the audio"
                )),
            ),
            RecordedBounds::Impossible(why) => (
                None,
                Some(format!(
                    "{name}: manifest.json's {why}; its speech end was detected from the audio"
                )),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::riff;

    fn speech(seconds: f64, trailing_silence: f64) -> (Vec<i16>, usize) {
        let mut samples = crate::audio::voice::synthesize_speech(
            16_000,
            crate::audio::voice::VoiceParams {
                seconds,
                seed: 5,
                ..Default::default()
            },
        );
        let voiced = samples.len();
        samples.extend(vec![0; (trailing_silence * 16_000.0) as usize]);
        (samples, voiced)
    }

    fn wav(samples: &[i16], channels: u16) -> Vec<u8> {
        riff::wrap_pcm16(&riff::pcm16_to_bytes(samples), 16_000, channels)
    }

    #[test]
    fn loads_wavs_in_natural_order_and_skips_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        let (samples, _) = speech(0.8, 0.0);
        let good = wav(&samples, 1);
        std::fs::write(dir.path().join("query_10.wav"), &good).unwrap();
        std::fs::write(dir.path().join("query_2.wav"), &good).unwrap();
        std::fs::write(dir.path().join("query_3.wav"), wav(&samples, 2)).unwrap();
        std::fs::write(dir.path().join("query_4.wav"), wav(&vec![0; 16_000], 1)).unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"hi").unwrap();
        let dataset = QuerySet::load(dir.path()).unwrap();
        let names: Vec<_> = dataset.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, vec!["query_2.wav", "query_10.wav"]);
        assert_eq!(dataset.skipped.len(), 2);
        assert!(
            dataset.skipped[0].reason.contains("16 kHz mono"),
            "{:?}",
            dataset.skipped
        );
        assert!(
            dataset.skipped[1].reason.contains("no speech"),
            "{:?}",
            dataset.skipped
        );
        assert_eq!(dataset.files[0].sha256, fsutil::sha256_hex(&good));
    }

    #[test]
    fn speech_end_excludes_trailing_silence() {
        let dir = tempfile::tempdir().unwrap();
        let (samples, voiced) = speech(1.0, 0.7);
        std::fs::write(dir.path().join("q.wav"), wav(&samples, 1)).unwrap();
        let dataset = QuerySet::load(dir.path()).unwrap();
        let file = &dataset.files[0];
        assert_eq!(file.source, SpeechEndSource::Detected);
        // Within 30 ms of the last voiced sample, 0.7 s before the file end.
        let error_ms = (file.speech_end as f64 - voiced as f64) / 16.0;
        assert!(error_ms.abs() < 30.0, "speech end off by {error_ms} ms");
        assert!((file.info().trailing_ms - 700.0).abs() < 30.0);
    }

    #[test]
    fn manifest_speech_end_is_used_only_for_the_bytes_prep_wrote() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("audio_files");
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(repo.join("query_1.wav"), dir.path().join("query_1.wav")).unwrap();
        std::fs::copy(repo.join("query_2.wav"), dir.path().join("query_2.wav")).unwrap();
        let mut manifest = Manifest::load(&repo).unwrap().unwrap();
        // A speech end no detector would find proves the manifest's value is the one used.
        for entry in manifest.entries.values_mut() {
            entry.speech_end_sample = 12_345;
        }
        manifest.save(dir.path()).unwrap();
        // query_2 changes after prep: its manifest entry no longer describes it.
        let mut bytes = std::fs::read(dir.path().join("query_2.wav")).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        std::fs::write(dir.path().join("query_2.wav"), bytes).unwrap();

        let dataset = QuerySet::load(dir.path()).unwrap();
        assert!(dataset.manifest_found);
        let (q1, q2) = (&dataset.files[0], &dataset.files[1]);
        assert_eq!(
            (q1.source, q1.speech_end),
            (SpeechEndSource::Manifest, 12_345)
        );
        assert_eq!(q2.source, SpeechEndSource::Detected);
        assert_ne!(q2.speech_end, 12_345);
        assert_eq!(dataset.warnings.len(), 1);
        assert!(
            dataset.warnings[0].contains("query_2.wav changed"),
            "{:?}",
            dataset.warnings
        );
    }

    #[test]
    fn a_broken_manifest_falls_back_to_detection_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let (samples, _) = speech(0.8, 0.0);
        std::fs::write(dir.path().join("q.wav"), wav(&samples, 1)).unwrap();
        std::fs::write(dir.path().join("manifest.json"), b"{ not json").unwrap();
        let dataset = QuerySet::load(dir.path()).unwrap();
        assert_eq!(dataset.files[0].source, SpeechEndSource::Detected);
        assert!(
            dataset.warnings[0].contains("manifest"),
            "{:?}",
            dataset.warnings
        );
    }

    #[test]
    fn sounds_without_speech_are_bounded_by_their_level() {
        let dir = tempfile::tempdir().unwrap();
        let mut click = vec![0i16; 1600];
        click.extend([20_000, -18_000, 9_000, -4_000, 1_000]);
        click.extend(vec![0i16; 1600]);
        std::fs::write(dir.path().join("click.wav"), wav(&click, 1)).unwrap();
        assert!(QuerySet::load(dir.path()).is_err(), "no speech in a click");
        let sounds = QuerySet::load_sounds(dir.path()).unwrap();
        let file = &sounds.files[0];
        assert_eq!((file.speech_start, file.speech_end), (1600, 1605));
        assert_eq!(level_bounds(&[0, 0, 5]), None);
    }

    #[test]
    fn missing_or_empty_folder_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = QuerySet::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("no usable query"), "{err}");
        let err = QuerySet::load(&dir.path().join("nope"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not exist"), "{err}");
    }
}
