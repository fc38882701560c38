//! The one module with `unsafe`: waiting on file descriptors with poll(2), asking a Unix
//! socket for its peer's credentials, reading and raising the open-files limit, setting
//! a socket's receive low-water mark, reading how much of what a socket sent is still
//! unacknowledged, and reading what the calling thread has used.
//!
//! Neither std nor mio offers a one-shot wait on one fd, std's `peer_cred` is not stable,
//! std has no getrlimit or setrlimit, neither socket2 nor rustix sets `SO_RCVLOWAT` or
//! reads `SIOCOUTQ`, and none reads `getrusage(RUSAGE_THREAD)`; libc's `poll`,
//! `getsockopt(SO_PEERCRED)`, `getrlimit`, `setrlimit`, `setsockopt(SO_RCVLOWAT)`,
//! `ioctl(SIOCOUTQ)` and `getrusage` are the smallest correct tools. Each is a
//! single call on a stack value that lives for the whole call.
#![allow(unsafe_code)]

use std::io;
#[cfg(any(target_os = "linux", target_os = "android"))]
use std::mem::size_of;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// Waits until `fd` reports one of `events` (poll(2) bits), an error or hang-up, or
/// `timeout` passes (`None`: no limit). Returns the reported `revents`, or 0 on timeout.
/// Interrupted waits (EINTR) resume with the time that is left.
pub(crate) fn poll_one(fd: RawFd, events: i16, timeout: Option<Duration>) -> io::Result<i16> {
    poll_many(&[(fd, events)], timeout).map(|revents| revents[0])
}

/// Waits until one of `fds` (descriptor, poll(2) `events`) reports readiness, an error or
/// a hang-up, or `timeout` passes (`None`: no limit). Returns each descriptor's `revents`
/// in the same order (all 0 on timeout). Interrupted waits resume with the time left.
pub(crate) fn poll_many(fds: &[(RawFd, i16)], timeout: Option<Duration>) -> io::Result<Vec<i16>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&(fd, events)| libc::pollfd {
            fd,
            events,
            revents: 0,
        })
        .collect();
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let millis = match deadline {
            None => -1,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                let ms = left.as_nanos().div_ceil(1_000_000);
                i32::try_from(ms).unwrap_or(i32::MAX)
            }
        };
        let count = libc::nfds_t::try_from(pfds.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too many descriptors"))?;
        // SAFETY: `pfds` is a valid, initialised slice of pollfd that lives for the whole
        // call, and `count` is its exact length; poll(2) writes only their `revents`.
        let n = unsafe { libc::poll(pfds.as_mut_ptr(), count, millis) };
        if n >= 0 {
            return Ok(pfds.iter().map(|p| p.revents).collect());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

pub(crate) const POLLIN: i16 = libc::POLLIN;
pub(crate) const POLLOUT: i16 = libc::POLLOUT;
/// The peer has shut down its sending half (Linux); elsewhere only a hang-up says it left.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) const POLLRDHUP: i16 = libc::POLLRDHUP;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) const POLLRDHUP: i16 = 0;
pub(crate) const POLLHUP: i16 = libc::POLLHUP;
pub(crate) const POLLERR: i16 = libc::POLLERR;

/// The process id, user id and group id of the process at the other end of a connected
/// Unix socket (`SO_PEERCRED`, as it was when the connection was made).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn peer_credentials(fd: RawFd) -> io::Result<(i32, u32, u32)> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid, initialised values on our stack, `len` is the
    // size of `cred`, and getsockopt writes at most `len` bytes into it.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((cred.pid, cred.uid, cred.gid))
}

/// Peer credentials are read on Linux only.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn peer_credentials(_fd: RawFd) -> io::Result<(i32, u32, u32)> {
    Err(io::ErrorKind::Unsupported.into())
}

fn open_files_limit() -> io::Result<libc::rlimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, initialised rlimit on our stack, which getrlimit fills
    // in during the call.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(limit)
}

/// A limit as a number; `None` for no limit.
fn limit_value(value: libc::rlim_t) -> Option<u64> {
    if value == libc::RLIM_INFINITY {
        return None;
    }
    // rlim_t is u64 here, but narrower on some 32-bit targets.
    #[allow(clippy::useless_conversion)]
    Some(u64::from(value))
}

/// The soft limit on open file descriptors (`RLIMIT_NOFILE`); `None` when there is none.
pub(crate) fn open_files_soft_limit() -> io::Result<Option<u64>> {
    Ok(limit_value(open_files_limit()?.rlim_cur))
}

/// Raises the soft limit on open file descriptors to `want`, or to the hard limit if that
/// is lower; never lowers it. Returns the soft limit in force afterwards (`None`: none).
pub(crate) fn raise_open_files_soft_limit(want: u64) -> io::Result<Option<u64>> {
    let mut limit = open_files_limit()?;
    let soft = limit_value(limit.rlim_cur);
    let hard = limit_value(limit.rlim_max);
    let target = hard.map_or(want, |hard| hard.min(want));
    match soft {
        Some(soft) if soft < target => {}
        _ => return Ok(soft),
    }
    // rlim_t is u64 here, but narrower on some 32-bit targets.
    #[allow(irrefutable_let_patterns)]
    let Ok(target) = libc::rlim_t::try_from(target) else {
        return Ok(soft);
    };
    limit.rlim_cur = target;
    // SAFETY: `limit` is a valid, initialised rlimit on our stack, read by setrlimit
    // during the call.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(limit_value(limit.rlim_cur))
}

/// Sets a socket's receive low-water mark (`SO_RCVLOWAT`): poll(2) reports it readable only
/// once `bytes` are waiting (or at the end of input, or on an error). On Linux, TCP also
/// grows the receive buffer to hold twice that. Used while a large body streams in, to wake
/// up less often; `bytes` must never exceed what is certain to arrive.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn set_recv_lowat(fd: RawFd, bytes: u32) -> io::Result<()> {
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: `value` is a valid c_int on our stack that outlives the call, and the length
    // passed is its size; setsockopt only reads it.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVLOWAT,
            (&value as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The bytes in a socket's send queue that the peer has not acknowledged yet (`SIOCOUTQ`;
/// for TCP, sent or not). What goes down while nothing is written is what the peer's
/// kernel took.
#[cfg(target_os = "linux")]
pub(crate) fn unacknowledged_bytes(fd: RawFd) -> io::Result<usize> {
    let mut value: libc::c_int = 0;
    // SAFETY: `value` is a valid c_int on our stack that outlives the call; SIOCOUTQ
    // (`TIOCOUTQ` on Linux) writes one int through the pointer.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut value as *mut libc::c_int) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    usize::try_from(value).map_err(|_| io::Error::other("a negative send queue"))
}

/// The unacknowledged bytes of a send queue are read on Linux only.
#[cfg(not(target_os = "linux"))]
pub(crate) fn unacknowledged_bytes(_fd: RawFd) -> io::Result<usize> {
    Err(io::ErrorKind::Unsupported.into())
}

/// What the calling thread has used so far: its voluntary context switches (times it
/// blocked) and its CPU time, user and system (`getrusage(RUSAGE_THREAD)`). `None` where
/// that is not read (off Linux) or the call fails.
#[cfg(target_os = "linux")]
pub(crate) fn thread_usage() -> Option<(u64, Duration)> {
    // SAFETY: `rusage` is a plain C struct of integers, for which all zeroes is a value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` lives on our stack for the whole call, which writes one `rusage`
    // through the pointer.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    if rc != 0 {
        return None;
    }
    let time = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    let switches = u64::try_from(usage.ru_nvcsw).unwrap_or(0);
    Some((switches, time(usage.ru_utime) + time(usage.ru_stime)))
}

/// A thread's usage is read on Linux only.
#[cfg(not(target_os = "linux"))]
pub(crate) fn thread_usage() -> Option<(u64, Duration)> {
    None
}
