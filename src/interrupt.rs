//! SIGINT and SIGTERM as a flag for synchronous work (prep): while an [`Interrupts`] guard
//! lives, the signals only set a flag that the work polls between items, so files in flight
//! are finished (or their temp files removed) and the manifest of what finished is written.
//! Dropping the guard restores the previous handlers. (bench and the agent, which run on
//! tokio, use tokio's signal streams instead.)

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Catches SIGINT and SIGTERM while it lives.
pub struct Interrupts {
    #[cfg(unix)]
    previous: Vec<(libc::c_int, libc::sigaction)>,
}

#[cfg(unix)]
extern "C" fn on_signal(_: libc::c_int) {
    REQUESTED.store(true, Ordering::SeqCst);
}

impl Interrupts {
    /// Starts catching the signals (and clears an earlier request).
    pub fn catch() -> Interrupts {
        REQUESTED.store(false, Ordering::SeqCst);
        #[cfg(unix)]
        {
            let mut previous = Vec::new();
            for signal in [libc::SIGINT, libc::SIGTERM] {
                // SAFETY: a zeroed sigaction is valid; the handler only stores to an atomic,
                // which is async-signal-safe.
                unsafe {
                    let mut action: libc::sigaction = std::mem::zeroed();
                    action.sa_sigaction = on_signal as *const () as usize;
                    libc::sigemptyset(&mut action.sa_mask);
                    let mut old: libc::sigaction = std::mem::zeroed();
                    if libc::sigaction(signal, &action, &mut old) == 0 {
                        previous.push((signal, old));
                    }
                }
            }
            Interrupts { previous }
        }
        #[cfg(not(unix))]
        Interrupts {}
    }

    /// Whether SIGINT or SIGTERM arrived since [`Interrupts::catch`].
    pub fn requested(&self) -> bool {
        REQUESTED.load(Ordering::SeqCst)
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        #[cfg(unix)]
        for (signal, old) in &self.previous {
            // SAFETY: restores the disposition saved by `catch`.
            unsafe {
                libc::sigaction(*signal, old, std::ptr::null_mut());
            }
        }
    }
}
