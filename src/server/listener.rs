//! [`Listener`]: a listening TCP or Unix socket, non-blocking, for the poller.

use std::io;
use std::net::TcpListener;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::net::UnixListener;

use super::session::Credentials;
use super::socket_file::{bind_unix_path, SocketFile};
use crate::io::{unix_address, Address, Transport};
use crate::sys;

/// The listen backlog of a socket the server binds: the system's maximum (the kernel caps
/// what it is given at `net.core.somaxconn`, 4,096 on Linux today), as Go asks for and as
/// the standard library does for a Unix socket on Linux. For TCP the standard library
/// listens with 128: a burst of connects beyond that, while the acceptor thread waited for
/// a core, overflowed the queue, and each client dropped waited a second for its SYN to go
/// again (a fresh `GET /` took 1.0 s three times in 30 s under slowhttptest's 500
/// connects a second). nginx and Node listen with 511, mio with 1,024.
const BACKLOG: i32 = i32::MAX;

/// A listening socket. A Unix socket bound here by path carries its [`SocketFile`], removed
/// when the listener is dropped (or earlier, by [`remove_socket_file`]); one handed in by
/// the caller or in the abstract namespace has none.
///
/// [`remove_socket_file`]: Listener::remove_socket_file
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(mio::net::TcpListener),
    Unix(mio::net::UnixListener, Option<SocketFile>),
}

impl Listener {
    /// Binds to `address`: TCP (IPv4, or IPv6 with its scope id), a Unix socket path, or a
    /// Linux abstract name. A path is bound as [`bind_unix_path`] says.
    pub(crate) fn bind(address: &Address) -> io::Result<Self> {
        match address {
            Address::Tcp(addr) => {
                let listener = TcpListener::bind(addr)?;
                listen_deeper(&listener)?;
                Self::from_tcp(listener)
            }
            Address::Unix(path) => {
                let (listener, file) = bind_unix_path(path)?;
                if let Err(e) =
                    listen_deeper(&listener).and_then(|()| listener.set_nonblocking(true))
                {
                    file.remove();
                    return Err(e);
                }
                let listener = mio::net::UnixListener::from_std(listener);
                Ok(Self::Unix(listener, Some(file)))
            }
            Address::UnixAbstract(name) => {
                #[cfg(any(target_os = "linux", target_os = "android"))]
                {
                    #[cfg(target_os = "android")]
                    use std::os::android::net::SocketAddrExt;
                    #[cfg(target_os = "linux")]
                    use std::os::linux::net::SocketAddrExt;
                    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                    let listener = UnixListener::bind_addr(&addr)?;
                    listen_deeper(&listener)?;
                    Self::from_unix(listener)
                }
                #[cfg(not(any(target_os = "linux", target_os = "android")))]
                {
                    let _ = name;
                    Err(io::ErrorKind::Unsupported.into())
                }
            }
        }
    }

    pub(crate) fn from_tcp(listener: TcpListener) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        Ok(Self::Tcp(mio::net::TcpListener::from_std(listener)))
    }

    /// A Unix listener bound elsewhere (by the caller, or in the abstract namespace): its
    /// file, if any, is not ours to remove.
    pub(crate) fn from_unix(listener: UnixListener) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        Ok(Self::Unix(mio::net::UnixListener::from_std(listener), None))
    }

    /// Removes the socket file this listener created, if any, and if its path still names
    /// it. Called when the server stops accepting, while the socket still listens: until
    /// the file is gone no other server takes it for stale, so the path cannot be handed to
    /// a successor between the check and the removal (see [`SocketFile::remove`]).
    pub(crate) fn remove_socket_file(&mut self) {
        if let Self::Unix(_, file) = self {
            if let Some(file) = file.take() {
                file.remove();
            }
        }
    }

    /// The address bound.
    pub(crate) fn local_address(&self) -> io::Result<Address> {
        match self {
            Self::Tcp(l) => l.local_addr().map(Address::Tcp),
            Self::Unix(l, _) => {
                let addr = l.local_addr()?;
                Ok(unix_address(&addr))
            }
        }
    }

    /// Accepts a connection: the transport, the peer's address, and on a Unix socket the
    /// peer's credentials.
    pub(crate) fn accept(&self) -> io::Result<(Transport, Address, Option<Credentials>)> {
        match self {
            Self::Tcp(l) => {
                let (stream, peer) = l.accept()?;
                let std = std::net::TcpStream::from(std::os::fd::OwnedFd::from(stream));
                Ok((Transport::from_tcp(std)?, Address::Tcp(peer), None))
            }
            Self::Unix(l, _) => {
                let (stream, peer) = l.accept()?;
                let std = std::os::unix::net::UnixStream::from(std::os::fd::OwnedFd::from(stream));
                let credentials = sys::peer_credentials(std.as_raw_fd())
                    .ok()
                    .map(|(pid, uid, gid)| Credentials { pid, uid, gid });
                Ok((Transport::from_unix(std)?, unix_address(&peer), credentials))
            }
        }
    }
}

/// Listens again, on a socket the standard library bound and listens on, with [`BACKLOG`]:
/// a second `listen(2)` sets the backlog of a listening socket.
fn listen_deeper(listener: &impl AsFd) -> io::Result<()> {
    socket2::SockRef::from(listener).listen(BACKLOG)
}

impl Drop for Listener {
    fn drop(&mut self) {
        // Before the socket itself closes: see `remove_socket_file`.
        self.remove_socket_file();
    }
}

impl AsRawFd for Listener {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Self::Tcp(l) => l.as_raw_fd(),
            Self::Unix(l, _) => l.as_raw_fd(),
        }
    }
}

impl mio::event::Source for Listener {
    fn register(&mut self, r: &mio::Registry, t: mio::Token, i: mio::Interest) -> io::Result<()> {
        match self {
            Self::Tcp(l) => l.register(r, t, i),
            Self::Unix(l, _) => l.register(r, t, i),
        }
    }

    fn reregister(&mut self, r: &mio::Registry, t: mio::Token, i: mio::Interest) -> io::Result<()> {
        match self {
            Self::Tcp(l) => l.reregister(r, t, i),
            Self::Unix(l, _) => l.reregister(r, t, i),
        }
    }

    fn deregister(&mut self, r: &mio::Registry) -> io::Result<()> {
        match self {
            Self::Tcp(l) => l.deregister(r),
            Self::Unix(l, _) => l.deregister(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::net::{Ipv4Addr, SocketAddr};
    use std::thread;
    use std::time::{Duration, Instant};

    /// More connects than the standard library's backlog of 128, fewer than ours.
    const BURST: usize = 300;

    /// Connects `BURST` clients to a listener that accepts none yet, then counts what it
    /// takes within half a second: with a backlog of 128, 129 at most.
    fn queued_of_a_burst(
        listener: &Listener,
        connect: impl Fn() -> io::Result<socket2::Socket>,
    ) -> usize {
        let clients: Vec<socket2::Socket> = (0..BURST)
            .map(|i| connect().unwrap_or_else(|e| panic!("connect {i} of {BURST}: {e}")))
            .collect();
        // Loopback handshakes end at once, a busy machine may delay them a little; a
        // connect dropped from a full queue is tried again only after 1 s.
        let since = Instant::now();
        let mut accepted = Vec::new();
        while accepted.len() < BURST && since.elapsed() < Duration::from_millis(500) {
            match listener.accept() {
                Ok(conn) => accepted.push(conn),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    thread::sleep(Duration::from_millis(5));
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
        drop(clients);
        accepted.len()
    }

    #[test]
    fn a_tcp_listener_queues_a_burst_of_connects() {
        // The kernel caps the backlog there (128 before Linux 5.4).
        let most = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|text| text.trim().parse::<usize>().ok());
        if most.is_some_and(|most| most < BURST) {
            eprintln!("skipped: net.core.somaxconn is {most:?}, below {BURST}");
            return;
        }
        let listener = Listener::bind(&Address::Tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))))
            .expect("bind");
        let Ok(Address::Tcp(addr)) = listener.local_address() else {
            panic!("not TCP");
        };
        let queued = queued_of_a_burst(&listener, || {
            let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
            socket.set_nonblocking(true)?;
            match socket.connect(&addr.into()) {
                Err(e) if e.raw_os_error() != Some(libc::EINPROGRESS) => Err(e),
                _ => Ok(socket),
            }
        });
        assert_eq!(queued, BURST, "connects queued of a burst of {BURST}");
    }
}
