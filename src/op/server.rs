//! The server side as resumable operations: [`ServerStream`], [`ReadRequest`],
//! [`ReadRequestBody`], [`SendResponse`], [`FlushResponse`]. For driving server
//! connections from your own loop; the embedded [`Server`](crate::server::Server) does the
//! same work for you.

use std::cell::Cell;
use std::os::fd::{AsRawFd, RawFd};

use http::{HeaderMap, StatusCode};

use super::link::Link;
use super::stream::write_error;
use crate::error::Error;
use crate::io::Transport;
use crate::proto::{BodyLength, Event, Framing, Limits, RequestHead, ServerConn};
use crate::tls::{TlsInfo, TlsStream};
use crate::{Interest, PollNeeded, Progress};

/// Reads into the core's buffer at most this much at a time...
const READ_SIZE: usize = 32 * 1024;
/// ...and at first this much: reads double while they fill the space, so a connection with
/// one small request at a time zeroes and holds little memory.
const FIRST_READ_SIZE: usize = 4 * 1024;
/// The output buffer's first allocation.
const FIRST_OUT_SIZE: usize = 512;
/// Responses queued past this much are written before more is read, so a client that
/// pipelines a great many requests does not make us hold all their responses.
const FLUSH_AT: usize = 64 * 1024;

/// A released buffer larger than this is freed rather than kept for the next connection.
const SPARE_AT_MOST: usize = 2 * READ_SIZE;

thread_local! {
    /// Where a connection with no buffer of its own reads (see `ServerStream::fill`).
    static SCRATCH: std::cell::RefCell<Box<[u8]>> =
        std::cell::RefCell::new(vec![0; READ_SIZE].into_boxed_slice());
    /// The receive and output memory the last connection on this thread to go idle gave
    /// back (see `ServerStream::release_buffers`): the next one to get a request uses it
    /// rather than allocate and free its own, once per request when clients send one
    /// request at a time, while idle connections still hold none.
    static SPARE_INPUT: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
    static SPARE_OUTPUT: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Keeps `buffer` in `slot` for the next connection, unless it is large.
fn keep_spare(slot: &'static std::thread::LocalKey<Cell<Vec<u8>>>, buffer: Vec<u8>) {
    if buffer.capacity() > 0 && buffer.capacity() <= SPARE_AT_MOST {
        slot.with(|spare| spare.set(buffer));
    }
}

/// What [`ServerStream::pull_body`] got.
#[derive(Debug)]
pub(crate) enum BodyPiece {
    /// This many bytes were appended.
    Data(usize),
    /// The body ended, with these trailer fields.
    End(HeaderMap),
}

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
    /// The second the date the core has is right for (`None`: look again each time).
    date_second: Option<u64>,
    /// The next read's size (see `FIRST_READ_SIZE`).
    read_size: usize,
    /// The last read from a plain socket was short: the socket had nothing more then, so
    /// the next read can be skipped (see `fill`).
    drained: bool,
    /// Whether short reads are noted at all: only for a loop that calls
    /// [`forget_drained`](Self::forget_drained) whenever its poller reports the socket.
    skip_reads: bool,
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
            date_second: None,
            read_size: FIRST_READ_SIZE,
            drained: false,
            skip_reads: false,
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
        self.before_response();
        Ok(self
            .conn
            .send_response(status, reason, headers, body, &mut self.out)?)
    }

    /// Queues a response whose whole body is `data`: [`queue_response`](Self::queue_response)
    /// with its length, then (unless the response has no body: HEAD, or `data` is empty)
    /// [`queue_whole`](Self::queue_whole), in one step (the same bytes, the same errors).
    // Inlined into its one caller (the server's response path): a call less per response.
    #[inline]
    pub(crate) fn queue_response_whole(
        &mut self,
        status: StatusCode,
        reason: Option<&str>,
        headers: &HeaderMap,
        data: &[u8],
    ) -> Result<Framing, Error> {
        self.before_response();
        Ok(self
            .conn
            .send_response_whole(status, reason, headers, data, &mut self.out)?)
    }

    /// Room for a response, and the date its head carries.
    fn before_response(&mut self) {
        self.compact();
        if self.send_date {
            // The core keeps the date given last: given again only once the second is over
            // (the clock's second compared as it comes, no `SystemTime` made for it).
            let current =
                self.date_second.is_some() && super::date::wall_second() == self.date_second;
            if !current {
                let (date, second) = super::date::at(super::date::wall_clock());
                self.conn.set_date(Some(date));
                self.date_second = second;
            }
        }
    }

    /// Queues response body bytes.
    pub fn queue_data(&mut self, data: &[u8]) -> Result<(), Error> {
        self.compact();
        Ok(self.conn.send_data(data, &mut self.out)?)
    }

    /// Queues one chunk of a chunked response body, with its extensions (sent as plain
    /// data if the response is not chunked: an HTTP/1.0 client's).
    pub fn queue_chunk(
        &mut self,
        data: &[u8],
        extensions: &[crate::proto::ChunkExtension<'_>],
    ) -> Result<(), Error> {
        self.compact();
        Ok(self.conn.send_chunk(data, extensions, &mut self.out)?)
    }

    /// Queues the whole response body and its end: [`queue_data`](Self::queue_data) then
    /// [`queue_end`](Self::queue_end) without trailers, in one step.
    pub(crate) fn queue_whole(&mut self, data: &[u8]) -> Result<(), Error> {
        self.compact();
        Ok(self.conn.send_whole(data, &mut self.out)?)
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
        if self.out.capacity() == 0 {
            // The memory an idle connection gave back, or room for a response head and
            // a short body at once, not in five growing steps.
            self.out = SPARE_OUTPUT.with(Cell::take);
            if self.out.capacity() == 0 {
                self.out.reserve(FIRST_OUT_SIZE);
            }
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
    pub(crate) fn flush(&mut self) -> Result<Progress<()>, Error> {
        self.check()?;
        match self.link.write_out(&self.out, &mut self.written) {
            Ok(true) => {
                self.out.clear();
                self.written = 0;
                if self.out.capacity() > 4 * FLUSH_AT {
                    self.out = Vec::new();
                }
                Ok(Progress::Ready(()))
            }
            Ok(false) => Ok(Progress::Pending(
                self.need(self.link.write_need() | Interest::WRITABLE),
            )),
            Err(e) => Err(self.fail(write_error(e))),
        }
    }

    /// Reads once into the core. Queued responses are written when nothing more can be
    /// read now, or when many wait: pipelined requests read together are answered in one
    /// write.
    fn fill(&mut self) -> Result<Progress<()>, Error> {
        self.check()?;
        if self.queued() >= FLUSH_AT {
            if let Progress::Pending(p) = self.flush()? {
                return Ok(Progress::Pending(p));
            }
        }
        // A short read from a stream socket took everything it held: reading again at
        // once would only say so (EAGAIN), one system call per request for a client that
        // sends one at a time. Anything that arrives later makes the socket readable again
        // (nginx and tokio skip that read too). Only for the server's own loop, which
        // forgets the short read whenever the poller reports the socket: a loop of a
        // user's that took an edge-triggered event and then found the read skipped would
        // wait for an edge that already came.
        let skip = std::mem::take(&mut self.drained);
        if !skip && self.conn.buffer_capacity() == 0 {
            let spare = SPARE_INPUT.with(Cell::take);
            if spare.capacity() > 0 {
                self.conn.adopt_buffer(spare);
            }
        }
        let read = if skip {
            Ok(None)
        } else if self.conn.buffer_capacity() == 0 {
            // No buffer, and no spare (another connection holds it): read into this
            // thread's scratch space and keep only what came, rather than allocate and
            // zero a buffer of `read_size` for a request of a few hundred bytes.
            let (link, conn, read_size) = (&mut self.link, &mut self.conn, self.read_size);
            SCRATCH.with(|scratch| {
                let mut scratch = scratch.borrow_mut();
                let room = read_size.min(scratch.len());
                let read = link.read_once(&mut scratch[..room])?;
                if let Some(n) = read.filter(|&n| n > 0) {
                    // Cannot fail: nothing was received after an end of input.
                    let _ = conn.receive(&scratch[..n]);
                }
                Ok(read.map(|n| (n, room)))
            })
        } else {
            let space = self.conn.receive_space(self.read_size);
            let room = space.len();
            let read = self.link.read_once(space);
            if let Ok(Some(n)) = read {
                self.conn.receive_commit(n);
            }
            read.map(|read| read.map(|n| (n, room)))
        };
        match read {
            Ok(Some((0, _))) => self.conn.receive_eof(),
            Ok(Some((n, room))) => {
                if n == room {
                    self.read_size = (self.read_size * 2).min(READ_SIZE);
                } else {
                    self.drained = self.skip_reads && matches!(self.link, Link::Plain(_));
                }
            }
            Ok(None) => {
                let mut interest = self.link.read_need();
                if self.queued() > 0 || self.link.holds_output() {
                    if let Progress::Pending(p) = self.flush()? {
                        interest = interest | p.interest;
                    }
                }
                return Ok(Progress::Pending(self.need(interest)));
            }
            // A TLS client gone without `close_notify` (RFC 9112 §9.8: servers should be
            // prepared for that incomplete close). Requests are framed by their heads and
            // bodies, never by the close, so this is an end of input like a TCP FIN: the
            // requests already complete are answered, and one cut short in its head or
            // body is still an error (`ConnectionClosed`), from the core.
            Err(e)
                if e.kind() == std::io::ErrorKind::UnexpectedEof && self.link.tls().is_some() =>
            {
                self.conn.receive_eof();
            }
            Err(e) => return Err(self.fail(e.into())),
        }
        Ok(Progress::Ready(()))
    }

    /// The socket may have received more since the last read (the caller was woken by its
    /// poller, or may have been): the next read is not skipped.
    pub(crate) fn forget_drained(&mut self) {
        self.drained = false;
    }

    /// The poller says the peer has closed its side, or the connection failed: reads are
    /// skipped no more. A short read may have left only the end of input to read, and a
    /// FIN that came before that read brings no new event: a skipped read would wait for
    /// ever (until the idle timeout) instead of seeing the client go.
    pub(crate) fn input_may_have_ended(&mut self) {
        self.skip_reads = false;
        self.drained = false;
    }

    /// Skips the read that follows a short one (see `fill`); the caller promises to call
    /// [`forget_drained`](Self::forget_drained) each time its poller reports the socket.
    pub(crate) fn skip_reads_after_short_ones(&mut self) {
        self.skip_reads = true;
    }

    /// Bytes queued and not yet written.
    pub(crate) fn queued(&self) -> usize {
        self.out.len() - self.written
    }

    /// The protocol core, to change.
    pub(crate) fn core_mut(&mut self) -> &mut ServerConn {
        &mut self.conn
    }

    /// Between requests: gives the buffers back (an idle connection holds none), to this
    /// thread's spares or to the allocator.
    pub(crate) fn release_buffers(&mut self) {
        if let Some(input) = self.conn.take_buffer() {
            keep_spare(&SPARE_INPUT, input);
        }
        if self.queued() == 0 {
            let mut output = std::mem::take(&mut self.out);
            output.clear();
            keep_spare(&SPARE_OUTPUT, output);
            self.written = 0;
        }
        self.read_size = FIRST_READ_SIZE;
    }

    /// Appends at most `max` bytes of the request body to `into`, reading from the socket
    /// if nothing is buffered (after a `100 Continue` if the client waits for one).
    pub(crate) fn pull_body(
        &mut self,
        into: &mut Vec<u8>,
        max: usize,
    ) -> Result<Progress<BodyPiece>, Error> {
        self.next_body_piece(max, |data| into.extend_from_slice(data))
    }

    /// The next piece of the request body, at most `max` bytes, handed to `take`; what
    /// [`pull_body`](Self::pull_body) and [`ReadRequestBody`] share. A client waiting for
    /// `100 Continue` gets it first: whoever asks for the body wants it sent.
    fn next_body_piece(
        &mut self,
        max: usize,
        take: impl FnOnce(&[u8]),
    ) -> Result<Progress<BodyPiece>, Error> {
        self.check()?;
        if self.conn.client_waiting_for_continue() {
            self.compact();
            self.conn
                .send_informational(StatusCode::CONTINUE, &HeaderMap::new(), &mut self.out)?;
        }
        loop {
            match self.conn.next_event_max(max) {
                Ok(Event::Data(data)) => {
                    take(data);
                    return Ok(Progress::Ready(BodyPiece::Data(data.len())));
                }
                Ok(Event::End(trailers)) => {
                    return Ok(Progress::Ready(BodyPiece::End(trailers.to_header_map())))
                }
                Ok(Event::NeedData) => {}
                Ok(other) => {
                    let e = Error::local(format!("unexpected event {other:?} in a request body"));
                    return Err(self.fail(e));
                }
                Err(e) => return Err(request_error(e)),
            }
            if let Progress::Pending(p) = self.fill()? {
                return Ok(Progress::Pending(p));
            }
        }
    }

    /// Whether the client has begun to send something not yet readable: under TLS, a
    /// record not yet whole (a request head sent in one record arrives as nothing until
    /// its last byte).
    pub(crate) fn receiving_a_record(&self) -> bool {
        match &self.link {
            Link::Tls(tls) => tls.within_a_record(),
            Link::Plain(_) => false,
        }
    }

    /// Ends our side for a lingering close: a TLS `close_notify`, then a shutdown of the
    /// socket's writing side.
    pub(crate) fn shutdown_write(&mut self) {
        if let Link::Tls(tls) = &mut self.link {
            tls.send_close_notify();
            let _ = tls.flush_records();
        }
        let _ = self.link.transport().shutdown_write();
    }

    /// Closes both directions at once (the client gets no more, and nothing more is read),
    /// with a TLS `close_notify` first, as far as the socket takes it without waiting
    /// (RFC 9112 §9.8: a server attempts the closure alerts before it closes).
    pub(crate) fn shutdown(&mut self) {
        if let Link::Tls(tls) = &mut self.link {
            tls.send_close_notify();
        }
        let _ = self.link.transport().shutdown();
    }

    /// Reads and drops what the client sends, undecrypted. `false`: it closed (or failed).
    pub(crate) fn discard_input(&mut self) -> bool {
        let mut scratch = [0u8; 4096];
        loop {
            match std::io::Read::read(&mut self.link.transport(), &mut scratch) {
                Ok(0) => return false,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
    }
}

/// A request the core refused: [`Error::Proto`] with its status hint (a transfer coding
/// or version we do not speak is the client's request problem here, 501 or 505), or [`Error::ConnectionClosed`] if the client closed mid-request.
fn request_error(e: crate::proto::Error) -> Error {
    match e {
        crate::proto::Error::RemoteClosed { .. } => e.into(),
        e => Error::Proto(e),
    }
}

impl AsRawFd for ServerStream {
    fn as_raw_fd(&self) -> RawFd {
        self.link.transport().as_raw_fd()
    }
}

super::link::source_via_link!(ServerStream);

/// Reads the next request head: `Ready(Some(head))`, or `Ready(None)` when the client
/// closed the connection between requests (over TLS, with or without `close_notify`: the
/// requests that came whole can still be answered). What is left unread of the previous request's
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
        // The usual head, whole in the buffer: what the loop below would take first.
        match stream.conn.take_whole_request() {
            Some(Ok(head)) => return Ok(Progress::Ready(Some(head))),
            Some(Err(e)) => return Err(request_error(e)),
            None => {}
        }
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
                Err(e) => return Err(request_error(e)),
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
        let piece = stream.next_body_piece(buf.len(), |data| {
            buf[..data.len()].copy_from_slice(data);
        })?;
        Ok(piece.map(|piece| match piece {
            BodyPiece::Data(n) => n,
            BodyPiece::End(_) => 0,
        }))
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
                stream.queue_whole(&self.body)?;
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
