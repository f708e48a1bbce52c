//! Whether a set of shard folders is one run: the same run id (shared start, shard count,
//! configuration, dataset), every index once, finished, the same metrics window, no stream
//! id twice. Each refusal says which folders disagree and on what.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::runfolder::results::{RunSummary, ShardInfo};

/// How far two shards' metrics windows may be apart (s). They are computed from one shared
/// start, so any difference means the shards were not started as one run.
pub const WINDOW_TOLERANCE_S: f64 = 0.001;

/// A shard folder as read for merging.
pub struct ShardFolder<'a> {
    /// Its folder, as given.
    pub dir: String,
    /// Its `summary.json`.
    pub summary: &'a RunSummary,
    /// Its shard block.
    pub shard: &'a ShardInfo,
}

/// What is wrong with the set, in lines; `fatal` unless `--partial` allows them.
#[derive(Debug, Default)]
pub struct Findings {
    /// Problems that make the shards not one run: never merged.
    pub fatal: Vec<String>,
    /// Missing or unfinished shards: merged only with `--partial`.
    pub incomplete: Vec<String>,
}

/// Checks that `shards` are the shards of one run.
pub fn check(shards: &[ShardFolder<'_>]) -> Findings {
    let mut findings = Findings::default();
    let Some(first) = shards.first() else {
        findings.fatal.push("no shard folders given".into());
        return findings;
    };
    for other in &shards[1..] {
        // The configurations are compared as well as the run ids, so that a summary edited
        // or written by another version cannot pass for the same run.
        let mut found = differences(first, other);
        if found.is_empty() && other.shard.run_id != first.shard.run_id {
            found.push("they were made by different voiceperf versions".into());
        }
        if !found.is_empty() {
            findings.fatal.push(format!(
                "{} and {} are not shards of one run (run ids {} and {}): {}",
                first.dir,
                other.dir,
                first.shard.run_id,
                other.shard.run_id,
                found.join("; ")
            ));
        }
        let (a, b) = (&first.summary.run, &other.summary.run);
        let apart = (a.metrics_start_at - b.metrics_start_at)
            .abs()
            .max((a.metrics_end_at - b.metrics_end_at).abs());
        if apart > WINDOW_TOLERANCE_S {
            findings.fatal.push(format!(
                "{} and {} have metrics windows {apart:.3} s apart (tolerance {WINDOW_TOLERANCE_S} s)",
                first.dir, other.dir
            ));
        }
    }
    if !findings.fatal.is_empty() {
        return findings;
    }

    let count = first.shard.count;
    let mut by_index: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for shard in shards {
        by_index
            .entry(shard.shard.index)
            .or_default()
            .push(&shard.dir);
    }
    for (index, dirs) in &by_index {
        if dirs.len() > 1 {
            findings.fatal.push(format!(
                "shard {index}/{count} is given {} times: {}",
                dirs.len(),
                dirs.join(", ")
            ));
        }
    }
    let missing: Vec<String> = (0..count)
        .filter(|i| !by_index.contains_key(i))
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        findings.incomplete.push(format!(
            "shard(s) {} of {count} missing: the merged run would lack their users",
            missing.join(", ")
        ));
    }
    for shard in shards {
        if !shard.summary.run.complete {
            findings.incomplete.push(format!(
                "{} (shard {}/{count}) did not finish: its summary.json was written mid-run",
                shard.dir, shard.shard.index
            ));
        }
    }
    findings
}

/// What differs between two shards' identities, in words.
fn differences(a: &ShardFolder<'_>, b: &ShardFolder<'_>) -> Vec<String> {
    let mut found = Vec::new();
    if a.shard.start_at != b.shard.start_at {
        found.push(format!(
            "--start-at {} vs {}",
            crate::clock::iso_utc(a.shard.start_at),
            crate::clock::iso_utc(b.shard.start_at)
        ));
    }
    if a.shard.count != b.shard.count {
        found.push(format!("{} vs {} shards", a.shard.count, b.shard.count));
    }
    let config = |s: &RunSummary| {
        let mut value = serde_json::to_value(&s.config).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            // Paths may differ between machines without the run differing.
            map.remove("audio_dir");
            map.remove("agent_log");
        }
        value
    };
    let (ca, cb) = (config(a.summary), config(b.summary));
    if let (Value::Object(ma), Value::Object(mb)) = (&ca, &cb) {
        let keys: BTreeSet<&String> = ma.keys().chain(mb.keys()).collect();
        for key in keys {
            let (va, vb) = (ma.get(key), mb.get(key));
            if va != vb {
                let show = |v: Option<&Value>| v.map_or("absent".to_string(), Value::to_string);
                found.push(format!("config {key}: {} vs {}", show(va), show(vb)));
            }
        }
    }
    let files = |s: &RunSummary| -> Vec<(String, String)> {
        s.dataset
            .files
            .iter()
            .map(|f| (f.file.clone(), f.sha256.clone()))
            .collect()
    };
    if files(a.summary) != files(b.summary) {
        found.push("the datasets differ (file names or contents)".into());
    }
    found
}
