//! The engine under [`Pipeline`](super::Pipeline) and [`Fetcher`](super::Fetcher): one
//! origin's queue, its connections, what it learnt of the server, and the retries.

use std::collections::{HashMap, VecDeque};
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::{CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderValue};

use super::config::Config;
use super::conn::{Allowance, Conn, Ended, Entry, Signals};
use super::error::FetchError;
use super::origin::Origin;
use super::policy::{verdict, ConnectionEnd, Ending, Habits, Verdict, Window};
use super::request::{Completed, Request, Response};
use super::watch::Watches;
use crate::error::Error;
use crate::io::Address;
use crate::tls::ClientTls;

/// How long an origin waits before trying again to open a connection that failed for want
/// of a descriptor, if none of ours closes first.
const NO_DESCRIPTOR_WAIT: Duration = Duration::from_millis(50);

/// What the engines of one loop share: the configuration, the descriptors, the finished
/// requests, the counts, and the connections open over all origins.
#[derive(Debug)]
pub(crate) struct Shared<T> {
    pub(crate) config: Config,
    pub(crate) watches: Watches,
    pub(crate) done: VecDeque<Completed<T>>,
    pub(crate) stats: Stats,
    /// Connections open (or opening) over all origins...
    pub(crate) open: usize,
    /// ...and the most there may be (`Config::max_connections`, lowered on EMFILE)...
    pub(crate) max_open: usize,
    /// ...and, below that, as many as servers have shown they take (see [`Window`]).
    pub(crate) window: Window,
    /// Descriptors connects racing several addresses hold beyond one each: they count
    /// against `max_open` too, while the race lasts.
    pub(crate) racing_descriptors: usize,
    /// Origins (their keys) that need a connection and wait for one to close, in turn.
    pub(crate) waiting_for_room: VecDeque<usize>,
    /// Connections open (or opening) by the server address each tried first...
    pub(crate) per_address: HashMap<Address, usize>,
    /// ...and the origins waiting, in turn, for one to an address to close.
    pub(crate) waiting_for_address: HashMap<Address, VecDeque<usize>>,
}

impl<T> Shared<T> {
    pub(crate) fn new(config: Config) -> Self {
        let max_open = config
            .max_connections
            .unwrap_or_else(crate::io::descriptors::connections_within_current_limit)
            .max(1);
        let window = Window::new(max_open, config.connections);
        Self {
            config,
            watches: Watches::default(),
            done: VecDeque::new(),
            stats: Stats::default(),
            open: 0,
            window,
            max_open,
            racing_descriptors: 0,
            waiting_for_room: VecDeque::new(),
            per_address: HashMap::new(),
            waiting_for_address: HashMap::new(),
        }
    }

    /// Whether another connection may open to `address` now.
    fn address_has_room(&self, address: &Address) -> bool {
        self.per_address.get(address).copied().unwrap_or(0) < self.config.per_address_cap()
    }

    /// A connection to `address` opens (counts).
    fn address_opened(&mut self, address: Address) {
        *self.per_address.entry(address).or_default() += 1;
    }

    /// A connection to `address` ended (an origin waiting for it may open one).
    fn address_closed(&mut self, address: &Address) {
        if let Some(n) = self.per_address.get_mut(address) {
            *n -= 1;
            if *n == 0 {
                self.per_address.remove(address);
            }
        }
    }

    /// Descriptors our connections take now: those open or opening (with the extra ones
    /// of racing connects), and those ended but not closed yet (see `Watches::held`).
    pub(crate) fn descriptors(&self) -> usize {
        self.open + self.racing_descriptors + self.watches.held()
    }

    /// How many more connections may open now.
    pub(crate) fn room(&self) -> usize {
        self.max_open
            .min(self.window.size())
            .saturating_sub(self.descriptors())
    }
}

/// Counts, for a progress line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Requests submitted.
    pub submitted: u64,
    /// Requests finished with a response.
    pub responses: u64,
    /// Requests finished with an error.
    pub errors: u64,
    /// Requests sent again after a connection ended without their response.
    pub retries: u64,
    /// Connections opened (not counting those that failed to open).
    pub connections: u64,
    /// Connections that failed to open.
    pub connect_failures: u64,
}

/// Where a name's addresses stand.
#[derive(Debug)]
pub(crate) enum Addresses {
    /// Not asked yet.
    Unknown,
    /// Being resolved.
    Resolving,
    Known(Vec<Address>),
    Failed(Error),
}

/// One origin's requests and connections.
#[derive(Debug)]
pub(crate) struct OriginPipeline<T> {
    pub(crate) origin: Origin,
    /// The key the descriptors are owned under.
    key: usize,
    pub(crate) addresses: Addresses,
    /// `host` alone: the headers of requests that have none of their own.
    host_only: HeaderMap,
    host: HeaderValue,
    tls: Option<ClientTls>,
    queue: VecDeque<Entry<T>>,
    conns: Vec<Conn<T>>,
    habits: Habits,
    /// The address a connection last opened to: the next connections try it first.
    preferred: Option<Address>,
    /// Since when lookups of the name have failed for want of a descriptor.
    no_descriptor_since: Option<Instant>,
    /// The addresses a failed connect had not reached (its timeout came first): the next
    /// connect tries them first, so that every address gets its turn.
    untried: Vec<Address>,
    /// No connection before this (backing off after failures).
    not_before: Option<Instant>,
    /// New requests: every connection should look at the queue.
    dirty: bool,
    /// Waiting in the owner's list of pipelines to drive.
    pub(crate) scheduled: bool,
    /// The earliest deadline the owner holds a timer for.
    pub(crate) timer: Option<Instant>,
    /// Waiting in `Shared::waiting_for_room` for a connection to close elsewhere.
    pub(crate) waiting_for_room: bool,
    /// Waiting in `Shared::waiting_for_address` for a connection to this server address
    /// to close.
    pub(crate) waiting_for_address: bool,
    /// A connection failed with requests to send again, and no connection established
    /// since has answered: new connections start with one request (RFC 9112 §9.3.2).
    after_failure: bool,
}

impl<T> OriginPipeline<T> {
    pub(crate) fn new(origin: Origin, key: usize, tls: Option<ClientTls>) -> Self {
        let host = HeaderValue::try_from(origin.host_header())
            .unwrap_or_else(|_| HeaderValue::from_static(""));
        let mut host_only = HeaderMap::new();
        host_only.insert(HOST, host.clone());
        Self {
            origin,
            key,
            addresses: Addresses::Unknown,
            host_only,
            host,
            tls,
            queue: VecDeque::new(),
            conns: Vec::new(),
            habits: Habits::new(),
            preferred: None,
            untried: Vec::new(),
            no_descriptor_since: None,
            not_before: None,
            dirty: false,
            scheduled: false,
            timer: None,
            waiting_for_room: false,
            waiting_for_address: false,
            after_failure: false,
        }
    }

    /// Queues a request (or fails it at once when HTTP cannot carry it).
    pub(crate) fn submit(&mut self, mut request: Request, tag: T, shared: &mut Shared<T>) {
        shared.stats.submitted += 1;
        let entry = |request| Entry {
            tag,
            request,
            tries: 0,
            charged_waiting: 0,
            charged_for: None,
            errors: Vec::new(),
            alone: false,
        };
        if let Err(e) = check(&request) {
            return self.finish(entry(request), Err(FetchError::Invalid(e)), shared);
        }
        // A request without fields of its own is written with `host_only` (see `Allowance`).
        if !request.headers.is_empty() {
            request.set_host(&self.host);
        }
        self.queue.push_back(entry(request));
        self.dirty = true;
    }

    /// Whether the name must be looked up before anything can be sent.
    pub(crate) fn needs_addresses(&self) -> bool {
        matches!(self.addresses, Addresses::Unknown) && !self.queue.is_empty()
    }

    /// Marks the connection on `fd` for driving; false if none has it.
    pub(crate) fn mark_ready(&mut self, fd: RawFd) -> bool {
        match self.conns.iter_mut().find(|c| c.fd == Some(fd)) {
            Some(conn) => {
                conn.ready = true;
                true
            }
            None => false,
        }
    }

    /// Each connection's descriptor and what it waits for.
    pub(crate) fn wants(&self) -> impl Iterator<Item = crate::PollNeeded> + '_ {
        self.conns.iter().filter_map(|c| {
            c.fd.map(|fd| crate::PollNeeded {
                fd,
                interest: c.interest,
            })
        })
    }

    /// The next time something must happen without an event: a connect or response
    /// overdue, or the end of a back-off.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let conns = self.conns.iter().filter_map(Conn::deadline).min();
        let backoff = self.not_before.filter(|_| !self.queue.is_empty());
        match (conns, backoff) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Drives every connection with an event, new work or a deadline passed, then opens
    /// connections the queue needs.
    pub(crate) fn drive(&mut self, shared: &mut Shared<T>, now: Instant) {
        if let Addresses::Failed(e) = &self.addresses {
            let e = e.clone();
            while let Some(mut entry) = self.queue.pop_front() {
                // The lookup was its one try.
                entry.tries = entry.tries.max(1);
                self.finish(entry, Err(FetchError::Resolve(e.clone())), shared);
            }
            return;
        }
        let dirty = std::mem::take(&mut self.dirty);
        let mut i = 0;
        while i < self.conns.len() {
            let conn = &mut self.conns[i];
            let due = conn.deadline().is_some_and(|d| now >= d);
            if conn.ready || due || dirty {
                conn.ready = false;
                if !self.drive_conn(i, shared, now) {
                    continue;
                }
            }
            i += 1;
        }
        self.open_more(shared, now);
        if self.not_before.is_some_and(|t| t <= now) {
            // Over: no longer a deadline to wake for (it would be one in the past, and the
            // caller's loop would spin until a connection opened).
            self.not_before = None;
        }
    }

    /// Drives connection `i`; false when it ended (and is gone).
    fn drive_conn(&mut self, i: usize, shared: &mut Shared<T>, now: Instant) -> bool {
        let conn = &mut self.conns[i];
        if conn.is_connecting() {
            let before = conn.fd;
            match conn.drive_connect(now) {
                Ok(connected) => {
                    let extra = conn.extra_descriptors();
                    shared.racing_descriptors =
                        shared.racing_descriptors - conn.counted_extra + extra;
                    conn.counted_extra = extra;
                    if conn.fd != before {
                        if let Some(fd) = before {
                            shared.watches.remove(fd, None);
                        }
                        if let Some(fd) = conn.fd {
                            shared.watches.add(fd, self.key);
                        }
                    }
                    if !connected {
                        return true;
                    }
                    shared.stats.connections += 1;
                    self.not_before = None;
                    self.untried.clear();
                    if let Some(address) = conn.peer_address() {
                        self.preferred = Some(address);
                    }
                }
                Err(e) => {
                    let conn = self.take_conn(i, shared);
                    if let Some(fd) = conn.fd {
                        shared.watches.remove(fd, None);
                    }
                    self.untried = conn.untried_addresses();
                    self.connect_failed(e, shared, now);
                    return false;
                }
            }
        }
        let depth = self.habits.depth(shared.config.depth);
        let allow = Allowance {
            depth,
            batch: shared.config.batch(depth),
            request_timeout: shared.config.request_timeout,
            host_only: &self.host_only,
        };
        let mut signals = Signals::default();
        let conn = &mut self.conns[i];
        let answered_before = conn.answered;
        let (queue, done, stats) = (&mut self.queue, &mut shared.done, &mut shared.stats);
        let result = conn.drive(queue, allow, now, &mut signals, &mut |entry, result| {
            finish_into(done, stats, entry, result);
        });
        let answered = match &result {
            Ok(()) => self.conns[i].answered,
            Err(ended) => ended.answered,
        };
        if answered > answered_before {
            if answered_before == 0 {
                shared.window.answered();
            }
            self.habits.responded();
            if self.conns.get(i).is_some_and(|c| c.starts_alone) {
                // A connection opened after the failure answered: the server works again.
                self.after_failure = false;
            }
        }
        if let Some((answered, max, total)) = signals.keep_alive_max {
            // The connection capped itself as it read the header; the next ones learn it.
            self.habits.announced_max(answered, max, total);
            self.share_cap();
        }
        match result {
            Ok(()) => {
                let conn = &self.conns[i];
                let idle = conn.in_flight() == 0
                    && !conn.is_connecting()
                    && (self.queue.is_empty() || !conn.can_take_more(depth));
                if idle {
                    // Nothing left for it: close it now rather than leave it to a server
                    // timeout (a pipeline never sends on a connection that sat idle, so
                    // it never races a server closing one).
                    let mut conn = self.take_conn(i, shared);
                    let ended = *conn.end(Ending::Announced, None);
                    if let Some(fd) = conn.fd {
                        shared.watches.remove(fd, ended.stream);
                    }
                    return false;
                }
                true
            }
            Err(ended) => {
                let conn = self.take_conn(i, shared);
                let probe = conn.starts_alone;
                self.connection_ended(*ended, conn.fd, probe, shared, now);
                false
            }
        }
    }

    /// A cap learnt now holds for the connections already open or opening too, not only
    /// for the next ones: one opened before a server showed it closes after each answer
    /// (gunicorn) would otherwise take the requests sent back from the first, and send
    /// them to be thrown away a second time (62 of 1,000 URLs reached their third try).
    fn share_cap(&mut self) {
        if let Some(cap) = self.habits.cap() {
            for conn in &mut self.conns {
                conn.cap = Some(conn.cap.map_or(cap, |own| own.min(cap)));
            }
        }
    }

    /// Removes connection `i`, which no longer counts against `max_connections`.
    fn take_conn(&mut self, i: usize, shared: &mut Shared<T>) -> Conn<T> {
        shared.open -= 1;
        let conn = self.conns.swap_remove(i);
        shared.racing_descriptors -= conn.counted_extra;
        if let Some(address) = &conn.first_address {
            shared.address_closed(address);
        }
        conn
    }

    /// Waits, in turn with other origins, for a connection to `address` to close.
    fn wait_for_address(&mut self, address: &Address, shared: &mut Shared<T>) {
        if !self.waiting_for_address {
            self.waiting_for_address = true;
            shared
                .waiting_for_address
                .entry(address.clone())
                .or_default()
                .push_back(self.key);
        }
    }

    /// Waits, in turn with other origins, for a connection to close somewhere.
    fn wait_for_room(&mut self, shared: &mut Shared<T>) {
        if !self.waiting_for_room {
            self.waiting_for_room = true;
            shared.waiting_for_room.push_back(self.key);
        }
    }

    /// A connection ended with requests in flight: learn from it, then send them again or
    /// fail them. `probe`: it was opened after a failure, to send one request alone first.
    fn connection_ended(
        &mut self,
        mut ended: Ended<T>,
        fd: Option<RawFd>,
        probe: bool,
        shared: &mut Shared<T>,
        now: Instant,
    ) {
        if let Some(fd) = fd {
            shared.watches.remove(fd, ended.stream.take());
        }
        self.habits.connection_ended(ConnectionEnd {
            ending: ended.ending,
            sent: ended.sent,
            answered: ended.answered,
        });
        self.share_cap();
        let backoff = self.habits.backoff();
        if !backoff.is_zero() {
            self.not_before = Some(now + backoff);
        }
        let nothing_answered = ended.answered == 0 && ended.ending != Ending::Announced;
        if nothing_answered && matches!(ended.ending, Ending::Closed | Ending::CutShort) {
            // Dropped: perhaps a server past its limit on connections.
            shared.window.dropped(now);
        }
        // The front had failed before, on another connection, and failed again alone.
        let front_failed_again = ended.unanswered.front().is_some_and(|f| f.entry.alone);
        let last_error = ended.error.clone();
        let mut retry = Vec::new();
        for (k, in_flight) in ended.unanswered.into_iter().enumerate() {
            let overdue = in_flight.deadline.is_some_and(|d| now >= d);
            let mut entry = in_flight.entry;
            let front = k == 0;
            // The server announced the close before this request's turn (in a response
            // complete, or in the head of the front's, which then failed): it did not
            // process it.
            let behind_close =
                ended.ending == Ending::Announced || (ended.close_announced && !front);
            let error = match (&ended.error, front) {
                (Some(e), true) => e.clone(),
                (Some(_), false) if overdue => Error::Timeout,
                (Some(e), false) => Error::closed(format!(
                    "the connection ended before this response, after an earlier one failed: {e}"
                )),
                (None, _) => Error::closed(
                    "the server closed the connection after an earlier response asked to close",
                ),
            };
            // Every try left unanswered counts, whoever was at fault: a request is sent
            // at most `max_attempts` times, and its errors say why each try failed.
            entry.errors.push(error);
            let outcome = verdict(
                ended.ending,
                entry.spent(),
                shared.config.max_attempts,
                entry.request.repeatable,
                behind_close,
                front,
            );
            let result = match outcome {
                Verdict::Retry => {
                    if behind_close && entry.spent() + 1 >= shared.config.max_attempts {
                        // Its last try. Pipelined, it could be thrown away unprocessed
                        // behind another close: Apache closes after each 500 or 503, not
                        // after a count the pipeline can learn. Alone, nothing is ahead of
                        // it on its connection, and the server processes it.
                        entry.alone = true;
                    }
                    retry.push(entry);
                    continue;
                }
                Verdict::Exhausted => out_of_attempts(&mut entry),
                Verdict::NotRepeatable => FetchError::NotRepeatable {
                    errors: std::mem::take(&mut entry.errors),
                    may_have_been_processed: true,
                },
                Verdict::Broken => FetchError::BadResponse {
                    errors: std::mem::take(&mut entry.errors),
                },
            };
            self.finish(entry, Err(result), shared);
        }
        if ended.ending != Ending::Announced {
            // A failed connection: the first request left may be what made it fail, and
            // its answer could be lost again behind others (RFC 9112 §9.3.2). It goes
            // alone, and pipelining resumes once its response has come.
            if let Some(first) = retry.first_mut() {
                first.alone = true;
            }
            // And no connection pipelines right after it is established, not only the one
            // that takes that request: each sends one first, and the rest after its
            // response. Those not yet sending anything are held the same way.
            if !retry.is_empty() {
                self.after_failure = true;
                for conn in self.conns.iter_mut().filter(|c| c.sent == 0) {
                    conn.starts_alone = true;
                }
            }
        }
        if nothing_answered && probe && !front_failed_again && self.habits.unanswered_in_a_row >= 2
        {
            // A request never tried before failed alone, right after another connection
            // answered nothing: the server is failing, not one request. As when a connect
            // fails, the requests waiting are charged an attempt, so that a server that
            // swallows requests (or closes on every one) fails the list in a few timeouts,
            // not one request per connection and timeout.
            self.charge_waiting(last_error, shared);
        }
        shared.stats.retries += retry.len() as u64;
        // A request that failed alone twice goes behind the next one: the next connection
        // tries another request, which tells a server that fails from a request it fails on.
        let behind_next = nothing_answered && front_failed_again && !self.queue.is_empty();
        // Those never written go back as they were, behind those sent again.
        for entry in ended.unwritten.into_iter().rev() {
            self.queue.push_front(entry);
        }
        let mut retry = retry.into_iter();
        let first = if behind_next { retry.next() } else { None };
        for entry in retry.rev() {
            self.queue.push_front(entry);
        }
        if let Some(first) = first {
            self.queue.insert(1.min(self.queue.len()), first);
        }
    }

    /// Charges every waiting request an attempt for the server's failure (`error`, the last
    /// connection's); those out of attempts fail.
    fn charge_waiting(&mut self, error: Option<Error>, shared: &mut Shared<T>) {
        let failures = self.habits.unanswered_in_a_row;
        // Of the kind of the last failure, for `is_temporary`: a close is the server
        // ending the connection (ConnectionAborted), not an end of input.
        let kind = match &error {
            Some(Error::ConnectionClosed { .. }) => std::io::ErrorKind::ConnectionAborted,
            Some(e) => std::io::Error::from(e.clone()).kind(),
            None => std::io::ErrorKind::Other,
        };
        let what = error.map_or_else(String::new, |e| format!(" (the last: {e})"));
        let message = format!(
            "not sent again: the server completed no response on {failures} connections in a \
             row{what}"
        );
        let error = Error::Io(Arc::new(std::io::Error::new(kind, message)));
        let max = shared.config.max_attempts;
        for mut entry in std::mem::take(&mut self.queue) {
            // Not a try of its own (it was not sent): the caller is told the tries made.
            entry.charged_waiting += 1;
            entry.charged_for = Some(error.clone());
            if entry.spent() >= max {
                let failure = out_of_attempts(&mut entry);
                self.finish(entry, Err(failure), shared);
            } else {
                self.queue.push_back(entry);
            }
        }
    }

    /// A connection failed to open: a try, failed with `error`, for every waiting request.
    /// Those out of attempts, or all of them unless `again` (the error is not worth
    /// another attempt), fail.
    fn connect_failed_for_all(&mut self, error: &Error, again: bool, shared: &mut Shared<T>) {
        let max = shared.config.max_attempts;
        for mut entry in std::mem::take(&mut self.queue) {
            entry.tries = entry.tries.saturating_add(1);
            entry.errors.push(error.clone());
            if !again || entry.spent() >= max {
                let errors = std::mem::take(&mut entry.errors);
                self.finish(entry, Err(FetchError::Connect { errors }), shared);
            } else {
                self.queue.push_back(entry);
            }
        }
    }

    /// A connection could not be opened (every address failed, or the connect timed
    /// out): back off, and charge the waiting requests an attempt.
    fn connect_failed(&mut self, e: Error, shared: &mut Shared<T>, now: Instant) {
        shared.stats.connect_failures += 1;
        let no_descriptor = e.is_out_of_descriptors();
        if no_descriptor && shared.descriptors() > 0 {
            // This process has no descriptor left: not the server's doing, and nothing to
            // charge the requests for. Open no more than we hold now (other code holds
            // the rest), and try again when one closes, or after a short wait.
            shared.max_open = shared.max_open.min(shared.descriptors());
            self.not_before = Some(now + NO_DESCRIPTOR_WAIT);
            self.wait_for_room(shared);
            return;
        }
        // What worked before did not now: the next connection races the addresses in the
        // order they were resolved, those this one did not reach first.
        self.preferred = None;
        self.habits.connect_failed();
        self.not_before = Some(now + self.habits.backoff());
        if self.conns.iter().any(|c| !c.is_connecting()) {
            // Another connection works: the requests wait for it.
            return;
        }
        let temporary = e.is_temporary();
        self.connect_failed_for_all(&e, temporary, shared);
    }

    /// Opens connections while the queue holds more than the open ones can take.
    fn open_more(&mut self, shared: &mut Shared<T>, now: Instant) {
        loop {
            if self.queue.is_empty() {
                return;
            }
            let Addresses::Known(addresses) = &self.addresses else {
                return;
            };
            // Every connection counts, one draining its last responses too: a server
            // that takes few at once (a listen backlog of 5, one sync worker) would drop
            // the SYNs of more, and stall us a second each.
            let limit = shared.config.connections.max(1);
            if self.not_before.is_some_and(|t| now < t)
                || self.conns.len() >= limit
                || self.conns.iter().any(Conn::is_connecting)
            {
                return;
            }
            let depth = self.habits.depth(shared.config.depth);
            let room: usize = self
                .conns
                .iter()
                .filter(|c| c.can_take_more(depth))
                .map(|c| c.room(depth))
                .sum();
            if !self.conns.is_empty() && self.queue.len() <= room {
                return;
            }
            if shared.room() == 0 {
                self.wait_for_room(shared);
                return;
            }
            let addresses = if self.untried.is_empty() {
                preferred_first(addresses, self.preferred.as_ref())
            } else {
                untried_first(addresses, &self.untried)
            };
            let Some(first) = addresses.first().cloned() else {
                return;
            };
            if !shared.address_has_room(&first) {
                self.wait_for_address(&first, shared);
                return;
            }
            let tls = self
                .tls
                .as_ref()
                .map(|tls| (tls.clone(), self.origin.host.clone()));
            let deadline = shared.config.connect_timeout.map(|t| now + t);
            let mut conn = Conn::connect(
                addresses,
                shared.config.attempt_delay,
                tls,
                shared.config.limits,
                deadline,
                self.habits.cap(),
            );
            conn.starts_alone = self.after_failure;
            shared.address_opened(first);
            self.conns.push(conn);
            shared.open += 1;
            let i = self.conns.len() - 1;
            self.drive_conn(i, shared, now);
        }
    }

    fn finish(
        &mut self,
        entry: Entry<T>,
        result: Result<Response, FetchError>,
        shared: &mut Shared<T>,
    ) {
        finish_into(&mut shared.done, &mut shared.stats, entry, result);
    }

    /// Gives the addresses looked up (or the failure). A lookup that failed for want of a
    /// descriptor (the resolver's own, or getaddrinfo's) says nothing of the name: it is
    /// made again after a short wait, for as long as a connect may take (`give_up_after`,
    /// the connect timeout), and only then is it the requests' failure.
    pub(crate) fn resolved(
        &mut self,
        result: Result<Vec<Address>, Error>,
        give_up_after: Duration,
    ) {
        if let Err(e) = &result {
            if e.is_out_of_descriptors() {
                let now = Instant::now();
                let since = *self.no_descriptor_since.get_or_insert(now);
                if now.duration_since(since) < give_up_after {
                    self.addresses = Addresses::Unknown;
                    self.not_before = Some(now + NO_DESCRIPTOR_WAIT);
                    return;
                }
            }
        }
        self.no_descriptor_since = None;
        self.addresses = match result {
            Ok(addresses) if !addresses.is_empty() => Addresses::Known(addresses),
            Ok(_) => Addresses::Failed(Error::Dns {
                host: self.origin.host.clone(),
                source: Arc::new(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no addresses",
                )),
            }),
            Err(e) => Addresses::Failed(e),
        };
        self.dirty = true;
    }
}

/// The addresses with those of `untried` first, each part in its own order.
fn untried_first(addresses: &[Address], untried: &[Address]) -> Vec<Address> {
    let (mut first, rest): (Vec<Address>, Vec<Address>) =
        addresses.iter().cloned().partition(|a| untried.contains(a));
    first.extend(rest);
    first
}

/// The addresses with `preferred` (if it is one of them) moved to the front.
fn preferred_first(addresses: &[Address], preferred: Option<&Address>) -> Vec<Address> {
    let mut ordered = addresses.to_vec();
    if let Some(at) = preferred.and_then(|p| ordered.iter().position(|a| a == p)) {
        let address = ordered.remove(at);
        ordered.insert(0, address);
    }
    ordered
}

/// Why a request out of attempts failed: its tries' errors, and if charges while it
/// waited took some of its attempts, why it was not sent again.
fn out_of_attempts<T>(entry: &mut Entry<T>) -> FetchError {
    let mut errors = std::mem::take(&mut entry.errors);
    match entry.charged_for.take() {
        Some(why) => {
            errors.push(why);
            FetchError::NotSent { errors }
        }
        None => FetchError::AttemptsExhausted { errors },
    }
}

fn finish_into<T>(
    done: &mut VecDeque<Completed<T>>,
    stats: &mut Stats,
    entry: Entry<T>,
    result: Result<Response, FetchError>,
) {
    if result.is_ok() {
        stats.responses += 1;
    } else {
        stats.errors += 1;
    }
    done.push_back(Completed {
        tag: entry.tag,
        attempts: entry.tries,
        result,
    });
}

/// Refuses, before anything is sent, a request the core would refuse (which would end
/// the connection's sending for the requests behind it).
fn check(request: &Request) -> Result<(), Error> {
    let target = request.target.as_bytes();
    if target.is_empty() || !target.iter().all(u8::is_ascii_graphic) {
        return Err(Error::local(format!(
            "request target {:?} is empty or has a space or control character",
            request.target
        )));
    }
    if request.headers.get_all(HOST).iter().count() > 1 {
        return Err(Error::local("more than one host header"));
    }
    if request.headers.contains_key(CONTENT_LENGTH)
        || request.headers.contains_key(TRANSFER_ENCODING)
    {
        return Err(Error::local(
            "content-length and transfer-encoding are set from the body, not given",
        ));
    }
    Ok(())
}
