//! The blocking client watches for a response while it writes a request body (RFC 9112
//! §9.5: "A client sending a message body SHOULD monitor the network connection for an
//! error response while it is transmitting the request"): an early final response that
//! closes the connection stops the upload at once and is the response; one that keeps the
//! connection lets the body finish.

#[path = "support/peer.rs"]
mod peer;

use std::io::{self, Read};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use http::{HeaderMap, Method, StatusCode};
use pollhttp::client::{Body, Chunk, Client};
use pollhttp::Error;

use peer::{text, Peer, WAIT};

/// The size of the uploads the server refuses: far more than the socket buffers hold.
const BIG: u64 = 64 * 1024 * 1024;

/// How long the client may take to notice the early response (it comes at once).
const PROMPT: Duration = Duration::from_secs(2);

const TOO_LARGE: &[u8] =
    b"HTTP/1.1 413 Content Too Large\r\nconnection: close\r\ncontent-length: 9\r\n\r\ntoo large";

/// A reader of `n` bytes of `u`, without holding them in memory.
struct Zeros(u64);

impl Read for Zeros {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(usize::try_from(self.0).unwrap_or(usize::MAX));
        buf[..n].fill(b'u');
        self.0 -= n as u64;
        Ok(n)
    }
}

/// The body kinds of `request()` that write a large body.
type MakeBody = fn() -> Body<'static>;

fn big_bodies() -> [(&'static str, MakeBody); 4] {
    [
        ("bytes", || Body::bytes(vec![b'u'; BIG as usize])),
        ("reader", || Body::reader(Zeros(BIG), BIG)),
        ("chunked reader", || Body::chunked_reader(Zeros(BIG))),
        ("chunks", || {
            Body::chunks((0..BIG / (256 * 1024)).map(|_| Chunk::new(vec![b'u'; 256 * 1024])))
        }),
    ]
}

/// A server that reads the request head, answers 413 with `connection: close` without
/// reading the body, and keeps the connection open (reading nothing) until told to go.
fn refusing_peer() -> (Peer<Vec<u8>>, mpsc::Sender<()>) {
    let (tx, rx) = mpsc::channel();
    let peer = Peer::tcp(move |mut c| {
        let head = c.read_head();
        c.write(TOO_LARGE);
        let _ = rx.recv_timeout(WAIT);
        head
    });
    (peer, tx)
}

/// The client, with a timeout that an upload blocked on a full socket would hit.
fn client_of<T: Send + 'static>(peer: &Peer<T>) -> Client {
    peer.client().with_timeout(Some(Duration::from_secs(5)))
}

#[test]
fn early_413_that_closes_ends_a_large_upload_with_the_413() {
    for (kind, body) in big_bodies() {
        let (peer, go) = refusing_peer();
        let client = client_of(&peer);
        let mut conn = client.connect().unwrap();
        let started = Instant::now();
        let mut response = conn
            .request(Method::PUT, "/up", HeaderMap::new(), body())
            .unwrap_or_else(|e| panic!("{kind}: {e:?} after {:?}", started.elapsed()));
        let took = started.elapsed();
        assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE, "{kind}");
        assert_eq!(response.body.read_all().unwrap(), b"too large", "{kind}");
        assert!(took < PROMPT, "{kind}: the 413 took {took:?}");
        assert!(!conn.is_reusable(), "{kind}");
        // The rest of the body is not sent: a request is refused with the reason.
        let e = conn
            .request(Method::PUT, "/up", HeaderMap::new(), "more")
            .unwrap_err();
        assert!(!matches!(e, Error::Timeout), "{kind}: {e:?}");
        drop(conn);
        assert_eq!(client.idle_connections(), 0, "{kind}: pooled");
        go.send(()).unwrap();
        let head = peer.join();
        assert!(text(&head).starts_with("PUT /up HTTP/1.1\r\n"), "{kind}");
    }
}

/// The same 413, after which the server closes (its receive buffer full of unread body,
/// so the kernel resets the connection): the 413 is the response, not the reset.
#[test]
fn early_413_then_a_reset_is_still_the_response() {
    for (kind, body) in big_bodies() {
        let peer = Peer::tcp(|mut c| {
            c.read_head();
            c.read_exact(64 * 1024);
            c.write(TOO_LARGE);
            // Give the client a moment to be waiting for room to write.
            std::thread::sleep(Duration::from_millis(50));
        });
        let client = client_of(&peer);
        let mut conn = client.connect().unwrap();
        let result = conn.request(Method::PUT, "/up", HeaderMap::new(), body());
        let mut response = result.unwrap_or_else(|e| panic!("{kind}: {e:?}"));
        assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE, "{kind}");
        assert_eq!(response.body.read_all().unwrap(), b"too large", "{kind}");
        assert!(!conn.is_reusable(), "{kind}");
        drop(conn);
        assert_eq!(client.idle_connections(), 0, "{kind}: pooled");
        peer.join();
    }
}

/// With `send_request` and `write`: the write that finds the early 413 fails with
/// `ConnectionClosed` (promptly, not a timeout), every later write with the same error, and
/// `read_response` returns the 413.
#[test]
fn write_loop_stops_at_an_early_413_and_read_response_returns_it() {
    let (peer, go) = refusing_peer();
    let client = client_of(&peer);
    let mut conn = client.connect().unwrap();
    let started = Instant::now();
    conn.send_request(Method::PUT, "/up", HeaderMap::new(), Body::following(BIG))
        .unwrap();
    let piece = vec![b'u'; 1 << 20];
    let mut write_error = None;
    for _ in 0..BIG / piece.len() as u64 {
        if let Err(e) = conn.write(&piece) {
            write_error = Some(e);
            break;
        }
    }
    let took = started.elapsed();
    let e = write_error.expect("64 MiB went to a server that refused them");
    assert!(matches!(e, Error::ConnectionClosed { .. }), "{e:?}");
    assert!(took < PROMPT, "the write stopped after {took:?}");
    assert_eq!(conn.write(&piece).unwrap_err().to_string(), e.to_string());
    assert!(conn.response_pending());
    let head = conn.read_response().unwrap();
    assert_eq!(head.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(conn.read_all().unwrap(), b"too large");
    assert!(!conn.response_pending());
    assert!(!conn.is_reusable());
    drop(conn);
    assert_eq!(client.idle_connections(), 0);
    go.send(()).unwrap();
    peer.join();
}

/// An early answer that keeps the connection: the server reads (and drops) the rest of the
/// body, so the body goes whole, the answer is the response, and the connection carries
/// the next request.
#[test]
fn early_response_that_keeps_the_connection_lets_the_body_finish() {
    const SIZE: u64 = 16 * 1024 * 1024;
    for (kind, body) in [
        ("bytes", Body::bytes(vec![b'u'; SIZE as usize])),
        ("reader", Body::reader(Zeros(SIZE), SIZE)),
        ("chunked reader", Body::chunked_reader(Zeros(SIZE))),
    ] {
        let (tx, rx) = mpsc::channel();
        let peer = Peer::tcp(move |mut c| {
            let head = c.read_head();
            let chunked = text(&head).contains("chunked");
            // One chunk's data, or 64 KiB: what is left.
            let read_chunk = |c: &mut peer::PeerConn| {
                let line = c.read_line();
                let size = usize::from_str_radix(text(&line).trim_end(), 16).unwrap();
                c.read_exact(size + 2);
                size as u64
            };
            let mut left = SIZE;
            left -= if chunked {
                read_chunk(&mut c)
            } else {
                c.read_exact(64 * 1024).len() as u64
            };
            c.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 4\r\n\r\nseen");
            // Let the client see it before the rest is read.
            rx.recv_timeout(WAIT).unwrap();
            if chunked {
                loop {
                    match read_chunk(&mut c) {
                        0 => break,
                        n => left -= n,
                    }
                }
            } else {
                left -= c.read_exact(left as usize).len() as u64;
            }
            let next = c.read_request();
            c.write(b"HTTP/1.1 204 No Content\r\n\r\n");
            (head, left, next, c.read_to_end())
        });
        let client = client_of(&peer);
        let mut conn = client.connect().unwrap();
        let go = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            tx.send(()).unwrap();
        });
        let mut response = conn
            .request(Method::PUT, "/up", HeaderMap::new(), body)
            .unwrap_or_else(|e| panic!("{kind}: {e:?}"));
        go.join().unwrap();
        assert_eq!(response.status, StatusCode::ACCEPTED, "{kind}");
        assert_eq!(response.body.read_all().unwrap(), b"seen", "{kind}");
        assert!(conn.is_reusable(), "{kind}");
        assert_eq!(
            conn.get("/next", HeaderMap::new())
                .unwrap_or_else(|e| panic!("{kind}: next: {e:?}"))
                .status,
            204
        );
        drop(conn);
        drop(client);
        let (head, left, next, end) = peer.join();
        assert!(text(&head).starts_with("PUT /up HTTP/1.1\r\n"), "{kind}");
        assert_eq!(left, 0, "{kind}: the whole body");
        assert!(text(&next).starts_with("GET /next HTTP/1.1\r\n"), "{kind}");
        assert_eq!(end, b"", "{kind}");
    }
}

/// The same with `send_request` and `write`: every write succeeds, and `read_response`
/// returns the early answer (read while writing), then the next response.
#[test]
fn write_loop_finishes_after_an_early_response_that_keeps_the_connection() {
    const SIZE: u64 = 16 * 1024 * 1024;
    let peer = Peer::tcp(move |mut c| {
        c.read_head();
        c.read_exact(64 * 1024);
        c.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 4\r\n\r\nseen");
        std::thread::sleep(Duration::from_millis(200));
        c.read_exact((SIZE - 64 * 1024) as usize);
        let next = c.read_request();
        c.write(b"HTTP/1.1 204 No Content\r\n\r\n");
        (next, c.read_to_end())
    });
    let client = client_of(&peer);
    let mut conn = client.connect().unwrap();
    conn.send_request(Method::PUT, "/up", HeaderMap::new(), Body::following(SIZE))
        .unwrap();
    let piece = vec![b'u'; 1 << 20];
    for _ in 0..SIZE / piece.len() as u64 {
        conn.write(&piece).unwrap();
    }
    assert!(conn.response_pending());
    let head = conn.read_response().unwrap();
    assert_eq!(head.status, StatusCode::ACCEPTED);
    assert_eq!(conn.read_all().unwrap(), b"seen");
    assert!(!conn.response_pending());
    assert!(conn.is_reusable());
    conn.send_request(Method::GET, "/next", HeaderMap::new(), ())
        .unwrap();
    assert_eq!(conn.read_response().unwrap().status, 204);
    drop(conn);
    drop(client);
    let (next, end) = peer.join();
    assert!(text(&next).starts_with("GET /next HTTP/1.1\r\n"));
    assert_eq!(end, b"");
}
