//! Reading logs: files or stdin, plain or gzip (detected by magic bytes), line by line in
//! constant memory, CRLF and ANSI colour codes removed.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::PathBuf;

use anyhow::{Context, Result};
use flate2::read::MultiGzDecoder;
use memchr::memchr;

/// Read buffer size: large enough that almost every line is parsed in place, without a copy.
const READ_BUFFER: usize = 1 << 20;

/// Longest line kept; the rest of a longer line is skipped so a file without newlines cannot
/// grow memory. Metric lines are a few hundred bytes.
pub const MAX_LINE: usize = 64 * 1024;

/// The two bytes every gzip member starts with (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// One log to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Standard input (`-` on the command line).
    Stdin,
    /// A file.
    File(PathBuf),
}

impl Input {
    /// `-` is stdin, anything else a path.
    pub fn from_arg(arg: &str) -> Self {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::File(PathBuf::from(arg))
        }
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Stdin => f.write_str("<stdin>"),
            Input::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// An opened input: its decoded byte stream and whether it was gzip.
pub struct OpenedInput {
    /// Decoded (decompressed) bytes.
    pub reader: Box<dyn BufRead>,
    /// Whether the input was gzip-compressed.
    pub gzip: bool,
}

/// Opens `input`, decompressing it when its first bytes are the gzip magic number (whatever
/// its name says).
pub fn open(input: &Input) -> Result<OpenedInput> {
    let raw: Box<dyn Read> = match input {
        Input::Stdin => Box::new(io::stdin()),
        Input::File(path) => {
            Box::new(File::open(path).with_context(|| format!("opening {}", path.display()))?)
        }
    };
    open_reader(raw).with_context(|| format!("reading {input}"))
}

/// Wraps any byte source, detecting gzip by its magic bytes.
pub fn open_reader(mut raw: Box<dyn Read>) -> io::Result<OpenedInput> {
    let mut head = [0u8; 2];
    let mut got = 0;
    while got < head.len() {
        match raw.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    let gzip = got == 2 && head == GZIP_MAGIC;
    let stream = Cursor::new(head[..got].to_vec()).chain(raw);
    let reader: Box<dyn BufRead> = if gzip {
        // Multi-member: `cat a.gz b.gz` and some rotators produce several gzip members.
        Box::new(BufReader::with_capacity(
            READ_BUFFER,
            MultiGzDecoder::new(stream),
        ))
    } else {
        Box::new(BufReader::with_capacity(READ_BUFFER, stream))
    };
    Ok(OpenedInput { reader, gzip })
}

/// Splits a byte stream into lines without allocating per line: a line is returned in place
/// from the read buffer unless it straddles two reads. A trailing `\r` is removed.
pub struct LineReader<R> {
    inner: R,
    /// Bytes of the line last returned in place, consumed at the next call.
    pending: usize,
    /// Holds a line that straddled two reads.
    spill: Vec<u8>,
    line_number: u64,
    bytes: u64,
    truncated_lines: u64,
}

impl<R: BufRead> LineReader<R> {
    /// A line reader over `inner`.
    pub fn new(inner: R) -> Self {
        LineReader {
            inner,
            pending: 0,
            spill: Vec::new(),
            line_number: 0,
            bytes: 0,
            truncated_lines: 0,
        }
    }

    /// Number (1-based) of the line last returned.
    pub fn line_number(&self) -> u64 {
        self.line_number
    }

    /// Bytes read so far (after decompression).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Lines longer than [`MAX_LINE`] whose tail was skipped.
    pub fn truncated_lines(&self) -> u64 {
        self.truncated_lines
    }

    /// The next line without its `\n` / `\r\n`, or `None` at the end of the stream.
    pub fn next_line(&mut self) -> io::Result<Option<&[u8]>> {
        if self.pending > 0 {
            self.inner.consume(self.pending);
            self.pending = 0;
        }
        // Fast path: the whole line is in the buffer. (Two `fill_buf` calls because a borrow
        // returned on one branch cannot be reused on the other; the second call is free.)
        let newline = {
            let available = fill_buf_retrying(&mut self.inner)?;
            if available.is_empty() {
                return Ok(None);
            }
            memchr(b'\n', available)
        };
        if let Some(end) = newline {
            self.pending = end + 1;
            self.line_number += 1;
            self.bytes += (end + 1) as u64;
            let available = fill_buf_retrying(&mut self.inner)?;
            return Ok(Some(trim_cr(&available[..end])));
        }
        self.read_spilled_line()?;
        Ok(Some(trim_cr(&self.spill)))
    }

    /// Slow path: collects a line spanning several reads into `spill`, keeping at most
    /// [`MAX_LINE`] bytes of it.
    fn read_spilled_line(&mut self) -> io::Result<()> {
        self.spill.clear();
        let mut truncated = false;
        loop {
            let available = fill_buf_retrying(&mut self.inner)?;
            if available.is_empty() {
                break;
            }
            let (take, done) = match memchr(b'\n', available) {
                Some(end) => (end, true),
                None => (available.len(), false),
            };
            let room = MAX_LINE.saturating_sub(self.spill.len());
            if take > room {
                truncated = true;
            }
            self.spill.extend_from_slice(&available[..take.min(room)]);
            let consumed = if done { take + 1 } else { take };
            self.inner.consume(consumed);
            self.bytes += consumed as u64;
            if done {
                break;
            }
        }
        self.line_number += 1;
        if truncated {
            self.truncated_lines += 1;
        }
        Ok(())
    }
}

fn fill_buf_retrying<R: BufRead>(reader: &mut R) -> io::Result<&[u8]> {
    // `fill_buf` may report `Interrupted` (a signal); retrying is the documented answer. Any
    // other error is returned as it is: calling `fill_buf` again after it would read past it
    // (a gzip decoder reports a bad checksum once, then end of stream). The buffer is borrowed
    // again once it is filled, which costs nothing.
    loop {
        match reader.fill_buf() {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    reader.fill_buf()
}

fn trim_cr(line: &[u8]) -> &[u8] {
    match line.split_last() {
        Some((b'\r', rest)) => rest,
        _ => line,
    }
}

/// Whether `line` holds an escape character (an ANSI colour code).
pub fn has_escape(line: &[u8]) -> bool {
    memchr(0x1b, line).is_some()
}

/// Copies `line` into `out` without its ANSI escape sequences (CSI `ESC [ … final`, OSC
/// `ESC ] … BEL/ST`, and `ESC [intermediates] final`).
pub fn strip_ansi(line: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut i = 0;
    while i < line.len() {
        let Some(offset) = memchr(0x1b, &line[i..]) else {
            out.extend_from_slice(&line[i..]);
            break;
        };
        out.extend_from_slice(&line[i..i + offset]);
        i += offset + 1;
        match line.get(i) {
            Some(b'[') => {
                i += 1;
                // Parameter and intermediate bytes, then one final byte in 0x40..=0x7e.
                while i < line.len() && !(0x40..=0x7e).contains(&line[i]) {
                    i += 1;
                }
                i += 1;
            }
            Some(b']') => {
                i += 1;
                while i < line.len() {
                    if line[i] == 0x07 {
                        i += 1;
                        break;
                    }
                    if line[i] == 0x1b && line.get(i + 1) == Some(&b'\\') {
                        i += 2;
                        break;
                    }
                    i += 1;
                }
            }
            Some(_) => {
                // nF escape: intermediate bytes 0x20..=0x2f, then one final byte.
                while i < line.len() && (0x20..=0x2f).contains(&line[i]) {
                    i += 1;
                }
                i += 1;
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(data: &[u8], buffer: usize) -> Vec<Vec<u8>> {
        let mut reader = LineReader::new(BufReader::with_capacity(buffer, data));
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            out.push(line.to_vec());
        }
        out
    }

    #[test]
    fn splits_lines_in_place_and_across_reads() {
        let data = b"alpha\r\nbeta\n\ngamma-without-newline";
        for buffer in [1, 2, 3, 7, 64, 1 << 16] {
            let lines = lines_of(data, buffer);
            assert_eq!(
                lines,
                vec![
                    b"alpha".to_vec(),
                    b"beta".to_vec(),
                    b"".to_vec(),
                    b"gamma-without-newline".to_vec()
                ],
                "buffer {buffer}"
            );
        }
    }

    #[test]
    fn counts_lines_and_bytes() {
        let data = b"a\nbb\nccc\n";
        let mut reader = LineReader::new(BufReader::with_capacity(2, &data[..]));
        while reader.next_line().unwrap().is_some() {}
        assert_eq!(reader.line_number(), 3);
        assert_eq!(reader.bytes(), 9);
    }

    #[test]
    fn overlong_lines_are_truncated_not_buffered() {
        let mut data = vec![b'x'; MAX_LINE * 3];
        data.extend_from_slice(b"\nshort\n");
        let mut reader = LineReader::new(BufReader::with_capacity(4096, &data[..]));
        assert_eq!(reader.next_line().unwrap().unwrap().len(), MAX_LINE);
        assert_eq!(reader.next_line().unwrap().unwrap(), b"short");
        assert!(reader.next_line().unwrap().is_none());
        assert_eq!(reader.truncated_lines(), 1);
        assert_eq!(reader.line_number(), 2);
    }

    #[test]
    fn strips_colour_codes() {
        let mut out = Vec::new();
        strip_ansi(
            b"\x1b[36mpython-app-1  |\x1b[0m 2026 \x1b[1mINFO\x1b[0m x\x1b]0;title\x07y\x1b(B",
            &mut out,
        );
        assert_eq!(out, b"python-app-1  | 2026 INFO xy");
        strip_ansi(b"trailing escape \x1b", &mut out);
        assert_eq!(out, b"trailing escape ");
    }

    #[test]
    fn a_gzip_checksum_error_is_reported_not_taken_for_the_end() {
        use flate2::{Compression, write::GzEncoder};
        use std::io::Write;
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(b"one\ntwo\n").unwrap();
        let mut gz = encoder.finish().unwrap();
        // The trailer is CRC-32 then length; damage the CRC.
        let crc = gz.len() - 8;
        gz[crc] ^= 0xff;
        let opened = open_reader(Box::new(Cursor::new(gz))).unwrap();
        let mut lines = LineReader::new(opened.reader);
        let mut result = Ok(());
        loop {
            match lines.next_line() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        assert!(result.is_err(), "a corrupt gzip must not read as complete");
    }

    #[test]
    fn detects_gzip_by_magic_not_name() {
        use flate2::{Compression, write::GzEncoder};
        use std::io::Write;
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(b"one\ntwo\n").unwrap();
        let gz = encoder.finish().unwrap();
        let mut opened = open_reader(Box::new(Cursor::new(gz))).unwrap();
        assert!(opened.gzip);
        let mut text = String::new();
        opened.reader.read_to_string(&mut text).unwrap();
        assert_eq!(text, "one\ntwo\n");

        let mut plain = open_reader(Box::new(Cursor::new(b"x".to_vec()))).unwrap();
        assert!(!plain.gzip);
        let mut text = String::new();
        plain.reader.read_to_string(&mut text).unwrap();
        assert_eq!(text, "x");
    }
}
