//! TLS end to end: pollhttp's client against a TLS HTTP server written here (the TLS layer
//! and `proto::ServerConn`), against nginx with TLS, and curl and Python's `ssl` against
//! that server. Certificates come from `pollhttp::testing::TestPki`.
//!
//! ```text
//! cargo test --features testing --test tls
//! ```
//!
//! The tests of our client against our own server need nothing else and always run. Those
//! with nginx, curl or Python follow `tests/interop.rs`: without `POLLHTTP_PEERS` they print
//! that they skip and pass; with it (`eval "$(tests/peers/setup.sh)"`, as CI does), a peer
//! that is missing or does not start fails the test. nginx is started by
//! `tests/peers/nginx.sh` with its TLS variables (`TLS_PORT`, `TLS_CERT`, `TLS_KEY`,
//! `TLS_CLIENT_CA`), a private instance per test, stopped when the test ends.
//!
//! The server here (`TlsServer`) answers, per connection, after a `Handshake::server`:
//!
//! | target | response |
//! |---|---|
//! | `/` | `Hello, world!\n` |
//! | `/dN.html` | `document N\n` |
//! | `/whoami` | the client certificate (DER) as the body, the chain length in `x-peer-certificates` |
//! | `/continue` | a 100 first if the client waits for one, then the request body echoed; `x-continue: sent`, and `x-early-body-bytes`: body bytes that came before the 100 |
//! | `/big/N` | N bytes of the pattern (byte i is `i % 251`), Content-Length |
//! | `/close/N` | N bytes of the pattern, delimited by the close, then `close_notify` |
//! | `/truncate/N` | the same, then a TCP close *without* `close_notify` |
//! | else | 404 |
//!
//! Each connection reports how its handshake went (`TlsServer::report`), so a test can see
//! what the server saw (the client certificate, the refusal).

#![cfg(feature = "testing")]

#[path = "support/examples.rs"]
mod examples;
#[path = "support/programs.rs"]
mod programs;
#[path = "support/tls_io.rs"]
mod tls_io;

use programs::{run, run_example, Run};
use tls_io::{complete, flush, read_some, write_all, WAIT};

use std::fs;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use http::header::{EXPECT, HOST};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use pollhttp::client::{Client, Connection};
use pollhttp::io::{Address, Transport};
use pollhttp::op::{Connect, Discard, Flush, ReadResponse};
use pollhttp::proto::{BodyLength, Event, Framing, ServerConn};
use pollhttp::testing::{PkiFiles, TestPki};
use pollhttp::tls::rustls::pki_types::pem::PemObject;
use pollhttp::tls::rustls::{AlertDescription, CertificateError, Error as RustlsError};
use pollhttp::tls::{
    CertificateDer, ClientTls, Handshake, ServerTls, TlsError, TlsInfo, TlsStream,
};
use pollhttp::{Error, Interest, PollNeeded, Progress};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

// ---------------------------------------------------------------------------------------
// Small helpers

/// The pattern of the bodies: byte i is i % 251.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// 1,024 periods of the pattern: any run of it, from any offset, is a slice of this.
fn pattern_block() -> &'static [u8] {
    static BLOCK: OnceLock<Vec<u8>> = OnceLock::new();
    BLOCK.get_or_init(|| pattern(251 * 1024))
}

fn document(n: u64) -> String {
    format!("document {n}\n")
}

fn der(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).expect("a PEM certificate")
}

fn header<'a>(map: &'a HeaderMap, name: &str) -> &'a str {
    map.get(name)
        .unwrap_or_else(|| panic!("no {name} in {map:?}"))
        .to_str()
        .expect("text header")
}

/// A server configuration with this certificate, asking clients for none.
fn anonymous_server_with(cert_pem: &str, key_pem: &str) -> ServerTls {
    ServerTls::builder()
        .cert_pem(cert_pem.as_bytes(), key_pem.as_bytes())
        .allow_unauthenticated_clients()
        .build()
        .expect("server configuration")
}

/// A certificate of `pki` for a name the clients do not connect to.
fn other_name_cert(pki: &TestPki) -> (String, String) {
    let now = SystemTime::now();
    pki.issue_server(&["other.example"], now - DAY, now + 30 * DAY)
}

/// A certificate of `pki` for the right names that expired yesterday.
fn expired_cert(pki: &TestPki) -> (String, String) {
    let now = SystemTime::now();
    pki.issue_server(&["localhost", "127.0.0.1"], now - 10 * DAY, now - DAY)
}

/// The rustls error in a TLS protocol error.
#[track_caller]
fn rustls_error<T: std::fmt::Debug>(result: Result<T, Error>) -> RustlsError {
    match result {
        Err(Error::Tls(TlsError::Protocol(e))) => e,
        other => panic!("expected Err(Error::Tls(Protocol(..))), got {other:?}"),
    }
}

/// The certificate error in a TLS protocol error.
#[track_caller]
fn certificate_error<T: std::fmt::Debug>(result: Result<T, Error>) -> CertificateError {
    match rustls_error(result) {
        RustlsError::InvalidCertificate(e) => e,
        other => panic!("expected InvalidCertificate(..), got {other:?}"),
    }
}

/// Connects and GETs `path`, reading the whole body: the status and body, or the first
/// error (of the handshake, or, for a TLS 1.3 client the server refuses after its part of
/// the handshake is over, of the request).
fn fetch(client: &Client, path: &str) -> Result<(StatusCode, Vec<u8>), Error> {
    let mut conn = client.connect()?;
    let mut response = conn.get(path, HeaderMap::new())?;
    let body = response.body.read_all()?;
    Ok((response.status, body))
}

/// GET and the whole body on a connection, which must be 200.
fn get_ok(conn: &mut Connection, path: &str) -> Vec<u8> {
    let mut response = conn
        .get(path, HeaderMap::new())
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert_eq!(response.status, StatusCode::OK, "GET {path}");
    response
        .body
        .read_all()
        .unwrap_or_else(|e| panic!("GET {path}: body: {e}"))
}

/// A fresh path in the temporary directory, unique to this process and call.
fn unique_path(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "pollhttp-tls-{}-{}-{tag}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let path = unique_path(tag);
        fs::create_dir_all(&path).expect("making a temporary directory");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

// ---------------------------------------------------------------------------------------
// The TLS HTTP server

/// How one connection to [`TlsServer`] went.
#[derive(Debug)]
struct Report {
    /// What TLS agreed on and the client's certificates, or why the handshake failed.
    handshake: io::Result<TlsInfo>,
    /// Requests answered.
    requests: u64,
    /// How serving ended (after a handshake).
    end: Result<End, String>,
}

/// How a connection that was served ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The client closed (with or without `close_notify`: the server does not mind).
    ClientClosed,
    /// The server closed with `close_notify`.
    Closed,
    /// The server closed the TCP connection without `close_notify` (`/truncate/N`).
    Truncated,
}

/// A TLS HTTP/1.1 server on 127.0.0.1, a thread per connection, blocking on the socket's
/// readiness between non-blocking `TlsStream` calls. Stops accepting on drop; connections
/// in progress end with their clients (or after [`WAIT`]).
struct TlsServer {
    addr: SocketAddr,
    reports: Receiver<Report>,
    stop: Arc<AtomicBool>,
    accept: Option<thread::JoinHandle<()>>,
}

impl TlsServer {
    fn start(tls: ServerTls) -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let (tx, reports) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let accept = thread::Builder::new()
            .name("tls-server".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (tls, tx) = (tls.clone(), tx.clone());
                    thread::spawn(move || connection(stream, &tls, &tx));
                }
            })
            .expect("spawning the server");
        Self {
            addr,
            reports,
            stop,
            accept: Some(accept),
        }
    }

    fn port(&self) -> u16 {
        self.addr.port()
    }

    /// A blocking client for this server, checking the certificate names `localhost`.
    fn client(&self, tls: ClientTls) -> Client {
        Client::new(self.addr)
            .with_tls(tls)
            .with_server_name("localhost")
            .with_timeout(Some(WAIT))
    }

    fn connect(&self, tls: ClientTls) -> Connection {
        self.client(tls).connect().expect("connecting")
    }

    /// The report of the next connection to end.
    fn report(&self) -> Report {
        self.reports
            .recv_timeout(WAIT)
            .expect("no connection ended within the wait")
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which then sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn connection(stream: TcpStream, tls: &ServerTls, reports: &Sender<Report>) {
    // A second descriptor of the socket, so that the server can close gracefully after the
    // TLS stream is gone: shut down its sending side and read until the client closes.
    // Closing with unread input would reset the connection, and a reset can overtake the
    // last response or alert on the way to the client.
    let linger = stream.try_clone();
    let handshake = Transport::from_tcp(stream)
        .and_then(|t| Handshake::server(t, tls).map_err(io::Error::other))
        .and_then(complete);
    let report = match handshake {
        Err(e) => Report {
            handshake: Err(e),
            requests: 0,
            end: Err("no handshake".into()),
        },
        Ok(mut tls) => {
            let info = tls.info();
            let mut requests = 0;
            let end = serve(&mut tls, &mut requests);
            // Dropping sends close_notify, unless the sending side is already shut down.
            drop(tls);
            Report {
                handshake: Ok(info),
                requests,
                end,
            }
        }
    };
    let _ = reports.send(report);
    if let Ok(sock) = linger {
        let _ = sock.set_nonblocking(false);
        let _ = sock.set_read_timeout(Some(WAIT));
        let _ = sock.shutdown(Shutdown::Write);
        let mut buf = [0u8; 16 * 1024];
        while matches!((&sock).read(&mut buf), Ok(n) if n > 0) {}
    }
}

/// A request as the server saw it.
struct Request {
    method: Method,
    target: String,
    body: Vec<u8>,
    /// Body bytes already received when the head was decoded.
    early_body_bytes: usize,
    /// A 100 was sent.
    continued: bool,
}

/// One step of the server loop, owned (so the core is free to use again).
enum Step {
    Head(Request),
    Data,
    Complete,
    NeedData,
    Closed,
}

fn serve(tls: &mut TlsStream, requests: &mut u64) -> Result<End, String> {
    let mut conn = ServerConn::new();
    let mut out = Vec::new();
    let mut current: Option<Request> = None;
    loop {
        let step = match conn.next_event() {
            Ok(Event::Request(head)) => Step::Head(Request {
                method: head.method().clone(),
                target: head.target().to_owned(),
                body: Vec::new(),
                early_body_bytes: 0,
                continued: false,
            }),
            Ok(Event::Data(data)) => {
                current
                    .as_mut()
                    .ok_or("body data before a request")?
                    .body
                    .extend_from_slice(data);
                Step::Data
            }
            Ok(Event::End(_)) => Step::Complete,
            Ok(Event::NeedData) => Step::NeedData,
            Ok(Event::Closed) => Step::Closed,
            Ok(other) => return Err(format!("unexpected event {other:?}")),
            Err(e) => return Err(format!("bad request: {e}")),
        };
        match step {
            Step::Data => {}
            Step::Head(mut request) => {
                request.early_body_bytes = conn.buffered();
                if conn.client_waiting_for_continue() && request.target == "/continue" {
                    conn.send_informational(StatusCode::CONTINUE, &HeaderMap::new(), &mut out)
                        .map_err(|e| format!("100: {e}"))?;
                    // Now: the client sends its body only once it has the 100.
                    write_all(tls, &out).map_err(|e| format!("write: {e}"))?;
                    out.clear();
                    request.continued = true;
                }
                current = Some(request);
            }
            Step::Complete => {
                let request = current.take().ok_or("a request end without a request")?;
                *requests += 1;
                if let Some(end) = respond(&mut conn, tls, &request, &mut out)? {
                    return Ok(end);
                }
                if conn.must_close() {
                    write_all(tls, &out).map_err(|e| format!("write: {e}"))?;
                    return Ok(End::Closed);
                }
            }
            Step::NeedData => {
                // Pipelined responses go out together, before waiting for more requests.
                if !out.is_empty() {
                    write_all(tls, &out).map_err(|e| format!("write: {e}"))?;
                    out.clear();
                }
                let space = conn.receive_space(16 * 1024);
                match read_some(tls, space) {
                    Ok(0) => conn.receive_eof(),
                    Ok(n) => conn.receive_commit(n),
                    Err(e) => return Err(format!("read: {e}")),
                }
            }
            Step::Closed => {
                write_all(tls, &out).map_err(|e| format!("write: {e}"))?;
                return Ok(End::ClientClosed);
            }
        }
    }
}

/// Answers one request into `out` (written at once when it is large or ends the
/// connection). `Some` when the connection is over.
fn respond(
    conn: &mut ServerConn,
    tls: &mut TlsStream,
    request: &Request,
    out: &mut Vec<u8>,
) -> Result<Option<End>, String> {
    let io = |e: io::Error| format!("{} {}: {e}", request.method, request.target);
    let proto = |e: pollhttp::proto::Error| format!("{} {}: {e}", request.method, request.target);
    let target = request.target.as_str();

    // Close-delimited bodies, written raw (ServerConn delimits by the close only for an
    // HTTP/1.0 client).
    for (prefix, end) in [("/close/", End::Closed), ("/truncate/", End::Truncated)] {
        let Some(n) = target.strip_prefix(prefix) else {
            continue;
        };
        let n: usize = n.parse().map_err(|_| format!("{target}: not a length"))?;
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n");
        out.extend_from_slice(&pattern(n));
        write_all(tls, out).map_err(io)?;
        out.clear();
        if end == End::Closed {
            tls.send_close_notify();
            flush(tls).map_err(io)?;
        } else {
            // The FIN goes out now; the close_notify the stream sends when dropped then
            // finds the socket shut (EPIPE) and never leaves.
            tls.transport().shutdown_write().map_err(io)?;
        }
        return Ok(Some(end));
    }

    let mut headers = HeaderMap::new();
    let (status, body): (StatusCode, Vec<u8>) = match target {
        "/" => (StatusCode::OK, b"Hello, world!\n".to_vec()),
        "/whoami" => {
            let certs = tls.info().peer_certificates;
            headers.insert("x-peer-certificates", HeaderValue::from(certs.len()));
            let body = certs.first().map(|c| c.to_vec()).unwrap_or_default();
            (StatusCode::OK, body)
        }
        "/continue" => {
            let sent = if request.continued {
                "sent"
            } else {
                "not-sent"
            };
            headers.insert("x-continue", HeaderValue::from_static(sent));
            headers.insert(
                "x-early-body-bytes",
                HeaderValue::from(request.early_body_bytes),
            );
            (StatusCode::OK, request.body.clone())
        }
        _ => {
            if let Some(n) = target.strip_prefix("/big/") {
                let n: u64 = n.parse().map_err(|_| format!("{target}: not a length"))?;
                let framing = conn
                    .send_response(StatusCode::OK, None, &headers, BodyLength::Known(n), out)
                    .map_err(proto)?;
                if framing != Framing::None {
                    let block = pattern_block();
                    let mut left = n as usize;
                    while left > 0 {
                        // Each piece starts at a multiple of 251: the pattern goes on.
                        let piece = &block[..left.min(block.len())];
                        conn.send_data(piece, out).map_err(proto)?;
                        left -= piece.len();
                        if out.len() >= 256 * 1024 {
                            write_all(tls, out).map_err(io)?;
                            out.clear();
                        }
                    }
                    conn.send_end(None, out).map_err(proto)?;
                }
                return Ok(None);
            }
            let doc = target
                .strip_prefix("/d")
                .and_then(|rest| rest.strip_suffix(".html"))
                .and_then(|n| n.parse::<u64>().ok());
            match doc {
                Some(n) => (StatusCode::OK, document(n).into_bytes()),
                None => (StatusCode::NOT_FOUND, b"not found\n".to_vec()),
            }
        }
    };
    let length = BodyLength::Known(body.len() as u64);
    let framing = conn
        .send_response(status, None, &headers, length, out)
        .map_err(proto)?;
    if framing != Framing::None {
        conn.send_data(&body, out).map_err(proto)?;
        conn.send_end(None, out).map_err(proto)?;
    }
    Ok(None)
}

// ---------------------------------------------------------------------------------------
// Our client against our server

/// Mutual authentication: each side sees the other's certificate, and what TLS agreed on.
#[test]
fn mutual_auth() {
    let pki = TestPki::new();
    let server = TlsServer::start(pki.server_tls());
    let mut conn = server.connect(pki.client_tls());

    let info = conn.tls_info().expect("a TLS connection");
    assert_eq!(info.protocol_version, "TLSv1.3");
    assert_eq!(info.cipher_suite, "TLS13_AES_256_GCM_SHA384");
    assert_eq!(info.peer_certificates, vec![der(pki.server_cert_pem())]);
    assert_eq!(info.alpn_protocol.as_deref(), Some(&b"http/1.1"[..]));

    assert_eq!(get_ok(&mut conn, "/"), b"Hello, world!\n");
    assert_eq!(get_ok(&mut conn, "/d42.html"), b"document 42\n");
    let mut response = conn.get("/whoami", HeaderMap::new()).expect("GET /whoami");
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(header(&response.headers, "x-peer-certificates"), "1");
    let body = response.body.read_all().expect("body");
    assert!(
        body == der(pki.client_cert_pem()).as_ref(),
        "/whoami is not our client certificate"
    );
    let mut response = conn
        .get("/missing", HeaderMap::new())
        .expect("GET /missing");
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.body.read_all().expect("body"), b"not found\n");
    assert!(conn.is_reusable());
    drop(conn);

    let report = server.report();
    let seen = report.handshake.expect("the server's handshake");
    assert_eq!(seen.peer_certificates, vec![der(pki.client_cert_pem())]);
    assert_eq!(seen.protocol_version, "TLSv1.3");
    assert_eq!(seen.cipher_suite, info.cipher_suite);
    assert_eq!(seen.alpn_protocol.as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(report.requests, 4);
    assert_eq!(report.end, Ok(End::ClientClosed));
}

/// Without a server name, the client checks the certificate against the IP address it
/// connects to (the test certificate names 127.0.0.1 too).
#[test]
fn server_name_defaults_to_the_ip_address() {
    let pki = TestPki::new();
    let server = TlsServer::start(pki.anonymous_server_tls());
    let client = Client::new(server.addr)
        .with_tls(pki.anonymous_client_tls())
        .with_timeout(Some(WAIT));
    let mut conn = client.connect().expect("connecting to 127.0.0.1");
    assert_eq!(get_ok(&mut conn, "/d1.html"), b"document 1\n");

    // A certificate for localhost only does not name 127.0.0.1.
    let now = SystemTime::now();
    let (cert, key) = pki.issue_server(&["localhost"], now - DAY, now + DAY);
    let server = TlsServer::start(anonymous_server_with(&cert, &key));
    let client = Client::new(server.addr)
        .with_tls(pki.anonymous_client_tls())
        .with_timeout(Some(WAIT));
    let e = certificate_error(fetch(&client, "/"));
    assert!(
        matches!(
            e,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        ),
        "{e:?}"
    );
}

/// Neither side has a certificate to show but the server's.
#[test]
fn anonymous() {
    let pki = TestPki::new();
    let server = TlsServer::start(pki.anonymous_server_tls());
    let mut conn = server.connect(pki.anonymous_client_tls());
    assert_eq!(get_ok(&mut conn, "/"), b"Hello, world!\n");
    let mut response = conn.get("/whoami", HeaderMap::new()).expect("GET /whoami");
    assert_eq!(header(&response.headers, "x-peer-certificates"), "0");
    assert!(response.body.read_all().expect("body").is_empty());
    let info = conn.tls_info().expect("TLS");
    assert_eq!(info.peer_certificates, vec![der(pki.server_cert_pem())]);
    drop(conn);
    let seen = server.report().handshake.expect("the server's handshake");
    assert!(seen.peer_certificates.is_empty());

    // A client with a certificate, to a server that asks for none, shows none.
    let mut conn = server.connect(pki.client_tls());
    let mut response = conn.get("/whoami", HeaderMap::new()).expect("GET /whoami");
    assert_eq!(header(&response.headers, "x-peer-certificates"), "0");
    assert!(response.body.read_all().expect("body").is_empty());
}

/// A server that requires a client certificate, and a client without one: in TLS 1.3 the
/// client's part of the handshake is over before the server decides, so the client sees
/// the server's alert on its first read.
#[test]
fn client_certificate_required_and_missing() {
    let pki = TestPki::new();
    let server = TlsServer::start(pki.server_tls());
    let e = rustls_error(fetch(&server.client(pki.anonymous_client_tls()), "/"));
    assert_eq!(
        e,
        RustlsError::AlertReceived(AlertDescription::CertificateRequired)
    );
    let report = server.report();
    match report.handshake {
        Err(e) => match TlsError::from_io(&e) {
            Some(TlsError::Protocol(RustlsError::NoCertificatesPresented)) => {}
            _ => panic!("the server's handshake: {e:?}"),
        },
        Ok(info) => panic!("the server accepted a client without a certificate: {info:?}"),
    }

    // A client certificate from another CA is refused too.
    let other = TestPki::new();
    let tls = ClientTls::builder()
        .ca_pem(pki.ca_pem().as_bytes())
        .client_cert_pem(
            other.client_cert_pem().as_bytes(),
            other.client_key_pem().as_bytes(),
        )
        .build()
        .expect("client configuration");
    let e = rustls_error(fetch(&server.client(tls), "/"));
    assert_eq!(e, RustlsError::AlertReceived(AlertDescription::UnknownCA));
}

/// The client trusts another CA.
#[test]
fn wrong_ca() {
    let pki = TestPki::new();
    let other = TestPki::new();
    let server = TlsServer::start(pki.anonymous_server_tls());
    let result = server.client(other.anonymous_client_tls()).connect();
    assert_eq!(
        certificate_error(result.map(|_| ())),
        CertificateError::UnknownIssuer
    );
    // The server hears why.
    let e = server
        .report()
        .handshake
        .expect_err("the server's handshake");
    match TlsError::from_io(&e) {
        Some(TlsError::Protocol(RustlsError::AlertReceived(AlertDescription::UnknownCA))) => {}
        _ => panic!("the server's handshake: {e:?}"),
    }
}

/// A certificate for other.example, the client connecting to localhost; and the same
/// accepted with `check_hostname(false)` and the CA.
#[test]
fn hostname_mismatch_and_check_hostname_off() {
    let pki = TestPki::new();
    let (cert, key) = other_name_cert(&pki);
    let server = TlsServer::start(anonymous_server_with(&cert, &key));
    let e = certificate_error(
        server
            .client(pki.anonymous_client_tls())
            .connect()
            .map(|_| ()),
    );
    assert!(
        matches!(
            e,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        ),
        "{e:?}"
    );

    let lax = ClientTls::builder()
        .ca_pem(pki.ca_pem().as_bytes())
        .check_hostname(false)
        .build()
        .expect("check_hostname(false) with a CA");
    let mut conn = server.connect(lax.clone());
    assert_eq!(get_ok(&mut conn, "/d3.html"), b"document 3\n");
    let info = conn.tls_info().expect("TLS");
    assert_eq!(info.peer_certificates, vec![der(&cert)]);

    // Without the name check the chain is still verified: another CA's is refused.
    let other = TestPki::new();
    let (cert, key) = other_name_cert(&other);
    let server = TlsServer::start(anonymous_server_with(&cert, &key));
    let result = server.client(lax).connect();
    assert_eq!(
        certificate_error(result.map(|_| ())),
        CertificateError::UnknownIssuer
    );
}

#[test]
fn expired_server_certificate() {
    let pki = TestPki::new();
    let (cert, key) = expired_cert(&pki);
    let server = TlsServer::start(anonymous_server_with(&cert, &key));
    let e = certificate_error(
        server
            .client(pki.anonymous_client_tls())
            .connect()
            .map(|_| ()),
    );
    assert!(
        matches!(
            e,
            CertificateError::Expired | CertificateError::ExpiredContext { .. }
        ),
        "{e:?}"
    );
}

/// 1,000 requests sent before any response is read, then the 1,000 responses in order.
#[test]
fn pipelined_send_then_read() {
    let pki = TestPki::new();
    let server = TlsServer::start(pki.server_tls());
    let mut conn = server.connect(pki.client_tls());
    for i in 0..1000u64 {
        conn.send_request(
            Method::GET,
            &format!("/d{}.html", i % 100 + 1),
            HeaderMap::new(),
            (),
        )
        .unwrap_or_else(|e| panic!("send_request {i}: {e}"));
    }
    for i in 0..1000u64 {
        assert!(conn.response_pending());
        let head = conn
            .read_response()
            .unwrap_or_else(|e| panic!("read_response {i}: {e}"));
        assert_eq!(head.status, StatusCode::OK, "response {i}");
        let body = conn.read_all().expect("read_all");
        assert_eq!(body, document(i % 100 + 1).as_bytes(), "response {i}");
    }
    assert!(!conn.response_pending());
    assert!(conn.is_reusable());
    drop(conn);
    assert_eq!(server.report().requests, 1000);
}

/// The crawl pattern through the operations over TLS: `n` GETs queued with
/// `queue_request`, at most `depth` in flight, written by `Flush` while `ReadResponse` and
/// `Discard` read the responses, all resumed from one loop that waits on what they need.
/// Returns the number of 200 responses (each checked: its length, all of it discarded).
fn op_crawl(addr: SocketAddr, tls: ClientTls, n: u64, depth: usize) -> u64 {
    let mut connect = Connect::new(vec![Address::from(addr)]).tls(tls, "localhost");
    let mut stream = pollhttp::blocking::run(Some(WAIT), || connect.resume()).expect("connecting");
    assert!(stream.tls_info().is_some());
    let mut hdrs = HeaderMap::new();
    hdrs.insert(HOST, HeaderValue::from_static("localhost"));
    let targets: Vec<String> = (1..=100).map(|i| format!("/d{i}.html")).collect();

    enum Step {
        Head(ReadResponse),
        Body(Discard, u64),
    }
    let (mut queued, mut done, mut ok) = (0u64, 0u64, 0u64);
    let mut flush: Option<Flush> = None;
    let mut step = Step::Head(ReadResponse::new());
    let refill = |pending: usize, queued: u64| queued < n && pending + 64 <= depth;
    while done < n {
        let before = queued;
        while queued < n && stream.responses_pending() < depth {
            let target = &targets[(queued % 100) as usize];
            let framing = stream
                .queue_request(&Method::GET, target, &hdrs, BodyLength::None)
                .expect("queue_request");
            assert_eq!(framing, Framing::None);
            queued += 1;
        }
        if queued > before && flush.is_none() {
            flush = Some(Flush::new());
        }
        let mut wait: Option<Interest> = None;
        let mut want = |need: PollNeeded| {
            wait = Some(wait.map_or(need.interest, |w| w | need.interest));
        };
        if let Some(op) = &mut flush {
            match op.resume(&mut stream).expect("flush") {
                Progress::Ready(()) => flush = None,
                Progress::Pending(need) => want(need),
            }
        }
        loop {
            match &mut step {
                Step::Head(op) => match op
                    .resume(&mut stream)
                    .unwrap_or_else(|e| panic!("response {done}: {e}"))
                {
                    Progress::Pending(need) => {
                        want(need);
                        break;
                    }
                    Progress::Ready(head) => {
                        assert_eq!(head.status(), 200, "response {done}");
                        let length = document(done % 100 + 1).len() as u64;
                        assert_eq!(
                            head.headers().get("content-length"),
                            Some(length.to_string().as_bytes()),
                            "response {done}"
                        );
                        step = Step::Body(Discard::new(), length);
                    }
                },
                Step::Body(op, length) => match op
                    .resume(&mut stream)
                    .unwrap_or_else(|e| panic!("body {done}: {e}"))
                {
                    Progress::Pending(need) => {
                        want(need);
                        break;
                    }
                    Progress::Ready(k) => {
                        assert_eq!(k, *length, "body {done}");
                        ok += 1;
                        done += 1;
                        step = Step::Head(ReadResponse::new());
                    }
                },
            }
            if done == n || refill(stream.responses_pending(), queued) {
                break;
            }
        }
        if done == n || refill(stream.responses_pending(), queued) {
            continue;
        }
        let interest = wait.expect("nothing to wait for, yet not done");
        let need = PollNeeded {
            fd: stream.as_raw_fd(),
            interest,
        };
        assert!(
            need.wait(Some(WAIT)).expect("poll"),
            "stalled after {done} of {n} responses ({queued} queued), waiting for {interest:?}"
        );
    }
    assert_eq!(stream.responses_pending(), 0);
    assert!(stream.is_reusable());
    ok
}

#[test]
fn op_crawl_depth_256() {
    let pki = TestPki::new();
    let server = TlsServer::start(pki.server_tls());
    assert_eq!(op_crawl(server.addr, pki.client_tls(), 20_000, 256), 20_000);
    assert_eq!(server.report().requests, 20_000);
}

/// `request()` with `expect: 100-continue` and a body: the body goes after the 100.
#[test]
fn expect_100_continue() {
    let pki = TestPki::new();
    let server = TlsServer::start(pki.server_tls());
    let mut conn = server.connect(pki.client_tls());
    let sent = pattern(300_000);
    for round in 0..2 {
        let mut headers = HeaderMap::new();
        headers.insert(EXPECT, HeaderValue::from_static("100-continue"));
        let mut response = conn
            .request(Method::POST, "/continue", headers, &sent[..])
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(header(&response.headers, "x-continue"), "sent");
        assert_eq!(header(&response.headers, "x-early-body-bytes"), "0");
        let body = response.body.read_all().expect("echo");
        assert!(body == sent, "round {round}: the echo differs");
    }
    assert!(conn.is_reusable());
    assert_eq!(get_ok(&mut conn, "/d9.html"), b"document 9\n");
}

/// What a raw TLS client reads for `request`: the bytes, and how the stream ended (`Ok`:
/// `close_notify`; the error otherwise).
fn raw_exchange(addr: SocketAddr, tls: &ClientTls, request: &[u8]) -> (Vec<u8>, io::Result<()>) {
    let tcp = TcpStream::connect(addr).expect("connecting");
    let transport = Transport::from_tcp(tcp).expect("transport");
    let handshake = Handshake::client(transport, tls, "localhost").expect("handshake");
    let mut stream = complete(handshake).expect("the handshake");
    write_all(&mut stream, request).expect("writing the request");
    let mut got = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match read_some(&mut stream, &mut buf) {
            Ok(0) => return (got, Ok(())),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => return (got, Err(e)),
        }
    }
}

/// On the wire: `/close/N` ends with `close_notify`, `/truncate/N` with a TCP close
/// without one (what the next tests rely on).
#[test]
fn the_server_closes_with_or_without_close_notify() {
    let pki = TestPki::new();
    let server = TlsServer::start(pki.server_tls());
    let tls = pki.client_tls();
    let head = b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n";
    for n in [0usize, 5000] {
        let mut expected = head.to_vec();
        expected.extend(pattern(n));

        let request = format!("GET /close/{n} HTTP/1.1\r\nhost: localhost\r\n\r\n");
        let (got, end) = raw_exchange(server.addr, &tls, request.as_bytes());
        assert!(got == expected, "/close/{n}: {} bytes", got.len());
        assert!(
            end.is_ok(),
            "/close/{n} did not end with close_notify: {end:?}"
        );
        assert_eq!(server.report().end, Ok(End::Closed));

        let request = format!("GET /truncate/{n} HTTP/1.1\r\nhost: localhost\r\n\r\n");
        let (got, end) = raw_exchange(server.addr, &tls, request.as_bytes());
        assert!(got == expected, "/truncate/{n}: {} bytes", got.len());
        let e = end.expect_err("/truncate/{n} ended with close_notify");
        assert_eq!(e.kind(), ErrorKind::UnexpectedEof, "/truncate/{n}: {e:?}");
        assert_eq!(server.report().end, Ok(End::Truncated));
    }
}

/// A body delimited by the close that ends with `close_notify` reads whole.
#[test]
fn close_delimited_body_with_close_notify() {
    let pki = TestPki::new();
    let server = TlsServer::start(pki.server_tls());
    let client = server.client(pki.client_tls());
    for n in [0usize, 1, 100_000, 1_000_000] {
        let mut conn = client.connect().expect("connecting");
        let mut response = conn
            .get(&format!("/close/{n}"), HeaderMap::new())
            .expect("GET");
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.body.framing(), Framing::UntilClose, "/close/{n}");
        let body = response
            .body
            .read_all()
            .unwrap_or_else(|e| panic!("/close/{n}: {e}"));
        assert_eq!(body.len(), n, "/close/{n}");
        assert!(body == pattern(n), "/close/{n}: wrong bytes");
        assert!(!conn.is_reusable());
        // At the end, and after it.
        assert_eq!(conn.read_into(&mut [0; 16]).expect("after the end"), 0);
    }
}

/// The truncation rule: a close-delimited body whose connection ends without
/// `close_notify` is `ConnectionClosed`, never a short `Ok`.
#[test]
fn truncated_body_is_connection_closed() {
    let pki = TestPki::new();
    let server = TlsServer::start(pki.server_tls());
    let client = server.client(pki.client_tls());
    for n in [0usize, 1, 100_000, 1_000_000] {
        let mut conn = client.connect().expect("connecting");
        let mut response = conn
            .get(&format!("/truncate/{n}"), HeaderMap::new())
            .expect("GET");
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.body.framing(), Framing::UntilClose);
        match response.body.read_all() {
            Err(Error::ConnectionClosed { .. }) => {}
            other => panic!("/truncate/{n}: read_all gave {other:?}"),
        }
        drop(response);

        // read_into: every byte sent, then the error (never 0).
        let mut conn = client.connect().expect("connecting");
        let response = conn
            .get(&format!("/truncate/{n}"), HeaderMap::new())
            .expect("GET");
        drop(response);
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0;
        let error = loop {
            match conn.read_into(&mut buf) {
                Ok(0) => panic!("/truncate/{n}: a clean end after {total} bytes"),
                Ok(k) => total += k,
                Err(e) => break e,
            }
        };
        assert_eq!(total, n, "/truncate/{n}: bytes before the error");
        assert!(
            matches!(error, Error::ConnectionClosed { .. }),
            "/truncate/{n}: {error:?}"
        );
        // Sticky.
        assert!(matches!(
            conn.read_into(&mut buf),
            Err(Error::ConnectionClosed { .. })
        ));
        assert!(!conn.is_reusable());
    }
}

/// 10 MB through `read_into` with a 256 KiB buffer, byte-exact, then the connection goes
/// on.
#[test]
fn ten_megabytes_through_read_into() {
    const N: usize = 10_000_000;
    const PIECE: usize = 256 * 1024;
    let pki = TestPki::new();
    let server = TlsServer::start(pki.server_tls());
    let mut conn = server.connect(pki.client_tls());
    let response = conn
        .get(&format!("/big/{N}"), HeaderMap::new())
        .expect("GET");
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body.framing(), Framing::Length(N as u64));
    drop(response);
    let block = pattern_block();
    let mut buf = vec![0xa5u8; PIECE];
    let (mut total, mut reads) = (0usize, 0u64);
    let start = Instant::now();
    loop {
        let n = conn
            .read_into(&mut buf)
            .unwrap_or_else(|e| panic!("after {total} bytes: {e}"));
        if n == 0 {
            break;
        }
        let offset = total % 251;
        assert!(
            buf[..n] == block[offset..offset + n],
            "wrong bytes in {total}..{}",
            total + n
        );
        buf[..n].fill(0xa5);
        total += n;
        reads += 1;
    }
    let _ = writeln!(
        io::stderr(),
        "ten_megabytes_through_read_into: {total} bytes in {:.2} s ({reads} reads)",
        start.elapsed().as_secs_f64()
    );
    assert_eq!(total, N);
    assert_eq!(conn.read_into(&mut buf).expect("after the end"), 0);
    assert!(conn.is_reusable());
    assert_eq!(get_ok(&mut conn, "/d2.html"), b"document 2\n");
}

// ---------------------------------------------------------------------------------------
// Peers: the convention of tests/interop.rs

/// True when the test must skip: `POLLHTTP_PEERS` is not set. Prints a notice straight to
/// stderr (past the test harness's capture) so it shows.
fn skip() -> bool {
    if std::env::var_os("POLLHTTP_PEERS").is_some_and(|v| !v.is_empty() && v != "0") {
        return false;
    }
    let name = thread::current().name().unwrap_or("tls").to_owned();
    let _ = writeln!(
        io::stderr(),
        "{name}: skipped: POLLHTTP_PEERS is not set (eval \"$(tests/peers/setup.sh)\" first)"
    );
    true
}

/// A port free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// A private nginx with TLS only (`tests/peers/nginx.sh start - DIR` with `TLS_*`),
/// stopped and its folder (certificates included) removed on drop.
struct Nginx {
    dir: PathBuf,
    port: u16,
    files: PkiFiles,
}

impl Nginx {
    /// nginx with `pki`'s server certificate, or `cert` (PEM certificate and key) instead;
    /// requiring client certificates from `pki`'s CA if `verify_clients`.
    fn start(pki: &TestPki, cert: Option<&(String, String)>, verify_clients: bool) -> Self {
        // The guard exists before nginx does, so a panic below still stops it.
        let dir = unique_path("nginx");
        let files = pki
            .write_files(&dir.join("pki"))
            .expect("writing the PKI files");
        let mut nginx = Self {
            dir,
            port: 0,
            files,
        };
        let (cert_file, key_file) = match cert {
            None => (
                nginx.files.server_cert.clone(),
                nginx.files.server_key.clone(),
            ),
            Some((cert, key)) => {
                let (c, k) = (nginx.dir.join("pki/alt.pem"), nginx.dir.join("pki/alt.key"));
                fs::write(&c, cert).expect("writing the certificate");
                fs::write(&k, key).expect("writing the key");
                (c, k)
            }
        };
        let mut last = String::new();
        // Another process may take the port between free_port and nginx's bind: try again.
        for _ in 0..5 {
            let port = free_port();
            let mut command = Command::new(Path::new(ROOT).join("tests/peers/nginx.sh"));
            command
                .args(["start", "-"])
                .arg(&nginx.dir)
                .env("TLS_PORT", port.to_string())
                .env("TLS_CERT", &cert_file)
                .env("TLS_KEY", &key_file)
                .env_remove("TLS_CLIENT_CA")
                .stdin(Stdio::null());
            if verify_clients {
                command.env("TLS_CLIENT_CA", &nginx.files.ca);
            }
            let out = command.output().expect("running tests/peers/nginx.sh");
            if out.status.success() {
                nginx.port = port;
                return nginx;
            }
            last = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        panic!("POLLHTTP_PEERS is set but nginx does not start with TLS: {last}");
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    fn client(&self, tls: ClientTls) -> Client {
        Client::new(self.addr())
            .with_tls(tls)
            .with_server_name("localhost")
            .with_timeout(Some(WAIT))
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new(Path::new(ROOT).join("tests/peers/nginx.sh"))
            .arg("stop")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .output();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------------------
// nginx with TLS

/// `ssl_verify_client on`: a client certificate gets the documents; no certificate, or
/// one from another CA, gets nginx's 400 over a completed handshake.
#[test]
fn nginx_mutual_auth() {
    if skip() {
        return;
    }
    let pki = TestPki::new();
    let nginx = Nginx::start(&pki, None, true);

    let mut conn = nginx
        .client(pki.client_tls())
        .connect()
        .expect("connecting");
    let info = conn.tls_info().expect("TLS");
    assert_eq!(info.protocol_version, "TLSv1.3");
    assert!(info.cipher_suite.starts_with("TLS13_"), "{info:?}");
    assert_eq!(info.peer_certificates, vec![der(pki.server_cert_pem())]);
    assert_eq!(info.alpn_protocol.as_deref(), Some(&b"http/1.1"[..]));
    for i in 0..100u64 {
        let n = i % 100 + 1;
        assert_eq!(
            get_ok(&mut conn, &format!("/d{n}.html")),
            document(n).as_bytes()
        );
    }
    assert!(conn.is_reusable());
    drop(conn);

    for (what, tls) in [
        ("no client certificate", pki.anonymous_client_tls()),
        ("a client certificate from another CA", {
            let other = TestPki::new();
            ClientTls::builder()
                .ca_pem(pki.ca_pem().as_bytes())
                .client_cert_pem(
                    other.client_cert_pem().as_bytes(),
                    other.client_key_pem().as_bytes(),
                )
                .build()
                .expect("client configuration")
        }),
    ] {
        let mut conn = nginx.client(tls).connect().expect("connecting");
        let mut response = conn
            .get("/d1.html", HeaderMap::new())
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{what}");
        let body = response.body.read_all().expect("body");
        let body = String::from_utf8_lossy(&body);
        let why = if what.starts_with("no") {
            "400 No required SSL certificate was sent"
        } else {
            "400 The SSL certificate error"
        };
        assert!(body.contains(why), "{what}: {body}");
        assert_eq!(header(&response.headers, "connection"), "close", "{what}");
        drop(response);
        assert!(!conn.is_reusable(), "{what}");
    }
}

/// No client CA: any client gets the documents.
#[test]
fn nginx_anonymous_server() {
    if skip() {
        return;
    }
    let pki = TestPki::new();
    let nginx = Nginx::start(&pki, None, false);
    for tls in [pki.anonymous_client_tls(), pki.client_tls()] {
        let mut conn = nginx.client(tls).connect().expect("connecting");
        assert_eq!(get_ok(&mut conn, "/index.html"), b"pollhttp peers nginx\n");
        assert_eq!(get_ok(&mut conn, "/d5.html"), b"document 5\n");
    }
    // By IP address: the certificate names 127.0.0.1 too.
    let client = Client::new(nginx.addr())
        .with_tls(pki.anonymous_client_tls())
        .with_timeout(Some(WAIT));
    let (status, body) = fetch(&client, "/d6.html").expect("GET by IP address");
    assert_eq!(
        (status, body.as_slice()),
        (StatusCode::OK, &b"document 6\n"[..])
    );
    // A 1 MiB body, byte-exact.
    let mut conn = nginx
        .client(pki.anonymous_client_tls())
        .connect()
        .expect("connecting");
    let body = get_ok(&mut conn, "/1m.bin");
    assert!(body == pattern(1 << 20), "/1m.bin is not the pattern");
}

#[test]
fn nginx_wrong_ca() {
    if skip() {
        return;
    }
    let pki = TestPki::new();
    let nginx = Nginx::start(&pki, None, false);
    let other = TestPki::new();
    let result = nginx.client(other.anonymous_client_tls()).connect();
    assert_eq!(
        certificate_error(result.map(|_| ())),
        CertificateError::UnknownIssuer
    );
}

#[test]
fn nginx_hostname_mismatch() {
    if skip() {
        return;
    }
    let pki = TestPki::new();
    let cert = other_name_cert(&pki);
    let nginx = Nginx::start(&pki, Some(&cert), false);
    let e = certificate_error(
        nginx
            .client(pki.anonymous_client_tls())
            .connect()
            .map(|_| ()),
    );
    assert!(
        matches!(
            e,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        ),
        "{e:?}"
    );
    // The chain is good: without the name check, the documents.
    let lax = ClientTls::builder()
        .ca_file(&nginx.files.ca)
        .check_hostname(false)
        .build()
        .expect("check_hostname(false)");
    let (status, body) = fetch(&nginx.client(lax), "/d1.html").expect("GET without the check");
    assert_eq!(
        (status, body.as_slice()),
        (StatusCode::OK, &b"document 1\n"[..])
    );
}

#[test]
fn nginx_expired_certificate() {
    if skip() {
        return;
    }
    let pki = TestPki::new();
    let cert = expired_cert(&pki);
    let nginx = Nginx::start(&pki, Some(&cert), false);
    let e = certificate_error(
        nginx
            .client(pki.anonymous_client_tls())
            .connect()
            .map(|_| ()),
    );
    assert!(
        matches!(
            e,
            CertificateError::Expired | CertificateError::ExpiredContext { .. }
        ),
        "{e:?}"
    );
}

/// The crawl example over TLS, HEAD then GET, 100,000 pipelined requests each.
#[test]
fn nginx_crawl_example() {
    if skip() {
        return;
    }
    let pki = TestPki::new();
    let nginx = Nginx::start(&pki, None, false);
    let url = nginx.url("/");
    let ca = path_str(&nginx.files.ca);
    for method in ["HEAD", "GET"] {
        let run = run_example(
            "crawl",
            &[&url, "--cacert", ca, "--n", "100000", "--method", method],
        );
        run.assert_success(&format!("crawl --method {method}"));
        let line = run.last_line();
        assert!(
            line.starts_with("crawl: 100000 ok of 100000 in ") && line.ends_with(" req/s"),
            "crawl --method {method}: last line {line:?}; stderr: {}",
            run.stderr
        );
    }
}

/// The get example with https://, --cacert, and --cert/--key, against mutual
/// authentication.
#[test]
fn nginx_get_example() {
    if skip() {
        return;
    }
    let pki = TestPki::new();
    let nginx = Nginx::start(&pki, None, true);
    let files = &nginx.files;
    let url = nginx.url("/d7.html");
    let (ca, cert, key) = (
        path_str(&files.ca),
        path_str(&files.client_cert),
        path_str(&files.client_key),
    );

    let run = run_example("get", &["--cacert", ca, "--cert", cert, "--key", key, &url]);
    run.assert_success("get --cert");
    assert_eq!(run.stdout, b"document 7\n");
    assert!(
        run.stderr.starts_with("HTTP/1.1 200 OK\n"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("\nserver: nginx"), "{}", run.stderr);

    // Without a certificate: nginx's 400 is an HTTP response, so exit status 0.
    let run = run_example("get", &["--cacert", ca, &url]);
    run.assert_success("get without --cert");
    assert!(
        run.stderr.starts_with("HTTP/1.1 400 Bad Request\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout_text()
            .contains("400 No required SSL certificate was sent"),
        "{}",
        run.stdout_text()
    );

    // Another CA: no response, non-zero, one line.
    let other = TestPki::new();
    let other_files = other
        .write_files(&nginx.dir.join("other"))
        .expect("writing the other PKI");
    let run = run_example("get", &["--cacert", path_str(&other_files.ca), &url]);
    assert!(!run.status.success(), "get trusted the wrong CA");
    assert!(
        run.stderr.starts_with("get: connecting: ") && run.stderr.contains("UnknownIssuer"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

// ---------------------------------------------------------------------------------------
// curl and Python's ssl against our server

/// The client chain an OpenSSL client (curl, Python) sent, as the server saw it: the
/// client certificate first; OpenSSL completes the chain from its trust store, so the CA
/// may follow (and nothing else).
#[track_caller]
fn assert_openssl_client_chain(seen: &TlsInfo, pki: &TestPki) {
    let chain = &seen.peer_certificates;
    assert_eq!(
        chain.first(),
        Some(&der(pki.client_cert_pem())),
        "the leaf of {} certificate(s)",
        chain.len()
    );
    assert!(
        chain[1..].iter().all(|c| *c == pki.ca_der()) && chain.len() <= 2,
        "{} certificates after the leaf, not just the CA",
        chain.len() - 1
    );
}

fn curl(args: &[&str]) -> Run {
    run(Command::new("curl").args(args), "curl")
}

#[test]
fn curl_against_our_server() {
    if skip() {
        return;
    }
    let pki = TestPki::new();
    let dir = TempDir::new("curl");
    let files = pki.write_files(&dir.0).expect("writing the PKI files");
    let (ca, cert, key) = (
        path_str(&files.ca),
        path_str(&files.client_cert),
        path_str(&files.client_key),
    );

    let server = TlsServer::start(pki.anonymous_server_tls());
    let port = server.port();
    let resolve = format!("localhost:{port}:127.0.0.1");
    let url = |path: &str| format!("https://localhost:{port}{path}");
    let common = ["-sS", "--max-time", "20", "--resolve", &resolve];

    let run = curl(&[&common[..], &["--cacert", ca, &url("/d1.html")]].concat());
    run.assert_success("curl --cacert");
    assert_eq!(run.stdout, b"document 1\n");
    let report = server.report();
    assert_eq!(report.requests, 1);
    assert_eq!(report.end, Ok(End::ClientClosed));

    // Two requests on one connection, and a close-delimited body ending in close_notify.
    let run = curl(
        &[
            &common[..],
            &["--cacert", ca, &url("/"), &url("/close/3000")],
        ]
        .concat(),
    );
    run.assert_success("curl, two URLs");
    let mut expected = b"Hello, world!\n".to_vec();
    expected.extend(pattern(3000));
    assert!(run.stdout == expected, "{} bytes", run.stdout.len());
    assert_eq!(
        server.report().requests,
        2,
        "curl did not reuse the connection"
    );

    // Mutual authentication.
    let server = TlsServer::start(pki.server_tls());
    let port = server.port();
    let resolve = format!("localhost:{port}:127.0.0.1");
    let url = |path: &str| format!("https://localhost:{port}{path}");
    let common = ["-sS", "--max-time", "20", "--resolve", &resolve];
    let run = curl(
        &[
            &common[..],
            &[
                "--cacert",
                ca,
                "--cert",
                cert,
                "--key",
                key,
                &url("/whoami"),
            ],
        ]
        .concat(),
    );
    run.assert_success("curl --cert");
    assert!(
        run.stdout == der(pki.client_cert_pem()).as_ref(),
        "/whoami is not the client certificate"
    );
    let seen = server.report().handshake.expect("handshake");
    assert_openssl_client_chain(&seen, &pki);

    let run = curl(&[&common[..], &["--cacert", ca, &url("/whoami")]].concat());
    assert!(
        !run.status.success(),
        "curl without a certificate succeeded: {}",
        run.stdout_text()
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout_text());
    let e = server
        .report()
        .handshake
        .expect_err("the server's handshake");
    assert!(
        matches!(
            TlsError::from_io(&e),
            Some(TlsError::Protocol(RustlsError::NoCertificatesPresented))
        ),
        "{e:?}"
    );

    // And curl refuses our server when it trusts another CA.
    let other = TestPki::new();
    let other_files = other
        .write_files(&dir.0.join("other"))
        .expect("writing the other PKI");
    let run = curl(
        &[
            &common[..],
            &["--cacert", path_str(&other_files.ca), &url("/")],
        ]
        .concat(),
    );
    assert!(!run.status.success(), "curl trusted the wrong CA");
    assert_eq!(run.status.code(), Some(60), "{}", run.stderr);
}

/// Python's `ssl` and `http.client`: GET with the CA, and with a client certificate.
const PYTHON_CLIENT: &str = r#"
import http.client, ssl, sys
port, ca, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
if len(sys.argv) > 4:
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=20)
conn.request("GET", path)
r = conn.getresponse()
body = r.read()
print(r.status, conn.sock.version(), body.hex())
conn.request("GET", "/d2.html")
r = conn.getresponse()
print(r.status, r.read().hex())
conn.close()
"#;

fn python(args: &[&str]) -> Run {
    let python = std::env::var_os("POLLHTTP_PEERS_PYTHON").unwrap_or_else(|| "python3".into());
    run(
        Command::new(&python)
            .arg("-c")
            .arg(PYTHON_CLIENT)
            .args(args),
        &format!("{python:?}"),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn python_against_our_server() {
    if skip() {
        return;
    }
    let pki = TestPki::new();
    let dir = TempDir::new("python");
    let files = pki.write_files(&dir.0).expect("writing the PKI files");
    let (ca, cert, key) = (
        path_str(&files.ca),
        path_str(&files.client_cert),
        path_str(&files.client_key),
    );
    let doc2 = format!("200 {}", hex(b"document 2\n"));

    let server = TlsServer::start(pki.anonymous_server_tls());
    let port = server.port().to_string();
    let run = python(&[&port, ca, "/"]);
    run.assert_success("python GET /");
    let out = run.stdout_text();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            format!("200 TLSv1.3 {}", hex(b"Hello, world!\n")).as_str(),
            &doc2
        ],
        "{}",
        run.stderr
    );
    let report = server.report();
    assert_eq!(report.requests, 2);
    assert!(report
        .handshake
        .expect("handshake")
        .peer_certificates
        .is_empty());

    // Mutual authentication: the server sees Python's certificate.
    let server = TlsServer::start(pki.server_tls());
    let port = server.port().to_string();
    let run = python(&[&port, ca, "/whoami", cert, key]);
    run.assert_success("python with load_cert_chain");
    let out = run.stdout_text();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            format!("200 TLSv1.3 {}", hex(der(pki.client_cert_pem()).as_ref())).as_str(),
            &doc2
        ],
        "{}",
        run.stderr
    );
    let seen = server.report().handshake.expect("handshake");
    assert_openssl_client_chain(&seen, &pki);

    // Without its certificate Python fails, with the server's alert.
    let run = python(&[&port, ca, "/whoami"]);
    assert!(
        !run.status.success(),
        "python without a certificate: {}",
        run.stdout_text()
    );
    assert!(
        run.stderr.contains("CERTIFICATE_REQUIRED") || run.stderr.contains("certificate required"),
        "{}",
        run.stderr
    );
    assert!(server.report().handshake.is_err());
}
