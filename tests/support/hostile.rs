//! Hostile HTTP/1.1 servers for the crawl's tests: each misbehaves in one way that real
//! servers (or the networks in front of them) do. Plain std: a `TcpListener` on
//! 127.0.0.1:0, a thread that accepts, a thread per connection.
//!
//! ```ignore
//! let server = Hostile::start(Mode::CloseAfter(5));
//! let url = server.url("/d1.html");        // http://127.0.0.1:PORT/d1.html
//! // ... crawl it ...
//! assert_eq!(server.requests(), 1);
//! ```
//!
//! What a server answers, when it answers properly (see [`Mode`] for when it does):
//! `/dN.html` → 200 `document N\n`, `/` → 200 `hostile\n`, anything else 404 `not found\n`,
//! each `HTTP/1.1` with `Content-Type: text/html` and `Content-Length` (HEAD: the same head,
//! no body), and no `Connection` header: a server that closes never says so beforehand.
//!
//! Requests are read as heads ending in CRLF CRLF, with a `Content-Length` body skipped; the
//! request line's method and target are all that is looked at. Counters:
//! [`connections`](Hostile::connections) (accepted), [`requests`](Hostile::requests)
//! (complete requests read, answered or not) and [`responses`](Hostile::responses)
//! (complete, proper responses written). Where a mode "closes", it closes cleanly unless it
//! says otherwise: `shutdown(SHUT_WR)`, then whatever the client still sends is read and
//! dropped (for up to 2 s, or until the client closes), so the client sees a FIN and not a
//! reset caused by unread requests. Dropping the server stops it: every connection still
//! open is closed, and the threads are joined.
#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use socket2::SockRef;

/// How a server misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Reads a request, answers `200` with `Content-Length: 100` and only the first 10 body
    /// bytes, then closes. To a HEAD (which has no body) it sends half of a head instead,
    /// cut before its end. One request per connection: the response is cut off either way.
    CloseMidBody,
    /// Reads a request, then resets the connection (`SO_LINGER` 0, then close: an RST with
    /// nothing answered).
    Reset,
    /// Accepts, reads (and counts) requests, never answers, never closes: the connection
    /// stays open until the server is dropped (also after the client closed its side).
    Silent,
    /// Keep-alive, but no pipelining: answers a request properly when it came alone; when
    /// more bytes came behind a complete request (a second request, whole or not, in the
    /// same read), answers the first one only and closes.
    NoPipelining,
    /// Keep-alive, no pipelining, and ruder: a request that came alone is answered properly;
    /// when more bytes came behind a complete request, it closes with nothing answered.
    RefusePipelining,
    /// Keep-alive with pipelining, answering properly, and after the n-th response of a
    /// connection closes it without having said so (no `Connection: close`). This close is
    /// abrupt: requests pipelined behind that it has not read are left unread, so the
    /// kernel turns the close into a reset when any are pending.
    CloseAfter(u64),
    /// Reads a request, then closes with nothing written: an EOF where a response was due.
    CloseEmpty,
    /// Reads a request, answers with bytes that are not HTTP (`SSH-2.0-OpenSSH_9.2p1
    /// Debian-2\r\n`), then closes.
    Garbage,
    /// Reads a request, sends the head of a 200 with `Content-Length: 100` and the first 10
    /// body bytes (to a HEAD: half a head), then nothing more, and never closes (until
    /// dropped): a stall in the middle of a response, for timeouts.
    StallMidBody,
    /// Reads a request, answers `200` properly but without `Content-Length` (the body ends
    /// where the connection does, with `Connection: close`, as an HTTP/1.0 server would),
    /// then closes. One request per connection; requests pipelined behind it are dropped.
    CloseDelimited,
    /// Keep-alive, answering each request properly, and in the same write an unsolicited
    /// `500` that answers nothing ([`EXTRA_RESPONSE`]): RFC 9112 §6.3 forbids taking it
    /// as the next request's response.
    ExtraResponse,
    /// One connection at a time, as a single synchronous worker serves (gunicorn's
    /// default): answers one request with `Connection: close`, then waits for the client
    /// to close (up to [`LINGER`]) before it accepts the next connection.
    OneAtATime,
    /// Reads a request, answers it after [`SLOW_ANSWER`] with `Connection: close`, and
    /// closes: one request per connection, and [`Hostile::most_at_once`] says how many it
    /// was answering at the same moment.
    SlowOnePerConnection,
    /// Keep-alive with pipelining and a cap of n requests per connection, as Node.js's
    /// `http` server with `maxRequestsPerSocket` set: every response before the n-th says
    /// `Connection: keep-alive` and `Keep-Alive: timeout=5, max=n` (the total, the same on
    /// each, where Apache counts down what is left), the n-th says `Connection: close`, and
    /// each request pipelined behind it is answered `503` with `Connection: close` before
    /// the server closes cleanly.
    RepeatsItsMax(u64),
}

/// How long [`Mode::SlowOnePerConnection`] takes over an answer.
pub const SLOW_ANSWER: Duration = Duration::from_millis(30);

/// What [`Mode::ExtraResponse`] sends after each response.
pub const EXTRA_RESPONSE: &[u8] = b"HTTP/1.1 500 Extra\r\nContent-Length: 0\r\n\r\n";

/// Counters shared with the threads.
#[derive(Debug, Default)]
struct Counts {
    /// Requests being answered now, and the most there were at once.
    answering: AtomicU64,
    most_answering: AtomicU64,
    connections: AtomicU64,
    requests: AtomicU64,
    responses: AtomicU64,
}

#[derive(Debug)]
struct Shared {
    mode: Mode,
    stop: AtomicBool,
    counts: Counts,
}

/// A hostile server; stopped on drop.
#[derive(Debug)]
pub struct Hostile {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
    workers: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

/// How long a blocking read waits before it looks at the stop flag again.
const TICK: Duration = Duration::from_millis(50);
/// How long a clean close waits for the client to close its side.
const LINGER: Duration = Duration::from_secs(2);
/// How long a write may block on a client that does not read.
const WRITE_WAIT: Duration = Duration::from_secs(10);

impl Hostile {
    /// A server in this mode on 127.0.0.1, a port the OS picks.
    pub fn start(mode: Mode) -> Self {
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("hostile: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("hostile: local address");
        let shared = Arc::new(Shared {
            mode,
            stop: AtomicBool::new(false),
            counts: Counts::default(),
        });
        let workers = Arc::new(Mutex::new(Vec::new()));
        let acceptor = {
            let shared = Arc::clone(&shared);
            let workers = Arc::clone(&workers);
            thread::Builder::new()
                .name(format!("hostile {mode:?} {addr}"))
                .spawn(move || accept_loop(&listener, &shared, &workers))
                .expect("hostile: spawn the acceptor")
        };
        Self {
            addr,
            shared,
            acceptor: Some(acceptor),
            workers,
        }
    }

    /// Its mode.
    pub fn mode(&self) -> Mode {
        self.shared.mode
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.counts.connections.load(Ordering::SeqCst)
    }

    /// Complete requests read so far, answered or not.
    pub fn requests(&self) -> u64 {
        self.shared.counts.requests.load(Ordering::SeqCst)
    }

    /// The most requests it was answering at the same moment
    /// ([`Mode::SlowOnePerConnection`]).
    pub fn most_at_once(&self) -> u64 {
        self.shared.counts.most_answering.load(Ordering::SeqCst)
    }

    /// Complete, proper responses written so far.
    pub fn responses(&self) -> u64 {
        self.shared.counts.responses.load(Ordering::SeqCst)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wakes the acceptor, which sees the flag and ends (this connection is not counted).
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let workers = std::mem::take(&mut *self.workers.lock().unwrap_or_else(|e| e.into_inner()));
        for worker in workers {
            let _ = worker.join();
        }
    }
}

/// A port where nothing listens (bound a moment ago, then released): connecting is refused.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>, workers: &Mutex<Vec<JoinHandle<()>>>) {
    loop {
        let accepted = listener.accept();
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok((stream, _)) = accepted else {
            // EMFILE and the like: try again a little later.
            thread::sleep(TICK);
            continue;
        };
        shared.counts.connections.fetch_add(1, Ordering::SeqCst);
        if shared.mode == Mode::OneAtATime {
            Conn::new(stream, Arc::clone(shared)).serve();
            continue;
        }
        let shared = Arc::clone(shared);
        let worker = thread::Builder::new()
            .name(format!("hostile {:?} connection", shared.mode))
            .spawn(move || Conn::new(stream, shared).serve());
        match worker {
            Ok(worker) => workers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(worker),
            Err(_) => thread::sleep(TICK),
        }
    }
}

/// The proper response to `request`: its status line, `fields` (whole lines), a
/// `Content-Length` if `with_length` (else the body ends with the connection), and the
/// body unless the request is a HEAD.
fn response(request: &Request, fields: &str, with_length: bool) -> Vec<u8> {
    let (status, reason, body) = route(&request.target);
    let length = if with_length {
        format!("Content-Length: {}\r\n", body.len())
    } else {
        String::new()
    };
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n{fields}{length}\r\n").into_bytes();
    if !request.is_head() {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

/// With `Content-Length` and `Connection: close`.
fn closing_response(request: &Request) -> Vec<u8> {
    response(request, "Connection: close\r\n", true)
}

/// A request as far as these servers care.
#[derive(Debug)]
struct Request {
    method: String,
    target: String,
}

impl Request {
    fn is_head(&self) -> bool {
        self.method.eq_ignore_ascii_case("HEAD")
    }
}

/// One connection: its bytes not yet taken as requests, and the requests read.
struct Conn {
    stream: TcpStream,
    shared: Arc<Shared>,
    /// Bytes read and not yet part of a complete request.
    buf: Vec<u8>,
    /// Complete requests read and not yet dealt with.
    pending: VecDeque<Request>,
    /// Body bytes of the last request still to skip.
    skip: usize,
}

impl Conn {
    fn new(stream: TcpStream, shared: Arc<Shared>) -> Self {
        let _ = stream.set_read_timeout(Some(TICK));
        let _ = stream.set_write_timeout(Some(WRITE_WAIT));
        let _ = stream.set_nodelay(true);
        Self {
            stream,
            shared,
            buf: Vec::new(),
            pending: VecDeque::new(),
            skip: 0,
        }
    }

    fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst)
    }

    fn serve(mut self) {
        match self.shared.mode {
            Mode::Silent => {
                while self.fill() {}
                self.hold();
            }
            Mode::Reset => {
                if self.next_request().is_some() {
                    let _ = SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
                }
                // Dropped here: with linger 0, an RST.
            }
            Mode::CloseEmpty => {
                if self.next_request().is_some() {
                    self.close_cleanly();
                }
            }
            Mode::Garbage => {
                if self.next_request().is_some() {
                    let _ = self.stream.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
                    self.close_cleanly();
                }
            }
            Mode::CloseMidBody => {
                if let Some(request) = self.next_request() {
                    let _ = self.stream.write_all(&cut_response(&request));
                    self.close_cleanly();
                }
            }
            Mode::StallMidBody => {
                if let Some(request) = self.next_request() {
                    let _ = self.stream.write_all(&cut_response(&request));
                    self.hold();
                }
            }
            Mode::CloseDelimited => {
                if let Some(request) = self.next_request() {
                    let fields = "Content-Type: text/html\r\nConnection: close\r\n";
                    self.write_counted(&response(&request, fields, false));
                    self.close_cleanly();
                }
            }
            Mode::NoPipelining | Mode::RefusePipelining => loop {
                let Some(request) = self.next_request() else {
                    return;
                };
                let pipelined = !self.pending.is_empty() || !self.buf.is_empty() || self.skip > 0;
                if pipelined && self.shared.mode == Mode::RefusePipelining {
                    self.close_cleanly();
                    return;
                }
                if !self.respond(&request) {
                    return;
                }
                if pipelined {
                    self.close_cleanly();
                    return;
                }
            },
            Mode::OneAtATime => {
                if let Some(request) = self.next_request() {
                    self.write_counted(&closing_response(&request));
                    self.close_cleanly();
                }
            }
            Mode::SlowOnePerConnection => {
                if let Some(request) = self.next_request() {
                    let counts = &self.shared.counts;
                    let now = counts.answering.fetch_add(1, Ordering::SeqCst) + 1;
                    counts.most_answering.fetch_max(now, Ordering::SeqCst);
                    thread::sleep(SLOW_ANSWER);
                    // Done before the write: the client cannot start its next request
                    // before it has this answer, so a slow thread here counts no overlap.
                    self.shared.counts.answering.fetch_sub(1, Ordering::SeqCst);
                    self.write_counted(&closing_response(&request));
                    self.close_cleanly();
                }
            }
            Mode::ExtraResponse => loop {
                let Some(request) = self.next_request() else {
                    return;
                };
                if !self.respond_then(&request, EXTRA_RESPONSE) {
                    return;
                }
            },
            Mode::RepeatsItsMax(n) => {
                let keep_alive = format!(
                    "Content-Type: text/html\r\nConnection: keep-alive\r\n\
                     Keep-Alive: timeout=5, max={n}\r\n"
                );
                for answered in 1..=n {
                    let Some(request) = self.next_request() else {
                        return;
                    };
                    let out = if answered < n {
                        response(&request, &keep_alive, true)
                    } else {
                        closing_response(&request)
                    };
                    if !self.write_counted(&out) {
                        return;
                    }
                }
                // What came behind the last is refused, as Node.js does, and not counted.
                let refused = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\
                                Content-Length: 0\r\n\r\n";
                for _ in self.pending.drain(..) {
                    if self.stream.write_all(refused).is_err() {
                        return;
                    }
                }
                self.close_cleanly();
            }
            Mode::CloseAfter(n) => {
                let mut answered = 0;
                while answered < n {
                    let Some(request) = self.next_request() else {
                        return;
                    };
                    if !self.respond(&request) {
                        return;
                    }
                    answered += 1;
                }
                // Dropped as it is: unread requests make it a reset.
            }
        }
    }

    /// Reads once (waiting until bytes come); false at EOF, on an error, or when stopping.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if self.stopping() {
                return false;
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => {
                    self.take(&chunk[..n]);
                    return true;
                }
                Err(e) if is_wait(&e) => {}
                Err(_) => return false,
            }
        }
    }

    /// Takes bytes read: skips the rest of a body, and parses every complete request.
    fn take(&mut self, mut bytes: &[u8]) {
        let skipped = self.skip.min(bytes.len());
        self.skip -= skipped;
        bytes = &bytes[skipped..];
        self.buf.extend_from_slice(bytes);
        while self.skip == 0 {
            let Some(end) = find(&self.buf, b"\r\n\r\n") else {
                return;
            };
            let head: Vec<u8> = self.buf.drain(..end + 4).collect();
            let head = String::from_utf8_lossy(&head);
            let mut lines = head.split("\r\n");
            let mut words = lines.next().unwrap_or("").split(' ');
            let method = words.next().unwrap_or("").to_owned();
            let target = words.next().unwrap_or("").to_owned();
            let length = lines
                .filter_map(|line| line.split_once(':'))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, value)| value.trim().parse::<usize>().ok())
                .unwrap_or(0);
            let in_buf = length.min(self.buf.len());
            self.buf.drain(..in_buf);
            self.skip = length - in_buf;
            self.shared.counts.requests.fetch_add(1, Ordering::SeqCst);
            self.pending.push_back(Request { method, target });
        }
    }

    /// The next complete request, reading as needed; None at EOF (or an error, or stop).
    fn next_request(&mut self) -> Option<Request> {
        loop {
            if let Some(request) = self.pending.pop_front() {
                return Some(request);
            }
            if !self.fill() {
                return None;
            }
        }
    }

    /// Answers properly; false if the write failed.
    fn respond(&mut self, request: &Request) -> bool {
        self.respond_then(request, b"")
    }

    /// [`respond`](Self::respond), with `extra` in the same write.
    fn respond_then(&mut self, request: &Request, extra: &[u8]) -> bool {
        let mut out = response(request, "Content-Type: text/html\r\n", true);
        out.extend_from_slice(extra);
        self.write_counted(&out)
    }

    /// Writes a proper response, counted once it is written; false if it failed.
    fn write_counted(&mut self, response: &[u8]) -> bool {
        let written = self.stream.write_all(response).is_ok();
        if written {
            self.shared.counts.responses.fetch_add(1, Ordering::SeqCst);
        }
        written
    }

    /// Closes our side, then reads and drops what the client still sends until it closes
    /// (or [`LINGER`] passes): the client sees a FIN, not a reset.
    fn close_cleanly(mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
        let deadline = Instant::now() + LINGER;
        let mut chunk = [0u8; 16 * 1024];
        while Instant::now() < deadline && !self.stopping() {
            match self.stream.read(&mut chunk) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if is_wait(&e) => {}
                Err(_) => return,
            }
        }
    }

    /// Keeps the connection open, reading and dropping whatever comes, until the server
    /// is dropped.
    fn hold(&mut self) {
        let mut chunk = [0u8; 16 * 1024];
        let mut open = true;
        while !self.stopping() {
            if open {
                match self.stream.read(&mut chunk) {
                    Ok(0) => open = false,
                    Ok(n) => self.take(&chunk[..n]),
                    Err(e) if is_wait(&e) => {}
                    Err(_) => open = false,
                }
            } else {
                thread::sleep(TICK);
            }
        }
    }
}

fn is_wait(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
    )
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Status, reason and body for a target.
fn route(target: &str) -> (u16, &'static str, String) {
    let path = target.split('?').next().unwrap_or("");
    let document = path
        .strip_prefix("/d")
        .and_then(|rest| rest.strip_suffix(".html"))
        .and_then(|n| n.parse::<u64>().ok());
    match (path, document) {
        ("/", _) => (200, "OK", "hostile\n".to_owned()),
        (_, Some(n)) => (200, "OK", format!("document {n}\n")),
        _ => (404, "Not Found", "not found\n".to_owned()),
    }
}

/// A response cut off: to a HEAD half a head, to anything else a 200 head with
/// `Content-Length: 100` and only 10 body bytes.
fn cut_response(request: &Request) -> Vec<u8> {
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100\r\n\r\n";
    if request.is_head() {
        head[..head.len() / 2].to_vec()
    } else {
        let mut out = head.to_vec();
        out.extend_from_slice(b"document 1");
        out
    }
}
