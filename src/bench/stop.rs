//! Stopping a run early (SIGINT or SIGTERM, or a caller such as `voiceperf run`): every user finishes
//! what it can record, closes, and the results are written.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

/// A stop signal shared by every task of a run. Cloning shares it.
#[derive(Debug, Clone)]
pub struct Stop {
    sender: Arc<watch::Sender<bool>>,
}

impl Default for Stop {
    fn default() -> Self {
        Self::new()
    }
}

impl Stop {
    /// A signal that has not fired.
    pub fn new() -> Self {
        Stop {
            sender: Arc::new(watch::channel(false).0),
        }
    }

    /// A signal that fires on SIGINT (Ctrl-C) or SIGTERM, which end a run alike: partial
    /// results written, `stopped_early` set, exit status 1. Must be called inside a tokio
    /// runtime.
    pub fn on_signal() -> Self {
        let stop = Stop::new();
        let trigger = stop.clone();
        tokio::spawn(async move {
            if interrupted().await {
                eprintln!("\ninterrupted: stopping users and writing what was measured…");
                trigger.stop();
            }
        });
        stop
    }

    /// Fires the signal.
    pub fn stop(&self) {
        self.sender.send_replace(true);
    }

    /// Whether the signal has fired.
    pub fn is_stopped(&self) -> bool {
        *self.sender.borrow()
    }

    /// Resolves once the signal fires.
    pub async fn stopped(&self) {
        let mut receiver = self.sender.subscribe();
        // The sender lives in `self`, so this only returns once the value is true.
        let _ = receiver.wait_for(|stopped| *stopped).await;
    }

    /// Sleeps until `deadline`; `false` when the signal fired first.
    pub async fn sleep_until(&self, deadline: Instant) -> bool {
        tokio::select! {
            () = tokio::time::sleep_until(deadline.into()) => !self.is_stopped(),
            () = self.stopped() => false,
        }
    }
}

/// Waits for SIGINT or SIGTERM; `false` when no handler could be installed.
async fn interrupted() -> bool {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                result = tokio::signal::ctrl_c() => result.is_ok(),
                _ = term.recv() => true,
            },
            Err(e) => {
                eprintln!("warning: installing the SIGTERM handler: {e}");
                tokio::signal::ctrl_c().await.is_ok()
            }
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn stop_wakes_sleepers() {
        let stop = Stop::new();
        assert!(!stop.is_stopped());
        assert!(
            stop.sleep_until(Instant::now() + Duration::from_millis(5))
                .await
        );
        let trigger = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            trigger.stop();
        });
        let started = Instant::now();
        assert!(
            !stop
                .sleep_until(Instant::now() + Duration::from_secs(30))
                .await
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(stop.is_stopped());
    }
}
