//! Fuzz-style tests (issue 15): every parser of outside input is driven with mutated real
//! fixtures — the container decoders and the RIFF walker, pipecat frames, RTVI JSON, the
//! telephony providers' JSON and binary messages, the server-log reader and line parser, and
//! the run-folder readers with the report rendered from what they read. Each case must end
//! in a value or an error: no panic, no hang (each case has a deadline) and no unbounded
//! allocation (a counting allocator measures each case's peak heap).
//!
//! CI runs a few thousand cases in all; `VOICEPERF_FUZZ_CASES=N` runs N per parser instead
//! (e.g. 20000 for a long run). Each parser prints what its cases did (`--nocapture`).

mod support;

use std::io::Cursor;
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use support::hardening::{Counting, peak_heap};
use voiceperf::analyze::window::WindowSpec;
use voiceperf::analyze::{AnalyzeOptions, analyze};
use voiceperf::protocol::telephony::{self, BotSession, CallIds, Provider, ProviderSession, WsRef};
use voiceperf::protocol::{self, FrameKind, rtvi};
use voiceperf::serverlog::input::Input;
use voiceperf::serverlog::input::{LineReader, open_reader, strip_ansi};
use voiceperf::serverlog::parse::{
    Event, LineParser, MAX_DURATION_S, MAX_TOKENS_PER_SEC, MetricKind, Rejection, ServiceNames,
    find_log_time,
};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Most heap one case may hold at once: the inputs are at most a few hundred kB, so a case
/// above this follows a length field instead of the data.
const MAX_PEAK: usize = 256 << 20;

/// Longest one case may take (debug build, loaded CI machine): far above any real case, far
/// below "forever".
const DEADLINE: Duration = Duration::from_secs(60);

/// Cases per parser: `default` in CI, or `VOICEPERF_FUZZ_CASES`.
fn cases(default: u32) -> u32 {
    std::env::var("VOICEPERF_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One way to damage an input. Positions are taken modulo the input's length.
#[derive(Debug, Clone)]
enum Mutation {
    /// XOR a byte with a non-zero mask.
    Flip(usize, u8),
    /// Overwrite a byte.
    Set(usize, u8),
    /// Overwrite 4 bytes (little-endian) with a boundary value: lengths, rates, counts.
    Word(usize, u32),
    /// Cut the input short.
    Truncate(usize),
    /// Insert bytes.
    Insert(usize, Vec<u8>),
    /// Remove up to `len` bytes.
    Remove(usize, usize),
    /// Repeat a slice a few times (deep nesting, long lines, repeated chunks).
    Repeat(usize, usize, u8),
    /// Replace the text of a JSON number by a hostile one (`NaN`, `1e400`, …).
    Number(usize, &'static str),
}

const WORDS: [u32; 10] = [
    0,
    1,
    2,
    0xff,
    0x7fff,
    0xffff,
    0x10000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
];

const NUMBERS: [&str; 10] = [
    "NaN",
    "1e400",
    "-1e400",
    "1e308",
    "-1e308",
    "-1",
    "0",
    "18446744073709551616",
    "-9223372036854775809",
    "4294967296",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<usize>();
    prop_oneof![
        4 => (at, 1..=255u8).prop_map(|(a, m)| Mutation::Flip(a, m)),
        2 => (at, any::<u8>()).prop_map(|(a, v)| Mutation::Set(a, v)),
        3 => (at, prop_oneof![prop::sample::select(WORDS.to_vec()), any::<u32>()])
            .prop_map(|(a, v)| Mutation::Word(a, v)),
        1 => at.prop_map(Mutation::Truncate),
        2 => (at, prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(a, b)| Mutation::Insert(a, b)),
        2 => (at, 1..64usize).prop_map(|(a, l)| Mutation::Remove(a, l)),
        1 => (at, 1..64usize, 2..50u8).prop_map(|(a, l, t)| Mutation::Repeat(a, l, t)),
        2 => (at, prop::sample::select(NUMBERS.to_vec())).prop_map(|(a, n)| Mutation::Number(a, n)),
    ]
}

/// Applies the mutations in order.
fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len();
        let pos = |a: usize| if len == 0 { 0 } else { a % len };
        match m {
            Mutation::Flip(a, mask) if len > 0 => bytes[pos(*a)] ^= mask,
            Mutation::Set(a, v) if len > 0 => bytes[pos(*a)] = *v,
            Mutation::Word(a, v) if len >= 4 => {
                let p = pos(*a).min(len - 4);
                bytes[p..p + 4].copy_from_slice(&v.to_le_bytes());
            }
            Mutation::Truncate(a) => bytes.truncate(pos(*a)),
            Mutation::Insert(a, b) => {
                let p = pos(*a);
                bytes.splice(p..p, b.iter().copied());
            }
            Mutation::Remove(a, l) => {
                let p = pos(*a);
                bytes.drain(p..(p + l).min(len));
            }
            Mutation::Repeat(a, l, t) => {
                let p = pos(*a);
                let slice = bytes[p..(p + l).min(len)].to_vec();
                for _ in 1..*t {
                    bytes.splice(p..p, slice.iter().copied());
                }
            }
            Mutation::Number(a, n) => {
                // The n-th run of digits (counting from a) becomes the hostile number.
                let starts: Vec<usize> = (0..len)
                    .filter(|&i| {
                        bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_digit())
                    })
                    .collect();
                if !starts.is_empty() {
                    let s = starts[a % starts.len()];
                    let e = (s..len)
                        .find(|&i| !bytes[i].is_ascii_digit())
                        .unwrap_or(len);
                    bytes.splice(s..e, n.bytes());
                }
            }
            _ => {}
        }
    }
    bytes
}

/// A fixture and the mutations to apply to it.
fn mutated(fixtures: usize) -> impl Strategy<Value = (usize, Vec<Mutation>)> {
    (0..fixtures, prop::collection::vec(mutation(), 1..6))
}

/// What the cases of one parser did.
#[derive(Debug, Default)]
struct Tally {
    cases: u64,
    accepted: u64,
    rejected: u64,
    max_peak: usize,
    slowest: Duration,
}

/// Runs `work` on `input` on its own thread with the deadline, measuring its peak heap.
/// `work` returns whether the parser accepted the input (`Ok`) or said why not (`Err`).
fn check(
    tally: &Mutex<Tally>,
    input: Vec<u8>,
    work: fn(&[u8]) -> Result<(), String>,
) -> Result<(), TestCaseError> {
    let (tx, rx) = mpsc::channel();
    let started = Instant::now();
    let len = input.len();
    std::thread::spawn(move || {
        let (result, peak, _) = peak_heap(|| work(&input));
        let _ = tx.send((result, peak));
    });
    let (result, peak) = match rx.recv_timeout(DEADLINE) {
        Ok(done) => done,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            return Err(TestCaseError::fail(format!(
                "no answer within {DEADLINE:?} on {len} bytes"
            )));
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            return Err(TestCaseError::fail(format!("panicked on {len} bytes")));
        }
    };
    let elapsed = started.elapsed();
    let mut t = tally.lock().unwrap_or_else(|e| e.into_inner());
    t.cases += 1;
    match result {
        Ok(()) => t.accepted += 1,
        Err(_) => t.rejected += 1,
    }
    t.max_peak = t.max_peak.max(peak);
    t.slowest = t.slowest.max(elapsed);
    drop(t);
    prop_assert!(
        peak <= MAX_PEAK,
        "peak heap {} MiB on {len} bytes",
        peak >> 20
    );
    Ok(())
}

/// Runs `cases` mutated fixtures through `work` and prints the tally.
fn fuzz(name: &str, fixtures: &[Vec<u8>], cases: u32, work: fn(&[u8]) -> Result<(), String>) {
    assert!(!fixtures.is_empty(), "{name}: no fixtures");
    let tally = Mutex::new(Tally::default());
    // Every unmutated fixture first: the parsers accept them all.
    for fixture in fixtures {
        check(&tally, fixture.clone(), work).unwrap();
    }
    let clean = tally.lock().unwrap().accepted;
    assert_eq!(
        clean,
        fixtures.len() as u64,
        "{name}: a clean fixture was rejected"
    );
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&mutated(fixtures.len()), |(i, mutations)| {
        check(&tally, mutate(fixtures[i].clone(), &mutations), work)
    });
    let t = tally.lock().unwrap();
    eprintln!(
        "fuzz {name}: {} cases ({} fixtures + {cases} mutated), {} accepted, {} rejected with an error, peak heap at most {} KiB, slowest {:?}",
        t.cases,
        fixtures.len(),
        t.accepted,
        t.rejected,
        t.max_peak >> 10,
        t.slowest
    );
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}

/// The files of a fixture folder whose names end in one of `suffixes`.
fn fixtures(folder: &str, suffixes: &[&str]) -> Vec<Vec<u8>> {
    let mut paths: Vec<_> = std::fs::read_dir(support::fixture(folder))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            suffixes.iter().any(|s| name.ends_with(s)) && name != "manifest.json"
        })
        .collect();
    paths.sort();
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

// ---------------------------------------------------------------- audio containers, RIFF

const AUDIO_EXTENSIONS: [&str; 9] = [
    ".wav", ".aiff", ".caf", ".flac", ".m4a", ".mp3", ".ogg", ".opus", ".webm",
];

/// The container decoders, by every extension (a file's name may lie about its format).
fn decode_any(bytes: &[u8]) -> Result<(), String> {
    let decoded = voiceperf::audio::decode::decode_bytes(bytes, None).map_err(err)?;
    if decoded.sample_rate() == 0 {
        return Err("zero rate".into());
    }
    let _ = decoded.frames();
    Ok(())
}

#[test]
fn container_decoders_survive_mutated_recordings() {
    fuzz(
        "container decoders",
        &fixtures("audio", &AUDIO_EXTENSIONS),
        cases(400),
        decode_any,
    );
}

/// The RIFF walker (in memory and streamed) and the dataset's WAV reader.
fn riff_all(bytes: &[u8]) -> Result<(), String> {
    let layout = voiceperf::audio::riff::parse(bytes);
    let mut source: &[u8] = bytes;
    let streamed = voiceperf::audio::riff::parse_source(&mut source);
    if layout.is_ok() != streamed.is_ok() {
        return Err(format!(
            "in memory {:?} but streamed {:?}",
            layout.is_ok(),
            streamed.is_ok()
        ));
    }
    let _ = voiceperf::audio::wav::parse_pcm16_mono(bytes);
    let layout = layout.map_err(err)?;
    let _ = layout.frames();
    Ok(())
}

#[test]
fn riff_walker_survives_mutated_wavs() {
    let mut wavs = fixtures("audio", &[".wav"]);
    wavs.extend(fixtures("agent", &[".wav"]));
    fuzz("RIFF walker", &wavs, cases(1500), riff_all);
}

// ---------------------------------------------------------------- pipecat frames, RTVI

/// A pipecat frame, its audio and its RTVI message.
fn frame(bytes: &[u8]) -> Result<(), String> {
    let frame = protocol::decode(bytes).map_err(err)?;
    if let Some(FrameKind::Audio(audio)) = &frame.frame {
        let pcm = audio.pcm().map_err(err)?;
        let _ = (pcm.frames(), pcm.duration_secs());
    }
    if let Some(message) = rtvi::parse_frame(&frame) {
        message.map_err(err)?;
    }
    Ok(())
}

#[test]
fn pipecat_frames_survive_mutation() {
    // Every frame fixture but the one made to be refused (audio at 0 Hz, 0 channels).
    let mut frames: Vec<Vec<u8>> = fixtures("protocol", &[".bin"]);
    let refused = std::fs::read(support::fixture("protocol/empty_audio.bin")).unwrap();
    frames.retain(|f| *f != refused);
    frames.extend(fixtures("rtvi", &[".bin"]));
    fuzz("pipecat frames", &frames, cases(1500), frame);
}

/// RTVI JSON text on its own (mutations of the text inside the frames).
fn rtvi_json(bytes: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(bytes);
    rtvi::parse(&text).map(drop).map_err(err)
}

#[test]
fn rtvi_json_survives_mutation() {
    let texts: Vec<Vec<u8>> = fixtures("rtvi", &[".bin"])
        .iter()
        .filter_map(|b| match protocol::decode(b).ok()?.frame? {
            FrameKind::Message(m) => Some(m.data.into_bytes()),
            _ => None,
        })
        .collect();
    fuzz("RTVI JSON", &texts, cases(1500), rtvi_json);
}

// ---------------------------------------------------------------- telephony

/// A message as every provider's decoders take it: caller side, bot side, stateful or not.
fn telephony_any(bytes: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(bytes);
    let messages = [WsRef::Text(&text), WsRef::Binary(bytes)];
    let mut accepted = false;
    for provider in Provider::ALL {
        let session = ProviderSession::new(provider, CallIds::numbered(1, Vec::new()));
        let mut bot = BotSession::new(provider);
        for message in messages {
            accepted |=
                telephony::decode_caller(provider, provider.default_codec(), message).is_ok();
            accepted |= session.decode_bot(message).is_ok();
            accepted |= bot.decode_caller(message).is_ok();
        }
    }
    if accepted {
        Ok(())
    } else {
        Err("no decoder accepted it".into())
    }
}

#[test]
fn telephony_messages_survive_mutation() {
    fuzz(
        "telephony messages",
        &fixtures(
            "telephony",
            &[".json", "_media_0.bin", "_media_1.bin", "_8k_5.bin"],
        ),
        cases(1200),
        telephony_any,
    );
}

// ---------------------------------------------------------------- server logs

/// A whole log through the reader (plain or gzip), ANSI stripping, the line parser, the
/// timestamp finder, the agent-truth reader and the whole analysis (every line; every number it
/// reports must be finite).
fn log_all(bytes: &[u8]) -> Result<(), String> {
    let opened = open_reader(Box::new(Cursor::new(bytes.to_vec()))).map_err(err)?;
    let mut lines = LineReader::new(opened.reader);
    let parser = LineParser::new(ServiceNames::pipecat());
    let mut clean = Vec::new();
    let mut events = 0usize;
    while let Some(line) = lines.next_line().map_err(err)? {
        clean.clear();
        strip_ansi(line, &mut clean);
        events += usize::from(parser.parse(&clean).is_some());
        let _ = find_log_time(&clean);
    }
    let dir = tempfile::tempdir().map_err(err)?;
    let path = dir.path().join("agent.log");
    std::fs::write(&path, bytes).map_err(err)?;
    let _ = voiceperf::serverlog::read_truth_lines(&path);
    let mut options = AnalyzeOptions::new(vec![Input::File(path)]);
    options.window = WindowSpec::Range {
        since: None,
        until: None,
    };
    let analysis = analyze(&options).map_err(err)?;
    support::analysis::assert_all_finite(&analysis);
    if events == 0 {
        return Err("no event".into());
    }
    Ok(())
}

#[test]
fn log_parser_survives_mutated_logs() {
    let mut logs = fixtures("logs", &[".log", ".log.1"]);
    // Keep the cases fast: the first 64 kB of each log.
    for log in &mut logs {
        log.truncate(64 << 10);
    }
    // A gzip log too (the reader sniffs it).
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &logs[0]).unwrap();
    logs.push(gz.finish().unwrap());
    // Logs without a single event are fixtures of other things; keep those with events.
    logs.retain(|l| log_all(l).is_ok());
    fuzz("server-log parser", &logs, cases(600), log_all);
}

/// What may stand where a log line's number belongs: boundary and hostile values, any f64
/// written out both ways, long digit strings with exponents, and junk made of number-ish
/// characters.
fn value_text() -> impl Strategy<Value = String> {
    let hostile = vec![
        "0",
        "0.0",
        "-0",
        "-0.0",
        "3600",
        "3600.0000001",
        "3599.999",
        "1e308",
        "-1e308",
        "1e400",
        "-1e400",
        "1e-400",
        "-1e-400",
        "5e-324",
        "NaN",
        "nan",
        "-nan",
        "inf",
        "-inf",
        "+inf",
        "Infinity",
        "-Infinity",
        "INF",
        "1.7976931348623157e308",
        "18446744073709551616",
        "0.3.4",
        "",
        "-",
        "+",
        "e5",
        "1e",
        "..",
        "0x10",
        "1_000",
        "--1",
        "+-1",
    ];
    prop_oneof![
        3 => prop::sample::select(hostile).prop_map(String::from),
        3 => any::<f64>().prop_map(|v| format!("{v}")),
        2 => any::<f64>().prop_map(|v| format!("{v:e}")),
        2 => "[-+]?[0-9]{0,400}(\\.[0-9]{0,20})?([eE][-+]?[0-9]{1,4})?",
        1 => "[0-9.eE+\\-naifNAIFty]{0,12}",
    ]
}

/// Metric lines (NVIDIA's layout) and the metric each gives.
const METRIC_LINES: [(&str, MetricKind); 6] = [
    ("NvidiaLLMService#0 TTFB: ", MetricKind::LlmTtfb),
    ("CartesiaTTSService#3 TTFB: ", MetricKind::TtsTtfb),
    (
        "RivaASRService#0 ASR compute latency: ",
        MetricKind::AsrLatency,
    ),
    (
        "NvidiaLLMService#0 LLM first sentence generation time: ",
        MetricKind::LlmFirstSentence,
    ),
    (
        "OpenAILLMService#0 processing time: ",
        MetricKind::LlmProcessingTime,
    ),
    ("DeepgramSTTService#0 TTFB: ", MetricKind::AsrTtfb),
];

const LINE_HEAD: &str = "2026-11-27 10:04:52.167 | DEBUG    | pipecat.processors.metrics:log:42 | streamId=client_3_1 - ";

/// What the parser must make of a value: Rust's own reading of the number (the oracle),
/// scaled by its unit, then kept only if a duration can be it.
fn expected(number: &str, per_second: f64) -> Result<f64, Rejection> {
    let Ok(v) = number.parse::<f64>() else {
        return Err(Rejection::Malformed);
    };
    let v = v / per_second;
    if v.is_nan() {
        Err(Rejection::NotANumber)
    } else if v.is_infinite() {
        Err(Rejection::Infinite)
    } else if v < 0.0 {
        Err(Rejection::Negative)
    } else if v > MAX_DURATION_S {
        Err(Rejection::AboveCeiling)
    } else {
        Ok(v + 0.0)
    }
}

/// The line parser on metric lines whose number is anything (issue 15): a value comes out
/// only when it is finite, not negative and at most an hour, and then it is exactly the
/// number written; everything else is rejected with the right reason. Never a panic.
#[test]
fn log_line_parser_keeps_only_physical_values() {
    let parser = LineParser::new(ServiceNames::pipecat());
    let mut runner = TestRunner::new(Config {
        cases: cases(3000),
        failure_persistence: None,
        ..Config::default()
    });
    let tally = Mutex::new([0u64; 7]);
    let strategy = (0..METRIC_LINES.len(), value_text(), 0..3usize);
    let result = runner.run(&strategy, |(which, number, unit)| {
        let (prefix, kind) = METRIC_LINES[which];
        let (suffix, per_second) = [("", 1.0), ("s", 1.0), ("ms", 1000.0)][unit];
        let line = format!("{LINE_HEAD}{prefix}{number}{suffix}");
        let want = expected(&number, per_second);
        let got = match parser.parse(line.as_bytes()) {
            Some(Event::Metric {
                kind: got_kind,
                value,
                ..
            }) => {
                prop_assert_eq!(got_kind, kind);
                prop_assert!(value.is_finite() && (0.0..=MAX_DURATION_S).contains(&value));
                Ok(value)
            }
            Some(Event::Rejected { metric, reason, .. }) => {
                prop_assert_eq!(metric, Some(kind));
                Err(reason)
            }
            other => return Err(TestCaseError::fail(format!("{line}: {other:?}"))),
        };
        match (got, want) {
            (Ok(g), Ok(w)) => prop_assert!(g.to_bits() == w.to_bits(), "{line}: {g} ≠ {w}"),
            (g, w) => prop_assert_eq!(g, w, "{}", line),
        }
        let mut t = tally.lock().unwrap();
        let slot = match got {
            Ok(_) => 0,
            Err(reason) => {
                1 + Rejection::ALL
                    .iter()
                    .position(|r| *r == reason)
                    .unwrap_or(0)
            }
        };
        t[slot] += 1;
        Ok(())
    });
    let t = tally.lock().unwrap();
    eprintln!(
        "fuzz log line numbers: {} cases: {} values kept; rejected {} malformed, {} NaN, {} infinite, {} negative, {} above the ceiling",
        t.iter().sum::<u64>(),
        t[0],
        t[1],
        t[2],
        t[3],
        t[4],
        t[5]
    );
    if let Err(e) = result {
        panic!("log line numbers: {e}");
    }
    // Each outcome was reached.
    assert!(t[..6].iter().all(|&n| n > 0), "{t:?}");
}

/// Whole logs of metric and completion-token lines with extreme numbers through `analyze`:
/// every sample, mean, percentile and seed number finite and within its ceiling, and every
/// line either used or counted as rejected.
#[test]
fn analysis_of_extreme_values_stays_finite() {
    let line = prop_oneof![
        4 => (0..METRIC_LINES.len(), value_text(), 0..3usize).prop_map(|(which, number, unit)| {
            let suffix = ["", "s", "ms"][unit];
            format!("{}{number}{suffix}", METRIC_LINES[which].0)
        }),
        2 => prop_oneof![
            prop::sample::select(vec![0u64, 1, 16, 1_000_000, u64::MAX]),
            any::<u64>()
        ]
        .prop_map(|n| format!("OpenAILLMService#0 prompt tokens: 3, completion tokens: {n}")),
    ];
    let mut runner = TestRunner::new(Config {
        cases: cases(300),
        failure_persistence: None,
        ..Config::default()
    });
    let rejected = std::cell::Cell::new(0u64);
    let used = std::cell::Cell::new(0usize);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.log");
    let result = runner.run(&prop::collection::vec(line, 1..40), |messages| {
        let log: String = messages
            .iter()
            .map(|m| format!("{LINE_HEAD}{m}\n"))
            .collect();
        std::fs::write(&path, log).unwrap();
        let mut options = AnalyzeOptions::new(vec![Input::File(path.clone())]);
        options.window = WindowSpec::Range {
            since: None,
            until: None,
        };
        let a = analyze(&options).map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
        support::analysis::assert_all_finite(&a);
        prop_assert_eq!(a.counts.rejected_lines, a.warnings_total);
        prop_assert_eq!(
            a.counts.rejected_by_reason.values().sum::<u64>(),
            a.counts.rejected_lines
        );
        prop_assert!(a.counts.rejected_lines <= messages.len() as u64);
        for client in &a.clients {
            for kind in MetricKind::ALL {
                let ceiling = if kind.is_seconds() {
                    MAX_DURATION_S
                } else {
                    MAX_TOKENS_PER_SEC
                };
                for &v in client.samples.get(kind) {
                    prop_assert!((0.0..=ceiling).contains(&v), "{:?} = {}", kind, v);
                    used.set(used.get() + 1);
                }
            }
        }
        rejected.set(rejected.get() + a.counts.rejected_lines);
        Ok(())
    });
    eprintln!(
        "fuzz analysis of extreme values: {} logs, {} samples used, {} lines rejected",
        cases(300),
        used.get(),
        rejected.get()
    );
    if let Err(e) = result {
        panic!("analysis of extreme values: {e}");
    }
    assert!(used.get() > 0 && rejected.get() > 0);
}

// ---------------------------------------------------------------- run folders, report

/// A copy of the saved run with `bytes` as its file number `bytes[0]`: read back by the
/// run-folder readers, then rendered.
fn run_folder(bytes: &[u8]) -> Result<(), String> {
    let (&which, content) = bytes.split_first().ok_or("empty")?;
    let fixture = support::fixture("report_run");
    let dir = tempfile::tempdir().map_err(err)?;
    let names = run_files();
    for name in &names {
        std::fs::copy(fixture.join(name), dir.path().join(name)).map_err(err)?;
    }
    let target = &names[usize::from(which) % names.len()];
    std::fs::write(dir.path().join(target), content).map_err(err)?;
    let level = voiceperf::runfolder::Level::load(dir.path()).map_err(err)?;
    let _ = level.metrics_window();
    let folder = voiceperf::report::data::load(dir.path()).map_err(err)?;
    let html = voiceperf::report::html::render(&folder);
    let markdown = voiceperf::report::markdown::render(&folder);
    if html.is_empty() || markdown.is_empty() {
        return Err("empty report".into());
    }
    let _ = voiceperf::report::render_folder(dir.path());
    Ok(())
}

/// The JSON files of the saved run, sorted.
fn run_files() -> Vec<String> {
    let mut names: Vec<String> = support::names(&support::fixture("report_run"))
        .into_iter()
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

#[test]
fn run_folder_readers_and_report_survive_mutated_runs() {
    let inputs: Vec<Vec<u8>> = run_files()
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut bytes = vec![i as u8];
            bytes.extend(std::fs::read(support::fixture("report_run").join(name)).unwrap());
            bytes
        })
        .collect();
    // The mutations never touch the first byte (the file number) more than rarely; a changed
    // one just damages another file.
    fuzz(
        "run-folder readers + report",
        &inputs,
        cases(300),
        run_folder,
    );
}

#[test]
fn mutations_change_the_input() {
    let base = b"{\"a\": 12, \"b\": [1, 2]}".to_vec();
    assert_eq!(
        mutate(base.clone(), &[Mutation::Number(1, "1e400")]),
        b"{\"a\": 12, \"b\": [1e400, 2]}".to_vec()
    );
    assert_eq!(
        mutate(base.clone(), &[Mutation::Truncate(3)]),
        b"{\"a".to_vec()
    );
    assert_eq!(
        mutate(b"abc".to_vec(), &[Mutation::Repeat(1, 1, 3)]),
        b"abbbc".to_vec()
    );
    assert!(Path::new(&support::fixture("report_run")).is_dir());
}
