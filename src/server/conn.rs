//! One server connection: reading requests, calling the handler, writing responses.
//!
//! A worker drives a connection with [`drive`] while it has something to do. Reading a
//! request head never blocks: when the socket has nothing more, the connection waits in
//! the worker's poller (idle, or with a partial head under the head timeout), so a slow
//! client holds no worker. Reading a request body (inside the handler) and writing a response
//! block, each wait bounded by the body timeout.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use http::header::{CONNECTION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, StatusCode};

use super::config::Config;
use super::request::Request;
use super::response::Response;
use super::session::Session;
use crate::body::Kind;
use crate::op::date;
use crate::op::link::Link;
use crate::proto::{BodyLength, ChunkExtension, Event, Framing, ServerConn};
use crate::tls::Handshake;
use crate::{Interest, PollNeeded};

/// Reads into the core's buffer at most this much at a time...
const READ_SIZE: usize = 32 * 1024;
/// ...and at first this much: reads double while they fill the space, so a connection with
/// one small request at a time zeroes and holds little memory.
const FIRST_READ_SIZE: usize = 4 * 1024;
/// Responses are batched until this much waits, then written.
const FLUSH_AT: usize = 64 * 1024;
/// An unread request body shorter than this is read and dropped after the response, so
/// the connection can go on; a longer one closes it.
const DRAIN_AT_MOST: u64 = 256 * 1024;
/// How long a closing connection reads and drops what the client still sends.
const LINGER: Duration = Duration::from_secs(2);
/// How much of a reader body to send at a time.
const PIECE: usize = 64 * 1024;

/// What the connection waits for when it goes back to the poller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Between requests: the idle timeout.
    Idle,
    /// In a request head (or the TLS handshake): the head timeout.
    Head,
    /// Closing, reading and dropping what still comes: the linger time.
    Linger,
}

/// What a worker does with a connection next.
#[derive(Debug)]
pub(crate) enum Next {
    /// Back to the poller until the socket is ready for `interest`.
    Wait(Interest, Wait),
    /// Everything is written: close after a lingering wait. Our side is shut down, and what
    /// the client still sends is read and dropped until it closes or the linger time ends,
    /// so that unread bytes do not turn the close into a reset that loses the response
    /// (RFC 9112 §9.6).
    Linger,
    /// Close it.
    Close,
}

/// The I/O side of a connection: the handler's request body borrows it.
#[derive(Debug)]
pub(crate) struct ConnIo {
    pub(crate) link: Link,
    pub(crate) proto: ServerConn,
    pub(crate) out: Vec<u8>,
    written: usize,
    read_size: usize,
    body_timeout: Duration,
}

/// One client connection.
#[derive(Debug)]
pub(crate) struct Conn {
    handshake: Option<Box<Handshake>>,
    io: Option<ConnIo>,
    pub(crate) session: Session,
    fd: RawFd,
    connected: bool,
    /// When the request head (or TLS handshake) now awaited began to arrive: the head
    /// timeout runs from here, however the bytes trickle in.
    head_since: Option<Instant>,
}

impl Conn {
    pub(crate) fn new(
        link_or_handshake: Result<Link, Handshake>,
        session: Session,
        config: &Config,
    ) -> Self {
        let (handshake, io, fd) = match link_or_handshake {
            Ok(link) => {
                let fd = link.transport().as_raw_fd();
                (None, Some(ConnIo::new(link, config)), fd)
            }
            Err(handshake) => {
                let fd = handshake.fd();
                (Some(Box::new(handshake)), None, fd)
            }
        };
        Self {
            handshake,
            io,
            session,
            fd,
            connected: false,
            head_since: None,
        }
    }

    pub(crate) fn fd(&self) -> RawFd {
        self.fd
    }

    /// When the connection's wait of this kind ends.
    pub(crate) fn deadline(&mut self, wait: Wait, config: &Config, now: Instant) -> Instant {
        match wait {
            Wait::Head => *self.head_since.get_or_insert(now) + config.head_timeout,
            Wait::Idle => now + config.idle_timeout,
            Wait::Linger => now + LINGER,
        }
    }

    /// Starts a lingering close: shuts our side down (after a TLS close_notify).
    pub(crate) fn start_linger(&mut self) {
        if let Some(io) = &mut self.io {
            if let Link::Tls(tls) = &mut io.link {
                tls.send_close_notify();
            }
            let _ = io.link.transport().shutdown_write();
        }
    }

    /// Reads and drops what the client sends while lingering. `false`: it closed (or
    /// failed): close now.
    pub(crate) fn linger_read(&mut self) -> bool {
        let Some(io) = &mut self.io else {
            return false;
        };
        let mut scratch = [0u8; 4096];
        loop {
            // The raw socket: under TLS, records are dropped undecrypted.
            match Read::read(&mut io.link.transport(), &mut scratch) {
                Ok(0) => return false,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
    }

    /// On a timeout in a request head: a 408, as far as the socket takes it now.
    pub(crate) fn time_out(&mut self) {
        if let Some(io) = &mut self.io {
            if io.proto.buffered() > 0 || io.proto.response_due() {
                io.stamp_date();
                let mut headers = HeaderMap::new();
                headers.insert(CONNECTION, HeaderValue::from_static("close"));
                let _ = io.proto.send_response(
                    StatusCode::REQUEST_TIMEOUT,
                    None,
                    &headers,
                    BodyLength::Known(0),
                    &mut io.out,
                );
                let _ = io.write_some();
            }
        }
    }
}

impl ConnIo {
    fn new(link: Link, config: &Config) -> Self {
        Self {
            link,
            proto: ServerConn::with_limits(config.limits),
            out: Vec::new(),
            written: 0,
            read_size: FIRST_READ_SIZE,
            body_timeout: config.body_timeout,
        }
    }

    fn need(&self, interest: Interest) -> PollNeeded {
        PollNeeded {
            fd: self.link.transport().as_raw_fd(),
            interest,
        }
    }

    /// The next final response gets the current `Date` (RFC 9110 §6.6.1), unless the
    /// handler gave one.
    fn stamp_date(&mut self) {
        self.proto.set_date(Some(date::now()));
    }

    /// The end of the connection: everything written, then a lingering close.
    fn finish(&mut self) -> Next {
        match self.flush() {
            Ok(()) => Next::Linger,
            Err(_) => Next::Close,
        }
    }

    /// Writes what it can now. `Ok(true)`: nothing is left.
    fn write_some(&mut self) -> io::Result<bool> {
        let done = self.link.write_out(&self.out, &mut self.written)?;
        if done {
            self.out.clear();
            self.written = 0;
        }
        Ok(done)
    }

    /// Writes everything, waiting at most the body timeout each time the socket is full.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        while !self.write_some()? {
            let need = self.need(self.link.write_need() | Interest::WRITABLE);
            if !need.wait(Some(self.body_timeout))? {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client did not read the response in time",
                ));
            }
        }
        if self.out.capacity() > 4 * FLUSH_AT {
            self.out = Vec::new();
        }
        Ok(())
    }

    /// Reads once without waiting. `Ok(false)`: nothing to read now.
    fn read_some(&mut self) -> io::Result<bool> {
        let space = self.proto.receive_space(self.read_size);
        let room = space.len();
        match self.link.read_once(space)? {
            Some(0) => self.proto.receive_eof(),
            Some(n) => {
                self.proto.receive_commit(n);
                if n == room {
                    self.read_size = (self.read_size * 2).min(READ_SIZE);
                }
            }
            None => return Ok(false),
        }
        Ok(true)
    }

    /// Reads once, waiting at most the body timeout (what a handler reading a body does).
    pub(crate) fn read_blocking(&mut self) -> io::Result<()> {
        // A response the handler started goes out first: the client may wait for it.
        if !self.out.is_empty() {
            self.flush()?;
        }
        while !self.read_some()? {
            let need = self.need(self.link.read_need());
            if !need.wait(Some(self.body_timeout))? {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client did not send the request body in time",
                ));
            }
        }
        Ok(())
    }

    /// Sends `100 Continue` if the client waits for it (the handler is reading the body).
    pub(crate) fn send_continue(&mut self) -> io::Result<()> {
        if self.proto.client_waiting_for_continue() {
            self.proto
                .send_informational(StatusCode::CONTINUE, &HeaderMap::new(), &mut self.out)
                .map_err(to_io)?;
            self.flush()?;
        }
        Ok(())
    }

    fn send_error(&mut self, status: StatusCode, message: &str) {
        let mut headers = HeaderMap::new();
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        let body = format!("{message}\n");
        self.stamp_date();
        if self
            .proto
            .send_response(
                status,
                None,
                &headers,
                BodyLength::Known(body.len() as u64),
                &mut self.out,
            )
            .is_ok()
        {
            let _ = self.proto.send_data(body.as_bytes(), &mut self.out);
            let _ = self.proto.send_end(None, &mut self.out);
        }
    }

    /// Writes a handler's response (streaming reader and chunk bodies).
    fn respond(&mut self, response: Response, close: bool) -> io::Result<()> {
        let Response {
            status,
            reason,
            headers,
            body,
        } = response;
        if close {
            self.proto.close_after_response();
        }
        let mut kind = body.kind;
        if status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
            // These carry no body, whatever the handler gave.
            kind = Kind::Empty;
        }
        let length = match &kind {
            Kind::Empty => BodyLength::Known(0),
            Kind::Bytes(b) => BodyLength::Known(b.len() as u64),
            Kind::Following(n) | Kind::Reader(_, n) => BodyLength::Known(*n),
            Kind::ChunkedReader(_) | Kind::Chunks(_) => BodyLength::Unknown,
        };
        let length = if matches!(kind, Kind::Empty)
            && (status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED)
        {
            BodyLength::None
        } else {
            length
        };
        self.stamp_date();
        let framing = self
            .proto
            .send_response(status, reason.as_deref(), &headers, length, &mut self.out)
            .map_err(to_io)?;
        // An HTTP/1.0 client gets a chunked body as plain data up to the close: extensions
        // and trailers have nowhere to go.
        let plain = framing == Framing::UntilClose;
        if framing == Framing::None {
            // HEAD, 204, 304, or an empty body: the response is complete.
            return Ok(());
        }
        match &mut kind {
            Kind::Empty | Kind::Following(_) => {}
            Kind::Bytes(bytes) => {
                self.proto.send_data(bytes, &mut self.out).map_err(to_io)?;
            }
            Kind::Reader(reader, n) => {
                let mut left = *n;
                let mut piece = vec![0; PIECE.min(usize::try_from(left).unwrap_or(PIECE))];
                while left > 0 {
                    let want = piece.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    let got = match reader.read(&mut piece[..want]) {
                        Ok(0) => {
                            return Err(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                format!("the response body reader ended {left} bytes short"),
                            ))
                        }
                        Ok(got) => got,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    };
                    self.proto
                        .send_data(&piece[..got], &mut self.out)
                        .map_err(to_io)?;
                    left -= got as u64;
                    if self.out.len() >= FLUSH_AT {
                        self.flush()?;
                    }
                }
            }
            Kind::ChunkedReader(reader) => {
                let mut piece = vec![0; PIECE];
                loop {
                    let got = match reader.read(&mut piece) {
                        Ok(0) => break,
                        Ok(got) => got,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    };
                    self.proto
                        .send_data(&piece[..got], &mut self.out)
                        .map_err(to_io)?;
                    if self.out.len() >= FLUSH_AT {
                        self.flush()?;
                    }
                }
            }
            Kind::Chunks(chunks) => {
                for chunk in chunks {
                    let chunk = chunk?;
                    let extensions: Vec<ChunkExtension<'_>> = if plain {
                        Vec::new()
                    } else {
                        chunk
                            .extensions
                            .iter()
                            .map(|(n, v)| (n.as_str(), v.as_deref()))
                            .collect()
                    };
                    self.proto
                        .send_chunk(&chunk.data, &extensions, &mut self.out)
                        .map_err(to_io)?;
                    if self.out.len() >= FLUSH_AT {
                        self.flush()?;
                    }
                }
            }
        }
        let trailers = if plain { None } else { body.trailers.as_ref() };
        self.proto.send_end(trailers, &mut self.out).map_err(to_io)
    }

    /// Before the response: drops what is already received of a request body the handler
    /// did not read (up to the drain limit), without waiting for more.
    fn drain_buffered(&mut self) {
        let mut dropped = 0u64;
        while dropped <= DRAIN_AT_MOST {
            match self.proto.next_event_max(usize::MAX) {
                Ok(Event::Data(d)) => dropped += d.len() as u64,
                _ => return,
            }
        }
    }

    /// After the response: reads and drops what is left of the request body, if it is
    /// short and arrives in time. `false`: the connection must close instead.
    fn drain_request(&mut self) -> bool {
        let mut dropped = 0u64;
        loop {
            match self.proto.next_event() {
                Ok(Event::Data(d)) => {
                    dropped += d.len() as u64;
                    if dropped > DRAIN_AT_MOST {
                        return false;
                    }
                }
                Ok(Event::End(_)) => return true,
                Ok(Event::NeedData) => {
                    if self.read_blocking().is_err() {
                        return false;
                    }
                }
                _ => return false,
            }
        }
    }
}

fn to_io(e: crate::proto::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// Drives a connection until it waits for the client or must close.
pub(crate) fn drive(conn: &mut Conn, config: &Config) -> Next {
    if let Some(handshake) = &mut conn.handshake {
        match handshake.resume() {
            Ok(crate::Progress::Ready(tls)) => {
                conn.session.tls = Some(tls.info());
                conn.io = Some(ConnIo::new(Link::Tls(Box::new(tls)), config));
                conn.handshake = None;
            }
            Ok(crate::Progress::Pending(need)) => return Next::Wait(need.interest, Wait::Head),
            Err(e) => {
                log::debug!("TLS handshake with {} failed: {e}", conn.session.peer);
                return Next::Close;
            }
        }
    }
    if !conn.connected {
        conn.connected = true;
        if let Some(on_connect) = &config.on_connect {
            let accepted = catch_unwind(AssertUnwindSafe(|| on_connect(&mut conn.session)));
            if !matches!(accepted, Ok(true)) {
                return Next::Close;
            }
        }
    }
    let Some(io) = conn.io.as_mut() else {
        return Next::Close;
    };
    loop {
        let event = io.proto.next_event();
        match event {
            Ok(Event::Request(head)) => {
                conn.head_since = None;
                conn.session.requests += 1;
                let last = config
                    .max_requests
                    .is_some_and(|max| conn.session.requests >= max);
                let method = head.method().clone();
                let request = Request::new(head, io);
                let handler = &config.handler;
                let session = &mut conn.session;
                let outcome = catch_unwind(AssertUnwindSafe(|| handler(session, request)));
                let response = match outcome {
                    Ok(response) => response,
                    Err(_) => {
                        log::error!("a handler panicked ({method}); answering 500 and closing");
                        conn.session.close = true;
                        Response::text(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
                    }
                };
                // A client still waiting for 100 was not asked for its body: it may never
                // send it. A body left unread that is known to be long is not worth
                // reading: both end the connection, and the response says so.
                if io.proto.body_framing().is_some() {
                    io.drain_buffered();
                }
                let unread_body = io.proto.body_framing();
                // A chunked body's length is unknown: it is drained after the response,
                // and the connection closes if it turns out long.
                let drainable = match unread_body {
                    Some(Framing::Length(n)) => n <= DRAIN_AT_MOST,
                    _ => true,
                };
                let ending = io.proto.client_waiting_for_continue() || !drainable;
                let close = conn.session.close || last || ending;
                if let Err(e) = io.respond(response, close) {
                    log::debug!("response to {} failed: {e}", conn.session.peer);
                    return Next::Close;
                }
                if io.proto.response_due() {
                    // Cannot happen with a complete Response; never leave a client hanging.
                    return Next::Close;
                }
                if close {
                    // Written, then a lingering close: request bytes may still be coming.
                    return io.finish();
                }
                if unread_body.is_some() && !io.drain_request() {
                    return io.finish();
                }
                if io.out.len() >= FLUSH_AT && io.flush().is_err() {
                    return Next::Close;
                }
            }
            Ok(Event::NeedData) => {
                if io.proto.must_close() {
                    return io.finish();
                }
                // Read what is there; when nothing is, write the batch of responses and
                // let the poller wait.
                match io.read_some() {
                    Ok(true) => {}
                    Ok(false) => {
                        if io.flush().is_err() {
                            return Next::Close;
                        }
                        // Bytes that arrive from now on wake the poller (edge-triggered, the
                        // socket said it had nothing), so the connection can wait.
                        let wait = if io.proto.buffered() > 0 {
                            Wait::Head
                        } else {
                            // Idle: no buffer is kept while the client thinks.
                            io.proto.release_buffer();
                            io.out = Vec::new();
                            io.read_size = FIRST_READ_SIZE;
                            Wait::Idle
                        };
                        return Next::Wait(io.link.read_need(), wait);
                    }
                    Err(_) => return Next::Close,
                }
            }
            Ok(Event::Closed) | Ok(Event::Switched) => {
                let _ = io.flush();
                return Next::Close;
            }
            Ok(Event::Paused) | Ok(Event::Data(_)) | Ok(Event::End(_)) => {
                // The request is complete (or its body unread) with its response sent:
                // only a bug gets here. Close rather than misread.
                let _ = io.flush();
                return Next::Close;
            }
            Ok(_) => return Next::Close,
            Err(e) => {
                let status = e.status_hint();
                log::debug!("bad request from {}: {e}", conn.session.peer);
                if let Some(status) = status.filter(|_| e.is_remote()) {
                    io.send_error(status, e.message());
                }
                return io.finish();
            }
        }
        if conn.session.close && !io.proto.response_due() {
            return io.finish();
        }
    }
}
