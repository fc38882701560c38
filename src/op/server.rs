//! The server side as resumable operations: [`ServerStream`], [`ReadRequest`],
//! [`ReadRequestBody`], [`SendResponse`], [`FlushResponse`]. For driving server
//! connections from your own loop; the embedded [`Server`](crate::server::Server) does the
//! same work for you.

use std::os::fd::{AsRawFd, RawFd};

use http::{HeaderMap, StatusCode};

use super::link::Link;
use super::stream::write_error;
use crate::error::Error;
use crate::io::Transport;
use crate::proto::{BodyLength, Event, Framing, Limits, RequestHead, ServerConn};
use crate::tls::{TlsInfo, TlsStream};
use crate::{Interest, PollNeeded, Progress};

const READ_SIZE: usize = 32 * 1024;

/// A server connection as the operations see it: a transport (clear or TLS), the protocol
/// state of the server role, and the bytes waiting to be written.
///
/// Responses are queued without I/O ([`queue_response`](Self::queue_response),
/// [`queue_data`](Self::queue_data), [`queue_end`](Self::queue_end)) and written by
/// [`SendResponse`] or [`FlushResponse`]; answering several pipelined requests before
/// flushing writes their responses together.
///
/// Each final response gets a `Date` field with the current second (RFC 9110 §6.6.1),
/// unless it has one already or the stream was made [`without_date`](Self::without_date).
///
/// ```no_run
/// use pollhttp::op::{ReadRequest, SendResponse, ServerStream};
/// use pollhttp::io::Transport;
/// use http::{HeaderMap, StatusCode};
/// # fn f(transport: Transport) -> Result<(), pollhttp::Error> {
/// let mut stream = ServerStream::new(transport);
/// let mut read = ReadRequest::new();
/// while let Some(request) = pollhttp::blocking::run(None, || read.resume(&mut stream))? {
///     println!("{} {}", request.method(), request.target());
///     let mut send = SendResponse::new(StatusCode::OK, HeaderMap::new(), "hello");
///     pollhttp::blocking::run(None, || send.resume(&mut stream))?;
///     if stream.must_close() {
///         break;
///     }
///     read = ReadRequest::new();
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ServerStream {
    link: Link,
    conn: ServerConn,
    out: Vec<u8>,
    written: usize,
    failed: Option<Error>,
    /// Whether responses get the current `Date`.
    send_date: bool,
}

impl ServerStream {
    /// A stream over an accepted transport, with the default server limits.
    pub fn new(transport: Transport) -> Self {
        Self::with_limits(transport, Limits::server())
    }

    /// A stream over an accepted transport, with these limits.
    pub fn with_limits(transport: Transport, limits: Limits) -> Self {
        Self::over(Link::Plain(transport), limits)
    }

    /// A stream over a TLS connection whose handshake is done (see
    /// [`Handshake::server`](crate::tls::Handshake::server)).
    pub fn over_tls(tls: TlsStream, limits: Limits) -> Self {
        Self::over(Link::Tls(Box::new(tls)), limits)
    }

    fn over(link: Link, limits: Limits) -> Self {
        Self {
            link,
            conn: ServerConn::with_limits(limits),
            out: Vec::new(),
            written: 0,
            failed: None,
            send_date: true,
        }
    }

    /// Sends no `Date` of its own (responses keep any their headers have): for a server
    /// without a clock, or output compared byte for byte.
    pub fn without_date(mut self) -> Self {
        self.send_date = false;
        self
    }

    /// The transport.
    pub fn transport(&self) -> &Transport {
        self.link.transport()
    }

    /// Over TLS: the protocol, the suite and the client's verified certificate.
    pub fn tls_info(&self) -> Option<TlsInfo> {
        self.link.tls().map(TlsStream::info)
    }

    /// The protocol core, for inspection (`response_due`, `client_waiting_for_continue`...).
    pub fn conn(&self) -> &ServerConn {
        &self.conn
    }

    /// Whether the connection must close once the output is written.
    pub fn must_close(&self) -> bool {
        self.failed.is_some() || self.conn.must_close()
    }

    /// Queues a response head; returns the framing of the body to queue next
    /// ([`Framing::None`]: the response is complete). With no request to answer (after a
    /// malformed one), the response closes the connection: send the status the error
    /// suggests ([`proto::Error::status_hint`](crate::proto::Error::status_hint)). A `Date`
    /// is added unless `headers` has one (or the stream is
    /// [`without_date`](Self::without_date)).
    pub fn queue_response(
        &mut self,
        status: StatusCode,
        reason: Option<&str>,
        headers: &HeaderMap,
        body: BodyLength,
    ) -> Result<Framing, Error> {
        self.compact();
        if self.send_date {
            self.conn.set_date(Some(super::date::now()));
        }
        Ok(self
            .conn
            .send_response(status, reason, headers, body, &mut self.out)?)
    }

    /// Queues response body bytes.
    pub fn queue_data(&mut self, data: &[u8]) -> Result<(), Error> {
        self.compact();
        Ok(self.conn.send_data(data, &mut self.out)?)
    }

    /// Queues the end of the response body (with trailers, if it is chunked).
    pub fn queue_end(&mut self, trailers: Option<&HeaderMap>) -> Result<(), Error> {
        self.compact();
        Ok(self.conn.send_end(trailers, &mut self.out)?)
    }

    fn compact(&mut self) {
        if self.written == self.out.len() {
            self.out.clear();
            self.written = 0;
        }
    }

    fn need(&self, interest: Interest) -> PollNeeded {
        PollNeeded {
            fd: self.link.transport().as_raw_fd(),
            interest,
        }
    }

    fn fail(&mut self, e: Error) -> Error {
        if let Some(first) = &self.failed {
            return first.clone();
        }
        self.conn.send_failed();
        self.failed = Some(e.clone());
        e
    }

    fn check(&self) -> Result<(), Error> {
        self.failed.clone().map_or(Ok(()), Err)
    }

    /// Writes what is queued. `Ready` once nothing is left.
    fn flush(&mut self) -> Result<Progress<()>, Error> {
        self.check()?;
        match self.link.write_out(&self.out, &mut self.written) {
            Ok(true) => {
                self.out.clear();
                self.written = 0;
                Ok(Progress::Ready(()))
            }
            Ok(false) => Ok(Progress::Pending(self.need(Interest::WRITABLE))),
            Err(e) => Err(self.fail(write_error(e))),
        }
    }

    /// Reads once into the core (queued responses are written first, as far as they go).
    fn fill(&mut self) -> Result<Progress<()>, Error> {
        self.check()?;
        let mut interest = self.link.read_need();
        if self.written < self.out.len() || self.link.holds_output() {
            if let Progress::Pending(p) = self.flush()? {
                interest = interest | p.interest;
            }
        }
        let space = self.conn.receive_space(READ_SIZE);
        match self.link.read_once(space) {
            Ok(Some(0)) => self.conn.receive_eof(),
            Ok(Some(n)) => self.conn.receive_commit(n),
            Ok(None) => {
                return Ok(Progress::Pending(
                    self.need(interest | self.link.read_need()),
                ))
            }
            Err(e) => return Err(self.fail(e.into())),
        }
        Ok(Progress::Ready(()))
    }
}

impl AsRawFd for ServerStream {
    fn as_raw_fd(&self) -> RawFd {
        self.link.transport().as_raw_fd()
    }
}

super::link::source_via_link!(ServerStream);

/// Reads the next request head: `Ready(Some(head))`, or `Ready(None)` when the client
/// closed the connection between requests. What is left unread of the previous request's
/// body is read and dropped first. A malformed request is an error
/// ([`Error::Proto`], remote, with a status hint): queue that status with
/// [`ServerStream::queue_response`], flush, and close.
#[derive(Debug, Default)]
pub struct ReadRequest {
    _private: (),
}

impl ReadRequest {
    /// Reads the next request head.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes progress.
    pub fn resume(
        &mut self,
        stream: &mut ServerStream,
    ) -> Result<Progress<Option<RequestHead>>, Error> {
        stream.check()?;
        loop {
            match stream.conn.next_event() {
                Ok(Event::Request(head)) => return Ok(Progress::Ready(Some(head))),
                Ok(Event::Closed) => return Ok(Progress::Ready(None)),
                Ok(Event::Data(_) | Event::End(_)) => continue,
                Ok(Event::NeedData) => {}
                Ok(Event::Paused) => {
                    return Err(Error::local(
                        "the previous response is not finished: send it before reading the next request",
                    ))
                }
                Ok(other) => {
                    let e = Error::local(format!("unexpected event {other:?} before a request"));
                    return Err(stream.fail(e));
                }
                // The caller may still answer it (the core allows one response), then close.
                Err(e) => return Err(e.into()),
            }
            if let Progress::Pending(p) = stream.fill()? {
                return Ok(Progress::Pending(p));
            }
        }
    }
}

/// Reads request body bytes into a buffer: `Ready(n)`, `Ready(0)` at the end. If the client
/// waits for `100 Continue`, the 100 is sent first.
#[derive(Debug)]
pub struct ReadRequestBody<B> {
    buf: B,
}

impl<B: AsMut<[u8]>> ReadRequestBody<B> {
    /// Reads into `buf`.
    pub fn new(buf: B) -> Self {
        Self { buf }
    }

    /// The buffer back.
    pub fn into_buffer(self) -> B {
        self.buf
    }

    /// Makes progress.
    pub fn resume(&mut self, stream: &mut ServerStream) -> Result<Progress<usize>, Error> {
        stream.check()?;
        let buf = self.buf.as_mut();
        if buf.is_empty() || stream.conn.body_framing().is_none() {
            return Ok(Progress::Ready(0));
        }
        if stream.conn.client_waiting_for_continue() {
            stream.compact();
            stream.conn.send_informational(
                StatusCode::CONTINUE,
                &HeaderMap::new(),
                &mut stream.out,
            )?;
        }
        loop {
            match stream.conn.next_event_max(buf.len()) {
                Ok(Event::Data(data)) => {
                    buf[..data.len()].copy_from_slice(data);
                    return Ok(Progress::Ready(data.len()));
                }
                Ok(Event::End(_)) => return Ok(Progress::Ready(0)),
                Ok(Event::NeedData) => {}
                Ok(other) => {
                    let e = Error::local(format!("unexpected event {other:?} in a request body"));
                    return Err(stream.fail(e));
                }
                Err(e) => return Err(e.into()),
            }
            if let Progress::Pending(p) = stream.fill()? {
                return Ok(Progress::Pending(p));
            }
        }
    }
}

/// Sends a response with an in-memory body (none for HEAD, 204 and 304, whatever is given):
/// queues it once, then writes everything queued.
#[derive(Debug)]
pub struct SendResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
    queued: bool,
}

impl SendResponse {
    /// A response; nothing is sent before the first [`resume`](Self::resume).
    pub fn new(status: StatusCode, headers: HeaderMap, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers,
            body: body.into(),
            queued: false,
        }
    }

    /// Makes progress: `Ready` once the response is written.
    pub fn resume(&mut self, stream: &mut ServerStream) -> Result<Progress<()>, Error> {
        if !self.queued {
            let no_body =
                self.status == StatusCode::NO_CONTENT || self.status == StatusCode::NOT_MODIFIED;
            let length = if no_body {
                BodyLength::None
            } else {
                BodyLength::Known(self.body.len() as u64)
            };
            let framing = stream.queue_response(self.status, None, &self.headers, length)?;
            if framing != Framing::None {
                stream.queue_data(&self.body)?;
                stream.queue_end(None)?;
            }
            self.queued = true;
        }
        stream.flush()
    }
}

/// Writes what is queued on a [`ServerStream`] (a streamed response's pieces).
#[derive(Debug, Default)]
pub struct FlushResponse {
    _private: (),
}

impl FlushResponse {
    /// A flush.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes progress: `Ready` once nothing queued is left.
    pub fn resume(&mut self, stream: &mut ServerStream) -> Result<Progress<()>, Error> {
        stream.flush()
    }
}
