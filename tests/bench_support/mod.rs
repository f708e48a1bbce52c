//! Shared set-up for the bench tests: a dataset of synthesized queries, a fast in-process
//! `voiceperf agent` on port 0 logging to a file, and short bench options against it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use voiceperf::agent::{AgentHandle, AgentOptions, LogTarget};
use voiceperf::audio::riff;
use voiceperf::audio::voice::{VoiceParams, synthesize_speech};
use voiceperf::bench::BenchOptions;
use voiceperf::delay::Delay;

/// Pipeline delays of the test agent (ms): VAD stop + ASR + LLM TTFB + TTS TTFB.
pub const VAD_STOP_MS: u32 = 300;
pub const PIPELINE_MS: f64 = 50.0 + 100.0 + 50.0;

/// A query: `lead` s of silence, `voice` s of speech-like signal, `trail` s of silence.
pub fn query(lead: f64, voice: f64, trail: f64, seed: u64) -> Vec<i16> {
    let mut samples = vec![0i16; (lead * 16_000.0) as usize];
    samples.extend(synthesize_speech(
        16_000,
        VoiceParams {
            seconds: voice,
            f0_hz: 120.0,
            seed,
            peak: 0.4,
        },
    ));
    samples.extend(vec![0i16; (trail * 16_000.0) as usize]);
    samples
}

/// Writes a 16 kHz mono WAV.
pub fn write_wav(path: &Path, samples: &[i16]) {
    std::fs::write(
        path,
        riff::wrap_pcm16(&riff::pcm16_to_bytes(samples), 16_000, 1),
    )
    .unwrap();
}

/// A test folder: `audio/` with the given queries, a short reply clip, and the agent log.
pub struct Fixture {
    pub root: tempfile::TempDir,
    pub audio_dir: PathBuf,
    pub reply: PathBuf,
    pub agent_log: PathBuf,
    pub out: PathBuf,
}

impl Fixture {
    /// Queries named `query_<n>.wav`, each `(voice seconds, trailing silence seconds)`.
    pub fn new(queries: &[(f64, f64)]) -> Fixture {
        let root = tempfile::tempdir().unwrap();
        let audio_dir = root.path().join("audio");
        std::fs::create_dir(&audio_dir).unwrap();
        for (i, &(voice, trail)) in queries.iter().enumerate() {
            let samples = query(0.1, voice, trail, 100 + i as u64);
            write_wav(&audio_dir.join(format!("query_{}.wav", i + 1)), &samples);
        }
        let reply = root.path().join("reply.wav");
        write_wav(
            &reply,
            &synthesize_speech(
                16_000,
                VoiceParams {
                    seconds: 0.6,
                    f0_hz: 180.0,
                    seed: 7,
                    peak: 0.3,
                },
            ),
        );
        Fixture {
            agent_log: root.path().join("agent.log"),
            out: root.path().join("run"),
            audio_dir,
            reply,
            root,
        }
    }

    /// Fast agent options: short VAD stop and delays, the short reply, log to the file.
    pub fn agent_options(&self) -> AgentOptions {
        AgentOptions {
            port: 0,
            vad_stop_ms: VAD_STOP_MS,
            asr: Delay::fixed(50.0),
            llm_ttfb: Delay::fixed(100.0),
            tts_ttfb: Delay::fixed(50.0),
            reply: Some(self.reply.clone()),
            seed: 42,
            log: LogTarget::File(self.agent_log.clone()),
            ..AgentOptions::default()
        }
    }

    /// Short bench options against `agent`: 1 user, 3 s window, short gaps.
    pub fn bench_options(&self, agent: &AgentHandle) -> BenchOptions {
        BenchOptions {
            url: format!("ws://{}/ws/{{stream_id}}", agent.local_addr()),
            clients: vec![1],
            client_start_delay: Duration::from_millis(200),
            test_duration: Duration::from_secs(3),
            output_dir: Some(self.out.clone()),
            audio_dir: self.audio_dir.clone(),
            reply_gap: Duration::from_millis(500),
            reply_timeout: Duration::from_secs(3),
            greeting_timeout: Duration::from_millis(200),
            agent_log: Some(self.agent_log.clone()),
            quiet: true,
            ..BenchOptions::default()
        }
    }
}

/// Reads a JSON file as a generic value.
pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}
