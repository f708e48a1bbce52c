//! Accepting connections: the `/ws/{stream_id}` route (telephony: `/ws` too), the connection limit, the WebSocket
//! handshake, and shutdown of every connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::log::{Level, percent_decode};
use super::{Shared, bump, session};

/// How long a client may take to complete the WebSocket handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Incoming messages beyond this many times the soft limit close the connection (1009):
/// below it they are read and skipped, above it reading them would cost too much memory.
const HARD_LIMIT_FACTOR: usize = 16;

/// Accepts connections until `stop` turns true, then waits for the connections to close.
pub(super) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    sessions.spawn(connection(tcp, peer, Arc::clone(&shared), stop.clone()));
                }
                Err(err) => {
                    // Usually out of file descriptors: wait for some to be freed.
                    shared.server_log(Level::Error, format_args!("accept failed: {err}"));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    // Sessions saw the same signal and are closing; give them a moment.
    let drain = async { while sessions.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(3), drain)
        .await
        .is_err()
    {
        sessions.abort_all();
    }
}

/// Decrements the active-connection count when the connection ends, however it ends.
struct ActiveGuard(Arc<Shared>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Why the handshake callback refused a request.
enum Refusal {
    Path,
    Full,
}

// The handshake callback's error type is tungstenite's, large by design.
#[allow(clippy::result_large_err)]
async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) {
    // Small frames paced in real time: never let Nagle hold one back.
    let _ = tcp.set_nodelay(true);
    let active = shared.active.fetch_add(1, Ordering::Relaxed) + 1;
    let guard = ActiveGuard(Arc::clone(&shared));
    let full = active > shared.options.max_connections;
    let soft = shared.options.max_message_bytes;
    let config = WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(soft.saturating_mul(HARD_LIMIT_FACTOR)))
        .max_frame_size(Some(soft.saturating_mul(HARD_LIMIT_FACTOR)));
    let mut stream_id: Option<String> = None;
    let mut refusal: Option<Refusal> = None;
    let telephony = shared.options.protocol.provider().is_some();
    let callback = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        let path = request.uri().path();
        // A telephony bot is reached at `/ws` (pipecat's runner): the stream id then comes
        // from the provider's start message.
        if telephony && (path == "/ws" || path == "/ws/") {
            if full {
                refusal = Some(Refusal::Full);
                return Err(error_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "connection limit reached",
                ));
            }
            stream_id = Some(String::new());
            return Ok(response);
        }
        let segment = path
            .strip_prefix("/ws/")
            .filter(|s| !s.is_empty() && !s.contains('/'));
        let Some(segment) = segment else {
            refusal = Some(Refusal::Path);
            return Err(error_response(
                StatusCode::NOT_FOUND,
                "not found: connect to /ws/{stream_id}",
            ));
        };
        if full {
            refusal = Some(Refusal::Full);
            return Err(error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "connection limit reached",
            ));
        }
        stream_id = Some(percent_decode(segment));
        Ok(response)
    };
    let handshake = tokio_tungstenite::accept_hdr_async_with_config(tcp, callback, Some(config));
    let ws = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(err)) => {
            match refusal {
                Some(Refusal::Full) => {
                    bump(&shared.counters.connections_rejected);
                    shared.server_log(
                        Level::Warning,
                        format_args!(
                            "refused connection from {peer}: {} connections open, limit {}",
                            active - 1,
                            shared.options.max_connections
                        ),
                    );
                }
                Some(Refusal::Path) => {
                    bump(&shared.counters.connections_rejected);
                    shared.server_log(
                        Level::Warning,
                        format_args!(
                            "refused connection from {peer}: path is not /ws/{{stream_id}}"
                        ),
                    );
                }
                None => {
                    bump(&shared.counters.handshake_failures);
                    shared.server_log(
                        Level::Warning,
                        format_args!("WebSocket handshake with {peer} failed: {err}"),
                    );
                }
            }
            return;
        }
        Err(_) => {
            bump(&shared.counters.handshake_failures);
            shared.server_log(
                Level::Warning,
                format_args!("WebSocket handshake with {peer} timed out"),
            );
            return;
        }
    };
    let Some(stream_id) = stream_id else {
        return;
    };
    bump(&shared.counters.connections_accepted);
    session::run(ws, stream_id, shared, stop).await;
    drop(guard);
}

fn error_response(status: StatusCode, body: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(body.to_string()));
    *response.status_mut() = status;
    response
}
