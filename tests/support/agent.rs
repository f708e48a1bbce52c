//! The built-in agent as the tests run it: in-process on 127.0.0.1 port 0, with short fixed
//! pipeline delays so that a turn takes well under a second.

use voiceperf::agent::{AgentOptions, LogTarget, MemoryLog};
use voiceperf::delay::Delay;

/// How long the agent waits after the last speech frame before it ends the turn.
pub const VAD_STOP_MS: u32 = 300;
/// The test agent's fixed ASR delay, seconds.
pub const ASR_S: f64 = 0.05;
/// The test agent's fixed LLM time to first byte, seconds.
pub const LLM_TTFB_S: f64 = 0.1;
/// The test agent's fixed TTS time to first byte, seconds.
pub const TTS_TTFB_S: f64 = 0.05;
/// ASR + LLM TTFB + TTS TTFB, ms: what the agent waits after the VAD stop.
pub const PIPELINE_MS: f64 = (ASR_S + LLM_TTFB_S + TTS_TTFB_S) * 1000.0;

/// Fast agent options logging to `log`: port 0, short VAD stop, fixed short delays, seed 42.
pub fn fast_options_logging_to(log: LogTarget) -> AgentOptions {
    AgentOptions {
        port: 0,
        vad_stop_ms: VAD_STOP_MS,
        asr: Delay::fixed(ASR_S * 1000.0),
        llm_ttfb: Delay::fixed(LLM_TTFB_S * 1000.0),
        tts_ttfb: Delay::fixed(TTS_TTFB_S * 1000.0),
        seed: 42,
        log,
        ..AgentOptions::default()
    }
}

/// Fast agent options logging in memory to `log`.
pub fn fast_options(log: &MemoryLog) -> AgentOptions {
    fast_options_logging_to(LogTarget::Memory(log.clone()))
}
