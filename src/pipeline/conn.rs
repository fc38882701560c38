//! One pipelined connection of a [`Pipeline`](super::Pipeline): connecting, then requests
//! written in batches while responses are read, until it ends.

use std::collections::VecDeque;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use http::header::CONNECTION;
use http::{HeaderMap, HeaderValue};

use super::error::FetchError;
use super::policy::{depth_under_cap, keep_alive_max, Ending};
use super::request::{BodyMode, Request, Response};
use crate::error::Error;
use crate::io::Address;
use crate::op::{self, ClientStream, Discard, Flush, ReadAll, ReadResponse};
use crate::proto::{BodyLength, Limits, ResponseHead};
use crate::tls::ClientTls;
use crate::{Interest, Progress};

/// A request waiting for its turn, or in flight, with what its attempts gave.
#[derive(Debug)]
pub(crate) struct Entry<T> {
    pub(crate) tag: T,
    pub(crate) request: Request,
    /// Tries: each time it was sent, and each connection that failed to open while it
    /// waited. What the caller is told as its attempts.
    pub(crate) tries: u32,
    /// Times it was charged an attempt without a try of its own: the server completed no
    /// response on several connections in a row while it waited...
    pub(crate) charged_waiting: u32,
    /// ...and why, the last time.
    pub(crate) charged_for: Option<Error>,
    /// Each failed try's error (and each charge's, while waiting).
    pub(crate) errors: Vec<Error>,
    /// It was the first request left unanswered by a failed connection (one the server did
    /// not close by announcing it): it may be what made the server fail, so it goes alone,
    /// with nothing pipelined behind it until its response has come (RFC 9112 §9.3.2).
    pub(crate) alone: bool,
}

impl<T> Entry<T> {
    /// What it has used of its attempts: its tries, and the charges while it waited.
    pub(crate) fn spent(&self) -> u32 {
        self.tries.saturating_add(self.charged_waiting)
    }

    /// Whether nothing may be pipelined behind it: it may not be sent twice, or it is
    /// sent again after a failed connection.
    pub(crate) fn goes_alone(&self) -> bool {
        self.alone || !self.request.repeatable
    }
}

/// Where a connection hands each finished request: its response, or why it has none.
pub(crate) type Done<'a, T> = dyn FnMut(Entry<T>, Result<Response, FetchError>) + 'a;

/// A request written on the connection, waiting for its response.
#[derive(Debug)]
pub(crate) struct InFlight<T> {
    pub(crate) entry: Entry<T>,
    /// When it fails for want of a response (`None`: no timeout).
    pub(crate) deadline: Option<Instant>,
}

/// How a connection ended, and what it leaves to the pipeline.
#[derive(Debug)]
pub(crate) struct Ended<T> {
    pub(crate) ending: Ending,
    /// Why, for the requests it leaves unanswered (`None` for an announced close).
    pub(crate) error: Option<Error>,
    /// Requests left without a response, in the order they were sent.
    pub(crate) unanswered: VecDeque<InFlight<T>>,
    /// Requests queued behind those, none of whose bytes were written: they were not
    /// tried, whatever their method.
    pub(crate) unwritten: VecDeque<Entry<T>>,
    /// Requests written (wholly or in part).
    pub(crate) sent: u64,
    pub(crate) answered: u64,
    /// The head of the response at the front announced the close (`Connection: close`,
    /// HTTP/1.0 without keep-alive), and the rest of that response failed: the server did
    /// not process the requests behind it (RFC 9112 §9.6).
    pub(crate) close_announced: bool,
    /// The stream, to be closed once its descriptor has left the caller's poller.
    pub(crate) stream: Option<Box<ClientStream>>,
}

/// What the pipeline lets a connection send.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Allowance<'a> {
    /// Requests in flight at most.
    pub(crate) depth: usize,
    /// Queue more only when this much room is free (so requests go out in batches).
    pub(crate) batch: usize,
    pub(crate) request_timeout: Option<Duration>,
    /// The header fields of a request that has none of its own: `Host` alone (one map per
    /// origin, not a copy per request).
    pub(crate) host_only: &'a HeaderMap,
}

/// Things the pipeline learns from a connection as it goes.
#[derive(Debug, Default)]
pub(crate) struct Signals {
    /// A response carried `Keep-Alive: max=N`: (responses so far, it included; N; whether
    /// N was the same on an earlier response of the connection, so that it counts the
    /// connection's total, not what is left).
    pub(crate) keep_alive_max: Option<(u64, u64, bool)>,
}

#[derive(Debug)]
enum Stage {
    Connecting {
        // Boxed: racing several addresses makes it many times the size of `Open`.
        connect: Box<op::Connect>,
        deadline: Option<Instant>,
    },
    Open(Box<ClientStream>),
}

#[derive(Debug)]
enum Read {
    Head(ReadResponse),
    Keep(ResponseHead, ReadAll),
    Discard(ResponseHead, Discard),
}

/// One connection.
#[derive(Debug)]
pub(crate) struct Conn<T> {
    stage: Stage,
    /// The descriptor the caller's poller knows for this connection.
    pub(crate) fd: Option<RawFd>,
    /// What it waits for now.
    pub(crate) interest: Interest,
    /// An event (or new work) asks for it to be driven.
    pub(crate) ready: bool,
    in_flight: VecDeque<InFlight<T>>,
    read: Read,
    flushing: bool,
    /// Requests in flight not yet wholly written (so none of them can be answered yet).
    unsent: usize,
    /// The last flush wrote only part of what was queued (or failed): some of the unsent
    /// requests may have gone out in part.
    partly_flushed: bool,
    /// Bytes the unsent requests added to the stream's queue (reading may write some:
    /// what is still queued at the end tells whether any of them went).
    unsent_bytes: usize,
    pub(crate) sent: u64,
    pub(crate) answered: u64,
    /// Requests to send on this connection at most (`None`: no cap known).
    pub(crate) cap: Option<u64>,
    /// The `max` of the last `Keep-Alive` header field on it.
    keep_alive_max: Option<u64>,
    /// A response asked to close: nothing more is sent, the rest is re-sent elsewhere.
    closing: bool,
    /// We stopped using it (the core refused a request): it closes once answered.
    retired: bool,
    /// Sending failed; what is in flight may still be answered.
    send_failed: bool,
    /// A request that goes alone ([`Entry::goes_alone`]) is in flight: nothing goes after
    /// it.
    alone_in_flight: usize,
    /// The head of the response being read announced the close.
    close_announced: bool,
    /// Opened after a failed connection (RFC 9112 §9.3.2): one request in flight until the
    /// first response has come.
    pub(crate) starts_alone: bool,
    /// Descriptors its connect held beyond one, as last counted in
    /// `Shared::racing_descriptors`.
    pub(crate) counted_extra: usize,
    /// The server address it tried first, which it counts for in `Shared::per_address`.
    pub(crate) first_address: Option<Address>,
}

impl<T> Conn<T> {
    /// Starts connecting to one of `addresses`, raced with `attempt_delay` (then TLS, if
    /// given); `deadline` ends the whole connect.
    pub(crate) fn connect(
        addresses: Vec<Address>,
        attempt_delay: Option<Duration>,
        tls: Option<(ClientTls, String)>,
        limits: Limits,
        deadline: Option<Instant>,
        cap: Option<u64>,
    ) -> Self {
        let first_address = addresses.first().cloned();
        let mut connect = op::Connect::with_limits(addresses, limits).attempt_delay(attempt_delay);
        if let Some((tls, name)) = tls {
            connect = connect.tls(tls, name);
        }
        Self {
            stage: Stage::Connecting {
                connect: Box::new(connect),
                deadline,
            },
            fd: None,
            interest: Interest::WRITABLE,
            ready: true,
            in_flight: VecDeque::new(),
            read: Read::Head(ReadResponse::new()),
            flushing: false,
            unsent: 0,
            partly_flushed: false,
            unsent_bytes: 0,
            sent: 0,
            answered: 0,
            cap,
            keep_alive_max: None,
            closing: false,
            retired: false,
            send_failed: false,
            alone_in_flight: 0,
            close_announced: false,
            starts_alone: false,
            counted_extra: 0,
            first_address,
        }
    }

    /// Descriptors its connect holds beyond the one a connection counts for (racing
    /// addresses: the other attempts' sockets, and the descriptor watching them).
    pub(crate) fn extra_descriptors(&self) -> usize {
        match &self.stage {
            Stage::Connecting { connect, .. } => connect.descriptors().saturating_sub(1),
            Stage::Open(_) => 0,
        }
    }

    pub(crate) fn is_connecting(&self) -> bool {
        matches!(self.stage, Stage::Connecting { .. })
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether it could take another request now or soon (open or opening, and allowed
    /// more).
    pub(crate) fn can_take_more(&self, depth: usize) -> bool {
        !self.closing
            && !self.retired
            && !self.send_failed
            && self.alone_in_flight == 0
            && !self.waits_for_first_answer()
            && self.room(depth) > 0
            && self.cap.map_or(true, |cap| self.sent < cap)
    }

    /// Opened after a failed connection, with its one request in flight and no answer yet.
    fn waits_for_first_answer(&self) -> bool {
        self.starts_alone && self.answered == 0 && !self.in_flight.is_empty()
    }

    /// How many more requests its depth lets it have in flight (its cap lowers the depth).
    pub(crate) fn room(&self, depth: usize) -> usize {
        depth_under_cap(depth, self.cap).saturating_sub(self.in_flight.len())
    }

    /// Whether the next request is the last its cap allows: it carries `Connection: close`.
    fn next_is_last(&self) -> bool {
        self.cap
            .is_some_and(|cap| self.sent.saturating_add(1) >= cap)
    }

    /// The addresses its connect has not tried yet (none once connected).
    pub(crate) fn untried_addresses(&self) -> Vec<Address> {
        match &self.stage {
            Stage::Connecting { connect, .. } => connect.untried().cloned().collect(),
            Stage::Open(_) => Vec::new(),
        }
    }

    /// The address of the peer, once connected.
    pub(crate) fn peer_address(&self) -> Option<Address> {
        match &self.stage {
            Stage::Open(stream) => stream.transport().peer_address().ok(),
            Stage::Connecting { .. } => None,
        }
    }

    /// The next time something must happen here without an event: a connect overdue or
    /// its next address due, or a response overdue.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match &self.stage {
            Stage::Connecting { connect, deadline } => [*deadline, connect.next_attempt_at()]
                .into_iter()
                .flatten()
                .min(),
            Stage::Open(_) => self.in_flight.front().and_then(|f| f.deadline),
        }
    }

    /// Drives the connect. `Ok(true)`: connected (drive it as open next); `Ok(false)`:
    /// waiting (on `fd`, which changes as attempts start and end); `Err`: every address
    /// failed, or the connect timed out.
    pub(crate) fn drive_connect(&mut self, now: Instant) -> Result<bool, Error> {
        let Stage::Connecting { connect, deadline } = &mut self.stage else {
            return Ok(true);
        };
        if deadline.is_some_and(|d| now >= d) {
            // Every address given up on, not only the newest.
            return Err(Error::Io(std::sync::Arc::new(connect.timed_out())));
        }
        match connect.resume()? {
            Progress::Ready(stream) => {
                self.fd = Some(stream.as_raw_fd());
                self.stage = Stage::Open(Box::new(stream));
                Ok(true)
            }
            Progress::Pending(need) => {
                self.fd = Some(need.fd);
                self.interest = need.interest;
                Ok(false)
            }
        }
    }

    /// Sends, flushes and reads until the socket would block, handing each complete
    /// response to `done`. `Ok`: waiting (see `interest`) or idle; `Err`: the connection
    /// ended.
    pub(crate) fn drive(
        &mut self,
        queue: &mut VecDeque<Entry<T>>,
        allow: Allowance<'_>,
        now: Instant,
        signals: &mut Signals,
        done: &mut Done<'_, T>,
    ) -> Result<(), Box<Ended<T>>> {
        if self
            .in_flight
            .front()
            .and_then(|f| f.deadline)
            .is_some_and(|d| now >= d)
        {
            return Err(self.end(Ending::TimedOut, Some(Error::Timeout)));
        }
        let mut interest = None::<Interest>;
        let mut write_blocked = false;
        loop {
            let room = self.room(allow.depth);
            let batch = allow.batch.min(depth_under_cap(allow.depth, self.cap));
            if !queue.is_empty() && (room >= batch || self.in_flight.is_empty()) {
                self.fill(queue, allow, now, done)?;
            }
            // Queued requests wait until the responses already here are read, so that all
            // they made room for go out in one write (a write per few responses doubled
            // the system calls of both sides); they go at once when nothing written awaits
            // an answer, or when half the depth waits.
            let nothing_awaited = self.unsent >= self.in_flight.len();
            let half = (depth_under_cap(allow.depth, self.cap) / 2).max(1);
            if !write_blocked && (nothing_awaited || self.unsent >= half) {
                write_blocked |= self.flush(&mut interest);
            }
            if self.in_flight.is_empty() {
                self.interest = interest.unwrap_or(Interest::READABLE);
                return Ok(());
            }
            match self.read_one(signals, done) {
                Ok(Some(need)) => {
                    if !write_blocked {
                        self.flush(&mut interest);
                    }
                    self.interest = need | interest.unwrap_or(need);
                    return Ok(());
                }
                Ok(None) => {
                    if self.closing {
                        return Err(self.end(Ending::Announced, None));
                    }
                }
                Err(ended) => return Err(ended),
            }
        }
    }

    /// Writes what is queued; true when the socket would block (its interest is added to
    /// `interest`). A failed write is remembered: the read side decides how the
    /// connection ended, since responses sent before the server stopped reading may
    /// still come.
    fn flush(&mut self, interest: &mut Option<Interest>) -> bool {
        let Stage::Open(stream) = &mut self.stage else {
            return false;
        };
        if !(self.flushing || stream.unflushed() > 0) || self.send_failed {
            return false;
        }
        match Flush::new().resume(stream) {
            Ok(Progress::Ready(())) => {
                self.flushing = false;
                self.partly_flushed = false;
                self.unsent = 0;
                self.unsent_bytes = 0;
                false
            }
            Ok(Progress::Pending(need)) => {
                self.flushing = true;
                self.partly_flushed = true;
                *interest = Some(need.interest);
                true
            }
            Err(_) => {
                self.send_failed = true;
                self.partly_flushed = true;
                self.flushing = false;
                false
            }
        }
    }

    /// Queues requests from the front of `queue` up to the depth and the cap; a request
    /// that may not be sent twice goes alone.
    fn fill(
        &mut self,
        queue: &mut VecDeque<Entry<T>>,
        allow: Allowance<'_>,
        now: Instant,
        done: &mut Done<'_, T>,
    ) -> Result<(), Box<Ended<T>>> {
        while self.can_take_more(allow.depth) {
            let last = self.next_is_last();
            let Stage::Open(stream) = &mut self.stage else {
                return Ok(());
            };
            if !stream.conn().is_keep_alive() {
                // Nothing more goes on it: a response said the connection ends with it
                // (`close`, or a body delimited by the close), or our last request asked
                // to close (its responses, and those before it, are still read).
                if self.close_announced || !stream.conn().reads_responses() {
                    self.closing = true;
                }
                break;
            }
            let Some(front) = queue.front() else { break };
            if front.goes_alone() && !self.in_flight.is_empty() {
                // RFC 9112 §9.3.2: nothing is pipelined after a non-idempotent request,
                // and it waits for the line ahead so a failure behind it cannot hit it;
                // the same for the first request retried after a failed connection.
                break;
            }
            let mut entry = queue.pop_front().expect("the front exists");
            let request = &entry.request;
            let body = match &request.body {
                Some(body) => BodyLength::Known(body.len() as u64),
                None => BodyLength::None,
            };
            let headers = if request.headers.is_empty() {
                allow.host_only
            } else {
                &request.headers
            };
            let with_close;
            let headers = if last {
                with_close = asking_to_close(headers);
                &with_close
            } else {
                headers
            };
            let before = stream.unflushed();
            let queued = stream
                .queue_request(&request.method, &request.target, headers, body)
                .and_then(|_| match &request.body {
                    // The body's end is queued too: the connection takes the next request.
                    Some(body) if !body.is_empty() => stream
                        .queue_data(body)
                        .and_then(|()| stream.queue_end(None)),
                    _ => Ok(()),
                });
            if let Err(e) = queued {
                if e.is_caller_error() && stream.error().is_none() {
                    // The request itself is at fault (a target or header HTTP does not
                    // allow): it alone fails. The core refuses anything more on this
                    // connection, so it takes no more and closes once answered.
                    done(entry, Err(FetchError::Invalid(e)));
                    self.retired = true;
                    return Ok(());
                }
                queue.push_front(entry);
                return Err(self.end(Ending::Closed, Some(e)));
            }
            if entry.goes_alone() {
                self.alone_in_flight += 1;
            }
            entry.tries = entry.tries.saturating_add(1);
            self.unsent_bytes += stream.unflushed().saturating_sub(before);
            self.sent += 1;
            let deadline = allow.request_timeout.map(|t| now + t);
            self.in_flight.push_back(InFlight { entry, deadline });
            self.unsent += 1;
            self.flushing = true;
        }
        Ok(())
    }

    /// Reads until one response is complete (`Ok(None)`), or the socket would block
    /// (`Ok(Some(interest))`).
    fn read_one(
        &mut self,
        signals: &mut Signals,
        done: &mut Done<'_, T>,
    ) -> Result<Option<Interest>, Box<Ended<T>>> {
        let Stage::Open(stream) = &mut self.stage else {
            return Ok(Some(Interest::WRITABLE));
        };
        loop {
            let finished = match &mut self.read {
                Read::Head(op) => match op.resume(stream) {
                    Ok(Progress::Pending(need)) => return Ok(Some(need.interest)),
                    Ok(Progress::Ready(head)) => {
                        if head.status() == 101 || !(200..=999).contains(&head.status()) {
                            let e = Error::UnsupportedResponse {
                                message: format!(
                                    "a {} response to a request that asked for none",
                                    head.status()
                                ),
                            };
                            return Err(self.end(Ending::Broken, Some(e)));
                        }
                        self.close_announced = stream.conn().response_closes();
                        if let Some(max) = head.headers().get("keep-alive").and_then(keep_alive_max)
                        {
                            let answered = self.answered + 1;
                            // Apache counts down what is left (99, 98, ...); Node.js says
                            // its total on every response (`max=100`): the same number
                            // after another answer is a total.
                            let total = self.keep_alive_max == Some(max);
                            self.keep_alive_max = Some(max);
                            signals.keep_alive_max = Some((answered, max, total));
                            // Capped at once, not when `drive` returns: the loop refills
                            // after each response it reads, and would otherwise send past
                            // the announced total while more responses are waiting.
                            let cap = if total {
                                max
                            } else {
                                answered.saturating_add(max)
                            };
                            self.cap = Some(cap.max(1));
                        }
                        if !stream.reading_body() {
                            Some((head, Vec::new(), 0))
                        } else {
                            let front = &self.in_flight.front().expect("a response is due").entry;
                            self.read = match front.request.body_mode {
                                BodyMode::Keep(limit) => {
                                    Read::Keep(head, ReadAll::with_limit(limit))
                                }
                                BodyMode::Discard => Read::Discard(head, Discard::new()),
                            };
                            None
                        }
                    }
                    Err(e) => {
                        let ending = match classify(&e, Ending::Closed) {
                            // No head where one was due, after good responses.
                            Ending::Broken
                                if self.answered > 0
                                    && matches!(
                                        e,
                                        Error::Proto(crate::proto::Error::RemoteProtocol { .. })
                                    ) =>
                            {
                                Ending::Garbled
                            }
                            ending => ending,
                        };
                        return Err(self.end(ending, Some(e)));
                    }
                },
                Read::Keep(_, op) => match op.resume(stream) {
                    Ok(Progress::Pending(need)) => return Ok(Some(need.interest)),
                    Ok(Progress::Ready(body)) => {
                        let Read::Keep(head, _) =
                            std::mem::replace(&mut self.read, Read::Head(ReadResponse::new()))
                        else {
                            unreachable!()
                        };
                        let len = body.len() as u64;
                        Some((head, body, len))
                    }
                    Err(e) => {
                        let ending = classify(&e, Ending::CutShort);
                        return Err(self.end(ending, Some(e)));
                    }
                },
                Read::Discard(_, op) => match op.resume(stream) {
                    Ok(Progress::Pending(need)) => return Ok(Some(need.interest)),
                    Ok(Progress::Ready(len)) => {
                        let Read::Discard(head, _) =
                            std::mem::replace(&mut self.read, Read::Head(ReadResponse::new()))
                        else {
                            unreachable!()
                        };
                        Some((head, Vec::new(), len))
                    }
                    Err(e) => {
                        let ending = classify(&e, Ending::CutShort);
                        return Err(self.end(ending, Some(e)));
                    }
                },
            };
            if let Some((head, body, body_len)) = finished {
                self.read = Read::Head(ReadResponse::new());
                let front = self.in_flight.pop_front().expect("a response is due");
                self.unsent = self.unsent.min(self.in_flight.len());
                if front.entry.goes_alone() {
                    self.alone_in_flight -= 1;
                }
                self.close_announced = false;
                self.answered += 1;
                if !stream.conn().reads_responses() {
                    // No response comes after this one (it closed, or it answered our
                    // `close`): what is still in flight is sent again elsewhere.
                    self.closing = true;
                }
                done(
                    front.entry,
                    Ok(Response {
                        head,
                        body,
                        body_len,
                    }),
                );
                return Ok(None);
            }
        }
    }

    /// Ends the connection, handing back what is unanswered and the stream.
    pub(crate) fn end(&mut self, ending: Ending, error: Option<Error>) -> Box<Ended<T>> {
        let stage = std::mem::replace(
            &mut self.stage,
            Stage::Connecting {
                connect: Box::new(op::Connect::new(Vec::new())),
                deadline: None,
            },
        );
        let stream = match stage {
            Stage::Open(stream) => Some(stream),
            Stage::Connecting { .. } => None,
        };
        // Queued after the last flush that wrote everything, and still all queued (reading
        // may have written some): not a byte of them went out.
        let all_queued = stream
            .as_ref()
            .map_or(true, |s| s.unflushed() >= self.unsent_bytes);
        let unwritten = if self.partly_flushed || !all_queued {
            0
        } else {
            self.unsent.min(self.in_flight.len())
        };
        let mut unanswered = std::mem::take(&mut self.in_flight);
        let unwritten: VecDeque<Entry<T>> = unanswered
            .split_off(unanswered.len() - unwritten)
            .into_iter()
            .map(|in_flight| {
                let mut entry = in_flight.entry;
                entry.tries = entry.tries.saturating_sub(1);
                entry
            })
            .collect();
        self.sent -= unwritten.len() as u64;
        self.alone_in_flight = 0;
        self.unsent = 0;
        self.unsent_bytes = 0;
        Box::new(Ended {
            ending,
            error,
            unanswered,
            unwritten,
            sent: self.sent,
            answered: self.answered,
            close_announced: std::mem::take(&mut self.close_announced),
            stream,
        })
    }
}

/// How an error while reading ends a connection: the peer closing or resetting is
/// `closed` (before a response) or a cut-short response; a protocol error, an unsupported
/// response or TLS is a broken one.
fn classify(e: &Error, closed: Ending) -> Ending {
    match e {
        Error::ConnectionClosed { .. } => closed,
        Error::Timeout => Ending::TimedOut,
        Error::Io(io) if e.is_temporary() || io.kind() == std::io::ErrorKind::UnexpectedEof => {
            closed
        }
        _ => Ending::Broken,
    }
}

/// The header fields of a request, with `close` added to its `Connection` field.
fn asking_to_close(headers: &HeaderMap) -> HeaderMap {
    let mut headers = headers.clone();
    headers.append(CONNECTION, HeaderValue::from_static("close"));
    headers
}
