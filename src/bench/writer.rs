//! Results written as the run goes: a dedicated thread keeps the latest state of every
//! connection, rewrites the `latency_results_<stream_id>.json` of those that changed, and
//! `summary.json` and `turns.csv`, every five seconds — all atomically — so a crash
//! loses little and the users' threads never wait for the disk nor compute aggregates.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::fsutil;
use crate::runfolder::client_file_name;
use crate::summary::store::{ClientUpdate, Store};
use crate::summary::{self, SummaryContext};

/// How often the summary and CSV are rewritten mid-run.
const SUMMARY_EVERY: Duration = Duration::from_secs(5);
/// How often the files of connections that changed are rewritten mid-run.
const CLIENT_FILES_EVERY: Duration = Duration::from_secs(5);

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
    let mut written = BTreeSet::new();
    let mut summary_due = false;
    let mut last_summary = Instant::now();
    let mut last_files = Instant::now();
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
        // Mid-run files are replaced without waiting for the disk and without the lateness
        // summaries (a sort of every sample): the final ones are written at the end. A new
        // connection's file is written at once, later changes every few seconds.
        let new = dirty.iter().any(|key| !written.contains(key));
        if !dirty.is_empty() && (new || last_files.elapsed() >= CLIENT_FILES_EVERY) {
            let batch = if last_files.elapsed() >= CLIENT_FILES_EVERY {
                last_files = Instant::now();
                std::mem::take(&mut dirty)
            } else {
                let fresh: BTreeSet<_> = dirty.difference(&written).copied().collect();
                dirty.retain(|key| !fresh.contains(key));
                fresh
            };
            store.refresh(false);
            for key in batch {
                written.insert(key);
                if let Some(client) = store.clients.get(&key) {
                    let path = dir.join(client_file_name(&client.results.stream_id));
                    if let Err(e) = fsutil::write_json_replace(&path, &client.results) {
                        warn(e);
                    }
                }
            }
        }
        if summary_due && last_summary.elapsed() >= SUMMARY_EVERY {
            summary_due = false;
            last_summary = Instant::now();
            store.refresh(false);
            if let Err(e) = summary::write_run_files(dir, context, &store, None) {
                warn(e);
            }
        }
    }
}
