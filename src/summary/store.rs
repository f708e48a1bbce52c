//! What a run knows while it goes: the latest state of every connection with its raw
//! send-lateness and receive-lag samples, kept by the results writer and summarised from.

use std::collections::{BTreeMap, BTreeSet};

use crate::runfolder::results::ClientResults;

/// A connection's new state, with the send-lateness and receive-lag samples recorded since
/// its previous update.
#[derive(Debug)]
pub struct ClientUpdate {
    /// The connection's results as they stand, except that `turns` holds only the turns from
    /// `turns_from` on (the earlier ones have not changed since the previous update).
    pub results: ClientResults,
    /// Index of the first turn in `results.turns`.
    pub turns_from: usize,
    /// New send-lateness samples (s), in chunk order.
    pub new_lateness_s: Vec<f32>,
    /// New receive-lag samples (s).
    pub new_lag_s: Vec<f32>,
}

/// Everything known about one connection.
#[derive(Debug, Clone)]
pub struct StoredClient {
    /// Its results.
    pub results: ClientResults,
    /// Send lateness of every chunk, by id − 1 (s).
    pub lateness_s: Vec<f32>,
    /// Receive-loop lag samples (s).
    pub lag_s: Vec<f32>,
}

/// All connections of a run, by (user, connection).
#[derive(Debug, Default, Clone)]
pub struct Store {
    /// The connections.
    pub clients: BTreeMap<(usize, usize), StoredClient>,
    /// Connections updated since their derived fields were last computed.
    stale: BTreeSet<(usize, usize)>,
}

impl Store {
    /// Takes in a connection's update; returns its key. Its derived fields are stale until
    /// [`Store::refresh`].
    pub fn merge(&mut self, update: ClientUpdate) -> (usize, usize) {
        let ClientUpdate {
            mut results,
            turns_from,
            new_lateness_s,
            new_lag_s,
        } = update;
        let key = (results.user, results.connection);
        let stored = self.clients.entry(key).or_insert_with(|| StoredClient {
            results: results.clone(),
            lateness_s: Vec::new(),
            lag_s: Vec::new(),
        });
        let mut turns = std::mem::take(&mut stored.results.turns);
        turns.truncate(turns_from);
        turns.append(&mut results.turns);
        results.turns = turns;
        stored.results = results;
        stored.lateness_s.extend(new_lateness_s);
        stored.lag_s.extend(new_lag_s);
        self.stale.insert(key);
        key
    }

    /// Recomputes the derived fields of the connections updated since the last refresh: with
    /// `with_lateness`, the lateness summaries too (a sort of every sample: done for the final
    /// files; mid-run files keep the turns' fields fresh only).
    pub fn refresh(&mut self, with_lateness: bool) {
        for key in std::mem::take(&mut self.stale) {
            if let Some(client) = self.clients.get_mut(&key) {
                if with_lateness {
                    client
                        .results
                        .refresh_derived(&client.lateness_s, &client.lag_s);
                } else {
                    client.results.refresh_turn_fields();
                }
            }
        }
    }

    /// Marks every connection for the next [`Store::refresh`].
    pub fn mark_all_stale(&mut self) {
        self.stale.extend(self.clients.keys().copied());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_carry_only_the_turns_that_changed() {
        let mut store = Store::default();
        use crate::runfolder::results::TurnOutcome;
        let base = crate::summary::tests::client(3, Vec::new(), 0).results;
        let turn = |n: usize| crate::runfolder::results::TurnRecord {
            turn: n,
            ..crate::summary::tests::turn(Some(1.0), true, TurnOutcome::Replied)
        };
        let update = |turns_from, turns: Vec<_>, lateness: Vec<f32>| ClientUpdate {
            results: ClientResults {
                turns,
                ..base.clone()
            },
            turns_from,
            new_lateness_s: lateness,
            new_lag_s: Vec::new(),
        };
        store.merge(update(0, vec![turn(1)], vec![0.001; 3]));
        store.merge(update(0, vec![turn(1), turn(2)], vec![0.002; 2]));
        // The last published turn is sent again (late frames may have changed it).
        let mut changed = turn(2);
        changed.late_audio_frames = 4;
        let key = store.merge(update(1, vec![changed, turn(3)], Vec::new()));
        store.refresh(true);
        let client = &store.clients[&key];
        let numbers: Vec<usize> = client.results.turns.iter().map(|t| t.turn).collect();
        assert_eq!(numbers, vec![1, 2, 3]);
        assert_eq!(client.results.turns[1].late_audio_frames, 4);
        assert_eq!(client.lateness_s.len(), 5);
        assert_eq!(client.results.num_turns, 3);
        assert_eq!(client.results.send_lateness_ms.as_ref().unwrap().count, 5);
    }
}
