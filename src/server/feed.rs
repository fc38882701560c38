//! [`Feed`]: a request body on its way from the event loop to a handler.
//!
//! The event loop reads the body from the socket (never waiting for it) and appends it
//! here; the handler's [`RequestBody`](super::RequestBody) takes it out, and waits only
//! on its own thread. The loop reads ahead at most [`AHEAD`] bytes: a handler that reads
//! slowly slows the client down through TCP, and holds no more memory than that.

use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use http::HeaderMap;

use super::group::Notices;

/// How much of a body the loop reads ahead of the handler.
pub(crate) const AHEAD: usize = 64 * 1024;

/// How a body ended, as the handler will see it.
#[derive(Debug)]
enum Ending {
    /// The whole body arrived, with these trailers.
    Complete(HeaderMap),
    /// It did not: the client closed, stalled, or broke the framing.
    Failed(io::ErrorKind, String),
}

#[derive(Debug, Default)]
struct State {
    /// Bytes received and not yet read by the handler: `data[taken..]`.
    data: Vec<u8>,
    taken: usize,
    ending: Option<Ending>,
    /// The loop was told (and not yet served): no second notice is needed.
    noticed: bool,
    /// The handler has returned: nothing more will be read from here.
    abandoned: bool,
    /// The handler is waiting on `arrived`: wake it.
    sleeping: bool,
    /// Nothing is to be read before the handler asks (the client waits for a `100
    /// Continue`, which goes out only then).
    hold: bool,
}

/// A body in transit; shared by the loop (producer) and one handler (consumer).
#[derive(Debug)]
pub(crate) struct Feed {
    state: Mutex<State>,
    arrived: Condvar,
    /// Tells the loop a connection needs it; the connection's slot.
    notices: Arc<Notices>,
    slot: usize,
}

impl Feed {
    /// A feed for the connection in `slot`; with `hold`, nothing is read before the
    /// handler asks.
    pub(crate) fn new(notices: Arc<Notices>, slot: usize, hold: bool) -> Self {
        Self {
            state: Mutex::new(State {
                hold,
                ..State::default()
            }),
            arrived: Condvar::new(),
            notices,
            slot,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A handler that panicked while holding it left nothing half-done.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Loop side: how many more bytes the loop should read for the handler now (0: none).
    pub(crate) fn room(&self) -> usize {
        let state = self.lock();
        if state.ending.is_some() || state.abandoned || state.hold {
            return 0;
        }
        AHEAD.saturating_sub(state.data.len() - state.taken)
    }

    /// Loop side: the notice was seen.
    pub(crate) fn clear_notice(&self) {
        self.lock().noticed = false;
    }

    /// Loop side: adds bytes with `append` (which returns how many it added).
    pub(crate) fn push(&self, append: impl FnOnce(&mut Vec<u8>) -> usize) -> usize {
        let mut state = self.lock();
        if state.taken > 0 && state.taken == state.data.len() {
            state.data.clear();
            state.taken = 0;
        }
        let n = append(&mut state.data);
        if n > 0 {
            Self::wake(&state, &self.arrived);
        }
        n
    }

    /// Loop side: the body is complete.
    pub(crate) fn complete(&self, trailers: HeaderMap) {
        let mut state = self.lock();
        state.ending.get_or_insert(Ending::Complete(trailers));
        Self::wake(&state, &self.arrived);
    }

    /// Loop side: the body will not be complete.
    pub(crate) fn fail(&self, kind: io::ErrorKind, message: impl Into<String>) {
        let mut state = self.lock();
        state
            .ending
            .get_or_insert_with(|| Ending::Failed(kind, message.into()));
        Self::wake(&state, &self.arrived);
    }

    /// Loop side: whether the whole body is here.
    pub(crate) fn is_complete(&self) -> bool {
        matches!(self.lock().ending, Some(Ending::Complete(_)))
    }

    /// Handler side, when it returns: stops the reading.
    pub(crate) fn abandon(&self) {
        let mut state = self.lock();
        state.abandoned = true;
        state.data = Vec::new();
        state.taken = 0;
    }

    /// Handler side: reads into `buf`, waiting on this thread while the loop gets more.
    /// `Ok(0)` at the real end only. Before it first waits, the handler's event loop is
    /// handed to another thread, since this one is about to block.
    pub(crate) fn read(
        &self,
        buf: &mut [u8],
        trailers: &mut Option<Box<HeaderMap>>,
    ) -> io::Result<usize> {
        let mut first_wait = true;
        let mut state = self.lock();
        state.hold = false;
        loop {
            let available = state.data.len() - state.taken;
            if available > 0 {
                let n = available.min(buf.len());
                buf[..n].copy_from_slice(&state.data[state.taken..state.taken + n]);
                state.taken += n;
                if state.taken == state.data.len() {
                    state.data.clear();
                    state.taken = 0;
                }
                // Running low: ask for more before it is all gone.
                if state.ending.is_none() && state.data.len() - state.taken < AHEAD / 2 {
                    self.notice(&mut state);
                }
                return Ok(n);
            }
            match &mut state.ending {
                Some(Ending::Complete(t)) => {
                    if !t.is_empty() {
                        *trailers = Some(Box::new(std::mem::take(t)));
                    }
                    return Ok(0);
                }
                Some(Ending::Failed(kind, message)) => {
                    return Err(io::Error::new(*kind, message.clone()));
                }
                None => {}
            }
            self.notice(&mut state);
            if first_wait {
                first_wait = false;
                drop(state);
                if !self.notices.handler_blocks() {
                    // No thread would run the loop that brings the body in.
                    return Err(io::Error::other(
                        "the server has no thread to receive this request body on \
                         (max_body_waits reached, or the system refused a thread)",
                    ));
                }
                state = self.lock();
                continue;
            }
            state.sleeping = true;
            state = self.arrived.wait(state).unwrap_or_else(|e| e.into_inner());
            state.sleeping = false;
        }
    }

    /// Wakes the handler if it waits (a notification is a system call: only then).
    fn wake(state: &State, arrived: &Condvar) {
        if state.sleeping {
            arrived.notify_all();
        }
    }

    fn notice(&self, state: &mut State) {
        if !state.noticed {
            state.noticed = true;
            self.notices.post(self.slot);
        }
    }
}
