//! [`Connect`]: connecting without blocking, trying addresses in order.

use std::io;
use std::vec;

use socket2::{Domain, SockAddr, Socket, Type};

use super::{annotate, Address, Transport};
use crate::{Interest, PollNeeded, Progress};

/// A resumable connect: tries each address in order until one accepts.
///
/// Each [`resume`](Self::resume) makes what progress it can without blocking. While a
/// connection is in progress it returns [`Progress::Pending`] asking for the socket to
/// become writable; resume again when it is (waking up early is harmless: it just asks
/// again). When an address fails (refused, unreachable, no such socket file...) the next
/// one is tried at once; when all have failed, `resume` returns the last error, which
/// names its address. The [`Transport`] it gives is non-blocking, close-on-exec, and has
/// `TCP_NODELAY` on.
///
/// The descriptor to wait on changes when an address fails and the next is tried: wait on
/// the one in each [`PollNeeded`] (with mio, register each new one; a closed descriptor
/// leaves the poller by itself).
///
/// There is no timeout here: the caller decides how long to wait. To give up on a slow
/// address and go on with the next, call [`skip_current`](Self::skip_current).
///
/// ```no_run
/// use pollhttp::io::{Address, Connect};
/// use pollhttp::Progress;
/// use std::time::Duration;
/// # fn main() -> std::io::Result<()> {
/// let mut connect = Connect::new(vec![Address::unix("/run/app.sock")]);
/// let transport = loop {
///     match connect.resume()? {
///         Progress::Ready(transport) => break transport,
///         Progress::Pending(need) => {
///             if !need.wait(Some(Duration::from_secs(10)))? {
///                 connect.skip_current(); // too slow: next address (or the error)
///             }
///         }
///     }
/// };
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Connect {
    untried: vec::IntoIter<Address>,
    current: Option<Attempt>,
    last_error: Option<io::Error>,
    finished: bool,
}

/// A connection in progress.
#[derive(Debug)]
struct Attempt {
    socket: Socket,
    address: Address,
}

impl Connect {
    /// Connects to the first of `addresses` that accepts, in order. Nothing happens until
    /// the first [`resume`](Self::resume).
    pub fn new(addresses: Vec<Address>) -> Self {
        Self {
            untried: addresses.into_iter(),
            current: None,
            last_error: None,
            finished: false,
        }
    }

    /// Makes progress: returns the connected [`Transport`], or what to wait for before
    /// resuming, or the last address's error when all have failed (an empty address list
    /// is an [`InvalidInput`](io::ErrorKind::InvalidInput) error). Never returns an error of
    /// kind `WouldBlock`. Resuming after `Ready` or an error is an `InvalidInput` error.
    pub fn resume(&mut self) -> io::Result<Progress<Transport>> {
        if self.finished {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Connect resumed after it finished",
            ));
        }
        loop {
            if let Some(attempt) = self.current.take() {
                match is_connected(&attempt.socket) {
                    Ok(true) => {
                        return Ok(Progress::Ready(self.done(attempt.socket, &attempt.address)));
                    }
                    Ok(false) => {
                        let need = writable(&attempt.socket);
                        self.current = Some(attempt);
                        return Ok(Progress::Pending(need));
                    }
                    Err(e) => {
                        let what = format!("connecting to {}", attempt.address);
                        self.last_error = Some(annotate(e, None, what));
                    }
                }
            }
            let Some(address) = self.untried.next() else {
                self.finished = true;
                return Err(self.last_error.take().unwrap_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidInput, "no addresses to connect to")
                }));
            };
            match start(&address) {
                Ok((socket, true)) => return Ok(Progress::Ready(self.done(socket, &address))),
                Ok((socket, false)) => {
                    let need = writable(&socket);
                    self.current = Some(Attempt { socket, address });
                    return Ok(Progress::Pending(need));
                }
                Err(e) => self.last_error = Some(e),
            }
        }
    }

    /// The address being connected to, while a connection is in progress.
    pub fn current_address(&self) -> Option<&Address> {
        self.current.as_ref().map(|a| &a.address)
    }

    /// Gives up on the address in progress (say, because it took too long): it fails with a
    /// [`TimedOut`](io::ErrorKind::TimedOut) error, and the next `resume` goes on with the
    /// next address, or returns that error if there is none. Does nothing when no
    /// connection is in progress.
    pub fn skip_current(&mut self) {
        if let Some(attempt) = self.current.take() {
            self.last_error = Some(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("connecting to {}: timed out", attempt.address),
            ));
        }
    }

    fn done(&mut self, socket: Socket, address: &Address) -> Transport {
        self.finished = true;
        self.last_error = None;
        Transport::from_connected(socket, address.is_unix())
    }
}

fn writable(socket: &Socket) -> PollNeeded {
    use std::os::fd::AsRawFd;
    PollNeeded {
        fd: socket.as_raw_fd(),
        interest: Interest::WRITABLE,
    }
}

/// Whether a connection in progress has completed; its error if it failed.
fn is_connected(socket: &Socket) -> io::Result<bool> {
    if let Some(e) = socket.take_error()? {
        return Err(e);
    }
    match socket.peer_addr() {
        Ok(_) => Ok(true),
        // Still in progress (a spurious wake-up).
        Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Creates a non-blocking socket for `address` and starts connecting it. Returns the
/// socket and whether it is already connected; errors name the address.
fn start(address: &Address) -> io::Result<(Socket, bool)> {
    let context = || format!("connecting to {address}");
    let (domain, target) = socket_address(address).map_err(|e| annotate(e, None, context()))?;
    let socket = new_socket(domain, address.is_unix()).map_err(|e| annotate(e, None, context()))?;
    match socket.connect(&target) {
        Ok(()) => Ok((socket, true)),
        // EINTR: a non-blocking connect that was interrupted goes on asynchronously.
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINPROGRESS | libc::EINTR)) => {
            Ok((socket, false))
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            // Not "in progress": for a Unix socket the listener's backlog is full and
            // nothing was queued (the socket polls as ready at once, so waiting on it would
            // spin); for TCP there is no local port or route entry. Either way this address
            // fails now, with a kind callers will not mistake for "wait and retry".
            let (kind, why) = if address.is_unix() {
                (
                    io::ErrorKind::ConnectionRefused,
                    "the listener's backlog is full",
                )
            } else {
                (
                    io::ErrorKind::AddrNotAvailable,
                    "no local address available",
                )
            };
            Err(annotate(e, Some(kind), format!("{} ({why})", context())))
        }
        Err(e) => Err(annotate(e, None, context())),
    }
}

fn socket_address(address: &Address) -> io::Result<(Domain, SockAddr)> {
    Ok(match address {
        Address::Tcp(a) => (Domain::for_address(*a), SockAddr::from(*a)),
        Address::Unix(path) => (Domain::UNIX, SockAddr::unix(path)?),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Address::UnixAbstract(name) => {
            use std::os::unix::ffi::OsStrExt;
            // socket2 takes an abstract name as a path whose first byte is NUL.
            let mut bytes = Vec::with_capacity(name.len() + 1);
            bytes.push(0);
            bytes.extend_from_slice(name);
            (
                Domain::UNIX,
                SockAddr::unix(std::ffi::OsStr::from_bytes(&bytes))?,
            )
        }
    })
}

/// A non-blocking, close-on-exec stream socket (socket2 sets close-on-exec), with
/// `TCP_NODELAY` on for TCP and, where send(2) lacks `MSG_NOSIGNAL`, `SO_NOSIGPIPE`.
fn new_socket(domain: Domain, unix: bool) -> io::Result<Socket> {
    let socket = Socket::new(domain, Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    if !unix {
        socket.set_tcp_nodelay(true)?;
    }
    #[cfg(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "tvos",
        target_os = "watchos"
    ))]
    socket.set_nosigpipe(true)?;
    Ok(socket)
}
