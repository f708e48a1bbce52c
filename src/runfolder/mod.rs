//! The run folder: what `bench` and `run` write into `results/<timestamp>/` and what
//! `analyze --run`, `report` and `run` read back. The types are the JSON schema
//! ([`results`] for bench's files, [`record`] for `run.json`); the file names and the readers
//! live here too, so every step names and reads a file the same way.

pub mod record;
pub mod results;
