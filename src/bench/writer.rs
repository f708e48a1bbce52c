//! Results written as the run goes: a dedicated thread keeps the latest state of every
//! connection, rewrites its `latency_results_<stream_id>.json` when it changes, and rewrites
//! `summary.json` and `turns.csv` every few seconds — all atomically — so a crash loses
//! little and the users' tasks never wait for the disk.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::bench::summary::{self, SummaryContext};
use crate::fsutil;
use crate::runfolder::results::{ClientResults, client_file_name};

/// How often the summary and CSV are rewritten mid-run.
const SUMMARY_EVERY: Duration = Duration::from_secs(3);

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
    fn merge(&mut self, update: ClientUpdate) -> (usize, usize) {
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

/// Where users send their updates.
#[derive(Debug, Clone)]
pub struct WriterHandle {
    sender: mpsc::Sender<ClientUpdate>,
}

impl WriterHandle {
    /// Queues an update (never blocks).
    pub fn send(&self, update: ClientUpdate) {
        // The writer only goes away after every user has finished.
        let _ = self.sender.send(update);
    }
}

/// Starts the writer thread for a run folder. It ends, returning the store, once every
/// [`WriterHandle`] has been dropped.
pub fn spawn(
    dir: PathBuf,
    context: Arc<SummaryContext>,
) -> std::io::Result<(WriterHandle, JoinHandle<Store>)> {
    let (sender, receiver) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("bench-writer".into())
        .spawn(move || write_loop(&dir, &context, &receiver))?;
    Ok((WriterHandle { sender }, thread))
}

fn write_loop(
    dir: &std::path::Path,
    context: &SummaryContext,
    receiver: &mpsc::Receiver<ClientUpdate>,
) -> Store {
    let mut store = Store::default();
    let mut dirty = BTreeSet::new();
    let mut summary_due = false;
    let mut last_summary = Instant::now();
    let mut warned = false;
    let mut warn = |e: anyhow::Error| {
        if !warned {
            eprintln!("warning: could not write results mid-run (will retry at the end): {e:#}");
            warned = true;
        }
    };
    loop {
        match receiver.recv_timeout(Duration::from_millis(500)) {
            Ok(update) => {
                dirty.insert(store.merge(update));
                while let Ok(update) = receiver.try_recv() {
                    dirty.insert(store.merge(update));
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return store,
        }
        if !dirty.is_empty() {
            summary_due = true;
        }
        for key in std::mem::take(&mut dirty) {
            if let Some(client) = store.clients.get(&key) {
                let path = dir.join(client_file_name(&client.results.stream_id));
                if let Err(e) = fsutil::write_json_atomic(&path, &client.results) {
                    warn(e);
                }
            }
        }
        if summary_due && last_summary.elapsed() >= SUMMARY_EVERY {
            summary_due = false;
            last_summary = Instant::now();
            if let Err(e) = summary::write_run_files(dir, context, &store, None) {
                warn(e);
            }
        }
    }
}
