//! The agent's server log: reading it ([`input`]: files or stdin, plain or gzip, line by line
//! in constant memory), what its lines say ([`parse`]: pipecat's metric and turn lines, client
//! starts), and `voiceperf agent`'s own per-turn truth line ([`truth`]: its format, and
//! matching it to the bench turn it belongs to).

pub mod input;
pub mod parse;
pub mod truth;
