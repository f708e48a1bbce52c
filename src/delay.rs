//! Simulated service delays: a fixed value or a distribution, written `300`,
//! `normal:300:50` (mean, standard deviation) or `uniform:200:400` (low, high), in milliseconds.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A delay in milliseconds: fixed or drawn from a distribution (never negative).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Delay {
    /// Always `ms`.
    Fixed {
        /// Milliseconds.
        ms: f64,
    },
    /// Normal with the given mean and standard deviation, clamped at zero.
    Normal {
        /// Mean in milliseconds.
        mean_ms: f64,
        /// Standard deviation in milliseconds.
        sd_ms: f64,
    },
    /// Uniform between `low_ms` and `high_ms`.
    Uniform {
        /// Lower bound in milliseconds.
        low_ms: f64,
        /// Upper bound in milliseconds.
        high_ms: f64,
    },
}

/// Largest delay parameter accepted (10 minutes).
const MAX_MS: f64 = 600_000.0;
const VALUES_FINITE: &str = "values must be finite and not negative";
const VALUES_BOUNDED: &str = "values above 600000 ms (10 minutes) make no sense here";

/// A delay specification that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "bad delay {spec:?}: {reason} (expected e.g. `300`, `normal:300:50` or `uniform:200:400`, in ms)"
)]
pub struct DelayParseError {
    spec: String,
    reason: &'static str,
}

impl Delay {
    /// A fixed delay of `ms` milliseconds.
    pub const fn fixed(ms: f64) -> Self {
        Delay::Fixed { ms }
    }

    /// Whether every parameter is a usable number of milliseconds (the rule the parser applies;
    /// a delay built in code may break it).
    pub fn check(&self) -> Result<(), &'static str> {
        let values = match *self {
            Delay::Fixed { ms } => [ms, 0.0],
            Delay::Normal { mean_ms, sd_ms } => [mean_ms, sd_ms],
            Delay::Uniform { low_ms, high_ms } => [low_ms, high_ms],
        };
        if values.iter().any(|v| !v.is_finite() || *v < 0.0) {
            return Err(VALUES_FINITE);
        }
        if values.iter().any(|&v| v > MAX_MS) {
            return Err(VALUES_BOUNDED);
        }
        Ok(())
    }

    /// Draws one delay.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Duration {
        let ms = match *self {
            Delay::Fixed { ms } => ms,
            Delay::Normal { mean_ms, sd_ms } => match Normal::new(mean_ms, sd_ms) {
                Ok(normal) => normal.sample(rng),
                Err(_) => mean_ms,
            },
            Delay::Uniform { low_ms, high_ms } => {
                if high_ms > low_ms {
                    rng.random_range(low_ms..=high_ms)
                } else {
                    low_ms
                }
            }
        };
        Duration::from_secs_f64(ms.max(0.0) / 1000.0)
    }

    /// The mean delay in milliseconds.
    pub fn mean_ms(&self) -> f64 {
        match *self {
            Delay::Fixed { ms } => ms,
            Delay::Normal { mean_ms, .. } => mean_ms,
            Delay::Uniform { low_ms, high_ms } => (low_ms + high_ms) / 2.0,
        }
    }

    /// The largest delay this can produce, in milliseconds (mean + 4 sd for a normal).
    pub fn upper_ms(&self) -> f64 {
        match *self {
            Delay::Fixed { ms } => ms,
            Delay::Normal { mean_ms, sd_ms } => mean_ms + 4.0 * sd_ms,
            Delay::Uniform { high_ms, .. } => high_ms,
        }
    }
}

impl FromStr for Delay {
    type Err = DelayParseError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let err = |reason| DelayParseError {
            spec: spec.to_string(),
            reason,
        };
        let number = |s: &str| -> Result<f64, DelayParseError> {
            let value: f64 = s
                .trim()
                .trim_end_matches("ms")
                .parse()
                .map_err(|_| err("not a number"))?;
            if !value.is_finite() || value < 0.0 {
                return Err(err(VALUES_FINITE));
            }
            if value > MAX_MS {
                return Err(err(VALUES_BOUNDED));
            }
            Ok(value)
        };
        let parts: Vec<&str> = spec.trim().split(':').collect();
        match parts.as_slice() {
            [ms] => Ok(Delay::Fixed { ms: number(ms)? }),
            [kind, a, b] if kind.eq_ignore_ascii_case("normal") => Ok(Delay::Normal {
                mean_ms: number(a)?,
                sd_ms: number(b)?,
            }),
            [kind, a, b] if kind.eq_ignore_ascii_case("uniform") => {
                let (low_ms, high_ms) = (number(a)?, number(b)?);
                if high_ms < low_ms {
                    return Err(err("uniform needs low <= high"));
                }
                Ok(Delay::Uniform { low_ms, high_ms })
            }
            [kind, ..]
                if kind.eq_ignore_ascii_case("normal") || kind.eq_ignore_ascii_case("uniform") =>
            {
                Err(err("a distribution takes exactly two numbers"))
            }
            _ => Err(err("unknown form")),
        }
    }
}

impl fmt::Display for Delay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Delay::Fixed { ms } => write!(f, "{ms}"),
            Delay::Normal { mean_ms, sd_ms } => write!(f, "normal:{mean_ms}:{sd_ms}"),
            Delay::Uniform { low_ms, high_ms } => write!(f, "uniform:{low_ms}:{high_ms}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!("300".parse::<Delay>().unwrap(), Delay::fixed(300.0));
        assert_eq!("12.5ms".parse::<Delay>().unwrap(), Delay::fixed(12.5));
        assert_eq!(
            "normal:300:50".parse::<Delay>().unwrap(),
            Delay::Normal {
                mean_ms: 300.0,
                sd_ms: 50.0
            }
        );
        assert_eq!(
            "Uniform:200:400".parse::<Delay>().unwrap(),
            Delay::Uniform {
                low_ms: 200.0,
                high_ms: 400.0
            }
        );
        for bad in [
            "",
            "-5",
            "abc",
            "normal:1",
            "uniform:400:200",
            "gamma:1:2",
            "nan",
        ] {
            assert!(bad.parse::<Delay>().is_err(), "{bad:?} parsed");
        }
        assert_eq!(
            "normal:300:50".parse::<Delay>().unwrap().to_string(),
            "normal:300:50"
        );
    }

    #[test]
    fn samples_stay_in_range_and_average_right() {
        let mut rng = StdRng::seed_from_u64(7);
        let uniform: Delay = "uniform:200:400".parse().unwrap();
        let normal: Delay = "normal:300:50".parse().unwrap();
        let n = 4000;
        let mut sum = 0.0;
        for _ in 0..n {
            let ms = uniform.sample(&mut rng).as_secs_f64() * 1000.0;
            assert!((200.0..=400.0).contains(&ms), "{ms}");
            sum += normal.sample(&mut rng).as_secs_f64() * 1000.0;
        }
        let mean = sum / f64::from(n);
        assert!((mean - 300.0).abs() < 5.0, "mean {mean}");
        // Clamped at zero.
        let wide = Delay::Normal {
            mean_ms: 0.0,
            sd_ms: 100.0,
        };
        assert!((0..100).all(|_| wide.sample(&mut rng) >= Duration::ZERO));
        assert_eq!(
            Delay::fixed(250.0).sample(&mut rng),
            Duration::from_millis(250)
        );
    }
}
