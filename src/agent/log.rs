//! The agent's server log in the NVIDIA pipecat (loguru) layout:
//! `{time} | {level: <8} | {module}:{function}:{line} | streamId={stream_id} - {message}`.
//!
//! Lines are formatted by the connection tasks and written by one background thread, so a slow
//! disk never delays audio pacing.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

use anyhow::Context as _;

use crate::clock::UnixClock;

/// Where the agent writes its log.
#[derive(Debug, Clone, Default)]
pub enum LogTarget {
    /// Standard error (the default of `voiceperf agent`).
    #[default]
    Stderr,
    /// Appended to a file (created if missing; earlier runs are kept).
    File(PathBuf),
    /// An in-memory buffer shared with the caller (tests, `voiceperf run`).
    Memory(MemoryLog),
    /// Any writer the caller shares (each line is written whole, then flushed).
    Writer(SharedWriter),
    /// Nowhere.
    Discard,
}

/// A log buffer in memory that the caller can read while the agent runs.
#[derive(Clone, Default)]
pub struct MemoryLog(Arc<Mutex<Vec<u8>>>);

impl fmt::Debug for MemoryLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = self.0.lock().map_or(0, |bytes| bytes.len());
        write!(f, "MemoryLog({len} bytes)")
    }
}

impl MemoryLog {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything logged so far.
    pub fn contents(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn append(&self, line: &[u8]) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(line);
    }
}

/// A writer shared with the caller, for [`LogTarget::Writer`].
#[derive(Clone)]
pub struct SharedWriter(pub Arc<Mutex<dyn Write + Send>>);

impl SharedWriter {
    /// Shares `writer`.
    pub fn new(writer: impl Write + Send + 'static) -> Self {
        SharedWriter(Arc::new(Mutex::new(writer)))
    }
}

impl fmt::Debug for SharedWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedWriter")
    }
}

/// Log levels used by the agent (loguru names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Metrics and per-frame details (pipecat logs TTFB at this level).
    Debug,
    /// Connections, turns.
    Info,
    /// Bad input that was skipped.
    Warning,
    /// Failures.
    Error,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
        })
    }
}

/// Writes one formatted line to the destination.
type LineSink = Box<dyn FnMut(&[u8]) -> io::Result<()> + Send>;

enum Command {
    Line(String),
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// A cheap, cloneable handle that formats and queues log lines.
#[derive(Clone)]
pub struct Log {
    tx: mpsc::Sender<Command>,
    clock: UnixClock,
}

/// The writer thread; dropping it without [`LogWriter::finish`] leaves the thread to drain.
pub struct LogWriter {
    thread: Option<thread::JoinHandle<()>>,
    log: Log,
}

/// Opens the log destination and starts the writer thread.
pub fn open(target: &LogTarget, clock: UnixClock) -> anyhow::Result<(Log, LogWriter)> {
    let mut sink: LineSink = match target {
        LogTarget::Stderr => Box::new(|line: &[u8]| io::stderr().lock().write_all(line)),
        LogTarget::File(path) => {
            let mut file: File = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening log file {}", path.display()))?;
            Box::new(move |line: &[u8]| file.write_all(line))
        }
        LogTarget::Memory(memory) => {
            let memory = memory.clone();
            Box::new(move |line: &[u8]| {
                memory.append(line);
                Ok(())
            })
        }
        LogTarget::Writer(shared) => {
            let shared = shared.0.clone();
            Box::new(move |line: &[u8]| {
                let mut writer = shared.lock().unwrap_or_else(|e| e.into_inner());
                writer.write_all(line)?;
                writer.flush()
            })
        }
        LogTarget::Discard => Box::new(|_: &[u8]| Ok(())),
    };
    let (tx, rx) = mpsc::channel::<Command>();
    let thread = thread::Builder::new()
        .name("voiceperf-agent-log".into())
        .spawn(move || {
            let mut failed = false;
            for command in rx {
                match command {
                    Command::Line(line) => {
                        if let Err(err) = sink(line.as_bytes())
                            && !failed
                        {
                            failed = true;
                            eprintln!("voiceperf agent: cannot write the log: {err}");
                        }
                    }
                    Command::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        })
        .context("starting the log writer thread")?;
    let log = Log { tx, clock };
    Ok((
        log.clone(),
        LogWriter {
            thread: Some(thread),
            log,
        },
    ))
}

impl Log {
    /// Queues one line stamped with `at` (local time) for `stream` (already escaped).
    pub fn write(
        &self,
        at: Instant,
        level: Level,
        origin: &str,
        stream: &str,
        message: fmt::Arguments<'_>,
    ) {
        let line = format!(
            "{} | {level: <8} | {origin} | streamId={stream} - {message}\n",
            self.clock.local_string(at)
        );
        let _ = self.tx.send(Command::Line(line));
    }

    /// Waits until every line queued so far has been written.
    pub async fn flush(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.tx.send(Command::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

impl LogWriter {
    /// Waits until every line queued so far is written. The thread itself ends once the last
    /// [`Log`] handle is dropped.
    pub async fn finish(mut self) {
        self.log.flush().await;
        if let Some(thread) = self.thread.take()
            && thread.is_finished()
        {
            let _ = thread.join();
        }
    }
}

/// The stream id as it may appear in a log line or a file name: ASCII letters, digits and
/// `-_.:@+=~` pass; every other byte (spaces, quotes, slashes, control and non-ASCII
/// characters) is percent-encoded, so a line stays one token per field. Long ids are cut at
/// 200 bytes with a `...` marker.
pub fn escape_stream_id(id: &str) -> String {
    const MAX: usize = 200;
    let mut out = String::with_capacity(id.len());
    for (i, byte) in id.bytes().enumerate() {
        if i >= MAX {
            out.push_str("...");
            break;
        }
        if byte.is_ascii_alphanumeric() || b"-_.:@+=~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    if out.is_empty() {
        out.push_str("%00");
    }
    out
}

/// Decodes `%XX` escapes of a URL path segment (invalid escapes stay as they are; invalid
/// UTF-8 becomes U+FFFD), as web frameworks do for path parameters.
pub fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex_value(bytes[i + 1]), hex_value(bytes[i + 2]))
        {
            out.push(hi << 4 | lo);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_plain_ids_and_encodes_the_rest() {
        assert_eq!(
            escape_stream_id("client_3_1732700000000"),
            "client_3_1732700000000"
        );
        assert_eq!(escape_stream_id("a b/../c"), "a%20b%2F..%2Fc");
        assert_eq!(escape_stream_id("é\n"), "%C3%A9%0A");
        assert_eq!(escape_stream_id(""), "%00");
        let long = "x".repeat(500);
        assert_eq!(escape_stream_id(&long).len(), 203);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("client%201"), "client 1");
        assert_eq!(percent_decode("a%2Fb%zz%4"), "a/b%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
        assert_eq!(percent_decode("%FF"), "\u{FFFD}");
    }

    #[tokio::test]
    async fn shared_writer_gets_whole_lines() {
        let buffer = MemoryLog::new();
        struct Sink(MemoryLog);
        impl Write for Sink {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.append(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let target = LogTarget::Writer(SharedWriter::new(Sink(buffer.clone())));
        let (log, writer) = open(&target, UnixClock::new()).unwrap();
        log.write(
            Instant::now(),
            Level::Warning,
            "m:f:1",
            "s",
            format_args!("hello"),
        );
        writer.finish().await;
        assert!(
            buffer
                .contents()
                .ends_with(" | WARNING  | m:f:1 | streamId=s - hello\n")
        );
    }

    #[tokio::test]
    async fn lines_have_the_loguru_layout() {
        let memory = MemoryLog::new();
        let (log, writer) = open(&LogTarget::Memory(memory.clone()), UnixClock::new()).unwrap();
        log.write(
            Instant::now(),
            Level::Info,
            "__main__:websocket_endpoint:439",
            "s1",
            format_args!("Accepting WebSocket connection for stream ID s1"),
        );
        log.flush().await;
        drop(log);
        writer.finish().await;
        let text = memory.contents();
        let (stamp, rest) = text.split_at(23);
        assert!(stamp.chars().nth(4) == Some('-') && stamp.chars().nth(19) == Some('.'));
        assert_eq!(
            rest,
            " | INFO     | __main__:websocket_endpoint:439 | streamId=s1 - Accepting WebSocket connection for stream ID s1\n"
        );
    }
}
