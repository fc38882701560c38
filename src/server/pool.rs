//! The poller and the workers: idle connections wait in one mio poller, costing no thread
//! and no buffer; a connection with something to read goes to a worker from a bounded
//! pool, which drives it until it waits again (or closes) and hands it back.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Poll, Token, Waker};

use super::config::Config;
use super::conn::{deadline, drive, Conn, Next, Wait};
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

/// What the poller and the handle share.
#[derive(Debug)]
pub(crate) struct Control {
    stop: AtomicBool,
    waker: Waker,
}

impl Control {
    pub(crate) fn stop(&self) -> io::Result<()> {
        self.stop.store(true, Ordering::SeqCst);
        self.waker.wake()
    }
}

/// An idle (or waiting) connection in the poller.
struct Slot {
    conn: Conn,
    deadline: Instant,
    wait: Wait,
}

/// Runs the server until stopped: the poller on this thread, `config.workers` workers.
pub(crate) fn run(
    mut listener: Listener,
    config: Config,
    ready: impl FnOnce(Arc<Control>),
) -> io::Result<()> {
    let poll = Poll::new()?;
    let control = Arc::new(Control {
        stop: AtomicBool::new(false),
        waker: Waker::new(poll.registry(), WAKER)?,
    });
    poll.registry()
        .register(&mut listener, LISTENER, mio::Interest::READABLE)?;
    ready(Arc::clone(&control));

    let (work_tx, work_rx) = mpsc::channel::<Conn>();
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (done_tx, done_rx) = mpsc::channel::<(Conn, Next)>();
    let mut workers = Vec::new();
    for i in 0..config.workers.max(1) {
        let work_rx = Arc::clone(&work_rx);
        let done_tx = done_tx.clone();
        let control = Arc::clone(&control);
        let config = config.clone();
        workers.push(
            thread::Builder::new()
                .name(format!("pollhttp-worker-{i}"))
                .spawn(move || worker(&work_rx, &done_tx, &control, &config))?,
        );
    }
    drop(done_tx);

    let mut poller = Poller {
        poll,
        slots: Vec::new(),
        free: Vec::new(),
        live: 0,
        work_tx: Some(work_tx),
        config,
    };
    let result = poller.run(&mut listener, &control, &done_rx);
    poller.work_tx = None; // workers see the end of the queue and stop
    for worker in workers {
        let _ = worker.join();
    }
    result
}

fn worker(
    work: &Mutex<Receiver<Conn>>,
    done: &Sender<(Conn, Next)>,
    control: &Control,
    config: &Config,
) {
    loop {
        let next = work.lock().map(|rx| rx.recv());
        let Ok(Ok(mut conn)) = next else {
            return;
        };
        let next = drive(&mut conn, config);
        if done.send((conn, next)).is_err() {
            return;
        }
        let _ = control.waker.wake();
    }
}

struct Poller {
    poll: Poll,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    /// Connections open: in slots and with workers.
    live: usize,
    work_tx: Option<Sender<Conn>>,
    config: Config,
}

impl Poller {
    fn run(
        &mut self,
        listener: &mut Listener,
        control: &Control,
        done: &Receiver<(Conn, Next)>,
    ) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut next_tick = Instant::now() + TICK;
        let mut stopping = false;
        loop {
            let timeout = next_tick.saturating_duration_since(Instant::now());
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            let mut ready = VecDeque::new();
            for event in &events {
                match event.token() {
                    LISTENER => {
                        if !stopping {
                            self.accept(listener);
                        }
                    }
                    WAKER => {}
                    Token(t) => ready.push_back(t - FIRST_SLOT),
                }
            }
            for index in ready {
                self.dispatch(index);
            }
            while let Ok((conn, next)) = done.try_recv() {
                self.returned(conn, next, stopping);
            }
            let now = Instant::now();
            if now >= next_tick {
                next_tick = now + TICK;
                self.expire(now);
            }
            if control.stop.load(Ordering::SeqCst) && !stopping {
                stopping = true;
                let _ = self.poll.registry().deregister(listener);
                // Idle connections close now; busy ones when their worker is done.
                for index in 0..self.slots.len() {
                    if self.slots[index].is_some() {
                        self.close(index);
                    }
                }
            }
            if stopping && self.live == 0 {
                return Ok(());
            }
        }
    }

    fn accept(&mut self, listener: &mut Listener) {
        loop {
            let (transport, peer, credentials) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    // Out of descriptors, a connection reset before accept...: go on later.
                    log::warn!("accept failed: {e}");
                    return;
                }
            };
            if self.live >= self.config.max_connections {
                log::debug!("refusing {peer}: {} connections open", self.live);
                continue; // dropped: closed
            }
            let session = Session::new(peer, credentials);
            let (conn, wait) = match &self.config.tls {
                None => (
                    Conn::new(Ok(Link::Plain(transport)), session, &self.config),
                    Wait::Idle,
                ),
                Some(tls) => match Handshake::server(transport, tls) {
                    Ok(handshake) => (Conn::new(Err(handshake), session, &self.config), Wait::Head),
                    Err(e) => {
                        log::warn!("TLS session setup failed: {e}");
                        continue;
                    }
                },
            };
            self.live += 1;
            self.park(conn, Interest::READABLE, wait);
        }
    }

    /// Puts a connection in a slot, waiting for `interest`.
    fn park(&mut self, conn: Conn, interest: Interest, wait: Wait) {
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
            self.live -= 1;
            return;
        }
        self.slots[index] = Some(Slot {
            conn,
            deadline: deadline(wait, &self.config, Instant::now()),
            wait,
        });
    }

    fn take(&mut self, index: usize) -> Option<Conn> {
        let slot = self.slots.get_mut(index)?.take()?;
        let fd = slot.conn.fd();
        let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
        self.free.push(index);
        Some(slot.conn)
    }

    fn dispatch(&mut self, index: usize) {
        // A lingering connection is read here: what the client sends is dropped.
        if let Some(Some(slot)) = self.slots.get_mut(index) {
            if slot.wait == Wait::Linger {
                if !slot.conn.linger_read() {
                    self.close(index);
                }
                return;
            }
        }
        let Some(conn) = self.take(index) else {
            return;
        };
        match &self.work_tx {
            Some(tx) => {
                if tx.send(conn).is_err() {
                    self.live -= 1;
                }
            }
            None => self.live -= 1,
        }
    }

    fn returned(&mut self, mut conn: Conn, next: Next, stopping: bool) {
        match next {
            Next::Wait(interest, wait) if !stopping => self.park(conn, interest, wait),
            Next::Linger => {
                conn.start_linger();
                self.park(conn, Interest::READABLE, Wait::Linger);
            }
            _ => {
                drop(conn);
                self.live -= 1;
            }
        }
    }

    fn close(&mut self, index: usize) {
        if self.take(index).is_some() {
            self.live -= 1;
        }
    }

    fn expire(&mut self, now: Instant) {
        for index in 0..self.slots.len() {
            let expired = match &self.slots[index] {
                Some(slot) if slot.deadline <= now => Some(slot.wait),
                _ => None,
            };
            let Some(wait) = expired else { continue };
            if let Some(mut conn) = self.take(index) {
                if wait == Wait::Head {
                    // A slow head (or handshake): 408 where it can still be said.
                    conn.time_out();
                }
                self.live -= 1;
            }
        }
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        for slot in self.slots.iter_mut() {
            if let Some(slot) = slot.take() {
                let fd = slot.conn.fd();
                let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
            }
        }
    }
}
