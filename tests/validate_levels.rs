//! `voiceperf validate`'s rules on levels and content, each with passing and failing inputs:
//! clipping, peak level, DC offset, duplicate audio.

mod support;

use support::audio::wav;
use support::validate::{assert_rule, check, file, good_query, recorded_query};
use support::write_file;
use voiceperf::validate::{Rule, Status};

#[test]
fn clipping_level_and_dc_rules() {
    let dir = tempfile::tempdir().unwrap();
    let good = good_query();
    let scaled = |gain: f64, offset: f64| -> Vec<i16> {
        good.iter()
            .map(|&s| {
                (f64::from(s) * gain + offset)
                    .round()
                    .clamp(-32768.0, 32767.0) as i16
            })
            .collect()
    };
    write_file(dir.path(), "good.wav", &wav(&good));
    write_file(dir.path(), "clipped.wav", &wav(&scaled(2.5, 0.0)));
    // The voice peaks at -6 dBFS: -28 dB brings it to -34 dBFS.
    write_file(
        dir.path(),
        "quiet.wav",
        &wav(&scaled(10f64.powf(-28.0 / 20.0), 0.0)),
    );
    write_file(dir.path(), "dc.wav", &wav(&scaled(1.0, 800.0)));
    let report = check(dir.path());
    for rule in [Rule::Clipping, Rule::Level, Rule::DcOffset] {
        assert_rule(&report, "good.wav", rule, Status::Pass);
    }
    assert_rule(&report, "clipped.wav", Rule::Clipping, Status::Warning);
    assert_rule(&report, "quiet.wav", Rule::Level, Status::Warning);
    assert_rule(&report, "dc.wav", Rule::DcOffset, Status::Warning);
    for (name, rule) in [
        ("clipped.wav", Rule::Clipping),
        ("quiet.wav", Rule::Level),
        ("dc.wav", Rule::DcOffset),
    ] {
        let f = file(&report, name);
        assert_eq!(f.status, Status::Warning, "{name}: {:#?}", f.checks);
        assert_eq!(
            f.problems().len(),
            1,
            "{name}: only {rule:?} {:#?}",
            f.problems()
        );
    }
    let clipped = &file(&report, "clipped.wav").measurements;
    assert!(clipped.clipped_percent.unwrap() > 0.1);
    let quiet = file(&report, "quiet.wav").check(Rule::Level).unwrap();
    assert!(
        quiet.message.starts_with("too quiet: peak -34"),
        "{}",
        quiet.message
    );
    assert!(quiet.fix.as_ref().unwrap().contains("--normalize-peak"));
    let dc = file(&report, "dc.wav")
        .measurements
        .dc_offset_percent
        .unwrap();
    assert!((dc - 800.0 / 32768.0 * 100.0).abs() < 0.05, "{dc}");
}

#[test]
fn duplicate_rule_names_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let good = wav(&good_query());
    write_file(dir.path(), "a.wav", &good);
    write_file(dir.path(), "sub/b.wav", &good);
    write_file(
        dir.path(),
        "other.wav",
        &wav(&recorded_query("side_right", 200, 40)),
    );
    let report = check(dir.path());
    assert_rule(&report, "other.wav", Rule::Duplicate, Status::Pass);
    for (name, other) in [("a.wav", "sub/b.wav"), ("sub/b.wav", "a.wav")] {
        assert_rule(&report, name, Rule::Duplicate, Status::Warning);
        let message = &file(&report, name).check(Rule::Duplicate).unwrap().message;
        assert!(message.ends_with(&format!("/{other}")), "{message}");
    }
    // A dataset of copies: each warning names a few of the others, not all of them.
    for k in 0..8 {
        write_file(dir.path(), &format!("copies/c{k}.wav"), &good);
    }
    let report = check(dir.path());
    let message = &file(&report, "copies/c0.wav")
        .check(Rule::Duplicate)
        .unwrap()
        .message;
    assert_eq!(message.matches(".wav").count(), 5, "{message}");
    assert!(message.ends_with(" and 4 more"), "{message}");
}
