//! [`ClientStream`]: one client connection as the operations see it.

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use http::{HeaderMap, Method};

use super::link::Link;
use crate::error::Error;
use crate::io::Transport;
use crate::proto::{BodyLength, ClientConn, Error as ProtoError, Framing, Headers, Limits};
use crate::tls::{TlsInfo, TlsStream};
use crate::{Interest, PollNeeded, Progress};

/// The most to read from the socket at a time into the connection's own buffer.
pub(crate) const READ_SIZE: usize = 64 * 1024;
/// The least: what a fresh or idle connection starts reading with.
const FIRST_READ_SIZE: usize = 4 * 1024;

/// Where reading responses stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// The next thing to read is a response head.
    Head,
    /// A response head was returned; its body comes next.
    Body,
    /// The connection switched protocols (101 or CONNECT): no more HTTP.
    Switched,
}

/// A client connection: a transport, the protocol state of the client role, and the
/// bytes waiting to be written.
///
/// A `ClientStream` does nothing by itself: the operations in [`op`](crate::op) borrow it
/// for the length of one [`resume`](crate::op::ReadResponse::resume) and hold no borrow in
/// between, so a send operation and a read operation can be in progress on the same stream
/// at once: that is pipelining from one thread.
///
/// Requests can also be queued without I/O ([`queue_request`](Self::queue_request),
/// [`queue_data`](Self::queue_data), [`queue_end`](Self::queue_end)) and written later by a
/// [`Flush`](crate::op::Flush): many pipelined requests then go out in a few writes.
///
/// Errors are sticky: once reading fails, every operation returns the same error. A failed
/// send (the peer closed or reset the connection while we wrote) stops sending only: a
/// response the server sent before it closed can still be read (a 401 to an upload it
/// refused, say). Dropping the stream closes the connection.
#[derive(Debug)]
pub struct ClientStream {
    link: Link,
    conn: ClientConn,
    /// Bytes to write; `out[written..]` are not written yet.
    out: Vec<u8>,
    written: usize,
    /// The next read's size: it doubles while reads fill it, up to `READ_SIZE`, so a
    /// connection that sees little traffic keeps little memory.
    read_size: usize,
    reading: Reading,
    trailers: Headers,
    /// Reading failed: the whole connection is dead.
    failed: Option<Error>,
    /// Sending failed, or the server answered (closing) before the request body was sent.
    send_failed: Option<Error>,
    /// The request being sent asked for `100 Continue`, and its caller stopped waiting for
    /// it ([`WaitContinue`](super::WaitContinue) ran out of time): the body may go now.
    continue_waived: bool,
    /// Bytes read from the peer so far (after TLS: the plaintext).
    received: u64,
    /// The socket's receive low-water mark as we last set it (1: the system's default).
    /// Raised only by [`splice_direct`](Self::splice_direct), never above the body bytes
    /// certain to come, and back to 1 before anything else waits on the socket.
    rcvlowat: u32,
}

impl ClientStream {
    /// A stream over a connected transport, with the default client limits.
    pub fn new(transport: Transport) -> Self {
        Self::with_limits(transport, Limits::client())
    }

    /// A stream over a connected transport, with these limits.
    pub fn with_limits(transport: Transport, limits: Limits) -> Self {
        Self::over(Link::Plain(transport), limits)
    }

    /// A stream over a TLS connection whose handshake is done, with these limits.
    pub fn over_tls(tls: TlsStream, limits: Limits) -> Self {
        Self::over(Link::Tls(Box::new(tls)), limits)
    }

    fn over(link: Link, limits: Limits) -> Self {
        Self {
            link,
            conn: ClientConn::with_limits(limits),
            out: Vec::new(),
            written: 0,
            read_size: FIRST_READ_SIZE,
            reading: Reading::Head,
            trailers: Headers::default(),
            failed: None,
            send_failed: None,
            continue_waived: false,
            received: 0,
            rcvlowat: 1,
        }
    }

    /// The transport (under TLS, the socket the records go through).
    pub fn transport(&self) -> &Transport {
        self.link.transport()
    }

    /// What TLS agreed on and who the peer is; `None` in clear text.
    pub fn tls_info(&self) -> Option<TlsInfo> {
        self.link.tls().map(TlsStream::info)
    }

    /// Requests sent (or queued) whose response has not been completely read.
    pub fn responses_pending(&self) -> usize {
        self.conn.responses_pending()
    }

    /// How many bytes have been read from the peer on this connection (under TLS, bytes
    /// of plaintext), responses and all. Comparing two readings tells whether anything
    /// at all arrived in between: a response cut short before its first byte, say.
    pub fn bytes_received(&self) -> u64 {
        self.received
    }

    /// Bytes queued and not yet written.
    pub fn unflushed(&self) -> usize {
        self.out.len() - self.written
    }

    /// Whether another request may be sent: nothing failed, and no message asked to close.
    pub fn is_reusable(&self) -> bool {
        self.failed.is_none() && self.send_failed.is_none() && self.conn.is_keep_alive()
    }

    /// The error that ended this connection, if one did.
    pub fn error(&self) -> Option<&Error> {
        self.failed.as_ref()
    }

    /// True while a request body is being sent.
    pub fn sending_body(&self) -> bool {
        self.conn.sending_body()
    }

    /// True between a [`ReadResponse`](crate::op::ReadResponse) that returned a final
    /// response and the end of its body.
    pub fn reading_body(&self) -> bool {
        self.reading == Reading::Body
    }

    /// The framing of the response body being read (`None` outside a body).
    pub fn body_framing(&self) -> Option<Framing> {
        self.conn.body_framing()
    }

    /// The trailer fields of the last response body read to its end (empty unless it was
    /// chunked and had some).
    pub fn trailers(&self) -> &Headers {
        &self.trailers
    }

    /// After a 101 or a 2xx to CONNECT: the transport and the bytes already received that
    /// belong to the new protocol. `None` if the connection did not switch, or runs over
    /// TLS (whose session the new protocol would have to keep).
    pub fn into_switched(mut self) -> Option<(Transport, Vec<u8>)> {
        if self.reading != Reading::Switched {
            return None;
        }
        let trailing = self.conn.take_trailing();
        self.link.into_plain().map(|t| (t, trailing))
    }

    /// The protocol core, for inspection.
    pub fn conn(&self) -> &ClientConn {
        &self.conn
    }

    /// Queues a request head without writing it; `body` gives its framing
    /// ([`BodyLength::None`]: no body, `Known(n)`: Content-Length, `Unknown`: chunked).
    /// Returns the framing of the body to send next ([`Framing::None`]: the request is
    /// complete). `headers` must hold exactly one `host`.
    pub fn queue_request(
        &mut self,
        method: &Method,
        target: &str,
        headers: &HeaderMap,
        body: BodyLength,
    ) -> Result<Framing, Error> {
        self.check_send()?;
        // Bytes came with nothing outstanding: they are no response to this request
        // (RFC 9112 §6.3), and the connection is lost.
        if self.conn.has_unsolicited_data() {
            return Err(ProtoError::bad(
                "data received with no request outstanding: connection lost",
            )
            .into());
        }
        self.compact_out();
        let framing = self
            .conn
            .send_request(method, target, headers, body, &mut self.out)?;
        self.continue_waived = false;
        Ok(framing)
    }

    /// Queues request body bytes without writing them.
    pub fn queue_data(&mut self, data: &[u8]) -> Result<(), Error> {
        self.check_send()?;
        self.compact_out();
        Ok(self.conn.send_data(data, &mut self.out)?)
    }

    /// Queues one chunk of a chunked request body, with extensions, without writing it.
    pub fn queue_chunk(
        &mut self,
        data: &[u8],
        extensions: &[crate::proto::ChunkExtension<'_>],
    ) -> Result<(), Error> {
        self.check_send()?;
        self.compact_out();
        Ok(self.conn.send_chunk(data, extensions, &mut self.out)?)
    }

    /// Queues the end of the request body (with trailers, if it is chunked).
    pub fn queue_end(&mut self, trailers: Option<&HeaderMap>) -> Result<(), Error> {
        self.check_send()?;
        self.compact_out();
        Ok(self.conn.send_end(trailers, &mut self.out)?)
    }

    /// Ends the connection now, though its descriptor stays open until the stream is
    /// dropped: under TLS a `close_notify` as far as the socket takes it, then both halves
    /// shut, so the peer sees the end at once (RFC 9112 §9.6). A server that waits for
    /// the client's close before it takes the next connection is not kept waiting.
    pub(crate) fn shut_down(&mut self) {
        if let Link::Tls(tls) = &mut self.link {
            tls.send_close_notify();
        }
        let _ = self.link.transport().shutdown();
    }

    pub(crate) fn check_send(&self) -> Result<(), Error> {
        match (&self.failed, &self.send_failed) {
            (Some(e), _) | (None, Some(e)) => Err(e.clone()),
            (None, None) => Ok(()),
        }
    }

    pub(crate) fn check_read(&self) -> Result<(), Error> {
        match &self.failed {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    pub(crate) fn conn_mut(&mut self) -> &mut ClientConn {
        &mut self.conn
    }

    pub(crate) fn reading(&self) -> Reading {
        self.reading
    }

    pub(crate) fn set_reading(&mut self, reading: Reading) {
        self.reading = reading;
        if reading != Reading::Body {
            self.set_lowat(1);
        }
        if reading == Reading::Head && self.conn.responses_pending() == 0 {
            self.release_buffers();
        }
    }

    /// Nothing in flight: give back the buffers' memory (an idle connection holds none).
    fn release_buffers(&mut self) {
        self.conn.release_buffer();
        self.read_size = FIRST_READ_SIZE;
        if self.written == self.out.len() {
            self.out = Vec::new();
            self.written = 0;
        }
    }

    /// Whether the body of the request being sent may be written: it does not wait for
    /// `100 Continue`, or its caller stopped waiting.
    pub(crate) fn may_send_body(&self) -> bool {
        !self.conn.waiting_for_continue() || self.continue_waived
    }

    /// The caller stops waiting for `100 Continue` and sends the body without it (RFC 9110
    /// §10.1.1: a client "MAY proceed to send the content").
    pub(crate) fn waive_continue(&mut self) {
        self.continue_waived = true;
    }

    pub(crate) fn set_trailers(&mut self, trailers: Headers) {
        self.trailers = trailers;
    }

    /// Records a failure of the connection (reading) and returns it.
    pub(crate) fn fail(&mut self, e: Error) -> Error {
        if let Some(first) = &self.failed {
            return first.clone();
        }
        log::debug!("client stream failed: {e}");
        self.failed = Some(e.clone());
        self.conn.send_failed();
        e
    }

    /// Records a failure of sending only; reading may go on.
    pub(crate) fn fail_send(&mut self, e: Error) -> Error {
        if self.send_failed.is_none() {
            log::debug!("client stream: sending stopped: {e}");
            self.send_failed = Some(e.clone());
        }
        self.conn.send_failed();
        e
    }

    /// Whether bytes wait to go out (ours, or TLS records) on a send side still working.
    fn has_output(&self) -> bool {
        self.send_failed.is_none() && (self.unflushed() > 0 || self.link.holds_output())
    }

    fn compact_out(&mut self) {
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

    /// Writes queued bytes (and what TLS holds) until none are left (`Ready`) or the socket
    /// is full.
    pub(crate) fn flush(&mut self) -> Result<Progress<()>, Error> {
        self.check_send()?;
        match self.link.write_out(&self.out, &mut self.written) {
            Ok(true) => {
                self.out.clear();
                self.written = 0;
                Ok(Progress::Ready(()))
            }
            Ok(false) => Ok(Progress::Pending(self.need(Interest::WRITABLE))),
            Err(e) => Err(self.fail_send(write_error(e))),
        }
    }

    /// Writes `data` straight from the caller's memory, after the queued bytes. Returns
    /// how many bytes of `data` were written (`Pending` only when none could be).
    pub(crate) fn write_direct(&mut self, data: &[u8]) -> Result<Progress<usize>, Error> {
        if let Progress::Pending(p) = self.flush()? {
            return Ok(Progress::Pending(p));
        }
        loop {
            match self.link.write(data) {
                Ok(0) if !data.is_empty() => {
                    return Err(self.fail_send(Error::closed("the socket accepts no more bytes")))
                }
                Ok(n) => return Ok(Progress::Ready(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(Progress::Pending(self.need(self.link.write_need())))
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.fail_send(e.into())),
            }
        }
    }

    /// Reads once from the socket into the core's buffer (end of input included).
    /// Queued output is written first, as far as it goes, so that a reader waiting for a
    /// response never waits for a request still in our buffer. `Pending` asks for
    /// readable, and writable too while queued bytes remain.
    pub(crate) fn fill(&mut self) -> Result<Progress<()>, Error> {
        self.check_read()?;
        // What comes next may be less than a raised low-water mark.
        self.set_lowat(1);
        if self.has_output() {
            // A failed write is reported by the sending operations; reading goes on.
            let _ = self.flush();
        }
        let space = self.conn.receive_space(self.read_size);
        let room = space.len();
        match self.link.read_once(space) {
            Ok(Some(0)) => self.conn.receive_eof(),
            Ok(Some(n)) => {
                self.received += n as u64;
                self.conn.receive_commit(n);
                if n == room {
                    self.read_size = (self.read_size * 2).min(READ_SIZE);
                }
            }
            Ok(None) => {
                let mut interest = self.link.read_need();
                if self.has_output() {
                    interest = interest | Interest::WRITABLE;
                }
                return Ok(Progress::Pending(self.need(interest)));
            }
            Err(e) => return Err(self.fail(e.into())),
        }
        Ok(Progress::Ready(()))
    }

    /// Reads body bytes straight into `buf` when the core says the next bytes on the wire
    /// are body data and nothing is buffered. `None`: not possible now (read through the
    /// core).
    pub(crate) fn read_direct(&mut self, buf: &mut [u8]) -> Option<Result<Progress<usize>, Error>> {
        let ahead = self.conn.direct_body_len();
        if ahead == 0 {
            return None;
        }
        let len = buf.len().min(usize::try_from(ahead).unwrap_or(usize::MAX));
        self.set_lowat(1);
        if self.has_output() {
            let _ = self.flush();
        }
        loop {
            match self.link.read(&mut buf[..len]) {
                Ok(0) => {
                    // The core reports the cut-short body on the next event.
                    self.conn.receive_eof();
                    return None;
                }
                Ok(n) => {
                    self.received += n as u64;
                    self.conn.direct_body_commit(n);
                    return Some(Ok(Progress::Ready(n)));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let mut interest = self.link.read_need();
                    if self.has_output() {
                        interest = interest | Interest::WRITABLE;
                    }
                    return Some(Ok(Progress::Pending(self.need(interest))));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Some(Err(self.fail(e.into()))),
            }
        }
    }
}

/// What one [`ClientStream::splice_direct`] did.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[derive(Debug)]
pub(crate) enum Spliced {
    /// This many body bytes went from the socket into the pipe (counted by the core).
    Moved(usize),
    /// The socket has nothing now: wait for this.
    Pending(PollNeeded),
    /// Not possible now: bytes are buffered, or the next ones on the wire are framing, or
    /// the input ended (the core reports a cut-short body on its next event). Read through
    /// the core.
    NotNow,
    /// Not possible on this connection at all (TLS, or splice(2) refused this socket):
    /// nothing was consumed; copy instead.
    Unsupported,
}

impl ClientStream {
    /// Moves body bytes (at most `max`) from the socket straight into the pipe `pipe` with
    /// splice(2), when the core says the next bytes on the wire are body data and nothing
    /// is buffered ([`ClientConn::direct_body_len`]); they are counted as body data read
    /// outside the core ([`ClientConn::direct_body_commit`]), as [`read_direct`] does for
    /// a buffer. Clear-text connections only: TLS records must be decrypted.
    ///
    /// [`read_direct`]: Self::read_direct
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(crate) fn splice_direct(
        &mut self,
        pipe: std::os::fd::BorrowedFd<'_>,
        max: usize,
    ) -> Result<Spliced, Error> {
        use rustix::io::Errno;
        use rustix::pipe::{splice, SpliceFlags};

        self.check_read()?;
        if !matches!(self.link, Link::Plain(_)) {
            return Ok(Spliced::Unsupported);
        }
        let ahead = self.conn.direct_body_len();
        if ahead == 0 || max == 0 {
            return Ok(Spliced::NotNow);
        }
        let len = max.min(usize::try_from(ahead).unwrap_or(usize::MAX));
        if self.has_output() {
            let _ = self.flush();
        }
        loop {
            let flags = SpliceFlags::MOVE | SpliceFlags::NONBLOCK;
            match splice(self.link.transport(), None, pipe, None, len, flags) {
                Ok(0) => {
                    // The core reports the cut-short body (or the end of an until-close
                    // one) on the next event.
                    self.conn.receive_eof();
                    return Ok(Spliced::NotNow);
                }
                Ok(n) => {
                    self.received += n as u64;
                    self.conn.direct_body_commit(n);
                    return Ok(Spliced::Moved(n));
                }
                Err(Errno::AGAIN) => {
                    // Wake up when a good piece is there, not for every packet: at most
                    // the body bytes certain to come (the end of input wakes up too).
                    self.set_lowat(len.min(SPLICE_LOWAT) as u32);
                    let mut interest = self.link.read_need();
                    if self.has_output() {
                        interest = interest | Interest::WRITABLE;
                    }
                    return Ok(Spliced::Pending(self.need(interest)));
                }
                Err(Errno::INTR) => {}
                // This socket (or kernel) does not splice: nothing was consumed.
                Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {
                    return Ok(Spliced::Unsupported)
                }
                Err(e) => return Err(self.fail(io::Error::from(e).into())),
            }
        }
    }
}

/// The receive low-water mark while splicing a large body: poll(2) reports the socket
/// readable once this much has arrived (or what is left of the body, if less). Chosen by
/// measurement (BENCHMARKS.md, issue 11, "Body read sizes"): fewer, larger wake-ups; a
/// splice-to-`/dev/null` loop took 0.37 s per GiB with it against 0.93 s without.
#[cfg(any(target_os = "linux", target_os = "android"))]
const SPLICE_LOWAT: usize = 128 * 1024;

impl ClientStream {
    /// Sets the socket's receive low-water mark (no system call when it is already that).
    /// A socket that refuses keeps the default; waits are then only more frequent.
    fn set_lowat(&mut self, bytes: u32) {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if self.rcvlowat != bytes {
            match crate::sys::set_recv_lowat(self.link.transport().as_raw_fd(), bytes) {
                Ok(()) => self.rcvlowat = bytes,
                Err(e) => log::debug!("client stream: SO_RCVLOWAT {bytes}: {e}"),
            }
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = bytes;
    }
}

/// A write error as the peer's doing where it is: a socket that takes nothing has closed.
pub(crate) fn write_error(e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::WriteZero {
        Error::closed("the socket accepts no more bytes")
    } else {
        e.into()
    }
}

impl AsRawFd for ClientStream {
    fn as_raw_fd(&self) -> RawFd {
        self.link.transport().as_raw_fd()
    }
}

super::link::source_via_link!(ClientStream);
