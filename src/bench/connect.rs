//! Opening a user's WebSocket connection: TLS for `wss://` (rustls with the system's roots,
//! `--ca-cert`, `--insecure`), the `--header`s of the upgrade request, the handshake with its
//! timeout, and the retries of a failed attempt. How the connection is made is this file's
//! business; what is said on it is the wire's (`wire.rs`).
//!
//! Trust comes from the operating system's certificate store (rustls-native-certs) rather
//! than a list compiled in (webpki-roots): an agent behind a company's private CA, or a proxy
//! that re-signs traffic, is trusted exactly when curl and the browser on the same machine
//! trust it, and the store follows the system's updates instead of voiceperf's release date.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_tungstenite::Connector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::bench::failfast::FailFast;
pub use crate::bench::failfast::{ConnectFailure, FailureCause};
use crate::bench::stop::Stop;
use crate::redact;
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

/// A header sent with every WebSocket upgrade request (`-H 'Name: value'`). Its value is a
/// secret as far as voiceperf is concerned: `Debug` and `Display` show only the name.
#[derive(Clone, PartialEq, Eq)]
pub struct Header {
    /// Header name as given.
    pub name: String,
    /// Header value as given.
    pub value: String,
}

impl FromStr for Header {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let Some((name, value)) = text.split_once(':') else {
            return Err("give a header as 'Name: value', e.g. 'Authorization: Bearer …'".into());
        };
        let (name, value) = (name.trim(), value.trim());
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(format!("{name:?} is not a valid header name"));
        }
        if HeaderValue::from_str(value).is_err() {
            return Err(format!(
                "the value of header {name} holds characters a header cannot carry"
            ));
        }
        Ok(Header {
            name: name.to_string(),
            value: value.to_string(),
        })
    }
}

impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact::header(&self.name, &self.value))
    }
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Header({self})")
    }
}

/// How `wss://` servers are trusted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsTrust {
    /// PEM file of CA certificates trusted besides the system's (`--ca-cert`).
    pub ca_cert: Option<PathBuf>,
    /// Accept any server certificate (`--insecure`): the connection is encrypted but the
    /// server is not authenticated.
    pub insecure: bool,
}

/// Makes the connections of a run: one per run, shared by every user.
#[derive(Clone)]
pub struct Dialer {
    headers: Arc<[Header]>,
    tls: Option<Arc<rustls::ClientConfig>>,
    fail_fast: Option<Arc<FailFast>>,
}

impl fmt::Debug for Dialer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dialer")
            .field("headers", &self.headers)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Dialer {
    /// A dialer for `url` (TLS set up only for `wss://`), sending `headers` on each upgrade.
    pub fn new(url: &str, headers: &[Header], trust: &TlsTrust) -> anyhow::Result<Self> {
        let tls = if url.starts_with("wss://") {
            Some(Arc::new(client_config(trust)?))
        } else {
            None
        };
        Ok(Dialer {
            headers: headers.into(),
            tls,
            fail_fast: None,
        })
    }

    /// The same dialer reporting every attempt to `fail_fast`.
    pub fn watched_by(mut self, fail_fast: Arc<FailFast>) -> Self {
        self.fail_fast = Some(fail_fast);
        self
    }

    /// One connection attempt within `timeout`.
    pub async fn open(&self, url: &str, timeout: Duration) -> Result<Ws, ConnectFailure> {
        let fail = |cause, what: String| ConnectFailure {
            cause,
            url: redact::url(url),
            detail: self.scrub(&what),
        };
        let mut request = url
            .into_client_request()
            .map_err(|e| fail(FailureCause::Other, e.to_string()))?;
        for header in self.headers.iter() {
            // Both parts were checked when the flag was parsed.
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(header.name.as_bytes()),
                HeaderValue::from_str(&header.value),
            ) else {
                return Err(fail(FailureCause::Other, format!("bad header {header}")));
            };
            request.headers_mut().append(name, value);
        }
        let config = WebSocketConfig::default()
            .read_buffer_size(16 * 1024)
            .write_buffer_size(0);
        let connector = self.tls.clone().map(Connector::Rustls);
        // Nagle off: every chunk must leave when it is sent, not when the kernel likes.
        let attempt = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(config),
            true,
            connector,
        );
        match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok((ws, _response))) => Ok(ws),
            Ok(Err(e)) => Err(fail(classify(&e), describe_error(&e))),
            Err(_) => Err(fail(
                FailureCause::Timeout,
                format!(
                    "no WebSocket handshake within {:.1} s",
                    timeout.as_secs_f64()
                ),
            )),
        }
    }

    /// Connects, retrying failed attempts under the same stream id (the server never saw it)
    /// with a growing pause, until connected, stopped, past `give_up_at`, or — with
    /// `--on-error stop` — after the first failure. Each failed attempt is reported to
    /// `failed` in one line.
    pub(crate) async fn connect(
        &self,
        url: &str,
        rules: ConnectRules,
        stop: &Stop,
        mut failed: impl FnMut(String),
    ) -> Result<Ws, ConnectionStatus> {
        let mut backoff = RECONNECT_BACKOFF;
        loop {
            let started = Instant::now();
            let result = tokio::select! {
                result = self.open(url, rules.timeout) => result,
                () = stop.stopped() => return Err(ConnectionStatus::Stopped),
            };
            if let Some(watch) = &self.fail_fast {
                watch.attempt(started, result.as_ref().err());
            }
            match result {
                Ok(ws) => return Ok(ws),
                Err(failure) => failed(failure.message()),
            }
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

    /// `text` without any header value in it (a server may echo a header in its answer).
    fn scrub(&self, text: &str) -> String {
        let secrets: Vec<&str> = self.headers.iter().map(|h| h.value.as_str()).collect();
        redact::scrub(text, &secrets)
    }
}

fn classify(error: &tokio_tungstenite::tungstenite::Error) -> FailureCause {
    use tokio_tungstenite::tungstenite::Error;
    match error {
        Error::Http(response) => FailureCause::HttpStatus(response.status().as_u16()),
        Error::Tls(_) => FailureCause::Tls,
        Error::Io(io) => {
            if io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
            {
                return FailureCause::Tls;
            }
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return FailureCause::Refused;
            }
            let text = io.to_string();
            if text.contains("lookup address")
                || text.contains("Name or service not known")
                || text.contains("nodename nor servname")
                || text.contains("No such host")
            {
                FailureCause::Dns
            } else {
                FailureCause::Other
            }
        }
        _ => FailureCause::Other,
    }
}

/// The error in words: the HTTP status line (never the response's headers) for a refused
/// upgrade, the library's message otherwise.
fn describe_error(error: &tokio_tungstenite::tungstenite::Error) -> String {
    use tokio_tungstenite::tungstenite::Error;
    match error {
        Error::Http(response) => {
            let status = response.status();
            format!(
                "HTTP {} {} at the WebSocket upgrade",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )
            .trim_end()
            .to_string()
        }
        other => other.to_string(),
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The TLS client configuration for `trust`.
fn client_config(trust: &TlsTrust) -> anyhow::Result<rustls::ClientConfig> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .context("setting up TLS")?;
    if trust.insecure {
        let verifier = AnyServerCert {
            algorithms: provider.signature_verification_algorithms,
        };
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth());
    }
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = &trust.ca_cert {
        let added = add_pem_file(&mut roots, path)?;
        if added == 0 {
            bail!(
                "--ca-cert {}: no certificate in it (expected PEM: -----BEGIN CERTIFICATE-----)",
                path.display()
            );
        }
    }
    if roots.is_empty() {
        bail!(
            "no trusted CA certificates: the system has none installed (on Debian/Ubuntu: apt-get install ca-certificates); give --ca-cert FILE, or --insecure for a test server"
        );
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// Adds every certificate of a PEM file; returns how many.
fn add_pem_file(roots: &mut RootCertStore, path: &Path) -> anyhow::Result<usize> {
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("--ca-cert {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("--ca-cert {}: not a PEM certificate file", path.display()))?;
    let (added, ignored) = roots.add_parsable_certificates(certs);
    if ignored > 0 {
        bail!(
            "--ca-cert {}: {ignored} certificate(s) could not be parsed",
            path.display()
        );
    }
    Ok(added)
}

/// `--insecure`: any certificate is accepted for any name, but the handshake signatures are
/// still checked, so the connection is encrypted to whoever holds the certificate's key.
#[derive(Debug)]
struct AnyServerCert {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_and_never_show_their_value() {
        let h: Header = "Authorization: Bearer abc.def".parse().unwrap();
        assert_eq!(h.name, "Authorization");
        assert_eq!(h.value, "Bearer abc.def");
        assert_eq!(format!("{h}"), "Authorization: ***");
        assert!(!format!("{h:?}").contains("abc"));
        assert!("no colon".parse::<Header>().is_err());
        assert!("Bad Name: x".parse::<Header>().is_err());
        assert!("X-Ok: line\nbreak".parse::<Header>().is_err());
    }

    #[test]
    fn causes_describe_a_way_out() {
        assert!(FailureCause::Tls.describe().contains("--ca-cert"));
        assert!(FailureCause::HttpStatus(401).describe().contains("-H"));
        assert!(FailureCause::HttpStatus(502).describe().contains("502"));
    }
}
