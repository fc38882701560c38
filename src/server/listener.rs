//! [`Listener`]: a listening TCP or Unix socket, non-blocking, for the poller.

use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixListener;

use super::session::Credentials;
use super::socket_file::{bind_unix_path, SocketFile};
use crate::io::{unix_address, Address, Transport};
use crate::sys;

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
            Address::Tcp(addr) => Self::from_tcp(TcpListener::bind(addr)?),
            Address::Unix(path) => {
                let (listener, file) = bind_unix_path(path)?;
                if let Err(e) = listener.set_nonblocking(true) {
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
                    Self::from_unix(UnixListener::bind_addr(&addr)?)
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
