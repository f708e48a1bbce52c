//! `voiceperf report` on a saved run folder (tests/fixtures/report_run: the JSON of a real
//! `voiceperf run` against `voiceperf agent` with stalls, early replies and dropped
//! connections, made by scripts/make_report_fixture.sh), and the page checked in a real
//! browser (headless Chromium).

mod support;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use support::cli::voiceperf;
use support::{fixture, json};
use voiceperf::runfolder::read_json;
use voiceperf::runfolder::results::RunSummary;

/// A copy of the saved run folder in a temp dir (the fixture itself is never written).
fn saved_run() -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("20261127_122641");
    std::fs::create_dir(&dir).unwrap();
    for entry in std::fs::read_dir(fixture("report_run")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    (root, dir)
}

fn file_bytes(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

fn render(dir: &Path) -> String {
    voiceperf()
        .args(["report"])
        .arg(dir)
        .assert()
        .success()
        .stdout(predicates::str::contains("report.html"));
    std::fs::read_to_string(dir.join("report.html")).unwrap()
}

#[test]
fn report_renders_a_saved_run_folder_without_touching_its_json() {
    let (_root, dir) = saved_run();
    let before = file_bytes(&dir);
    let html = render(&dir);
    assert_eq!(file_bytes(&dir), before, "the JSON must never be modified");
    assert!(dir.join("summary.md").is_file());

    // Every chart, by id and title.
    for (id, title) in [
        ("latency-cdf", "Latency distribution (CDF)"),
        ("latency-histogram", "Latency histogram"),
        ("latency-timeline", "Latency over time, per user"),
        ("breakdown-mean", "Where the latency goes, on average"),
        ("latency-breakdown", "Where the latency goes, per turn"),
        ("self-check", "Load generator self-check"),
    ] {
        assert!(html.contains(&format!("<svg id=\"{id}\"")), "chart {id}");
        assert!(html.contains(title), "title {title}");
    }
    // Axes are labelled with units.
    assert!(html.contains("latency (s)") && html.contains("milliseconds"));

    // The headline numbers are summary.json's.
    let summary: RunSummary = read_json(&dir.join("summary.json")).unwrap();
    let latency = summary.results.latency.as_ref().unwrap();
    for value in [latency.p50, latency.p95, latency.p99] {
        assert!(html.contains(&format!("{value:.3} s")), "{value}");
    }
    assert!(html.contains(&format!("{:.1} %", summary.errors.error_rate * 100.0)));

    // The saved run has glitches, a reverse barge-in and dropped connections: all marked.
    let r = &summary.results;
    assert!(r.glitch_detection.total_glitches > 0);
    assert!(r.reverse_barge_in_detection.total_reverse_barge_ins > 0);
    assert!(summary.errors.total > 0);
    assert!(html.contains("class=\"mark-glitch\""));
    assert!(html.contains("class=\"mark-rbi"));
    assert!(html.contains("class=\"mark-failed\""));
    assert!(html.contains("bar-glitch") && html.contains("bar-rbi"));
    assert!(
        html.contains("Connection reset"),
        "the first errors are listed"
    );
    // The breakdown parts of analysis.json.
    for part in [
        "VAD wait",
        "ASR",
        "LLM TTFB",
        "TTS TTFB",
        "transport / other",
    ] {
        assert!(html.contains(part), "{part}");
    }
    // The replaced scripts' definition and aggregates are shown for comparison.
    assert!(html.contains("any first frame (old client)") && html.contains("“P95”"));

    // Self-contained: no script, no external asset, and a policy that forbids loading any.
    assert!(html.contains("default-src 'none'"));
    for forbidden in ["<script", "<link", "<img", "src=", "@import", "url(http"] {
        assert!(!html.contains(forbidden), "found {forbidden}");
    }
    assert!(!html.contains("href=\"http"));

    let markdown = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(markdown.contains(&format!("{:.3}", latency.p95)));
    assert!(markdown.contains("| VAD wait |"));
}

#[test]
fn report_renders_again_atomically_and_to_another_file() {
    let (root, dir) = saved_run();
    let first = render(&dir);
    let second = render(&dir);
    assert_eq!(first, second, "rendering is deterministic");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".voiceperf-tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let elsewhere = root.path().join("copy.html");
    voiceperf()
        .args(["report"])
        .arg(&dir)
        .arg("-o")
        .arg(&elsewhere)
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), first);
}

#[test]
fn report_refuses_a_folder_that_is_not_a_run() {
    let root = tempfile::tempdir().unwrap();
    voiceperf()
        .args(["report"])
        .arg(root.path())
        .assert()
        .code(1)
        .stderr(predicates::str::contains("not a run folder"));
    voiceperf()
        .args(["report"])
        .arg(root.path().join("missing"))
        .assert()
        .code(1)
        .stderr(predicates::str::contains("not a folder"));
}

#[test]
fn report_notes_an_unreadable_analysis_and_still_renders() {
    let (_root, dir) = saved_run();
    std::fs::write(dir.join("analysis.json"), b"{ not json").unwrap();
    voiceperf()
        .args(["report"])
        .arg(&dir)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("analysis.json"));
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("latency-cdf"));
    assert!(html.contains("could not be read"));
}

#[test]
fn report_renders_a_plain_bench_folder_without_breakdown() {
    let (_root, dir) = saved_run();
    std::fs::remove_file(dir.join("run.json")).unwrap();
    std::fs::remove_file(dir.join("analysis.json")).unwrap();
    let html = render(&dir);
    assert!(html.contains("id=\"latency-cdf\""));
    assert!(!html.contains("id=\"latency-breakdown\""));
    assert!(html.contains("No server log was analysed"));
    assert!(html.contains("voiceperf analyze FILE --run DIR"));
}

#[test]
fn report_warns_loudly_when_the_load_generator_was_overloaded() {
    let (_root, dir) = saved_run();
    // The same run as if bench had fallen behind its schedule.
    let path = dir.join("summary.json");
    let mut summary: RunSummary = read_json(&path).unwrap();
    summary.self_check.trustworthy = false;
    summary.self_check.warning =
        Some("LOAD GENERATOR OVERLOADED: chunk send lateness p99 12.0 ms > 5 ms".into());
    std::fs::write(&path, serde_json::to_vec(&summary).unwrap()).unwrap();
    let html = render(&dir);
    assert!(html.contains("NOT trusted"));
    assert!(html.contains(
        "<div class=\"alert bad\">LOAD GENERATOR OVERLOADED: chunk send lateness p99 12.0 ms"
    ));
    assert!(html.contains("do not trust these numbers"));
    let markdown = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(markdown.contains("**NOT trusted**") && markdown.contains("OVERLOADED"));
}

/// The Chromium binary, if this machine has one.
fn chromium() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("VOICEPERF_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|p| p.is_file())
}

/// Renders `page` headless; returns the screenshot's RGB pixels and width, and the browser's
/// console messages.
fn screenshot(browser: &Path, page: &Path, shot: &Path) -> (Vec<[u8; 3]>, usize, Vec<String>) {
    let profile = tempfile::tempdir().unwrap();
    let output = StdCommand::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1200,2400",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("running chromium");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success() && shot.is_file(),
        "chromium failed: {stderr}"
    );
    let console: Vec<String> = stderr
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
        .map(str::to_string)
        .collect();
    let decoder = png::Decoder::new(std::fs::File::open(shot).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let pixels = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| match channels {
            1 | 2 => [p[0], p[0], p[0]],
            _ => [p[0], p[1], p[2]],
        })
        .collect();
    (pixels, info.width as usize, console)
}

#[test]
fn report_renders_in_a_real_browser() {
    let Some(browser) = chromium() else {
        let required = std::env::var("VOICEPERF_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "VOICEPERF_REQUIRE_CHROMIUM=1 but no chromium found (set VOICEPERF_CHROMIUM)"
        );
        // Straight to the process's stderr, past the test harness's capture, so it shows.
        let _ = writeln!(
            std::io::stderr(),
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !! NOTICE: chromium not found: report.html was NOT checked in a browser.\n\
             !! Install it (apt-get install chromium) or set VOICEPERF_CHROMIUM=PATH;\n\
             !! VOICEPERF_REQUIRE_CHROMIUM=1 makes this test fail instead.\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
        return;
    };
    let (root, dir) = saved_run();
    render(&dir);
    let page = dir.join("report.html").canonicalize().unwrap();
    let (pixels, width, console) = screenshot(&browser, &page, &root.path().join("shot.png"));
    assert!(
        console.is_empty(),
        "the page logged to the console (script error, blocked load…): {console:#?}"
    );

    // Not blank: the background is not everything, and the charts' ink is there.
    let mut counts: BTreeMap<[u8; 3], usize> = BTreeMap::new();
    for p in &pixels {
        *counts.entry(*p).or_default() += 1;
    }
    let (_, background) = counts.iter().max_by_key(|(_, n)| **n).unwrap();
    let inked = pixels.len() - background;
    assert!(
        inked * 50 > pixels.len(),
        "page nearly uniform: {inked} of {} pixels differ from the background",
        pixels.len()
    );
    assert!(counts.len() > 50, "only {} colours", counts.len());
    // The CDF's latency line (#2563a8) and the breakdown's VAD wait (#8c6bb1) are drawn.
    let near = |p: &[u8; 3], c: [u8; 3]| (0..3).all(|i| p[i].abs_diff(c[i]) <= 12);
    let blue = pixels
        .iter()
        .filter(|p| near(p, [0x25, 0x63, 0xa8]))
        .count();
    assert!(blue > 500, "latency line/bars missing: {blue} blue pixels");
    // The top rows hold the title (dark text on white).
    let dark_top = pixels[..width * 120]
        .iter()
        .filter(|p| p.iter().all(|&c| c < 80))
        .count();
    assert!(dark_top > 200, "no heading text at the top: {dark_top}");
}

/// Rewrites a JSON file of the saved run through `edit`.
fn edit_json(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut value = json(path);
    edit(&mut value);
    std::fs::write(path, serde_json::to_vec(&value).unwrap()).unwrap();
}

/// Every string that comes from the files (stream ids, file names, error messages, problems,
/// the command line) is HTML-escaped, and odd values a hand-edited or damaged folder can hold
/// (user 0, a hash that is not hex) do not stop the report.
#[test]
fn report_escapes_strings_from_the_files_and_survives_odd_values() {
    let (_root, dir) = saved_run();
    const TAG: &str = "<img src=x onerror=alert(1)>";
    let tagged = |v: &mut serde_json::Value| {
        let text = v.as_str().unwrap_or_default().to_string();
        *v = serde_json::Value::String(format!("{TAG}{text}"));
    };
    edit_json(&dir.join("summary.json"), |s| {
        let file = &mut s["dataset"]["files"][0];
        tagged(&mut file["file"]);
        file["sha256"] = "aééééééééééééééééé".into();
        for client in s["clients"].as_array_mut().unwrap() {
            tagged(&mut client["stream_id"]);
        }
    });
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("latency_results_") {
            continue;
        }
        edit_json(&path, |c| {
            c["user"] = 0.into();
            tagged(&mut c["stream_id"]);
            for turn in c["turns"].as_array_mut().unwrap() {
                tagged(&mut turn["file"]);
            }
        });
    }
    edit_json(&dir.join("analysis.json"), |a| {
        for client in a["join"]["clients"].as_array_mut().unwrap() {
            tagged(&mut client["stream_id"]);
        }
        for turn in a["join"]["turns"].as_array_mut().unwrap() {
            tagged(&mut turn["stream_id"]);
            tagged(&mut turn["file"]);
        }
    });
    edit_json(&dir.join("run.json"), |r| {
        r["problems"] = serde_json::json!([format!("{TAG} a problem")]);
        r["command"] = serde_json::json!(["voiceperf", TAG]);
    });
    let html = render(&dir);
    assert!(
        !html.contains("<img"),
        "a string from the files was not escaped"
    );
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(
        html.contains("<code>aééééééééééé</code>"),
        "hash cut by characters"
    );
}

/// One user and no glitch read naturally: "1 user", "0 ms starved" (bench's sum over no
/// glitch is -0.0 in the JSON, which must not show as "-0 ms").
#[test]
fn report_of_one_user_without_glitches_reads_naturally() {
    let (_root, dir) = saved_run();
    edit_json(&dir.join("summary.json"), |s| {
        s["run"]["users"] = 1.into();
        s["results"]["total_clients"] = 1.into();
        let g = &mut s["results"]["glitch_detection"];
        g["total_glitches"] = 0.into();
        g["total_starved_ms"] = serde_json::json!(-0.0);
    });
    let html = render(&dir);
    assert!(
        html.contains("<title>voiceperf report — 1 user, p95"),
        "title"
    );
    assert!(html.contains(" · 1 user · "), "subtitle");
    assert!(html.contains("1 user, 1 connection<"), "card note");
    assert!(html.contains("0 ms starved") && !html.contains("-0 ms"));
    let markdown = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(markdown.starts_with("# voiceperf: 1 user, "), "{markdown}");
    assert!(markdown.contains("(0 ms starved)") && !markdown.contains("-0 ms"));
}

/// A sweep folder renders its own report and each level's; a level folder that sweep.json
/// places outside the sweep's folder is left out (its report would be written there).
#[test]
fn sweep_report_renders_levels_and_stays_inside_its_folder() {
    use voiceperf::runfolder::SWEEP_FILE;
    use voiceperf::runfolder::results::{SweepLevel, SweepSummary};
    let (root, level_dir) = saved_run();
    let sweep_dir = root.path().join("sweep");
    std::fs::create_dir(&sweep_dir).unwrap();
    std::fs::rename(&level_dir, sweep_dir.join("clients_3")).unwrap();
    // A complete run folder next to the sweep's, not inside it.
    let outside = root.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    for entry in std::fs::read_dir(fixture("report_run")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, outside.join(path.file_name().unwrap())).unwrap();
    }
    let summary: RunSummary = read_json(&sweep_dir.join("clients_3/summary.json")).unwrap();
    let level = |clients: usize, dir: &str| SweepLevel {
        clients,
        dir: dir.into(),
        latency: summary.results.latency.clone(),
        turns: 10,
        error_rate: 0.0,
        reverse_barge_ins: 0,
        glitches: 0,
        trustworthy: true,
        meets_slo: Some(true),
        stop_p95: None,
        false_stop_rate: None,
    };
    let sweep = SweepSummary {
        timestamp: "2026-11-27T10:00:00+00:00".into(),
        tool_version: voiceperf::VERSION.into(),
        levels: vec![level(1, "../outside"), level(3, "clients_3")],
        slo_p95: Some(2.0),
        max_clients_meeting_slo: Some(3),
        fail_p95: None,
        max_error_rate: None,
        fail_stop_p95: None,
        max_false_stop_rate: None,
        min_turns: None,
        gate_failures: Vec::new(),
    };
    voiceperf::fsutil::write_json_atomic(&sweep_dir.join(SWEEP_FILE), &sweep).unwrap();
    voiceperf()
        .args(["report"])
        .arg(&sweep_dir)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("not a folder inside the sweep"));
    let html = std::fs::read_to_string(sweep_dir.join("report.html")).unwrap();
    assert!(html.contains("id=\"sweep-curve\"") && html.contains("id=\"sweep-cdf\""));
    assert!(html.contains("The highest level meeting p95 ≤ 2 s: 3 users."));
    assert!(sweep_dir.join("clients_3/report.html").is_file());
    let level_html = std::fs::read_to_string(sweep_dir.join("clients_3/report.html")).unwrap();
    assert!(
        level_html.contains("href=\"../report.html\""),
        "links back to the sweep"
    );
    assert!(!outside.join("report.html").exists());
}
