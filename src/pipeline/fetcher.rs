//! [`Fetcher`]: requests to any number of origins from one loop, and [`Pipeline`]: the
//! same for one origin.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::config::Config;
use super::origin::{Origin, UrlError};
use super::origin_pipeline::{Addresses, OriginPipeline, Shared, Stats};
use super::request::{Completed, Request};
use super::watch::Change;
use crate::error::Error;
use crate::io::{Address, Lookup, LookupId, Resolver};
use crate::tls::ClientTls;
use crate::{Interest, PollNeeded};

/// The owner key of the resolver's descriptor.
const RESOLVER: usize = usize::MAX;

/// Names the fetcher's own resolver looks up at once. A list over many hosts waits for
/// its lookups: with 20 ms each, 500 hosts took 2.5 s at 4 at once (the resolver's
/// default), 0.33 s at 32. curl's threaded resolver runs one lookup per transfer.
const LOOKUPS_AT_ONCE: usize = 32;
/// How long lookups that fail for want of a descriptor are made again, with no connect
/// timeout to go by.
const NO_DESCRIPTOR_PATIENCE: Duration = Duration::from_secs(60);

/// Requests to any number of origins (`http` and `https`), driven from your loop: at most
/// [`connections`](Config::connections) connections per origin, each with at most
/// [`depth`](Config::depth) requests in flight, names resolved without blocking, requests
/// sent again when a connection ends before their response (see the
/// [module](super) for the rules), and results handed back as they complete, each with
/// your tag.
///
/// It never blocks. Each turn of your loop:
/// 1. wait for the descriptors it uses (two ways, below), at most
///    [`timeout`](Self::timeout);
/// 2. tell it which are ready ([`mark_ready`](Self::mark_ready));
/// 3. [`resume`](Self::resume);
/// 4. take the finished requests ([`next_completed`](Self::next_completed)).
///
/// **poll(2), select, level-triggered epoll:** wait for [`wants`](Self::wants), every
/// descriptor with what it waits for now ([`wait_any`](crate::wait_any) does it).
///
/// **mio, edge-triggered epoll:** apply [`take_changes`](Self::take_changes) (descriptors
/// to register or deregister, once each, for readable and writable) before each wait; the
/// fetcher drives every connection until it would block, as edge triggering needs.
///
/// ```no_run
/// use pollhttp::pipeline::{Config, Fetcher, Request};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut fetcher = Fetcher::new(Config::default());
/// for url in ["http://example.com/", "http://example.org/a"] {
///     fetcher.submit_url(url, Request::head("/"), url)?;
/// }
/// fetcher.resume();
/// loop {
///     // Before the check: a request can finish without a wait.
///     while let Some(done) = fetcher.next_completed() {
///         match done.result {
///             Ok(response) => println!("{} {}", done.tag, response.status()),
///             Err(e) => println!("{} error: {e}", done.tag),
///         }
///     }
///     if fetcher.unfinished() == 0 {
///         break;
///     }
///     for fd in pollhttp::wait_any(&fetcher.wants(), fetcher.timeout())? {
///         fetcher.mark_ready(fd);
///     }
///     fetcher.resume();
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Fetcher<T> {
    shared: Shared<T>,
    pipelines: Vec<OriginPipeline<T>>,
    by_origin: HashMap<Origin, usize>,
    /// Made at the first name to look up.
    resolver: Option<Resolver>,
    resolver_ready: bool,
    /// Lookups under way: the pipeline waiting for each, and when to give up on it.
    lookups: HashMap<LookupId, (usize, Option<Instant>)>,
    /// Pipelines to drive at the next `resume`.
    scheduled: Vec<usize>,
    /// Each pipeline's next deadline, earliest first (an entry may be stale: a pipeline
    /// driven early just arms itself again), so a `resume` does not visit every origin.
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    /// The system's roots, made at the first `https` origin when the configuration has no
    /// TLS of its own (or why they could not be loaded).
    default_tls: Option<Result<ClientTls, Error>>,
}

impl<T> Fetcher<T> {
    /// A fetcher with this configuration.
    pub fn new(config: Config) -> Self {
        Self {
            shared: Shared::new(config),
            pipelines: Vec::new(),
            by_origin: HashMap::new(),
            resolver: None,
            resolver_ready: false,
            lookups: HashMap::new(),
            scheduled: Vec::new(),
            timers: BinaryHeap::new(),
            default_tls: None,
        }
    }

    /// Uses this resolver (your own lookup function, a number of threads) instead of the
    /// system's, made at the first lookup with up to 32 helper threads (32 names looked
    /// up at once, for lists over many hosts).
    pub fn with_resolver(mut self, resolver: Resolver) -> Self {
        self.resolver = Some(resolver);
        self.shared.watches.add(
            self.resolver.as_ref().expect("just set").as_raw_fd(),
            RESOLVER,
        );
        self
    }

    /// Sends requests for `origin` to these addresses instead of resolving its host (a
    /// Unix socket, a fixed address). Effective for requests not yet sent.
    pub fn set_addresses(&mut self, origin: &Origin, addresses: Vec<Address>) {
        let key = self.pipeline(origin);
        let patience = self.lookup_patience();
        self.pipelines[key].resolved(Ok(addresses), patience);
        self.schedule(key);
    }

    /// Queues a request to `origin`. It is sent at a coming [`resume`](Self::resume).
    pub fn submit(&mut self, origin: &Origin, request: Request, tag: T) {
        let key = self.pipeline(origin);
        self.pipelines[key].submit(request, tag, &mut self.shared);
        self.schedule(key);
    }

    /// Queues a request to an absolute URL: its origin, and its path and query as the
    /// target (replacing `request`'s).
    pub fn submit_url(&mut self, url: &str, mut request: Request, tag: T) -> Result<(), UrlError> {
        let (origin, target) = Origin::parse_url(url)?;
        request.target = target;
        self.submit(&origin, request, tag);
        Ok(())
    }

    /// The pipeline of an origin, made on first use.
    fn pipeline(&mut self, origin: &Origin) -> usize {
        if let Some(&key) = self.by_origin.get(origin) {
            return key;
        }
        let key = self.pipelines.len();
        let tls = if origin.https { self.tls() } else { Ok(None) };
        let mut pipeline = OriginPipeline::new(origin.clone(), key, tls.clone().ok().flatten());
        if let Err(e) = tls {
            // Every request to it fails, with the reason.
            pipeline.addresses = Addresses::Failed(e);
        }
        self.pipelines.push(pipeline);
        self.by_origin.insert(origin.clone(), key);
        key
    }

    fn tls(&mut self) -> Result<Option<ClientTls>, Error> {
        if let Some(tls) = &self.shared.config.tls {
            return Ok(Some(tls.clone()));
        }
        let tls = self
            .default_tls
            .get_or_insert_with(|| ClientTls::builder().build().map_err(Error::from));
        tls.clone().map(Some)
    }

    fn schedule(&mut self, key: usize) {
        let pipeline = &mut self.pipelines[key];
        if !pipeline.scheduled {
            pipeline.scheduled = true;
            self.scheduled.push(key);
        }
    }

    /// Says a descriptor is ready (as your poller reported it). Unknown descriptors are
    /// ignored; waking up too often is harmless.
    pub fn mark_ready(&mut self, fd: RawFd) {
        match self.shared.watches.owner(fd) {
            Some(RESOLVER) => self.resolver_ready = true,
            Some(key) if self.pipelines[key].mark_ready(fd) => self.schedule(key),
            _ => {}
        }
    }

    /// Makes all the progress that can be made without blocking: answers from the
    /// resolver, connections marked ready, deadlines passed, new requests.
    pub fn resume(&mut self) {
        let now = Instant::now();
        self.shared.watches.close_reported();
        if std::mem::take(&mut self.resolver_ready) {
            self.take_answers();
        }
        self.expire_lookups(now);
        while let Some(&Reverse((deadline, key))) = self.timers.peek() {
            if deadline > now {
                break;
            }
            self.timers.pop();
            if self.pipelines[key].timer == Some(deadline) {
                self.pipelines[key].timer = None;
            }
            self.schedule(key);
        }
        loop {
            while let Some(key) = self.scheduled.pop() {
                let pipeline = &mut self.pipelines[key];
                pipeline.scheduled = false;
                if pipeline.needs_addresses() {
                    self.look_up(key);
                }
                let pipeline = &mut self.pipelines[key];
                pipeline.drive(&mut self.shared, now);
                if let Some(deadline) = pipeline.next_deadline() {
                    if pipeline.timer.map_or(true, |t| deadline < t) {
                        pipeline.timer = Some(deadline);
                        self.timers.push(Reverse((deadline, key)));
                    }
                }
            }
            // Connections closed: the origins waiting for room take it, in turn. One that
            // finds none again waits again, so this ends.
            let mut woken = false;
            // And those waiting for a server address, as many as it has room for: one
            // woken that opens nothing (its requests are gone, it backs off) leaves the
            // room to the next, here or on a later turn.
            let mut woken_for_address = Vec::new();
            let shared = &mut self.shared;
            shared.waiting_for_address.retain(|address, waiters| {
                let open = shared.per_address.get(address).copied().unwrap_or(0);
                let room = shared.config.per_address_cap().saturating_sub(open);
                let n = room.min(waiters.len());
                woken_for_address.extend(waiters.drain(..n));
                !waiters.is_empty()
            });
            for key in woken_for_address {
                self.pipelines[key].waiting_for_address = false;
                self.schedule(key);
                woken = true;
            }
            let mut room = self.shared.room();
            while room > 0 {
                let Some(key) = self.shared.waiting_for_room.pop_front() else {
                    break;
                };
                self.pipelines[key].waiting_for_room = false;
                self.schedule(key);
                woken = true;
                room -= 1;
            }
            if !woken {
                break;
            }
        }
    }

    /// How long lookups that fail for want of a descriptor are made again before that is
    /// the requests' failure: as long as a connect may take.
    fn lookup_patience(&self) -> Duration {
        self.shared
            .config
            .connect_timeout
            .unwrap_or(NO_DESCRIPTOR_PATIENCE)
    }

    fn look_up(&mut self, key: usize) {
        let patience = self.lookup_patience();
        let resolver = match &mut self.resolver {
            Some(resolver) => resolver,
            None => match Resolver::new().map(|r| r.threads(LOOKUPS_AT_ONCE)) {
                Ok(resolver) => {
                    self.shared.watches.add(resolver.as_raw_fd(), RESOLVER);
                    self.resolver.insert(resolver)
                }
                Err(e) => {
                    self.pipelines[key].resolved(Err(Error::Io(Arc::new(e))), patience);
                    return;
                }
            },
        };
        let pipeline = &mut self.pipelines[key];
        let (host, port) = (pipeline.origin.host.clone(), pipeline.origin.port);
        match resolver.lookup(&host, port) {
            Lookup::Ready(result) => pipeline.resolved(dns(&host, result), patience),
            Lookup::Pending(id) => {
                pipeline.addresses = Addresses::Resolving;
                let deadline = self
                    .shared
                    .config
                    .connect_timeout
                    .map(|t| Instant::now() + t);
                self.lookups.insert(id, (key, deadline));
            }
        }
    }

    fn take_answers(&mut self) {
        let patience = self.lookup_patience();
        let Some(resolver) = &mut self.resolver else {
            return;
        };
        for (id, result) in resolver.take_answers() {
            if let Some((key, _)) = self.lookups.remove(&id) {
                let host = self.pipelines[key].origin.host.clone();
                self.pipelines[key].resolved(dns(&host, result), patience);
                self.schedule(key);
            }
        }
    }

    /// Gives up on lookups that have been asked for the connect timeout without an answer
    /// (a resolver that does not answer): the requests waiting for them fail. The time a
    /// lookup waited in the resolver's queue, behind other names, does not count: its
    /// deadline moves to a full timeout after it started.
    fn expire_lookups(&mut self, now: Instant) {
        let mut expired = Vec::new();
        for (id, (_, deadline)) in &mut self.lookups {
            let (Some(d), Some(timeout)) = (*deadline, self.shared.config.connect_timeout) else {
                continue;
            };
            if now < d {
                continue;
            }
            let started = self.resolver.as_ref().and_then(|r| r.running_since(*id));
            match started.map(|s| s + timeout) {
                Some(end) if end <= now => expired.push(*id),
                Some(end) => *deadline = Some(end),
                // Not asked yet: looked at again a timeout from now, by when it has started.
                None => *deadline = Some(now + timeout),
            }
        }
        for id in expired {
            let Some((key, _)) = self.lookups.remove(&id) else {
                continue;
            };
            if let Some(resolver) = &mut self.resolver {
                resolver.cancel(id);
            }
            let host = self.pipelines[key].origin.host.clone();
            let timed_out = std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("resolving {host}: no answer in time"),
            );
            let patience = self.lookup_patience();
            self.pipelines[key].resolved(dns(&host, Err(timed_out)), patience);
            self.schedule(key);
        }
    }

    /// A finished request, in the order they finished; `None` when none is waiting.
    pub fn next_completed(&mut self) -> Option<Completed<T>> {
        self.shared.done.pop_front()
    }

    /// Requests submitted and not finished yet. When it is 0 and
    /// [`next_completed`](Self::next_completed) gives `None`, everything is done.
    ///
    /// Requests can finish without any wait: one that HTTP cannot carry fails as it is
    /// submitted, and one [`resume`](Self::resume) may finish all of them. So take what
    /// [`next_completed`](Self::next_completed) gives before looking at this count, or a
    /// loop that stops at 0 misses them (as the example of [`Fetcher`] shows).
    pub fn unfinished(&self) -> usize {
        let stats = &self.shared.stats;
        (stats.submitted - stats.responses - stats.errors) as usize
    }

    /// Counts so far (for a progress line).
    pub fn stats(&self) -> Stats {
        self.shared.stats
    }

    /// The changes to apply to an edge-triggered poller before it waits: descriptors to
    /// register (for readable and writable) and to deregister. The first call lists every
    /// descriptor in use; changes are kept only once this has been called (a poll(2)
    /// loop, which uses [`wants`](Self::wants), never needs it).
    pub fn take_changes(&mut self) -> Vec<Change> {
        self.shared.watches.take()
    }

    /// Every descriptor in use and what it waits for now: what a poll(2) or select loop
    /// waits for.
    pub fn wants(&self) -> Vec<PollNeeded> {
        let mut wants: Vec<PollNeeded> = self
            .pipelines
            .iter()
            .flat_map(OriginPipeline::wants)
            .collect();
        if let Some(resolver) = &self.resolver {
            if resolver.pending() > 0 {
                wants.push(PollNeeded {
                    fd: resolver.as_raw_fd(),
                    interest: Interest::READABLE,
                });
            }
        }
        wants
    }

    /// The next time [`resume`](Self::resume) must be called even if no descriptor is
    /// ready: a connect or a response overdue, a back-off over; or now, when work is
    /// waiting for `resume`.
    pub fn next_deadline(&self) -> Option<Instant> {
        let room_at_next_resume =
            !self.shared.waiting_for_room.is_empty() && self.shared.watches.held() > 0;
        if !self.scheduled.is_empty() || self.resolver_ready || room_at_next_resume {
            return Some(Instant::now());
        }
        let lookups = self.lookups.values().filter_map(|(_, deadline)| *deadline);
        let timers = self.timers.peek().map(|Reverse((deadline, _))| *deadline);
        timers.into_iter().chain(lookups).min()
    }

    /// How long a wait may last: until [`next_deadline`](Self::next_deadline) (rounded up
    /// to a millisecond, so a poll does not wake just before it); `None`: no deadline.
    pub fn timeout(&self) -> Option<Duration> {
        self.next_deadline().map(|deadline| {
            let left = deadline.saturating_duration_since(Instant::now());
            let millis = left.as_nanos().div_ceil(1_000_000);
            Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
        })
    }
}

fn dns(host: &str, result: std::io::Result<Vec<Address>>) -> Result<Vec<Address>, Error> {
    result.map_err(|e| Error::dns(host, e))
}

/// Requests to one origin, over one or more reconnecting pipelined connections: a
/// [`Fetcher`] held to one origin, with the same loop.
///
/// ```no_run
/// use pollhttp::pipeline::{Config, Origin, Pipeline, Request};
/// # fn main() -> std::io::Result<()> {
/// let mut pipeline = Pipeline::new(Origin::new(false, "localhost", 8080), Config::default());
/// for i in 0..1000 {
///     pipeline.submit(Request::get(format!("/d{i}.html")), i);
/// }
/// pipeline.resume();
/// loop {
///     // Before the check: a request can finish without a wait.
///     while let Some(done) = pipeline.next_completed() {
///         println!("{} {:?}", done.tag, done.result.map(|r| r.status()));
///     }
///     if pipeline.unfinished() == 0 {
///         break;
///     }
///     for fd in pollhttp::wait_any(&pipeline.wants(), pipeline.timeout())? {
///         pipeline.mark_ready(fd);
///     }
///     pipeline.resume();
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Pipeline<T> {
    fetcher: Fetcher<T>,
    origin: Origin,
}

impl<T> Pipeline<T> {
    /// A pipeline to `origin`, its name resolved without blocking.
    pub fn new(origin: Origin, config: Config) -> Self {
        Self {
            fetcher: Fetcher::new(config),
            origin,
        }
    }

    /// A pipeline to `origin` over these addresses (a Unix socket, an address you
    /// resolved): `origin` gives the `Host` header and the TLS server name.
    pub fn with_addresses(origin: Origin, addresses: Vec<Address>, config: Config) -> Self {
        let mut fetcher = Fetcher::new(config);
        fetcher.set_addresses(&origin, addresses);
        Self { fetcher, origin }
    }

    /// The origin.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Queues a request; it is sent at a coming [`resume`](Self::resume).
    pub fn submit(&mut self, request: Request, tag: T) {
        self.fetcher.submit(&self.origin, request, tag);
    }

    /// See [`Fetcher::mark_ready`].
    pub fn mark_ready(&mut self, fd: RawFd) {
        self.fetcher.mark_ready(fd);
    }

    /// See [`Fetcher::resume`].
    pub fn resume(&mut self) {
        self.fetcher.resume();
    }

    /// See [`Fetcher::next_completed`].
    pub fn next_completed(&mut self) -> Option<Completed<T>> {
        self.fetcher.next_completed()
    }

    /// See [`Fetcher::unfinished`].
    pub fn unfinished(&self) -> usize {
        self.fetcher.unfinished()
    }

    /// See [`Fetcher::stats`].
    pub fn stats(&self) -> Stats {
        self.fetcher.stats()
    }

    /// See [`Fetcher::take_changes`].
    pub fn take_changes(&mut self) -> Vec<Change> {
        self.fetcher.take_changes()
    }

    /// See [`Fetcher::wants`].
    pub fn wants(&self) -> Vec<PollNeeded> {
        self.fetcher.wants()
    }

    /// See [`Fetcher::next_deadline`].
    pub fn next_deadline(&self) -> Option<Instant> {
        self.fetcher.next_deadline()
    }

    /// See [`Fetcher::timeout`].
    pub fn timeout(&self) -> Option<Duration> {
        self.fetcher.timeout()
    }
}
