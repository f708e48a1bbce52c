//! What a run knows while it goes: the latest state of every connection with its raw
//! send-lateness and receive-lag samples, kept by the results writer and summarised from.

use std::collections::BTreeMap;

use crate::runfolder::results::ClientResults;

/// A connection's new state, with the send-lateness and receive-lag samples recorded since
/// its previous update.
#[derive(Debug)]
pub struct ClientUpdate {
    /// The connection's results as they stand.
    pub results: ClientResults,
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
}

impl Store {
    /// Takes in a connection's update; returns its key.
    pub fn merge(&mut self, update: ClientUpdate) -> (usize, usize) {
        let key = (update.results.user, update.results.connection);
        let stored = self.clients.entry(key).or_insert_with(|| StoredClient {
            results: update.results.clone(),
            lateness_s: Vec::new(),
            lag_s: Vec::new(),
        });
        stored.results = update.results;
        stored.lateness_s.extend(update.new_lateness_s);
        stored.lag_s.extend(update.new_lag_s);
        key
    }
}
