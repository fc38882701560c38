//! Readiness: what a resumable operation waits for.
//!
//! An operation's `resume` either finishes or returns [`Progress::Pending`] with a
//! [`PollNeeded`]: the file descriptor and the [`Interest`] to wait for. Wait for that in
//! your own loop (epoll, mio, select, poll) and resume again; or call
//! [`PollNeeded::wait`], which blocks in poll(2) on that one descriptor. Waking up when
//! nothing is ready yet is harmless: the operation reports what it needs again.

use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use crate::sys;

/// Readable, writable, or both.
///
/// ```
/// use pollhttp::Interest;
/// let both = Interest::READABLE | Interest::WRITABLE;
/// assert!(both.is_readable() && both.is_writable());
/// assert_eq!(mio::Interest::from(Interest::WRITABLE), mio::Interest::WRITABLE);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interest(u8);

impl Interest {
    /// Wait until the descriptor can be read (or has hung up).
    pub const READABLE: Self = Self(1);
    /// Wait until the descriptor can be written.
    pub const WRITABLE: Self = Self(2);

    /// Includes readable.
    pub const fn is_readable(self) -> bool {
        self.0 & 1 != 0
    }

    /// Includes writable.
    pub const fn is_writable(self) -> bool {
        self.0 & 2 != 0
    }

    /// The `events` bits for poll(2) (`POLLIN`, `POLLOUT`).
    pub fn poll_events(self) -> i16 {
        let mut events = 0;
        if self.is_readable() {
            events |= sys::POLLIN;
        }
        if self.is_writable() {
            events |= sys::POLLOUT;
        }
        events
    }
}

impl std::ops::BitOr for Interest {
    type Output = Self;

    fn bitor(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

impl From<Interest> for mio::Interest {
    fn from(interest: Interest) -> Self {
        match (interest.is_readable(), interest.is_writable()) {
            (true, true) => Self::READABLE | Self::WRITABLE,
            (false, true) => Self::WRITABLE,
            _ => Self::READABLE,
        }
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.is_readable(), self.is_writable()) {
            (true, true) => f.write_str("READABLE | WRITABLE"),
            (true, false) => f.write_str("READABLE"),
            (false, true) => f.write_str("WRITABLE"),
            (false, false) => f.write_str("(none)"),
        }
    }
}

/// What an unfinished operation waits for: `fd` becoming ready for `interest`.
///
/// With TLS this may be the opposite of the operation's direction (a read that must first
/// flush, a write that must first read): it is always what is really needed. The
/// descriptor may differ from one `Pending` to the next (a connect moving on to the next
/// address opens a new socket): wait on the one given each time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollNeeded {
    /// The descriptor to wait on.
    pub fd: RawFd,
    /// What to wait for.
    pub interest: Interest,
}

impl PollNeeded {
    /// Blocks in poll(2) until the descriptor is ready (or has an error or hang-up, which
    /// the resumed operation will report), or `timeout` passes (`None`: no limit).
    /// Returns `false` on timeout.
    pub fn wait(&self, timeout: Option<Duration>) -> io::Result<bool> {
        sys::poll_one(self.fd, self.interest.poll_events(), timeout).map(|revents| revents != 0)
    }
}

/// The outcome of resuming an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a pending operation must be resumed once its descriptor is ready"]
pub enum Progress<T> {
    /// Finished.
    Ready(T),
    /// Not finished: wait for this, then resume.
    Pending(PollNeeded),
}

impl<T> Progress<T> {
    /// The result, if finished.
    pub fn ready(self) -> Option<T> {
        match self {
            Self::Ready(v) => Some(v),
            Self::Pending(_) => None,
        }
    }

    /// Converts the result, keeping a pending state as it is.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Progress<U> {
        match self {
            Self::Ready(v) => Progress::Ready(f(v)),
            Self::Pending(p) => Progress::Pending(p),
        }
    }
}

/// Blocks in poll(2) until at least one of `needs` is ready (or has an error or hang-up,
/// which resuming will report), or `timeout` passes (`None`: no limit). Returns the ready
/// descriptors, each once (empty on timeout). Descriptors named more than once have their
/// interests joined.
///
/// This is the whole wait of a poll(2) loop over several operations or a
/// [`Fetcher`](crate::pipeline::Fetcher):
///
/// ```
/// use pollhttp::{wait_any, Interest, PollNeeded};
/// use std::os::fd::AsRawFd;
/// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
/// let need = PollNeeded { fd: a.as_raw_fd(), interest: Interest::WRITABLE };
/// assert_eq!(wait_any(&[need], None)?, vec![a.as_raw_fd()]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn wait_any(needs: &[PollNeeded], timeout: Option<Duration>) -> io::Result<Vec<RawFd>> {
    let mut fds: Vec<(RawFd, i16)> = Vec::with_capacity(needs.len());
    for need in needs {
        match fds.iter_mut().find(|(fd, _)| *fd == need.fd) {
            Some((_, events)) => *events |= need.interest.poll_events(),
            None => fds.push((need.fd, need.interest.poll_events())),
        }
    }
    let revents = sys::poll_many(&fds, timeout)?;
    Ok(fds
        .iter()
        .zip(revents)
        .filter(|(_, revents)| *revents != 0)
        .map(|((fd, _), _)| *fd)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_any_reports_the_ready_ones_once() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let (c, _d) = UnixStream::pair().unwrap();
        let read_a = PollNeeded {
            fd: a.as_raw_fd(),
            interest: Interest::READABLE,
        };
        let read_c = PollNeeded {
            fd: c.as_raw_fd(),
            interest: Interest::READABLE,
        };
        assert!(wait_any(&[read_a, read_c], Some(Duration::from_millis(20)))
            .unwrap()
            .is_empty());
        b.write_all(b"x").unwrap();
        assert_eq!(
            wait_any(&[read_a, read_c, read_a], Some(Duration::from_secs(5))).unwrap(),
            vec![a.as_raw_fd()]
        );
        // Interests of one descriptor named twice are joined.
        let write_c = PollNeeded {
            fd: c.as_raw_fd(),
            interest: Interest::WRITABLE,
        };
        let ready = wait_any(&[read_c, write_c], None).unwrap();
        assert_eq!(ready, vec![c.as_raw_fd()]);
        assert!(wait_any(&[], Some(Duration::ZERO)).unwrap().is_empty());
    }
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::time::Instant;

    #[test]
    fn wait_times_out_then_sees_readable() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let need = PollNeeded {
            fd: a.as_raw_fd(),
            interest: Interest::READABLE,
        };
        let start = Instant::now();
        assert!(!need.wait(Some(Duration::from_millis(30))).unwrap());
        assert!(start.elapsed() >= Duration::from_millis(30));
        b.write_all(b"x").unwrap();
        assert!(need.wait(Some(Duration::from_secs(5))).unwrap());
    }

    #[test]
    fn writable_socket_is_ready_at_once() {
        let (a, _b) = UnixStream::pair().unwrap();
        let need = PollNeeded {
            fd: a.as_raw_fd(),
            interest: Interest::WRITABLE,
        };
        assert!(need.wait(Some(Duration::ZERO)).unwrap());
    }

    #[test]
    fn hang_up_wakes_a_reader() {
        let (a, b) = UnixStream::pair().unwrap();
        drop(b);
        let need = PollNeeded {
            fd: a.as_raw_fd(),
            interest: Interest::READABLE,
        };
        assert!(need.wait(Some(Duration::from_secs(5))).unwrap());
    }

    #[test]
    fn interest_bits_and_conversions() {
        assert_eq!(Interest::READABLE.poll_events(), libc::POLLIN);
        assert_eq!(Interest::WRITABLE.poll_events(), libc::POLLOUT);
        assert_eq!(
            (Interest::READABLE | Interest::WRITABLE).poll_events(),
            libc::POLLIN | libc::POLLOUT
        );
        assert_eq!(
            mio::Interest::from(Interest::READABLE | Interest::WRITABLE),
            mio::Interest::READABLE | mio::Interest::WRITABLE
        );
        assert_eq!(
            mio::Interest::from(Interest::READABLE),
            mio::Interest::READABLE
        );
        assert_eq!(format!("{:?}", Interest::WRITABLE), "WRITABLE");
    }

    #[test]
    fn progress_map_and_ready() {
        let p: Progress<u8> = Progress::Ready(2);
        assert_eq!(p.map(|v| v * 2).ready(), Some(4));
        let need = PollNeeded {
            fd: 3,
            interest: Interest::READABLE,
        };
        let q: Progress<u8> = Progress::Pending(need);
        assert_eq!(q.clone().map(|v| v + 1), Progress::Pending(need));
        assert_eq!(q.ready(), None);
    }
}
