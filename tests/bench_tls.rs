//! `wss://` and authentication: a local TLS server with a certificate from a generated CA.
//! The system's roots reject it, `--ca-cert` and `--insecure` accept it, `-H` headers and the
//! URL's query string arrive at the server, and no header value or token reaches a result
//! file or the console.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assert_cmd::Command;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use support::bench::Fixture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use voiceperf::agent::{self, AgentHandle};
use voiceperf::bench::connect::{Dialer, FailureCause, Header, TlsTrust};

/// A CA and a server certificate it signed for `localhost` and `127.0.0.1`.
struct Pki {
    ca_pem: String,
    server_cert: CertificateDer<'static>,
    server_key: Vec<u8>,
}

impl Pki {
    fn new() -> Pki {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "voiceperf test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let server = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .unwrap()
            .signed_by(&server_key, &ca)
            .unwrap();
        Pki {
            ca_pem: ca.pem(),
            server_cert: server.der().clone(),
            server_key: server_key.serialize_der(),
        }
    }

    fn write_ca(&self, dir: &Path) -> std::path::PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, &self.ca_pem).unwrap();
        path
    }

    fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![self.server_cert.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key.clone())),
            )
            .unwrap();
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    }
}

/// The HTTP request heads the TLS server received, in order.
type Seen = Arc<Mutex<Vec<String>>>;

/// Reads an HTTP request head (through the blank line).
async fn read_head<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(head)
}

/// A TLS front on 127.0.0.1:0 that records each request head and passes the connection on
/// to `upstream` (the built-in agent); without an upstream it completes the WebSocket
/// upgrade itself and holds the connection open.
async fn tls_front(pki: &Pki, upstream: Option<SocketAddr>) -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = pki.acceptor();
    let seen: Seen = Arc::default();
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let record = Arc::clone(&record);
            tokio::spawn(async move {
                // A client that rejects the certificate ends here.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Some(head) = read_head(&mut tls).await else {
                    return;
                };
                record
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&head).into_owned());
                match upstream {
                    Some(upstream) => {
                        let mut agent = TcpStream::connect(upstream).await.unwrap();
                        agent.set_nodelay(true).unwrap();
                        agent.write_all(&head).await.unwrap();
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut agent).await;
                    }
                    None => {
                        let key = String::from_utf8_lossy(&head)
                            .lines()
                            .find_map(|l| {
                                let (name, value) = l.split_once(':')?;
                                name.eq_ignore_ascii_case("sec-websocket-key")
                                    .then(|| value.trim().to_string())
                            })
                            .unwrap_or_default();
                        let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(
                            key.trim().as_bytes(),
                        );
                        let response = format!(
                            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                        );
                        let _ = tls.write_all(response.as_bytes()).await;
                        let mut sink = [0u8; 1024];
                        while matches!(tls.read(&mut sink).await, Ok(n) if n > 0) {}
                    }
                }
            });
        }
    });
    (addr, seen)
}

#[tokio::test]
async fn system_roots_reject_a_private_ca_which_ca_cert_or_insecure_accept() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let ca = pki.write_ca(dir.path());
    let (addr, seen) = tls_front(&pki, None).await;
    let url = format!("wss://127.0.0.1:{}/ws/client_1_1?room=r1", addr.port());
    let timeout = Duration::from_secs(10);
    let header: Header = "Authorization: Bearer s3cret-value".parse().unwrap();

    let system = Dialer::new(&url, &[], &TlsTrust::default()).unwrap();
    let Err(failure) = system.open(&url, timeout).await else {
        panic!("the system roots accepted a private CA");
    };
    assert_eq!(failure.cause, FailureCause::Tls, "{failure:?}");
    assert!(failure.detail.contains("certificate"), "{}", failure.detail);

    let trusted = TlsTrust {
        ca_cert: Some(ca.clone()),
        insecure: false,
    };
    let with_ca = Dialer::new(&url, std::slice::from_ref(&header), &trusted).unwrap();
    with_ca
        .open(&url, timeout)
        .await
        .expect("--ca-cert accepts");

    let insecure = TlsTrust {
        ca_cert: None,
        insecure: true,
    };
    let any = Dialer::new(&url, &[], &insecure).unwrap();
    any.open(&url, timeout).await.expect("--insecure accepts");

    // By name, too: the certificate names localhost.
    let by_name = url.replace("127.0.0.1", "localhost");
    with_ca.open(&by_name, timeout).await.expect("localhost");

    let heads = seen.lock().unwrap().clone();
    assert_eq!(heads.len(), 3, "{heads:?}");
    let first = &heads[0];
    assert!(
        first.starts_with("GET /ws/client_1_1?room=r1 HTTP/1.1"),
        "{first}"
    );
    assert!(
        first
            .to_ascii_lowercase()
            .contains("authorization: bearer s3cret-value"),
        "{first}"
    );
    assert!(!heads[1].to_ascii_lowercase().contains("authorization"));
}

#[test]
fn a_file_without_certificates_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("empty.pem");
    std::fs::write(&bad, "not a certificate\n").unwrap();
    let trust = TlsTrust {
        ca_cert: Some(bad.clone()),
        insecure: false,
    };
    let err = Dialer::new("wss://127.0.0.1:1/ws", &[], &trust).unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("--ca-cert") && text.contains("empty.pem"),
        "{text}"
    );
}

/// A multi-thread runtime hosting the agent and the TLS front while the binary runs.
struct Servers {
    runtime: tokio::runtime::Runtime,
    agent: Option<AgentHandle>,
    front: SocketAddr,
    seen: Seen,
}

impl Servers {
    fn start(fx: &Fixture, pki: &Pki) -> Servers {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let agent = runtime.block_on(agent::start(fx.agent_options())).unwrap();
        let (front, seen) = runtime.block_on(tls_front(pki, Some(agent.local_addr())));
        Servers {
            runtime,
            agent: Some(agent),
            front,
            seen,
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        if let Some(agent) = self.agent.take() {
            let _ = self.runtime.block_on(agent.shutdown());
        }
    }
}

/// Every file under `dir`, as text.
fn all_text(dir: &Path) -> String {
    let mut out = String::new();
    for entry in walkdir::WalkDir::new(dir) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            out.push_str(&String::from_utf8_lossy(
                &std::fs::read(entry.path()).unwrap(),
            ));
        }
    }
    out
}

#[test]
fn bench_runs_over_wss_with_headers_and_keeps_secrets_out_of_everything() {
    let fx = Fixture::new(&[(0.6, 0.1)]);
    let pki = Pki::new();
    let ca = pki.write_ca(fx.root.path());
    let servers = Servers::start(&fx, &pki);
    let url = format!(
        "wss://127.0.0.1:{}/ws?room=bench&token=tok-SECRET-1",
        servers.front.port()
    );
    let output = Command::cargo_bin("voiceperf")
        .unwrap()
        .args(["bench", "--url", &url, "--ca-cert"])
        .arg(&ca)
        .args(["-H", "Authorization: Bearer hdr-SECRET-2"])
        .args(["--header", "X-Tenant: t-SECRET-3"])
        .arg("--audio-dir")
        .arg(&fx.audio_dir)
        .arg("--output-dir")
        .arg(&fx.out)
        .args([
            "--clients",
            "1",
            "--test-duration",
            "3s",
            "--reply-gap",
            "0.5",
            "--greeting-timeout",
            "0",
            "--reply-timeout",
            "3",
            "--quiet",
        ])
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");

    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fx.out.join("summary.json")).unwrap()).unwrap();
    let turns = summary["results"]["latency"]["count"].as_u64().unwrap_or(0);
    assert!(turns >= 1, "no turn measured over wss: {summary}");

    let heads = servers.seen.lock().unwrap().clone();
    assert!(!heads.is_empty());
    for head in &heads {
        let lower = head.to_ascii_lowercase();
        assert!(
            head.starts_with("GET /ws/client_1_")
                && head.contains("?room=bench&token=tok-SECRET-1 "),
            "{head}"
        );
        assert!(
            lower.contains("authorization: bearer hdr-secret-2"),
            "{head}"
        );
        assert!(lower.contains("x-tenant: t-secret-3"), "{head}");
    }

    let written = all_text(&fx.out);
    for text in [&written, &stdout.to_string(), &stderr.to_string()] {
        assert!(!text.contains("SECRET"), "a secret leaked:\n{text}");
    }
    assert!(
        written.contains("token=***"),
        "the redacted URL is recorded"
    );
}
