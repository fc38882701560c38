//! [`Group`]: one event loop (a mio poller and its connections) that any of several
//! threads can run, one at a time, so that a handler that blocks delays only its own
//! connection.
//!
//! The thread running the loop calls handlers itself, with the loop released: a handler
//! that returns at once costs an uncontended lock and two atomic stores, and no thread
//! hand-off (the common case, and the fast one). A handler that blocks (it waits for its
//! request body, or sleeps, or calls a database) is noticed, by itself when it waits for
//! its body, or by the watchdog when it has run for a tick: another thread then takes the
//! loop over and the other connections move on. While handlers block lately, another
//! thread takes the loop as each is called, not a tick later ([`super::eager`]). When the
//! handler returns, its thread takes the loop back, and the thread that stood in for it
//! retires, to wait as a spare for the next loop that needs a thread. At most
//! `max_blocked_handlers` threads stand in at once. While all of them do, user code is
//! held back, in turn, until one is free (a retiring thread wakes the loop): code that
//! blocked on the loop's thread with no thread to take over would stop every other
//! connection's reads, writes and deadlines. Requests wait their turn; the loop goes on.
//!
//! (A pool of handler threads fed by the loop costs two thread hand-offs per request,
//! which halved the throughput of non-pipelined traffic in an earlier version.)

use std::cell::Cell;
use std::collections::VecDeque;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::thread;
use std::time::{Duration, Instant};

use http::StatusCode;
use mio::unix::SourceFd;
use mio::{Events, Poll, Token, Waker};

use super::config::{Config, NO_DEADLINE};
use super::conn::{Call, Conn, Next, Pump, Wait};
use super::eager::{is_slow, SLOW_CALL};
use super::pool::Control;
use super::request::Request;
use super::response::Response;
use super::session::Session;
use super::spin::Spin;
use crate::Interest;

pub(crate) const WAKER: Token = Token(0);
/// Connection slots start here.
const FIRST_SLOT: usize = 1;
/// How often deadlines are checked.
const TICK: Duration = Duration::from_millis(250);
/// TLS handshake steps a loop takes in one turn; the rest wait for the next turn, behind
/// what the poller has then. A server's first flight costs about 330 µs of crypto (ring,
/// here): a flood of 2,000 ClientHellos taken in one turn kept established connections
/// waiting half a second. Eight bound a turn's handshakes to a few milliseconds.
const HANDSHAKES_A_TURN: usize = 8;

thread_local! {
    /// The `busy` value of the handler this thread runs with its loop released, until
    /// another thread takes the loop over.
    static INLINE: Cell<Option<u64>> = const { Cell::new(None) };
    /// The `busy` value of the handler this thread runs, if it is counted as waiting for
    /// its request body (`Control::body_waits`) until it returns. Per thread, not per
    /// loop: many handlers of one loop wait for their bodies at once, each on its thread.
    static WAITING_FOR_BODY: Cell<u64> = const { Cell::new(0) };
}

/// Which threads may stand in for user code that blocks: those of the blocked-handler
/// budget, or also those kept for bodies under way (`max_body_waits`): a handler waiting
/// for its request body, and a response body's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Budget {
    Blocked,
    BodyWaits,
}

/// The most loop threads `budget` allows: one per worker, one per handler blocked within
/// `max_blocked_handlers`, and for `BodyWaits` those of `max_body_waits` too.
fn max_threads(config: &Config, budget: Budget) -> usize {
    config.workers
        + config.max_blocked_handlers
        + match budget {
            Budget::Blocked => 0,
            Budget::BodyWaits => config.max_body_waits,
        }
}

/// New work of a connection's user code: its handler, or its `on_connect` hook. (A
/// response body's code, work under way, is held back apart: see `held_back_bodies`.)
enum UserCode {
    Handle(Call, Option<Box<Session>>),
    Admit(Option<Box<Session>>),
}

/// In `Notices::busy`: the user code running is a response body's.
const BODY_CODE: u64 = 0b10;

/// What a group shares without its lock: notices from handlers' threads, and what the
/// watchdog looks at.
#[derive(Debug)]
pub(crate) struct Notices {
    /// Slots whose handler wants more of its request body.
    posted: Mutex<Vec<usize>>,
    waker: Waker,
    /// `seq << 2 | body << 1 | 1` while user code runs with the loop released (on the
    /// thread that released it), `body` set for a response body's code; the low bit clear
    /// otherwise.
    busy: AtomicU64,
    /// The last `busy` value another thread was started for.
    covered: AtomicU64,
    /// The loop holds back user code until a thread of the budget is free.
    holding_back: AtomicBool,
    /// A thread of the budget is spoken for: by user code allowed to start when few were
    /// left (until it ends or is covered), or by a cover being started.
    claimed: AtomicBool,
    /// Set by the watchdog while this loop's handlers block lately: each is stood in for as
    /// it is called, and timed.
    eager: AtomicBool,
    /// Handler calls stood in for eagerly that returned, and of those, the slow ones (see
    /// [`is_slow`]).
    eager_calls: AtomicU64,
    slow_calls: AtomicU64,
    group: OnceLock<Weak<Group>>,
}

impl Notices {
    /// A handler's thread needs the loop to do something for the connection in `slot`.
    pub(crate) fn post(&self, slot: usize) {
        lock(&self.posted).push(slot);
        let _ = self.waker.wake();
    }

    pub(crate) fn wake(&self) {
        let _ = self.waker.wake();
    }

    /// Wakes the loop if it holds back user code (a thread of the budget came free).
    pub(crate) fn wake_if_holding_back(&self) {
        if self.holding_back.load(Ordering::SeqCst) {
            self.wake();
        }
    }

    /// The calling handler is about to wait for its request body: if it holds the loop's
    /// turn, another thread takes the loop now, within `max_body_waits` beyond the
    /// blocked-handler budget. Only the loop can bring the body in, so a handler that
    /// waited for it with no thread on the loop would wait for ever (and every handler
    /// after it, on its own body): `false` says no thread could be had, and the handler
    /// must not wait. The client's rates and deadlines bound a wait that has one.
    pub(crate) fn handler_blocks(&self) -> bool {
        match INLINE.with(Cell::get) {
            Some(busy) => {
                let covered = self.cover(busy, Budget::BodyWaits);
                if covered {
                    self.waits_for_body(busy);
                }
                covered
            }
            None => true, // the loop is not this thread's to give
        }
    }

    /// The handler `busy`, stood in for, waits for its request body: its thread is one of
    /// `max_body_waits`, not of the blocked handlers' budget (even if the watchdog stood
    /// in for it first), until it returns. What it waits for is the client, whose rates
    /// and deadlines bound the wait; counted in the budget, slow uploads would hold back
    /// every other request.
    ///
    /// Marked on the handler's thread: a loop's handlers wait for their bodies many at
    /// once, and one mark per loop (as before) forgot each but the last, so the count
    /// only grew and the blocked handlers' budget, which leaves those threads out, was
    /// lifted by as many for good (a flood of uploads that never sent their bodies, then
    /// thousands of threads for handlers that block).
    #[cold]
    fn waits_for_body(&self, busy: u64) {
        if WAITING_FOR_BODY.with(|w| w.replace(busy)) == busy {
            return;
        }
        if let Some(group) = self.group.get().and_then(Weak::upgrade) {
            group.control.body_wait_started();
        }
    }

    /// The handler `busy` returned: if it was counted as waiting for its body, it is no
    /// more. (On the handler's thread, as `waits_for_body` is.)
    fn returned(&self, busy: u64) {
        if WAITING_FOR_BODY.with(Cell::get) == busy {
            WAITING_FOR_BODY.with(|w| w.set(0));
            if let Some(group) = self.group.get().and_then(Weak::upgrade) {
                group.control.body_wait_ended();
            }
        }
    }

    /// For the watchdog: another thread on the loop while the user code `busy` runs,
    /// within its budget (else later ticks try again): `max_blocked_handlers`, and for a
    /// response body's code `max_body_waits` beyond it.
    pub(crate) fn cover_within_budget(&self, busy: u64) {
        let budget = if busy & BODY_CODE != 0 {
            Budget::BodyWaits
        } else {
            Budget::Blocked
        };
        self.cover(busy, budget);
    }

    /// Starts another thread on the loop while the handler `busy` runs, once per handler
    /// call, if fewer than `budget` allows run the server's loops. `true` if a thread
    /// runs the loop for it (now or already), or it has returned.
    fn cover(&self, busy: u64, budget: Budget) -> bool {
        if self.busy.load(Ordering::Acquire) != busy {
            return true; // it returned
        }
        log::debug!("user code blocks: another thread takes its loop");
        self.stand_in(busy, budget)
    }

    /// Starts another thread on the loop for the user code `busy`, running or about to
    /// start, once per call, if fewer than `budget` allows run the server's loops. `true`
    /// if a thread runs the loop for it (now or already).
    fn stand_in(&self, busy: u64, budget: Budget) -> bool {
        // Counted as needing a thread until `add_thread` counts it (see `needs_a_thread`).
        self.claimed.store(true, Ordering::SeqCst);
        let previous = self.covered.swap(busy, Ordering::AcqRel);
        if previous == busy {
            self.claimed.store(false, Ordering::SeqCst);
            return true;
        }
        let Some(group) = self.group.get().and_then(Weak::upgrade) else {
            self.claimed.store(false, Ordering::SeqCst);
            return false; // no loop left to run
        };
        let added = group
            .control
            .add_thread(max_threads(&group.config, budget), budget);
        if !added {
            self.covered.store(previous, Ordering::SeqCst);
        }
        self.claimed.store(false, Ordering::SeqCst);
        if !added {
            return false;
        }
        log::trace!("another thread takes the loop");
        let started = group
            .control
            .start_loop_thread(Arc::clone(&group), || "pollhttp-loop".into());
        if let Err(e) = started {
            log::warn!("cannot start a thread for a blocked handler's loop: {e}");
            group.control.loop_thread_retired();
            self.covered.store(previous, Ordering::Release);
            return false;
        }
        true
    }

    /// Speaks for a thread for user code about to start (see `Control::claim_thread`).
    pub(crate) fn claim(&self) {
        self.claimed.store(true, Ordering::SeqCst);
    }

    /// Whether this loop's user code may need a thread the count of loop threads does not
    /// show yet: it runs with no thread standing in, or one is being started for it, or it
    /// was allowed to start when few were left.
    pub(crate) fn needs_a_thread(&self) -> bool {
        if self.claimed.load(Ordering::SeqCst) {
            return true;
        }
        let busy = self.busy.load(Ordering::SeqCst);
        busy & 1 == 1 && self.covered.load(Ordering::SeqCst) != busy
    }

    /// For the watchdog: whether another thread was started for the handler `busy`.
    pub(crate) fn is_covered(&self, busy: u64) -> bool {
        self.covered.load(Ordering::SeqCst) == busy
    }

    /// For the watchdog: how many times user code has started with the loop released.
    pub(crate) fn calls(&self) -> u64 {
        self.busy.load(Ordering::SeqCst) >> 2
    }

    /// Handlers block lately: another thread takes the loop as the handler `busy` is about
    /// to be called (it waits for the loop until the call releases it), not a tick after.
    #[inline(never)]
    fn cover_eagerly(&self, busy: u64) -> EagerCall {
        self.stand_in(busy, Budget::Blocked);
        EagerCall {
            usage: crate::sys::thread_usage(),
            began: Instant::now(),
        }
    }

    /// A handler stood in for eagerly returned: whether it was slow (see [`is_slow`]),
    /// counted for the watchdog.
    #[inline(never)]
    fn eager_call_returned(&self, call: EagerCall) -> bool {
        let elapsed = call.began.elapsed();
        // The thread's usage was read (a system call) as the call began; it is read again
        // only for a call that took long.
        let slow = elapsed >= SLOW_CALL && is_slow(elapsed, call.usage, crate::sys::thread_usage());
        self.eager_calls.fetch_add(1, Ordering::Relaxed);
        if slow {
            self.slow_calls.fetch_add(1, Ordering::Relaxed);
        }
        slow
    }

    /// For the watchdog: have another thread take the loop as each handler is called
    /// (`true`: its handlers block lately), or not.
    pub(crate) fn set_eager(&self, eager: bool) {
        self.eager.store(eager, Ordering::Relaxed);
    }

    /// For the watchdog: how many handlers stood in for eagerly have returned, and how
    /// many of them were slow (see [`is_slow`]).
    pub(crate) fn eager_calls(&self) -> (u64, u64) {
        (
            self.eager_calls.load(Ordering::Relaxed),
            self.slow_calls.load(Ordering::Relaxed),
        )
    }

    /// For the watchdog: the handler running now with the loop released, if any.
    pub(crate) fn running(&self) -> Option<u64> {
        let busy = self.busy.load(Ordering::Acquire);
        (busy & 1 == 1).then_some(busy)
    }
}

/// A handler call stood in for as it was called: when, and what its thread had used then
/// (see [`is_slow`]).
#[derive(Debug, Clone, Copy)]
struct EagerCall {
    began: Instant,
    usage: Option<(u64, Duration)>,
}

/// A connection in the loop.
struct Slot {
    conn: Conn,
    deadline: Instant,
    wait: Wait,
    interest: Interest,
}

/// What only the thread running the loop touches.
struct LoopState {
    poll: Poll,
    events: Events,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    /// Slots to drive, in order: from the last poll, from notices, new connections.
    ready: VecDeque<usize>,
    inbox: Receiver<Conn>,
    next_tick: Instant,
    stopping: bool,
    finished: bool,
    /// User code held back, in turn, while no thread of the budget is free: handlers and
    /// `on_connect` hooks, new work.
    held_back: VecDeque<(usize, UserCode)>,
    /// Response bodies' code held back, in turn, while no thread of `max_body_waits` is
    /// free either: responses under way, run before new work.
    held_back_bodies: VecDeque<(usize, Box<Pump>)>,
    /// Numbers the handler calls, for `busy`.
    calls: u64,
    spin: Spin,
    /// TLS handshake steps taken this turn (at most [`HANDSHAKES_A_TURN`]).
    handshakes: usize,
}

impl LoopState {
    /// Whether user code is held back.
    fn holds_back(&self) -> bool {
        !self.held_back.is_empty() || !self.held_back_bodies.is_empty()
    }

    /// Polls without blocking until events come or `spin` has passed since `began`: true
    /// if they came. Yields between polls, so that a thread waiting for this CPU (the
    /// client, another loop) is not kept waiting by the spin.
    fn spin_for_events(&mut self, began: Instant, spin: Duration) -> bool {
        loop {
            self.poll_events(Duration::ZERO);
            if self.finished || !self.events.is_empty() {
                return true;
            }
            if began.elapsed() >= spin {
                return false;
            }
            thread::yield_now();
        }
    }

    /// One `epoll_wait`; a failure other than an interruption finishes the loop.
    fn poll_events(&mut self, timeout: Duration) {
        if let Err(e) = self.poll.poll(&mut self.events, Some(timeout)) {
            if e.kind() != io::ErrorKind::Interrupted {
                log::error!("a server loop's poller failed: {e}");
                self.finished = true;
            }
        }
    }
}

/// One event loop and its connections.
pub(crate) struct Group {
    state: Mutex<LoopState>,
    pub(crate) notices: Arc<Notices>,
    /// Threads waiting to take the loop: the thread running it retires for them.
    wanted: AtomicUsize,
    config: Config,
    control: Arc<Control>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A handler's panic is caught outside any lock: a poisoned lock held nothing
    // half-done.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Group {
    pub(crate) fn new(
        config: Config,
        control: Arc<Control>,
        inbox: Receiver<Conn>,
    ) -> io::Result<Arc<Self>> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let notices = Arc::new(Notices {
            posted: Mutex::new(Vec::new()),
            waker,
            busy: AtomicU64::new(0),
            covered: AtomicU64::new(0),
            holding_back: AtomicBool::new(false),
            claimed: AtomicBool::new(false),
            eager: AtomicBool::new(false),
            eager_calls: AtomicU64::new(0),
            slow_calls: AtomicU64::new(0),
            group: OnceLock::new(),
        });
        let group = Arc::new(Self {
            state: Mutex::new(LoopState {
                poll,
                events: Events::with_capacity(1024),
                slots: Vec::new(),
                free: Vec::new(),
                ready: VecDeque::new(),
                inbox,
                next_tick: Instant::now() + TICK,
                stopping: false,
                finished: false,
                held_back: VecDeque::new(),
                held_back_bodies: VecDeque::new(),
                calls: 0,
                spin: Spin::new(config.spin),
                handshakes: 0,
            }),
            notices: Arc::clone(&notices),
            wanted: AtomicUsize::new(0),
            config,
            control,
        });
        let _ = notices.group.set(Arc::downgrade(&group));
        Ok(group)
    }

    /// Wakes the loop (a new connection, a stop).
    pub(crate) fn wake(&self) {
        self.notices.wake();
    }

    /// Runs the loop on this thread until it is handed to another or the group finishes.
    pub(crate) fn run(self: &Arc<Self>) {
        let guard = self.acquire();
        self.lead(guard);
    }

    /// Takes the loop: at once if it is free, else after its thread retires for us.
    fn acquire(&self) -> MutexGuard<'_, LoopState> {
        if let Ok(guard) = self.state.try_lock() {
            return guard;
        }
        self.wanted.fetch_add(1, Ordering::SeqCst);
        let _ = self.notices.waker.wake();
        let guard = lock(&self.state);
        self.wanted.fetch_sub(1, Ordering::SeqCst);
        guard
    }

    /// Runs the loop until another thread wants it or the group is finished.
    fn lead<'g>(self: &'g Arc<Self>, mut guard: MutexGuard<'g, LoopState>) {
        loop {
            if self.wanted.load(Ordering::SeqCst) > 0 || guard.finished {
                return;
            }
            // Waits only when nothing is ready; a connection sent to the back of the queue
            // (its turn used up) waits for what the poller has meanwhile.
            self.poll_once(&mut guard);
            for _ in 0..guard.ready.len() {
                let Some(index) = guard.ready.pop_front() else {
                    break;
                };
                guard = self.advance(guard, index);
                if self.wanted.load(Ordering::SeqCst) > 0 {
                    break;
                }
            }
            // After the ready connections: a held-back call that blocks holds the loop until
            // the watchdog notices, and in a row of them the others get a turn between each.
            if guard.holds_back() && self.wanted.load(Ordering::SeqCst) == 0 {
                guard = self.run_held_back(guard);
            }
        }
    }

    /// Waits for events (or the next tick), and collects what is ready.
    fn poll_once(&self, state: &mut LoopState) {
        let posted_before = !lock(&self.notices.posted).is_empty();
        let mut now = Instant::now();
        let held_back_may_run = (!state.held_back.is_empty()
            && self.control.threads_counted(Budget::Blocked)
                < max_threads(&self.config, Budget::Blocked))
            || (!state.held_back_bodies.is_empty()
                && self.control.threads_counted(Budget::BodyWaits)
                    < max_threads(&self.config, Budget::BodyWaits));
        if posted_before || !state.ready.is_empty() || held_back_may_run {
            state.poll_events(Duration::ZERO);
        } else {
            let began = now;
            let timeout = state.next_tick.saturating_duration_since(now);
            let spin = state.spin.budget().min(timeout);
            if spin.is_zero() || !state.spin_for_events(began, spin) {
                state.poll_events(timeout);
            }
            now = Instant::now();
            let took = now.duration_since(began);
            state.spin.waited(took, !state.events.is_empty());
        }
        if state.finished {
            return;
        }
        state.handshakes = 0;
        for event in state.events.iter() {
            if event.token() != WAKER {
                let index = event.token().0 - FIRST_SLOT;
                if event.is_read_closed() || event.is_error() {
                    if let Some(Some(slot)) = state.slots.get_mut(index) {
                        slot.conn.input_may_have_ended();
                    }
                }
                state.ready.push_back(index);
            }
        }
        let posted = std::mem::take(&mut *lock(&self.notices.posted));
        state.ready.extend(posted);
        while let Ok(conn) = state.inbox.try_recv() {
            if state.stopping {
                drop(conn);
                self.control.connection_closed();
            } else {
                self.add(state, conn);
            }
        }
        if now >= state.next_tick {
            state.next_tick = now + TICK;
            self.expire(state, now);
        }
        if self.control.stopping() && !state.stopping {
            state.stopping = true;
            // Idle connections close now; the others finish what they are doing.
            for index in 0..state.slots.len() {
                let idle = state.slots[index]
                    .as_ref()
                    .is_some_and(|s| s.wait == Wait::Idle || s.conn.is_idle());
                if idle {
                    self.close(state, index);
                }
            }
        }
        if state.stopping && state.free.len() == state.slots.len() {
            state.finished = true;
        }
    }

    /// A new connection: into a slot, registered, and driven at once (its request is
    /// probably there already).
    fn add(&self, state: &mut LoopState, mut conn: Conn) {
        let index = state.free.pop().unwrap_or_else(|| {
            state.slots.push(None);
            state.slots.len() - 1
        });
        conn.set_slot(index);
        let fd = conn.fd();
        let registered = state.poll.registry().register(
            &mut SourceFd(&fd),
            Token(index + FIRST_SLOT),
            mio::Interest::READABLE,
        );
        if let Err(e) = registered {
            log::warn!("cannot watch a connection: {e}");
            state.free.push(index);
            self.control.connection_closed();
            return;
        }
        let now = Instant::now();
        state.slots[index] = Some(Slot {
            conn,
            deadline: now + self.config.head_timeout,
            wait: Wait::Head,
            interest: Interest::READABLE,
        });
        state.ready.push_back(index);
    }

    /// Drives the connection in `index` until it waits or closes; calls its handler when
    /// it has a request.
    fn advance<'g>(
        self: &'g Arc<Self>,
        mut guard: MutexGuard<'g, LoopState>,
        index: usize,
    ) -> MutexGuard<'g, LoopState> {
        let state = &mut *guard;
        if let Some(Some(slot)) = state.slots.get_mut(index) {
            if slot.conn.in_handshake() {
                if state.handshakes >= HANDSHAKES_A_TURN {
                    // Its turn is used up: the connections past their handshakes go first.
                    state.ready.push_back(index);
                    return guard;
                }
                state.handshakes += 1;
            }
            slot.conn.woken();
        }
        loop {
            let state = &mut *guard;
            let Some(Some(slot)) = state.slots.get_mut(index) else {
                return guard;
            };
            if slot.wait == Wait::Linger {
                if !slot.conn.linger_read() {
                    self.close(state, index);
                }
                return guard;
            }
            // User code is called from each arm; only the held-back path makes a `UserCode`
            // of it, so the fast path stays as it was. No deadline while user code works
            // for a connection (`expire` keeps it).
            match slot.conn.drive(&self.config) {
                Next::Handle(call) => {
                    let session = slot.conn.take_session();
                    slot.wait = Wait::Handler;
                    if self.must_hold_back(state, Budget::Blocked) {
                        self.hold_back(state, index, UserCode::Handle(call, session));
                        return guard;
                    }
                    guard = self.call_handler(guard, index, call, session);
                }
                Next::Admit => {
                    let session = slot.conn.take_session();
                    slot.wait = Wait::Handler;
                    if self.must_hold_back(state, Budget::Blocked) {
                        self.hold_back(state, index, UserCode::Admit(session));
                        return guard;
                    }
                    let accepted;
                    (guard, accepted) = self.admit(guard, index, session);
                    if !accepted {
                        self.close(&mut guard, index);
                        return guard;
                    }
                }
                Next::Produce(mut pump) => {
                    slot.wait = Wait::Handler;
                    // A response under way: within `max_body_waits` beyond the handlers'
                    // budget, so that handlers that block do not hold it up.
                    if self.must_hold_back(state, Budget::BodyWaits) {
                        self.hold_back_body(state, index, pump);
                        return guard;
                    }
                    guard = self.released_body_code(guard, || pump.produce());
                    match guard.slots.get_mut(index) {
                        Some(Some(slot)) => slot.conn.produced(pump),
                        _ => return guard,
                    }
                }
                Next::Yield => {
                    // Still busy, so no deadline: back in turn after the others.
                    slot.wait = Wait::Handler;
                    state.ready.push_back(index);
                    return guard;
                }
                Next::Wait(interest, wait) if !(state.stopping && wait == Wait::Idle) => {
                    if interest != slot.interest {
                        let fd = slot.conn.fd();
                        let _ = state.poll.registry().reregister(
                            &mut SourceFd(&fd),
                            Token(index + FIRST_SLOT),
                            mio::Interest::from(interest),
                        );
                        slot.interest = interest;
                    }
                    slot.deadline = slot.conn.deadline(wait, &self.config, Instant::now());
                    slot.wait = wait;
                    return guard;
                }
                Next::Linger if !state.stopping => {
                    slot.conn.start_linger();
                    if slot.interest != Interest::READABLE {
                        let fd = slot.conn.fd();
                        let _ = state.poll.registry().reregister(
                            &mut SourceFd(&fd),
                            Token(index + FIRST_SLOT),
                            mio::Interest::READABLE,
                        );
                        slot.interest = Interest::READABLE;
                    }
                    slot.deadline = slot
                        .conn
                        .deadline(Wait::Linger, &self.config, Instant::now());
                    slot.wait = Wait::Linger;
                    // What the client sent meanwhile is dropped now.
                    if !slot.conn.linger_read() {
                        self.close(state, index);
                    }
                    return guard;
                }
                _ => {
                    self.close(state, index);
                    return guard;
                }
            }
        }
    }

    /// Whether user code may run now: a thread of the budget is free to stand in for it if
    /// it blocks. With no budget (`max_blocked_handlers(0)`) none ever is, and user code
    /// runs at once, holding up the loop if it blocks, as that setting says.
    ///
    /// While there are threads enough for every loop's user code to block at once, it just
    /// runs (one load). Near the end of the budget, the loops' user code that may yet need
    /// a thread is counted too, under the count's lock, so that two loops cannot both take
    /// the last thread and leave one of them stopped until a handler returns.
    fn may_run_user_code(&self, budget: Budget) -> bool {
        if self.config.max_blocked_handlers == 0 {
            return true;
        }
        let max = max_threads(&self.config, budget);
        self.control.threads_counted(budget) + self.config.workers <= max
            || self.control.claim_thread(max, budget, &self.notices)
    }

    /// Whether user code must wait its turn: some of its kind is held back already, or no
    /// thread of its budget is free (`Blocked`: handlers and hooks; `BodyWaits`: response
    /// bodies' code). Run on the loop's thread, code that blocked would stop the loop's
    /// other connections' reads, writes and deadlines, with no thread to take over.
    fn must_hold_back(&self, state: &LoopState, budget: Budget) -> bool {
        let queued = match budget {
            Budget::Blocked => !state.held_back.is_empty(),
            Budget::BodyWaits => !state.held_back_bodies.is_empty(),
        };
        queued || !self.may_run_user_code(budget)
    }

    /// Holds user code back, in turn, until a thread of the budget is free; the loop goes
    /// on with its other connections.
    #[cold]
    fn hold_back(&self, state: &mut LoopState, index: usize, code: UserCode) {
        state.held_back.push_back((index, code));
        self.holding_back(Budget::Blocked);
    }

    /// Holds a response body's code back, in turn, until a thread of `max_body_waits` is
    /// free.
    #[cold]
    fn hold_back_body(&self, state: &mut LoopState, index: usize, pump: Box<Pump>) {
        state.held_back_bodies.push_back((index, pump));
        self.holding_back(Budget::BodyWaits);
    }

    fn holding_back(&self, budget: Budget) {
        self.notices.holding_back.store(true, Ordering::SeqCst);
        // A stand-in that retired before the flag was set did not wake us: look again.
        if self.may_run_user_code(budget) {
            self.notices.wake();
        }
    }

    /// Runs held-back user code in turn while threads of the budget are free, responses
    /// under way first, each connection then driven with the others ready.
    #[cold]
    fn run_held_back<'g>(
        self: &'g Arc<Self>,
        mut guard: MutexGuard<'g, LoopState>,
    ) -> MutexGuard<'g, LoopState> {
        while !guard.held_back_bodies.is_empty()
            && self.wanted.load(Ordering::SeqCst) == 0
            && self.may_run_user_code(Budget::BodyWaits)
        {
            let Some((index, mut pump)) = guard.held_back_bodies.pop_front() else {
                break;
            };
            if !guard.holds_back() {
                self.notices.holding_back.store(false, Ordering::SeqCst);
            }
            log::trace!("a held-back response body's code runs now");
            guard = self.released_body_code(guard, || pump.produce());
            if let Some(Some(slot)) = guard.slots.get_mut(index) {
                slot.conn.produced(pump);
                guard.ready.push_back(index);
            }
        }
        while !guard.held_back.is_empty() && self.wanted.load(Ordering::SeqCst) == 0 {
            if self.drop_if_client_left(&mut guard) {
                continue;
            }
            if !self.may_run_user_code(Budget::Blocked) {
                break;
            }
            let Some((index, code)) = guard.held_back.pop_front() else {
                break;
            };
            if !guard.holds_back() {
                self.notices.holding_back.store(false, Ordering::SeqCst);
            }
            log::trace!("held-back user code runs now");
            let go_on;
            (guard, go_on) = self.run_now(guard, index, code);
            if go_on {
                guard.ready.push_back(index);
            }
        }
        guard
    }

    /// Drops the first held-back handler or hook if its client has left (closed its side,
    /// or reset): it is not called, and the connection closes. Such work would hold a
    /// thread, and delay the requests behind it, for nobody; hyper and nginx drop a request
    /// whose client closes too. (A response under way is left to fail on its own.)
    #[cold]
    fn drop_if_client_left(&self, state: &mut LoopState) -> bool {
        let Some(&(index, _)) = state.held_back.front() else {
            return false;
        };
        let Some(Some(slot)) = state.slots.get_mut(index) else {
            return false;
        };
        if !slot.conn.client_has_left() {
            return false;
        }
        log::debug!("a client left before its held-back handler was called: not called");
        slot.conn.abandon();
        state.held_back.pop_front();
        if !state.holds_back() {
            self.notices.holding_back.store(false, Ordering::SeqCst);
        }
        self.close(state, index);
        true
    }

    /// Runs held-back user code with the loop released; `true`: drive the connection on.
    #[cold]
    fn run_now<'g>(
        self: &'g Arc<Self>,
        guard: MutexGuard<'g, LoopState>,
        index: usize,
        code: UserCode,
    ) -> (MutexGuard<'g, LoopState>, bool) {
        match code {
            UserCode::Handle(call, session) => {
                (self.call_handler(guard, index, call, session), true)
            }
            UserCode::Admit(session) => {
                let (mut guard, accepted) = self.admit(guard, index, session);
                if !accepted {
                    self.close(&mut guard, index);
                }
                (guard, accepted)
            }
        }
    }

    /// Runs user code (a handler, a hook, a response body's code) with the loop released,
    /// so that another thread can take the loop over if it blocks; returns with the loop
    /// taken again.
    fn released<'g, R>(
        self: &'g Arc<Self>,
        guard: MutexGuard<'g, LoopState>,
        work: impl FnOnce() -> R,
    ) -> (MutexGuard<'g, LoopState>, R) {
        let result = self.unlocked(guard, 0, work);
        (self.acquire(), result)
    }

    /// [`released`](Self::released) for a response body's code, which a thread of
    /// `max_body_waits` stands in for if it blocks.
    fn released_body_code<'g>(
        self: &'g Arc<Self>,
        guard: MutexGuard<'g, LoopState>,
        produce: impl FnOnce(),
    ) -> MutexGuard<'g, LoopState> {
        self.unlocked(guard, BODY_CODE, produce);
        self.acquire()
    }

    /// [`released`](Self::released) without taking the loop again (the caller does):
    /// what `work` returns is not moved into a pair with the guard, a copy of a large
    /// `Response`.
    #[inline(always)]
    fn unlocked<R>(
        &self,
        mut guard: MutexGuard<'_, LoopState>,
        kind: u64,
        work: impl FnOnce() -> R,
    ) -> R {
        guard.calls += 1;
        // (`call_handler` makes the same mark before the call.)
        let busy = guard.calls << 2 | kind | 1;
        // `SeqCst` with the watchdog's parking flag: it sees this start, or we see it parked.
        self.notices.busy.store(busy, Ordering::SeqCst);
        self.control.user_code_starts();
        INLINE.with(|c| c.set(Some(busy)));
        drop(guard);

        // The end of the user code is marked when `_ended` drops, after `work`'s result
        // is in place: returned as it is made, without a copy.
        let _ended = UserCodeEnded {
            notices: &self.notices,
            call: busy,
        };
        work()
    }

    /// Calls the handler with the loop released; returns with the loop taken again and
    /// the response given to the connection. Inlined in the loop's fast path, though held-
    /// back calls make a second caller: a call here costs a copy of the request head.
    #[inline(always)]
    fn call_handler<'g>(
        self: &'g Arc<Self>,
        guard: MutexGuard<'g, LoopState>,
        index: usize,
        call: Call,
        session: Option<Box<Session>>,
    ) -> MutexGuard<'g, LoopState> {
        let Some(mut session) = session else {
            return guard;
        };
        let handler = &self.config.handler;
        // The call's mark, as `unlocked` makes it.
        let busy = (guard.calls + 1) << 2 | 1;
        let eager_call = if self.notices.eager.load(Ordering::Relaxed) {
            Some(self.notices.cover_eagerly(busy))
        } else {
            None
        };
        let response = self.unlocked(guard, 0, || {
            let method = call.head.method().clone();
            // The request is made inside: not moved through `catch_unwind`'s argument.
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                handler(
                    &mut session,
                    Request::new(call.head, call.framing, call.feed),
                )
            }));
            outcome.unwrap_or_else(|_| {
                log::error!("a handler panicked ({method}); answering 500 and closing");
                session.close = true;
                Response::text(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
            })
        });
        // One atomic load: whether the watchdog found it blocking (another handler stood
        // in for later may have replaced the mark, which only costs this response its
        // early flush). Stood in for eagerly, it blocked if it was slow.
        let stood_in_for = match eager_call {
            Some(call) => self.notices.eager_call_returned(call),
            None => self.notices.is_covered(busy),
        };
        let mut guard = self.acquire();
        if let Some(Some(slot)) = guard.slots.get_mut(index) {
            slot.conn.respond(session, response);
            if stood_in_for {
                slot.conn.handler_was_slow();
            }
        }
        guard
    }

    /// Calls the `on_connect` hook with the loop released (it may look things up, or
    /// block); returns with the loop taken again and whether the connection stays. A hook
    /// that panics refuses the connection.
    fn admit<'g>(
        self: &'g Arc<Self>,
        guard: MutexGuard<'g, LoopState>,
        index: usize,
        session: Option<Box<Session>>,
    ) -> (MutexGuard<'g, LoopState>, bool) {
        let (Some(mut session), Some(hook)) = (session, self.config.on_connect.as_ref()) else {
            return (guard, false);
        };
        let (mut guard, accepted) = self.released(guard, || {
            matches!(
                catch_unwind(AssertUnwindSafe(|| hook(&mut session))),
                Ok(true)
            )
        });
        let accepted = match guard.slots.get_mut(index) {
            Some(Some(slot)) => slot.conn.admitted(session, accepted),
            _ => false,
        };
        (guard, accepted)
    }

    /// Closes the connection in `index`, unless its handler is working (it closes when the
    /// handler returns).
    fn close(&self, state: &mut LoopState, index: usize) {
        if state.slots[index]
            .as_ref()
            .is_some_and(|s| s.conn.running_user_code())
        {
            return;
        }
        if let Some(slot) = state.slots.get_mut(index).and_then(Option::take) {
            let fd = slot.conn.fd();
            let _ = state.poll.registry().deregister(&mut SourceFd(&fd));
            state.free.push(index);
            self.control.connection_closed();
        }
    }

    fn expire(&self, state: &mut LoopState, now: Instant) {
        for index in 0..state.slots.len() {
            let Some(slot) = state.slots[index].as_mut() else {
                continue;
            };
            if slot.deadline > now {
                continue;
            }
            if let Some(later) = slot.conn.recheck(slot.wait, &self.config, now) {
                slot.deadline = later;
                continue;
            }
            if slot.conn.expire(slot.wait) {
                self.close(state, index);
            } else {
                slot.wait = Wait::Handler;
                slot.deadline = now + NO_DEADLINE;
            }
        }
    }
}

/// Marks the end of user code run with the loop released (see `Group::unlocked`) when it
/// drops: as before, not if the user code panicked through it.
struct UserCodeEnded<'a> {
    notices: &'a Notices,
    call: u64,
}

impl Drop for UserCodeEnded<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            return;
        }
        INLINE.with(|c| c.set(None));
        self.notices.returned(self.call);
        if self.notices.claimed.load(Ordering::Relaxed) {
            self.notices.claimed.store(false, Ordering::SeqCst);
        }
        let _ = self.notices.busy.compare_exchange(
            self.call,
            self.call & !1,
            Ordering::AcqRel,
            Ordering::Relaxed,
        );
    }
}
