//! [`AnyReady`]: several sockets behind one descriptor, for a [`PollNeeded`] that can name
//! only one.
//!
//! [`PollNeeded`]: crate::PollNeeded
//!
//! The descriptor is a poller of our own (a `mio::Poll`: epoll on Linux, kqueue on the
//! BSDs and macOS) with the sockets registered in it. Such a descriptor is itself pollable:
//! it is readable while it holds an event nobody has taken. So whatever the caller waits
//! with sees it become readable when one of the sockets becomes ready:
//! - poll(2) and select ask the descriptor for its readiness, as for any file;
//! - an outer epoll (level- or edge-triggered, mio included) is woken by the inner one each
//!   time an event arrives there (epoll descriptors may be nested), and a kqueue in a
//!   kqueue likewise.
//!
//! Edge-triggered registration (what mio always uses) reports a socket once per change.
//! [`clear`](AnyReady::clear) takes the events that arrived so far and drops them, so the
//! descriptor is readable again only for a change after it: the caller must then look at
//! every socket itself (for a connect: `SO_ERROR` and the peer address), which it does
//! anyway. A socket that becomes ready after the clear queues a new event, a new edge
//! for an outer edge-triggered poller; one ready before it is seen by that look. Nothing
//! is lost either way, and the descriptor never stays readable for an event already dealt
//! with (which would make a level-triggered caller spin).

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

/// Events taken per system call when clearing.
const EVENTS_PER_CLEAR: usize = 8;

/// Sockets followed behind one descriptor, readable when any of them is ready.
#[derive(Debug)]
pub(crate) struct AnyReady {
    poll: Poll,
    events: Events,
}

impl AnyReady {
    pub(crate) fn new() -> io::Result<Self> {
        Ok(Self {
            poll: Poll::new()?,
            events: Events::with_capacity(EVENTS_PER_CLEAR),
        })
    }

    /// Follows `fd` for writability (a connect completing, or failing). If it is writable
    /// already, the descriptor is readable at once.
    pub(crate) fn add_writable(&self, fd: RawFd) -> io::Result<()> {
        // The token is never read: readiness is decided per socket (see the module docs).
        self.poll
            .registry()
            .register(&mut SourceFd(&fd), Token(0), Interest::WRITABLE)
    }

    /// Stops following `fd` (before it is closed; closing alone would do it too).
    pub(crate) fn remove(&self, fd: RawFd) {
        let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
    }

    /// Drops the events that arrived so far: the descriptor is readable again only when a
    /// socket becomes ready after this. Look at every socket after calling it.
    pub(crate) fn clear(&mut self) -> io::Result<()> {
        loop {
            match self.poll.poll(&mut self.events, Some(Duration::ZERO)) {
                Ok(()) if self.events.iter().count() < EVENTS_PER_CLEAR => return Ok(()),
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl AsRawFd for AnyReady {
    fn as_raw_fd(&self) -> RawFd {
        self.poll.as_raw_fd()
    }
}
