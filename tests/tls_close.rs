//! TLS connection closure (RFC 9112 §9.8), end to end with raw TLS peers written here:
//!
//! - a response framed by Content-Length or chunked coding is complete even when the
//!   server then closes without `close_notify` (an incomplete close);
//! - our client and the embedded server send `close_notify` when they close;
//! - the embedded server is prepared for a client's incomplete close: the requests that
//!   came whole are answered, as over plain TCP; one cut short stays an error;
//! - the embedded server's body timeout (while the handler reads) sends `close_notify`
//!   before it shuts the socket;
//! - a client that takes a large body slowly but steadily keeps its connection, though
//!   the socket stays unwritable for longer than the body timeout, and one that stops
//!   taking it is reset: the server's look at what the client's kernel acknowledged
//!   holds behind TLS records;
//! - a flood of ClientHellos does not hold up a request on a connection past its
//!   handshake (a loop takes a few handshake steps a turn).
//!
//! ```text
//! cargo test --features testing --test tls_close
//! ```

#![cfg(feature = "testing")]

#[path = "support/tls_io.rs"]
mod tls_io;

use std::io::{self, ErrorKind};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use http::{HeaderMap, StatusCode};
use pollhttp::client::{Client, Connection};
use pollhttp::io::Transport;
use pollhttp::server::{Request, Response, Server, Session};
use pollhttp::testing::{TempServer, TestPki};
use pollhttp::tls::{ClientTls, Handshake, ServerTls, TlsStream};
use pollhttp::Error;
use tls_io::{complete, read_some, write_all, WAIT};

/// Reads until the stream ends: what came, and how it ended (`Ok`: `close_notify`; an
/// `UnexpectedEof` error: a TCP close without it).
fn read_to_end(tls: &mut TlsStream) -> (Vec<u8>, io::Result<()>) {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match read_some(tls, &mut buf) {
            Ok(0) => return (got, Ok(())),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => return (got, Err(e)),
        }
    }
}

/// Reads until `got` ends with `end` (or the stream ends).
fn read_until(tls: &mut TlsStream, got: &mut Vec<u8>, end: &[u8]) -> io::Result<()> {
    let mut buf = [0u8; 4096];
    while !got.ends_with(end) {
        match read_some(tls, &mut buf)? {
            0 => return Err(ErrorKind::UnexpectedEof.into()),
            n => got.extend_from_slice(&buf[..n]),
        }
    }
    Ok(())
}

/// A raw TLS client connection to `addr`, its handshake done.
fn raw_client(addr: SocketAddr, tls: &ClientTls) -> TlsStream {
    let tcp = TcpStream::connect(addr).expect("connecting");
    let transport = Transport::from_tcp(tcp).expect("transport");
    complete(Handshake::client(transport, tls, "localhost").expect("handshake")).expect("handshake")
}

/// Ends our side without `close_notify`: a TCP FIN only (an incomplete close).
fn close_without_close_notify(tls: &TlsStream) {
    tls.transport().shutdown_write().expect("shutdown");
}

fn describe(end: &io::Result<()>) -> String {
    match end {
        Ok(()) => "close_notify".into(),
        Err(e) => format!("{:?}: {e}", e.kind()),
    }
}

// ---------------------------------------------------------------------------------------
// A raw TLS server for one connection

/// What the raw server does after it has read one request head.
#[derive(Clone, Copy)]
enum After {
    /// Writes the response, then closes the TCP connection without `close_notify`, and
    /// reads until the client closes.
    Truncate(&'static [u8]),
    /// Writes the response and reads until the client closes.
    Wait(&'static [u8]),
}

/// Accepts one TLS connection on a fresh port, on a thread that completes the handshake
/// and hands the stream to `serve`; the thread gives what `serve` returns.
fn serve_one(
    tls: ServerTls,
    serve: impl FnOnce(TlsStream) -> io::Result<()> + Send + 'static,
) -> (SocketAddr, thread::JoinHandle<io::Result<()>>) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding");
    let addr = listener.local_addr().expect("address");
    let server = thread::spawn(move || {
        let (tcp, _) = listener.accept()?;
        let transport = Transport::from_tcp(tcp)?;
        serve(complete(
            Handshake::server(transport, &tls).map_err(io::Error::other)?,
        )?)
    });
    (addr, server)
}

/// Serves one TLS connection on a fresh port. The thread gives how the client's side
/// ended (`Ok`: with `close_notify`).
fn raw_server(
    tls: ServerTls,
    after: Option<After>,
) -> (SocketAddr, thread::JoinHandle<io::Result<()>>) {
    serve_one(tls, move |mut stream| {
        if let Some(after) = after {
            let mut head = Vec::new();
            read_until(&mut stream, &mut head, b"\r\n\r\n")?;
            let (After::Truncate(response) | After::Wait(response)) = after;
            write_all(&mut stream, response)?;
            if let After::Truncate(_) = after {
                close_without_close_notify(&stream);
            }
        }
        let (_, end) = read_to_end(&mut stream);
        end
    })
}

fn client_for(addr: SocketAddr, tls: ClientTls) -> Client {
    Client::new(addr)
        .with_tls(tls)
        .with_server_name("localhost")
        .with_timeout(Some(WAIT))
}

/// After a response that ended the connection without `close_notify`: the connection is
/// not reused, or the next request on it fails as closed.
#[track_caller]
fn next_request_fails(conn: &mut Connection) {
    if conn.is_reusable() {
        match conn
            .get("/", HeaderMap::new())
            .and_then(|mut r| r.body.read_all())
        {
            Err(Error::ConnectionClosed { .. }) => {}
            other => panic!("a request after the close: {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// RFC 9112 §9.8: "A client that receives an incomplete close ... SHOULD treat it as
// complete if it has received all of the message" (Content-Length or the last chunk)

/// A Content-Length response, then a TCP close without `close_notify`: the body reads
/// whole, with `Ok`.
#[test]
fn content_length_response_then_an_incomplete_close_is_complete() {
    let pki = TestPki::new();
    let response: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";
    let (addr, server) = raw_server(pki.server_tls(), Some(After::Truncate(response)));
    let mut conn = client_for(addr, pki.client_tls())
        .connect()
        .expect("connecting");
    let mut r = conn.get("/", HeaderMap::new()).expect("GET");
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body.read_all().expect("the body, complete"), b"hello");
    drop(r);
    next_request_fails(&mut conn);
    drop(conn);
    let _ = server.join().expect("the server thread");
}

/// A chunked response (with a trailer), then a TCP close without `close_notify`: the body
/// reads whole, with `Ok`.
#[test]
fn chunked_response_then_an_incomplete_close_is_complete() {
    let pki = TestPki::new();
    let response: &[u8] = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
        5\r\nhello\r\n6\r\n world\r\n0\r\nx-t: 1\r\n\r\n";
    let (addr, server) = raw_server(pki.server_tls(), Some(After::Truncate(response)));
    let mut conn = client_for(addr, pki.client_tls())
        .connect()
        .expect("connecting");
    let mut r = conn.get("/", HeaderMap::new()).expect("GET");
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body.read_all().expect("the body, complete"),
        b"hello world"
    );
    drop(r);
    next_request_fails(&mut conn);
    drop(conn);
    let _ = server.join().expect("the server thread");
}

/// The other side of the rule: a Content-Length or chunked body cut short by a TCP close
/// without `close_notify` is `ConnectionClosed`, never a short `Ok`.
#[test]
fn framed_response_cut_short_by_an_incomplete_close_is_connection_closed() {
    let pki = TestPki::new();
    let cut: [&'static [u8]; 3] = [
        b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n",
        // The last chunk, but not the end of the trailer section.
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n",
    ];
    for response in cut {
        let text = String::from_utf8_lossy(response);
        let (addr, server) = raw_server(pki.server_tls(), Some(After::Truncate(response)));
        let mut conn = client_for(addr, pki.client_tls())
            .connect()
            .expect("connecting");
        let mut r = conn.get("/", HeaderMap::new()).expect("GET");
        match r.body.read_all() {
            Err(Error::ConnectionClosed { .. }) => {}
            other => panic!("{text:?}: {other:?}"),
        }
        drop(r);
        assert!(!conn.is_reusable(), "{text:?}");
        drop(conn);
        let _ = server.join().expect("the server thread");
    }
}

// ---------------------------------------------------------------------------------------
// RFC 9112 §9.8: "A client ... MUST send a closure alert before closing the connection"

/// Our client's connection, dropped (with no pool, after a response or with none asked;
/// from the pool, when it closes its idle connections): the server reads `close_notify`,
/// not a bare TCP close.
#[test]
fn our_client_sends_close_notify_when_it_closes() {
    let pki = TestPki::new();
    let response: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";

    // After a response, no pool.
    let (addr, server) = raw_server(pki.server_tls(), Some(After::Wait(response)));
    let client = client_for(addr, pki.client_tls()).without_pool();
    let mut conn = client.connect().expect("connecting");
    let mut r = conn.get("/", HeaderMap::new()).expect("GET");
    assert_eq!(r.body.read_all().expect("the body"), b"hello");
    drop(r);
    drop(conn);
    let end = server.join().expect("the server thread");
    assert!(end.is_ok(), "after a response: {}", describe(&end));

    // No request at all.
    let (addr, server) = raw_server(pki.server_tls(), None);
    let conn = client_for(addr, pki.client_tls())
        .without_pool()
        .connect()
        .expect("connecting");
    drop(conn);
    let end = server.join().expect("the server thread");
    assert!(end.is_ok(), "without a request: {}", describe(&end));

    // An idle connection of the pool, closed.
    let (addr, server) = raw_server(pki.server_tls(), Some(After::Wait(response)));
    let client = client_for(addr, pki.client_tls()).with_pool(4, Duration::from_secs(60));
    let mut conn = client.connect().expect("connecting");
    let mut r = conn.get("/", HeaderMap::new()).expect("GET");
    assert_eq!(r.body.read_all().expect("the body"), b"hello");
    drop(r);
    drop(conn);
    assert_eq!(
        client.idle_connections(),
        1,
        "the connection went to the pool"
    );
    client.close_idle_connections();
    let end = server.join().expect("the server thread");
    assert!(end.is_ok(), "from the pool: {}", describe(&end));
}

// ---------------------------------------------------------------------------------------
// RFC 9112 §9.8: "Servers MUST attempt to initiate an exchange of closure alerts with the
// client before closing the connection"

fn hello(_: &mut Session, _: Request<'_>) -> Response {
    Response::text(StatusCode::OK, "hello")
}

/// A request head sent in one TLS record that is never finished is a head begun, not an
/// idle connection: the head timeout closes it, not the (much longer) idle timeout. Until
/// its last byte the record is ciphertext only, nothing of it readable.
#[test]
fn a_head_in_a_record_never_finished_meets_the_head_timeout() {
    use std::io::{Read, Write};
    let pki = TestPki::new();
    let head_timeout = Duration::from_millis(500);
    let server = TempServer::start(
        Server::bind(([127, 0, 0, 1], 0), hello)
            .expect("binding")
            .tls(pki.server_tls())
            .head_timeout(head_timeout)
            .idle_timeout(Duration::from_secs(30)),
    )
    .expect("starting");
    let config = std::sync::Arc::clone(pki.client_tls().rustls_config());
    let name = "localhost".try_into().expect("a server name");
    let mut tls = rustls::ClientConnection::new(config, name).expect("a client");
    let mut tcp = TcpStream::connect(server.address()).expect("connecting");
    while tls.is_handshaking() {
        tls.complete_io(&mut tcp).expect("handshake");
    }
    tls.writer()
        .write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .expect("a request");
    let mut record = Vec::new();
    tls.write_tls(&mut record).expect("its record");
    // All of the record but its last byte.
    tcp.write_all(&record[..record.len() - 1]).expect("sending");
    let sent = Instant::now();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut sink = [0u8; 4096];
    loop {
        match tcp.read(&mut sink) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the server did not close the connection: {e}"),
        }
    }
    let took = sent.elapsed();
    assert!(
        took >= head_timeout - Duration::from_millis(50) && took < Duration::from_secs(5),
        "closed after {took:?}"
    );
}

/// The embedded server offers both HTTP versions it speaks in ALPN, `http/1.1` first: a
/// client offering only `http/1.0` (`curl --http1.0`) is served, not refused the handshake
/// for want of a common protocol, and one offering both gets `http/1.1`.
#[test]
fn the_embedded_server_agrees_on_http_1_0_in_alpn() {
    let pki = TestPki::new();
    let server = TempServer::start(
        Server::bind(([127, 0, 0, 1], 0), hello)
            .expect("binding")
            .tls(pki.server_tls()),
    )
    .expect("starting");
    for (offered, agreed) in [
        (&[&b"http/1.0"[..]][..], &b"http/1.0"[..]),
        (&[&b"http/1.0"[..], &b"http/1.1"[..]][..], &b"http/1.1"[..]),
    ] {
        let mut config = (**pki.client_tls().rustls_config()).clone();
        config.alpn_protocols = offered.iter().map(|p| p.to_vec()).collect();
        let tls = ClientTls::from_rustls(std::sync::Arc::new(config));
        let mut stream = raw_client(server.address(), &tls);
        assert_eq!(
            stream.info().alpn_protocol.as_deref(),
            Some(agreed),
            "offered {offered:?}"
        );
        write_all(&mut stream, b"GET / HTTP/1.0\r\nhost: localhost\r\n\r\n").expect("writing");
        let (got, _) = read_to_end(&mut stream);
        let got = String::from_utf8_lossy(&got);
        assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
        assert!(got.ends_with("hello"), "{got}");
    }
}

/// The embedded server, closing after its last allowed request, after a request with
/// `connection: close`, after a malformed request, and at the idle timeout: the client
/// reads the response, then `close_notify`.
#[test]
fn the_embedded_server_sends_close_notify_when_it_closes() {
    let pki = TestPki::new();
    let server = TempServer::start(
        Server::bind(([127, 0, 0, 1], 0), hello)
            .expect("binding")
            .tls(pki.server_tls())
            .max_requests(2)
            .idle_timeout(Duration::from_millis(300)),
    )
    .expect("starting");
    let tls = pki.client_tls();
    let get = b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n";
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("max_requests", [&get[..], &get[..]].concat(), "200 OK"),
        (
            "connection: close",
            b"GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n".to_vec(),
            "200 OK",
        ),
        (
            "a malformed request",
            b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            "400 ",
        ),
        ("the idle timeout", Vec::new(), ""),
    ];
    for (case, request, status) in cases {
        let mut stream = raw_client(server.address(), &tls);
        if !request.is_empty() {
            write_all(&mut stream, &request).expect("writing");
        }
        let (got, end) = read_to_end(&mut stream);
        let got = String::from_utf8_lossy(&got);
        assert!(got.contains(status), "{case}: {got:?}");
        assert!(end.is_ok(), "{case}: ended with {}", describe(&end));
    }
}

/// A handler that reads the whole request body, sends how that ended down the channel
/// (`None`: it was all there; or the error's kind), and answers `reply`.
fn body_reading_handler(
    reply: &'static str,
) -> (
    impl for<'c> Fn(&mut Session, Request<'c>) -> Response + Send + Sync + 'static,
    mpsc::Receiver<Option<ErrorKind>>,
) {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let handler = move |_: &mut Session, mut request: Request<'_>| {
        let kind = request.body.read_all().err().map(|e| e.kind());
        let _ = tx.lock().unwrap().send(kind);
        Response::text(StatusCode::OK, reply)
    };
    (handler, rx)
}

/// A body timeout while the handler reads the body: the server shuts the connection
/// without waiting for the handler, but sends `close_notify` first.
#[test]
fn the_body_timeout_while_the_handler_reads_sends_close_notify() {
    let pki = TestPki::new();
    let (handler, rx) = body_reading_handler("late");
    let server = TempServer::start(
        Server::bind(([127, 0, 0, 1], 0), handler)
            .expect("binding")
            .tls(pki.server_tls())
            .body_timeout(Duration::from_millis(200)),
    )
    .expect("starting");
    let mut stream = raw_client(server.address(), &pki.client_tls());
    // With `Expect: 100-continue` the handler is called at once, and its read sends the
    // 100; the body never comes.
    write_all(
        &mut stream,
        b"PUT / HTTP/1.1\r\nhost: localhost\r\ncontent-length: 10\r\nexpect: 100-continue\r\n\r\n",
    )
    .expect("writing");
    let (got, end) = read_to_end(&mut stream);
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.1 100 Continue\r\n"), "{got:?}");
    assert!(!got.contains("late"), "{got:?}");
    assert!(
        end.is_ok(),
        "the body timeout closed with {}",
        describe(&end)
    );
    let kind = rx.recv_timeout(WAIT).expect("the handler returns");
    assert_eq!(kind, Some(ErrorKind::TimedOut));
}

// ---------------------------------------------------------------------------------------
// RFC 9112 §9.8: "Servers SHOULD be prepared to receive an incomplete close from the
// client"

/// A handler that takes its time, so that the client's close comes before the response
/// is written.
fn slow_hello(_: &mut Session, request: Request<'_>) -> Response {
    thread::sleep(Duration::from_millis(200));
    Response::text(StatusCode::OK, format!("hello {}", request.target()))
}

/// A client that sends complete requests, then closes its side without `close_notify`:
/// each request is answered (as over TCP), then the server closes with `close_notify`.
#[test]
fn complete_requests_before_an_incomplete_close_are_answered() {
    let pki = TestPki::new();
    let server = TempServer::tls(pki.server_tls(), pki.client_tls(), slow_hello).expect("starting");
    let tls = pki.client_tls();
    let cases: [&[u8]; 3] = [
        b"GET /a HTTP/1.1\r\nhost: localhost\r\n\r\n",
        b"GET /a HTTP/1.1\r\nhost: localhost\r\n\r\nGET /b HTTP/1.1\r\nhost: localhost\r\n\r\n",
        b"PUT /a HTTP/1.1\r\nhost: localhost\r\ncontent-length: 3\r\n\r\nabc\
          POST /b HTTP/1.1\r\nhost: localhost\r\ntransfer-encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    ];
    for request in cases {
        let text = String::from_utf8_lossy(request);
        let mut stream = raw_client(server.address(), &tls);
        write_all(&mut stream, request).expect("writing");
        close_without_close_notify(&stream);
        let (got, end) = read_to_end(&mut stream);
        let got = String::from_utf8_lossy(&got);
        assert!(got.contains("hello /a"), "{text:?}: got {got:?}");
        if text.contains("/b") {
            assert!(got.contains("hello /b"), "{text:?}: got {got:?}");
        }
        assert!(end.is_ok(), "{text:?}: ended with {}", describe(&end));
    }
}

/// A request cut short (in its head, or in its body) by the client's close without
/// `close_notify` stays an error: the handler is never called for a cut head or a body
/// read ahead of it, and a handler reading its body gets `UnexpectedEof`.
#[test]
fn a_request_cut_short_by_an_incomplete_close_is_an_error() {
    let pki = TestPki::new();
    let (handler, rx) = body_reading_handler("called");
    let server = TempServer::tls(pki.server_tls(), pki.client_tls(), handler).expect("starting");
    let tls = pki.client_tls();

    for request in [
        &b"GET / HTTP/1.1\r\nhost: loc"[..],
        b"PUT / HTTP/1.1\r\nhost: localhost\r\ncontent-length: 10\r\n\r\nabc",
        b"PUT / HTTP/1.1\r\nhost: localhost\r\ntransfer-encoding: chunked\r\n\r\n5\r\nab",
    ] {
        let text = String::from_utf8_lossy(request);
        let mut stream = raw_client(server.address(), &tls);
        write_all(&mut stream, request).expect("writing");
        close_without_close_notify(&stream);
        let (got, _) = read_to_end(&mut stream);
        assert!(
            got.is_empty(),
            "{text:?}: got {:?}",
            String::from_utf8_lossy(&got)
        );
        assert!(rx.try_recv().is_err(), "{text:?}: the handler was called");
    }

    // The handler reads the body itself (called at once for `Expect: 100-continue`).
    let mut stream = raw_client(server.address(), &tls);
    write_all(
        &mut stream,
        b"PUT / HTTP/1.1\r\nhost: localhost\r\ncontent-length: 10\r\nexpect: 100-continue\r\n\r\n",
    )
    .expect("writing");
    let mut got = Vec::new();
    read_until(&mut stream, &mut got, b"\r\n\r\n").expect("the 100");
    assert!(got.starts_with(b"HTTP/1.1 100 Continue\r\n"));
    write_all(&mut stream, b"abc").expect("writing");
    close_without_close_notify(&stream);
    let kind = rx.recv_timeout(WAIT).expect("the handler returns");
    assert_eq!(kind, Some(ErrorKind::UnexpectedEof));
    let _ = read_to_end(&mut stream);
}

// ---------------------------------------------------------------------------------------
// Slow readers over TLS

/// The size of the body of `slow_reader_handler`: more than the kernel's buffers hold.
const LARGE: usize = 6 << 20;

fn large_body(_: &mut Session, _: Request<'_>) -> Response {
    Response::new(StatusCode::OK, vec![b'x'; LARGE])
}

/// Asks for the large body and reads it at 1 MiB/s, stopping for good after `stop_after`
/// bytes (then waits `then_wait` and reads on). Returns the bytes read (head included)
/// and how reading ended (`Ok`: the whole response came).
fn read_paced(
    addr: SocketAddr,
    tls: &ClientTls,
    stop_after: Option<usize>,
    then_wait: Duration,
) -> (usize, io::Result<()>) {
    const PIECE: usize = 16 * 1024;
    let mut stream = raw_client(addr, tls);
    write_all(&mut stream, b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n").expect("writing");
    // The head, and whatever of the body came with it.
    let mut head = Vec::new();
    let mut buf = vec![0u8; PIECE];
    let head_len = loop {
        if let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match read_some(&mut stream, &mut buf) {
            Ok(0) => return (head.len(), Err(ErrorKind::UnexpectedEof.into())),
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) => return (head.len(), Err(e)),
        }
    };
    let whole = head_len + LARGE;
    let every = Duration::from_secs_f64(PIECE as f64 / f64::from(1u32 << 20));
    let mut got = head.len();
    let mut next = Instant::now();
    let mut stop = stop_after.unwrap_or(whole);
    loop {
        if got >= stop {
            if got >= whole {
                return (got, Ok(()));
            }
            // Stopped: wait, then read on (to the end, or to what ends it).
            thread::sleep(then_wait);
            stop = whole;
            next = Instant::now();
        }
        thread::sleep(next.saturating_duration_since(Instant::now()));
        next += every;
        match read_some(&mut stream, &mut buf) {
            Ok(0) => return (got, Err(ErrorKind::UnexpectedEof.into())),
            Ok(n) => got += n,
            Err(e) => return (got, Err(e)),
        }
    }
}

#[test]
fn a_slow_but_steady_reader_keeps_its_connection_and_one_that_stops_is_reset() {
    let pki = TestPki::new();
    let stall = Duration::from_millis(800);
    let server = TempServer::start(
        Server::bind(([127, 0, 0, 1], 0), large_body)
            .expect("binding")
            .tls(pki.server_tls())
            .body_timeout(stall),
    )
    .expect("starting");
    let addr = server.address();
    let tls = pki.client_tls();
    let steady = {
        let tls = tls.clone();
        thread::spawn(move || read_paced(addr, &tls, None, Duration::ZERO))
    };
    let stopper = thread::spawn(move || {
        read_paced(addr, &tls, Some(1 << 20), stall + Duration::from_secs(3))
    });
    let (got, end) = steady.join().expect("the steady reader");
    assert!(
        end.is_ok(),
        "a reader taking 1 MiB/s of a {LARGE}-byte body over TLS: {} after {got} bytes",
        describe(&end)
    );
    let (got, end) = stopper.join().expect("the stopper");
    let reset = matches!(&end, Err(e) if e.kind() == ErrorKind::ConnectionReset);
    assert!(
        reset && got < LARGE,
        "a reader that stopped after 1 MiB: {} after {got} bytes, expected a reset",
        describe(&end)
    );
}

/// A flood of ClientHellos does not hold up a connection past its handshake: a loop takes a
/// few handshake steps a turn, then what the poller has. Before, a request on a kept-alive
/// connection waited behind every ClientHello that came before it, each a key exchange
/// and a signature (a replayed ClientHello on 2,000 connections kept such a request
/// waiting 260–370 ms against `serve --workers 1`; now 6 ms).
#[test]
fn a_flood_of_client_hellos_does_not_hold_up_an_established_connection() {
    use std::io::{Read, Write};
    const FLOOD: usize = 300;
    let pki = TestPki::new();
    let server = TempServer::start(
        Server::bind(([127, 0, 0, 1], 0), hello)
            .expect("binding")
            .tls(pki.server_tls())
            .workers(1),
    )
    .expect("starting");
    let addr = server.address();
    let config = std::sync::Arc::clone(pki.client_tls().rustls_config());
    let client = || {
        let name = "localhost".try_into().expect("a server name");
        rustls::ClientConnection::new(std::sync::Arc::clone(&config), name).expect("a client")
    };
    let mut tls = client();
    let mut tcp = TcpStream::connect(addr).expect("connecting");
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    while tls.is_handshaking() {
        tls.complete_io(&mut tcp).expect("handshake");
    }
    let ask = |tls: &mut rustls::ClientConnection, tcp: &mut TcpStream| {
        let began = Instant::now();
        tls.writer()
            .write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n")
            .expect("a request");
        let mut got = Vec::new();
        while !got.ends_with(b"hello") {
            tls.complete_io(&mut *tcp).expect("the response");
            let mut buf = [0u8; 4096];
            match tls.reader().read(&mut buf) {
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("reading the response: {e}"),
            }
        }
        began.elapsed()
    };
    ask(&mut tls, &mut tcp);
    // The flood's connections are in the loop first, then their ClientHellos (one
    // recorded, the same for all) come in together, as one poll's events.
    let mut client_hello = Vec::new();
    client()
        .write_tls(&mut client_hello)
        .expect("a ClientHello");
    let mut flood: Vec<TcpStream> = (0..FLOOD)
        .map(|_| TcpStream::connect(addr).expect("a flood connection"))
        .collect();
    thread::sleep(Duration::from_millis(300));
    for s in &mut flood {
        s.write_all(&client_hello).expect("a ClientHello");
    }
    // Once the server answers the first of them, it is at work on the flood.
    flood[0]
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut flight = [0u8; 1];
    assert_eq!(flood[0].read(&mut flight).expect("a server flight"), 1);
    let took = ask(&mut tls, &mut tcp);
    // Its answers to the rest of the flood still come.
    let last = flood.last_mut().expect("a flood");
    last.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    assert_eq!(last.read(&mut flight).expect("a server flight"), 1);
    eprintln!("a request beside {FLOOD} ClientHellos: {took:?}");
    assert!(
        took < Duration::from_millis(150),
        "a request waited {took:?} behind {FLOOD} ClientHellos"
    );
}

// ---------------------------------------------------------------------------------------
// A write that fails does not hide what came to be read

/// Serves one TLS connection on a fresh port: reads a request head, writes `response`,
/// then ends the connection with `close`.
fn answer_then_close(
    tls: ServerTls,
    response: &'static [u8],
    close: fn(TlsStream) -> io::Result<()>,
) -> (SocketAddr, thread::JoinHandle<io::Result<()>>) {
    serve_one(tls, move |mut stream| {
        let mut head = Vec::new();
        read_until(&mut stream, &mut head, b"\r\n\r\n")?;
        write_all(&mut stream, response)?;
        close(stream)
    })
}

/// Closed with close_notify, the response sent: any byte the client sends now is answered
/// with a reset.
fn close_notify(stream: TlsStream) -> io::Result<()> {
    drop(stream);
    Ok(())
}

const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";

/// A server that answers a request, then closes (as nginx or Apache do at their request
/// cap or idle timeout), beside which the client has written another request: that write
/// fails (the server's kernel answers it with a reset), but the response that came before
/// is there to read, as over plain TCP. Before, every read first tried to write out the
/// records rustls held, and failed with that write's error: the response was lost (the
/// crawl sent it again, and learnt that the server does not pipeline).
#[test]
fn a_failed_write_does_not_hide_a_response_already_received() {
    let pki = TestPki::new();
    let (addr, server) = answer_then_close(pki.server_tls(), HELLO, close_notify);
    let mut client = raw_client(addr, &pki.client_tls());
    write_all(&mut client, b"GET /a HTTP/1.1\r\nhost: localhost\r\n\r\n").expect("GET /a");
    server
        .join()
        .expect("the server thread")
        .expect("the server");
    // The next request: the first write may reach the closed socket, whose reset makes
    // the next one fail. Records rustls made stay unsent.
    let started = Instant::now();
    let failed = loop {
        match write_all(&mut client, b"GET /b HTTP/1.1\r\nhost: localhost\r\n\r\n") {
            Ok(()) => {
                assert!(
                    started.elapsed() < WAIT,
                    "writes to a closed connection go on"
                );
                thread::sleep(Duration::from_millis(10));
            }
            Err(e) => break e,
        }
    };
    assert!(
        matches!(
            failed.kind(),
            ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
        ),
        "{failed:?}"
    );
    assert!(client.wants_write(), "records left unsent");
    let (got, end) = read_to_end(&mut client);
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(HELLO),
        "what was read before the stream ended: {}",
        describe(&end)
    );
}

/// The same through the blocking `Connection` (dugong's calls): a second request whose
/// sending fails after the server answered the first and closed; the first response reads
/// whole.
#[test]
fn a_response_read_after_sending_the_next_request_failed() {
    let pki = TestPki::new();
    let (addr, server) = answer_then_close(pki.server_tls(), HELLO, close_notify);
    let client = client_for(addr, pki.client_tls()).without_pool();
    let mut conn = client.connect().expect("connecting");
    conn.send_request(
        http::Method::GET,
        "/a",
        HeaderMap::new(),
        pollhttp::client::Body::empty(),
    )
    .expect("GET /a");
    server
        .join()
        .expect("the server thread")
        .expect("the server");
    // Requests until one fails to go (the reset of the first makes the next fail).
    let started = Instant::now();
    while conn
        .send_request(
            http::Method::GET,
            "/b",
            HeaderMap::new(),
            pollhttp::client::Body::empty(),
        )
        .is_ok()
    {
        assert!(
            started.elapsed() < WAIT,
            "requests to a closed connection go on"
        );
        thread::sleep(Duration::from_millis(10));
    }
    let head = conn.read_response().expect("the response to GET /a");
    assert_eq!(head.status, StatusCode::OK);
    let mut body = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        match conn.read_into(&mut buf).expect("its body") {
            0 => break,
            n => body.extend_from_slice(&buf[..n]),
        }
    }
    assert_eq!(body, b"hello");
}

/// A server that answers a large upload at once (an error status) and closes without
/// reading the body, its close a reset (as Python's `http.server` does to a PUT): the
/// client's next write fails, and the response that came before is the answer. Before,
/// the look for that response failed with the write's error ("Broken pipe"), and so did
/// the request (`get -X PUT --data-file` of 100 MB against Python's `http.server` wrapped
/// in TLS: exit 1, 6 runs of 6; in clear text, exit 0 with the 501).
#[test]
fn an_early_response_then_a_reset_is_the_answer_to_an_upload() {
    let pki = TestPki::new();
    for round in 0..20 {
        let (addr, server) = answer_then_close(
            pki.server_tls(),
            b"HTTP/1.0 501 Unsupported method\r\nconnection: close\r\n\
              content-length: 3\r\n\r\nno\n",
            // Then, as Python's http.server does, a TCP close without close_notify and
            // at once a reset (the body left unread), which may reach the client before
            // it looks for a response.
            |stream| {
                stream.transport().shutdown_write()?;
                stream.transport().abort()
            },
        );
        let client = client_for(addr, pki.client_tls()).without_pool();
        let mut conn = client.connect().expect("connecting");
        // From a reader, as `get --data-file` sends a file.
        let body = io::Cursor::new(vec![b'x'; 64 << 20]);
        let mut r = conn
            .request(
                http::Method::PUT,
                "/upload",
                HeaderMap::new(),
                pollhttp::client::Body::reader(body, 64 << 20),
            )
            .unwrap_or_else(|e| panic!("round {round}: the early response: {e:?}"));
        assert_eq!(r.status.as_u16(), 501, "round {round}");
        assert_eq!(r.body.read_all().expect("its body"), b"no\n");
        drop(r);
        server
            .join()
            .expect("the server thread")
            .expect("the server");
    }
}
