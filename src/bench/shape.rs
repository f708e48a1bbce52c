//! Load shapes: who talks when. A shape ([`LoadShape`]) becomes a [`Plan`]: every user of the
//! whole run with the sessions it holds (connect at, hang up at, at most so many turns) as
//! offsets from the run's start, and the metrics window. The plan is the same on every shard;
//! a shard takes every `count`-th user ([`Plan::shard`]), so shards split any shape and keep
//! the user numbers (and so the stream ids) the whole run would have.

use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Exp};

use crate::runfolder::results::{LoadShape, Stage};

/// Most users (or conversations) one run may plan.
pub const MAX_USERS: usize = 20_000;

/// One stretch of a user's life: it connects at `start` (after the run's start), leaves after
/// the turn in progress at `hang_up` or once it has taken `max_turns` turns, and in any case
/// at the end of the metrics window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    /// When it connects, after the run's start.
    pub start: Duration,
    /// When it hangs up (after its turn in progress), after the run's start.
    pub hang_up: Option<Duration>,
    /// Turns it takes at most.
    pub max_turns: Option<usize>,
}

/// A user of the run and its sessions, in time order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPlan {
    /// User number (1-based), unique in the whole run.
    pub user: usize,
    /// Its sessions.
    pub sessions: Vec<Session>,
}

/// Who talks when, for the whole run.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Every user, by number.
    pub users: Vec<UserPlan>,
    /// Start of the metrics window, after the run's start.
    pub window_start: Duration,
    /// End of the metrics window, after the run's start.
    pub window_end: Duration,
}

impl Plan {
    /// The users shard `index` of `count` simulates: every `count`-th from user `index + 1`.
    pub fn shard(self, index: usize, count: usize) -> Plan {
        Plan {
            users: self
                .users
                .into_iter()
                .filter(|u| (u.user - 1) % count == index)
                .collect(),
            ..self
        }
    }

    /// When the first session starts, after the run's start.
    pub fn first_start(&self) -> Option<Duration> {
        self.users
            .iter()
            .filter_map(|u| u.sessions.first())
            .map(|s| s.start)
            .min()
    }

    /// The most users connected at once, by plan.
    pub fn peak_users(&self) -> usize {
        let mut edges: Vec<(Duration, i64)> = Vec::new();
        for session in self.users.iter().flat_map(|u| &u.sessions) {
            edges.push((session.start, 1));
            edges.push((session.hang_up.unwrap_or(self.window_end), -1));
        }
        // Leaving before joining at the same instant.
        edges.sort();
        let (mut now, mut peak) = (0i64, 0i64);
        for (_, step) in edges {
            now += step;
            peak = peak.max(now);
        }
        peak as usize
    }
}

/// The plan of a run of `shape`, where the closed model has `clients` users started `delay`
/// apart and the window lasts `test_duration` (the stages set their own).
pub fn plan(shape: &LoadShape, clients: usize, delay: Duration, test_duration: Duration) -> Plan {
    match shape {
        LoadShape::Closed => {
            let users = (1..=clients)
                .map(|user| UserPlan {
                    user,
                    sessions: vec![Session {
                        start: delay.mul_f64((user - 1) as f64),
                        hang_up: None,
                        max_turns: None,
                    }],
                })
                .collect();
            let window_start = delay.mul_f64(clients.saturating_sub(1) as f64);
            Plan {
                users,
                window_start,
                window_end: window_start + test_duration,
            }
        }
        LoadShape::Stages { stages, .. } => stages_plan(stages),
        LoadShape::Open {
            arrival_rate,
            turns_per_conversation,
            seed,
        } => {
            let users = arrivals(*arrival_rate, test_duration, *seed)
                .into_iter()
                .enumerate()
                .map(|(i, start)| UserPlan {
                    user: i + 1,
                    sessions: vec![Session {
                        start,
                        hang_up: None,
                        max_turns: Some(*turns_per_conversation),
                    }],
                })
                .collect();
            Plan {
                users,
                window_start: Duration::ZERO,
                window_end: test_duration,
            }
        }
    }
}

/// Users under k6's ramping rule: the target moves linearly from the previous stage's to
/// this stage's over its duration (from 0 at the start), and user `u` is connected while the
/// target is at least `u` (so the highest numbers leave first).
fn stages_plan(stages: &[Stage]) -> Plan {
    let peak = stages.iter().map(|s| s.target).max().unwrap_or(0);
    let mut users: Vec<UserPlan> = (1..=peak)
        .map(|user| UserPlan {
            user,
            sessions: Vec::new(),
        })
        .collect();
    let mut at = Duration::ZERO;
    let mut from = 0usize;
    for stage in stages {
        let length = Duration::from_secs_f64(stage.duration_s);
        let to = stage.target;
        // The moment within the stage the target crosses `level` (a fraction of the way).
        let crossing = |fraction: f64| at + length.mul_f64(fraction);
        if to > from {
            for user in from + 1..=to {
                let when = crossing((user - from) as f64 / (to - from) as f64);
                users[user - 1].sessions.push(Session {
                    start: when,
                    hang_up: None,
                    max_turns: None,
                });
            }
        } else if to < from {
            for user in to + 1..=from {
                let when = crossing((from - user) as f64 / (from - to) as f64);
                if let Some(session) = users[user - 1].sessions.last_mut() {
                    session.hang_up = Some(when);
                }
            }
        }
        at += length;
        from = to;
    }
    // Sessions that would end the moment they start (a target that touches a level and
    // leaves it within the same instant) are not sessions.
    for user in &mut users {
        user.sessions
            .retain(|s| s.hang_up.is_none_or(|end| end > s.start) && s.start < at);
    }
    users.retain(|u| !u.sessions.is_empty());
    Plan {
        users,
        window_start: Duration::ZERO,
        window_end: at,
    }
}

/// Arrival times of a Poisson process of `rate` per second over `length`, drawn from `seed`.
pub fn arrivals(rate: f64, length: Duration, seed: u64) -> Vec<Duration> {
    let Ok(gap) = Exp::new(rate) else {
        return Vec::new();
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let mut times = Vec::new();
    let mut t = 0.0;
    loop {
        t += gap.sample(&mut rng);
        if t >= length.as_secs_f64() || times.len() >= MAX_USERS {
            return times;
        }
        times.push(Duration::from_secs_f64(t));
    }
}

/// The stages of a preset: `spike` holds a tenth of `peak` for a minute, jumps to `peak` in
/// 10 s, holds it for `hold`, drops back and holds the tenth for a minute; `soak` ramps to
/// `peak` over `ramp` (at least 10 s), holds it for `hold` and ramps down in 30 s.
pub fn preset(name: &str, peak: usize, hold: Duration, ramp: Duration) -> Option<Vec<Stage>> {
    let stage = |d: Duration, target| Stage {
        duration_s: d.as_secs_f64(),
        target,
    };
    let secs = Duration::from_secs;
    let base = (peak / 10).max(1);
    match name {
        "spike" => Some(vec![
            stage(secs(10), base),
            stage(secs(50), base),
            stage(secs(10), peak),
            stage(hold, peak),
            stage(secs(10), base),
            stage(secs(60), base),
            stage(secs(10), 0),
        ]),
        "soak" => Some(vec![
            stage(ramp.max(secs(10)), peak),
            stage(hold, peak),
            stage(secs(30), 0),
        ]),
        _ => None,
    }
}

/// The preset names, for messages.
pub const PRESETS: [&str; 2] = ["spike", "soak"];

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn stage(secs: f64, target: usize) -> Stage {
        Stage {
            duration_s: secs,
            target,
        }
    }

    #[test]
    fn closed_users_start_staggered_and_the_window_opens_after_the_last() {
        let plan = plan(&LoadShape::Closed, 4, S / 2, 30 * S);
        assert_eq!(plan.users.len(), 4);
        assert_eq!(plan.users[3].sessions[0].start, 3 * S / 2);
        assert_eq!(plan.window_start, 3 * S / 2);
        assert_eq!(plan.window_end, 3 * S / 2 + 30 * S);
        assert_eq!(plan.peak_users(), 4);
    }

    #[test]
    fn stages_ramp_hold_and_ramp_down_highest_first() {
        let shape = LoadShape::Stages {
            stages: vec![stage(10.0, 10), stage(20.0, 10), stage(5.0, 0)],
            preset: None,
        };
        let plan = plan(&shape, 0, S, S);
        assert_eq!(plan.users.len(), 10);
        assert_eq!(plan.window_end, 35 * S);
        // User u joins when 10·t/10 s reaches u.
        assert_eq!(plan.users[0].sessions[0].start, S);
        assert_eq!(plan.users[9].sessions[0].start, 10 * S);
        // Ramp down from 10 over 5 s: user 10 leaves at once, user 1 at 4.5 s.
        assert_eq!(plan.users[9].sessions[0].hang_up, Some(30 * S));
        assert_eq!(plan.users[0].sessions[0].hang_up, Some(30 * S + S * 9 / 2));
        assert_eq!(plan.peak_users(), 10);
    }

    #[test]
    fn users_come_back_when_the_target_rises_again() {
        let shape = LoadShape::Stages {
            stages: vec![stage(2.0, 4), stage(2.0, 0), stage(2.0, 4)],
            preset: None,
        };
        let plan = plan(&shape, 0, S, S);
        let user2 = &plan.users[1];
        assert_eq!(user2.user, 2);
        let expected = [(S, Some(3 * S)), (5 * S, None)];
        let got: Vec<_> = user2
            .sessions
            .iter()
            .map(|s| (s.start, s.hang_up))
            .collect();
        assert_eq!(got, expected);
        // User 4 is only reached at instants (the end of a ramp up, the start of the ramp
        // down, the end of the run): it never talks.
        assert_eq!(plan.users.iter().map(|u| u.user).max(), Some(3));
    }

    #[test]
    fn open_arrivals_are_poisson_and_the_same_for_every_shard() {
        let shape = LoadShape::Open {
            arrival_rate: 5.0,
            turns_per_conversation: 3,
            seed: 7,
        };
        let a = plan(&shape, 0, S, 200 * S);
        let b = plan(&shape, 0, S, 200 * S);
        assert_eq!(a, b);
        // 1,000 expected; a Poisson count is within ±4 σ (±126) all but never.
        let n = a.users.len();
        assert!((874..=1126).contains(&n), "{n}");
        assert!(
            a.users
                .windows(2)
                .all(|w| w[0].sessions[0].start <= w[1].sessions[0].start)
        );
        assert_eq!(a.users[0].sessions[0].max_turns, Some(3));
        // Mean gap 0.2 s.
        let last = a.users[n - 1].sessions[0].start.as_secs_f64();
        assert!((last / n as f64 - 0.2).abs() < 0.03);
    }

    #[test]
    fn shards_split_users_round_robin_and_keep_their_numbers() {
        let whole = plan(&LoadShape::Closed, 10, S, S);
        let mut seen = Vec::new();
        for index in 0..3 {
            let shard = whole.clone().shard(index, 3);
            assert_eq!(shard.window_start, whole.window_start);
            assert!(shard.users.iter().all(|u| (u.user - 1) % 3 == index));
            seen.extend(shard.users.iter().map(|u| u.user));
        }
        seen.sort_unstable();
        assert_eq!(seen, (1..=10).collect::<Vec<_>>());
        assert_eq!(whole.clone().shard(1, 3).first_start(), Some(S));
    }

    #[test]
    fn presets_peak_at_the_clients_given() {
        let spike = preset("spike", 100, 60 * S, S).unwrap();
        assert_eq!(spike.iter().map(|s| s.target).max(), Some(100));
        assert_eq!(spike.last().unwrap().target, 0);
        let soak = preset("soak", 50, 3600 * S, 5 * S).unwrap();
        assert_eq!(soak[0].duration_s, 10.0);
        assert_eq!(soak[1].duration_s, 3600.0);
        assert!(preset("burst", 1, S, S).is_none());
    }
}
