//! The blocking client's pool of idle connections, over real loopback sockets: raw
//! `std::net::TcpListener` servers in threads that count the connections they accept and
//! report every request and every close they see. Reuse across sequential requests,
//! clones and threads; no reuse after `Connection: close`, HTTP/1.0, an unread body or an
//! error; idle timeout, `max_idle`, a connection closed or written to while idle; and the
//! stale keep-alive race: a reused connection the server closes as the request arrives.

use std::collections::BTreeSet;
use std::io::{self, BufRead, BufReader, Cursor, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, StatusCode};
use pollhttp::client::{Body, Client, Connection, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_IDLE};
use pollhttp::proto::Limits;
use pollhttp::Error;
use socket2::SockRef;

/// How long anything may take before a test fails.
const WAIT: Duration = Duration::from_secs(10);

/// What a server connection saw, in order, for the test to check.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Seen {
    /// A request (method and target) on connection `n` (0: the first accepted).
    Request(usize, String, String),
    /// Connection `n` read the end of input (or a reset): the client closed it.
    Eof(usize),
    /// A script's own note.
    Note(usize, &'static str),
}

/// A request as the server read it.
struct Req {
    target: String,
    body: Vec<u8>,
}

/// The server's end of one connection.
struct Conn {
    index: usize,
    reader: BufReader<TcpStream>,
    seen: mpsc::Sender<Seen>,
}

impl Conn {
    fn note(&self, what: &'static str) {
        let _ = self.seen.send(Seen::Note(self.index, what));
    }

    /// Reads a request head; `None` when the client closed (reported as [`Seen::Eof`]).
    fn read_head(&mut self) -> Option<(String, String, usize)> {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!("server {}: read failed: {e}", self.index),
            }
            if line == "\r\n" {
                let mut lines = head.lines();
                let mut first = lines.next().unwrap().split(' ');
                let method = first.next().unwrap().to_owned();
                let target = first.next().unwrap().to_owned();
                let length = lines
                    .filter_map(|l| l.split_once(':'))
                    .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                    .map_or(0, |(_, v)| v.trim().parse().unwrap());
                let _ = self
                    .seen
                    .send(Seen::Request(self.index, method.clone(), target.clone()));
                return Some((method, target, length));
            }
            head.push_str(&line);
        }
        assert!(head.is_empty(), "server {}: cut head {head:?}", self.index);
        let _ = self.seen.send(Seen::Eof(self.index));
        None
    }

    /// Reads a whole request (Content-Length bodies only).
    fn read_request(&mut self) -> Option<Req> {
        let (_, target, length) = self.read_head()?;
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).expect("server: body");
        Some(Req { target, body })
    }

    fn write(&mut self, bytes: &[u8]) {
        self.reader
            .get_mut()
            .write_all(bytes)
            .expect("server: write");
    }

    /// Reads until the client closes (nothing else may come).
    fn wait_for_close(&mut self) {
        if let Some((_, target, _)) = self.read_head() {
            panic!("server {}: unexpected request {target}", self.index);
        }
    }

    /// Answers every request with a 200 whose body is the target, until the client
    /// closes.
    fn serve(&mut self) {
        while let Some(req) = self.read_request() {
            self.write(&ok(req.target.as_bytes()));
        }
    }

    /// Closes with a reset (`SO_LINGER` 0).
    fn reset(self) {
        let stream = self.reader.into_inner();
        SockRef::from(&stream)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
    }
}

type Script = Arc<dyn Fn(Conn) + Send + Sync>;

/// A server on 127.0.0.1 running `script` over each connection it accepts, in a thread
/// of its own.
struct Server {
    addr: SocketAddr,
    accepts: Arc<AtomicUsize>,
    seen: mpsc::Receiver<Seen>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Server {
    fn start(script: impl Fn(Conn) + Send + Sync + 'static) -> Self {
        let script: Script = Arc::new(script);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepts = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let (tx, seen) = mpsc::channel();
        let acceptor = {
            let (accepts, stop, conns) = (accepts.clone(), stop.clone(), conns.clone());
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let stream = stream.unwrap();
                    stream.set_read_timeout(Some(WAIT)).unwrap();
                    stream.set_write_timeout(Some(WAIT)).unwrap();
                    let index = accepts.fetch_add(1, Ordering::SeqCst);
                    let conn = Conn {
                        index,
                        reader: BufReader::new(stream),
                        seen: tx.clone(),
                    };
                    let script = script.clone();
                    conns
                        .lock()
                        .unwrap()
                        .push(thread::spawn(move || script(conn)));
                }
            })
        };
        Self {
            addr,
            accepts,
            seen,
            stop,
            acceptor: Some(acceptor),
            conns,
        }
    }

    /// A server answering every request on every connection, keeping them open.
    fn keep_alive() -> Self {
        Self::start(|mut c| c.serve())
    }

    fn client(&self) -> Client {
        Client::new(self.addr).with_timeout(Some(WAIT))
    }

    fn accepts(&self) -> usize {
        self.accepts.load(Ordering::SeqCst)
    }

    /// The accept count once nothing new has come for a while (a retry would have).
    fn settled_accepts(&self) -> usize {
        thread::sleep(Duration::from_millis(200));
        self.accepts()
    }

    /// The next thing seen.
    fn next(&self) -> Seen {
        self.seen
            .recv_timeout(WAIT)
            .expect("the server saw nothing more")
    }

    /// Waits until `what` is seen, skipping anything else; returns what was skipped.
    fn wait_for(&self, what: &Seen) -> Vec<Seen> {
        let deadline = Instant::now() + WAIT;
        let mut skipped = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.seen.recv_timeout(left) {
                Ok(seen) if seen == *what => return skipped,
                Ok(seen) => skipped.push(seen),
                Err(_) => panic!("never saw {what:?}; saw {skipped:?}"),
            }
        }
    }

    /// Stops accepting and waits for the connection scripts to end (the client must have
    /// closed its connections); a panic in a script fails the test here.
    fn finish(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        self.acceptor.take().unwrap().join().unwrap();
        let conns = std::mem::take(&mut *self.conns.lock().unwrap());
        for conn in conns {
            if let Err(panic) = conn.join() {
                std::panic::resume_unwind(panic);
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(acceptor) = self.acceptor.take() {
            self.stop.store(true, Ordering::SeqCst);
            let _ = TcpStream::connect(self.addr);
            let _ = acceptor.join();
        }
    }
}

fn ok(body: &[u8]) -> Vec<u8> {
    let mut r = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len()).into_bytes();
    r.extend_from_slice(body);
    r
}

fn request(method: &str, target: &str, conn: usize) -> Seen {
    Seen::Request(conn, method.to_owned(), target.to_owned())
}

/// GET `target` and its whole body, as text.
fn get(conn: &mut Connection, target: &str) -> String {
    let mut response = conn
        .get(target, HeaderMap::new())
        .unwrap_or_else(|e| panic!("GET {target}: {e}"));
    assert_eq!(response.status, StatusCode::OK);
    String::from_utf8(response.body.read_all().unwrap()).unwrap()
}

/// Connects, GETs `target`, reads the body and drops the connection (back to the pool).
fn cycle(client: &Client, target: &str) -> (bool, String) {
    let mut conn = client.connect().unwrap();
    let reused = conn.is_reused();
    let body = get(&mut conn, target);
    assert!(conn.is_reusable());
    (reused, body)
}

// ---------------------------------------------------------------------------------------
// Reuse

#[test]
fn ten_sequential_cycles_use_one_connection() {
    let server = Server::keep_alive();
    let client = server.client();
    assert_eq!(client.idle_connections(), 0);
    for i in 0..10 {
        let target = format!("/{i}");
        let (reused, body) = cycle(&client, &target);
        assert_eq!(reused, i > 0, "cycle {i}");
        assert_eq!(body, target);
        assert_eq!(server.next(), request("GET", &target, 0));
        assert_eq!(client.idle_connections(), 1);
    }
    assert_eq!(server.accepts(), 1);
    // The last client gone, the pool closes its connection.
    drop(client);
    assert_eq!(server.next(), Seen::Eof(0));
    server.finish();
}

#[test]
fn clients_cross_threads_and_connections_move() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Client>();
    send::<Connection>();
}

#[test]
fn defaults() {
    assert_eq!(DEFAULT_MAX_IDLE, 10);
    assert_eq!(DEFAULT_IDLE_TIMEOUT, Duration::from_secs(4));
}

#[test]
fn clones_share_the_pool_unless_connections_differ() {
    let server = Server::keep_alive();
    let client = server.client();
    let (reused, _) = cycle(&client, "/a");
    assert!(!reused);
    // A clone, and one with another timeout or base header, share the pool.
    let same = client
        .clone()
        .with_timeout(Some(Duration::from_secs(5)))
        .with_base_header("user-agent", "test");
    assert_eq!(same.idle_connections(), 1);
    let (reused, body) = cycle(&same, "/b");
    assert!(reused);
    assert_eq!(body, "/b");
    // Other limits (or TLS, or another server name) make other connections: a pool of
    // their own.
    let other = client.clone().with_limits(Limits::client());
    assert_eq!(other.idle_connections(), 0);
    let (reused, _) = cycle(&other, "/c");
    assert!(!reused);
    assert_eq!(other.idle_connections(), 1);
    assert_eq!(client.idle_connections(), 1);
    // So do new pool settings.
    assert_eq!(client.clone().with_pool(3, WAIT).idle_connections(), 0);
    assert_eq!(server.accepts(), 2);
    drop((client, same, other));
    server.finish();
}

#[test]
fn threads_share_the_pool() {
    const THREADS: usize = 8;
    const EACH: usize = 25;
    let server = Server::keep_alive();
    let client = server.client();
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let client = client.clone();
            thread::spawn(move || {
                let mut reused = 0;
                for i in 0..EACH {
                    let target = format!("/{t}/{i}");
                    let (r, body) = cycle(&client, &target);
                    assert_eq!(body, target);
                    reused += usize::from(r);
                }
                reused
            })
        })
        .collect();
    let reused: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let accepts = server.accepts();
    // At most one connection per thread at a time, and every one of them kept.
    assert!((1..=THREADS).contains(&accepts), "{accepts} connections");
    assert_eq!(reused, THREADS * EACH - accepts);
    assert_eq!(client.idle_connections(), accepts);
    let mut requests = 0;
    let mut conns = BTreeSet::new();
    for _ in 0..THREADS * EACH {
        match server.next() {
            Seen::Request(n, method, _) if method == "GET" => {
                requests += 1;
                conns.insert(n);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(requests, THREADS * EACH);
    assert_eq!(conns, (0..accepts).collect());
    drop(client);
    server.finish();
}

#[test]
fn a_reused_connection_has_no_trailers_of_the_last_exchange() {
    let server = Server::start(|mut c| {
        c.read_request().unwrap();
        c.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nx-sum: 1\r\n\r\n");
        c.serve();
    });
    let client = server.client();
    let mut conn = client.connect().unwrap();
    assert_eq!(get(&mut conn, "/t"), "hi");
    assert_eq!(conn.trailers().get("x-sum").unwrap(), "1");
    drop(conn);
    let conn = client.connect().unwrap();
    assert!(conn.is_reused());
    assert!(conn.trailers().is_empty());
    drop((conn, client));
    server.finish();
}

#[test]
fn a_connection_outliving_its_client_is_closed_when_dropped() {
    let server = Server::keep_alive();
    let client = server.client();
    let mut conn = client.connect().unwrap();
    drop(client);
    assert_eq!(get(&mut conn, "/x"), "/x");
    drop(conn);
    assert_eq!(server.next(), request("GET", "/x", 0));
    assert_eq!(server.next(), Seen::Eof(0));
    server.finish();
}

#[test]
fn without_pool_every_connection_is_closed() {
    let server = Server::keep_alive();
    for client in [
        server.client().without_pool(),
        server.client().with_pool(0, WAIT),
    ] {
        let before = server.accepts();
        for i in 0..3 {
            let (reused, _) = cycle(&client, "/");
            assert!(!reused);
            let n = before + i;
            assert_eq!(server.next(), request("GET", "/", n));
            assert_eq!(server.next(), Seen::Eof(n));
        }
        assert_eq!(client.idle_connections(), 0);
    }
    assert_eq!(server.accepts(), 6);
    server.finish();
}

#[test]
fn a_stream_borrowed_mutably_or_taken_is_not_returned() {
    let server = Server::keep_alive();
    let client = server.client();
    let mut conn = client.connect().unwrap();
    get(&mut conn, "/a");
    let _ = conn.stream_mut();
    drop(conn);
    assert_eq!(server.next(), request("GET", "/a", 0));
    assert_eq!(server.next(), Seen::Eof(0));

    let mut conn = client.connect().unwrap();
    assert!(!conn.is_reused());
    get(&mut conn, "/b");
    let stream = conn.into_stream();
    assert_eq!(client.idle_connections(), 0);
    drop(stream);
    assert_eq!(server.next(), request("GET", "/b", 1));
    assert_eq!(server.next(), Seen::Eof(1));
    server.finish();
}

// ---------------------------------------------------------------------------------------
// No reuse

/// Each connection answers its first request with `response` then waits for the client
/// to close; the test checks each cycle takes a new connection, and closes the old one.
fn never_reused(response: &'static [u8], headers: HeaderMap, read_body: bool) {
    let server = Server::start(move |mut c| {
        c.read_request().unwrap();
        c.write(response);
        c.wait_for_close();
    });
    let client = server.client();
    for n in 0..3 {
        let mut conn = client.connect().unwrap();
        assert!(!conn.is_reused(), "cycle {n}");
        let mut r = conn.get("/", headers.clone()).unwrap();
        assert_eq!(r.status, StatusCode::OK);
        if read_body {
            assert_eq!(r.body.read_all().unwrap(), b"hi");
        } else {
            // One byte read, the rest left.
            let mut one = [0u8; 1];
            assert_eq!(r.body.read_into(&mut one).unwrap(), 1);
        }
        drop(conn);
        assert_eq!(client.idle_connections(), 0);
        assert_eq!(server.next(), request("GET", "/", n));
        assert_eq!(server.next(), Seen::Eof(n));
    }
    assert_eq!(server.accepts(), 3);
    server.finish();
}

#[test]
fn no_reuse_after_the_server_says_connection_close() {
    // The server keeps the connection open: only the client's rule closes it.
    never_reused(
        b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nhi",
        HeaderMap::new(),
        true,
    );
}

#[test]
fn no_reuse_after_the_client_says_connection_close() {
    let mut headers = HeaderMap::new();
    headers.insert("connection", HeaderValue::from_static("close"));
    never_reused(
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi",
        headers,
        true,
    );
}

#[test]
fn no_reuse_after_an_http_1_0_response() {
    never_reused(
        b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nhi",
        HeaderMap::new(),
        true,
    );
}

#[test]
fn no_reuse_after_a_body_left_unread() {
    never_reused(
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi",
        HeaderMap::new(),
        false,
    );
}

#[test]
fn no_reuse_after_an_unread_chunked_body() {
    never_reused(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
        HeaderMap::new(),
        false,
    );
}

#[test]
fn no_reuse_after_an_error() {
    // The first connection answers with a malformed head; the others properly.
    let server = Server::start(|mut c| {
        if c.index == 0 {
            c.read_request().unwrap();
            c.write(b"HTTP/1.1 200 OK\r\ncontent-length: nope\r\n\r\n");
            c.wait_for_close();
        } else {
            c.serve();
        }
    });
    let client = server.client();
    let mut conn = client.connect().unwrap();
    let e = conn.get("/bad", HeaderMap::new()).unwrap_err();
    assert!(matches!(e, Error::Proto(_)), "{e:?}");
    drop(conn);
    assert_eq!(client.idle_connections(), 0);
    assert_eq!(server.next(), request("GET", "/bad", 0));
    assert_eq!(server.next(), Seen::Eof(0));
    let (reused, body) = cycle(&client, "/good");
    assert!(!reused);
    assert_eq!(body, "/good");
    assert_eq!(server.accepts(), 2);
    drop(client);
    server.finish();
}

#[test]
fn no_reuse_after_a_timeout() {
    let server = Server::start(|mut c| {
        if c.index == 0 {
            c.read_request().unwrap();
            thread::sleep(Duration::from_millis(300));
            // The client has given up by now.
            let _ = c.reader.get_mut().write_all(&ok(b"late"));
            c.wait_for_close();
        } else {
            c.serve();
        }
    });
    let client = server
        .client()
        .with_timeout(Some(Duration::from_millis(100)));
    let mut conn = client.connect().unwrap();
    let e = conn.get("/slow", HeaderMap::new()).unwrap_err();
    assert!(matches!(e, Error::Timeout), "{e:?}");
    drop(conn);
    assert_eq!(client.idle_connections(), 0);
    let client = client.with_timeout(Some(WAIT));
    let (reused, body) = cycle(&client, "/fast");
    assert!(!reused);
    assert_eq!(body, "/fast");
    assert_eq!(server.accepts(), 2);
    let seen = server.wait_for(&Seen::Eof(0));
    assert!(seen.contains(&request("GET", "/slow", 0)), "{seen:?}");
    drop(client);
    server.finish();
}

// ---------------------------------------------------------------------------------------
// The idle connections: timeout, limit, and what happens to them while they wait

#[test]
fn an_expired_idle_connection_is_closed_and_replaced() {
    let server = Server::keep_alive();
    let client = server.client().with_pool(10, Duration::from_millis(400));
    let (reused, _) = cycle(&client, "/1");
    assert!(!reused);
    // Within the timeout: reused.
    let (reused, _) = cycle(&client, "/2");
    assert!(reused);
    assert_eq!(client.idle_connections(), 1);
    thread::sleep(Duration::from_millis(700));
    // Past it: closed when the pool is next used, and a new connection made.
    assert_eq!(client.idle_connections(), 0);
    assert_eq!(server.next(), request("GET", "/1", 0));
    assert_eq!(server.next(), request("GET", "/2", 0));
    assert_eq!(server.next(), Seen::Eof(0));
    let (reused, body) = cycle(&client, "/3");
    assert!(!reused);
    assert_eq!(body, "/3");
    assert_eq!(server.next(), request("GET", "/3", 1));
    assert_eq!(server.accepts(), 2);
    drop(client);
    server.finish();
}

#[test]
fn max_idle_is_respected_and_the_newest_are_kept() {
    let server = Server::keep_alive();
    let client = server.client().with_pool(2, WAIT);
    let mut conns: Vec<_> = (0..5).map(|_| client.connect().unwrap()).collect();
    for (i, conn) in conns.iter_mut().enumerate() {
        assert_eq!(get(conn, &format!("/{i}")), format!("/{i}"));
    }
    assert_eq!(server.accepts(), 5);
    // Returned in order: each one past the second closes the oldest waiting.
    for conn in conns.drain(..) {
        drop(conn);
        assert!(client.idle_connections() <= 2);
    }
    assert_eq!(client.idle_connections(), 2);
    let mut closed = BTreeSet::new();
    while closed.len() < 3 {
        match server.next() {
            Seen::Eof(n) => {
                closed.insert(n);
            }
            Seen::Request(..) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(closed, BTreeSet::from([0, 1, 2]));
    // The most recently returned first.
    let mut a = client.connect().unwrap();
    let mut b = client.connect().unwrap();
    let mut c = client.connect().unwrap();
    assert!(a.is_reused() && b.is_reused() && !c.is_reused());
    get(&mut a, "/a");
    get(&mut b, "/b");
    get(&mut c, "/c");
    let seen: BTreeSet<_> = (0..3).map(|_| server.next()).collect();
    assert_eq!(
        seen,
        BTreeSet::from([
            request("GET", "/a", 4),
            request("GET", "/b", 3),
            request("GET", "/c", 5)
        ])
    );
    assert_eq!(server.accepts(), 6);
    drop((a, b, c, client));
    server.finish();
}

#[test]
fn an_idle_connection_the_server_closed_is_replaced_at_checkout() {
    // The first connection answers once, then the server closes it (its keep-alive
    // timeout, say) without a `Connection: close`.
    let server = Server::start(|mut c| {
        c.read_request().unwrap();
        c.write(&ok(b"first"));
        if c.index == 0 {
            c.note("closing");
            drop(c);
        } else {
            c.serve();
        }
    });
    let client = server.client();
    let (_, body) = cycle(&client, "/1");
    assert_eq!(body, "first");
    assert_eq!(client.idle_connections(), 1);
    server.wait_for(&Seen::Note(0, "closing"));
    // Time for the end of input to reach our socket.
    thread::sleep(Duration::from_millis(50));
    let mut conn = client.connect().unwrap();
    assert!(!conn.is_reused(), "the closed connection was handed out");
    assert_eq!(get(&mut conn, "/2"), "first");
    assert_eq!(server.accepts(), 2);
    drop(conn);
    drop(client);
    server.finish();
}

/// Bytes nobody asked for (a 408 sent before a close, say) after the first response: at
/// once (they come with the response, and the connection is not kept) or once the
/// connection is idle (it is kept, and refused when taken).
fn junk_after_the_response(delay: Duration) {
    let server = Server::start(move |mut c| {
        c.read_request().unwrap();
        c.write(&ok(b"first"));
        if c.index == 0 {
            thread::sleep(delay);
            c.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n");
            c.note("wrote");
            c.wait_for_close();
        } else {
            c.serve();
        }
    });
    let client = server.client();
    cycle(&client, "/1");
    server.wait_for(&Seen::Note(0, "wrote"));
    thread::sleep(Duration::from_millis(50));
    let mut conn = client.connect().unwrap();
    assert!(!conn.is_reused(), "the connection with junk was handed out");
    assert_eq!(get(&mut conn, "/2"), "first");
    // The client closed the one it refused.
    server.wait_for(&Seen::Eof(0));
    assert_eq!(server.accepts(), 2);
    drop(conn);
    drop(client);
    server.finish();
}

#[test]
fn junk_with_the_response_is_not_kept() {
    junk_after_the_response(Duration::ZERO);
}

#[test]
fn an_idle_connection_the_server_wrote_to_is_replaced_at_checkout() {
    junk_after_the_response(Duration::from_millis(150));
}

#[test]
fn shutdown_of_the_idle_connection_by_the_server_is_seen() {
    // A server that half-closes (shutdown of its sending side) the idle connection.
    let server = Server::start(|mut c| {
        let req = c.read_request().unwrap();
        c.write(&ok(req.target.as_bytes()));
        if c.index == 0 {
            c.reader.get_ref().shutdown(Shutdown::Write).unwrap();
            c.note("shut");
            c.wait_for_close();
        } else {
            c.serve();
        }
    });
    let client = server.client();
    cycle(&client, "/1");
    server.wait_for(&Seen::Note(0, "shut"));
    thread::sleep(Duration::from_millis(50));
    let (reused, body) = cycle(&client, "/2");
    assert!(!reused);
    assert_eq!(body, "/2");
    server.wait_for(&Seen::Eof(0));
    drop(client);
    server.finish();
}

// ---------------------------------------------------------------------------------------
// The stale keep-alive race

/// The first connection answers one request, then reads the next one and closes without
/// answering (cleanly, or with a reset); later connections answer every request (or,
/// with `answer_later`, none: they read one and close).
fn racy_server(reset: bool, answer_later: bool) -> Server {
    Server::start(move |mut c| {
        if c.index == 0 {
            let req = c.read_request().unwrap();
            c.write(&ok(req.target.as_bytes()));
            c.read_request().unwrap();
            if reset {
                c.reset();
            }
        } else if answer_later {
            while let Some(req) = c.read_request() {
                let mut answer = format!("{} {}", req.target, req.body.len()).into_bytes();
                answer.extend_from_slice(&req.body);
                c.write(&ok(&answer));
            }
        } else {
            c.read_request().unwrap();
        }
    })
}

/// One cycle to put the first connection in the pool, then a connection from it.
fn reused_connection(server: &Server) -> (Client, Connection) {
    let client = server.client();
    let (reused, body) = cycle(&client, "/1");
    assert!(!reused);
    assert_eq!(body, "/1");
    assert_eq!(server.next(), request("GET", "/1", 0));
    let conn = client.connect().unwrap();
    assert!(conn.is_reused());
    (client, conn)
}

#[test]
fn an_idempotent_request_goes_again_on_a_new_connection() {
    for reset in [false, true] {
        let server = racy_server(reset, true);
        let (client, mut conn) = reused_connection(&server);
        let mut r = conn
            .get("/2", HeaderMap::new())
            .unwrap_or_else(|e| panic!("reset {reset}: {e}"));
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body.read_all().unwrap(), b"/2 0");
        assert!(!conn.is_reused());
        assert!(conn.is_reusable());
        // Seen by both connections: the first closed before answering.
        assert_eq!(server.next(), request("GET", "/2", 0));
        assert_eq!(server.next(), request("GET", "/2", 1));
        assert_eq!(server.settled_accepts(), 2);
        // The new connection goes to the pool, as any other.
        drop(conn);
        let (reused, body) = cycle(&client, "/3");
        assert!(reused);
        assert_eq!(body, "/3 0");
        assert_eq!(server.next(), request("GET", "/3", 1));
        drop(client);
        server.finish();
    }
}

#[test]
fn a_put_with_a_body_in_memory_goes_again_whole() {
    let body = b"the same bytes, twice".to_vec();
    let server = racy_server(false, true);
    let (client, mut conn) = reused_connection(&server);
    let mut r = conn.put("/doc", HeaderMap::new(), body.clone()).unwrap();
    let mut expected = format!("/doc {}", body.len()).into_bytes();
    expected.extend_from_slice(&body);
    assert_eq!(r.body.read_all().unwrap(), expected);
    assert_eq!(server.next(), request("PUT", "/doc", 0));
    assert_eq!(server.next(), request("PUT", "/doc", 1));
    assert_eq!(server.settled_accepts(), 2);
    drop((conn, client));
    server.finish();
}

#[test]
fn a_request_cut_while_it_is_written_goes_again() {
    // 16 MiB: far more than the sockets hold, so the reset comes while the body is being
    // written.
    let body: Vec<u8> = (0..16 << 20).map(|i| (i % 251) as u8).collect();
    let server = Server::start(|mut c| {
        if c.index == 0 {
            let req = c.read_request().unwrap();
            c.write(&ok(req.target.as_bytes()));
            // The next head only, then a reset.
            c.read_head().unwrap();
            c.reset();
        } else {
            let req = c.read_request().unwrap();
            let pattern = req
                .body
                .iter()
                .enumerate()
                .all(|(i, &b)| b == (i % 251) as u8);
            c.write(&ok(format!("{} {pattern}", req.body.len()).as_bytes()));
            c.wait_for_close();
        }
    });
    let (client, mut conn) = reused_connection(&server);
    let mut r = conn.put("/big", HeaderMap::new(), &body[..]).unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body.read_all().unwrap(),
        format!("{} true", body.len()).as_bytes()
    );
    assert!(!conn.is_reused());
    assert_eq!(server.next(), request("PUT", "/big", 0));
    assert_eq!(server.next(), request("PUT", "/big", 1));
    assert_eq!(server.settled_accepts(), 2);
    drop((conn, client));
    server.finish();
}

#[test]
fn a_request_the_server_answered_while_it_was_written_is_not_sent_again() {
    // Over a Unix socket, what the server wrote before it closed stays readable after our
    // write fails: the answer came before the failure, so the PUT does not go again.
    let path = std::env::temp_dir().join(format!("pollhttp-pool-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let accepts = Arc::new(AtomicUsize::new(0));
    let server = {
        let accepts = accepts.clone();
        thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            accepts.fetch_add(1, Ordering::SeqCst);
            stream.set_read_timeout(Some(WAIT)).unwrap();
            let mut reader = BufReader::new(stream);
            let read_head = |reader: &mut BufReader<_>| {
                let mut line = String::new();
                while line != "\r\n" {
                    line.clear();
                    reader.read_line(&mut line).unwrap();
                }
            };
            read_head(&mut reader);
            reader.get_mut().write_all(&ok(b"first")).unwrap();
            read_head(&mut reader);
            reader
                .get_mut()
                .write_all(b"HTTP/1.1 413 Content Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
                .unwrap();
            drop(reader);
            // Anything more would be a second connection.
            listener.set_nonblocking(true).unwrap();
            thread::sleep(Duration::from_millis(300));
            if listener.accept().is_ok() {
                accepts.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let client = Client::new(pollhttp::io::Address::Unix(path.clone())).with_timeout(Some(WAIT));
    let (reused, body) = cycle(&client, "/1");
    assert!(!reused);
    assert_eq!(body, "first");
    let mut conn = client.connect().unwrap();
    assert!(conn.is_reused());
    let big = vec![7u8; 16 << 20];
    // The answer is the response (the client watched for it while it wrote the body).
    let status = conn.put("/big", HeaderMap::new(), big).unwrap().status;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(!conn.is_reusable());
    server.join().unwrap();
    assert_eq!(accepts.load(Ordering::SeqCst), 1, "the PUT went again");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_post_is_not_sent_again_and_the_error_says_it_may_have_been_processed() {
    let server = racy_server(false, true);
    let (client, mut conn) = reused_connection(&server);
    let e = conn
        .post("/order", HeaderMap::new(), "one pizza")
        .unwrap_err();
    let message = e.to_string();
    println!("{message}");
    assert!(matches!(e, Error::ConnectionClosed { .. }), "{e:?}");
    assert!(e.is_temporary());
    assert!(message.contains("may have processed it"), "{message}");
    assert!(message.contains("POST is not idempotent"), "{message}");
    assert!(!conn.is_reusable());
    assert_eq!(server.next(), request("POST", "/order", 0));
    assert_eq!(server.settled_accepts(), 1, "the POST went again");
    drop(conn);
    assert_eq!(client.idle_connections(), 0);
    // The next connection is a new one, and works.
    let (reused, body) = cycle(&client, "/after");
    assert!(!reused);
    assert_eq!(body, "/after 0");
    drop(client);
    server.finish();
}

#[test]
fn a_body_from_a_reader_is_not_sent_again() {
    let server = racy_server(false, true);
    let (client, mut conn) = reused_connection(&server);
    let body = Body::reader(Cursor::new(b"streamed".to_vec()), 8);
    let e = conn.put("/doc", HeaderMap::new(), body).unwrap_err();
    let message = e.to_string();
    println!("{message}");
    assert!(matches!(e, Error::ConnectionClosed { .. }), "{e:?}");
    assert!(message.contains("cannot be replayed"), "{message}");
    assert!(message.contains("may have processed it"), "{message}");
    assert_eq!(server.next(), request("PUT", "/doc", 0));
    assert_eq!(server.settled_accepts(), 1, "the PUT went again");
    drop((conn, client));
    server.finish();
}

#[test]
fn the_request_goes_again_once_only() {
    // No connection answers after the first response.
    let server = racy_server(false, false);
    let (client, mut conn) = reused_connection(&server);
    let e = conn.get("/2", HeaderMap::new()).unwrap_err();
    let message = e.to_string();
    println!("{message}");
    assert!(matches!(e, Error::ConnectionClosed { .. }), "{e:?}");
    assert!(
        message.contains("sent again on a new connection"),
        "{message}"
    );
    assert!(message.contains("may have processed it"), "{message}");
    assert_eq!(server.next(), request("GET", "/2", 0));
    assert_eq!(server.next(), request("GET", "/2", 1));
    assert_eq!(server.settled_accepts(), 2, "sent more than twice");
    drop((conn, client));
    server.finish();
}

#[test]
fn a_new_connection_is_never_sent_again() {
    // The server closes the first connection on its first request.
    let server = Server::start(|mut c| {
        c.read_request().unwrap();
        if c.index > 0 {
            c.write(&ok(b"second"));
            c.wait_for_close();
        }
    });
    let client = server.client();
    let mut conn = client.connect().unwrap();
    let e = conn.get("/", HeaderMap::new()).unwrap_err();
    assert!(matches!(e, Error::ConnectionClosed { .. }), "{e:?}");
    assert_eq!(server.settled_accepts(), 1);
    drop((conn, client));
    server.finish();
}

#[test]
fn send_request_never_sends_again() {
    let server = racy_server(false, true);
    let (client, mut conn) = reused_connection(&server);
    conn.send_request(http::Method::GET, "/2", HeaderMap::new(), Body::empty())
        .unwrap();
    let e = conn.read_response().unwrap_err();
    assert!(matches!(e, Error::ConnectionClosed { .. }), "{e:?}");
    assert_eq!(server.settled_accepts(), 1);
    drop((conn, client));
    server.finish();
}

// ---------------------------------------------------------------------------------------
// With the embedded server, clear and TLS (the `testing` feature)

#[cfg(feature = "testing")]
mod embedded {
    use super::*;
    use http::Version;
    use pollhttp::server::Response;
    use pollhttp::testing::{TempServer, TestPki};

    /// The handler answers with the number of requests its connection has carried.
    fn count_on_one_connection(server: &TempServer) {
        let client = server.client();
        for i in 1..=5 {
            let mut conn = client.connect().unwrap();
            assert_eq!(conn.is_reused(), i > 1);
            let mut r = conn.get("/", HeaderMap::new()).unwrap();
            assert_eq!(r.version, Version::HTTP_11);
            assert_eq!(r.body.read_all().unwrap(), i.to_string().as_bytes());
        }
        assert_eq!(client.idle_connections(), 1);
    }

    #[test]
    fn clear_text() {
        let server = TempServer::new(|session, _| {
            Response::text(StatusCode::OK, session.requests().to_string())
        })
        .unwrap();
        count_on_one_connection(&server);
    }

    #[test]
    fn tls() {
        let pki = TestPki::new();
        let server = TempServer::tls(pki.server_tls(), pki.client_tls(), |session, _| {
            Response::text(StatusCode::OK, session.requests().to_string())
        })
        .unwrap();
        count_on_one_connection(&server);
    }
}
