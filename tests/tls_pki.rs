//! The test PKI (`pollhttp::testing::TestPki`, feature `testing`) against the TLS layer:
//! real handshakes over socket pairs and TCP, both ends driven in one thread by their
//! `PollNeeded`, then the certificates that must be refused, and the files for other tools.
//!
//! Run with `cargo test --features testing --test tls_pki`.

#![cfg(feature = "testing")]

use std::fs;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use pollhttp::io::Transport;
use pollhttp::testing::{PkiFiles, TestPki};
use pollhttp::tls::rustls::pki_types::pem::PemObject;
use pollhttp::tls::rustls::{AlertDescription, CertificateError, Error as RustlsError};
use pollhttp::tls::{CertificateDer, ClientTls, Handshake, ServerTls, TlsError, TlsStream};
use pollhttp::{PollNeeded, Progress};

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// A handshake in progress, or its outcome.
enum Side {
    Running(Handshake, Option<PollNeeded>),
    Done(io::Result<TlsStream>),
}

/// Whether the socket is ready for what `need` waits for, right now.
fn ready(need: &PollNeeded) -> bool {
    need.wait(Some(Duration::ZERO)).expect("poll")
}

/// Drives both handshakes as an event loop would: each is resumed first once, then only
/// when its socket is ready for what it asked. Neither being ready while one is unfinished
/// is a stall (a wrong interest). Gives the client's outcome, then the server's.
fn drive(client: Handshake, server: Handshake) -> (io::Result<TlsStream>, io::Result<TlsStream>) {
    let mut sides = [Side::Running(client, None), Side::Running(server, None)];
    for _round in 0..1000 {
        let mut resumed = false;
        for side in &mut sides {
            let Side::Running(handshake, need) = side else {
                continue;
            };
            if need.as_ref().is_some_and(|need| !ready(need)) {
                continue;
            }
            resumed = true;
            let done = match handshake.resume() {
                Ok(Progress::Pending(next)) => {
                    *need = Some(next);
                    None
                }
                Ok(Progress::Ready(stream)) => Some(Ok(stream)),
                Err(e) => Some(Err(e)),
            };
            if let Some(done) = done {
                *side = Side::Done(done);
            }
        }
        if let [Side::Done(_), Side::Done(_)] = &sides {
            let [Side::Done(client), Side::Done(server)] = sides else {
                unreachable!()
            };
            return (client, server);
        }
        if !resumed {
            let waits: Vec<_> = sides
                .iter()
                .map(|side| match side {
                    Side::Running(_, need) => format!("waits for {need:?}"),
                    Side::Done(r) => format!("done ({})", if r.is_ok() { "ok" } else { "error" }),
                })
                .collect();
            panic!(
                "handshake stalled: client {}, server {}",
                waits[0], waits[1]
            );
        }
    }
    panic!("the handshakes never finished");
}

/// Both handshakes over a fresh socket pair, the client connecting as `name`.
fn handshake(
    client: &ClientTls,
    server: &ServerTls,
    name: &str,
) -> (io::Result<TlsStream>, io::Result<TlsStream>) {
    let (a, b) = Transport::pair().expect("socket pair");
    drive(
        Handshake::client(a, client, name).expect("client handshake"),
        Handshake::server(b, server).expect("server handshake"),
    )
}

/// Both handshakes, which must succeed.
fn connected(client: &ClientTls, server: &ServerTls, name: &str) -> (TlsStream, TlsStream) {
    match handshake(client, server, name) {
        (Ok(c), Ok(s)) => (c, s),
        (c, s) => panic!(
            "handshake failed: client {:?}, server {:?}",
            c.err(),
            s.err()
        ),
    }
}

/// The rustls error inside an error from a handshake or a stream.
fn rustls_error(e: &io::Error) -> &RustlsError {
    match TlsError::from_io(e) {
        Some(TlsError::Protocol(tls)) => tls,
        _ => panic!("not a TLS protocol error: {e:?}"),
    }
}

/// The certificate error inside an error from a handshake.
fn certificate_error(e: &io::Error) -> &CertificateError {
    match rustls_error(e) {
        RustlsError::InvalidCertificate(cert) => cert,
        other => panic!("not a certificate error: {other:?}"),
    }
}

/// Reads from a stream until something other than `WouldBlock`, waiting on its `need()`.
fn read_outcome(stream: &mut TlsStream, buf: &mut [u8]) -> io::Result<usize> {
    for _ in 0..1000 {
        match stream.read(buf) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                let need = PollNeeded {
                    fd: std::os::fd::AsRawFd::as_raw_fd(stream),
                    interest: stream.need(),
                };
                assert!(
                    need.wait(Some(Duration::from_secs(10))).expect("poll"),
                    "read stalled waiting for {need:?}"
                );
            }
            outcome => return outcome,
        }
    }
    panic!("read never finished");
}

/// A refused handshake: the side that refuses gives an error; its peer either fails the
/// handshake too, or (a TLS 1.3 client whose certificate the server refuses: its part is
/// over before the server decides) finishes it and fails on its first read. Gives the
/// refusing side's error, then the peer's.
fn refused(
    client: &ClientTls,
    server: &ServerTls,
    name: &str,
    refused_by_server: bool,
) -> (io::Error, io::Error) {
    let (c, s) = handshake(client, server, name);
    let (refuser, peer) = if refused_by_server { (s, c) } else { (c, s) };
    let Err(refuser) = refuser else {
        panic!("the handshake should have been refused")
    };
    let peer = match peer {
        Err(e) => e,
        Ok(mut stream) => match read_outcome(&mut stream, &mut [0; 64]) {
            Ok(n) => panic!("the refused peer read {n} bytes"),
            Err(e) => e,
        },
    };
    (refuser, peer)
}

/// The peer's error after a refusal: the alert the refusing side sent.
fn assert_alert(e: &io::Error, expected: AlertDescription) {
    match rustls_error(e) {
        RustlsError::AlertReceived(alert) => assert_eq!(*alert, expected, "{e}"),
        other => panic!("expected the alert {expected:?}, got {other:?}"),
    }
}

fn der(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).expect("a PEM certificate")
}

fn send_all(stream: &mut TlsStream, data: &[u8]) {
    let mut sent = 0;
    while sent < data.len() {
        match stream.write(&data[sent..]) {
            Ok(n) => sent += n,
            Err(e) => panic!("write: {e}"),
        }
    }
    loop {
        match stream.flush() {
            Ok(()) => break,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("flush: {e}"),
        }
    }
}

fn receive_exact(stream: &mut TlsStream, len: usize) -> Vec<u8> {
    let mut got = vec![0; len];
    let mut filled = 0;
    while filled < len {
        match read_outcome(stream, &mut got[filled..]) {
            Ok(0) => panic!("end of stream after {filled} of {len} bytes"),
            Ok(n) => filled += n,
            Err(e) => panic!("read: {e}"),
        }
    }
    got
}

#[test]
fn mutual_tls13_handshake_with_the_peers_certificates() {
    let pki = TestPki::new();
    let (mut client, mut server) = connected(&pki.client_tls(), &pki.server_tls(), "localhost");

    let seen_by_client = client.info();
    // TLS 1.3 (the version's name is in `tls_info_names_the_version_as_documented`).
    assert!(
        seen_by_client.cipher_suite.starts_with("TLS13_"),
        "{seen_by_client:?}"
    );
    assert_eq!(
        seen_by_client.alpn_protocol.as_deref(),
        Some(&b"http/1.1"[..])
    );
    assert_eq!(
        seen_by_client.peer_certificates,
        [der(pki.server_cert_pem())]
    );

    let seen_by_server = server.info();
    assert_eq!(
        seen_by_server.protocol_version,
        seen_by_client.protocol_version
    );
    assert_eq!(seen_by_server.cipher_suite, seen_by_client.cipher_suite);
    assert_eq!(
        seen_by_server.peer_certificates,
        [der(pki.client_cert_pem())]
    );

    send_all(&mut client, b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(receive_exact(&mut server, 18), b"GET / HTTP/1.1\r\n\r\n");
    send_all(&mut server, b"HTTP/1.1 204 No Content\r\n\r\n");
    assert_eq!(
        receive_exact(&mut client, 27),
        b"HTTP/1.1 204 No Content\r\n\r\n"
    );

    // A clean close: close_notify, then the end of the stream.
    client.send_close_notify();
    assert_eq!(read_outcome(&mut server, &mut [0; 16]).expect("read"), 0);
}

#[test]
fn tls_info_names_the_version_as_documented() {
    let pki = TestPki::new();
    let (client, server) = connected(&pki.client_tls(), &pki.server_tls(), "localhost");
    assert_eq!(client.info().protocol_version, "TLSv1.3");
    assert_eq!(server.info().protocol_version, "TLSv1.3");
}

#[test]
fn a_mebibyte_each_way_at_once() {
    let pki = TestPki::new();
    let (mut client, mut server) = connected(&pki.client_tls(), &pki.server_tls(), "localhost");
    let up: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let down: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 241) as u8).collect();
    let (mut c_sent, mut s_sent) = (0, 0);
    let (mut c_got, mut s_got) = (Vec::new(), Vec::new());
    let mut buf = vec![0; 16 * 1024];
    let mut idle_rounds = 0;
    while c_got.len() < down.len() || s_got.len() < up.len() {
        let mut moved = false;
        for (stream, data, sent) in [
            (&mut client, &up, &mut c_sent),
            (&mut server, &down, &mut s_sent),
        ] {
            while *sent < data.len() {
                match stream.write(&data[*sent..]) {
                    Ok(n) => {
                        *sent += n;
                        moved = true;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("write: {e}"),
                }
            }
            match stream.flush() {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("flush: {e}"),
            }
        }
        for (stream, got) in [(&mut client, &mut c_got), (&mut server, &mut s_got)] {
            loop {
                match stream.read(&mut buf) {
                    Ok(0) => panic!("unexpected end of stream"),
                    Ok(n) => {
                        got.extend_from_slice(&buf[..n]);
                        moved = true;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("read: {e}"),
                }
            }
        }
        if moved {
            idle_rounds = 0;
            continue;
        }
        // Nothing moved: one of the sockets must be ready for what its stream needs.
        idle_rounds += 1;
        let needs = [&client, &server].map(|s| PollNeeded {
            fd: std::os::fd::AsRawFd::as_raw_fd(s),
            interest: s.need(),
        });
        assert!(
            idle_rounds < 100 && needs.iter().any(ready),
            "stalled: client needs {:?}, server needs {:?}; sent {c_sent}/{s_sent}, \
             received {}/{}",
            needs[0],
            needs[1],
            c_got.len(),
            s_got.len(),
        );
    }
    assert!(s_got == up, "the server received other bytes");
    assert!(c_got == down, "the client received other bytes");
}

#[test]
fn handshake_over_tcp() {
    let pki = TestPki::new();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let connected_tcp = TcpStream::connect(listener.local_addr().unwrap()).expect("connect");
    let (accepted, _) = listener.accept().expect("accept");
    let (c, s) = drive(
        Handshake::client(
            Transport::from_tcp(connected_tcp).unwrap(),
            &pki.client_tls(),
            "127.0.0.1",
        )
        .unwrap(),
        Handshake::server(Transport::from_tcp(accepted).unwrap(), &pki.server_tls()).unwrap(),
    );
    let (mut client, mut server) = (c.expect("client"), s.expect("server"));
    assert_eq!(
        server.info().peer_certificates,
        [der(pki.client_cert_pem())]
    );
    send_all(&mut server, b"hello over TCP");
    assert_eq!(receive_exact(&mut client, 14), b"hello over TCP");
}

#[test]
fn the_server_certificate_names_localhost_and_the_loopback_addresses() {
    let pki = TestPki::new();
    let (client, server) = (pki.client_tls(), pki.server_tls());
    for name in ["localhost", "127.0.0.1", "::1", "[::1]"] {
        connected(&client, &server, name);
    }
    for name in ["127.0.0.2", "::2", "localhost.example", "example.com"] {
        let (refusal, _) = refused(&client, &server, name, false);
        assert!(
            matches!(
                certificate_error(&refusal),
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
            ),
            "{name}: {refusal}"
        );
    }
}

#[test]
fn anonymous_configurations() {
    let pki = TestPki::new();
    // Neither side asks for or gives a certificate.
    let (_, server) = connected(
        &pki.anonymous_client_tls(),
        &pki.anonymous_server_tls(),
        "localhost",
    );
    assert!(server.info().peer_certificates.is_empty());
    // A client with a certificate, which the server does not ask for.
    let (_, server) = connected(&pki.client_tls(), &pki.anonymous_server_tls(), "localhost");
    assert!(server.info().peer_certificates.is_empty());
}

#[test]
fn a_client_without_a_certificate_is_refused() {
    let pki = TestPki::new();
    let (refusal, peer) = refused(
        &pki.anonymous_client_tls(),
        &pki.server_tls(),
        "localhost",
        true,
    );
    assert!(
        matches!(rustls_error(&refusal), RustlsError::NoCertificatesPresented),
        "{refusal}"
    );
    assert_alert(&peer, AlertDescription::CertificateRequired);
}

#[test]
fn a_client_certificate_from_another_ca_is_refused() {
    let (pki, other) = (TestPki::new(), TestPki::new());
    let client = ClientTls::builder()
        .ca_pem(pki.ca_pem())
        .client_cert_pem(other.client_cert_pem(), other.client_key_pem())
        .build()
        .unwrap();
    let (refusal, peer) = refused(&client, &pki.server_tls(), "localhost", true);
    assert_eq!(
        *certificate_error(&refusal),
        CertificateError::UnknownIssuer,
        "{refusal}"
    );
    assert_alert(&peer, AlertDescription::UnknownCA);
}

#[test]
fn a_server_certificate_from_another_ca_is_refused() {
    let (pki, other) = (TestPki::new(), TestPki::new());
    assert_ne!(pki.ca_pem(), other.ca_pem());
    let (refusal, peer) = refused(&other.client_tls(), &pki.server_tls(), "localhost", false);
    assert_eq!(
        *certificate_error(&refusal),
        CertificateError::UnknownIssuer,
        "{refusal}"
    );
    assert_alert(&peer, AlertDescription::UnknownCA);
}

#[test]
fn a_server_certificate_for_another_name_is_refused() {
    let pki = TestPki::new();
    let now = SystemTime::now();
    let (cert, key) = pki.issue_server(&["other.example"], now - DAY, now + DAY);
    let server = ServerTls::builder()
        .cert_pem(cert.as_str(), key.as_str())
        .client_ca_pem(pki.ca_pem())
        .build()
        .unwrap();
    // It is good for its own name.
    connected(&pki.client_tls(), &server, "other.example");
    let (refusal, peer) = refused(&pki.client_tls(), &server, "localhost", false);
    assert!(
        matches!(
            certificate_error(&refusal),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        ),
        "{refusal}"
    );
    assert_alert(&peer, AlertDescription::BadCertificate);
}

/// A server configuration with a certificate `pki` issues for localhost with these dates.
fn server_valid(pki: &TestPki, not_before: SystemTime, not_after: SystemTime) -> ServerTls {
    let (cert, key) = pki.issue_server(&["localhost"], not_before, not_after);
    ServerTls::builder()
        .cert_pem(cert.as_str(), key.as_str())
        .allow_unauthenticated_clients()
        .build()
        .unwrap()
}

#[test]
fn an_expired_server_certificate_is_refused() {
    let pki = TestPki::new();
    let now = SystemTime::now();
    let server = server_valid(&pki, now - 30 * DAY, now - DAY);
    let (refusal, peer) = refused(&pki.client_tls(), &server, "localhost", false);
    assert!(
        matches!(
            certificate_error(&refusal),
            CertificateError::Expired | CertificateError::ExpiredContext { .. }
        ),
        "{refusal}"
    );
    assert_alert(&peer, AlertDescription::CertificateExpired);
}

#[test]
fn a_server_certificate_not_yet_valid_is_refused() {
    let pki = TestPki::new();
    let now = SystemTime::now();
    let server = server_valid(&pki, now + DAY, now + 30 * DAY);
    let (refusal, _) = refused(&pki.client_tls(), &server, "localhost", false);
    assert!(
        matches!(
            certificate_error(&refusal),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. }
        ),
        "{refusal}"
    );
}

#[test]
fn validity_dates_at_the_limits() {
    let pki = TestPki::new();
    // Dates webpki cannot read are clamped to 1970 and 9999, not a panic nor a
    // certificate nobody reads.
    let far = SystemTime::UNIX_EPOCH + Duration::from_secs(400_000_000_000);
    let server = server_valid(&pki, SystemTime::UNIX_EPOCH - 100 * 365 * DAY, far);
    connected(&pki.anonymous_client_tls(), &server, "localhost");
}

#[test]
fn without_the_hostname_check_the_chain_is_still_verified() {
    let (pki, other) = (TestPki::new(), TestPki::new());
    let now = SystemTime::now();
    let (cert, key) = pki.issue_server(&["other.example"], now - DAY, now + DAY);
    let server = ServerTls::builder()
        .cert_pem(cert.as_str(), key.as_str())
        .allow_unauthenticated_clients()
        .build()
        .unwrap();
    let no_name_check = ClientTls::builder()
        .check_hostname(false)
        .ca_pem(pki.ca_pem())
        .build()
        .unwrap();
    connected(&no_name_check, &server, "localhost");
    connected(&no_name_check, &server, "127.0.0.1");
    // Another CA's certificate, even for the right name, is still refused.
    let (refusal, _) = refused(
        &no_name_check,
        &other.anonymous_server_tls(),
        "localhost",
        false,
    );
    assert_eq!(
        *certificate_error(&refusal),
        CertificateError::UnknownIssuer,
        "{refusal}"
    );
    // And so is an expired one.
    let expired = server_valid(&pki, now - 30 * DAY, now - DAY);
    let (refusal, _) = refused(&no_name_check, &expired, "localhost", false);
    assert!(
        matches!(
            certificate_error(&refusal),
            CertificateError::Expired | CertificateError::ExpiredContext { .. }
        ),
        "{refusal}"
    );
}

#[test]
fn no_hostname_check_without_a_ca_of_ones_own() {
    let e = ClientTls::builder()
        .check_hostname(false)
        .build()
        .expect_err("check_hostname(false) with the system's roots");
    assert!(matches!(e, TlsError::Config { .. }), "{e}");
}

#[test]
fn certificates_are_only_good_for_their_purpose() {
    let pki = TestPki::new();
    // The client certificate as a server's: not for serverAuth.
    let server = ServerTls::builder()
        .cert_pem(pki.client_cert_pem(), pki.client_key_pem())
        .allow_unauthenticated_clients()
        .build()
        .unwrap();
    let (refusal, _) = refused(&pki.anonymous_client_tls(), &server, "localhost", false);
    assert!(
        matches!(
            certificate_error(&refusal),
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. }
        ),
        "{refusal}"
    );
    // The server certificate as a client's: not for clientAuth.
    let client = ClientTls::builder()
        .ca_pem(pki.ca_pem())
        .client_cert_pem(pki.server_cert_pem(), pki.server_key_pem())
        .build()
        .unwrap();
    let (refusal, _) = refused(&client, &pki.server_tls(), "localhost", true);
    assert!(
        matches!(
            certificate_error(&refusal),
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. }
        ),
        "{refusal}"
    );
}

#[test]
fn issued_client_certificates() {
    let pki = TestPki::new();
    let (cert, key) = pki.issue_client("alice");
    let (cert2, _) = pki.issue_client("alice");
    assert_ne!(cert, cert2, "each certificate has its own key and serial");
    let client = ClientTls::builder()
        .ca_pem(pki.ca_pem())
        .client_cert_pem(cert.as_str(), key.as_str())
        .build()
        .unwrap();
    let (_, server) = connected(&client, &pki.server_tls(), "localhost");
    let seen = server.info().peer_certificates;
    assert_eq!(seen, [der(&cert)]);
    assert_ne!(seen, [der(pki.client_cert_pem())]);
}

#[test]
fn ca_der_is_the_ca_pem() {
    let pki = TestPki::new();
    assert_eq!(pki.ca_der(), der(pki.ca_pem()));
    let client = ClientTls::builder()
        .ca_der(vec![pki.ca_der()])
        .build()
        .unwrap();
    connected(&client, &pki.anonymous_server_tls(), "localhost");
}

static DIRS: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory path (not created) under the temporary directory.
fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!(
        "pollhttp-tls-pki-{}-{}",
        std::process::id(),
        DIRS.fetch_add(1, Ordering::Relaxed)
    ))
}

#[test]
fn write_files_for_other_tools() {
    let pki = TestPki::new();
    let dir = temp_dir();
    let files = pki.write_files(&dir.join("nested")).expect("write_files");
    assert_eq!(files.ca, dir.join("nested/ca.pem"));
    assert_eq!(fs::read_to_string(&files.ca).unwrap(), pki.ca_pem());
    assert_eq!(
        fs::read_to_string(&files.server_cert).unwrap(),
        pki.server_cert_pem()
    );
    assert_eq!(
        fs::read_to_string(&files.client_key).unwrap(),
        pki.client_key_pem()
    );
    for key in [&files.server_key, &files.client_key] {
        let mode = fs::metadata(key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", key.display());
    }

    // Loaded back through the file builders, they make a working pair.
    let client = ClientTls::builder()
        .ca_file(&files.ca)
        .client_cert_files(&files.client_cert, &files.client_key)
        .build()
        .expect("client from files");
    let server = ServerTls::builder()
        .cert_files(&files.server_cert, &files.server_key)
        .client_ca_file(&files.ca)
        .build()
        .expect("server from files");
    let (_, server_end) = connected(&client, &server, "localhost");
    assert_eq!(
        server_end.info().peer_certificates,
        [der(pki.client_cert_pem())]
    );

    // Writing again replaces the files.
    let again = TestPki::new();
    again.write_files(&dir.join("nested")).expect("write again");
    assert_eq!(fs::read_to_string(&files.ca).unwrap(), again.ca_pem());

    openssl_verify(&files);
    fs::remove_dir_all(&dir).unwrap();
}

/// OpenSSL agrees the certificates are what they should be (skipped without `openssl`).
fn openssl_verify(files: &PkiFiles) {
    let verify = |args: &[&str], cert: &Path| -> Option<bool> {
        let output = Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(&files.ca)
            .args(args)
            .arg(cert)
            .output();
        match output {
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => panic!("openssl: {e}"),
            Ok(out) => Some(out.status.success()),
        }
    };
    let server = &files.server_cert;
    let Some(ok) = verify(
        &["-purpose", "sslserver", "-verify_hostname", "localhost"],
        server,
    ) else {
        eprintln!("openssl not found: the OpenSSL checks are skipped");
        return;
    };
    assert!(ok, "openssl verify: the server certificate for localhost");
    for ip in ["127.0.0.1", "::1"] {
        assert_eq!(
            verify(&["-purpose", "sslserver", "-verify_ip", ip], server),
            Some(true),
            "openssl verify: the server certificate for {ip}"
        );
    }
    assert_eq!(
        verify(
            &["-purpose", "sslserver", "-verify_hostname", "example.com"],
            server
        ),
        Some(false)
    );
    assert_eq!(verify(&["-purpose", "sslclient"], server), Some(false));
    let client = &files.client_cert;
    assert_eq!(verify(&["-purpose", "sslclient"], client), Some(true));
    assert_eq!(verify(&["-purpose", "sslserver"], client), Some(false));
    assert_eq!(verify(&["-x509_strict"], &files.ca), Some(true));
}

#[test]
fn a_test_pki_can_be_shared_between_threads() {
    fn shared<T: Send + Sync + 'static>() {}
    shared::<TestPki>();
    shared::<PkiFiles>();
}

#[test]
fn prebuilt_rustls_configurations_are_used_as_they_are() {
    use pollhttp::tls::rustls;
    use std::sync::Arc;
    let pki = TestPki::new();
    // A client configuration of the caller's own, different from ours: TLS 1.2 only.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(
            vec![der(pki.client_cert_pem())],
            pollhttp::tls::PrivateKeyDer::from_pem_slice(pki.client_key_pem().as_bytes()).unwrap(),
        )
        .unwrap();
    let client = ClientTls::from_rustls(Arc::new(config));
    let server = ServerTls::from_rustls(Arc::clone(pki.server_tls().rustls_config()));
    let (client, server) = connected(&client, &server, "localhost");
    assert_eq!(client.info().protocol_version, "TLSv1.2");
    assert_eq!(server.info().protocol_version, "TLSv1.2");
    assert_eq!(
        server.info().peer_certificates,
        vec![der(pki.client_cert_pem())]
    );
}

#[test]
fn a_ca_directory_is_trusted_whole() {
    let pki = TestPki::new();
    let other = TestPki::new();
    let dir = std::env::temp_dir().join(format!("pollhttp-ca-dir-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    // Two CAs in two files, and a file that is not a certificate (skipped).
    fs::write(dir.join("other.pem"), other.ca_pem()).unwrap();
    fs::write(dir.join("ours.pem"), pki.ca_pem()).unwrap();
    fs::write(dir.join("README"), "not a certificate\n").unwrap();
    let client = ClientTls::builder().ca_dir(&dir).build().unwrap();
    let (client, _server) = connected(&client, &pki.anonymous_server_tls(), "localhost");
    assert_eq!(client.info().protocol_version, "TLSv1.3");
    let _ = fs::remove_dir_all(&dir);

    // A directory with no certificate at all is a configuration error.
    let empty = std::env::temp_dir().join(format!("pollhttp-ca-empty-{}", std::process::id()));
    fs::create_dir_all(&empty).unwrap();
    match ClientTls::builder().ca_dir(&empty).build() {
        Err(TlsError::Config { message }) => {
            assert!(message.contains("no certificate"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let _ = fs::remove_dir_all(&empty);
}

#[test]
fn a_temp_server_over_tls_hands_the_client_certificate_to_handlers() {
    use pollhttp::server::Response;
    use pollhttp::testing::TempServer;
    let pki = TestPki::new();
    let server = TempServer::tls(pki.server_tls(), pki.client_tls(), |session, _request| {
        let cert = session
            .client_certificate()
            .map(|c| c.to_vec())
            .unwrap_or_default();
        Response::new(http::StatusCode::OK, cert)
    })
    .unwrap();
    assert!(server.url().starts_with("https://localhost:"));
    let mut conn = server.client().connect().unwrap();
    let body = conn
        .get("/", http::HeaderMap::new())
        .unwrap()
        .body
        .read_all()
        .unwrap();
    assert_eq!(body, der(pki.client_cert_pem()).to_vec());
    assert_eq!(conn.tls_info().unwrap().protocol_version, "TLSv1.3");
    drop(conn);
    server.shutdown().unwrap();
}
