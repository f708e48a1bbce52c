//! Issue 15, item 9 (terminal half): prep and validate print file names, messages and chunk
//! ids with control characters escaped — a name holding a newline cannot forge an `error:`
//! line, escape sequences and NUL bytes never reach the terminal.

mod support;

use support::cli::{prep, run, voiceperf};
use support::validate::good_query;
use support::{audio::wav, write_file};

/// Names a hostile user could give recordings: a forged line, a terminal escape, a NUL-free
/// bell and carriage return (NUL cannot be in a Unix file name).
const NAMES: [&str; 3] = [
    "evil\nerror: forged line.wav",
    "esc\u{1b}[2Jclear.wav",
    "bell\u{7}\rback.wav",
];

/// Asserts `text` holds no control character but newlines ending its lines, and no line
/// forged by a file name.
#[track_caller]
fn assert_clean(text: &str, what: &str) {
    for line in text.lines() {
        assert!(
            !line.chars().any(|c| c.is_control() && c != '\t'),
            "{what}: control character in {line:?}"
        );
        assert!(
            !line.starts_with("error: forged"),
            "{what}: forged {line:?}"
        );
    }
}

#[test]
fn prep_and_validate_escape_names_they_print() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    // One good recording and one damaged one under each hostile name.
    for (i, name) in NAMES.iter().enumerate() {
        if i == 0 {
            write_file(&raw, name, &wav(&good_query()));
        } else {
            write_file(&raw, name, b"RIFF\x10\0\0\0WAVEjunk\x01\0\0\0x");
        }
    }
    let out = prep(dir.path(), &["raw", "-o", "ds"]);
    assert_eq!(out.code, 1, "a recording failed: {out:?}");
    assert_clean(&out.stdout, "prep stdout");
    assert_clean(&out.stderr, "prep stderr");
    // The names are there, escaped.
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("evil\\nerror: forged line"), "{all}");
    assert!(all.contains("esc\\u{1b}[2Jclear"), "{all}");

    // validate over a dataset holding the same names (one good, two damaged WAVs).
    let ds = dir.path().join("ds");
    for name in &NAMES[1..] {
        write_file(&ds, name, b"RIFF\x10\0\0\0WAVEjunk\x01\0\0\0x");
    }
    let out = run(voiceperf()
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .args(["validate", "ds"]));
    assert_eq!(out.code, 1, "{out:?}");
    assert_clean(&out.stdout, "validate stdout");
    assert_clean(&out.stderr, "validate stderr");
    assert!(out.stdout.contains("esc\\u{1b}[2Jclear"), "{}", out.stdout);
}
