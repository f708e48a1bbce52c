//! The seam between what a simulated user does and how it is encoded: the messages a
//! connection opens and closes with, how a chunk of the user's microphone goes on the wire,
//! and what a message from the agent means (bot audio, an interruption signal, anything else).
//! The user's conversation (`turn.rs`) and the connection loop (`client.rs`) know
//! nothing of the encoding.
//!
//! pipecat's protobuf protocol: every message is one binary `pipecat.Frame`; the microphone
//! sends `AudioRawFrame`s of 16 kHz mono int16 numbered 1, 2, 3… (the chunk id).

use tokio_tungstenite::tungstenite::Message;

use crate::audio::TARGET_RATE;
use crate::protocol::{self, FrameKind};
use crate::runfolder::results::{AudioFormat, ErrorKind, ReceivedKind};

/// Longest JSON kept from a message frame.
const MAX_TEXT_CHARS: usize = 500;

/// What one message from the agent means.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// Bot audio: interleaved little-endian int16 samples and their format.
    Audio {
        /// The samples.
        pcm: Vec<u8>,
        /// Their format.
        format: AudioFormat,
    },
    /// Any other message, kept for the turn's record.
    Other {
        /// What kind of message.
        kind: ReceivedKind,
        /// Its text, JSON or name, cut to a few hundred characters.
        text: String,
        /// RTVI message type, for RTVI messages.
        rtvi_type: Option<String>,
    },
    /// A message that cannot be used.
    Bad {
        /// Why.
        kind: ErrorKind,
        /// In one line.
        message: String,
    },
    /// Nothing the user acts on (ping, pong, raw frame).
    Nothing,
}

/// How a user's connection is encoded.
#[derive(Debug, Clone, Default)]
pub struct Wire;

impl Wire {
    /// Sample rate of the microphone audio this wire carries; the dataset is spoken at it.
    pub fn input_rate(&self) -> u32 {
        TARGET_RATE
    }

    /// Messages sent right after the WebSocket handshake, before any audio.
    pub fn opening(&self) -> Vec<Message> {
        Vec::new()
    }

    /// Chunk `id` (1, 2, 3…) of the microphone: `pcm` is little-endian int16 at
    /// [`Wire::input_rate`].
    pub fn audio(&self, id: u64, pcm: &[u8]) -> Message {
        let frame = protocol::audio_frame(id, String::new(), pcm.to_vec(), self.input_rate(), 1);
        Message::Binary(protocol::encode(&frame).into())
    }

    /// Messages sent at the end of a conversation, before the WebSocket close.
    pub fn closing(&self) -> Vec<Message> {
        Vec::new()
    }

    /// What a data message from the agent means (close, ping and pong are the connection's
    /// business, not the wire's).
    pub fn decode(&self, message: Message) -> Decoded {
        match message {
            Message::Binary(bytes) => decode_frame(&bytes),
            Message::Text(text) => Decoded::Bad {
                kind: ErrorKind::Undecodable,
                message: format!(
                    "text WebSocket message ({} bytes); pipecat frames are binary",
                    text.len()
                ),
            },
            _ => Decoded::Nothing,
        }
    }
}

/// Reply audio sample rates bench accepts (Hz): anything else is a `bad_audio` error.
pub(crate) const SANE_SAMPLE_RATES: std::ops::RangeInclusive<u32> = 4_000..=192_000;

fn decode_frame(bytes: &[u8]) -> Decoded {
    let frame = match protocol::decode(bytes) {
        Ok(frame) => frame,
        Err(e) => {
            return Decoded::Bad {
                kind: ErrorKind::Undecodable,
                message: e.to_string(),
            };
        }
    };
    let other = |kind, text: String, rtvi_type| Decoded::Other {
        kind,
        text,
        rtvi_type,
    };
    match frame.frame {
        Some(FrameKind::Audio(mut audio)) => match audio.pcm() {
            Ok(pcm) if !SANE_SAMPLE_RATES.contains(&pcm.sample_rate) => Decoded::Bad {
                kind: ErrorKind::BadAudio,
                message: format!(
                    "audio frame {}: sample rate {} Hz is outside {}..={} Hz",
                    audio.id,
                    pcm.sample_rate,
                    SANE_SAMPLE_RATES.start(),
                    SANE_SAMPLE_RATES.end()
                ),
            },
            Ok(pcm)
                if !pcm.wav_wrapped && audio.audio.len() % (2 * usize::from(pcm.channels)) != 0 =>
            {
                Decoded::Bad {
                    kind: ErrorKind::BadAudio,
                    message: format!(
                        "audio frame {}: {} bytes of PCM is not a whole number of {}-channel \
                         16-bit samples",
                        audio.id,
                        audio.audio.len(),
                        pcm.channels
                    ),
                }
            }
            Ok(pcm) => {
                let format = AudioFormat {
                    sample_rate: pcm.sample_rate,
                    channels: pcm.channels,
                    wav_wrapped: pcm.wav_wrapped,
                };
                // The samples are a slice of the frame's payload: keep the payload, cut to them.
                let start = pcm.bytes.as_ptr() as usize - audio.audio.as_ptr() as usize;
                let end = start + pcm.bytes.len();
                let mut bytes = std::mem::take(&mut audio.audio);
                bytes.truncate(end);
                bytes.drain(..start);
                Decoded::Audio { pcm: bytes, format }
            }
            Err(e) => Decoded::Bad {
                kind: ErrorKind::BadAudio,
                message: format!("audio frame {}: {e}", audio.id),
            },
        },
        Some(FrameKind::Text(text)) => other(ReceivedKind::Text, text.text, None),
        Some(FrameKind::Transcription(t)) => other(ReceivedKind::Transcription, t.text, None),
        Some(FrameKind::Message(message)) => {
            let rtvi_type = serde_json::from_str::<serde_json::Value>(&message.data)
                .ok()
                .and_then(|v| v.get("type")?.as_str().map(str::to_string));
            other(
                ReceivedKind::Message,
                truncate_chars(&message.data, MAX_TEXT_CHARS),
                rtvi_type,
            )
        }
        Some(FrameKind::Interruption(i)) => other(ReceivedKind::Interruption, i.name, None),
        None => other(ReceivedKind::Unknown, String::new(), None),
    }
}

fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_round_trips_through_the_pipecat_frame() {
        let wire = Wire;
        let pcm: Vec<u8> = (0..320i16).flat_map(|s| s.to_le_bytes()).collect();
        let message = wire.audio(7, &pcm);
        let Message::Binary(bytes) = &message else {
            panic!("pipecat frames are binary");
        };
        let frame = protocol::decode(bytes).unwrap();
        let Some(FrameKind::Audio(audio)) = frame.frame else {
            panic!("an audio frame");
        };
        assert_eq!(
            (audio.id, audio.sample_rate, audio.num_channels),
            (7, 16_000, 1)
        );
        match wire.decode(message) {
            Decoded::Audio { pcm: got, format } => {
                assert_eq!(got, pcm);
                assert_eq!((format.sample_rate, format.channels), (16_000, 1));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn text_messages_and_garbage_are_bad_frames() {
        let wire = Wire;
        assert!(matches!(
            wire.decode(Message::Text("hi".into())),
            Decoded::Bad {
                kind: ErrorKind::Undecodable,
                ..
            }
        ));
        assert!(matches!(
            wire.decode(Message::Binary(vec![0xff; 9].into())),
            Decoded::Bad {
                kind: ErrorKind::Undecodable,
                ..
            }
        ));
        assert_eq!(
            wire.decode(Message::Ping(Vec::new().into())),
            Decoded::Nothing
        );
    }
}
