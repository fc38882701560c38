//! A scripted peer for loopback tests of the client: a listener on 127.0.0.1:0, [::1]:0,
//! a Unix socket path or a Linux abstract name, and a thread that accepts connections and
//! runs a closure over them. The closure reads requests as raw bytes and writes canned raw
//! bytes, so a test controls exactly what goes on the wire, when, and how the connection
//! ends (a clean close, a half close, or a reset with `SO_LINGER` 0).
//!
//! Everything on the peer's side waits at most [`WAIT`] (accepts, reads, writes), then
//! panics: a broken client makes a test fail, never hang. The panic reaches the test when
//! it calls [`Peer::join`].
//!
//! For tests that only need a correct HTTP server, [`PeerConn::serve_http`] answers
//! requests through `pollhttp::proto::ServerConn`.
#![allow(dead_code, unreachable_pub)]

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use http::{HeaderMap, StatusCode};
use pollhttp::client::Client;
use pollhttp::io::Address;
use pollhttp::proto::{BodyLength, Event, ServerConn};
use pollhttp::{Interest, PollNeeded};
use socket2::SockRef;

/// How long the peer waits for anything before it gives up (and panics).
pub const WAIT: Duration = Duration::from_secs(10);

/// Where the peer listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Where {
    /// 127.0.0.1, a free port.
    Tcp4,
    /// [::1], a free port (fails where the machine has no IPv6 loopback).
    Tcp6,
    /// A Unix socket at a fresh path in the temporary directory.
    UnixPath,
    /// A Linux abstract Unix socket name, fresh for each peer.
    UnixAbstract,
}

/// A unique name for this process: `pollhttp-peer-<pid>-<n>-<tag>`.
fn unique(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "pollhttp-peer-{}-{}-{tag}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A socket file, removed on drop.
struct TempPath(PathBuf);

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Listener {
    fn fd(&self) -> RawFd {
        match self {
            Self::Tcp(l) => l.as_raw_fd(),
            Self::Unix(l) => l.as_raw_fd(),
        }
    }

    fn try_accept(&self) -> io::Result<Stream> {
        match self {
            Self::Tcp(l) => l.accept().map(|(s, _)| Stream::Tcp(s)),
            Self::Unix(l) => l.accept().map(|(s, _)| Stream::Unix(s)),
        }
    }
}

/// Accepts the connections of a peer, in its thread.
pub struct Acceptor {
    listener: Listener,
}

impl Acceptor {
    /// The next connection (panics if none comes within [`WAIT`]).
    pub fn accept(&self) -> PeerConn {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.listener.try_accept() {
                Ok(stream) => return PeerConn::new(stream),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => panic!("peer: accept failed: {e}"),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "peer: no connection within {WAIT:?}");
            let need = PollNeeded {
                fd: self.listener.fd(),
                interest: Interest::READABLE,
            };
            need.wait(Some(left)).expect("peer: poll on the listener");
        }
    }
}

/// A listening peer with its script running in a thread.
pub struct Peer<T> {
    address: Address,
    handle: Option<JoinHandle<T>>,
    _path: Option<TempPath>,
}

impl<T: Send + 'static> Peer<T> {
    /// A peer on 127.0.0.1 that accepts one connection and runs `script` over it.
    pub fn tcp(script: impl FnOnce(PeerConn) -> T + Send + 'static) -> Self {
        Self::at(Where::Tcp4, script).expect("peer: listen on 127.0.0.1")
    }

    /// A peer on 127.0.0.1 whose script accepts connections itself.
    pub fn tcp_many(script: impl FnOnce(Acceptor) -> T + Send + 'static) -> Self {
        Self::at_many(Where::Tcp4, script).expect("peer: listen on 127.0.0.1")
    }

    /// A peer at `at` that accepts one connection and runs `script` over it.
    pub fn at(at: Where, script: impl FnOnce(PeerConn) -> T + Send + 'static) -> io::Result<Self> {
        Self::at_many(at, move |acceptor| script(acceptor.accept()))
    }

    /// A peer at `at` whose script accepts connections itself.
    pub fn at_many(
        at: Where,
        script: impl FnOnce(Acceptor) -> T + Send + 'static,
    ) -> io::Result<Self> {
        let (listener, address, path) = listen(at)?;
        match &listener {
            Listener::Tcp(l) => l.set_nonblocking(true)?,
            Listener::Unix(l) => l.set_nonblocking(true)?,
        }
        let acceptor = Acceptor { listener };
        let handle = thread::Builder::new()
            .name(format!("peer {address}"))
            .spawn(move || script(acceptor))?;
        Ok(Self {
            address,
            handle: Some(handle),
            _path: path,
        })
    }

    /// Where to connect.
    pub fn address(&self) -> Address {
        self.address.clone()
    }

    /// A client for this peer (its default `Host`, a [`WAIT`] timeout).
    pub fn client(&self) -> Client {
        Client::new(self.address()).with_timeout(Some(WAIT))
    }

    /// Waits for the script to finish and returns what it returned; a panic in the script
    /// (a failed assertion, a timeout) fails the test here.
    pub fn join(mut self) -> T {
        let handle = self.handle.take().expect("joined once");
        match handle.join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

fn listen(at: Where) -> io::Result<(Listener, Address, Option<TempPath>)> {
    Ok(match at {
        Where::Tcp4 => {
            let l = TcpListener::bind("127.0.0.1:0")?;
            let a = l.local_addr()?;
            (Listener::Tcp(l), Address::Tcp(a), None)
        }
        Where::Tcp6 => {
            let l = TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, 0)))?;
            let a = l.local_addr()?;
            (Listener::Tcp(l), Address::Tcp(a), None)
        }
        Where::UnixPath => {
            let path = std::env::temp_dir().join(unique("sock"));
            let _ = std::fs::remove_file(&path);
            let l = UnixListener::bind(&path)?;
            let a = Address::Unix(path.clone());
            (Listener::Unix(l), a, Some(TempPath(path)))
        }
        Where::UnixAbstract => {
            use std::os::linux::net::SocketAddrExt;
            let name = unique("abstract");
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
            let l = UnixListener::bind_addr(&addr)?;
            (Listener::Unix(l), Address::unix(format!("@{name}")), None)
        }
    })
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn sock(&self) -> SockRef<'_> {
        match self {
            Self::Tcp(s) => SockRef::from(s),
            Self::Unix(s) => SockRef::from(s),
        }
    }

    fn fd(&self) -> RawFd {
        match self {
            Self::Tcp(s) => s.as_raw_fd(),
            Self::Unix(s) => s.as_raw_fd(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.read(buf),
            Self::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.write(buf),
            Self::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The peer's end of one connection: blocking reads and writes of raw bytes, each waiting
/// at most [`WAIT`].
pub struct PeerConn {
    stream: Stream,
    /// Bytes read from the socket and not consumed yet.
    buf: Vec<u8>,
    eof: bool,
}

impl PeerConn {
    fn new(stream: Stream) -> Self {
        let sock = stream.sock();
        sock.set_nonblocking(false).expect("peer: blocking socket");
        sock.set_read_timeout(Some(WAIT))
            .expect("peer: read timeout");
        sock.set_write_timeout(Some(WAIT))
            .expect("peer: write timeout");
        Self {
            stream,
            buf: Vec::new(),
            eof: false,
        }
    }

    /// The socket, for options.
    pub fn sock(&self) -> SockRef<'_> {
        self.stream.sock()
    }

    /// Reads once more into the buffer; false at end of input.
    fn fill(&mut self) -> bool {
        if self.eof {
            return false;
        }
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    self.eof = true;
                    return false;
                }
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return true;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    panic!("peer: nothing to read within {WAIT:?}")
                }
                Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                    self.eof = true;
                    return false;
                }
                Err(e) => panic!("peer: read failed: {e}"),
            }
        }
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        let rest = self.buf.split_off(n);
        std::mem::replace(&mut self.buf, rest)
    }

    /// Bytes read from the socket that no read_* call returned yet.
    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }

    /// Whether anything is waiting to be read right now (buffered, or in the socket; an end
    /// of input counts), without blocking.
    pub fn readable_now(&self) -> bool {
        if !self.buf.is_empty() {
            return true;
        }
        let need = PollNeeded {
            fd: self.stream.fd(),
            interest: Interest::READABLE,
        };
        need.wait(Some(Duration::ZERO)).expect("peer: poll")
    }

    /// Reads up to and including the next `\r\n\r\n`; `None` at a clean end of input
    /// (nothing buffered). Panics on an end of input inside the head.
    pub fn try_read_head(&mut self) -> Option<Vec<u8>> {
        let mut searched = 0;
        loop {
            if let Some(i) = find(&self.buf[searched..], b"\r\n\r\n") {
                return Some(self.take(searched + i + 4));
            }
            searched = self.buf.len().saturating_sub(3);
            if !self.fill() {
                assert!(
                    self.buf.is_empty(),
                    "peer: end of input inside a head: {:?}",
                    String::from_utf8_lossy(&self.buf)
                );
                return None;
            }
        }
    }

    /// Reads a head (up to and including `\r\n\r\n`).
    pub fn read_head(&mut self) -> Vec<u8> {
        self.try_read_head()
            .expect("peer: end of input before a request head")
    }

    /// Reads a line, `\r\n` included.
    pub fn read_line(&mut self) -> Vec<u8> {
        let mut searched = 0;
        loop {
            if let Some(i) = find(&self.buf[searched..], b"\r\n") {
                return self.take(searched + i + 2);
            }
            searched = self.buf.len().saturating_sub(1);
            assert!(self.fill(), "peer: end of input inside a line");
        }
    }

    /// Reads exactly `n` bytes.
    pub fn read_exact(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            assert!(
                self.fill(),
                "peer: end of input after {} of {n} bytes",
                self.buf.len()
            );
        }
        self.take(n)
    }

    /// Reads whatever comes next (at least one byte), or nothing at end of input.
    pub fn read_some(&mut self) -> Vec<u8> {
        if self.buf.is_empty() {
            self.fill();
        }
        std::mem::take(&mut self.buf)
    }

    /// Reads until end of input (a reset counts as the end).
    pub fn read_to_end(&mut self) -> Vec<u8> {
        while self.fill() {}
        std::mem::take(&mut self.buf)
    }

    /// Reads one whole request as raw bytes: its head, then its body as the head frames it
    /// (Content-Length, or chunked with trailers). `None` at a clean end of input.
    pub fn try_read_request(&mut self) -> Option<Vec<u8>> {
        let mut raw = self.try_read_head()?;
        let head = String::from_utf8_lossy(&raw).to_ascii_lowercase();
        let field = |name: &str| {
            head.split("\r\n")
                .filter_map(|line| line.split_once(':'))
                .find(|(n, _)| n.trim() == name)
                .map(|(_, v)| v.trim().to_owned())
        };
        if field("transfer-encoding").is_some_and(|te| te == "chunked") {
            loop {
                let line = self.read_line();
                raw.extend_from_slice(&line);
                let text = String::from_utf8_lossy(&line);
                let size = text.trim_end().split(';').next().unwrap_or("");
                let size = usize::from_str_radix(size, 16).expect("peer: chunk size");
                if size == 0 {
                    loop {
                        let trailer = self.read_line();
                        raw.extend_from_slice(&trailer);
                        if trailer == b"\r\n" {
                            return Some(raw);
                        }
                    }
                }
                raw.extend(self.read_exact(size + 2));
            }
        }
        if let Some(length) = field("content-length") {
            let n: usize = length.parse().expect("peer: content-length");
            raw.extend(self.read_exact(n));
        }
        Some(raw)
    }

    /// Reads one whole request (head and body) as raw bytes.
    pub fn read_request(&mut self) -> Vec<u8> {
        self.try_read_request()
            .expect("peer: end of input before a request")
    }

    /// Writes all of `bytes`.
    pub fn write(&mut self, bytes: &[u8]) {
        if let Err(e) = self.try_write(bytes) {
            panic!("peer: write failed: {e}");
        }
    }

    /// Writes all of `bytes`, returning the error if the client has gone.
    pub fn try_write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Closes the sending side: the client reads end of input.
    pub fn shutdown_write(&self) {
        let _ = self.stream.sock().shutdown(Shutdown::Write);
    }

    /// Closes the connection with a reset (`SO_LINGER` 0): the client's next read or
    /// write fails with `ECONNRESET`.
    pub fn reset(self) {
        self.stream
            .sock()
            .set_linger(Some(Duration::ZERO))
            .expect("peer: SO_LINGER");
        drop(self);
    }

    /// Answers requests with a real HTTP server (`pollhttp::proto::ServerConn`) until the
    /// client closes: `handler` gets each complete request and returns the response.
    /// Returns the requests served.
    pub fn serve_http(mut self, mut handler: impl FnMut(&Request) -> Reply) -> Vec<Request> {
        let mut conn = ServerConn::new();
        conn.receive(&std::mem::take(&mut self.buf))
            .expect("receive");
        let mut served = Vec::new();
        let mut current: Option<Request> = None;
        let mut out = Vec::new();
        loop {
            let complete = loop {
                match conn.next_event() {
                    Ok(Event::Request(head)) => {
                        current = Some(Request {
                            method: head.method().to_string(),
                            target: head.target().to_owned(),
                            headers: head
                                .headers()
                                .iter()
                                .map(|(n, v)| (n.to_owned(), v.to_vec()))
                                .collect(),
                            body: Vec::new(),
                            trailers: Vec::new(),
                        });
                    }
                    Ok(Event::Data(d)) => current.as_mut().expect("a request").body.extend(d),
                    Ok(Event::End(trailers)) => {
                        let mut request = current.take().expect("a request");
                        request.trailers = trailers
                            .iter()
                            .map(|(n, v)| (n.to_owned(), v.to_vec()))
                            .collect();
                        break Some(request);
                    }
                    Ok(Event::NeedData) => break None,
                    Ok(Event::Closed) => return served,
                    Ok(other) => panic!("peer: unexpected {other:?}"),
                    Err(e) => panic!("peer: bad request: {e}"),
                }
            };
            if let Some(request) = complete {
                let reply = handler(&request);
                let length = BodyLength::Known(reply.body.len() as u64);
                conn.send_response(reply.status, None, &reply.headers, length, &mut out)
                    .expect("send_response");
                if !reply.body.is_empty() {
                    conn.send_data(&reply.body, &mut out).expect("send_data");
                }
                conn.send_end(None, &mut out).expect("send_end");
                self.write(&out);
                out.clear();
                served.push(request);
                if conn.must_close() {
                    return served;
                }
                continue;
            }
            let space = conn.receive_space(64 * 1024);
            match self.stream.read(space) {
                Ok(0) => conn.receive_eof(),
                Ok(n) => conn.receive_commit(n),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => conn.receive_eof(),
                Err(e) => panic!("peer: read failed: {e}"),
            }
        }
    }
}

/// A request as [`PeerConn::serve_http`] received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, Vec<u8>)>,
}

impl Request {
    /// The first value of a header field.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
}

/// A response for [`PeerConn::serve_http`] (Content-Length framing).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// `200 OK` with this body.
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: body.into(),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `HTTP/1.1 200 OK` with a Content-Length body.
pub fn ok(body: &[u8]) -> Vec<u8> {
    let mut r = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len()).into_bytes();
    r.extend_from_slice(body);
    r
}

/// A chunked body: each piece a chunk, then the last chunk and `trailers` (raw lines,
/// each ending in `\r\n`).
pub fn chunked_body(pieces: &[&[u8]], trailers: &str) -> Vec<u8> {
    let mut r = Vec::new();
    for piece in pieces {
        r.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        r.extend_from_slice(piece);
        r.extend_from_slice(b"\r\n");
    }
    r.extend_from_slice(b"0\r\n");
    r.extend_from_slice(trailers.as_bytes());
    r.extend_from_slice(b"\r\n");
    r
}

/// `n` bytes of `i % 251`: a pattern whose every offset is checkable, and that no power of
/// two aligns with.
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// The bytes as text, for assertion messages (lossy).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
