//! One server connection as an event-loop state machine over the op layer's
//! [`ServerStream`]: reading request heads and bodies, writing responses, under the
//! timeouts and minimum data rates. Nothing here waits: when the socket has nothing to
//! give or take, [`Conn::drive`] says what to wait for and the loop moves on. No user code
//! runs here, since it may block: `drive` hands the loop the request for its handler
//! ([`Next::Handle`], answered by [`Conn::respond`]), the connection for its `on_connect`
//! hook ([`Next::Admit`], answered by [`Conn::admitted`]), and a response body whose next
//! piece must be produced ([`Next::Produce`], answered by [`Conn::produced`]); the loop
//! runs each with its lock released, as it runs handlers.

use std::borrow::Cow;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::{CONNECTION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, StatusCode};

use super::config::{Config, MinDataRate, NO_DEADLINE};
use super::feed::Feed;
use super::group::Notices;
use super::response::Response;
use super::session::Session;
use crate::body::{Chunk, ChunkIter, Kind};
use crate::error::Error;
use crate::op::server::BodyPiece;
use crate::op::{ReadRequest, ServerStream};
use crate::proto::{BodyLength, ChunkExtension, Framing, RequestHead};
use crate::tls::Handshake;
use crate::{Interest, Progress};

/// Responses are produced until this much waits, then written.
const FLUSH_AT: usize = 64 * 1024;
/// An unread request body shorter than this is read and dropped after the response, so
/// the connection can go on; a longer one closes it.
const DRAIN_AT_MOST: u64 = 256 * 1024;
/// How long a closing connection reads and drops what the client still sends.
const LINGER: Duration = Duration::from_secs(2);
/// How much of a reader body to read at a time.
const PIECE: usize = 64 * 1024;
/// A body in memory up to this long is queued whole with its head; a longer one a piece
/// at a time, like a reader's.
const INLINE_BODY: usize = 64 * 1024;
/// The most response body pieces a connection queues before the loop's other ready
/// connections get their turn (512 KiB of a reader's or a long in-memory body; nginx's
/// `sendfile_max_chunk` is 2 MiB).
pub(crate) const PIECES_PER_TURN: usize = 8;

/// What the connection waits for when it goes back to the poller; each has its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Between requests: the idle timeout.
    Idle,
    /// In a request head (or the TLS handshake): the head timeout, the request deadline.
    Head,
    /// For request body bytes: the body timeout, the request deadline, the body rate.
    Body,
    /// For the client to take response bytes: the body timeout, the response rate.
    Respond,
    /// For its handler, with nothing to read or write meanwhile: no deadline.
    Handler,
    /// Closing, reading and dropping what still comes: the linger time.
    Linger,
}

/// A request for the handler.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) head: RequestHead,
    pub(crate) framing: Framing,
    pub(crate) feed: Option<Arc<Feed>>,
}

/// What the loop does with a connection next.
#[derive(Debug)]
pub(crate) enum Next {
    /// Back to the poller until the socket is ready for `interest`.
    Wait(Interest, Wait),
    /// Call the handler with this request (the session comes from
    /// [`Conn::take_session`]), then give the response to [`Conn::respond`].
    Handle(Call),
    /// Call the `on_connect` hook (the session comes from [`Conn::take_session`]), then
    /// give its verdict to [`Conn::admitted`].
    Admit,
    /// Produce the next piece of this response body ([`Pump::produce`]), then give it
    /// back to [`Conn::produced`].
    Produce(Box<Pump>),
    /// Its turn is over ([`PIECES_PER_TURN`] body pieces written): drive it again after
    /// the other ready connections.
    Yield,
    /// Everything is written: close after a lingering wait. Our side is shut down, and what
    /// the client still sends is read and dropped until it closes or the linger time ends,
    /// so that unread bytes do not turn the close into a reset that loses the response
    /// (RFC 9112 §9.6).
    Linger,
    /// Close it.
    Close,
}

/// Where a connection is in its exchanges.
enum Phase {
    /// Reading the next request head.
    Head,
    /// Reading a request body ahead of its handler: the handler is called once the body
    /// is complete, or once [`feed::AHEAD`](super::feed::AHEAD) bytes wait.
    Prefetch(Box<Call>),
    /// The handler has the request; the loop feeds it the body as it reads.
    Handler(Option<Arc<Feed>>),
    /// A response body is produced and written as the client takes it.
    Respond(Box<Pump>),
    /// User code runs for this connection off the loop (its `on_connect` hook, or the code
    /// of its response body): only what is already queued is written meanwhile.
    Away,
    /// The response is queued: what comes after it.
    Answered,
    /// Reading and dropping the rest of a request body the handler left.
    Drain(u64),
    /// Writing the last bytes before a lingering close.
    Closing,
}

impl Phase {
    /// Moves to `phase`. The old phase is dropped only if it holds something: the usual
    /// steps leave a phase that holds nothing (`Head`, `Answered`), and the check costs
    /// less than the call that drops a `Phase`.
    fn set(&mut self, phase: Self) {
        let old = std::mem::replace(self, phase);
        if matches!(old, Self::Head | Self::Answered | Self::Handler(None)) {
            // Nothing in it to drop (and no call for that).
            std::mem::forget(old);
        } else {
            drop_phase(old);
        }
    }
}

/// Drops a phase that holds something, out of the usual steps' way.
#[cold]
#[inline(never)]
fn drop_phase(phase: Phase) {
    drop(phase);
}

/// A response body being produced: by the body's code off the loop ([`Pump::produce`],
/// a piece at a time), and queued on the loop ([`Pump::emit`]); or a long body already in
/// memory, queued a piece at a time.
pub(crate) struct Pump {
    source: Source,
    trailers: Option<HeaderMap>,
    /// Chunk extensions and trailers are dropped (an HTTP/1.0 client, data until close).
    plain: bool,
    piece: Vec<u8>,
    /// What the last `produce` got, not queued yet.
    produced: Produced,
}

/// A piece of a response body between [`Pump::produce`] and [`Pump::emit`].
enum Produced {
    Nothing,
    /// `piece[..n]`.
    Data(usize),
    Chunk(Chunk),
    End,
    Failed(io::Error),
}

/// What [`Pump::emit`] did.
enum Emitted {
    /// A piece is queued.
    Piece,
    /// The body is complete, and ended.
    Done,
    /// Nothing is waiting: the body's code must produce the next piece.
    Needs,
}

impl std::fmt::Debug for Pump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pump")
            .field("plain", &self.plain)
            .finish_non_exhaustive()
    }
}

enum Source {
    /// A body in memory, longer than [`INLINE_BODY`], and how much of it is queued.
    Bytes(Cow<'static, [u8]>, usize),
    /// This many bytes left to read from the reader.
    Reader(Box<dyn Read + Send>, u64),
    ChunkedReader(Box<dyn Read + Send>),
    Chunks(ChunkIter<'static>),
    /// The body's code gave all it will (or failed) and is dropped; for a reader with a
    /// length, this many bytes it gave are still to be queued.
    Spent(u64),
}

/// What the current transfer (a request body or a response) has done, for its minimum
/// rate: bytes moved, and the time spent waiting on the client.
#[derive(Debug, Default, Clone, Copy)]
struct Transfer {
    bytes: u64,
    waited: Duration,
    waiting_since: Option<Instant>,
}

impl Transfer {
    fn wake(&mut self, now: Instant) {
        if let Some(since) = self.waiting_since.take() {
            self.waited += now.saturating_duration_since(since);
        }
    }

    /// When this wait (starting `now`) breaks the rate: the bytes do not grow while the
    /// connection waits, so it is when the time waited reaches both the grace and the
    /// time those bytes would take at the rate.
    fn rate_deadline(&mut self, rate: MinDataRate, now: Instant) -> Instant {
        self.waiting_since = Some(now);
        now + rate.allowance(self.bytes).saturating_sub(self.waited)
    }
}

/// How much of a response the client has taken, as its kernel acknowledged it (see
/// [`Transport::unacknowledged`](crate::io::Transport)): while a slow client reads, the
/// socket becomes writable only once a third of its buffer is free, which at tens of
/// KiB/s takes minutes; the bytes it acknowledges show its progress meanwhile.
#[derive(Debug, Clone, Copy)]
struct Taking {
    /// Bytes written for this response less the unacknowledged bytes, at the first look:
    /// taken since then is the same difference now, less this.
    base: i64,
    /// Taken since the first look, at the last look.
    taken: u64,
    /// When `taken` last grew (or the first look).
    since: Instant,
    /// Written and not yet acknowledged, at the last look: bytes the client has still to
    /// take before any queued after them.
    unacked: u64,
    /// The largest step of acknowledgements seen after a pause (see [`Conn::no_progress`]):
    /// what the client's kernel lets it read before it says so, at most [`MAX_STEP`].
    step: u64,
    /// Acknowledgements came since the first look: the first are what the client's kernel
    /// took at once, until its window closed, and say nothing of the client reading.
    filled: bool,
}

/// A wait on the client to take a response, for the response rate.
#[derive(Debug, Clone, Copy)]
struct WriteDue {
    /// When all of what was queued as the wait began must be taken (Kestrel's rule).
    deadline: Instant,
    /// The transfer's byte count that ends the wait (taken, then, all of it).
    until: u64,
    /// When the wait began, and what the client had taken then.
    began: Instant,
    taken_then: u64,
}

impl WriteDue {
    /// When the wait ends for a client that has taken `taken` of the transfer: at the
    /// deadline for what was queued, or once it has taken less than the rate since the
    /// wait began, after `credit` (see `Conn::write_deadline`).
    fn ends(&self, taken: u64, rate: MinDataRate, credit: Duration) -> Instant {
        let earned = rate.time_for(taken.saturating_sub(self.taken_then));
        let average = self.began.checked_add(credit.saturating_add(earned));
        average.map_or(self.deadline, |average| self.deadline.min(average))
    }
}

/// How often a response that waits on a client looks at what the client took (at most).
const TAKING_CHECK: Duration = Duration::from_secs(1);
/// The most a client may take before its kernel acknowledges any of it: a window update
/// waits until a whole segment is free, and loopback's segments are 64 KiB.
const ACK_STEP: u64 = 64 * 1024;
/// The largest step of acknowledgements that buys time (see [`Conn::no_progress`]): at
/// 240 B/s, 18 minutes.
const MAX_STEP: u64 = 256 * 1024;

/// What follows the response being sent.
#[derive(Debug, Default, Clone, Copy)]
struct After {
    close: bool,
    drain: bool,
}

/// One client connection.
pub(crate) struct Conn {
    handshake: Option<Box<Handshake>>,
    stream: Option<ServerStream>,
    /// `None` while a handler has it.
    /// Boxed: it moves to the handler's call and back with each request.
    session: Option<Box<Session>>,
    fd: RawFd,
    connected: bool,
    phase: Phase,
    after: After,
    /// The handler is answering the last request `max_requests` allows.
    last: bool,
    /// When the request now awaited began to arrive (head timeout, request deadline).
    request_since: Option<Instant>,
    /// When the connection last fell idle (opened, or done with a request): the idle
    /// deadline runs from here, so empty lines before a request (which the core skips,
    /// leaving nothing buffered) do not put it off.
    idle_since: Option<Instant>,
    transfer: Transfer,
    /// The wait on the client to take what was written (the response rate).
    write_due: Option<WriteDue>,
    /// What the client took of the response being written, once it has had to wait on
    /// the client (`None` before, or where the system does not say).
    taking: Option<Taking>,
    /// Closed under a running handler (its response goes nowhere).
    dead: bool,
    /// Its last handler was slow: flush what is queued before the next one.
    flush_before_handler: bool,
    /// Response body pieces queued since the loop last came to this connection.
    turn_pieces: usize,
    notices: Arc<Notices>,
    slot: usize,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("fd", &self.fd)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl Conn {
    pub(crate) fn new(
        stream_or_handshake: Result<ServerStream, Handshake>,
        session: Session,
        notices: Arc<Notices>,
    ) -> Self {
        let (handshake, stream, fd) = match stream_or_handshake {
            Ok(mut stream) => {
                // The loop calls `woken` (forgetting a short read) for each event.
                stream.skip_reads_after_short_ones();
                let fd = stream.as_raw_fd();
                (None, Some(stream), fd)
            }
            Err(handshake) => {
                let fd = handshake.fd();
                (Some(Box::new(handshake)), None, fd)
            }
        };
        Self {
            handshake,
            stream,
            session: Some(Box::new(session)),
            fd,
            connected: false,
            phase: Phase::Head,
            after: After::default(),
            last: false,
            request_since: None,
            idle_since: None,
            transfer: Transfer::default(),
            turn_pieces: 0,
            flush_before_handler: false,
            write_due: None,
            taking: None,
            dead: false,
            notices,
            slot: 0,
        }
    }

    pub(crate) fn fd(&self) -> RawFd {
        self.fd
    }

    /// The loop's slot for this connection (request body notices name it).
    pub(crate) fn set_slot(&mut self, slot: usize) {
        self.slot = slot;
    }

    /// The session, for the handler.
    pub(crate) fn take_session(&mut self) -> Option<Box<Session>> {
        self.session.take()
    }

    /// Whether user code (its handler, hook or response body) is working for this
    /// connection: it must not close under it.
    pub(crate) fn running_user_code(&self) -> bool {
        matches!(self.phase, Phase::Handler(_) | Phase::Away)
    }

    /// Whether the client has left: closed its side of the connection, or reset it, as
    /// its socket says now. HTTP/1.1 has no other way to call a request off.
    pub(crate) fn client_has_left(&self) -> bool {
        self.stream
            .as_ref()
            .is_some_and(|s| s.transport().peer_has_closed())
    }

    /// The client left before its held-back handler or hook was called: neither will be,
    /// and the connection closes.
    pub(crate) fn abandon(&mut self) {
        self.phase = Phase::Closing;
    }

    /// Whether the TLS handshake is still under way.
    pub(crate) fn in_handshake(&self) -> bool {
        self.handshake.is_some()
    }

    /// Whether the connection has nothing in progress (for a graceful stop).
    pub(crate) fn is_idle(&self) -> bool {
        matches!(self.phase, Phase::Head)
            && self.request_since.is_none()
            && self
                .stream
                .as_ref()
                .map_or(self.handshake.is_some(), |s| s.conn().buffered() == 0)
    }

    /// When the connection's wait of this kind ends.
    pub(crate) fn deadline(&mut self, wait: Wait, config: &Config, now: Instant) -> Instant {
        match wait {
            Wait::Idle => *self.idle_since.get_or_insert(now) + config.idle_timeout,
            Wait::Head => {
                let since = *self.request_since.get_or_insert(now);
                since + config.head_timeout.min(config.request_timeout)
            }
            Wait::Body => {
                let mut deadline = now + config.body_timeout;
                if let Some(since) = self.request_since {
                    deadline = deadline.min(since + config.request_timeout);
                }
                match config.min_request_body_rate {
                    Some(rate) => deadline.min(self.transfer.rate_deadline(rate, now)),
                    None => deadline,
                }
            }
            Wait::Respond => {
                self.look_at_taking(now);
                self.respond_deadline(config, now)
            }
            Wait::Handler => now + NO_DEADLINE,
            Wait::Linger => now + LINGER,
        }
    }

    /// The response rate. As Kestrel applies it: the bytes waiting when the client stops
    /// taking them must all be taken within the grace, or within the time they take at the
    /// rate if that is longer. Taking some of them does not move that deadline; taking all
    /// of them ends this wait, and the next wait starts another. (A rate averaged over the
    /// whole response would count the first megabytes, which the kernel's buffers take at
    /// once, and let a client that then takes nothing hold on for minutes.)
    ///
    /// And on average over the wait: after `credit` (the body timeout, the time a client
    /// may take nothing at all), each byte taken buys the time it takes at the rate. A
    /// client taking a trickle below the rate, acknowledged in steps shorter than `credit`
    /// (a window update per MSS: every 15 s at 100 B/s over a 1460-byte MSS), is cut off
    /// soon after `credit`, where the first rule gave it as long as 64 KiB and more take
    /// at the rate (at 240 B/s, 5 minutes). One whose steps are longer is cut off by
    /// `credit` itself: nothing taken for the body timeout.
    ///
    /// Where the kernel says what the client acknowledged, "taken" counts those bytes, not
    /// the ones written into the socket's buffer.
    fn write_deadline(&mut self, rate: MinDataRate, credit: Duration, now: Instant) -> Instant {
        let taken = self.taken();
        let due = match self.write_due {
            Some(due) if taken < due.until => due,
            _ => {
                // What the client has to take before this wait is over: what is queued,
                // and where "taken" counts acknowledged bytes, what the kernel holds
                // unacknowledged ahead of it, up to one step of acknowledgements. A
                // client's kernel acknowledges what it read only once a whole segment
                // is free in its window (64 KiB over loopback): counting only the queue,
                // a few bytes of the next piece, left the client the grace for a step
                // that takes 64 KiB at its pace, and clients taking 1,000 B/s, even
                // 16 KB/s, were cut off after 6 s. (All of the unacknowledged bytes, up
                // to megabytes, would give one that takes nothing minutes at a high rate;
                // a larger step the client has shown counts whole.)
                let unacked = self
                    .taking
                    .map_or(0, |t| t.unacked.min(ACK_STEP.max(t.step)));
                let queued = self.stream.as_ref().map_or(0, ServerStream::queued) as u64;
                let pending = queued + unacked;
                let due = WriteDue {
                    deadline: now + rate.allowance(pending),
                    until: taken + pending,
                    began: now,
                    taken_then: taken,
                };
                self.write_due = Some(due);
                due
            }
        };
        due.ends(taken, rate, credit)
    }

    /// The client's progress through the response: acknowledged bytes since the first
    /// wait on it where the kernel says, else the bytes written.
    fn taken(&self) -> u64 {
        self.taking.map_or(self.transfer.bytes, |t| t.taken)
    }

    /// When the wait for the client to take the response ends: nothing taken for the body
    /// timeout, or the rate broken; looked at again within [`TAKING_CHECK`] where the
    /// kernel shows the client's progress.
    fn respond_deadline(&mut self, config: &Config, now: Instant) -> Instant {
        let since = self.taking.map_or(now, |t| t.since);
        let no_progress = self.no_progress(config);
        let mut deadline = since + no_progress;
        if let Some(rate) = config.min_response_rate {
            deadline = deadline.min(self.write_deadline(rate, no_progress, now));
        }
        if self.taking.is_some() {
            deadline = deadline.min(now + TAKING_CHECK.min(config.body_timeout / 4));
        }
        deadline
    }

    /// How long the client may show no progress: the body timeout, or the time its steps
    /// take at the minimum rate if it has shown they are longer. A client's kernel says
    /// what the client read only when it opens its window again, once enough is free (a
    /// whole segment, 64 KiB over loopback, or a sixteenth of a large buffer): a client
    /// reading 4,000 B/s showed steps of 34 KB, then nothing for 30 s, and was cut off as
    /// one that stopped. One that reads nothing shows no step after the first burst its
    /// kernel took at once, and is cut off after the body timeout; so is one whose first
    /// step takes longer (over loopback, below about 2 KB/s).
    fn no_progress(&self, config: &Config) -> Duration {
        let step = self.taking.map_or(0, |t| t.step);
        match config.min_response_rate {
            Some(rate) if step > 0 => config.body_timeout.max(rate.time_for(step)),
            _ => config.body_timeout,
        }
    }

    /// Looks at what the client's kernel has acknowledged (one `ioctl`), from a wait on
    /// the client to the end of the response.
    fn look_at_taking(&mut self, now: Instant) {
        let Some(unacked) = self
            .stream
            .as_ref()
            .and_then(|s| s.transport().unacknowledged())
        else {
            self.taking = None;
            return;
        };
        let left = i64::try_from(self.transfer.bytes).unwrap_or(i64::MAX) - unacked as i64;
        match &mut self.taking {
            None => {
                // A rate deadline counted in bytes written (the kernel did not say before)
                // does not carry over into acknowledged bytes.
                self.write_due = None;
                self.taking = Some(Taking {
                    base: left,
                    taken: 0,
                    since: now,
                    unacked: unacked as u64,
                    step: 0,
                    filled: false,
                });
            }
            Some(t) => {
                let taken = u64::try_from(left - t.base).unwrap_or(0);
                if taken > t.taken {
                    // A step after a pause is the client reading.
                    if t.filled && now.saturating_duration_since(t.since) >= TAKING_CHECK {
                        t.step = t.step.max((taken - t.taken).min(MAX_STEP));
                    }
                    t.filled = true;
                    t.taken = taken;
                    t.since = now;
                }
                t.unacked = unacked as u64;
            }
        }
    }

    /// A wait for the client to take the response reached its deadline: `Some`, the
    /// client has taken bytes meanwhile, within the rate (the next deadline); `None`,
    /// it took nothing for the body timeout, or too little for the rate: give up.
    pub(crate) fn recheck(&mut self, wait: Wait, config: &Config, now: Instant) -> Option<Instant> {
        if wait != Wait::Respond || self.taking.is_none() {
            return None;
        }
        self.look_at_taking(now);
        let taking = self.taking?;
        let no_progress = self.no_progress(config);
        if now >= taking.since + no_progress {
            return None;
        }
        if let Some(rate) = config.min_response_rate {
            if now >= self.write_deadline(rate, no_progress, now) {
                return None;
            }
        }
        Some(self.respond_deadline(config, now))
    }

    /// The deadline of a wait of this kind passed. `true`: close the connection now;
    /// `false`: it stays (closed to the client) until its handler returns.
    pub(crate) fn expire(&mut self, wait: Wait) -> bool {
        match (wait, &self.phase) {
            (Wait::Head, _) | (Wait::Body, Phase::Prefetch(_)) => {
                self.time_out();
                true
            }
            (Wait::Body, Phase::Handler(feed)) => {
                if let Some(feed) = feed {
                    feed.fail(
                        io::ErrorKind::TimedOut,
                        "the client did not send the request body in time",
                    );
                }
                self.dead = true;
                // The handler's response is dropped: the client is told why (a `100
                // Continue` it may have had is no answer).
                self.time_out();
                if let Some(stream) = &mut self.stream {
                    // Over TLS a `close_notify` first (RFC 9112 §9.8), if the socket takes
                    // it now.
                    stream.shutdown();
                }
                false
            }
            (Wait::Handler, _) => false,
            (Wait::Respond, _) => {
                // A client that does not take its response: reset, so that the kernel
                // does not go on trickling the queued response to it after the close.
                if let Some(stream) = &self.stream {
                    let _ = stream.transport().abort();
                }
                true
            }
            _ => true,
        }
    }

    /// A 408, as far as the socket takes it now, if nothing of the request was answered.
    fn time_out(&mut self) {
        let Some(stream) = &mut self.stream else {
            return;
        };
        let core = stream.conn();
        if core.buffered() > 0 || core.response_due() {
            let mut headers = HeaderMap::new();
            headers.insert(CONNECTION, HeaderValue::from_static("close"));
            let queued = stream.queue_response(
                StatusCode::REQUEST_TIMEOUT,
                None,
                &headers,
                BodyLength::Known(0),
            );
            if queued.is_ok() {
                let _ = stream.flush();
            }
        }
    }

    /// Starts a lingering close: shuts our side down (after a TLS close_notify).
    pub(crate) fn start_linger(&mut self) {
        if let Some(stream) = &mut self.stream {
            stream.shutdown_write();
        }
    }

    /// Reads and drops what the client sends while lingering. `false`: it closed (or
    /// failed): close now.
    pub(crate) fn linger_read(&mut self) -> bool {
        self.stream
            .as_mut()
            .is_some_and(ServerStream::discard_input)
    }

    /// The loop was woken for this connection (its socket, or its handler): what the
    /// socket holds is unknown again.
    pub(crate) fn woken(&mut self) {
        self.turn_pieces = 0;
        if let Some(stream) = &mut self.stream {
            stream.forget_drained();
        }
    }

    /// The poller says the client closed its side, or the connection failed (see
    /// [`ServerStream::input_may_have_ended`]).
    #[cold]
    pub(crate) fn input_may_have_ended(&mut self) {
        if let Some(stream) = &mut self.stream {
            stream.input_may_have_ended();
        }
    }

    /// Drives the connection until it waits for the client, needs its handler, or must
    /// close.
    pub(crate) fn drive(&mut self, config: &Config) -> Next {
        if self.transfer.waiting_since.is_some() {
            self.transfer.wake(Instant::now());
        }
        if let Some(handshake) = &mut self.handshake {
            match handshake.resume() {
                Ok(Progress::Ready(tls)) => {
                    if let Some(session) = &mut self.session {
                        session.tls = Some(tls.info());
                    }
                    self.stream = Some(ServerStream::over_tls(tls, config.limits));
                    self.handshake = None;
                }
                Ok(Progress::Pending(need)) => return Next::Wait(need.interest, Wait::Head),
                Err(e) => {
                    log::debug!("TLS handshake failed: {e}");
                    return Next::Close;
                }
            }
        }
        if !self.connected {
            self.connected = true;
            if config.on_connect.is_some() && self.session.is_some() {
                self.phase = Phase::Away;
                return Next::Admit;
            }
        }
        loop {
            let next = match &mut self.phase {
                Phase::Away => return self.away(),
                Phase::Head => self.read_head(config),
                Phase::Prefetch(_) => self.prefetch(),
                Phase::Handler(feed) => {
                    let feed = feed.clone();
                    return self.feed_handler(feed.as_deref());
                }
                Phase::Respond(_) => self.pump(),
                Phase::Answered => self.answered(),
                Phase::Drain(_) => self.drain(),
                Phase::Closing => self.finish(),
            };
            if let Some(next) = next {
                return next;
            }
        }
    }

    /// While user code runs off the loop: what is queued goes out as the client takes it.
    fn away(&mut self) -> Next {
        if let Some(stream) = self.stream.as_mut().filter(|s| s.queued() > 0) {
            let before = stream.queued();
            let flushed = stream.flush();
            self.transfer.bytes += (before - stream.queued()) as u64;
            if let Ok(Progress::Pending(need)) = flushed {
                return Next::Wait(need.interest, Wait::Handler);
            }
        }
        Next::Wait(Interest::READABLE, Wait::Handler)
    }

    /// The `on_connect` hook's verdict; `false`: close the connection now.
    pub(crate) fn admitted(&mut self, session: Box<Session>, accepted: bool) -> bool {
        self.session = Some(session);
        self.phase = Phase::Head;
        accepted
    }

    /// A response body's next piece, produced off the loop.
    pub(crate) fn produced(&mut self, pump: Box<Pump>) {
        self.phase = Phase::Respond(pump);
    }

    fn stream(&mut self) -> &mut ServerStream {
        self.stream
            .as_mut()
            .expect("a connection past its handshake has a stream")
    }

    /// `Some`: what the loop does; `None`: the phase changed, go on.
    fn read_head(&mut self, config: &Config) -> Option<Next> {
        let stream = self.stream.as_mut()?;
        let before = stream.queued();
        let read = ReadRequest::new().resume(stream);
        // Responses written meanwhile count for the response rate.
        self.transfer.bytes += before.saturating_sub(stream.queued()) as u64;
        match read {
            Ok(Progress::Ready(Some(head))) => self.start_request(head, config),
            Ok(Progress::Ready(None)) => {
                // The client closed between requests.
                let _ = stream.flush();
                Some(Next::Close)
            }
            Ok(Progress::Pending(need)) => {
                let wait = if stream.queued() > 0 {
                    // Responses the client has not taken yet: the response rate.
                    Wait::Respond
                } else if stream.conn().buffered() > 0 || stream.receiving_a_record() {
                    // A head has begun (under TLS, perhaps in a record not yet whole).
                    Wait::Head
                } else {
                    // Idle: no buffer is kept while the client thinks.
                    stream.release_buffers();
                    self.request_since = None;
                    Wait::Idle
                };
                Some(Next::Wait(need.interest, wait))
            }
            Err(Error::Proto(e)) if e.is_remote() => {
                log::debug!("bad request: {e}");
                if let Some(status) = e.status_hint() {
                    send_error(stream, status, e.message());
                }
                self.phase = Phase::Closing;
                None
            }
            Err(e) => {
                log::debug!("reading a request failed: {e}");
                Some(Next::Close)
            }
        }
    }

    fn start_request(&mut self, head: RequestHead, config: &Config) -> Option<Next> {
        let session = self
            .session
            .as_mut()
            .expect("a connection reading requests has its session");
        session.requests += 1;
        self.idle_since = None;
        self.last = config
            .max_requests
            .is_some_and(|max| session.requests >= max);
        self.after = After::default();
        let stream = self.stream();
        let framing = stream.conn().body_framing();
        if matches!(framing, Some(Framing::None | Framing::Length(0))) {
            // No body (a GET's), or an empty one: its end is already there.
            stream.core_mut().end_empty_body();
        }
        if framing.is_none() || stream.conn().body_framing().is_none() {
            self.request_since = None;
            self.phase.set(Phase::Handler(None));
            self.before_handler();
            return Some(Next::Handle(Call {
                head,
                framing: framing.unwrap_or(Framing::None),
                feed: None,
            }));
        }
        let framing = framing.unwrap_or(Framing::None);
        let waiting = stream.conn().client_waiting_for_continue();
        // The head came in one read: the request deadline runs from now.
        self.request_since.get_or_insert_with(Instant::now);
        let feed = Arc::new(Feed::new(Arc::clone(&self.notices), self.slot, waiting));
        self.transfer = Transfer::default();
        let call = Box::new(Call {
            head,
            framing,
            feed: Some(feed),
        });
        if waiting {
            // The client sends the body only after a 100, and the 100 goes out only if
            // the handler reads: it is called at once.
            self.phase = Phase::Handler(call.feed.clone());
            self.before_handler();
            return Some(Next::Handle(*call));
        }
        self.phase = Phase::Prefetch(call);
        None
    }

    /// Reads a body ahead of its handler.
    fn prefetch(&mut self) -> Option<Next> {
        let Phase::Prefetch(call) = &self.phase else {
            return None;
        };
        let feed = Arc::clone(call.feed.as_ref()?);
        match self.feed_body(&feed) {
            Ok(Fed::Waiting(interest)) => Some(Next::Wait(interest, Wait::Body)),
            Ok(Fed::Full | Fed::Complete) => {
                let Phase::Prefetch(call) = std::mem::replace(&mut self.phase, Phase::Head) else {
                    return None;
                };
                self.phase = Phase::Handler(call.feed.clone());
                self.before_handler();
                Some(Next::Handle(*call))
            }
            Err(e) => {
                let stream = self.stream();
                match e {
                    Error::Proto(e) if e.is_remote() => {
                        log::debug!("bad request body: {e}");
                        if let Some(status) = e.status_hint() {
                            send_error(stream, status, e.message());
                        }
                        self.phase = Phase::Closing;
                        None
                    }
                    e => {
                        log::debug!("reading a request body failed: {e}");
                        Some(Next::Close)
                    }
                }
            }
        }
    }

    /// While the handler works: reads the body for it as far as it has room.
    fn feed_handler(&mut self, feed: Option<&Feed>) -> Next {
        if self.dead {
            return Next::Wait(Interest::READABLE, Wait::Handler);
        }
        let Some(feed) = feed else {
            return Next::Wait(Interest::READABLE, Wait::Handler);
        };
        feed.clear_notice();
        match self.feed_body(feed) {
            Ok(Fed::Waiting(interest)) => Next::Wait(interest, Wait::Body),
            Ok(Fed::Full | Fed::Complete) => Next::Wait(Interest::READABLE, Wait::Handler),
            // The handler sees the error; its response is still sent if the socket takes
            // it, then the connection closes (the core is failed).
            Err(_) => Next::Wait(Interest::READABLE, Wait::Handler),
        }
    }

    /// Moves body bytes from the socket into `feed` while it has room.
    fn feed_body(&mut self, feed: &Feed) -> Result<Fed, Error> {
        let stream = self
            .stream
            .as_mut()
            .ok_or_else(|| Error::local("no stream"))?;
        loop {
            let room = feed.room();
            if room == 0 {
                return Ok(if feed.is_complete() {
                    Fed::Complete
                } else {
                    Fed::Full
                });
            }
            // Every piece there is, up to `room`, in one push: one lock and at most one
            // wake-up of the handler for them all. With a push a piece, a body of 1-byte
            // chunks woke the handler for nearly every byte: 1.7 µs of CPU a chunk.
            let mut stopped = None;
            let pushed = feed.push(|data| {
                let before = data.len();
                while let Some(left) = room.checked_sub(data.len() - before).filter(|&n| n > 0) {
                    match stream.pull_body(data, left) {
                        Ok(Progress::Ready(BodyPiece::Data(_))) => {}
                        other => {
                            stopped = Some(other);
                            break;
                        }
                    }
                }
                data.len() - before
            });
            self.transfer.bytes += pushed as u64;
            match stopped {
                // `room` filled: the next turn finds the feed full. (Data never stops the
                // pulling.)
                None | Some(Ok(Progress::Ready(BodyPiece::Data(_)))) => {}
                Some(Ok(Progress::Ready(BodyPiece::End(trailers)))) => {
                    feed.complete(trailers);
                    self.request_since = None;
                    return Ok(Fed::Complete);
                }
                Some(Ok(Progress::Pending(need))) => return Ok(Fed::Waiting(need.interest)),
                Some(Err(e)) => {
                    let kind = match &e {
                        Error::ConnectionClosed { .. } => io::ErrorKind::UnexpectedEof,
                        _ => io::ErrorKind::InvalidData,
                    };
                    feed.fail(kind, e.to_string());
                    return Err(e);
                }
            }
        }
    }

    /// Its handler blocked (the watchdog stood in for it): the responses queued by the time
    /// the next handler is called go out first. Pipelined responses wait to be written
    /// together while handlers return at once; behind one that blocks, a response already
    /// made would wait for that handler too (five pipelined 500 ms requests: the first
    /// answer after 2.5 s).
    pub(crate) fn handler_was_slow(&mut self) {
        self.flush_before_handler = true;
    }

    /// Before a handler is called: what is queued goes out if the last handler was slow.
    fn before_handler(&mut self) {
        if std::mem::take(&mut self.flush_before_handler) {
            if let Some(stream) = self.stream.as_mut().filter(|s| s.queued() > 0) {
                let before = stream.queued();
                // What the socket does not take now goes while the handler runs (`away`),
                // or after it.
                let _ = stream.flush();
                self.transfer.bytes += (before - stream.queued()) as u64;
            }
        }
    }

    /// The handler's response: queued (and its body produced as the client takes it).
    pub(crate) fn respond(&mut self, session: Box<Session>, mut response: Response) {
        let close_asked = session.close;
        self.session = Some(session);
        self.transfer = Transfer::default();
        self.write_due = None;
        self.taking = None;
        let Phase::Handler(feed) = std::mem::replace(&mut self.phase, Phase::Answered) else {
            return;
        };
        if let Some(feed) = &feed {
            feed.abandon();
        }
        if self.dead {
            drop_body_off_loop(response.body.kind);
            self.phase = Phase::Closing;
            return;
        }
        if let Some(stream) = self.stream.as_ref() {
            no_switch(stream, &mut response);
        }
        let last = self.last;
        let Some(stream) = self.stream.as_mut() else {
            return;
        };
        // A client still waiting for 100 was not asked for its body: it may never send
        // it. A body left unread that is known to be long is not worth reading: both end
        // the connection, and the response says so.
        drain_buffered(stream);
        let unread_body = stream.conn().body_framing();
        let drainable = match unread_body {
            Some(Framing::Length(n)) => n <= DRAIN_AT_MOST,
            _ => true,
        };
        let ending = stream.conn().client_waiting_for_continue() || !drainable;
        // A client that asked for the close (`close`, or HTTP/1.0 without keep-alive) gets
        // it after this response: what it still sends of an unread body is dropped by the
        // lingering close, not drained for a next request that will not come.
        let client_closes = !stream.conn().is_keep_alive();
        let close = close_asked || last || ending || client_closes;
        self.after = After {
            close,
            drain: unread_body.is_some(),
        };
        if close {
            stream.core_mut().close_after_response();
        }
        let queued = queue_response(stream, response);
        match queued {
            Ok(None) => {}
            Ok(Some(pump)) => {
                self.phase = Phase::Respond(pump);
            }
            Err(e) => {
                log::debug!("a response failed: {e}");
                self.after.close = true;
                self.dead = true;
            }
        }
    }

    /// Writes a streamed response body, and asks for its next piece when what was
    /// produced is queued and the client has taken most of it.
    fn pump(&mut self) -> Option<Next> {
        let Some(stream) = self.stream.as_mut() else {
            return Some(Next::Close);
        };
        let Phase::Respond(pump) = &mut self.phase else {
            return None;
        };
        loop {
            if stream.queued() < FLUSH_AT {
                match pump.emit(stream) {
                    Ok(Emitted::Piece) => {
                        self.turn_pieces += 1;
                        if self.turn_pieces < PIECES_PER_TURN {
                            continue;
                        }
                        // A client that takes the body as fast as it is written would
                        // hold the loop to the end: what is queued goes out, then the
                        // other ready connections get their turn.
                        return Some(
                            flush_body(stream, &mut self.transfer, pump).unwrap_or(Next::Yield),
                        );
                    }
                    Ok(Emitted::Done) => {
                        self.phase = Phase::Answered;
                        return None;
                    }
                    Ok(Emitted::Needs) => {
                        // What is queued goes out before the body's code works (it may
                        // block: a pipe, a stream of events). A client slower than its
                        // body is waited for, like at every other flush here: it gets no
                        // next piece while one is still queued for it.
                        if stream.queued() > 0 {
                            if let Some(next) = flush_body(stream, &mut self.transfer, pump) {
                                return Some(next);
                            }
                        }
                        let Phase::Respond(pump) = std::mem::replace(&mut self.phase, Phase::Away)
                        else {
                            return None;
                        };
                        return Some(Next::Produce(pump));
                    }
                    Err(e) => {
                        log::debug!("a response body failed: {e}");
                        let _ = stream.flush();
                        return Some(Next::Close);
                    }
                }
            }
            if let Some(next) = flush_body(stream, &mut self.transfer, pump) {
                return Some(next);
            }
        }
    }

    /// The response is queued: close, drop the rest of the body, or read the next request.
    fn answered(&mut self) -> Option<Next> {
        let stream = self.stream.as_mut()?;
        if self.dead || self.after.close || stream.must_close() {
            self.phase = Phase::Closing;
        } else if self.after.drain {
            self.transfer = Transfer::default();
            self.phase = Phase::Drain(0);
        } else {
            self.phase.set(Phase::Head);
            if stream.queued() >= FLUSH_AT {
                if let Ok(Progress::Pending(need)) = stream.flush() {
                    self.transfer = Transfer::default();
                    return Some(Next::Wait(need.interest, Wait::Respond));
                }
            }
        }
        None
    }

    /// Reads and drops the rest of a short request body after its response.
    fn drain(&mut self) -> Option<Next> {
        let stream = self.stream.as_mut()?;
        let Phase::Drain(dropped) = &mut self.phase else {
            return None;
        };
        let mut scratch = Vec::new();
        loop {
            scratch.clear();
            match stream.pull_body(&mut scratch, PIECE) {
                Ok(Progress::Ready(BodyPiece::Data(n))) => {
                    *dropped += n as u64;
                    self.transfer.bytes += n as u64;
                    if *dropped > DRAIN_AT_MOST {
                        self.phase = Phase::Closing;
                        return None;
                    }
                }
                Ok(Progress::Ready(BodyPiece::End(_))) => {
                    self.request_since = None;
                    self.phase = if stream.must_close() {
                        Phase::Closing
                    } else {
                        Phase::Head
                    };
                    return None;
                }
                Ok(Progress::Pending(need)) => return Some(Next::Wait(need.interest, Wait::Body)),
                Err(_) => {
                    self.phase = Phase::Closing;
                    return None;
                }
            }
        }
    }

    /// The end of the connection: everything written, then a lingering close.
    fn finish(&mut self) -> Option<Next> {
        self.phase = Phase::Closing;
        let Some(stream) = self.stream.as_mut() else {
            return Some(Next::Close);
        };
        match stream.flush() {
            Ok(Progress::Ready(())) => Some(Next::Linger),
            Ok(Progress::Pending(need)) => Some(Next::Wait(need.interest, Wait::Respond)),
            Err(_) => Some(Next::Close),
        }
    }
}

/// What [`Conn::feed_body`] got to.
enum Fed {
    /// The socket has nothing now.
    Waiting(Interest),
    /// The feed has all the room it may use.
    Full,
    /// The body is all there.
    Complete,
}

/// Before the response: drops what is already received of a request body the handler
/// did not read (up to the drain limit), without waiting for more.
fn drain_buffered(stream: &mut ServerStream) {
    let mut dropped = 0u64;
    while dropped <= DRAIN_AT_MOST && stream.conn().body_framing().is_some() {
        match stream.core_mut().next_event_max(usize::MAX) {
            Ok(crate::proto::Event::Data(d)) => dropped += d.len() as u64,
            _ => return,
        }
    }
}

fn send_error(stream: &mut ServerStream, status: StatusCode, message: &str) {
    let mut headers = HeaderMap::new();
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    let body = if status == StatusCode::HTTP_VERSION_NOT_SUPPORTED {
        // RFC 9110 §15.6.6: say why, and what this server speaks instead.
        format!("{message}; this server speaks HTTP/1.1 and HTTP/1.0\n")
    } else {
        format!("{message}\n")
    };
    match stream.queue_response(status, None, &headers, BodyLength::Known(body.len() as u64)) {
        // The answer to a HEAD request announces the message and sends none of it.
        Ok(Framing::None) => {}
        Ok(_) => {
            let _ = stream.queue_data(body.as_bytes());
            let _ = stream.queue_end(None);
        }
        Err(_) => {}
    }
}

/// The server relays no tunnel and switches to no other protocol: a handler's 2xx to a
/// CONNECT, or its 101, becomes a 500 that says so (the connection goes on, as after any
/// refused CONNECT or Upgrade), rather than a response the client would take as a switch.
/// (In place: a `Response` is large, and moving it costs copies.)
fn no_switch(stream: &ServerStream, response: &mut Response) {
    let switch = (stream.conn().answering_connect() && response.status.is_success())
        || response.status == StatusCode::SWITCHING_PROTOCOLS;
    if !switch {
        return;
    }
    log::warn!(
        "a handler answered {} to a protocol switch; this server relays no tunnel and \
         speaks only HTTP/1: answering 500",
        response.status
    );
    let refused = std::mem::replace(
        response,
        Response::text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "this server does not switch protocols or relay tunnels",
        ),
    );
    drop_body_off_loop(refused.body.kind);
}

/// Writes what is queued of a response body, counted for the response rate. `None`: all
/// of it went out; else what the loop does next: wait for a client slower than its body
/// (whose pump keeps no read buffer meanwhile), or close.
fn flush_body(stream: &mut ServerStream, transfer: &mut Transfer, pump: &mut Pump) -> Option<Next> {
    let before = stream.queued();
    let flushed = stream.flush();
    transfer.bytes += (before - stream.queued()) as u64;
    match flushed {
        Ok(Progress::Ready(())) => None,
        Ok(Progress::Pending(need)) => {
            pump.client_is_slow();
            Some(Next::Wait(need.interest, Wait::Respond))
        }
        Err(_) => Some(Next::Close),
    }
}

/// Queues a handler's response: all of it, or its head and a [`Pump`] for the body.
fn queue_response(
    stream: &mut ServerStream,
    response: Response,
) -> Result<Option<Box<Pump>>, Error> {
    let Response {
        status,
        reason,
        headers,
        body,
    } = response;
    let no_body = status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
    // These carry no body, whatever the handler gave.
    let kind = if no_body {
        drop_body_off_loop(body.kind);
        Kind::Empty
    } else {
        body.kind
    };
    if let Kind::Bytes(bytes) = &kind {
        if bytes.len() <= INLINE_BODY {
            // The usual body, in memory and short: queued with its head in one step.
            let queued = stream.queue_response_whole(status, reason.as_deref(), &headers, bytes);
            super::response::recycle_map(headers);
            return queued.map(|_| None);
        }
    }
    let length = match &kind {
        Kind::Empty if no_body => BodyLength::None,
        Kind::Empty => BodyLength::Known(0),
        Kind::Bytes(b) => BodyLength::Known(b.len() as u64),
        Kind::Following(n) | Kind::Reader(_, n) => BodyLength::Known(*n),
        Kind::ChunkedReader(_) | Kind::Chunks(_) => BodyLength::Unknown,
    };
    let framing = stream.queue_response(status, reason.as_deref(), &headers, length);
    super::response::recycle_map(headers);
    let framing = match framing {
        Ok(framing) => framing,
        Err(e) => {
            drop_body_off_loop(kind);
            return Err(e);
        }
    };
    if framing == Framing::None {
        // HEAD, 204, 304, or an empty body: the response is complete.
        drop_body_off_loop(kind);
        return Ok(None);
    }
    // An HTTP/1.0 client gets a chunked body as plain data up to the close: extensions
    // and trailers have nowhere to go.
    let plain = framing == Framing::UntilClose;
    let source = match kind {
        Kind::Empty | Kind::Following(_) => {
            stream.queue_end(None)?;
            return Ok(None);
        }
        // Longer than INLINE_BODY (a shorter one was queued with the head above): not
        // copied into the output at once, written a piece at a time, in turns.
        Kind::Bytes(bytes) => Source::Bytes(bytes, 0),
        Kind::Reader(reader, n) => Source::Reader(reader, n),
        Kind::ChunkedReader(reader) => Source::ChunkedReader(reader),
        Kind::Chunks(chunks) => Source::Chunks(chunks),
    };
    Ok(Some(Box::new(Pump {
        source,
        trailers: if plain {
            None
        } else {
            body.trailers.map(|t| *t)
        },
        plain,
        piece: Vec::new(),
        produced: Produced::Nothing,
    })))
}

impl Pump {
    /// Runs the body's code for its next piece: one read of at most 64 KiB, or one
    /// chunk. It may block, so the loop calls it with its lock released; a panic in the
    /// body's code fails the body.
    pub(crate) fn produce(&mut self) {
        if !matches!(self.produced, Produced::Nothing) {
            return;
        }
        let produced = catch_unwind(AssertUnwindSafe(|| self.read_source()));
        self.produced = produced.unwrap_or_else(|_| {
            Produced::Failed(io::Error::other("the response body's code panicked"))
        });
        let finished = match (&self.source, &self.produced) {
            (Source::Spent(_), _) => false,
            (_, Produced::End | Produced::Failed(_)) => true,
            (Source::Reader(_, left), Produced::Data(n)) => *n as u64 >= *left,
            _ => false,
        };
        if finished {
            // Dropping the body's code is running it too (its `Drop` may block): here,
            // off the loop, like its reads, before its last piece is queued.
            let left = match &self.source {
                Source::Reader(_, left) => *left,
                _ => 0,
            };
            let spent = std::mem::replace(&mut self.source, Source::Spent(left));
            super::reaper::drop_catching(spent);
        }
    }

    fn read_source(&mut self) -> Produced {
        let result = match &mut self.source {
            Source::Reader(reader, left) => {
                let want = PIECE.min(usize::try_from(*left).unwrap_or(PIECE));
                match read_piece(reader.as_mut(), &mut self.piece, want) {
                    Ok(0) => Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the response body reader ended {left} bytes short"),
                    )),
                    other => other.map(Produced::Data),
                }
            }
            Source::ChunkedReader(reader) => read_piece(reader.as_mut(), &mut self.piece, PIECE)
                .map(|got| match got {
                    0 => Produced::End,
                    n => Produced::Data(n),
                }),
            Source::Chunks(chunks) => match chunks.next() {
                None => Ok(Produced::End),
                Some(chunk) => chunk.map(Produced::Chunk),
            },
            // Queued by `emit` without being produced.
            Source::Bytes(..) | Source::Spent(_) => Ok(Produced::End),
        };
        result.unwrap_or_else(Produced::Failed)
    }

    /// The client could not take what was queued: the buffer a reader's pieces are read
    /// into is freed (allocated again by the next [`produce`](Self::produce)), as it
    /// would be idle until the client has taken the piece queued.
    fn client_is_slow(&mut self) {
        self.piece = Vec::new();
    }

    /// Queues what [`produce`](Self::produce) got (on the loop: no user code runs here).
    fn emit(&mut self, stream: &mut ServerStream) -> io::Result<Emitted> {
        if let Source::Bytes(bytes, queued) = &mut self.source {
            // Up to a piece queued in all: a slow client holds no more of it than that.
            let room = PIECE.saturating_sub(stream.queued()).max(1);
            let piece = &bytes[*queued..bytes.len().min(*queued + room)];
            if piece.is_empty() {
                stream.queue_end(None).map_err(io::Error::from)?;
                return Ok(Emitted::Done);
            }
            stream.queue_data(piece).map_err(io::Error::from)?;
            *queued += piece.len();
            return Ok(Emitted::Piece);
        }
        if let (Source::Reader(_, 0) | Source::Spent(0), Produced::Nothing) =
            (&self.source, &self.produced)
        {
            self.produced = Produced::End;
        }
        match std::mem::replace(&mut self.produced, Produced::Nothing) {
            Produced::Nothing => Ok(Emitted::Needs),
            Produced::Data(n) => {
                stream
                    .queue_data(&self.piece[..n])
                    .map_err(io::Error::from)?;
                if let Source::Reader(_, left) | Source::Spent(left) = &mut self.source {
                    *left -= n as u64;
                }
                Ok(Emitted::Piece)
            }
            Produced::Chunk(chunk) => {
                let extensions: Vec<ChunkExtension<'_>> = if self.plain {
                    Vec::new()
                } else {
                    chunk
                        .extensions
                        .iter()
                        .map(|(n, v)| (n.as_str(), v.as_deref()))
                        .collect()
                };
                stream
                    .queue_chunk(&chunk.data, &extensions)
                    .map_err(io::Error::from)?;
                Ok(Emitted::Piece)
            }
            Produced::End => {
                stream
                    .queue_end(self.trailers.as_ref())
                    .map_err(io::Error::from)?;
                Ok(Emitted::Done)
            }
            Produced::Failed(e) => Err(e),
        }
    }
}

/// A streamed body's code goes to the reaper, unread (see `Pump`'s `Drop`), and so does a
/// large body in memory; other bodies are freed here.
fn drop_body_off_loop(kind: Kind<'static>) {
    let off_loop = match &kind {
        Kind::Reader(..) | Kind::ChunkedReader(_) | Kind::Chunks(_) => true,
        Kind::Bytes(Cow::Owned(bytes)) => bytes.capacity() >= FREE_OFF_LOOP,
        Kind::Bytes(Cow::Borrowed(_)) => false,
        Kind::Empty | Kind::Following(_) => false,
    };
    if off_loop {
        super::reaper::drop_off_loop(kind);
    }
}

/// An owned body of this many bytes or more is freed on the reaper's thread: giving its
/// pages back to the kernel takes time in proportion, and the loop would answer no one
/// meanwhile (a 500 MB body, 155 to 238 ms on a busy machine; a fresh `GET /` waited
/// behind it).
const FREE_OFF_LOOP: usize = 1 << 20;

impl Drop for Pump {
    /// A pump is dropped on the loop. Its body's code, if not spent yet (its client went
    /// away first), goes to the reaper: its `Drop` may block. So does a large body in
    /// memory: freeing it takes time.
    fn drop(&mut self) {
        let source = std::mem::replace(&mut self.source, Source::Spent(0));
        // The body's code (its `Drop` may block) goes to the reaper, and so does a large
        // body in memory (freeing it takes time); the rest is freed here.
        let off_loop = match &source {
            Source::Spent(_) => false,
            Source::Bytes(Cow::Owned(bytes), _) => bytes.capacity() >= FREE_OFF_LOOP,
            Source::Bytes(Cow::Borrowed(_), _) => false,
            Source::Reader(..) | Source::ChunkedReader(_) | Source::Chunks(_) => true,
        };
        if off_loop {
            super::reaper::drop_off_loop(source);
        }
    }
}

/// Reads up to `want` bytes into `piece` (allocated on first use).
fn read_piece(reader: &mut dyn Read, piece: &mut Vec<u8>, want: usize) -> io::Result<usize> {
    if piece.len() < want {
        piece.resize(want, 0);
    }
    loop {
        match reader.read(&mut piece[..want]) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wait that began with 79 KB queued, at the default 240 B/s after a 5 s grace,
    /// with the body timeout's 30 s as the credit.
    fn wait(began: Instant) -> (WriteDue, MinDataRate, Duration) {
        let rate = MinDataRate::new(240, Duration::from_secs(5));
        let pending = 79_000;
        let due = WriteDue {
            deadline: began + rate.allowance(pending),
            until: 1_000 + pending,
            began,
            taken_then: 1_000,
        };
        (due, rate, Duration::from_secs(30))
    }

    #[test]
    fn a_trickle_below_the_rate_ends_the_wait_soon_after_the_credit() {
        let began = Instant::now();
        let (due, rate, credit) = wait(began);
        // Kestrel's rule alone: 79 KB at 240 B/s, 329 s.
        assert_eq!(
            due.deadline - began,
            Duration::from_secs_f64(79_000.0 / 240.0)
        );
        // 100 B/s: after t seconds it has taken 100 t, which buys 100 t / 240 s; the
        // wait ends when 30 + 100 t / 240 = t, at about 51 s.
        let at = |t: f64| due.ends(1_000 + (100.0 * t) as u64, rate, credit) - began;
        assert!(at(40.0) > Duration::from_secs(40), "{:?}", at(40.0));
        let t = 30.0 / (1.0 - 100.0 / 240.0);
        assert!(
            at(t + 1.0) < Duration::from_secs_f64(t + 1.0),
            "{:?}",
            at(t + 1.0)
        );
        assert!(
            at(t + 1.0) > Duration::from_secs_f64(t - 1.0),
            "{:?}",
            at(t + 1.0)
        );
        // Nothing taken: the credit, the body timeout.
        assert_eq!(due.ends(1_000, rate, credit) - began, credit);
    }

    #[test]
    fn a_client_at_the_rate_or_above_keeps_to_the_per_write_deadline() {
        let began = Instant::now();
        let (due, rate, credit) = wait(began);
        for bytes_per_second in [240.0, 1_000.0, 20_000.0] {
            // Whenever it is looked at, it has earned more time than has passed.
            for t in [1.0, 10.0, 60.0, 300.0] {
                let taken = 1_000 + (bytes_per_second * t) as u64;
                let ends = due.ends(taken, rate, credit) - began;
                assert!(
                    ends > Duration::from_secs_f64(t),
                    "{bytes_per_second} B/s at {t} s"
                );
                assert!(ends <= due.deadline - began);
            }
        }
        // A rate of 0: no minimum but the deadline given.
        let none = MinDataRate::new(0, Duration::from_secs(5));
        assert_eq!(due.ends(1_000, none, credit), due.deadline);
    }
}
