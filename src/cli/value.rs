//! Flag value types shared by several commands.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::runfolder::results::Stage;

/// A duration flag: a bare number is seconds (`30`, `0.5`); units are accepted too (`30s`,
/// `2m`, `1m30s`, `500ms`, `1h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationArg(pub Duration);

impl FromStr for DurationArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if let Ok(secs) = text.parse::<f64>() {
            return Duration::try_from_secs_f64(secs)
                .map(DurationArg)
                .map_err(|_| format!("{text} is not a number of seconds ≥ 0"));
        }
        humantime::parse_duration(text)
            .map(DurationArg)
            .map_err(|e| {
                format!("{text}: {e} (give seconds, or a number with a unit: 30s, 2m, 500ms)")
            })
    }
}

impl fmt::Display for DurationArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_zero() {
            return f.write_str("0s");
        }
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl From<Duration> for DurationArg {
    fn from(duration: Duration) -> Self {
        DurationArg(duration)
    }
}

/// `--stages`: `DURATION:USERS,…`, e.g. `30s:10,2m:50,30s:0` (k6's stages: the number of
/// users goes linearly to each target over its duration, from 0).
#[derive(Debug, Clone, PartialEq)]
pub struct StagesArg(pub Vec<Stage>);

impl FromStr for StagesArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let stages =
            text.split(',')
                .map(|stage| {
                    let (duration, target) = stage.trim().split_once(':').ok_or_else(|| {
                        format!("stage {stage:?} is not DURATION:USERS (e.g. 30s:10)")
                    })?;
                    let duration: DurationArg = duration.parse()?;
                    let target = target.trim().parse::<usize>().map_err(|_| {
                        format!("stage {stage:?}: {target:?} is not a number of users")
                    })?;
                    Ok(Stage {
                        duration_s: duration.0.as_secs_f64(),
                        target,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
        Ok(StagesArg(stages))
    }
}

/// `--shard`: `I/N` (shard I of N, from 0) or `auto/N` (I from `JOB_COMPLETION_INDEX`, which
/// Kubernetes sets in every pod of an Indexed Job).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardArg {
    /// The index, or `None` for `auto`.
    pub index: Option<usize>,
    /// Shards in the run.
    pub count: usize,
}

/// The environment variable `--shard auto/N` reads.
pub const SHARD_INDEX_VAR: &str = "JOB_COMPLETION_INDEX";

impl FromStr for ShardArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (index, count) = text
            .split_once('/')
            .ok_or_else(|| format!("{text} is not I/N or auto/N (e.g. 0/4)"))?;
        let count: usize = count
            .trim()
            .parse()
            .ok()
            .filter(|&n| n >= 1)
            .ok_or_else(|| {
                format!("{text}: the shard count {count:?} must be a whole number ≥ 1")
            })?;
        let index = match index.trim() {
            "auto" => None,
            i => Some(
                i.parse::<usize>()
                    .ok()
                    .filter(|&i| i < count)
                    .ok_or_else(|| format!("{text}: the index must be from 0 to {}", count - 1))?,
            ),
        };
        Ok(ShardArg { index, count })
    }
}

impl ShardArg {
    /// The shard, with `auto` read from `index_var` (the value of `JOB_COMPLETION_INDEX`).
    pub fn resolve(self, index_var: Option<&str>) -> Result<(usize, usize), String> {
        let index = match (self.index, index_var) {
            (Some(index), _) => index,
            (None, Some(value)) => value.trim().parse::<usize>().map_err(|_| {
                format!(
                    "--shard auto/{}: {SHARD_INDEX_VAR}={value:?} is not a shard index",
                    self.count
                )
            })?,
            (None, None) => {
                return Err(format!(
                    "--shard auto/{} takes the index from {SHARD_INDEX_VAR}, which is not set (Kubernetes sets it in an Indexed Job; elsewhere give --shard I/{})",
                    self.count, self.count
                ));
            }
        };
        if index >= self.count {
            return Err(format!(
                "--shard auto/{}: {SHARD_INDEX_VAR}={index} is not below the shard count (completions and the N of auto/N must agree)",
                self.count
            ));
        }
        Ok((index, self.count))
    }
}

/// `--start-at`: a wall-clock time, as unix seconds (`1790000000`, `1790000000.5`) or RFC 3339
/// (`2026-12-03T10:00:00Z`, `2026-12-03T11:00:00+01:00`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StartAtArg(pub f64);

impl FromStr for StartAtArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if let Ok(secs) = text.parse::<f64>() {
            return if secs.is_finite() && secs > 0.0 {
                Ok(StartAtArg(secs))
            } else {
                Err(format!("{text} is not a time (unix seconds or RFC 3339)"))
            };
        }
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| StartAtArg(t.timestamp_micros() as f64 / 1e6))
            .map_err(|e| {
                format!("{text}: {e} (give unix seconds, or RFC 3339 such as 2026-12-03T10:00:00Z)")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Duration, String> {
        text.parse::<DurationArg>().map(|d| d.0)
    }

    #[test]
    fn bare_numbers_are_seconds_and_units_are_accepted() {
        assert_eq!(parse("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse("-1").is_err());
        assert!(parse("soon").unwrap_err().contains("30s, 2m"));
    }

    #[test]
    fn defaults_print_with_units_and_parse_back() {
        for d in [
            Duration::ZERO,
            Duration::from_millis(500),
            Duration::from_secs(150),
        ] {
            let shown = DurationArg(d).to_string();
            assert_eq!(parse(&shown), Ok(d), "{shown}");
        }
        assert_eq!(DurationArg(Duration::from_secs(30)).to_string(), "30s");
    }

    #[test]
    fn stages_parse_with_units() {
        let StagesArg(stages) = "30s:10, 2m:50,30:0".parse().unwrap();
        let got: Vec<(f64, usize)> = stages.iter().map(|s| (s.duration_s, s.target)).collect();
        assert_eq!(got, vec![(30.0, 10), (120.0, 50), (30.0, 0)]);
        assert!(
            "30s"
                .parse::<StagesArg>()
                .unwrap_err()
                .contains("DURATION:USERS")
        );
        assert!(
            "30s:many"
                .parse::<StagesArg>()
                .unwrap_err()
                .contains("number of users")
        );
        assert!("soon:5".parse::<StagesArg>().is_err());
    }

    #[test]
    fn shards_parse_and_auto_reads_the_job_index() {
        assert_eq!(
            "2/4".parse::<ShardArg>(),
            Ok(ShardArg {
                index: Some(2),
                count: 4
            })
        );
        assert!(
            "4/4"
                .parse::<ShardArg>()
                .unwrap_err()
                .contains("from 0 to 3")
        );
        assert!("1/0".parse::<ShardArg>().is_err());
        assert!("2".parse::<ShardArg>().is_err());
        let auto: ShardArg = "auto/4".parse().unwrap();
        assert_eq!(auto.resolve(Some("3")), Ok((3, 4)));
        assert!(
            auto.resolve(None)
                .unwrap_err()
                .contains("JOB_COMPLETION_INDEX")
        );
        assert!(auto.resolve(Some("4")).unwrap_err().contains("not below"));
        assert!(auto.resolve(Some("x")).is_err());
    }

    #[test]
    fn start_times_are_unix_seconds_or_rfc3339() {
        assert_eq!("1790000000".parse(), Ok(StartAtArg(1_790_000_000.0)));
        assert_eq!(
            "2026-12-03T10:00:00Z".parse::<StartAtArg>(),
            Ok(StartAtArg(1_796_292_000.0))
        );
        assert_eq!(
            "2026-12-03T11:00:00.5+01:00".parse::<StartAtArg>(),
            Ok(StartAtArg(1_796_292_000.5))
        );
        assert!(
            "tomorrow"
                .parse::<StartAtArg>()
                .unwrap_err()
                .contains("RFC 3339")
        );
        assert!("-5".parse::<StartAtArg>().is_err());
    }
}
