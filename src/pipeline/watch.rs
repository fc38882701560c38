//! Which descriptors a pipeline's connections use, as the caller's poller must follow them.

use std::collections::HashMap;
use std::os::fd::RawFd;

use crate::op::ClientStream;

/// A descriptor the caller's poller should start or stop following, for edge-triggered
/// pollers (mio, epoll with `EPOLLET`) that register each descriptor once.
///
/// Apply changes in order. Register an added descriptor for both readable and writable
/// (edge-triggered): the pipeline drives each connection until it would block, as edge
/// triggering needs. A removed descriptor stays open until the next `resume`, so it can
/// still be deregistered; except one whose connect failed, or the one a connect racing
/// several addresses waited on (see [`io::Connect`](crate::io::Connect)), which are closed
/// already (and removed from epoll): a deregister that fails for them can be ignored. The
/// same number may be added again later for a new connection, always after its removal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    /// Start following this descriptor.
    Added(RawFd),
    /// Stop following this descriptor.
    Removed(RawFd),
}

/// The descriptors in use, who owns each, and the changes not yet handed to the caller.
#[derive(Debug, Default)]
pub(crate) struct Watches {
    /// Changes are recorded once the caller asked for them the first time (a poll(2)
    /// loop never does, and must not pile them up).
    tracking: bool,
    changes: Vec<Change>,
    /// Streams ended since the changes were last taken: their descriptors stay open until
    /// the caller has seen them removed.
    ended: Vec<ClientStream>,
    /// Ended streams whose removal the caller has seen: closed at the next `resume`.
    reported: Vec<ClientStream>,
    /// Each descriptor's owner (a pipeline's key).
    owners: HashMap<RawFd, usize>,
}

impl Watches {
    pub(crate) fn add(&mut self, fd: RawFd, owner: usize) {
        self.owners.insert(fd, owner);
        if self.tracking {
            self.changes.push(Change::Added(fd));
        }
    }

    /// A descriptor is no longer used; `stream` (if it is still open) is shut down now
    /// and closed only once the caller has seen the change.
    pub(crate) fn remove(&mut self, fd: RawFd, stream: Option<Box<ClientStream>>) {
        self.owners.remove(&fd);
        if self.tracking {
            self.changes.push(Change::Removed(fd));
            if let Some(mut stream) = stream {
                // The peer learns of the end now, not at the caller's next `resume`,
                // which may be seconds away.
                stream.shut_down();
                self.ended.push(*stream);
            }
        }
    }

    pub(crate) fn owner(&self, fd: RawFd) -> Option<usize> {
        self.owners.get(&fd).copied()
    }

    /// The changes since the last call; the first call lists every descriptor in use.
    pub(crate) fn take(&mut self) -> Vec<Change> {
        if !self.tracking {
            self.tracking = true;
            let mut fds: Vec<RawFd> = self.owners.keys().copied().collect();
            fds.sort_unstable();
            return fds.into_iter().map(Change::Added).collect();
        }
        self.reported.append(&mut self.ended);
        std::mem::take(&mut self.changes)
    }

    /// Closes the streams whose removal the caller has seen.
    pub(crate) fn close_reported(&mut self) {
        self.reported.clear();
    }

    /// Ended streams still open (their descriptors still taken), until the caller has
    /// seen them removed and `resume` runs again.
    pub(crate) fn held(&self) -> usize {
        self.ended.len() + self.reported.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_kept_only_once_asked_for_and_list_what_is_in_use_first() {
        let mut watches = Watches::default();
        watches.add(7, 0);
        watches.add(5, 1);
        watches.remove(7, None);
        watches.add(9, 1);
        // A poll(2) loop never asks: nothing piles up meanwhile.
        assert!(watches.changes.is_empty());
        // The first call lists what is in use now, in order.
        assert_eq!(watches.take(), vec![Change::Added(5), Change::Added(9)]);
        assert_eq!(watches.owner(9), Some(1));
        assert_eq!(watches.owner(7), None);
        watches.remove(5, None);
        watches.add(5, 2);
        assert_eq!(watches.take(), vec![Change::Removed(5), Change::Added(5)]);
        assert_eq!(watches.owner(5), Some(2));
        assert!(watches.take().is_empty());
    }
}
