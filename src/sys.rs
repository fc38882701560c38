//! The one module with `unsafe`: waiting on a single file descriptor with poll(2).
//!
//! Neither std nor mio offers a one-shot wait on one fd; libc's `poll` is the smallest
//! correct tool. The unsafe surface is a single call with a stack `pollfd` that lives for
//! the whole call.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// Waits until `fd` reports one of `events` (poll(2) bits), an error or hang-up, or
/// `timeout` passes (`None`: no limit). Returns the reported `revents`, or 0 on timeout.
/// Interrupted waits (EINTR) resume with the time that is left.
pub(crate) fn poll_one(fd: RawFd, events: i16, timeout: Option<Duration>) -> io::Result<i16> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let millis = match deadline {
            None => -1,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                // Round up, so a wait never returns early for want of a millisecond.
                let ms = left.as_nanos().div_ceil(1_000_000);
                i32::try_from(ms).unwrap_or(i32::MAX)
            }
        };
        let mut pfd = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: `pfd` is a valid, initialised pollfd on our stack, and we pass a count
        // of exactly one; poll(2) writes only its `revents` during the call.
        let n = unsafe { libc::poll(&mut pfd, 1, millis) };
        if n >= 0 {
            return Ok(if n == 0 { 0 } else { pfd.revents });
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

pub(crate) const POLLIN: i16 = libc::POLLIN;
pub(crate) const POLLOUT: i16 = libc::POLLOUT;
