//! The idle connections a [`Client`](super::Client) keeps for reuse, shared by its clones
//! and their threads.
//!
//! A [`Connection`](super::Connection) made by a client holds its stream in a [`Lent`]:
//! dropped while it can carry another request, the stream goes back to the pool; anything
//! else closes it. [`Pool::take`] hands out the most recently returned stream that is
//! still fit (not idle too long, nothing to read on it), closing the others it meets.

use std::collections::VecDeque;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::op::ClientStream;
use crate::proto::Headers;
use crate::{Interest, PollNeeded, Progress};

/// How many idle connections a [`Client`](super::Client) keeps by default: 10, as ureq
/// does. A client talks to one server, so this is enough for as many threads making
/// requests at once; an idle connection costs a socket and no buffer.
pub const DEFAULT_MAX_IDLE: usize = 10;

/// How long a [`Client`](super::Client) keeps an idle connection by default: 4 seconds,
/// just under the shortest keep-alive timeout common servers use by default (5 s for
/// Apache's `KeepAliveTimeout` and Node.js; nginx waits 75 s, ureq keeps connections 15 s).
/// A client that gives up on a connection before the server does seldom sends a request
/// on one the server is closing; the check when a connection is taken from the pool and
/// the one retry of an idempotent request cover the rest.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(4);

/// Idle connections, the most recently returned last.
pub(crate) struct Pool {
    max_idle: usize,
    idle_timeout: Duration,
    idle: Mutex<VecDeque<Idle>>,
}

struct Idle {
    stream: ClientStream,
    since: Instant,
}

impl Pool {
    pub(crate) fn new(max_idle: usize, idle_timeout: Duration) -> Self {
        Self {
            max_idle,
            idle_timeout,
            idle: Mutex::new(VecDeque::new()),
        }
    }

    /// An empty pool with the same settings.
    pub(crate) fn empty_like(&self) -> Self {
        Self::new(self.max_idle, self.idle_timeout)
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<Idle>> {
        // The queue is consistent between any two statements: a panic elsewhere while
        // it was locked leaves nothing half done.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the expired connections out of the queue (the oldest are at the front), to
    /// be closed once the lock is released.
    fn expired(&self, idle: &mut VecDeque<Idle>) -> Vec<Idle> {
        let mut expired = Vec::new();
        while idle
            .front()
            .is_some_and(|c| c.since.elapsed() >= self.idle_timeout)
        {
            expired.extend(idle.pop_front());
        }
        expired
    }

    /// The most recently returned idle connection that is still fit, if there is one.
    /// Those found unfit on the way are closed.
    pub(crate) fn take(&self) -> Option<ClientStream> {
        loop {
            let mut idle = self.lock();
            let expired = self.expired(&mut idle);
            let candidate = idle.pop_back();
            drop(idle);
            drop(expired);
            let Idle { mut stream, since } = candidate?;
            // Checked again: the connection may have expired since it was popped.
            if since.elapsed() < self.idle_timeout && still_fit(&mut stream) {
                // The last exchange's trailers are not the new user's.
                stream.set_trailers(Headers::default());
                return Some(stream);
            }
            log::debug!("client pool: an idle connection was closed or sent data; dropped");
        }
    }

    /// Keeps `stream` for reuse if it can carry another request; closes it otherwise. A
    /// full pool closes its oldest connection to make room.
    pub(crate) fn put(&self, stream: ClientStream) {
        if self.max_idle == 0 || !can_idle(&stream) {
            return;
        }
        let mut idle = self.lock();
        let mut closing = self.expired(&mut idle);
        while idle.len() >= self.max_idle {
            closing.extend(idle.pop_front());
        }
        idle.push_back(Idle {
            stream,
            since: Instant::now(),
        });
        drop(idle);
        drop(closing);
    }

    /// How many connections are idle (the expired ones are closed first).
    pub(crate) fn idle_count(&self) -> usize {
        let mut idle = self.lock();
        let expired = self.expired(&mut idle);
        let count = idle.len();
        drop(idle);
        drop(expired);
        count
    }

    /// Closes every idle connection.
    pub(crate) fn clear(&self) {
        let all = std::mem::take(&mut *self.lock());
        drop(all);
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("max_idle", &self.max_idle)
            .field("idle_timeout", &self.idle_timeout)
            .field("idle", &self.idle.try_lock().map(|idle| idle.len()).ok())
            .finish()
    }
}

/// Whether a stream can wait in the pool: nothing failed, nothing asked to close (a
/// `Connection: close` either way, an HTTP/1.0 response, a switch of protocols), no
/// request unanswered or half sent, no response body unread, no byte left over.
fn can_idle(stream: &ClientStream) -> bool {
    stream.is_reusable()
        && stream.responses_pending() == 0
        && !stream.sending_body()
        && !stream.reading_body()
        && stream.unflushed() == 0
        && stream.conn().buffered() == 0
}

/// Whether an idle stream can carry a request now: the socket has nothing to read (a
/// readable idle socket is an end of input, a reset, or bytes nobody asked for). Under
/// TLS a readable socket may hold a record without data (a session ticket, a key update):
/// one read that finds no data tells.
fn still_fit(stream: &mut ClientStream) -> bool {
    let need = PollNeeded {
        fd: stream.as_raw_fd(),
        interest: Interest::READABLE,
    };
    match need.wait(Some(Duration::ZERO)) {
        Ok(false) => true,
        Ok(true) => {
            let before = stream.bytes_received();
            matches!(stream.fill(), Ok(Progress::Pending(_))) && stream.bytes_received() == before
        }
        Err(_) => false,
    }
}

/// A stream lent by a pool (or by nobody): back to the pool when dropped, if it can carry
/// another request.
pub(crate) struct Lent {
    /// Always present, until [`into_inner`](Self::into_inner) takes it.
    stream: Option<ClientStream>,
    pool: Option<Arc<Pool>>,
}

impl Lent {
    pub(crate) fn new(stream: ClientStream, pool: Option<Arc<Pool>>) -> Self {
        Self {
            stream: Some(stream),
            pool,
        }
    }

    /// The stream will be closed when dropped, not returned.
    pub(crate) fn detach(&mut self) {
        self.pool = None;
    }

    /// The stream, no longer the pool's.
    pub(crate) fn into_inner(mut self) -> ClientStream {
        self.pool = None;
        self.stream.take().expect("a lent stream")
    }
}

impl Deref for Lent {
    type Target = ClientStream;

    fn deref(&self) -> &ClientStream {
        self.stream.as_ref().expect("a lent stream")
    }
}

impl DerefMut for Lent {
    fn deref_mut(&mut self) -> &mut ClientStream {
        self.stream.as_mut().expect("a lent stream")
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        if let (Some(stream), Some(pool)) = (self.stream.take(), self.pool.take()) {
            pool.put(stream);
        }
    }
}

impl fmt::Debug for Lent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.stream {
            Some(stream) => stream.fmt(f),
            None => f.write_str("(taken)"),
        }
    }
}
