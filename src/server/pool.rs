//! Event-loop workers: each worker thread owns a mio poller and the connections it was
//! given. A connection waits in its worker's poller (costing no thread and no buffer) and is
//! driven on that thread when it has something to read, with no hand-off between threads
//! per request. An acceptor thread takes new connections and deals them to the workers in
//! turn.
//!
//! (A first version kept idle connections in one poller and handed each ready connection
//! to a pool of workers and back: two thread hand-offs and two registrations per request,
//! which halved the throughput of non-pipelined traffic.)

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Poll, Token, Waker};

use super::config::Config;
use super::conn::{drive, Conn, Next, Wait};
use super::listener::Listener;
use super::session::Session;
use crate::op::link::Link;
use crate::tls::Handshake;
use crate::Interest;

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// Connection slots start here.
const FIRST_SLOT: usize = 2;
/// How often deadlines are checked.
const TICK: Duration = Duration::from_millis(250);

/// What the threads and the handle share.
#[derive(Debug)]
pub(crate) struct Control {
    stop: AtomicBool,
    /// Connections open, for `max_connections`.
    live: AtomicUsize,
    /// The acceptor's waker, then each worker's.
    wakers: Vec<Waker>,
}

impl Control {
    pub(crate) fn stop(&self) -> io::Result<()> {
        self.stop.store(true, Ordering::SeqCst);
        for waker in &self.wakers {
            waker.wake()?;
        }
        Ok(())
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// Runs the server until stopped: the acceptor on this thread, `config.workers` event
/// loops on threads of their own.
pub(crate) fn run(
    mut listener: Listener,
    config: Config,
    ready: impl FnOnce(Arc<Control>),
) -> io::Result<()> {
    let workers = config.workers.max(1);
    let accept_poll = Poll::new()?;
    let mut polls = Vec::new();
    let mut wakers = vec![Waker::new(accept_poll.registry(), WAKER)?];
    for _ in 0..workers {
        let poll = Poll::new()?;
        wakers.push(Waker::new(poll.registry(), WAKER)?);
        polls.push(poll);
    }
    let control = Arc::new(Control {
        stop: AtomicBool::new(false),
        live: AtomicUsize::new(0),
        wakers,
    });
    accept_poll
        .registry()
        .register(&mut listener, LISTENER, mio::Interest::READABLE)?;
    ready(Arc::clone(&control));

    let mut inboxes = Vec::new();
    let mut threads = Vec::new();
    for (i, poll) in polls.into_iter().enumerate() {
        let (tx, rx) = mpsc::channel::<Conn>();
        inboxes.push(tx);
        let control = Arc::clone(&control);
        let config = config.clone();
        threads.push(
            thread::Builder::new()
                .name(format!("pollhttp-worker-{i}"))
                .spawn(move || {
                    let mut worker = Worker {
                        poll,
                        slots: Vec::new(),
                        free: Vec::new(),
                        config,
                    };
                    worker.run(&rx, &control);
                })?,
        );
    }
    let max_connections = config.max_connections.unwrap_or_else(|| {
        let open_files = crate::sys::open_files_soft_limit().unwrap_or_else(|e| {
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
        &inboxes,
    );
    // Whatever ended the acceptor, the workers stop too.
    let _ = control.stop();
    drop(inboxes);
    for thread in threads {
        let _ = thread.join();
    }
    result
}

fn accept_loop(
    mut poll: Poll,
    listener: &mut Listener,
    config: &Config,
    max_connections: usize,
    control: &Control,
    inboxes: &[Sender<Conn>],
) -> io::Result<()> {
    let mut events = Events::with_capacity(64);
    let mut next = 0;
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        if control.stopping() {
            return Ok(());
        }
        loop {
            let (transport, peer, credentials) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    // Out of descriptors, a connection reset before accept...: go on later.
                    log::warn!("accept failed: {e}");
                    break;
                }
            };
            if control.live.load(Ordering::SeqCst) >= max_connections {
                log::debug!("refusing {peer}: too many connections open");
                continue; // dropped: closed
            }
            let session = Session::new(peer, credentials);
            let conn = match &config.tls {
                None => Conn::new(Ok(Link::Plain(transport)), session, config),
                Some(tls) => match Handshake::server(transport, tls) {
                    Ok(handshake) => Conn::new(Err(handshake), session, config),
                    Err(e) => {
                        log::warn!("TLS session setup failed: {e}");
                        continue;
                    }
                },
            };
            control.live.fetch_add(1, Ordering::SeqCst);
            let i = next % inboxes.len();
            next += 1;
            if inboxes[i].send(conn).is_err() {
                control.live.fetch_sub(1, Ordering::SeqCst);
                continue;
            }
            let _ = control.wakers[i + 1].wake();
        }
    }
}

/// A connection waiting in a worker's poller.
struct Slot {
    conn: Conn,
    deadline: Instant,
    wait: Wait,
    interest: Interest,
}

struct Worker {
    poll: Poll,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    config: Config,
}

impl Worker {
    fn run(&mut self, inbox: &Receiver<Conn>, control: &Control) {
        let mut events = Events::with_capacity(1024);
        let mut next_tick = Instant::now() + TICK;
        let mut stopping = false;
        loop {
            let timeout = next_tick.saturating_duration_since(Instant::now());
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    log::error!("a worker's poller failed: {e}");
                    return;
                }
            }
            let ready: Vec<usize> = events
                .iter()
                .filter(|e| e.token() != WAKER)
                .map(|e| e.token().0 - FIRST_SLOT)
                .collect();
            for index in ready {
                self.ready(index, control, stopping);
            }
            while let Ok(conn) = inbox.try_recv() {
                if stopping {
                    drop(conn);
                    control.live.fetch_sub(1, Ordering::SeqCst);
                } else {
                    // A new connection: its request is probably there already.
                    self.advance(conn, control, false);
                }
            }
            let now = Instant::now();
            if now >= next_tick {
                next_tick = now + TICK;
                self.expire(now, control);
            }
            if control.stopping() && !stopping {
                stopping = true;
                // Idle connections close now; lingering ones finish their linger.
                for index in 0..self.slots.len() {
                    let idle = self.slots[index]
                        .as_ref()
                        .is_some_and(|s| s.wait != Wait::Linger);
                    if idle {
                        self.close(index, control);
                    }
                }
            }
            if stopping && self.free.len() == self.slots.len() {
                return;
            }
        }
    }

    /// A connection's socket is ready.
    fn ready(&mut self, index: usize, control: &Control, stopping: bool) {
        let lingering = match self.slots.get_mut(index) {
            Some(Some(slot)) if slot.wait == Wait::Linger => {
                if !slot.conn.linger_read() {
                    self.close(index, control);
                }
                true
            }
            Some(Some(_)) => false,
            _ => return,
        };
        if lingering {
            return;
        }
        let Some(slot) = self.slots[index].take() else {
            return;
        };
        // Still registered: driven, then back in its slot or closed.
        self.advance_registered(slot, index, control, stopping);
    }

    /// Drives a connection that is registered in `index` (now vacated).
    fn advance_registered(&mut self, slot: Slot, index: usize, control: &Control, stopping: bool) {
        let Slot {
            mut conn, interest, ..
        } = slot;
        let next = drive(&mut conn, &self.config);
        let fd = conn.fd();
        match next {
            Next::Wait(want, wait) if !stopping => {
                // Back in the same slot: no registration change unless the interest did.
                if want != interest {
                    let _ = self.poll.registry().reregister(
                        &mut SourceFd(&fd),
                        Token(index + FIRST_SLOT),
                        mio::Interest::from(want),
                    );
                }
                let deadline = conn.deadline(wait, &self.config, Instant::now());
                self.slots[index] = Some(Slot {
                    conn,
                    deadline,
                    wait,
                    interest: want,
                });
            }
            Next::Linger if !stopping => {
                conn.start_linger();
                if interest != Interest::READABLE {
                    let _ = self.poll.registry().reregister(
                        &mut SourceFd(&fd),
                        Token(index + FIRST_SLOT),
                        mio::Interest::READABLE,
                    );
                }
                let deadline = conn.deadline(Wait::Linger, &self.config, Instant::now());
                self.slots[index] = Some(Slot {
                    conn,
                    deadline,
                    wait: Wait::Linger,
                    interest: Interest::READABLE,
                });
            }
            _ => {
                let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
                drop(conn);
                self.free.push(index);
                control.live.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// Drives a connection that is not registered yet.
    fn advance(&mut self, mut conn: Conn, control: &Control, stopping: bool) {
        let next = drive(&mut conn, &self.config);
        let (interest, wait) = match next {
            Next::Wait(interest, wait) if !stopping => (interest, wait),
            Next::Linger if !stopping => {
                conn.start_linger();
                (Interest::READABLE, Wait::Linger)
            }
            _ => {
                drop(conn);
                control.live.fetch_sub(1, Ordering::SeqCst);
                return;
            }
        };
        let index = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        let fd = conn.fd();
        let registered = self.poll.registry().register(
            &mut SourceFd(&fd),
            Token(index + FIRST_SLOT),
            mio::Interest::from(interest),
        );
        if let Err(e) = registered {
            log::warn!("cannot watch a connection: {e}");
            self.free.push(index);
            control.live.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        let deadline = conn.deadline(wait, &self.config, Instant::now());
        self.slots[index] = Some(Slot {
            conn,
            deadline,
            wait,
            interest,
        });
    }

    fn close(&mut self, index: usize, control: &Control) {
        if let Some(slot) = self.slots.get_mut(index).and_then(Option::take) {
            let fd = slot.conn.fd();
            let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
            self.free.push(index);
            control.live.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn expire(&mut self, now: Instant, control: &Control) {
        for index in 0..self.slots.len() {
            let expired = match &self.slots[index] {
                Some(slot) if slot.deadline <= now => Some(slot.wait),
                _ => None,
            };
            let Some(wait) = expired else { continue };
            if wait == Wait::Head {
                // A slow head (or handshake): 408 where it can still be said.
                if let Some(slot) = self.slots[index].as_mut() {
                    slot.conn.time_out();
                }
            }
            self.close(index, control);
        }
    }
}
