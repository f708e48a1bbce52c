//! Opening a user's WebSocket connection: the handshake with its timeout, and the retries of
//! a failed attempt. How the connection is made is this file's business; what is said on it
//! is the wire's (`wire.rs`).

use std::time::{Duration, Instant};

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::bench::stop::Stop;
use crate::runfolder::results::{ConnectionStatus, OnError};

/// An open connection.
pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Wait before retrying a failed connection attempt, doubling up to `MAX_CONNECT_BACKOFF`.
pub(crate) const RECONNECT_BACKOFF: Duration = Duration::from_millis(500);
const MAX_CONNECT_BACKOFF: Duration = Duration::from_secs(4);

/// How connections are made.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectRules {
    /// Limit on the TCP + WebSocket handshake.
    pub timeout: Duration,
    /// Whether a failed attempt is retried.
    pub on_error: OnError,
    /// No retry starts after this (the end of the metrics window).
    pub give_up_at: Instant,
}

/// Connects, retrying failed attempts under the same stream id (the server never saw it) with
/// a growing pause, until connected, stopped, past `give_up_at`, or — with `--on-error stop`
/// — after the first failure. Each failed attempt is reported to `failed` in one line.
pub(crate) async fn connect(
    url: &str,
    rules: ConnectRules,
    stop: &Stop,
    mut failed: impl FnMut(String),
) -> Result<Ws, ConnectionStatus> {
    let config = WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0);
    let mut backoff = RECONNECT_BACKOFF;
    loop {
        // Nagle off: every chunk must leave when it is sent, not when the kernel likes.
        let attempt = tokio::time::timeout(
            rules.timeout,
            tokio_tungstenite::connect_async_with_config(url, Some(config), true),
        );
        let result = tokio::select! {
            result = attempt => result,
            () = stop.stopped() => return Err(ConnectionStatus::Stopped),
        };
        let message = match result {
            Ok(Ok((ws, _response))) => return Ok(ws),
            Ok(Err(e)) => format!("{url}: {e}"),
            Err(_) => format!(
                "{url}: no WebSocket handshake within {:.1} s",
                rules.timeout.as_secs_f64()
            ),
        };
        failed(message);
        if rules.on_error == OnError::Stop {
            return Err(ConnectionStatus::Failed);
        }
        let retry_at = Instant::now() + backoff;
        if retry_at >= rules.give_up_at {
            return Err(ConnectionStatus::Failed);
        }
        if !stop.sleep_until(retry_at).await {
            return Err(ConnectionStatus::Stopped);
        }
        backoff = (backoff * 2).min(MAX_CONNECT_BACKOFF);
    }
}
