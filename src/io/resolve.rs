//! Name resolution that never blocks the caller: [`Resolve`] (one lookup on a helper
//! thread) and [`Resolver`] (many lookups on a few threads, one descriptor, a cache).
//!
//! Both ask the same system resolver as [`resolve`] (getaddrinfo(3) through std, so
//! `/etc/hosts`, `resolv.conf` and nsswitch apply) and give the same answers and errors. The
//! call that blocks runs on a helper thread; the caller's thread only ever looks at a queue
//! and a wake-up descriptor, which never blocks.
//!
//! The wake-up descriptor is one end of a non-blocking Unix socket pair: a [`Resolve`]'s
//! helper thread closes the other end when the answer is in (end of file: readable for
//! good); a [`Resolver`]'s threads write a byte when the answer list goes from empty to not
//! empty, and [`Resolver::take_answers`] reads the socket empty before taking the list, so
//! the descriptor is readable exactly while answers wait (or just after, harmlessly).

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv6Addr};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use super::address::{resolve, unbracket};
use super::{annotate, Address};
use crate::{Interest, PollNeeded, Progress};

/// A name lookup function: host name and port to addresses, as [`resolve`] does (which is
/// the default). It runs on helper threads and may block.
///
/// Give your own to [`Resolver::with_lookup`] or [`Resolve::with_lookup`] to use another
/// DNS client, or in tests. IP literals never reach it (they are answered at once). A
/// [`Resolver`] asks it once per host name and gives each lookup of that name the
/// addresses with the port that lookup asked for, so it should not give different
/// addresses for different ports.
pub type LookupFn = Arc<dyn Fn(&str, u16) -> io::Result<Vec<Address>> + Send + Sync>;

/// The system resolver, [`resolve`].
fn system_lookup() -> LookupFn {
    Arc::new(resolve)
}

/// The answer for an IP literal (IPv4, IPv6, bracketed or not, IPv6 with a `%zone`), found
/// without any lookup; `None` for a name that needs one.
///
/// A literal without a zone is parsed by std; one with a zone goes to getaddrinfo(3) here,
/// which parses a numeric host itself (turning an interface name into its index) and never
/// asks nsswitch or DNS about it.
fn literal(host: &str, port: u16) -> Option<io::Result<Vec<Address>>> {
    let name = unbracket(host);
    let is_literal = match name.split_once('%') {
        None => name.parse::<IpAddr>().is_ok(),
        Some((ip, _zone)) => ip.parse::<Ipv6Addr>().is_ok(),
    };
    is_literal.then(|| resolve(host, port))
}

/// Calls `lookup`, turning a panic into an error, so that every lookup gets an answer.
fn run_lookup(lookup: &LookupFn, host: &str, port: u16) -> io::Result<Vec<Address>> {
    panic::catch_unwind(AssertUnwindSafe(|| lookup(host, port))).unwrap_or_else(|_| {
        Err(io::Error::other(format!(
            "resolving {host}: the lookup function panicked"
        )))
    })
}

/// An error starting a lookup (no descriptors, no threads), naming the host.
fn starting_error(error: io::Error, host: &str) -> io::Error {
    annotate(error, None, format!("resolving {host}: starting a lookup"))
}

/// A non-blocking Unix socket pair: (read end, write end).
fn wake_pair() -> io::Result<(UnixStream, UnixStream)> {
    let (read, write) = UnixStream::pair()?;
    read.set_nonblocking(true)?;
    write.set_nonblocking(true)?;
    Ok((read, write))
}

fn readable(fd: RawFd) -> PollNeeded {
    PollNeeded {
        fd,
        interest: Interest::READABLE,
    }
}

/// One name lookup that does not block: the system resolver runs on a helper thread.
///
/// [`resume`](Self::resume) returns the addresses, in the resolver's order, once they are
/// in; until then it returns [`Progress::Pending`] asking for a descriptor to become
/// readable. The answers and errors are those of [`resolve`]: an error names the host
/// ("resolving HOST: ..."), keeps the resolver's kind, and a name without addresses is of
/// kind [`NotFound`](io::ErrorKind::NotFound). An IP literal (IPv4, IPv6 with or without
/// brackets, with a `%zone`) is answered at the first `resume`, with no thread.
///
/// Dropping a `Resolve` never blocks: a helper thread still in getaddrinfo(3) finishes it,
/// drops the answer and exits. There is no timeout: stop resuming (drop it) when you have
/// waited long enough.
///
/// ```
/// use pollhttp::io::{Connect, Resolve};
/// use pollhttp::Progress;
/// # fn main() -> std::io::Result<()> {
/// let mut resolve = Resolve::new("localhost", 8080);
/// let addresses = loop {
///     match resolve.resume()? {
///         Progress::Ready(addresses) => break addresses,
///         Progress::Pending(need) => {
///             need.wait(None)?; // or register need.fd with your poller
///         }
///     }
/// };
/// assert!(!addresses.is_empty());
/// let connect = Connect::new(addresses);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Resolve {
    host: String,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Answered without a thread (a literal, or an error starting the lookup).
    Answered(io::Result<Vec<Address>>),
    /// The helper thread sends the answer, then closes the other end of `wake`.
    Waiting {
        wake: UnixStream,
        answer: mpsc::Receiver<io::Result<Vec<Address>>>,
    },
    Finished,
}

impl Resolve {
    /// Starts looking up `host` (a name or IP literal) for `port` with the system resolver.
    /// A name is handed to a new helper thread at once; failing to start one (no
    /// descriptors or threads left) is the error of the first [`resume`](Self::resume).
    pub fn new(host: &str, port: u16) -> Self {
        Self::with_lookup(host, port, system_lookup())
    }

    /// The same, with your own lookup function instead of the system resolver (IP literals
    /// are still answered without it).
    pub fn with_lookup(host: &str, port: u16, lookup: LookupFn) -> Self {
        let state = match literal(host, port) {
            Some(answer) => State::Answered(answer),
            None => match start_thread(host, port, lookup) {
                Ok((wake, answer)) => State::Waiting { wake, answer },
                Err(e) => State::Answered(Err(starting_error(e, host))),
            },
        };
        Self {
            host: host.to_owned(),
            state,
        }
    }

    /// The host being looked up, as given.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Makes progress: the addresses, or the resolver's error, or what to wait for (the
    /// same readable descriptor each time) before resuming. Never blocks; waking up early
    /// is harmless. Resuming after `Ready` or an error is an
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) error.
    pub fn resume(&mut self) -> io::Result<Progress<Vec<Address>>> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Answered(answer) => answer.map(Progress::Ready),
            State::Waiting { wake, answer } => match answer.try_recv() {
                Ok(answer) => answer.map(Progress::Ready),
                Err(mpsc::TryRecvError::Empty) => {
                    let need = readable(wake.as_raw_fd());
                    self.state = State::Waiting { wake, answer };
                    Ok(Progress::Pending(need))
                }
                // The thread catches panics and always sends; this is only a safety net.
                Err(mpsc::TryRecvError::Disconnected) => Err(io::Error::other(format!(
                    "resolving {}: the lookup thread ended without an answer",
                    self.host
                ))),
            },
            State::Finished => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Resolve resumed after it finished",
            )),
        }
    }
}

type Answer = io::Result<Vec<Address>>;

/// Starts a helper thread that looks `host` up, sends the answer, then closes its end of
/// the wake-up pair. Returns the other end and the receiver.
fn start_thread(
    host: &str,
    port: u16,
    lookup: LookupFn,
) -> io::Result<(UnixStream, mpsc::Receiver<Answer>)> {
    let (wake, done) = wake_pair()?;
    let (tx, rx) = mpsc::channel();
    let host = host.to_owned();
    thread::Builder::new()
        .name("pollhttp-resolve".into())
        .spawn(move || {
            let answer = run_lookup(&lookup, &host, port);
            // The receiver may be gone (the Resolve was dropped): nobody wants the answer.
            let _ = tx.send(answer);
            // End of file on the other end: readable for good.
            drop(done);
        })?;
    Ok((wake, rx))
}

/// Identifies a pending lookup of a [`Resolver`]; its answer comes back with it from
/// [`take_answers`](Resolver::take_answers). Unique for the life of the resolver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LookupId(u64);

/// What [`Resolver::lookup`] gives: the answer now, or an id its answer will come with.
#[derive(Debug)]
#[must_use = "a pending lookup's answer comes from take_answers with its id"]
pub enum Lookup {
    /// Answered at once: an IP literal, a cached answer (addresses or error), or an error
    /// starting the lookup.
    Ready(io::Result<Vec<Address>>),
    /// Being looked up: the answer will come from [`Resolver::take_answers`] with this id.
    Pending(LookupId),
}

/// Many name lookups for one event loop (a crawl over many hosts), none of which blocks it.
///
/// - **One descriptor** for all lookups ([`AsRawFd`], a mio [`Source`](mio::event::Source),
///   or [`poll_needed`](Self::poll_needed) for poll(2)): it becomes readable when answers
///   are in; then [`take_answers`](Self::take_answers) gives them, each with the
///   [`LookupId`] that [`lookup`](Self::lookup) returned. It suits edge-triggered pollers:
///   `take_answers` reads the descriptor until it would block.
/// - **A few helper threads** run the lookups (default 4, [`threads`](Self::threads)),
///   started when there is work and ending after [`idle_timeout`](Self::idle_timeout)
///   without any. More lookups than threads wait in a queue, first in first out
///   ([`running_since`](Self::running_since) tells a lookup that waits from one under
///   way). A thread whose lookup every waiter [cancelled](Self::cancel) while it ran
///   (a DNS server that does not answer keeps getaddrinfo(3) for 10 s or more) no
///   longer holds its place: another starts beside it, up to twice `threads` in all.
/// - **A cache** of every answer, addresses or error, for the life of the resolver, per
///   host name as given (names are not case-folded). Each lookup gets the cached
///   addresses with its own port, so a name is asked once for all ports.
///   [`forget`](Self::forget) drops one name's answer (say, a temporary DNS failure).
/// - **Coalescing**: lookups of a name already being looked up wait for the same answer.
/// - IP literals are answered at once, without threads or cache.
///
/// Answers and errors are those of [`resolve`] (the error of a cached failure is a copy with
/// the same kind and message). No call blocks: `lookup` at most starts a thread, the others
/// look at a queue. There is no timeout: to give up on a lookup, [`cancel`](Self::cancel)
/// it. Dropping the resolver never blocks either: threads still in getaddrinfo(3) finish
/// the call and exit, and the last one closes the descriptors.
///
/// ```
/// use mio::{Events, Interest, Poll, Token};
/// use pollhttp::io::{Lookup, Resolver};
/// use std::collections::HashMap;
/// # fn main() -> std::io::Result<()> {
/// let mut poll = Poll::new()?;
/// let mut resolver = Resolver::new()?;
/// poll.registry().register(&mut resolver, Token(0), Interest::READABLE)?;
///
/// let mut waiting = HashMap::new(); // what each pending lookup was for
/// for (origin, host, port) in [(0, "localhost", 8080), (1, "127.0.0.1", 8081)] {
///     match resolver.lookup(host, port) {
///         Lookup::Ready(addresses) => println!("{origin}: {:?}", addresses?), // literal, cached
///         Lookup::Pending(id) => {
///             waiting.insert(id, origin);
///         }
///     }
/// }
/// let mut events = Events::with_capacity(8);
/// while resolver.pending() > 0 {
///     poll.poll(&mut events, None)?;
///     for (id, answer) in resolver.take_answers() {
///         let origin = waiting.remove(&id).unwrap();
///         println!("{origin}: {:?}", answer?); // now connect with io::Connect
///     }
/// }
/// # Ok(())
/// # }
/// ```
pub struct Resolver {
    shared: Arc<Shared>,
    /// The read end of the wake-up pair.
    wake: UnixStream,
    cache: HashMap<String, Cached>,
    /// Names being looked up (or queued).
    in_flight: HashMap<String, Flight>,
    /// The pending lookups, with their names.
    waiting: HashMap<LookupId, String>,
    next_id: u64,
}

/// A name being looked up.
struct Flight {
    /// Its job number (the id of the lookup that queued it).
    job: u64,
    /// The lookups waiting for it, with their ports (possibly none, when all were
    /// cancelled once the lookup had started).
    waiters: Vec<(LookupId, u16)>,
}

/// A name to look up, with the port to ask for.
struct Job {
    id: u64,
    host: String,
    port: u16,
}

/// A cached answer: the addresses as the lookup function gave them, or its error, shared.
type Cached = Result<Vec<Address>, Arc<io::Error>>;

/// What the resolver and its threads share.
struct Shared {
    lookup: LookupFn,
    /// The write end of the wake-up pair (non-blocking).
    wake: UnixStream,
    pool: Mutex<Pool>,
    /// Signalled when a job is queued or the resolver is dropped.
    work: Condvar,
}

/// The thread pool's state, under the mutex.
struct Pool {
    /// Names to look up, first in first out, cancelled ones included.
    queue: VecDeque<Job>,
    /// The jobs a thread is looking up, and since when.
    running: HashMap<u64, Instant>,
    /// The running jobs nobody waits for any more: their threads do not count against
    /// `max_threads` (only against twice that), so that lookups that never answer do not
    /// hold up the queue behind them.
    abandoned: HashSet<u64>,
    /// The jobs in the queue not cancelled: a thread runs a job it takes off the queue
    /// only if it removes it from here; a cancel removes it from here first.
    queued: HashSet<u64>,
    /// Answers not yet taken, in the order they came.
    answers: Vec<(String, Answer)>,
    /// Threads alive.
    threads: usize,
    /// Threads waiting for work.
    idle: usize,
    max_threads: usize,
    idle_timeout: Duration,
    /// The resolver is gone: threads exit without writing to the wake-up socket.
    closed: bool,
}

impl Pool {
    /// Whether a queued job should start a new thread: none is idle for it and there is
    /// room. If so, the thread is counted now (the caller starts it).
    fn wants_a_thread(&mut self) -> bool {
        let busy = self.threads.saturating_sub(self.abandoned.len());
        let spawn = self.queued.len() > self.idle
            && busy < self.max_threads
            && self.threads < 2 * self.max_threads;
        if spawn {
            self.threads += 1;
        }
        spawn
    }
}

impl Shared {
    fn pool(&self) -> MutexGuard<'_, Pool> {
        // Nothing panics while holding the lock (lookups run outside it, panics caught).
        self.pool.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Resolver {
    /// The default number of helper threads.
    pub const DEFAULT_THREADS: usize = 4;
    /// How long a helper thread waits for work before it ends, by default.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

    /// A resolver using the system resolver, [`resolve`]. No thread starts until there
    /// is a name to look up. An error only if the wake-up socket pair cannot be made (no
    /// descriptors left).
    pub fn new() -> io::Result<Self> {
        Self::with_lookup(system_lookup())
    }

    /// A resolver using your own lookup function (another DNS client, a fixed table in
    /// tests); IP literals are still answered without it.
    pub fn with_lookup(lookup: LookupFn) -> io::Result<Self> {
        let (wake, write_end) = wake_pair()?;
        Ok(Self {
            shared: Arc::new(Shared {
                lookup,
                wake: write_end,
                pool: Mutex::new(Pool {
                    queue: VecDeque::new(),
                    running: HashMap::new(),
                    abandoned: HashSet::new(),
                    queued: HashSet::new(),
                    answers: Vec::new(),
                    threads: 0,
                    idle: 0,
                    max_threads: Self::DEFAULT_THREADS,
                    idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
                    closed: false,
                }),
                work: Condvar::new(),
            }),
            wake,
            cache: HashMap::new(),
            in_flight: HashMap::new(),
            waiting: HashMap::new(),
            next_id: 0,
        })
    }

    /// At most `n` helper threads at once (default 4; at least 1): how many names are
    /// looked up at the same time.
    pub fn threads(self, n: usize) -> Self {
        self.shared.pool().max_threads = n.max(1);
        self
    }

    /// How long a helper thread waits for work before it ends (default 10 s).
    pub fn idle_timeout(self, timeout: Duration) -> Self {
        self.shared.pool().idle_timeout = timeout;
        self
    }

    /// Looks `host` (a name or IP literal) up for `port`: the answer at once if it is an IP
    /// literal or cached, else a [`LookupId`] whose answer
    /// [`take_answers`](Self::take_answers) will give. Never blocks (it may start a helper
    /// thread); failing to start one when none is running is a `Ready` error.
    pub fn lookup(&mut self, host: &str, port: u16) -> Lookup {
        if let Some(answer) = literal(host, port) {
            return Lookup::Ready(answer);
        }
        if let Some(cached) = self.cache.get(host) {
            return Lookup::Ready(answer_for(cached, port));
        }
        let id = LookupId(self.next_id);
        self.next_id += 1;
        if let Some(flight) = self.in_flight.get_mut(host) {
            if flight.waiters.is_empty() {
                // Wanted again: it holds its thread's place again.
                self.shared.pool().abandoned.remove(&flight.job);
            }
            flight.waiters.push((id, port));
        } else {
            if let Err(e) = self.enqueue(id.0, host, port) {
                return Lookup::Ready(Err(starting_error(e, host)));
            }
            let flight = Flight {
                job: id.0,
                waiters: vec![(id, port)],
            };
            self.in_flight.insert(host.to_owned(), flight);
        }
        self.waiting.insert(id, host.to_owned());
        Lookup::Pending(id)
    }

    /// Queues a lookup of `host`, starting a thread if none is free and there is room. An
    /// error only when no thread could be started and none is running (the job is then
    /// taken back).
    fn enqueue(&mut self, job: u64, host: &str, port: u16) -> io::Result<()> {
        let spawn = {
            let mut pool = self.shared.pool();
            pool.queue.push_back(Job {
                id: job,
                host: host.to_owned(),
                port,
            });
            pool.queued.insert(job);
            pool.wants_a_thread()
        };
        self.shared.work.notify_one();
        if !spawn {
            return Ok(());
        }
        let Err(e) = self.spawn() else {
            return Ok(());
        };
        let mut pool = self.shared.pool();
        if pool.threads > 0 {
            return Ok(()); // a running thread will take it
        }
        pool.queued.remove(&job);
        pool.queue.retain(|j| j.id != job);
        Err(e)
    }

    /// Starts a helper thread, counted by [`Pool::wants_a_thread`] already (uncounted
    /// again if it cannot start).
    fn spawn(&self) -> io::Result<()> {
        let shared = Arc::clone(&self.shared);
        let spawned = thread::Builder::new()
            .name("pollhttp-resolver".into())
            .spawn(move || work(&shared));
        if let Err(e) = spawned {
            self.shared.pool().threads -= 1;
            return Err(e);
        }
        Ok(())
    }

    /// The answers that came in since the last call, each with its lookup's id, in the
    /// order they came (lookups of one name together). Each is cached, but for a failure
    /// for want of a descriptor (EMFILE, ENFILE), which says nothing of the name. Reads
    /// the descriptor until it would block, so call it after each readiness event; when
    /// nothing came (an early or stale wake-up) it returns nothing. Never blocks.
    pub fn take_answers(&mut self) -> Vec<(LookupId, io::Result<Vec<Address>>)> {
        // Empty the socket first: an answer that comes after this writes a new byte.
        let mut buf = [0; 64];
        loop {
            match (&self.wake).read(&mut buf) {
                Ok(n) if n > 0 => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // WouldBlock: empty. (End of file or errors cannot happen while the write
                // end lives in `shared`; they would not lose answers either.)
                _ => break,
            }
        }
        let came = std::mem::take(&mut self.shared.pool().answers);
        let mut answers = Vec::new();
        for (host, answer) in came {
            // No descriptor to look with says nothing of the name: not kept, so that the
            // next lookup asks again.
            let keep = !matches!(&answer, Err(e) if super::descriptors::out_of_descriptors(e));
            let cached = answer.map_err(Arc::new);
            if let Some(flight) = self.in_flight.remove(&host) {
                for (id, port) in flight.waiters {
                    self.waiting.remove(&id);
                    answers.push((id, answer_for(&cached, port)));
                }
            }
            if keep {
                self.cache.insert(host, cached);
            }
        }
        answers
    }

    /// Gives up on a pending lookup: its answer will not be given. Returns whether it was
    /// pending. When no other lookup waits for that name and its lookup has not started, it
    /// is not started; when it has, it finishes and its answer is cached.
    pub fn cancel(&mut self, id: LookupId) -> bool {
        let Some(host) = self.waiting.remove(&id) else {
            return false;
        };
        let Some(flight) = self.in_flight.get_mut(&host) else {
            return true; // cannot happen: a waiting lookup's name is in flight
        };
        flight.waiters.retain(|(i, _)| *i != id);
        if !flight.waiters.is_empty() {
            return true;
        }
        let spawn = {
            let mut pool = self.shared.pool();
            if pool.queued.remove(&flight.job) {
                // Not started; the thread that takes it off the queue skips it.
                self.in_flight.remove(&host);
                return true;
            }
            if !pool.running.contains_key(&flight.job) {
                return true; // answered, not yet taken
            }
            // Still running (its answer will be cached): its place goes to the queue.
            pool.abandoned.insert(flight.job);
            pool.wants_a_thread()
        };
        if spawn {
            // Failing to start one only leaves the queue to the threads running.
            let _ = self.spawn();
        }
        true
    }

    /// Since when the name a pending lookup waits for has been looked up on a helper
    /// thread; `None` while it waits in the queue for a thread (or when it is not
    /// pending, or its answer is in). A timeout that should count only the time spent
    /// asking, not waiting behind other names, starts here.
    pub fn running_since(&self, id: LookupId) -> Option<Instant> {
        let flight = self.in_flight.get(self.waiting.get(&id)?)?;
        self.shared.pool().running.get(&flight.job).copied()
    }

    /// How many lookups are pending: returned [`Lookup::Pending`] and neither answered by
    /// [`take_answers`](Self::take_answers) nor cancelled.
    pub fn pending(&self) -> usize {
        self.waiting.len()
    }

    /// Drops the cached answer for `host` (addresses or error), so that the next lookup asks
    /// again. Returns whether there was one. (A lookup of it in progress is cached when it
    /// ends.)
    pub fn forget(&mut self, host: &str) -> bool {
        self.cache.remove(host).is_some()
    }

    /// Drops every cached answer.
    pub fn clear_cache(&mut self) {
        self.cache.clear();
    }

    /// How many helper threads are alive now: at most [`threads`](Self::threads), or twice
    /// that while lookups that were all cancelled still run.
    pub fn running_threads(&self) -> usize {
        self.shared.pool().threads
    }

    /// The descriptor and interest to wait for answers with (always the same descriptor,
    /// readable), for poll(2) or [`PollNeeded::wait`].
    pub fn poll_needed(&self) -> PollNeeded {
        readable(self.wake.as_raw_fd())
    }
}

/// A helper thread: takes names off the queue and looks them up until the resolver is gone
/// or there has been no work for the idle timeout.
fn work(shared: &Shared) {
    let mut pool = shared.pool();
    loop {
        if pool.closed {
            break;
        }
        if let Some(Job { id, host, port }) = pool.queue.pop_front() {
            if !pool.queued.remove(&id) {
                continue; // cancelled
            }
            pool.running.insert(id, Instant::now());
            drop(pool);
            let answer = run_lookup(&shared.lookup, &host, port);
            pool = shared.pool();
            pool.running.remove(&id);
            pool.abandoned.remove(&id);
            if pool.closed {
                break;
            }
            if pool.answers.is_empty() {
                // The first answer since the last take: make the descriptor readable. A
                // full socket (WouldBlock) is readable already. The read end is open: the
                // resolver sets `closed` before closing it.
                let _ = (&shared.wake).write(&[1]);
            }
            pool.answers.push((host, answer));
            if pool.threads - pool.abandoned.len() > pool.max_threads {
                break; // started beside an abandoned lookup, now one too many
            }
            continue;
        }
        pool.idle += 1;
        let timeout = pool.idle_timeout;
        let (guard, waited) = shared
            .work
            .wait_timeout(pool, timeout)
            .unwrap_or_else(PoisonError::into_inner);
        pool = guard;
        pool.idle -= 1;
        if waited.timed_out() && pool.queue.is_empty() {
            break;
        }
    }
    pool.threads -= 1;
}

/// A cached answer for a lookup on `port`: the addresses with that port, or a copy of the
/// error.
fn answer_for(cached: &Cached, port: u16) -> io::Result<Vec<Address>> {
    match cached {
        Ok(addresses) => Ok(addresses
            .iter()
            .map(|address| match address {
                Address::Tcp(a) => {
                    let mut a = *a;
                    a.set_port(port);
                    Address::Tcp(a)
                }
                other => other.clone(),
            })
            .collect()),
        Err(e) => Err(io::Error::new(e.kind(), SharedError(Arc::clone(e)))),
    }
}

/// One resolver error handed to several lookups: it displays as the original and has the
/// original's source.
#[derive(Debug)]
pub(crate) struct SharedError(Arc<io::Error>);

impl SharedError {
    /// The error shared, for a look at what it is ([`out_of_descriptors`]).
    ///
    /// [`out_of_descriptors`]: super::descriptors::out_of_descriptors
    pub(crate) fn shared(&self) -> &io::Error {
        &self.0
    }
}

impl fmt::Display for SharedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SharedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("fd", &self.wake.as_raw_fd())
            .field("pending", &self.waiting.len())
            .field("in_flight", &self.in_flight.len())
            .field("cached", &self.cache.len())
            .field("running_threads", &self.running_threads())
            .finish_non_exhaustive()
    }
}

impl Drop for Resolver {
    /// Tells the threads to stop (without waiting for them): queued lookups are dropped, a
    /// lookup in progress finishes and its answer is dropped.
    fn drop(&mut self) {
        {
            let mut pool = self.shared.pool();
            pool.closed = true;
            pool.queue.clear();
            pool.queued.clear();
            pool.answers.clear();
        }
        self.shared.work.notify_all();
    }
}

impl AsRawFd for Resolver {
    /// The descriptor that is readable when answers are in.
    fn as_raw_fd(&self) -> RawFd {
        self.wake.as_raw_fd()
    }
}

/// Registers the resolver's descriptor with a mio poller (for
/// [`READABLE`](mio::Interest::READABLE)).
impl mio::event::Source for Resolver {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        mio::unix::SourceFd(&self.wake.as_raw_fd()).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        mio::unix::SourceFd(&self.wake.as_raw_fd()).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &mio::Registry) -> io::Result<()> {
        mio::unix::SourceFd(&self.wake.as_raw_fd()).deregister(registry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_failure_for_want_of_a_descriptor_is_known_as_one() {
        let emfile: Cached = Err(Arc::new(io::Error::from_raw_os_error(libc::EMFILE)));
        let given = answer_for(&emfile, 80).unwrap_err();
        assert!(super::super::descriptors::out_of_descriptors(&given));
        let refused: Cached = Err(Arc::new(io::Error::from_raw_os_error(libc::ECONNREFUSED)));
        let given = answer_for(&refused, 80).unwrap_err();
        assert!(!super::super::descriptors::out_of_descriptors(&given));
    }

    #[test]
    fn literals_are_recognised() {
        for host in [
            "127.0.0.1",
            "::1",
            "[::1]",
            "fe80::1%1",
            "[fe80::1%1]",
            "[127.0.0.1]",
        ] {
            assert!(literal(host, 80).is_some(), "{host}");
        }
        for host in [
            "localhost",
            "example.com",
            "127.0.0.1%1",
            "1.2.3",
            "",
            "[x]",
            "::1x",
        ] {
            assert!(literal(host, 80).is_none(), "{host}");
        }
    }

    #[test]
    fn cached_answers_take_the_port_asked_for() {
        let cached: Cached = Ok(vec![
            Address::from(([10, 0, 0, 1], 80)),
            Address::unix("/run/s"),
        ]);
        assert_eq!(
            answer_for(&cached, 443).unwrap(),
            vec![Address::from(([10, 0, 0, 1], 443)), Address::unix("/run/s")]
        );
    }

    #[test]
    fn a_shared_error_keeps_kind_message_and_source() {
        let original = annotate(
            io::Error::new(io::ErrorKind::TimedOut, "slow"),
            None,
            "resolving x".into(),
        );
        let message = original.to_string();
        let cached: Cached = Err(Arc::new(original));
        for _ in 0..2 {
            let e = answer_for(&cached, 1).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::TimedOut);
            assert_eq!(e.to_string(), message);
            let source = std::error::Error::source(&e).expect("a source");
            assert_eq!(source.to_string(), "slow");
        }
    }
}
