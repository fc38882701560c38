//! The blocking `Client` and `Connection` over real loopback sockets (TCP over IPv4 and
//! IPv6, Unix sockets by path and by abstract name), against a scripted peer that reads
//! raw requests and writes raw responses (`support/peer.rs`): request bodies of every kind
//! byte for byte, response framings, pipelining, 100-continue, and every way a peer can
//! fail.

#[cfg(target_os = "linux")]
#[path = "support/blackhole.rs"]
mod blackhole;
#[path = "support/peer.rs"]
mod peer;

use std::io::{self, Cursor, Read};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, Method, StatusCode, Version};
use pollhttp::client::{Body, Chunk, Client, Connection};
use pollhttp::io::Address;
use pollhttp::proto::Framing;
use pollhttp::Error;

use peer::{chunked_body, ok, pattern, text, Peer, PeerConn, Where, WAIT};

fn no_headers() -> HeaderMap {
    HeaderMap::new()
}

fn headers(fields: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in fields {
        h.append(*name, HeaderValue::from_str(value).unwrap());
    }
    h
}

fn connect<T: Send + 'static>(peer: &Peer<T>) -> Connection {
    peer.client().connect().expect("connect")
}

fn host_of<T: Send + 'static>(peer: &Peer<T>) -> String {
    peer.address().host_header().unwrap()
}

/// A reply without a body.
const NO_CONTENT: &[u8] = b"HTTP/1.1 204 No Content\r\n\r\n";

/// A peer that answers `n` requests with a 204, sending the bytes of each request down the
/// channel, then reads until the client closes.
fn recording_peer(n: usize) -> (Peer<Vec<u8>>, mpsc::Receiver<Vec<u8>>) {
    let (tx, rx) = mpsc::channel();
    let peer = Peer::tcp(move |mut c| {
        for _ in 0..n {
            tx.send(c.read_request()).unwrap();
            c.write(NO_CONTENT);
        }
        c.read_to_end()
    });
    (peer, rx)
}

/// Asserts `e` is `ConnectionClosed`.
#[track_caller]
fn assert_closed(e: &Error) {
    assert!(matches!(e, Error::ConnectionClosed { .. }), "{e:?}");
    assert!(e.is_temporary());
    assert!(!e.is_caller_error());
}

/// A reader that notes when it is first read from.
struct Flagged {
    inner: Cursor<Vec<u8>>,
    read: Arc<AtomicBool>,
}

impl Read for Flagged {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read.store(true, Ordering::SeqCst);
        self.inner.read(buf)
    }
}

/// `hello world` as a body of known length whose reader raises `read` when first read.
fn hello_world_flagging(read: Arc<AtomicBool>) -> Body<'static> {
    let inner = Cursor::new(b"hello world".to_vec());
    Body::reader(Flagged { inner, read }, 11)
}

/// A reader that hands out the given pieces, one per read.
struct Pieces(Vec<&'static [u8]>);

impl Read for Pieces {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0.is_empty() {
            return Ok(0);
        }
        let piece = self.0.remove(0);
        buf[..piece.len()].copy_from_slice(piece);
        Ok(piece.len())
    }
}

// ---------------------------------------------------------------------------------------
// Request bodies on the wire

#[test]
fn requests_without_a_body_announce_a_length_only_where_one_is_expected() {
    let (peer, rx) = recording_peer(5);
    let host = host_of(&peer);
    let mut conn = connect(&peer);
    let check = |expected: String| {
        assert_eq!(text(&rx.recv_timeout(WAIT).unwrap()), expected);
    };
    assert_eq!(conn.get("/g", no_headers()).unwrap().status, 204);
    check(format!("GET /g HTTP/1.1\r\nhost: {host}\r\n\r\n"));
    assert_eq!(conn.head("/h", no_headers()).unwrap().status, 204);
    check(format!("HEAD /h HTTP/1.1\r\nhost: {host}\r\n\r\n"));
    assert_eq!(conn.delete("/d", no_headers()).unwrap().status, 204);
    check(format!("DELETE /d HTTP/1.1\r\nhost: {host}\r\n\r\n"));
    assert_eq!(
        conn.put("/p", no_headers(), Body::empty()).unwrap().status,
        204
    );
    check(format!(
        "PUT /p HTTP/1.1\r\nhost: {host}\r\ncontent-length: 0\r\n\r\n"
    ));
    assert_eq!(conn.post("/o", no_headers(), ()).unwrap().status, 204);
    check(format!(
        "POST /o HTTP/1.1\r\nhost: {host}\r\ncontent-length: 0\r\n\r\n"
    ));
    assert!(conn.is_reusable());
    drop(conn);
    assert_eq!(peer.join(), b"");
}

#[test]
fn bytes_bodies_small_and_large() {
    let large = pattern(100 * 1024);
    let (peer, rx) = recording_peer(3);
    let host = host_of(&peer);
    let mut conn = connect(&peer);

    conn.put("/s", no_headers(), "hello").unwrap();
    assert_eq!(
        text(&rx.recv_timeout(WAIT).unwrap()),
        format!("PUT /s HTTP/1.1\r\nhost: {host}\r\ncontent-length: 5\r\n\r\nhello")
    );

    // Past 16 KiB the body is written straight from the caller's memory.
    for (target, body) in [
        ("/borrowed", Body::from(&large[..])),
        ("/owned", Body::from(large.clone())),
    ] {
        conn.post(target, no_headers(), body).unwrap();
        let mut expected = format!(
            "POST {target} HTTP/1.1\r\nhost: {host}\r\ncontent-length: {}\r\n\r\n",
            large.len()
        )
        .into_bytes();
        expected.extend_from_slice(&large);
        let got = rx.recv_timeout(WAIT).unwrap();
        assert!(got == expected, "{target}: {:?}", text(&got[..200]));
    }
    drop(conn);
    assert_eq!(peer.join(), b"");
}

#[test]
fn empty_bytes_body_sends_content_length_zero() {
    let (peer, rx) = recording_peer(2);
    let host = host_of(&peer);
    let mut conn = connect(&peer);
    assert_eq!(conn.put("/e", no_headers(), "").unwrap().status, 204);
    assert_eq!(
        text(&rx.recv_timeout(WAIT).unwrap()),
        format!("PUT /e HTTP/1.1\r\nhost: {host}\r\ncontent-length: 0\r\n\r\n")
    );
    assert_eq!(
        conn.post("/e", no_headers(), Vec::new()).unwrap().status,
        204
    );
    assert_eq!(
        text(&rx.recv_timeout(WAIT).unwrap()),
        format!("POST /e HTTP/1.1\r\nhost: {host}\r\ncontent-length: 0\r\n\r\n")
    );
    drop(conn);
    assert_eq!(peer.join(), b"");
}

#[test]
fn following_body_written_in_pieces_and_more_is_a_caller_error() {
    let (tx, rx) = mpsc::channel();
    let peer = Peer::tcp(move |mut c| {
        tx.send(c.read_request()).unwrap();
        c.write(&ok(b"got it"));
        tx.send(c.read_head()).unwrap();
        c.read_to_end()
    });
    let host = host_of(&peer);
    let mut conn = connect(&peer);
    conn.send_request(Method::PUT, "/f", no_headers(), Body::following(10))
        .unwrap();
    assert!(conn.response_pending());
    conn.write(b"abc").unwrap();
    conn.write(b"").unwrap();
    conn.write(b"defg").unwrap();
    conn.write(b"hij").unwrap();
    assert_eq!(
        text(&rx.recv_timeout(WAIT).unwrap()),
        format!("PUT /f HTTP/1.1\r\nhost: {host}\r\ncontent-length: 10\r\n\r\nabcdefghij")
    );
    let head = conn.read_response().unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(conn.read_all().unwrap(), b"got it");

    conn.send_request(Method::PUT, "/x", no_headers(), Body::following(3))
        .unwrap();
    let e = conn.write(b"abcd").unwrap_err();
    assert!(
        matches!(
            e,
            Error::Proto(pollhttp::proto::Error::LocalProtocol { .. })
        ),
        "{e:?}"
    );
    assert!(e.is_caller_error());
    assert_eq!(
        io::Error::from(e).kind(),
        io::ErrorKind::InvalidInput,
        "a caller error is InvalidInput"
    );
    assert_eq!(
        text(&rx.recv_timeout(WAIT).unwrap()),
        format!("PUT /x HTTP/1.1\r\nhost: {host}\r\ncontent-length: 3\r\n\r\n")
    );
    drop(conn);
    assert_eq!(peer.join(), b"", "nothing of the refused write went out");
}

#[test]
fn request_refuses_a_following_body() {
    let peer = Peer::tcp(|mut c| c.read_to_end());
    let mut conn = connect(&peer);
    let e = conn
        .request(Method::PUT, "/", no_headers(), Body::following(3))
        .unwrap_err();
    assert!(e.is_caller_error(), "{e:?}");
    assert!(!conn.response_pending());
    drop(conn);
    assert_eq!(peer.join(), b"");
}

#[test]
fn reader_body_sends_exactly_its_length() {
    let data = pattern(200_000 + 100);
    let expected = data[..200_000].to_vec();
    let (peer, rx) = recording_peer(1);
    let host = host_of(&peer);
    let mut conn = connect(&peer);
    let mut source = Cursor::new(data);
    let response = conn
        .put("/r", no_headers(), Body::reader(&mut source, 200_000))
        .unwrap();
    assert_eq!(response.status, 204);
    assert_eq!(source.position(), 200_000, "bytes beyond n are not read");
    let mut wire =
        format!("PUT /r HTTP/1.1\r\nhost: {host}\r\ncontent-length: 200000\r\n\r\n").into_bytes();
    wire.extend_from_slice(&expected);
    assert!(rx.recv_timeout(WAIT).unwrap() == wire);
    drop(conn);
    assert_eq!(peer.join(), b"");
}

#[test]
fn reader_body_ending_early_fails_the_connection() {
    let peer = Peer::tcp(|mut c| {
        let head = c.read_head();
        (head, c.read_to_end())
    });
    let host = host_of(&peer);
    let mut conn = connect(&peer);
    let e = conn
        .put(
            "/r",
            no_headers(),
            Body::reader(Cursor::new(b"0123456789".to_vec()), 20),
        )
        .unwrap_err();
    assert!(matches!(e, Error::Proto(_)), "{e:?}");
    assert!(!conn.is_reusable());
    // Failed for good: the same error again.
    assert_eq!(conn.read_response().unwrap_err().to_string(), e.to_string());
    assert_eq!(conn.write(b"x").unwrap_err().to_string(), e.to_string());
    drop(conn);
    let (head, rest) = peer.join();
    assert_eq!(
        text(&head),
        format!("PUT /r HTTP/1.1\r\nhost: {host}\r\ncontent-length: 20\r\n\r\n")
    );
    assert_eq!(rest, b"0123456789", "what the reader gave, and no more");
}

#[test]
fn a_failed_connection_refuses_new_requests_with_its_error() {
    let peer = Peer::tcp(|mut c| {
        c.read_head();
        c.read_to_end()
    });
    let mut conn = connect(&peer);
    let e = conn
        .put(
            "/r",
            no_headers(),
            Body::reader(Cursor::new(b"0123".to_vec()), 20),
        )
        .unwrap_err();
    let again = conn.get("/next", no_headers()).unwrap_err();
    assert_eq!(again.to_string(), e.to_string());
    drop(conn);
    peer.join();
}

#[test]
fn zero_length_reader_body_goes_out_with_send_request() {
    let (peer, rx) = recording_peer(1);
    let host = host_of(&peer);
    let mut conn = connect(&peer);
    conn.send_request(
        Method::PUT,
        "/z",
        no_headers(),
        Body::reader(io::empty(), 0),
    )
    .unwrap();
    // send_request has sent the request: the server has it before we read anything.
    let got = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("send_request returned without sending the request");
    assert_eq!(
        text(&got),
        format!("PUT /z HTTP/1.1\r\nhost: {host}\r\ncontent-length: 0\r\n\r\n")
    );
    assert_eq!(conn.read_response().unwrap().status, 204);
    drop(conn);
    assert_eq!(peer.join(), b"");
}

#[test]
fn chunked_reader_body_one_chunk_per_read_with_trailers() {
    let (peer, rx) = recording_peer(2);
    let host = host_of(&peer);
    let mut conn = connect(&peer);
    let mut trailers = HeaderMap::new();
    trailers.insert("x-md5", HeaderValue::from_static("abc123"));
    let body = Body::chunked_reader(Pieces(vec![b"ab", b"cde", b"f"])).with_trailers(trailers);
    assert!(body.is_chunked());
    conn.post("/c", headers(&[("x-a", "1")]), body).unwrap();
    assert_eq!(
        text(&rx.recv_timeout(WAIT).unwrap()),
        format!(
            "POST /c HTTP/1.1\r\nhost: {host}\r\nx-a: 1\r\ntransfer-encoding: chunked\r\n\r\n\
             2\r\nab\r\n3\r\ncde\r\n1\r\nf\r\n0\r\nx-md5: abc123\r\n\r\n"
        )
    );
    // A reader with nothing: just the last chunk.
    conn.post("/c", no_headers(), Body::chunked_reader(io::empty()))
        .unwrap();
    assert_eq!(
        text(&rx.recv_timeout(WAIT).unwrap()),
        format!("POST /c HTTP/1.1\r\nhost: {host}\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n")
    );
    drop(conn);
    assert_eq!(peer.join(), b"");
}

#[test]
fn chunks_with_extensions_and_trailers() {
    let (peer, rx) = recording_peer(1);
    let host = host_of(&peer);
    let mut conn = connect(&peer);
    let mut trailers = HeaderMap::new();
    trailers.insert("x-count", HeaderValue::from_static("3"));
    let body = Body::chunks(vec![
        Chunk::new("a"),
        Chunk::new("bc")
            .with_extension("k", Some("v"))
            .with_extension("flag", None)
            .with_extension("q", Some("two words")),
        Chunk::new(""),
        Chunk::new(vec![b'z'; 20]),
    ])
    .with_trailers(trailers);
    conn.put("/chunks", no_headers(), body).unwrap();
    assert_eq!(
        text(&rx.recv_timeout(WAIT).unwrap()),
        format!(
            "PUT /chunks HTTP/1.1\r\nhost: {host}\r\ntransfer-encoding: chunked\r\n\r\n\
             1\r\na\r\n2;k=v;flag;q=\"two words\"\r\nbc\r\n14\r\n{}\r\n0\r\nx-count: 3\r\n\r\n",
            "z".repeat(20)
        )
    );
    drop(conn);
    assert_eq!(peer.join(), b"");
}

#[test]
fn trailers_need_a_chunked_body() {
    let peer = Peer::tcp(|mut c| c.read_to_end());
    let mut conn = connect(&peer);
    let mut trailers = HeaderMap::new();
    trailers.insert("x-t", HeaderValue::from_static("1"));
    let e = conn
        .put("/", no_headers(), Body::from("abc").with_trailers(trailers))
        .unwrap_err();
    assert!(e.is_caller_error(), "{e:?}");
    drop(conn);
    assert_eq!(peer.join(), b"", "nothing sent");
}

#[test]
fn host_and_base_headers() {
    let (tx, rx) = mpsc::channel();
    let peer = Peer::tcp_many(move |acceptor| {
        for _ in 0..2 {
            let mut c = acceptor.accept();
            while let Some(request) = c.try_read_request() {
                tx.send(request).unwrap();
                c.write(NO_CONTENT);
            }
        }
    });
    let port = match peer.address() {
        Address::Tcp(a) => a.port(),
        other => panic!("{other:?}"),
    };

    // From the address. Without the pool: the peer expects a connection per client.
    let client = peer
        .client()
        .without_pool()
        .with_base_header("user-agent", "pollhttp-test/1");
    assert_eq!(
        client.base_headers().get("host").unwrap(),
        &format!("127.0.0.1:{port}")
    );
    let mut conn = client.connect().unwrap();
    conn.get("/1", no_headers()).unwrap();
    assert_eq!(
        text(&rx.recv_timeout(WAIT).unwrap()),
        format!("GET /1 HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nuser-agent: pollhttp-test/1\r\n\r\n")
    );
    // The request's own fields win over the base ones.
    conn.get(
        "/2",
        headers(&[
            ("host", "example.net"),
            ("user-agent", "mine"),
            ("x-a", "1"),
        ]),
    )
    .unwrap();
    assert_eq!(
        text(&rx.recv_timeout(WAIT).unwrap()),
        "GET /2 HTTP/1.1\r\nhost: example.net\r\nuser-agent: mine\r\nx-a: 1\r\n\r\n"
    );
    drop(conn);

    // with_host replaces the derived one.
    let client = client.with_host("example.org");
    let mut conn = client.connect().unwrap();
    conn.get("/3", headers(&[("accept", "*/*")])).unwrap();
    assert_eq!(
        text(&rx.recv_timeout(WAIT).unwrap()),
        "GET /3 HTTP/1.1\r\nhost: example.org\r\naccept: */*\r\nuser-agent: pollhttp-test/1\r\n\r\n"
    );
    drop(conn);
    peer.join();
}

#[test]
fn resolving_client_sends_the_name_as_host() {
    let (tx, rx) = mpsc::channel();
    let peer = Peer::tcp(move |mut c| {
        tx.send(c.read_request()).unwrap();
        c.write(&ok(b"hi"));
        c.read_to_end()
    });
    let port = match peer.address() {
        Address::Tcp(a) => a.port(),
        other => panic!("{other:?}"),
    };
    // "localhost" may resolve to ::1 first, where nothing listens: the next address is
    // tried.
    let client = Client::resolving("localhost", port).with_timeout(Some(WAIT));
    let mut conn = client.connect().unwrap();
    let mut response = conn.get("/", no_headers()).unwrap();
    assert_eq!(response.body.read_all().unwrap(), b"hi");
    assert_eq!(
        text(&rx.recv_timeout(WAIT).unwrap()),
        format!("GET / HTTP/1.1\r\nhost: localhost:{port}\r\n\r\n")
    );
    // The connection waits in the client's pool until the client is dropped too.
    drop(conn);
    drop(client);
    assert_eq!(peer.join(), b"");
}

// ---------------------------------------------------------------------------------------
// Responses

#[test]
fn content_length_response_head_and_body() {
    let peer = Peer::tcp(|mut c| {
        c.read_request();
        c.write(
            b"HTTP/1.1 201 Made It\r\nContent-Length: 5\r\nX-Thing: a\r\nx-thing: b\r\n\r\nhello",
        );
        c.read_to_end()
    });
    let mut conn = connect(&peer);
    let mut response = conn.get("/", no_headers()).unwrap();
    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(response.reason, "Made It");
    assert_eq!(response.version, Version::HTTP_11);
    assert_eq!(response.headers.get("content-length").unwrap(), "5");
    let things: Vec<_> = response.headers.get_all("x-thing").iter().collect();
    assert_eq!(things, ["a", "b"]);
    assert_eq!(response.body.framing(), Framing::Length(5));
    assert_eq!(response.body.content_length(), Some(5));
    assert_eq!(response.body.read_all().unwrap(), b"hello");
    assert!(response.body.trailers().is_empty());
    assert!(!conn.response_pending());
    assert!(conn.is_reusable());
    drop(conn);
    assert_eq!(peer.join(), b"");
}

#[test]
fn chunked_response_with_trailers() {
    let peer = Peer::tcp(|mut c| {
        for _ in 0..2 {
            c.read_request();
            let mut r = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
            r.extend(chunked_body(
                &[b"hello ", b"world"],
                "x-checksum: 42\r\nx-more: yes\r\n",
            ));
            c.write(&r);
        }
        c.read_to_end()
    });
    let mut conn = connect(&peer);
    {
        let mut response = conn.get("/1", no_headers()).unwrap();
        assert_eq!(response.body.framing(), Framing::Chunked);
        assert_eq!(response.body.content_length(), None);
        assert!(response.body.trailers().is_empty(), "none before the end");
        let mut first = [0u8; 3];
        assert_eq!(response.body.read_into(&mut first).unwrap(), 3);
        assert!(response.body.trailers().is_empty(), "none before the end");
        assert_eq!(response.body.read_all().unwrap(), b"lo world");
        let trailers = response.body.trailers();
        assert_eq!(trailers.get("x-checksum").unwrap(), "42");
        assert_eq!(trailers.get("x-more").unwrap(), "yes");
    }
    conn.send_request(Method::GET, "/2", no_headers(), Body::empty())
        .unwrap();
    let head = conn.read_response().unwrap();
    assert_eq!(head.framing, Framing::Chunked);
    assert_eq!(head.content_length(), None);
    assert_eq!(conn.read_all().unwrap(), b"hello world");
    assert_eq!(conn.trailers().get("x-checksum").unwrap(), "42");
    drop(conn);
    assert_eq!(peer.join(), b"");
}

#[test]
fn response_read_until_close() {
    let peer = Peer::tcp(|mut c| {
        c.read_request();
        c.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of ");
        c.write(b"this, until the end");
    });
    let mut conn = connect(&peer);
    let mut response = conn.get("/", no_headers()).unwrap();
    assert_eq!(response.body.framing(), Framing::UntilClose);
    assert_eq!(response.body.content_length(), None);
    assert_eq!(
        response.body.read_all().unwrap(),
        b"all of this, until the end"
    );
    assert!(!conn.is_reusable());
    peer.join();
}

#[test]
fn head_and_no_body_statuses_are_complete_at_once() {
    let peer = Peer::tcp(|mut c| {
        c.read_request();
        c.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n");
        c.read_request();
        c.write(b"HTTP/1.1 204 No Content\r\n\r\n");
        c.read_request();
        c.write(b"HTTP/1.1 304 Not Modified\r\ncontent-length: 10\r\n\r\n");
        c.read_request();
        c.write(&ok(b"after"));
        c.read_to_end()
    });
    let mut conn = connect(&peer);
    let response = conn.head("/", no_headers()).unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.headers.get("content-length").unwrap(), "1000");
    assert_eq!(response.body.framing(), Framing::None);
    assert!(
        !conn.response_pending(),
        "a HEAD response has no body to read"
    );
    let response = conn.get("/204", no_headers()).unwrap();
    assert_eq!(response.status, 204);
    assert_eq!(response.body.content_length(), Some(0));
    let response = conn
        .get("/304", headers(&[("if-none-match", "\"x\"")]))
        .unwrap();
    assert_eq!(response.status, 304);
    assert_eq!(response.body.framing(), Framing::None);
    assert!(!conn.response_pending());
    let mut response = conn.get("/next", no_headers()).unwrap();
    assert_eq!(response.body.read_all().unwrap(), b"after");
    drop(conn);
    assert_eq!(peer.join(), b"");
}

#[test]
fn informational_responses_are_skipped() {
    let peer = Peer::tcp(|mut c| {
        c.read_request();
        c.write(b"HTTP/1.1 102 Processing\r\n\r\n");
        c.write(b"HTTP/1.1 103 Early Hints\r\nlink: </s.css>; rel=preload\r\n\r\n");
        c.write(b"HTTP/1.1 100 Continue\r\n\r\n");
        c.write(&ok(b"final"));
        c.read_to_end()
    });
    let mut conn = connect(&peer);
    let mut response = conn.get("/", no_headers()).unwrap();
    assert_eq!(response.status, 200);
    assert!(response.headers.get("link").is_none());
    assert_eq!(response.body.read_all().unwrap(), b"final");
    drop(conn);
    assert_eq!(peer.join(), b"");
}

#[test]
fn read_with_a_maximum_and_read_into() {
    let peer = Peer::tcp(|mut c| {
        c.read_request();
        c.write(&ok(b"hello world"));
        c.read_to_end()
    });
    let mut conn = connect(&peer);
    conn.send_request(Method::GET, "/", no_headers(), ())
        .unwrap();
    let head = conn.read_response().unwrap();
    assert_eq!(head.content_length(), Some(11));
    assert_eq!(conn.read(3).unwrap(), b"hel");
    let mut buf = [0u8; 4];
    assert_eq!(conn.read_into(&mut buf).unwrap(), 4);
    assert_eq!(&buf, b"lo w");
    assert_eq!(conn.read(100).unwrap(), b"orld");
    // The end, and again.
    assert_eq!(conn.read(100).unwrap(), b"");
    assert_eq!(conn.read_into(&mut buf).unwrap(), 0);
    assert_eq!(conn.read_all().unwrap(), b"");
    assert!(!conn.response_pending());
    drop(conn);
    assert_eq!(peer.join(), b"");
}

#[test]
fn ten_megabytes_byte_exact_through_small_and_large_buffers() {
    const N: usize = 10 * 1000 * 1000;
    let peer = Peer::tcp(|mut c| {
        let body = pattern(N);
        c.read_request();
        c.write(format!("HTTP/1.1 200 OK\r\ncontent-length: {N}\r\n\r\n").as_bytes());
        c.write(&body);
        c.read_request();
        c.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
        let pieces: Vec<&[u8]> = body.chunks(1 << 20).collect();
        c.write(&chunked_body(&pieces, ""));
        c.read_to_end()
    });
    let expected = pattern(N);
    let mut conn = connect(&peer);
    for target in ["/length", "/chunked"] {
        conn.send_request(Method::GET, target, no_headers(), ())
            .unwrap();
        conn.read_response().unwrap();
        let mut got = Vec::with_capacity(N);
        // Small reads first (through the connection's buffer)...
        for _ in 0..50 {
            got.extend(conn.read(100).unwrap());
        }
        // ...then a large buffer, filled straight from the socket.
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = conn.read_into(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got.len(), N, "{target}");
        if let Some(i) = got.iter().zip(&expected).position(|(a, b)| a != b) {
            panic!("{target}: first difference at byte {i}");
        }
    }
    drop(conn);
    assert_eq!(peer.join(), b"");
}

#[test]
fn read_all_and_discard() {
    let peer = Peer::tcp(|mut c| {
        c.read_request();
        c.write(&ok(&pattern(70_000)));
        c.read_request();
        c.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
        c.write(&chunked_body(&[&pattern(1000), b"x"], "x-t: 1\r\n"));
        c.read_request();
        c.write(&ok(b"third"));
        c.read_to_end()
    });
    let mut conn = connect(&peer);
    assert!(
        conn.get("/1", no_headers())
            .unwrap()
            .body
            .read_all()
            .unwrap()
            == pattern(70_000)
    );
    assert_eq!(
        conn.get("/2", no_headers())
            .unwrap()
            .body
            .discard()
            .unwrap(),
        1001
    );
    assert_eq!(conn.trailers().get("x-t").unwrap(), "1");
    let mut response = conn.get("/3", no_headers()).unwrap();
    assert_eq!(response.body.read_all().unwrap(), b"third");
    assert_eq!(conn.discard().unwrap(), 0, "nothing left");
    drop(conn);
    assert_eq!(peer.join(), b"");
}

#[test]
fn body_reader_is_an_io_read() {
    let peer = Peer::tcp(|mut c| {
        c.read_request();
        c.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
        c.write(&chunked_body(&[&pattern(100_000), &pattern(5)], ""));
        c.read_to_end()
    });
    let mut conn = connect(&peer);
    let mut response = conn.get("/", no_headers()).unwrap();
    let mut out = Vec::new();
    assert_eq!(io::copy(&mut response.body, &mut out).unwrap(), 100_005);
    let mut expected = pattern(100_000);
    expected.extend(pattern(5));
    assert!(out == expected);
    drop(conn);
    assert_eq!(peer.join(), b"");
}

// ---------------------------------------------------------------------------------------
// Pipelining

#[test]
fn pipelined_requests_answered_in_order_head_and_get_mixed() {
    let peer = Peer::tcp(|mut c| {
        let heads: Vec<Vec<u8>> = (0..4).map(|_| c.read_request()).collect();
        let mut all = Vec::new();
        all.extend(ok(b"one"));
        all.extend_from_slice(b"HTTP/1.1 200 OK\r\ncontent-length: 2000\r\n\r\n");
        all.extend(ok(b"three"));
        all.extend_from_slice(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
        all.extend(ok(b"five"));
        c.write(&all);
        (heads, c.read_request(), c.read_to_end())
    });
    let host = host_of(&peer);
    let mut conn = connect(&peer);
    for (method, target) in [
        (Method::GET, "/1"),
        (Method::HEAD, "/2"),
        (Method::GET, "/3"),
        (Method::HEAD, "/4"),
    ] {
        conn.send_request(method, target, no_headers(), Body::empty())
            .unwrap();
    }
    conn.send_request(Method::GET, "/5", no_headers(), Body::empty())
        .unwrap();
    assert_eq!(conn.stream().responses_pending(), 5);

    let head = conn.read_response().unwrap();
    assert_eq!(head.framing, Framing::Length(3));
    assert_eq!(conn.read_all().unwrap(), b"one");
    let head = conn.read_response().unwrap();
    assert_eq!(
        head.framing,
        Framing::None,
        "HEAD: no body whatever it announces"
    );
    assert_eq!(head.headers.get("content-length").unwrap(), "2000");
    let head = conn.read_response().unwrap();
    assert_eq!(head.framing, Framing::Length(5));
    assert_eq!(conn.read_all().unwrap(), b"three");
    let head = conn.read_response().unwrap();
    assert_eq!(head.framing, Framing::None);
    assert_eq!(conn.stream().responses_pending(), 1);
    conn.read_response().unwrap();
    assert_eq!(conn.read_all().unwrap(), b"five");
    assert!(!conn.response_pending());
    drop(conn);
    let (heads, fifth, rest) = peer.join();
    let expected: Vec<String> = ["GET /1", "HEAD /2", "GET /3", "HEAD /4"]
        .iter()
        .map(|line| format!("{line} HTTP/1.1\r\nhost: {host}\r\n\r\n"))
        .collect();
    let heads: Vec<String> = heads.iter().map(|h| text(h)).collect();
    assert_eq!(heads, expected);
    assert_eq!(
        text(&fifth),
        format!("GET /5 HTTP/1.1\r\nhost: {host}\r\n\r\n")
    );
    assert_eq!(rest, b"");
}

#[test]
fn pipelining_many_requests_while_reading_as_they_come() {
    // The blocking calls pipeline too, as long as the responses are read as we go.
    const N: usize = 2000;
    let peer = Peer::tcp(|c| c.serve_http(|r| peer::Reply::ok(r.target.clone())));
    let mut conn = connect(&peer);
    let mut next_read = 0;
    for i in 0..N {
        conn.send_request(Method::GET, &format!("/{i}"), no_headers(), ())
            .unwrap();
        if i >= 16 {
            conn.read_response().unwrap();
            assert_eq!(text(&conn.read_all().unwrap()), format!("/{next_read}"));
            next_read += 1;
        }
    }
    while conn.response_pending() {
        conn.read_response().unwrap();
        assert_eq!(text(&conn.read_all().unwrap()), format!("/{next_read}"));
        next_read += 1;
    }
    assert_eq!(next_read, N);
    drop(conn);
    assert_eq!(peer.join().len(), N);
}

// ---------------------------------------------------------------------------------------
// 100-continue

#[test]
fn request_with_expect_continue_sends_the_body_after_the_100() {
    let flag = Arc::new(AtomicBool::new(false));
    let seen = flag.clone();
    let peer = Peer::tcp(move |mut c| {
        let head = c.read_head();
        // The client has not even begun reading its body source.
        assert!(!seen.load(Ordering::SeqCst), "body read before the 100");
        assert!(
            c.buffered().is_empty() && !c.readable_now(),
            "body before the 100"
        );
        c.write(b"HTTP/1.1 100 Continue\r\n\r\n");
        let body = c.read_exact(11);
        c.write(&ok(b"stored"));
        (head, body, c.read_to_end())
    });
    let host = host_of(&peer);
    let mut conn = connect(&peer);
    let body = hello_world_flagging(flag);
    let mut response = conn
        .request(
            Method::PUT,
            "/doc",
            headers(&[("expect", "100-continue")]),
            body,
        )
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body.read_all().unwrap(), b"stored");
    assert!(conn.is_reusable());
    drop(conn);
    let (head, body, rest) = peer.join();
    assert_eq!(
        text(&head),
        format!("PUT /doc HTTP/1.1\r\nhost: {host}\r\nexpect: 100-continue\r\ncontent-length: 11\r\n\r\n")
    );
    assert_eq!(body, b"hello world");
    assert_eq!(rest, b"");
}

/// On a connection of its own (no client to make another one), a 417 is the response:
/// the body is not sent, and the connection takes no more requests.
#[test]
fn request_with_expect_continue_refused_at_once() {
    let flag = Arc::new(AtomicBool::new(false));
    let peer = Peer::tcp(|mut c| {
        let head = c.read_head();
        c.write(b"HTTP/1.1 417 Expectation Failed\r\ncontent-length: 4\r\n\r\nnope");
        (head, c.read_to_end())
    });
    let stream = connect(&peer).into_stream();
    let mut base = HeaderMap::new();
    base.insert("host", HeaderValue::from_str(&host_of(&peer)).unwrap());
    let mut conn = Connection::from_stream(stream, Some(WAIT), base);
    let body = hello_world_flagging(flag.clone());
    let mut response = conn
        .request(
            Method::PUT,
            "/doc",
            headers(&[("expect", "100-continue")]),
            body,
        )
        .unwrap();
    assert_eq!(response.status, StatusCode::EXPECTATION_FAILED);
    assert_eq!(response.body.read_all().unwrap(), b"nope");
    assert!(
        !flag.load(Ordering::SeqCst),
        "the body source was not touched"
    );
    assert!(!conn.is_reusable());
    assert!(conn.get("/", no_headers()).is_err());
    drop(conn);
    let (head, rest) = peer.join();
    assert!(text(&head).starts_with("PUT /doc HTTP/1.1\r\n"));
    assert_eq!(rest, b"", "the body was not sent");
}

/// RFC 9110 §10.1.1: "A client that receives a 417 (Expectation Failed) status code in
/// response to a request containing a 100-continue expectation SHOULD repeat that request
/// without a 100-continue expectation". The body was held back, so even a reader body is
/// intact: the request goes again, on a new connection.
#[test]
fn request_refused_with_417_goes_again_without_the_expectation() {
    let flag = Arc::new(AtomicBool::new(false));
    let seen = flag.clone();
    let peer = Peer::tcp_many(move |acceptor| {
        let mut first = acceptor.accept();
        let refused = first.read_head();
        assert!(!seen.load(Ordering::SeqCst), "body read before the 417");
        first.write(b"HTTP/1.1 417 Expectation Failed\r\ncontent-length: 4\r\n\r\nnope");
        let mut second = acceptor.accept();
        let again = second.read_request();
        second.write(&ok(b"stored"));
        (refused, first.read_to_end(), again, second.read_to_end())
    });
    let host = host_of(&peer);
    let mut conn = connect(&peer);
    let body = hello_world_flagging(flag);
    let mut response = conn
        .request(
            Method::PUT,
            "/doc",
            headers(&[("expect", "100-continue"), ("x-keep", "1")]),
            body,
        )
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body.read_all().unwrap(), b"stored");
    assert!(conn.is_reusable());
    assert!(!conn.is_reused());
    drop(conn);
    let (refused, rest, again, end) = peer.join();
    assert_eq!(
        text(&refused),
        format!("PUT /doc HTTP/1.1\r\nhost: {host}\r\nexpect: 100-continue\r\nx-keep: 1\r\ncontent-length: 11\r\n\r\n")
    );
    assert_eq!(rest, b"", "the body did not go on the refused connection");
    assert_eq!(
        text(&again),
        format!("PUT /doc HTTP/1.1\r\nhost: {host}\r\nx-keep: 1\r\ncontent-length: 11\r\n\r\nhello world")
    );
    assert_eq!(end, b"");
}

/// RFC 9110 §10.1.1: a client "SHOULD NOT wait for an indefinite period before sending the
/// content". A server that ignores the expectation (it waits for the body, no 100) gets
/// the body after the continue wait (1 s by default), well within the timeout.
#[test]
fn request_with_expect_continue_sends_the_body_when_no_100_comes() {
    let peer = Peer::tcp(|mut c| {
        let head = c.read_head();
        let start = Instant::now();
        let body = c.read_exact(11);
        let waited = start.elapsed();
        c.write(&ok(b"stored"));
        (head, body, waited, c.read_to_end())
    });
    let client = peer.client().with_timeout(Some(Duration::from_secs(4)));
    assert_eq!(client.continue_wait(), Duration::from_secs(1));
    let mut conn = client.connect().unwrap();
    let mut response = conn
        .request(
            Method::PUT,
            "/doc",
            headers(&[("expect", "100-continue")]),
            Body::reader(Cursor::new(b"hello world".to_vec()), 11),
        )
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body.read_all().unwrap(), b"stored");
    assert!(conn.is_reusable());
    drop((conn, client));
    let (head, body, waited, rest) = peer.join();
    assert!(text(&head).contains("\r\nexpect: 100-continue\r\n"));
    assert_eq!(body, b"hello world");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(3),
        "the body came after {waited:?}"
    );
    assert_eq!(rest, b"");
}

/// The same with `send_request`, `wait_for_continue` and `write`, and a wait of our own.
#[test]
fn wait_for_continue_gives_up_after_the_continue_wait() {
    let (tx, rx) = mpsc::channel();
    let peer = Peer::tcp(move |mut c| {
        tx.send(c.read_head()).unwrap();
        let body = c.read_exact(5);
        c.write(NO_CONTENT);
        (body, c.read_to_end())
    });
    let client = peer
        .client()
        .with_timeout(Some(Duration::from_secs(4)))
        .with_continue_wait(Duration::from_millis(200));
    let mut conn = client.connect().unwrap();
    assert_eq!(conn.continue_wait(), Duration::from_millis(200));
    conn.send_request(
        Method::PUT,
        "/doc",
        headers(&[("expect", "100-continue")]),
        Body::following(5),
    )
    .unwrap();
    assert!(text(&rx.recv_timeout(WAIT).unwrap()).contains("\r\nexpect: 100-continue\r\n"));
    let start = Instant::now();
    assert_eq!(conn.wait_for_continue().unwrap(), None);
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(190) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
    conn.write(b"hello").unwrap();
    assert_eq!(conn.read_response().unwrap().status, 204);
    assert!(conn.is_reusable());
    drop((conn, client));
    let (body, rest) = peer.join();
    assert_eq!(body, b"hello");
    assert_eq!(rest, b"");
}

#[test]
fn send_request_write_and_read_response_with_expect_continue() {
    let (tx, rx) = mpsc::channel();
    let peer = Peer::tcp(move |mut c| {
        tx.send(c.read_head()).unwrap();
        c.write(b"HTTP/1.1 100 Continue\r\n\r\n");
        tx.send(c.read_exact(5)).unwrap();
        c.write(NO_CONTENT);
        c.read_to_end()
    });
    let mut conn = connect(&peer);
    conn.send_request(
        Method::PUT,
        "/doc",
        headers(&[("expect", "100-continue")]),
        Body::following(5),
    )
    .unwrap();
    assert!(text(&rx.recv_timeout(WAIT).unwrap()).contains("\r\nexpect: 100-continue\r\n"));
    let e = conn.write(b"hello").unwrap_err();
    assert!(e.is_caller_error(), "writing before the 100: {e:?}");
    let head = conn.read_response().unwrap();
    assert_eq!(head.status, StatusCode::CONTINUE);
    assert_eq!(head.reason, "Continue");
    assert!(conn.response_pending());
    conn.write(b"hello").unwrap();
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), b"hello");
    assert_eq!(conn.read_response().unwrap().status, 204);
    assert!(!conn.response_pending());
    assert!(conn.is_reusable());
    drop(conn);
    assert_eq!(peer.join(), b"");
}

// ---------------------------------------------------------------------------------------
// Errors

/// A peer that answers each of `n` connections with `response` to its first request,
/// then closes.
fn answer_and_close(n: usize, response: &'static [u8]) -> Peer<()> {
    Peer::tcp_many(move |acceptor| {
        for _ in 0..n {
            let mut c = acceptor.accept();
            c.read_request();
            c.write(response);
        }
    })
}

fn body_cut_short(response: &'static [u8], delivered: &[u8]) {
    let peer = answer_and_close(3, response);
    let client = peer.client();

    // read_all: an error, never the short body.
    let mut conn = client.connect().unwrap();
    let e = conn
        .get("/", no_headers())
        .unwrap()
        .body
        .read_all()
        .unwrap_err();
    assert_closed(&e);
    // Failed for good.
    assert_eq!(conn.read(10).unwrap_err().to_string(), e.to_string());
    assert_eq!(conn.read_response().unwrap_err().to_string(), e.to_string());

    // read: the bytes that came, then the error (never an empty read).
    let mut conn = client.connect().unwrap();
    conn.send_request(Method::GET, "/", no_headers(), ())
        .unwrap();
    conn.read_response().unwrap();
    let mut got = Vec::new();
    let e = loop {
        match conn.read(3) {
            Ok(piece) if piece.is_empty() => panic!("a clean end after {got:?}"),
            Ok(piece) => got.extend(piece),
            Err(e) => break e,
        }
    };
    assert_closed(&e);
    assert_eq!(got, delivered);

    // std::io::Read: UnexpectedEof.
    let mut conn = client.connect().unwrap();
    let mut response = conn.get("/", no_headers()).unwrap();
    let mut got = Vec::new();
    let e = response.body.read_to_end(&mut got).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
    assert_eq!(got, delivered);
    peer.join();
}

#[test]
fn content_length_body_cut_short_is_connection_closed() {
    body_cut_short(
        b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabcd",
        b"abcd",
    );
}

#[test]
fn chunked_body_cut_short_is_connection_closed() {
    body_cut_short(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\nabcd\r\n6\r\nef",
        b"abcdef",
    );
}

#[test]
fn chunked_body_without_its_last_chunk_is_connection_closed() {
    body_cut_short(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\nabcd\r\n",
        b"abcd",
    );
}

#[test]
fn reset_in_the_middle_of_a_body_is_connection_closed() {
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let peer = Peer::tcp(move |mut c| {
        c.read_request();
        c.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n0123456789");
        go_rx.recv().unwrap();
        c.reset();
    });
    let mut conn = connect(&peer);
    conn.send_request(Method::GET, "/", no_headers(), ())
        .unwrap();
    assert_eq!(conn.read_response().unwrap().framing, Framing::Length(1000));
    go_tx.send(()).unwrap();
    peer.join();
    let mut got = Vec::new();
    let e = loop {
        match conn.read(100) {
            Ok(piece) if piece.is_empty() => panic!("a clean end after {got:?}"),
            Ok(piece) => got.extend(piece),
            Err(e) => break e,
        }
    };
    assert_closed(&e);
    assert!(got.len() <= 10);
}

#[test]
fn peer_closing_with_requests_unanswered() {
    let peer = Peer::tcp(|mut c| {
        c.read_request();
        c.read_request();
        c.write(&ok(b"one"));
    });
    let mut conn = connect(&peer);
    conn.send_request(Method::GET, "/1", no_headers(), ())
        .unwrap();
    conn.send_request(Method::GET, "/2", no_headers(), ())
        .unwrap();
    assert_eq!(conn.read_response().unwrap().status, 200);
    assert_eq!(conn.read_all().unwrap(), b"one");
    let e = conn.read_response().unwrap_err();
    assert_closed(&e);
    assert_eq!(io::Error::from(e).kind(), io::ErrorKind::UnexpectedEof);
    assert!(!conn.is_reusable());
    peer.join();
}

#[test]
fn connection_close_leaves_later_requests_unanswered() {
    let peer = Peer::tcp(|mut c| {
        c.read_request();
        c.read_request();
        // The second request is ignored: this response closes the connection.
        c.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 3\r\n\r\none");
    });
    let mut conn = connect(&peer);
    conn.send_request(Method::GET, "/1", no_headers(), ())
        .unwrap();
    conn.send_request(Method::GET, "/2", no_headers(), ())
        .unwrap();
    let head = conn.read_response().unwrap();
    assert_eq!(head.headers.get("connection").unwrap(), "close");
    assert!(!conn.is_reusable());
    assert_eq!(conn.read_all().unwrap(), b"one");
    assert!(
        conn.response_pending(),
        "the second request was never answered"
    );
    let e = conn.read_response().unwrap_err();
    assert_closed(&e);
    peer.join();
}

/// dugong's `aborted_write1`: the server reads part of a large upload, answers 401 with
/// `connection: close` and closes (with the rest unread, so the kernel resets).
#[test]
fn early_response_to_an_aborted_upload_can_still_be_read() {
    let peer = Peer::tcp(|mut c| {
        let head = c.read_head();
        c.read_exact(64 * 1024);
        c.write(b"HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 12\r\n\r\nunauthorized");
        head
    });
    let mut conn = connect(&peer);
    const TOTAL: u64 = 64 * 1024 * 1024;
    conn.send_request(Method::PUT, "/up", no_headers(), Body::following(TOTAL))
        .unwrap();
    let piece = vec![b'u'; 1 << 20];
    let mut write_error = None;
    for _ in 0..TOTAL / piece.len() as u64 {
        if let Err(e) = conn.write(&piece) {
            write_error = Some(e);
            break;
        }
    }
    let head = peer.join();
    assert!(text(&head).starts_with("PUT /up HTTP/1.1\r\n"));
    if let Some(e) = &write_error {
        assert_closed(e);
        // Sending has stopped for good.
        assert_eq!(conn.write(&piece).unwrap_err().to_string(), e.to_string());
    }
    let head = conn.read_response().unwrap();
    assert_eq!(head.status, StatusCode::UNAUTHORIZED);
    assert_eq!(conn.read_all().unwrap(), b"unauthorized");
    assert!(!conn.is_reusable());
    assert!(
        write_error.is_some(),
        "64 MiB went into a closed connection"
    );
}

/// dugong's `aborted_write2`: the same, but the server closes without a word.
#[test]
fn aborted_upload_without_a_response_is_connection_closed() {
    let peer = Peer::tcp(|mut c| {
        c.read_head();
        c.read_exact(64 * 1024);
    });
    let mut conn = connect(&peer);
    const TOTAL: u64 = 64 * 1024 * 1024;
    conn.send_request(Method::PUT, "/up", no_headers(), Body::following(TOTAL))
        .unwrap();
    let piece = vec![b'u'; 1 << 20];
    let mut write_error = None;
    for _ in 0..TOTAL / piece.len() as u64 {
        if let Err(e) = conn.write(&piece) {
            write_error = Some(e);
            break;
        }
    }
    peer.join();
    assert_closed(&write_error.expect("64 MiB went into a closed connection"));
    let e = conn.read_response().unwrap_err();
    assert_closed(&e);
    assert_eq!(conn.read_response().unwrap_err().to_string(), e.to_string());
}

#[test]
fn malformed_response_is_a_remote_protocol_error_and_sticky() {
    let peer = answer_and_close(2, b"HTTP/1.1 2x0 OK\r\ncontent-length: 0\r\n\r\n");
    let mut conn = connect(&peer);
    let e = conn.get("/", no_headers()).unwrap_err();
    assert!(matches!(&e, Error::Proto(p) if p.is_remote()), "{e:?}");
    assert!(!e.is_caller_error());
    assert!(!e.is_temporary());
    assert_eq!(
        io::Error::from(e.clone()).kind(),
        io::ErrorKind::InvalidData
    );
    assert!(!conn.is_reusable());
    assert_eq!(conn.read_response().unwrap_err().to_string(), e.to_string());
    assert_eq!(conn.read(1).unwrap_err().to_string(), e.to_string());

    let mut conn = connect(&peer);
    conn.send_request(Method::GET, "/", no_headers(), ())
        .unwrap();
    let e = conn.read_response().unwrap_err();
    assert!(matches!(&e, Error::Proto(p) if p.is_remote()), "{e:?}");
    peer.join();
}

#[test]
fn garbage_instead_of_a_response_is_a_protocol_error() {
    let peer = answer_and_close(1, b"SSH-2.0-OpenSSH_9.6\r\n\r\n");
    let mut conn = connect(&peer);
    let e = conn.get("/", no_headers()).unwrap_err();
    assert!(matches!(&e, Error::Proto(p) if p.is_remote()), "{e:?}");
    peer.join();
}

#[test]
fn http_2_status_line_is_an_unsupported_response() {
    let peer = answer_and_close(1, b"HTTP/2.0 200 OK\r\ncontent-length: 0\r\n\r\n");
    let mut conn = connect(&peer);
    let e = conn.get("/", no_headers()).unwrap_err();
    assert!(matches!(e, Error::UnsupportedResponse { .. }), "{e:?}");
    assert!(!e.is_temporary());
    assert_eq!(io::Error::from(e).kind(), io::ErrorKind::Unsupported);
    peer.join();
}

#[test]
fn codings_other_than_chunked_are_handed_over_still_applied() {
    // RFC 9112 §6.3(4): chunked final frames the body (and is decoded); anything else
    // ends with the close. The other codings stay applied, as the field says.
    let peer = answer_and_close(
        1,
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n3\r\n\x1f\x8b\x08\r\n0\r\n\r\n",
    );
    let mut conn = connect(&peer);
    let mut response = conn.get("/", no_headers()).unwrap();
    assert_eq!(response.headers["transfer-encoding"], "gzip, chunked");
    assert_eq!(response.body.framing(), Framing::Chunked);
    assert_eq!(response.body.read_all().unwrap(), b"\x1f\x8b\x08");
    drop(response);
    let peer2 = answer_and_close(
        1,
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n\x1f\x8b\x08\x00",
    );
    let mut conn2 = connect(&peer2);
    let mut response = conn2.get("/", no_headers()).unwrap();
    assert_eq!(response.body.framing(), Framing::UntilClose);
    assert_eq!(response.body.read_all().unwrap(), b"\x1f\x8b\x08\x00");
    drop(response);
    drop(conn);
    drop(conn2);
    peer.join();
    peer2.join();
}

#[test]
fn http_1_0_response_is_read_and_ends_the_connection() {
    let peer = Peer::tcp(|mut c| {
        c.read_request();
        c.write(b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nhi");
        c.read_to_end()
    });
    let mut conn = connect(&peer);
    let mut response = conn.get("/", no_headers()).unwrap();
    assert_eq!(response.version, Version::HTTP_10);
    assert_eq!(response.body.read_all().unwrap(), b"hi");
    assert!(!conn.is_reusable());
    drop(conn);
    assert_eq!(peer.join(), b"");
}

#[test]
fn timeout_when_the_server_never_answers() {
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let peer = Peer::tcp(move |mut c| {
        let request = c.read_request();
        done_rx.recv_timeout(WAIT).unwrap();
        request
    });
    let client = Client::new(peer.address()).with_timeout(Some(Duration::from_millis(200)));
    assert_eq!(client.timeout(), Some(Duration::from_millis(200)));
    let mut conn = client.connect().unwrap();
    let start = Instant::now();
    let e = conn.get("/slow", no_headers()).unwrap_err();
    let waited = start.elapsed();
    assert!(matches!(e, Error::Timeout), "{e:?}");
    assert!(e.is_temporary());
    assert_eq!(io::Error::from(e).kind(), io::ErrorKind::TimedOut);
    assert!(waited >= Duration::from_millis(200), "{waited:?}");
    done_tx.send(()).unwrap();
    assert!(text(&peer.join()).starts_with("GET /slow "));
}

#[test]
fn connect_refused_is_a_temporary_io_error() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = Client::new(Address::from(([127, 0, 0, 1], port)));
    let e = client.connect().unwrap_err();
    match &e {
        Error::Io(io) => assert_eq!(io.kind(), io::ErrorKind::ConnectionRefused),
        other => panic!("{other:?}"),
    }
    assert!(e.is_temporary());
    assert!(!e.is_caller_error());
    assert_eq!(io::Error::from(e).kind(), io::ErrorKind::ConnectionRefused);
}

#[test]
fn missing_unix_socket_is_an_io_error() {
    let path = std::env::temp_dir().join(format!("pollhttp-client-none-{}", std::process::id()));
    let e = Client::new(Address::Unix(path)).connect().unwrap_err();
    match &e {
        Error::Io(io) => assert_eq!(io.kind(), io::ErrorKind::NotFound),
        other => panic!("{other:?}"),
    }
    assert!(!e.is_temporary());
}

#[test]
fn read_response_with_nothing_pending_is_a_caller_error() {
    let peer = Peer::tcp(|mut c| {
        c.read_request();
        c.write(&ok(b"fine"));
        c.read_to_end()
    });
    let mut conn = connect(&peer);
    let e = conn.read_response().unwrap_err();
    assert!(e.is_caller_error(), "{e:?}");
    assert_eq!(io::Error::from(e).kind(), io::ErrorKind::InvalidInput);
    // Not the connection's fault: it still works.
    assert!(conn.is_reusable());
    let mut response = conn.get("/", no_headers()).unwrap();
    assert_eq!(response.body.read_all().unwrap(), b"fine");
    drop(conn);
    assert_eq!(peer.join(), b"");
}

#[test]
fn request_while_a_body_is_unread_is_a_caller_error() {
    let peer = Peer::tcp(|mut c| {
        let first = c.read_request();
        c.write(&ok(b"first body"));
        let second = c.read_request();
        c.write(&ok(b"second"));
        (first, second, c.read_to_end())
    });
    let mut conn = connect(&peer);
    let response = conn.get("/1", no_headers()).unwrap();
    assert_eq!(response.status, 200);
    drop(response);
    let e = conn.get("/2", no_headers()).unwrap_err();
    assert!(e.is_caller_error(), "{e:?}");
    let e = conn.read_response().unwrap_err();
    assert!(e.is_caller_error(), "{e:?}");
    // Read it, and carry on.
    assert_eq!(conn.read_all().unwrap(), b"first body");
    let mut response = conn.get("/2", no_headers()).unwrap();
    assert_eq!(response.body.read_all().unwrap(), b"second");
    drop(conn);
    let (first, second, rest) = peer.join();
    assert!(text(&first).starts_with("GET /1 "));
    assert!(
        text(&second).starts_with("GET /2 "),
        "one /2 only: {second:?}"
    );
    assert_eq!(rest, b"");
}

// ---------------------------------------------------------------------------------------
// Transports

fn transport_roundtrip(
    at: Where,
    client: impl FnOnce(&Peer<(Vec<u8>, Vec<u8>)>) -> Client,
) -> Option<Vec<u8>> {
    let peer = match Peer::at(at, |mut c: PeerConn| {
        let request = c.read_request();
        c.write(&ok(b"over there"));
        (request, c.read_to_end())
    }) {
        Ok(peer) => peer,
        Err(e) => {
            eprintln!("skipped: cannot listen at {at:?}: {e}");
            return None;
        }
    };
    let mut conn = client(&peer).connect().unwrap();
    let mut response = conn.put("/t", no_headers(), "data").unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body.read_all().unwrap(), b"over there");
    drop(conn);
    let (request, rest) = peer.join();
    assert_eq!(rest, b"");
    Some(request)
}

#[test]
fn over_ipv6_loopback() {
    let mut port = 0;
    let Some(request) = transport_roundtrip(Where::Tcp6, |peer| {
        if let Address::Tcp(a) = peer.address() {
            port = a.port();
        }
        peer.client()
    }) else {
        return;
    };
    assert_eq!(
        text(&request),
        format!("PUT /t HTTP/1.1\r\nhost: [::1]:{port}\r\ncontent-length: 4\r\n\r\ndata")
    );
}

#[test]
fn over_a_unix_socket_path() {
    let request = transport_roundtrip(Where::UnixPath, |peer| {
        assert!(matches!(peer.address(), Address::Unix(_)));
        peer.client()
    })
    .unwrap();
    assert_eq!(
        text(&request),
        "PUT /t HTTP/1.1\r\nhost: \r\ncontent-length: 4\r\n\r\ndata"
    );
    let request =
        transport_roundtrip(Where::UnixPath, |peer| peer.client().with_host("app")).unwrap();
    assert_eq!(
        text(&request),
        "PUT /t HTTP/1.1\r\nhost: app\r\ncontent-length: 4\r\n\r\ndata"
    );
}

#[test]
fn over_a_linux_abstract_unix_socket() {
    let request = transport_roundtrip(Where::UnixAbstract, |peer| {
        let Address::UnixAbstract(name) = peer.address() else {
            panic!("{:?}", peer.address());
        };
        // The command-line form.
        let at = Address::unix(format!("@{}", String::from_utf8(name).unwrap()));
        Client::new(at).with_timeout(Some(WAIT))
    })
    .unwrap();
    assert_eq!(
        text(&request),
        "PUT /t HTTP/1.1\r\nhost: \r\ncontent-length: 4\r\n\r\ndata"
    );
}

#[test]
fn a_client_is_shared_between_threads() {
    const THREADS: usize = 4;
    let peer = Peer::tcp_many(|acceptor| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let c = acceptor.accept();
                std::thread::spawn(move || {
                    c.serve_http(|r| peer::Reply::ok(r.target.clone())).len()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .sum::<usize>()
    });
    // Without the pool: a thread done early would lend its connection to a later one, and
    // the peer expects one connection per thread.
    let client = peer.client().without_pool();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let client = client.clone();
            std::thread::spawn(move || {
                let mut conn = client.connect().unwrap();
                for i in 0..10 {
                    let target = format!("/{t}/{i}");
                    let mut response = conn.get(&target, no_headers()).unwrap();
                    assert_eq!(text(&response.body.read_all().unwrap()), target);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(peer.join(), THREADS * 10);
}

// ---------------------------------------------------------------------------------------
// More edges

#[test]
fn large_buffer_reads_stop_at_the_end_of_each_pipelined_body() {
    let first = pattern(300_000);
    let mut second = pattern(200_001);
    second.reverse();
    let (a, b) = (first.clone(), second.clone());
    let peer = Peer::tcp(move |mut c| {
        c.read_request();
        c.read_request();
        c.read_request();
        let mut all = ok(&a);
        all.extend_from_slice(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
        all.extend(chunked_body(&[&b[..100_000], &b[100_000..]], ""));
        all.extend(ok(b"third"));
        c.write(&all);
        c.read_to_end()
    });
    let mut conn = connect(&peer);
    for i in 0..3 {
        conn.send_request(Method::GET, &format!("/{i}"), no_headers(), ())
            .unwrap();
    }
    let mut buf = vec![0u8; 1 << 20];
    for expected in [&first, &second] {
        conn.read_response().unwrap();
        let mut got = Vec::new();
        loop {
            let n = conn.read_into(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert!(
            got == *expected,
            "{} bytes, expected {}",
            got.len(),
            expected.len()
        );
    }
    conn.read_response().unwrap();
    let n = conn.read_into(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"third");
    assert_eq!(conn.read_into(&mut buf).unwrap(), 0);
    drop(conn);
    assert_eq!(peer.join(), b"");
}

#[test]
fn large_body_until_close_through_a_large_buffer() {
    let body = pattern(3_000_000);
    let expected = body.clone();
    let peer = Peer::tcp(move |mut c| {
        c.read_request();
        c.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n");
        c.write(&body);
    });
    let mut conn = connect(&peer);
    let mut response = conn.get("/", no_headers()).unwrap();
    assert_eq!(response.body.framing(), Framing::UntilClose);
    let mut buf = vec![0u8; 1 << 20];
    let mut got = Vec::new();
    loop {
        let n = response.body.read_into(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got == expected, "{} bytes", got.len());
    assert_eq!(response.body.read_into(&mut buf).unwrap(), 0);
    peer.join();
}

#[test]
fn after_a_timeout_the_response_can_still_be_read() {
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let peer = Peer::tcp(move |mut c| {
        c.read_request();
        go_rx.recv_timeout(WAIT).unwrap();
        c.write(&ok(b"late"));
        c.read_to_end()
    });
    let client = Client::new(peer.address()).with_timeout(Some(Duration::from_millis(100)));
    let mut conn = client.connect().unwrap();
    let e = conn.get("/", no_headers()).unwrap_err();
    assert!(matches!(e, Error::Timeout), "{e:?}");
    assert!(conn.response_pending());
    go_tx.send(()).unwrap();
    // The wait is per call: keep asking until the late answer is in.
    let head = loop {
        match conn.read_response() {
            Ok(head) => break head,
            Err(Error::Timeout) => {}
            Err(e) => panic!("{e:?}"),
        }
    };
    assert_eq!(head.status, 200);
    assert_eq!(conn.read_all().unwrap(), b"late");
    assert!(conn.is_reusable());
    // The connection waits in the client's pool until the client is dropped too.
    drop(conn);
    assert_eq!(client.idle_connections(), 1);
    drop(client);
    assert_eq!(peer.join(), b"");
}

#[test]
fn expect_continue_with_a_large_bytes_body() {
    let body = pattern(100_000);
    let expected = body.clone();
    let peer = Peer::tcp(move |mut c| {
        let head = c.read_head();
        assert!(
            c.buffered().is_empty() && !c.readable_now(),
            "body before the 100"
        );
        c.write(b"HTTP/1.1 100 Continue\r\n\r\n");
        let got = c.read_exact(100_000);
        c.write(NO_CONTENT);
        (head, got, c.read_to_end())
    });
    let mut conn = connect(&peer);
    let response = conn
        .request(
            Method::POST,
            "/big",
            headers(&[("expect", "100-continue")]),
            &body[..],
        )
        .unwrap();
    assert_eq!(response.status, 204);
    drop(conn);
    let (head, got, rest) = peer.join();
    assert!(text(&head).contains("\r\ncontent-length: 100000\r\n"));
    assert!(got == expected);
    assert_eq!(rest, b"");
}

#[test]
fn read_all_does_not_trust_a_huge_content_length() {
    // The failure is an abort, which would take every test of this binary down with it:
    // run the test in a child process.
    const CHILD: &str = "POLLHTTP_TEST_CHILD";
    if std::env::var_os(CHILD).is_none() {
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "read_all_does_not_trust_a_huge_content_length",
                "--include-ignored",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "the child failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .take(5)
                .collect::<Vec<_>>()
                .join(" | ")
        );
        return;
    }
    let peer = answer_and_close(
        1,
        b"HTTP/1.1 200 OK\r\ncontent-length: 1000000000000\r\n\r\nonly this",
    );
    let mut conn = connect(&peer);
    let e = conn
        .get("/", no_headers())
        .unwrap()
        .body
        .read_all()
        .unwrap_err();
    assert_closed(&e);
    peer.join();
}

/// A server that ends its head lines with a bare LF (old servers still do): read like any
/// other response, on a connection kept for the next request, whose own response has CRLFs.
#[test]
fn bare_lf_response_head_read() {
    let peer = Peer::tcp(|mut c| {
        c.read_request();
        c.write(b"HTTP/1.1 200 OK\nContent-Type: text/plain\nContent-Length: 5\n\nhello");
        c.read_request();
        c.write(NO_CONTENT);
        c.read_to_end()
    });
    let mut conn = connect(&peer);
    conn.send_request(Method::GET, "/old", no_headers(), Body::empty())
        .unwrap();
    let head = conn.read_response().unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(head.headers["content-type"], "text/plain");
    assert_eq!(conn.read_all().unwrap(), b"hello");
    assert_eq!(conn.get("/next", no_headers()).unwrap().status, 204);
    drop(conn);
    peer.join();
}

// ---------------------------------------------------------------------------------------
// Connecting over several addresses

/// A name whose first address drops everything: the client connects to the next one after
/// the attempt delay (250 ms), not after its timeout (10 s here, 90 s by default).
#[cfg(target_os = "linux")]
#[test]
fn a_blackholed_first_address_costs_the_attempt_delay_not_the_timeout() {
    let hole = blackhole::Blackhole::new();
    let peer = Peer::tcp(|mut c| {
        c.read_request();
        c.write(&ok(b"hi"));
        c.read_to_end()
    });
    let client = Client::with_addresses(vec![hole.address(), peer.address()])
        .with_timeout(Some(WAIT))
        .with_host("example.org");
    let start = Instant::now();
    let mut conn = client.connect().unwrap();
    let mut response = conn.get("/", no_headers()).unwrap();
    assert_eq!(response.body.read_all().unwrap(), b"hi");
    let elapsed = start.elapsed();
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    drop(conn);
    drop(client);
    peer.join();
}

/// The timeout still bounds each wait: with every address blackholed, the client gives
/// up a timeout after the last attempt started (the attempts overlap).
#[cfg(target_os = "linux")]
#[test]
fn every_address_blackholed_times_out_once_all_are_tried() {
    let holes = [blackhole::Blackhole::new(), blackhole::Blackhole::new()];
    let timeout = Duration::from_millis(400);
    let client = Client::with_addresses(vec![holes[0].address(), holes[1].address()])
        .with_timeout(Some(timeout));
    let start = Instant::now();
    let e = client.connect().unwrap_err();
    let elapsed = start.elapsed();
    assert!(matches!(e, Error::Timeout), "{e}");
    assert!(
        elapsed >= timeout + Duration::from_millis(250) && elapsed < timeout * 2,
        "{elapsed:?}"
    );
}

/// One address at a time: each waits the whole timeout before the next is tried.
#[cfg(target_os = "linux")]
#[test]
fn without_an_attempt_delay_each_address_has_the_timeout() {
    let hole = blackhole::Blackhole::new();
    let peer = Peer::tcp(|mut c| {
        c.read_request();
        c.write(&ok(b"hi"));
        c.read_to_end()
    });
    let timeout = Duration::from_millis(600);
    let client = Client::with_addresses(vec![hole.address(), peer.address()])
        .with_timeout(Some(timeout))
        .with_attempt_delay(None);
    let start = Instant::now();
    let mut conn = client.connect().unwrap();
    assert!(start.elapsed() >= timeout, "{:?}", start.elapsed());
    let mut response = conn.get("/", no_headers()).unwrap();
    assert_eq!(response.body.read_all().unwrap(), b"hi");
    drop(conn);
    drop(client);
    peer.join();
}

/// The error names the host once: "cannot resolve HOST: ...", as the pipeline's does,
/// not "cannot resolve HOST: resolving HOST: ...".
#[test]
fn a_name_that_does_not_resolve_is_named_once_in_the_error() {
    let host = "no-such-host.invalid";
    let e = Client::resolving(host, 80).connect().unwrap_err();
    assert!(matches!(e, Error::Dns { .. }), "{e:?}");
    let message = e.to_string();
    assert_eq!(message.matches(host).count(), 1, "{message}");
    assert!(
        message.starts_with(&format!("cannot resolve {host}: ")),
        "{message}"
    );
}

/// The client's timeout bounds a lookup that never answers (a DNS server that drops the
/// query: getaddrinfo(3) has no timeout of its own), and the error names the host; a
/// lookup of the client's own is the one asked.
#[test]
fn a_lookup_that_never_answers_ends_at_the_clients_timeout() {
    let (_hang, hung) = mpsc::channel::<()>();
    let hung = Mutex::new(hung);
    let asked = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&asked);
    let lookup: pollhttp::io::LookupFn = Arc::new(move |host: &str, _port: u16| {
        counted.fetch_add(1, Ordering::SeqCst);
        // Waits for a message that never comes, until the test ends.
        let _ = hung.lock().map(|h| h.recv());
        Err(io::Error::other(format!("{host}: released")))
    });
    let host = "never.test";
    let started = Instant::now();
    let e = Client::resolving(host, 80)
        .with_lookup(lookup)
        .with_timeout(Some(Duration::from_millis(300)))
        .connect()
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(asked.load(Ordering::SeqCst), 1);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(took >= Duration::from_millis(300), "took {took:?}");
    let message = e.to_string();
    assert!(matches!(e, Error::Dns { .. }), "{e:?}");
    assert_eq!(
        message,
        format!("cannot resolve {host}: no answer within 0.3 s"),
        "{message}"
    );
}

/// A lookup of the client's own gives the addresses connected to.
#[test]
fn a_clients_own_lookup_gives_the_addresses() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let lookup: pollhttp::io::LookupFn = Arc::new(move |host: &str, port: u16| {
        assert_eq!(host, "made-up.test");
        Ok(vec![Address::Tcp(std::net::SocketAddr::new(
            addr.ip(),
            port,
        ))])
    });
    let conn = Client::resolving("made-up.test", addr.port())
        .with_lookup(lookup)
        .connect();
    assert!(conn.is_ok(), "{:?}", conn.err());
    assert!(listener.accept().is_ok());
}
