//! A small in-process HTTP/1.1 server for the crawl to run against, built directly on the
//! sans-IO core ([`ServerConn`]): one accept thread, one blocking thread per connection.
//!
//! Routes: `GET`/`HEAD /` answers `Hello, world!`; `GET`/`HEAD /dN.html` (N a positive
//! decimal integer without leading zeros) answers `document N\n` as `text/html`; everything
//! else is a 404. Request bodies are read and dropped.
//!
//! Built for pipelining: every complete request already received is answered before
//! anything is written, so one read of many requests costs one write of all the responses.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use pollhttp::proto::{BodyLength, Event, Framing, ServerConn};

/// Free space asked of the receive buffer before each read. The core gives back a buffer
/// above 64 KiB whenever it empties, so this leaves room for the partial request a read
/// may end with without growing past that.
const READ_SPACE: usize = 32 * 1024;

/// Initial capacity of a connection's output buffer: a full 64 KiB read of small
/// pipelined requests answers with about this much.
const OUT_CAPACITY: usize = 128 * 1024;

/// Bytes past which an output buffer is not kept between writes.
const OUT_KEEP_AT_MOST: usize = 1024 * 1024;

/// How long, and how much, we read and drop after our last response before closing, so
/// that unread request bytes do not make the kernel reset the connection (and lose the
/// response) on close.
const LINGER_TIME: Duration = Duration::from_millis(500);
const LINGER_BYTES: usize = 256 * 1024;

const HELLO: &[u8] = b"Hello, world!";
const NOT_FOUND: &[u8] = b"Not Found\n";
const NOT_FOUND_BODY: &[&[u8]] = &[NOT_FOUND];

/// Starts the server on 127.0.0.1 port 0 in background threads; returns its address.
pub(crate) fn start() -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    let addr = listener.local_addr()?;
    let fields = Arc::new(Fields::new());
    thread::Builder::new()
        .name("embedded-accept".into())
        .spawn(move || accept_loop(&listener, &fields))?;
    Ok(addr)
}

/// The header fields of each kind of response, built once.
struct Fields {
    html: HeaderMap,
    text: HeaderMap,
}

impl Fields {
    fn new() -> Self {
        let mut html = HeaderMap::new();
        html.insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
        let mut text = HeaderMap::new();
        text.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        Self { html, text }
    }
}

fn accept_loop(listener: &TcpListener, fields: &Arc<Fields>) {
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                let fields = Arc::clone(fields);
                // A thread that cannot be started drops (closes) the connection.
                let _ = thread::Builder::new()
                    .name("embedded-conn".into())
                    .spawn(move || serve(stream, &fields));
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // Out of descriptors or memory, or an aborted handshake: wait a little, go on.
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// What a request asked for, kept from its head until its body has been read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Hello,
    /// `/dN.html`; N's digits are in the connection's `digits`.
    Document,
    NotFound,
}

/// What to do once the buffered bytes are used up.
enum Next {
    Read,
    Close,
}

/// One connection's state and reusable buffers.
struct Connection<'f> {
    conn: ServerConn,
    fields: &'f Fields,
    out: Vec<u8>,
    route: Route,
    digits: Vec<u8>,
}

fn serve(mut stream: TcpStream, fields: &Fields) {
    let _ = stream.set_nodelay(true);
    let mut c = Connection {
        conn: ServerConn::new(),
        fields,
        out: Vec::with_capacity(OUT_CAPACITY),
        route: Route::NotFound,
        digits: Vec::new(),
    };
    loop {
        let next = c.drain();
        if !c.out.is_empty() {
            if stream.write_all(&c.out).is_err() {
                return;
            }
            c.out.clear();
            if c.out.capacity() > OUT_KEEP_AT_MOST {
                c.out = Vec::with_capacity(OUT_CAPACITY);
            }
        }
        if let Next::Close = next {
            linger_close(&mut stream);
            return;
        }
        let space = c.conn.receive_space(READ_SPACE);
        match stream.read(space) {
            Ok(0) => c.conn.receive_eof(),
            Ok(n) => c.conn.receive_commit(n),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// Closes our side after the last response, reading (and dropping) what the peer still
/// sends for a short while so the response is not lost to a reset.
fn linger_close(stream: &mut TcpStream) {
    if stream.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let deadline = Instant::now() + LINGER_TIME;
    let mut sink = [0u8; 4096];
    let mut dropped = 0;
    while dropped < LINGER_BYTES {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut sink) {
            Ok(0) => return,
            Ok(n) => dropped += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

impl Connection<'_> {
    /// Answers every complete request in the receive buffer, into `out`.
    fn drain(&mut self) -> Next {
        loop {
            match self.conn.next_event() {
                Ok(Event::Request(head)) => {
                    self.route = self.route_of(head.method(), head.target());
                    if self.conn.client_waiting_for_continue()
                        && self
                            .conn
                            .send_informational(
                                StatusCode::CONTINUE,
                                &HeaderMap::new(),
                                &mut self.out,
                            )
                            .is_err()
                    {
                        return Next::Close;
                    }
                }
                // Request bodies are dropped.
                Ok(Event::Data(_)) => {}
                Ok(Event::End(_)) => {
                    if self.respond().is_err() || self.conn.must_close() {
                        return Next::Close;
                    }
                }
                Ok(Event::NeedData) => return Next::Read,
                // Closed: the peer is done. Paused or Switched cannot come, as every
                // request is answered at its end and no switch is ever accepted.
                Ok(_) => return Next::Close,
                Err(e) => {
                    if let Some(status) = e.status_hint() {
                        // Refused when a response is already under way; then just close.
                        let fields = self.fields;
                        let reason = status.canonical_reason().unwrap_or("Error");
                        let _ = self.send(status, &fields.text, &[reason.as_bytes(), b"\n"]);
                    }
                    return Next::Close;
                }
            }
        }
    }

    fn route_of(&mut self, method: &Method, target: &str) -> Route {
        if method != Method::GET && method != Method::HEAD {
            return Route::NotFound;
        }
        let path = origin_path(target);
        if path == "/" {
            return Route::Hello;
        }
        match document_number(path) {
            Some(digits) => {
                self.digits.clear();
                self.digits.extend_from_slice(digits.as_bytes());
                Route::Document
            }
            None => Route::NotFound,
        }
    }

    fn respond(&mut self) -> Result<(), pollhttp::proto::Error> {
        let fields = self.fields;
        match self.route {
            Route::Hello => self.send(StatusCode::OK, &fields.text, &[HELLO]),
            Route::Document => {
                let digits = std::mem::take(&mut self.digits);
                let result = self.send(
                    StatusCode::OK,
                    &fields.html,
                    &[b"document ", &digits, b"\n"],
                );
                self.digits = digits;
                result
            }
            Route::NotFound => self.send(StatusCode::NOT_FOUND, &fields.text, NOT_FOUND_BODY),
        }
    }

    /// Sends a whole response whose body is `parts` concatenated (only announced, for HEAD).
    fn send(
        &mut self,
        status: StatusCode,
        fields: &HeaderMap,
        parts: &[&[u8]],
    ) -> Result<(), pollhttp::proto::Error> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let framing = self.conn.send_response(
            status,
            None,
            fields,
            BodyLength::Known(len as u64),
            &mut self.out,
        )?;
        // A HEAD response (or an empty body) is complete with its head: sending more
        // would be misuse and fail the connection.
        if framing == Framing::None {
            return Ok(());
        }
        for part in parts {
            self.conn.send_data(part, &mut self.out)?;
        }
        self.conn.send_end(None, &mut self.out)
    }
}

/// The path of a request target: the query dropped, and an absolute-form target reduced to
/// its path (authority-form and `*` are no path of ours).
fn origin_path(target: &str) -> &str {
    let path = match target.find("://") {
        Some(i) if !target.starts_with('/') => {
            let rest = &target[i + 3..];
            rest.find('/').map_or("/", |j| &rest[j..])
        }
        _ => target,
    };
    path.split_once('?').map_or(path, |(p, _)| p)
}

/// N's digits of `/dN.html`, N a positive decimal integer written without leading zeros.
fn document_number(path: &str) -> Option<&str> {
    let digits = path.strip_prefix("/d")?.strip_suffix(".html")?;
    let canonical = digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
    (canonical && !digits.is_empty()).then_some(digits)
}
