//! The reading operations: a response head, body bytes into a caller's buffer, a whole
//! body, a discarded body.

use super::stream::{ClientStream, Reading};
use crate::error::Error;
use crate::proto::{Event, Framing, ResponseHead};
use crate::{PollNeeded, Progress};

/// Caller buffers at least this large are read into directly when the next bytes on the
/// wire are body data; smaller ones go through the stream's buffer (fewer system calls).
const DIRECT_READ_MIN: usize = 8 * 1024;

/// The most [`ReadAll`] reserves ahead on the strength of a `Content-Length`.
const RESERVE_AT_MOST: usize = 1024 * 1024;

/// Reads the head of the next response.
///
/// Informational responses are skipped, except a `100 Continue` to a request waiting for
/// it (sent with [`expect_continue`](super::SendRequest::expect_continue)): that one is
/// returned, so the caller can write the body and then read the final response with a new
/// `ReadResponse`. A 101 that accepts an offered upgrade, or a 2xx to CONNECT, is returned
/// and ends HTTP on the connection ([`ClientStream::into_switched`]).
///
/// A response without a body (to HEAD, 204, 304, `content-length: 0`) is complete when it
/// is returned. Otherwise its body comes next: read it with [`ReadBody`], [`ReadAll`] or
/// [`Discard`] before the next response. Queued request bytes are written while waiting,
/// so a reader never waits for a request still in our buffer.
///
/// A final response may come while the request body is still being sent (an early 413,
/// say, or a final status instead of `100 Continue`). If it closes the connection
/// (`connection: close`, HTTP/1.0, a body read until the close), sending stops: the rest of
/// the body is not sent, and [`WriteBody`](super::WriteBody) fails. Otherwise the server
/// reads the rest of the body (RFC 9110 §7.5, RFC 9112 §9.5): the caller may finish it with
/// [`WriteBody`](super::WriteBody) and [`FinishBody`](super::FinishBody), and the connection
/// then carries the next request; or drop the stream.
#[derive(Debug, Default)]
pub struct ReadResponse {
    _private: (),
}

impl ReadResponse {
    /// Reads the next response head.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes progress: `Ready` with the head.
    pub fn resume(&mut self, stream: &mut ClientStream) -> Result<Progress<ResponseHead>, Error> {
        stream.check_read()?;
        match stream.reading() {
            Reading::Head => {}
            Reading::Body => {
                return Err(Error::local(
                    "the previous response body has not been read completely",
                ))
            }
            Reading::Switched => {
                return Err(Error::local("the connection switched to another protocol"))
            }
        }
        if stream.responses_pending() == 0 {
            return Err(Error::local("no request is waiting for a response"));
        }
        loop {
            // Only the request being sent can wait for 100, and only when it is the one
            // the next response answers.
            let waiting = stream.conn().waiting_for_continue() && stream.responses_pending() == 1;
            let outcome = match stream.conn_mut().next_event() {
                Ok(Event::Informational(head)) => {
                    if head.status() == 100 && waiting {
                        return Ok(Progress::Ready(head));
                    }
                    if head.status() == 101 {
                        // `Switched` follows at once.
                        stream.set_reading(Reading::Switched);
                        return Ok(Progress::Ready(head));
                    }
                    continue;
                }
                Ok(Event::Response(head)) => Some(head),
                Ok(Event::NeedData) => None,
                Ok(Event::Closed) => {
                    let e = Error::closed(format!(
                        "the server closed the connection with {} request(s) unanswered \
                         (its last response asked to close)",
                        stream.responses_pending()
                    ));
                    return Err(stream.fail(e));
                }
                Ok(other) => {
                    let e = Error::local(format!("unexpected event {other:?} before a response"));
                    return Err(stream.fail(e));
                }
                Err(e) => return Err(stream.fail(e.into())),
            };
            if let Some(head) = outcome {
                self.response(stream);
                return Ok(Progress::Ready(head));
            }
            if let Progress::Pending(p) = stream.fill()? {
                return Ok(Progress::Pending(p));
            }
        }
    }

    fn response(&self, stream: &mut ClientStream) {
        let Some(framing) = stream.body_framing() else {
            // A 2xx to CONNECT: no body, the tunnel starts.
            stream.set_reading(Reading::Switched);
            return;
        };
        if stream.sending_body() && !stream.conn().is_keep_alive() {
            // The server answered before the body was complete (an early error, or a
            // final status instead of 100) and closes the connection: the rest of the
            // body is not sent (RFC 9112 §9.5). An answer that keeps the connection lets
            // the body finish (RFC 9110 §7.5: the server reads and drops the rest), and
            // the connection then carries the next request.
            stream.fail_send(Error::local(
                "the server answered before the request body was complete, \
                 and closes the connection",
            ));
        }
        stream.set_reading(Reading::Body);
        if framing == Framing::None {
            // The end follows at once; take it so the response is complete now.
            if let Ok(Event::End(trailers)) = stream.conn_mut().next_event() {
                stream.set_trailers(trailers);
                stream.set_reading(Reading::Head);
            }
        }
    }
}

/// Reads response body bytes into a caller's buffer: `Ready(n)` with `n > 0` bytes, or
/// `Ready(0)` at the end of the body (and on every call after it, as `read` does at end of
/// file). A body cut short is an error ([`ConnectionClosed`](Error::ConnectionClosed)),
/// never `Ready(0)`.
///
/// When the next bytes on the wire are body data (a `Content-Length` body, or inside a
/// chunk) and the buffer is large, they are read straight into it, with no copy. Otherwise
/// a read gives every piece already received, up to the buffer's size: the small chunks
/// of a chunked body come out together, not one a read.
#[derive(Debug)]
pub struct ReadBody<B> {
    buf: B,
}

impl<B: AsMut<[u8]>> ReadBody<B> {
    /// Reads into `buf` (borrowed or owned: the operation holds no borrow of the stream).
    pub fn new(buf: B) -> Self {
        Self { buf }
    }

    /// The buffer, to look at what was read.
    pub fn buffer(&self) -> &B {
        &self.buf
    }

    /// The buffer back.
    pub fn into_buffer(self) -> B {
        self.buf
    }

    /// Makes progress: `Ready` with the number of bytes read into the buffer.
    pub fn resume(&mut self, stream: &mut ClientStream) -> Result<Progress<usize>, Error> {
        read_body(stream, self.buf.as_mut())
    }
}

/// One read of body bytes into `buf`, the heart of all the body-reading operations.
pub(crate) fn read_body(
    stream: &mut ClientStream,
    buf: &mut [u8],
) -> Result<Progress<usize>, Error> {
    stream.check_read()?;
    if stream.reading() != Reading::Body || buf.is_empty() {
        return Ok(Progress::Ready(0));
    }
    if buf.len() >= DIRECT_READ_MIN {
        if let Some(result) = stream.read_direct(buf) {
            return result;
        }
    }
    let max = buf.len();
    Ok(
        match body_step(stream, max, |data| buf[..data.len()].copy_from_slice(data))? {
            BodyStep::Data(n) => Progress::Ready(n + held_pieces(stream, &mut buf[n..])),
            BodyStep::End => Progress::Ready(0),
            BodyStep::Pending(p) => Progress::Pending(p),
        },
    )
}

/// Copies into `buf` the further pieces of body the core already holds (the next chunks
/// of a chunked body), without reading the socket, so that a reader gets a buffer's worth
/// of small chunks at once: one `write` for them, not one each (`get` wrote a body of a
/// million 1-byte chunks with a million calls). Stops at the end of the body, recorded as
/// [`body_step`] does, and at an error, recorded for the next read to report after the
/// bytes that came before it.
fn held_pieces(stream: &mut ClientStream, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        let ended = match stream.conn_mut().next_event_max(buf.len() - n) {
            Ok(Event::Data(data)) => {
                buf[n..n + data.len()].copy_from_slice(data);
                n += data.len();
                continue;
            }
            Ok(Event::End(trailers)) => Ok(trailers),
            Ok(Event::NeedData) => return n,
            Ok(other) => Err(Error::local(format!(
                "unexpected event {other:?} in a response body"
            ))),
            Err(e) => Err(e.into()),
        };
        match ended {
            Ok(trailers) => {
                stream.set_trailers(trailers);
                stream.set_reading(Reading::Head);
            }
            Err(e) => {
                stream.fail(e);
            }
        }
        return n;
    }
    n
}

/// What one step through a response body gave.
enum BodyStep {
    /// This many bytes, handed to the caller's `take`.
    Data(usize),
    /// The end of the body (its trailers are kept on the stream).
    End,
    Pending(PollNeeded),
}

/// The next piece of body (at most `max` bytes, given to `take`), or its end, reading the
/// socket as needed.
fn body_step(
    stream: &mut ClientStream,
    max: usize,
    take: impl FnOnce(&[u8]),
) -> Result<BodyStep, Error> {
    loop {
        let outcome = match stream.conn_mut().next_event_max(max) {
            Ok(Event::Data(data)) => {
                take(data);
                return Ok(BodyStep::Data(data.len()));
            }
            Ok(Event::End(trailers)) => Some(trailers),
            Ok(Event::NeedData) => None,
            Ok(other) => {
                let e = Error::local(format!("unexpected event {other:?} in a response body"));
                return Err(stream.fail(e));
            }
            Err(e) => return Err(stream.fail(e.into())),
        };
        if let Some(trailers) = outcome {
            stream.set_trailers(trailers);
            stream.set_reading(Reading::Head);
            return Ok(BodyStep::End);
        }
        if let Progress::Pending(p) = stream.fill()? {
            return Ok(BodyStep::Pending(p));
        }
    }
}

/// Reads the rest of the response body into memory (at most `limit` bytes: more is an
/// error, and the connection is closed).
#[derive(Debug)]
pub struct ReadAll {
    /// Initialized memory (zeroed once); `buf[..filled]` is the body so far.
    buf: Vec<u8>,
    filled: usize,
    limit: usize,
    started: bool,
}

impl Default for ReadAll {
    fn default() -> Self {
        Self::new()
    }
}

impl ReadAll {
    /// Reads the whole body, whatever its size.
    pub fn new() -> Self {
        Self::with_limit(usize::MAX)
    }

    /// Reads the whole body, refusing one longer than `limit` bytes.
    pub fn with_limit(limit: usize) -> Self {
        Self {
            buf: Vec::new(),
            filled: 0,
            limit,
            started: false,
        }
    }

    /// Makes progress: `Ready` with the body.
    pub fn resume(&mut self, stream: &mut ClientStream) -> Result<Progress<Vec<u8>>, Error> {
        if !self.started {
            self.started = true;
            if let Some(Framing::Length(n)) = stream.body_framing() {
                if n > self.limit as u64 {
                    return Err(stream.fail(too_long(self.limit)));
                }
                // The announced length is the peer's word: trust it only so far. With the
                // whole body room, its end is seen without growing the buffer again.
                let room = usize::try_from(n)
                    .unwrap_or(usize::MAX)
                    .min(RESERVE_AT_MOST);
                self.buf.resize(room, 0);
            }
        }
        loop {
            let step = if self.filled == self.buf.len() {
                // Full (or nothing announced): see whether more comes before growing.
                let mut probe = [0u8; 4096];
                let step = read_body(stream, &mut probe)?;
                if let Progress::Ready(n) = step {
                    self.buf.truncate(self.filled);
                    self.buf.extend_from_slice(&probe[..n]);
                    // Room for what follows, zeroed once.
                    let grown = self.buf.capacity().max(self.filled + n);
                    self.buf.resize(grown, 0);
                }
                step
            } else {
                // One byte past the limit is enough to tell a body that is too long.
                let end = self.buf.len().min(
                    self.filled
                        .saturating_add(self.limit.saturating_sub(self.filled).saturating_add(1)),
                );
                read_body(stream, &mut self.buf[self.filled..end])?
            };
            match step {
                Progress::Pending(p) => return Ok(Progress::Pending(p)),
                Progress::Ready(0) => {
                    let mut body = std::mem::take(&mut self.buf);
                    body.truncate(self.filled);
                    self.filled = 0;
                    return Ok(Progress::Ready(body));
                }
                Progress::Ready(n) => {
                    self.filled += n;
                    if self.filled > self.limit {
                        return Err(stream.fail(too_long(self.limit)));
                    }
                }
            }
        }
    }
}

fn too_long(limit: usize) -> Error {
    Error::Proto(crate::proto::Error::RemoteProtocol {
        message: format!("response body longer than the limit of {limit} bytes").into(),
        status_hint: http::StatusCode::PAYLOAD_TOO_LARGE,
    })
}

/// Reads the rest of the response body and drops it; `Ready` with its length.
#[derive(Debug, Default)]
pub struct Discard {
    count: u64,
}

impl Discard {
    /// Discards the body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes progress: `Ready` with the number of bytes discarded.
    pub fn resume(&mut self, stream: &mut ClientStream) -> Result<Progress<u64>, Error> {
        stream.check_read()?;
        while stream.reading() == Reading::Body {
            let count = &mut self.count;
            let step = body_step(stream, usize::MAX, |data| *count += data.len() as u64)?;
            if let BodyStep::Pending(p) = step {
                return Ok(Progress::Pending(p));
            }
        }
        Ok(Progress::Ready(self.count))
    }
}
