//! The dataset manifest, `manifest.json` in the dataset folder: what `prep` made each query
//! WAV from and where its speech is. `validate` and `bench` read it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::audio::decode::SourceFormat;
use crate::audio::mix::ChannelUse;
use crate::audio::vad::VadMode;
use crate::fsutil;

/// File name of the manifest inside a dataset folder.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Largest manifest read (a million queries' entries fit in a fraction of it).
pub const MAX_MANIFEST_BYTES: u64 = 256 << 20;

/// The settings a query was prepared with; a re-run with other settings redoes the file.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PrepSettings {
    /// Non-speech kept after the end of speech, ms.
    pub pad_ms: u32,
    /// Non-speech kept before the start of speech, ms.
    pub keep_leading_ms: u32,
    /// The one channel used (1-based) instead of the mix, when asked for.
    pub channel: Option<u16>,
    /// Peak level the query was scaled to, dBFS, when asked for.
    pub normalize_peak_dbfs: Option<f64>,
    /// WebRTC VAD mode used to find speech.
    pub vad_mode: VadMode,
}

impl Default for PrepSettings {
    fn default() -> Self {
        PrepSettings {
            // Below validate's 100 ms limit on trailing non-speech, so the few ms by which a
            // re-analysis of the trimmed file may differ cannot fail it.
            pad_ms: 80,
            keep_leading_ms: 200,
            channel: None,
            normalize_peak_dbfs: None,
            vad_mode: VadMode::Aggressive,
        }
    }
}

/// One prepared query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// The recording it was made from, as given to `prep` ('/'-separated).
    pub source: String,
    /// SHA-256 of the recording's bytes.
    pub source_sha256: String,
    /// SHA-256 of the prepared WAV file's bytes.
    pub output_sha256: String,
    /// Start of speech in the prepared file, seconds.
    pub speech_start_s: f64,
    /// End of speech in the prepared file, seconds.
    pub speech_end_s: f64,
    /// Length of the prepared file, seconds.
    pub duration_s: f64,
    /// Length of the prepared file in samples (16 kHz).
    #[serde(default)]
    pub samples: usize,
    /// Start of speech in the prepared file, samples.
    #[serde(default)]
    pub speech_start_sample: usize,
    /// End of speech (one past its last sample) in the prepared file, samples.
    #[serde(default)]
    pub speech_end_sample: usize,
    /// What the recording was.
    pub input: SourceFormat,
    /// Which channel(s) made the mono query.
    pub channel: ChannelUse,
    /// Non-speech cut from the start, ms.
    pub trimmed_leading_ms: f64,
    /// Non-speech cut from the end, ms.
    pub trimmed_trailing_ms: f64,
    /// Samples clamped when converting to 16-bit.
    pub clipped_samples: usize,
    /// Gain applied by `--normalize-peak`, dB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gain_db: Option<f64>,
    /// Background level of the recording, dBFS.
    pub noise_floor_dbfs: f64,
    /// Speech level of the recording, dBFS.
    pub speech_level_dbfs: f64,
    /// Things the user should know about this query.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Settings it was prepared with.
    pub settings: PrepSettings,
    /// voiceperf version that prepared it.
    pub tool_version: String,
    /// Set when a later prep of its recording failed (`prep of raw/q1.mp3 failed: …`): the
    /// file is stale, made from an earlier version of the recording, and validate fails it.
    /// Absent in manifests of earlier versions and for entries whose last prep succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// The dataset manifest: one entry per prepared query, keyed by the query's path relative to
/// the dataset folder ('/'-separated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `voiceperf prep`.
    pub tool: String,
    /// voiceperf version that last wrote the manifest.
    pub version: String,
    /// Sample rate of every query, Hz.
    pub sample_rate: u32,
    /// Prepared queries by relative path.
    pub entries: BTreeMap<String, ManifestEntry>,
    /// Keys [`Manifest::load`] refused because they do not name a file inside the dataset
    /// folder (`/etc/shadow`, `../x`, `a/./b`): their entries were dropped.
    #[serde(skip)]
    pub refused_keys: Vec<String>,
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            tool: "voiceperf prep".to_string(),
            version: crate::VERSION.to_string(),
            sample_rate: crate::audio::TARGET_RATE,
            entries: BTreeMap::new(),
            refused_keys: Vec::new(),
        }
    }
}

impl Manifest {
    /// Where the manifest of `dataset_dir` lives.
    pub fn path(dataset_dir: &Path) -> PathBuf {
        dataset_dir.join(MANIFEST_FILE)
    }

    /// Reads the manifest of `dataset_dir`; `Ok(None)` when there is none, an error when it
    /// exists but cannot be read or parsed.
    pub fn load(dataset_dir: &Path) -> anyhow::Result<Option<Manifest>> {
        let path = Self::path(dataset_dir);
        let bytes = match fsutil::read_regular(&path, MAX_MANIFEST_BYTES) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let mut manifest: Manifest = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a valid prep manifest", path.display()))?;
        let refused: Vec<String> = manifest
            .entries
            .keys()
            .filter(|k| !is_dataset_key(k))
            .cloned()
            .collect();
        for key in &refused {
            manifest.entries.remove(key);
        }
        manifest.refused_keys = refused;
        Ok(Some(manifest))
    }

    /// Writes the manifest into `dataset_dir` atomically.
    pub fn save(&self, dataset_dir: &Path) -> anyhow::Result<()> {
        fsutil::write_json_atomic(&Self::path(dataset_dir), self)
    }

    /// The entry of the query at `relative_path` ('/'-separated).
    pub fn get(&self, relative_path: &str) -> Option<&ManifestEntry> {
        self.entries.get(relative_path)
    }
}

/// Whether `key` names a file inside the dataset folder the way prep writes keys: relative,
/// '/'-separated, every component a plain name (not absolute, no `..`, `.` or empty component,
/// no NUL).
pub fn is_dataset_key(key: &str) -> bool {
    !key.contains('\0')
        && key
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_outside_the_dataset_are_refused() {
        for good in ["q.wav", "sub/q_1.wav", "a b/c:d.wav", "..q.wav"] {
            assert!(is_dataset_key(good), "{good}");
        }
        for bad in [
            "",
            "/etc/shadow",
            "../x.wav",
            "a/../../x",
            "./q.wav",
            "a//b",
            "a/",
            "q\0.wav",
            "..",
        ] {
            assert!(!is_dataset_key(bad), "{bad:?}");
        }
    }

    fn entry() -> ManifestEntry {
        ManifestEntry {
            source: "raw_recordings/q.mp3".into(),
            source_sha256: "ab".repeat(32),
            output_sha256: "cd".repeat(32),
            speech_start_s: 0.2,
            speech_end_s: 1.5,
            duration_s: 1.6,
            samples: 25_600,
            speech_start_sample: 3_200,
            speech_end_sample: 24_000,
            input: SourceFormat {
                container: "mp3".into(),
                codec: "mp3".into(),
                sample_rate: 44_100,
                channels: 2,
                bits_per_sample: None,
                duration_s: 3.0,
            },
            channel: ChannelUse::Mix,
            trimmed_leading_ms: 800.0,
            trimmed_trailing_ms: 600.0,
            clipped_samples: 0,
            gain_db: None,
            noise_floor_dbfs: -70.0,
            speech_level_dbfs: -20.0,
            warnings: vec![],
            settings: PrepSettings::default(),
            tool_version: crate::VERSION.into(),
            last_error: None,
        }
    }

    #[test]
    fn saves_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), None);
        let mut manifest = Manifest::default();
        manifest.entries.insert("q.wav".into(), entry());
        manifest.save(dir.path()).unwrap();
        let loaded = Manifest::load(dir.path()).unwrap().unwrap();
        assert_eq!(loaded, manifest);
        assert_eq!(loaded.get("q.wav").unwrap().speech_end_s, 1.5);
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(Manifest::path(dir.path())).unwrap()).unwrap();
        let e = &json["entries"]["q.wav"];
        for field in [
            "source",
            "source_sha256",
            "output_sha256",
            "speech_start_s",
            "speech_end_s",
            "duration_s",
        ] {
            assert!(!e[field].is_null(), "{field}");
        }
        assert_eq!(e["channel"], "mix");
        assert_eq!(e["settings"]["vad_mode"], "aggressive");
    }

    #[test]
    fn a_broken_manifest_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(Manifest::path(dir.path()), "{not json").unwrap();
        let err = Manifest::load(dir.path()).unwrap_err();
        assert!(
            format!("{err:#}").contains("not a valid prep manifest"),
            "{err:#}"
        );
    }
}
