//! `voiceperf agent`'s truth lines: one log line per reply giving the agent's own view of the
//! turn (the arrival of the last chunk its VAD counted as speech → the sending of its first
//! reply frame), written by the agent and read back by `bench` (to check its measurement) and
//! `analyze` (to split the latency). Both match a line to its bench turn with
//! [`turn_for_truth`]. A second kind, one per interruption ([`AgentInterruptionTruth`]), gives
//! the agent's view of a barge-in: where its VAD heard the speech start and when it stopped
//! the reply.

use std::borrow::Borrow;

use serde::{Deserialize, Serialize};

use crate::runfolder::results::TurnRecord;

/// The message prefix of the agent's truth line.
pub const AGENT_TURN_PREFIX: &str = "VoiceperfAgent turn ";

/// `voiceperf agent`'s own view of one turn, from its truth line.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AgentTurnTruth {
    /// Turn number on the stream (1-based, as logged).
    pub turn: u64,
    /// Id of the last incoming audio frame the agent's VAD counted as speech.
    pub last_speech_frame_id: u64,
    /// When that frame arrived at the agent's socket (unix seconds).
    pub speech_arrived_unix: f64,
    /// When the agent sent the first reply frame (unix seconds).
    pub first_reply_unix: f64,
    /// `first_reply_unix - speech_arrived_unix` as the agent logged it (seconds).
    pub latency_s: f64,
}

/// The truth line's message, exactly as `voiceperf agent` logs it and [`LineParser`] reads it
/// back: `VoiceperfAgent turn N: last speech frame id I arrived at A, first reply frame sent
/// at B, latency: L`.
impl std::fmt::Display for AgentTurnTruth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{AGENT_TURN_PREFIX}{}: last speech frame id {} arrived at {:.6}, first reply frame sent at {:.6}, latency: {:.6}",
            self.turn,
            self.last_speech_frame_id,
            self.speech_arrived_unix,
            self.first_reply_unix,
            self.latency_s
        )
    }
}

/// The message prefix of the agent's interruption truth line.
pub const AGENT_INTERRUPTION_PREFIX: &str = "VoiceperfAgent interruption ";

/// `voiceperf agent`'s own view of one interruption (user speech that stopped a reply), from
/// its truth line.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AgentInterruptionTruth {
    /// Interruption number on the stream (1-based, as logged).
    pub interruption: u64,
    /// Id of the incoming audio frame where the VAD's confirmed speech run began.
    pub speech_start_frame_id: u64,
    /// When that frame arrived at the agent's socket (unix seconds).
    pub speech_arrived_unix: f64,
    /// When the agent sent its interruption (unix seconds).
    pub interruption_unix: f64,
    /// When the agent sent the last frame of the stopped reply (unix seconds); `None` when the
    /// reply was stopped before its first frame.
    pub last_reply_frame_unix: Option<f64>,
}

/// The interruption truth line's message up to its free-text tail: `VoiceperfAgent
/// interruption N: speech start frame id F arrived at A, interruption sent at S, last reply
/// frame sent at L` (`L` is `-` when no reply frame had been sent).
impl std::fmt::Display for AgentInterruptionTruth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{AGENT_INTERRUPTION_PREFIX}{}: speech start frame id {} arrived at {:.6}, interruption sent at {:.6}, last reply frame sent at ",
            self.interruption,
            self.speech_start_frame_id,
            self.speech_arrived_unix,
            self.interruption_unix,
        )?;
        match self.last_reply_frame_unix {
            Some(last) => write!(f, "{last:.6}"),
            None => f.write_str("-"),
        }
    }
}

/// Index of the turn (of one connection, in order) that the truth line belongs to: the turn
/// whose chunks include the line's last speech frame id — ids are the chunk ids bench sent, so
/// this needs no clock — else, for a server numbering frames its own way, the last turn that
/// started before the reply was sent.
pub fn turn_for_truth<T: Borrow<TurnRecord>>(turns: &[T], truth: &AgentTurnTruth) -> Option<usize> {
    let id = truth.last_speech_frame_id;
    let by_id = (0..turns.len()).find(|&k| {
        let first = turns[k].borrow().first_chunk_id;
        let next = turns
            .get(k + 1)
            .map(|t| t.borrow().first_chunk_id)
            .unwrap_or(u64::MAX);
        id >= first && id < next
    });
    by_id.or_else(|| {
        turns
            .iter()
            .rposition(|t| t.borrow().started_at <= truth.first_reply_unix)
    })
}
