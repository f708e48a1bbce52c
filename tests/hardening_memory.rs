//! Issue 15, item 2: `validate` looks at a file's header before anything else and streams the
//! rest, with memory independent of the file's size. Measured with a counting allocator, so
//! these tests have a binary of their own (nothing else allocating meanwhile).

mod support;

use std::fs;
use std::time::Duration;

use support::hardening::*;
use voiceperf::validate::{Rule, Status, ValidateOptions, validate_dataset};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// `truncate -s 3G big.wav`: not a WAV, said from its first bytes, whatever its size.
#[test]
fn validate_reads_the_header_first_with_memory_independent_of_file_size() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dir.path().join("ds");
    fs::create_dir(&ds).unwrap();
    sparse_file(&ds.join("big.wav"), b"", 3 << 30);
    let options = ValidateOptions::new(vec![ds.clone()]);
    let started = std::time::Instant::now();
    let (report, peak, largest) = peak_heap(|| validate_dataset(&options).unwrap());
    let elapsed = started.elapsed();
    let file = &report.files[0];
    let structure = &file.checks[0];
    assert_eq!(structure.rule, Rule::RiffStructure);
    assert_eq!(structure.status, Status::Fail);
    assert!(
        structure.message.contains("not a RIFF/WAVE file"),
        "{}",
        structure.message
    );
    assert!(peak < 16 << 20, "peak heap {peak} bytes");
    assert!(largest < 4 << 20, "largest allocation {largest} bytes");
    // Generous: validate still hashes the 3 GB (streamed); on a loaded 2-core machine that
    // took 6 s. The bound catches a hang, the heap bounds above catch reading it whole.
    assert!(elapsed < Duration::from_secs(60), "{elapsed:?}");
}

/// A WAV header announcing 600 MB of 16 kHz mono samples (a sparse file): measured by
/// streaming, the samples never all in memory.
#[test]
fn a_huge_wav_is_measured_by_streaming() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dir.path().join("ds");
    fs::create_dir(&ds).unwrap();
    let data_len: u32 = 600_000_000;
    // The canonical 44-byte header of an empty file, its sizes set to `data_len`.
    let mut header = voiceperf::audio::riff::wrap_pcm16(&[], 16_000, 1);
    assert_eq!(header.len(), 44);
    header[4..8].copy_from_slice(&(36 + data_len).to_le_bytes());
    header[40..44].copy_from_slice(&data_len.to_le_bytes());
    sparse_file(&ds.join("long.wav"), &header, 44 + u64::from(data_len));
    let options = ValidateOptions::new(vec![ds.clone()]);
    let (report, peak, largest) = peak_heap(|| validate_dataset(&options).unwrap());
    let file = &report.files[0];
    assert_eq!(file.status, Status::Fail);
    let duration = file
        .checks
        .iter()
        .find(|c| c.rule == Rule::Duration)
        .unwrap();
    assert_eq!(duration.status, Status::Fail, "{}", duration.message);
    assert_eq!(file.measurements.frames, Some(300_000_000));
    assert!(file.measurements.sha256.is_some());
    assert!(peak < 64 << 20, "peak heap {peak} bytes");
    assert!(largest < 16 << 20, "largest allocation {largest} bytes");
}
