//! Running a server: an acceptor, event-loop [`Group`]s (one per worker), and a watchdog.
//!
//! The acceptor takes new connections and deals them to the groups in turn. Each group
//! is an event loop over its own mio poller, run by one thread at a time (see
//! [`group`](super::group)): a connection waits there costing no thread and no buffer,
//! and is driven on that thread when it has something to do, with no hand-off between
//! threads per request. The watchdog notices a handler that has run for a whole tick with
//! its loop released, and has another thread take that loop over; it also decides when a
//! loop's handlers block so often that each is stood in for as it is called
//! ([`Eagerness`]). A thread that ran a loop and retired from it waits a while as a spare,
//! and the next loop that needs a thread takes it rather than start one.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token, Waker};

use super::config::Config;
use super::conn::Conn;
use super::eager::Eagerness;
use super::group::{Budget, Group, Notices};
use super::listener::Listener;
use super::session::Session;
use crate::op::ServerStream;
use crate::tls::Handshake;

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// How often the watchdog looks for handlers that block: the longest a blocking handler
/// holds up its neighbours is about two of these.
const WATCH: Duration = Duration::from_millis(5);
/// How often it looks while handlers have been blocking lately. Each handler that blocks
/// holds up its loop until it is noticed, and in a burst of them (hundreds of requests to
/// a slow database at once) the loop's other connections would wait that many ticks:
/// 512 handlers kept them waiting 5 s at [`WATCH`].
const WATCH_IN_A_BURST: Duration = Duration::from_millis(1);
/// How long after the last handler it saw blocking it keeps to [`WATCH_IN_A_BURST`].
const BURST: Duration = Duration::from_millis(100);
/// Handler calls at most in a tick of [`WATCH`], each a new one running when the tick
/// ends, that say the loop's handlers block briefly, each for less than a tick: never seen
/// on two ticks, they would run one after another on the loop (64 clients of a 2 ms
/// handler: 941 requests a second, and every other connection waiting 50 ms and more).
/// At [`WATCH_IN_A_BURST`] each is seen, and stood in for, within 2 ms. Handlers that
/// return at once make hundreds of calls a tick.
const FEW_CALLS_A_TICK: u64 = 16;
/// How long a loop thread with no loop to run waits for one before it ends: threads
/// standing in for a burst of blocking handlers are taken again, not started anew.
const SPARE_WAIT: Duration = Duration::from_secs(10);
/// A second of ticks with no user code: the watchdog parks.
const QUIET_TICKS_BEFORE_PARKING: u32 = 200;
/// How long the acceptor waits before it tries again when the process or the system is out
/// of descriptors or memory. The listener is edge-triggered: the connections already queued
/// bring no new edge, so only a try after a while takes them once descriptors are free.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);
/// Failures of `accept` in a row, of a kind that concerns one connection (reset before it
/// was taken, refused by a firewall rule), after which the acceptor pauses as for a
/// shortage: an error that does not go away must not spin the thread.
const ACCEPT_FAILURES_IN_A_ROW: u32 = 64;

/// What the threads and the handle share.
#[derive(Debug)]
pub(crate) struct Control {
    stop: AtomicBool,
    /// Connections open, for `max_connections`.
    live: AtomicUsize,
    /// Threads running (or waiting to run) a group's loop.
    threads: Mutex<usize>,
    /// The same count, for a loop to read before each call of user code without a lock.
    threads_now: AtomicUsize,
    /// Handlers waiting for their request body with a thread standing in: threads of
    /// `max_body_waits`, not counted in the blocked handlers' budget.
    body_waits: AtomicUsize,
    exited: Condvar,
    /// The acceptor's waker.
    waker: Waker,
    /// Each group's notices, to wake it.
    groups: OnceLock<Vec<Arc<Notices>>>,
    /// The watchdog's thread, to unpark it.
    watchdog: OnceLock<thread::Thread>,
    /// The watchdog sleeps until user code starts: the server was idle.
    watchdog_parked: AtomicBool,
    /// Loop threads, and those waiting for a loop to run.
    spares: Mutex<Spares>,
    /// A loop is waiting in `Spares::loops` for a spare thread.
    spare_wanted: Condvar,
    /// A loop thread ended.
    spare_ended: Condvar,
}

/// Threads that ran a loop and retired, kept for the next loop that needs one.
#[derive(Default)]
struct Spares {
    /// Loop threads alive: running a loop or waiting for one.
    alive: usize,
    /// Of those, waiting for a loop.
    idle: usize,
    /// Loops given to the idle threads, not taken yet.
    loops: VecDeque<Arc<Group>>,
    /// The loop threads started, to join when the server stops (those that ended are
    /// dropped as new ones start).
    handles: Vec<thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Spares {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spares")
            .field("alive", &self.alive)
            .field("idle", &self.idle)
            .field("loops", &self.loops.len())
            .field("handles", &self.handles.len())
            .finish()
    }
}

impl Control {
    pub(crate) fn stop(&self) -> io::Result<()> {
        self.stop.store(true, Ordering::SeqCst);
        {
            // Under the lock: a spare about to wait sees the stop, or is woken.
            let _spares = self.spares();
            self.spare_wanted.notify_all();
        }
        self.wake_watchdog();
        self.waker.wake()?;
        for notices in self.groups.get().into_iter().flatten() {
            notices.wake();
        }
        Ok(())
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// User code is starting (its `busy` value already stored, `SeqCst`): a parked
    /// watchdog must watch again, or a handler that blocks would never be covered.
    pub(crate) fn user_code_starts(&self) {
        if self.watchdog_parked.load(Ordering::SeqCst) {
            self.wake_watchdog();
        }
    }

    fn wake_watchdog(&self) {
        if let Some(watchdog) = self.watchdog.get() {
            watchdog.unpark();
        }
    }

    pub(crate) fn connection_closed(&self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }

    /// Counts one more loop thread if fewer than `max` run, as `budget` counts them.
    /// `false`: none was added.
    pub(crate) fn add_thread(&self, max: usize, budget: Budget) -> bool {
        let mut threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        if self.counted(*threads, budget) >= max {
            return false;
        }
        *threads += 1;
        self.threads_now.store(*threads, Ordering::SeqCst);
        true
    }

    pub(crate) fn remove_thread(&self) {
        let mut threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        *threads -= 1;
        self.threads_now.store(*threads, Ordering::SeqCst);
        self.exited.notify_all();
    }

    /// Loop threads running, read without the lock.
    pub(crate) fn threads_now(&self) -> usize {
        self.threads_now.load(Ordering::SeqCst)
    }

    /// Loop threads running as `budget` counts them, read without the lock: the blocked
    /// handlers' budget leaves out those standing in for handlers waiting for their body.
    pub(crate) fn threads_counted(&self, budget: Budget) -> usize {
        self.counted(self.threads_now(), budget)
    }

    fn counted(&self, threads: usize, budget: Budget) -> usize {
        match budget {
            Budget::Blocked => threads.saturating_sub(self.body_waits.load(Ordering::SeqCst)),
            Budget::BodyWaits => threads,
        }
    }

    /// A handler waits for its request body, with a thread standing in.
    pub(crate) fn body_wait_started(&self) {
        self.body_waits.fetch_add(1, Ordering::SeqCst);
    }

    /// A handler counted by [`body_wait_started`](Self::body_wait_started) returned.
    pub(crate) fn body_wait_ended(&self) {
        self.body_waits.fetch_sub(1, Ordering::SeqCst);
    }

    /// Whether user code of the loop whose notices are `mine` may start: fewer than `max`
    /// threads run, counting one for each other loop's user code that may yet need one
    /// ([`Notices::needs_a_thread`]). If so, it is spoken for until the code ends or is
    /// covered. Under the lock, so two loops cannot both take the last thread.
    pub(crate) fn claim_thread(&self, max: usize, budget: Budget, mine: &Notices) -> bool {
        let threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        let threads = self.counted(*threads, budget);
        let others = self
            .groups
            .get()
            .into_iter()
            .flatten()
            .filter(|n| !std::ptr::eq(Arc::as_ptr(n), mine) && n.needs_a_thread())
            .count();
        let free = threads + others < max;
        if free {
            mine.claim();
        }
        free
    }

    /// A thread that ran a group's loop retired (for a handler that returned, or at the
    /// end): its room in the budget is free, and a loop holding back user code for want of
    /// it goes on (now, not at its next tick).
    pub(crate) fn loop_thread_retired(&self) {
        self.remove_thread();
        for notices in self.groups.get().into_iter().flatten() {
            notices.wake_if_holding_back();
        }
    }

    /// Waits until no loop thread is left, and no spare either.
    fn wait_for_threads(&self) {
        let mut threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        while *threads > 0 {
            threads = self.exited.wait(threads).unwrap_or_else(|e| e.into_inner());
        }
        drop(threads);
        let mut spares = self.spares();
        while spares.alive > 0 {
            spares = self
                .spare_ended
                .wait(spares)
                .unwrap_or_else(|e| e.into_inner());
        }
        // Gone from the count, each may still be on its way out: joined, none is left
        // running once the server has stopped.
        let handles = std::mem::take(&mut spares.handles);
        drop(spares);
        for handle in handles {
            let _ = handle.join();
        }
    }

    fn spares(&self) -> MutexGuard<'_, Spares> {
        self.spares.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `group`'s loop on a thread, counted already ([`add_thread`](Self::add_thread)):
    /// a spare one if one waits, else a new one named `name`. A spare costs a wake-up; a
    /// new thread, tens of microseconds more, for each handler stood in for.
    pub(crate) fn start_loop_thread(
        self: &Arc<Self>,
        group: Arc<Group>,
        name: impl FnOnce() -> String,
    ) -> io::Result<()> {
        let mut spares = self.spares();
        if spares.idle > spares.loops.len() {
            spares.loops.push_back(group);
            self.spare_wanted.notify_one();
            return Ok(());
        }
        spares.alive += 1;
        drop(spares);
        let control = Arc::clone(self);
        let spawned = thread::Builder::new()
            .name(name())
            .spawn(move || control.loop_thread(group));
        let mut spares = self.spares();
        match spawned {
            Ok(handle) => {
                spares.handles.retain(|h| !h.is_finished());
                spares.handles.push(handle);
                Ok(())
            }
            Err(e) => {
                spares.alive -= 1;
                self.spare_ended.notify_all();
                Err(e)
            }
        }
    }

    /// A loop thread's life: runs a loop until it retires from it (another thread wants
    /// it), then waits, a spare, for the next loop given to it, for [`SPARE_WAIT`].
    fn loop_thread(&self, mut group: Arc<Group>) {
        loop {
            group.run();
            drop(group);
            // Idle before the room is freed: the next thread started in that room may be
            // this one.
            self.spares().idle += 1;
            self.loop_thread_retired();
            match self.next_loop() {
                Some(next) => group = next,
                None => break,
            }
        }
        let mut spares = self.spares();
        spares.alive -= 1;
        self.spare_ended.notify_all();
    }

    /// The next loop for a spare thread, counted idle: `None` after [`SPARE_WAIT`]
    /// without one, or once the server stops.
    fn next_loop(&self) -> Option<Arc<Group>> {
        let deadline = Instant::now() + SPARE_WAIT;
        let mut spares = self.spares();
        loop {
            // Before the stop: a loop given was counted as a thread, which must run it.
            if let Some(group) = spares.loops.pop_front() {
                spares.idle -= 1;
                return Some(group);
            }
            let now = Instant::now();
            if self.stopping() || now >= deadline {
                spares.idle -= 1;
                return None;
            }
            spares = self
                .spare_wanted
                .wait_timeout(spares, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Runs the server until stopped: the acceptor on this thread, `config.workers` event
/// loops on threads of their own, and the watchdog.
pub(crate) fn run(
    mut listener: Listener,
    config: Config,
    ready: impl FnOnce(Arc<Control>),
) -> io::Result<()> {
    let workers = config.workers.max(1);
    let accept_poll = Poll::new()?;
    let control = Arc::new(Control {
        stop: AtomicBool::new(false),
        live: AtomicUsize::new(0),
        threads: Mutex::new(0),
        threads_now: AtomicUsize::new(0),
        body_waits: AtomicUsize::new(0),
        exited: Condvar::new(),
        waker: Waker::new(accept_poll.registry(), WAKER)?,
        groups: OnceLock::new(),
        watchdog: OnceLock::new(),
        watchdog_parked: AtomicBool::new(false),
        spares: Mutex::new(Spares::default()),
        spare_wanted: Condvar::new(),
        spare_ended: Condvar::new(),
    });
    let mut groups = Vec::new();
    let mut inboxes = Vec::new();
    for _ in 0..workers {
        let (tx, rx) = mpsc::channel::<Conn>();
        inboxes.push(tx);
        groups.push(Group::new(config.clone(), Arc::clone(&control), rx)?);
    }
    let _ = control
        .groups
        .set(groups.iter().map(|g| Arc::clone(&g.notices)).collect());
    accept_poll
        .registry()
        .register(&mut listener, LISTENER, mio::Interest::READABLE)?;

    for (i, group) in groups.iter().enumerate() {
        control.add_thread(usize::MAX, Budget::BodyWaits);
        let started =
            control.start_loop_thread(Arc::clone(group), || format!("pollhttp-worker-{i}"));
        if let Err(e) = started {
            control.remove_thread();
            let _ = control.stop();
            control.wait_for_threads();
            return Err(e);
        }
    }
    let watchdog = {
        let control = Arc::clone(&control);
        let groups = groups.clone();
        thread::Builder::new()
            .name("pollhttp-watchdog".into())
            .spawn(move || watch(&control, &groups))?
    };
    let _ = control.watchdog.set(watchdog.thread().clone());
    ready(Arc::clone(&control));

    let max_connections = config.max_connections.unwrap_or_else(|| {
        // Many idle connections are the point of this server: the soft limit (often
        // 1,024) goes up to what the default cap needs, within the hard limit, as Go's
        // runtime does for every program.
        let wanted = super::config::OPEN_FILES_WANTED;
        let open_files = crate::sys::raise_open_files_soft_limit(wanted)
            .or_else(|e| {
                log::warn!("cannot raise the open-files limit: {e}");
                crate::sys::open_files_soft_limit()
            })
            .unwrap_or_else(|e| {
                log::warn!("cannot read the open-files limit: {e}");
                None
            });
        super::config::default_max_connections(open_files)
    });
    log::debug!("serving at most {max_connections} connections at once");
    let result = accept_loop(
        accept_poll,
        &mut listener,
        &config,
        max_connections,
        &control,
        &groups,
        &inboxes,
    );
    // Whatever ended the acceptor, the loops stop too. The socket file goes now, while the
    // socket still listens (see `remove_socket_file`): no new client finds it, and a
    // successor can bind the path while the connections left are answered.
    listener.remove_socket_file();
    let _ = control.stop();
    drop(inboxes);
    control.wait_for_threads();
    let _ = watchdog.join();
    result
}

/// Every tick, has another thread take over a loop whose handler has run since the last
/// tick. After a second without user code it parks until some starts
/// ([`Control::user_code_starts`]): an idle server does not wake 200 times a second.
fn watch(control: &Control, groups: &[Arc<Group>]) {
    let mut seen = vec![None; groups.len()];
    let mut calls: Vec<u64> = groups.iter().map(|g| g.notices.calls()).collect();
    let mut quiet_ticks = 0;
    let mut burst_until: Option<Instant> = None;
    let mut eagerness: Vec<Eagerness> = groups.iter().map(|_| Eagerness::default()).collect();
    while !control.stopping() {
        let in_a_burst = burst_until.is_some_and(|until| Instant::now() < until);
        thread::sleep(if in_a_burst { WATCH_IN_A_BURST } else { WATCH });
        let mut quiet = true;
        let tick = Instant::now();
        for (i, group) in groups.iter().enumerate() {
            let notices = &group.notices;
            let (last, last_calls) = (&mut seen[i], &mut calls[i]);
            let running = notices.running();
            let now = notices.calls();
            let mut blocks = false;
            if running.is_some() && running == *last {
                if let Some(busy) = running {
                    // A handler newly found blocking; one covered already is no burst (a
                    // long poll would keep the watchdog at 1 ms ticks as long as it lasts).
                    if !notices.is_covered(busy) {
                        burst_until = Some(tick + BURST);
                        blocks = true;
                    }
                    notices.cover_within_budget(busy);
                }
            } else if let (Some(busy), Some(_)) = (running, *last) {
                // Another call running than at the last tick, and few made between: the
                // handlers block briefly, one after another.
                if !in_a_burst
                    && now.wrapping_sub(*last_calls) <= FEW_CALLS_A_TICK
                    && !notices.is_covered(busy)
                {
                    burst_until = Some(tick + BURST);
                    blocks = true;
                }
            }
            match eagerness[i].tick(tick, blocks, notices.eager_calls()) {
                Some(true) => {
                    log::debug!("handlers block lately: each is stood in for as it is called");
                    notices.set_eager(true);
                }
                Some(false) => {
                    log::debug!("handlers return at once again: called on the loop's thread");
                    notices.set_eager(false);
                }
                None => {}
            }
            *last = running;
            quiet &= running.is_none() && now == *last_calls;
            *last_calls = now;
        }
        quiet_ticks = if quiet { quiet_ticks + 1 } else { 0 };
        if quiet_ticks < QUIET_TICKS_BEFORE_PARKING {
            continue;
        }
        quiet_ticks = 0;
        // Parked, then a last look: user code that started before the flag was seen has
        // changed its group's count (both sides `SeqCst`), and any later start unparks.
        control.watchdog_parked.store(true, Ordering::SeqCst);
        let unchanged = groups
            .iter()
            .zip(&calls)
            .all(|(group, last)| group.notices.calls() == *last);
        if unchanged && !control.stopping() {
            thread::park();
        }
        control.watchdog_parked.store(false, Ordering::SeqCst);
    }
}

fn accept_loop(
    mut poll: Poll,
    listener: &mut Listener,
    config: &Config,
    max_connections: usize,
    control: &Control,
    groups: &[Arc<Group>],
    inboxes: &[Sender<Conn>],
) -> io::Result<()> {
    let mut events = Events::with_capacity(64);
    let mut next = 0;
    // Set while accepting is paused for a shortage: when to try again, and whether the
    // pause has been logged (once a shortage, not at every try).
    let mut retry: Option<Duration> = None;
    let mut shortage_logged = false;
    loop {
        if let Err(e) = poll.poll(&mut events, retry.take()) {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        if control.stopping() {
            return Ok(());
        }
        let mut failures = 0;
        loop {
            let (transport, peer, credentials) = match listener.accept() {
                Ok(accepted) => {
                    if shortage_logged {
                        log::info!("accepting connections again");
                        shortage_logged = false;
                    }
                    failures = 0;
                    accepted
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if is_shortage(&e) || failures >= ACCEPT_FAILURES_IN_A_ROW => {
                    if !shortage_logged {
                        log::warn!("accept failed: {e}; trying again every {ACCEPT_RETRY:?}");
                        shortage_logged = true;
                    }
                    retry = Some(ACCEPT_RETRY);
                    break;
                }
                Err(e) => {
                    // This connection's own trouble (reset before it was taken, refused by
                    // a firewall rule, its options not set): the next one may do.
                    log::debug!("accept failed: {e}");
                    failures += 1;
                    continue;
                }
            };
            if control.live.load(Ordering::SeqCst) >= max_connections {
                log::debug!("refusing {peer}: too many connections open");
                continue; // dropped: closed
            }
            let i = next % groups.len();
            next += 1;
            let session = Session::new(peer, credentials);
            let notices = Arc::clone(&groups[i].notices);
            let conn = match &config.tls {
                None => Conn::new(
                    Ok(ServerStream::with_limits(transport, config.limits)),
                    session,
                    notices,
                ),
                Some(tls) => match Handshake::server(transport, tls) {
                    Ok(handshake) => Conn::new(Err(handshake), session, notices),
                    Err(e) => {
                        log::warn!("TLS session setup failed: {e}");
                        continue;
                    }
                },
            };
            control.live.fetch_add(1, Ordering::SeqCst);
            if inboxes[i].send(conn).is_err() {
                control.live.fetch_sub(1, Ordering::SeqCst);
                continue;
            }
            groups[i].wake();
        }
    }
}

/// Whether `accept` failed for want of a resource of this process or of the system
/// (descriptors, socket buffers, memory), which a connection closing elsewhere may free.
fn is_shortage(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}
