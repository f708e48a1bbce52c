//! Bench set-up: a folder of synthesized queries and a reply clip, the fast agent logging to a
//! file there, and short bench options against it.

use std::path::PathBuf;
use std::time::Duration;

use voiceperf::agent::{AgentHandle, AgentOptions, LogTarget};
use voiceperf::bench::BenchOptions;

use super::agent::fast_options_logging_to;
use super::audio::{synth_query, write_reply, write_wav};

/// A test folder: `audio/` with the given queries, a short reply clip, and the agent log.
pub struct Fixture {
    pub root: tempfile::TempDir,
    pub audio_dir: PathBuf,
    pub reply: PathBuf,
    pub agent_log: PathBuf,
    pub out: PathBuf,
}

impl Fixture {
    /// Queries named `query_<n>.wav`, each `(voice seconds, trailing silence seconds)` after
    /// 0.1 s of silence; a 0.6 s reply.
    pub fn new(queries: &[(f64, f64)]) -> Fixture {
        let root = tempfile::tempdir().unwrap();
        let audio_dir = root.path().join("audio");
        std::fs::create_dir(&audio_dir).unwrap();
        for (i, &(voice, trail)) in queries.iter().enumerate() {
            let (samples, _) = synth_query(0.1, voice, trail, 100 + i as u64);
            write_wav(&audio_dir.join(format!("query_{}.wav", i + 1)), &samples);
        }
        let reply = root.path().join("reply.wav");
        write_reply(&reply, 0.6);
        Fixture {
            agent_log: root.path().join("agent.log"),
            out: root.path().join("run"),
            audio_dir,
            reply,
            root,
        }
    }

    /// The fast agent with the short reply, logging to the file.
    pub fn agent_options(&self) -> AgentOptions {
        AgentOptions {
            reply: Some(self.reply.clone()),
            ..fast_options_logging_to(LogTarget::File(self.agent_log.clone()))
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
