//! [`Transport`]: a connected, non-blocking TCP or Unix stream.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use socket2::SockRef;

use super::Address;

/// Flags for send(2): no SIGPIPE when the peer has gone (where the flag exists; elsewhere
/// the socket gets `SO_NOSIGPIPE` when it becomes a transport).
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
const SEND_FLAGS: libc::c_int = 0;

/// A connected, non-blocking stream socket: TCP (with `TCP_NODELAY` on) or Unix.
///
/// `read` and `write` never block: when the socket is not ready they return an error of
/// kind [`WouldBlock`](io::ErrorKind::WouldBlock); wait for the descriptor
/// ([`as_raw_fd`](AsRawFd::as_raw_fd)) to become readable or writable, then try again.
/// Writing to a peer that has gone returns an error (`BrokenPipe`); it never raises
/// SIGPIPE. `Read` and `Write` are also implemented for `&Transport`.
///
/// Get one from [`Connect`](super::Connect), or wrap a stream you accepted or connected
/// yourself with [`from_tcp`](Self::from_tcp) / [`from_unix`](Self::from_unix). Dropping
/// it closes the socket. For mio, it is an [`event::Source`](mio::event::Source).
pub struct Transport {
    inner: Inner,
}

enum Inner {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Transport {
    /// Wraps a connected TCP stream: makes it non-blocking and turns `TCP_NODELAY` on.
    pub fn from_tcp(stream: TcpStream) -> io::Result<Self> {
        stream.set_nonblocking(true)?;
        stream.set_nodelay(true)?;
        no_sigpipe(&stream)?;
        Ok(Self {
            inner: Inner::Tcp(stream),
        })
    }

    /// Wraps a connected Unix stream: makes it non-blocking.
    pub fn from_unix(stream: UnixStream) -> io::Result<Self> {
        stream.set_nonblocking(true)?;
        no_sigpipe(&stream)?;
        Ok(Self {
            inner: Inner::Unix(stream),
        })
    }

    /// Two transports connected to each other (a Unix socket pair), for tests and for
    /// talking to yourself.
    pub fn pair() -> io::Result<(Self, Self)> {
        let (a, b) = UnixStream::pair()?;
        Ok((Self::from_unix(a)?, Self::from_unix(b)?))
    }

    /// Whether this is a TCP connection (otherwise a Unix socket).
    pub fn is_tcp(&self) -> bool {
        matches!(self.inner, Inner::Tcp(_))
    }

    /// The address of the peer. An unnamed Unix peer (a client socket as seen by a server,
    /// the other end of a [`pair`](Self::pair)) is [`Address::Unix`] with an empty path.
    pub fn peer_address(&self) -> io::Result<Address> {
        match &self.inner {
            Inner::Tcp(s) => s.peer_addr().map(Address::Tcp),
            Inner::Unix(s) => s.peer_addr().map(|a| unix_address(&a)),
        }
    }

    /// The address of our end. An unnamed Unix socket (a client's, usually) is
    /// [`Address::Unix`] with an empty path.
    pub fn local_address(&self) -> io::Result<Address> {
        match &self.inner {
            Inner::Tcp(s) => s.local_addr().map(Address::Tcp),
            Inner::Unix(s) => s.local_addr().map(|a| unix_address(&a)),
        }
    }

    /// Shuts down the sending half: the peer reads end of file once it has read what was
    /// sent. Reading goes on working.
    pub fn shutdown_write(&self) -> io::Result<()> {
        match &self.inner {
            Inner::Tcp(s) => s.shutdown(Shutdown::Write),
            Inner::Unix(s) => s.shutdown(Shutdown::Write),
        }
    }

    /// Shuts down both halves: the peer reads end of file, and reading here ends. The
    /// descriptor stays open until the transport is dropped.
    pub fn shutdown(&self) -> io::Result<()> {
        match &self.inner {
            Inner::Tcp(s) => s.shutdown(Shutdown::Both),
            Inner::Unix(s) => s.shutdown(Shutdown::Both),
        }
    }

    /// The bytes sent that the peer has not yet taken: acknowledged by its TCP stack, or
    /// read from a Unix socket (`SIOCOUTQ`; `None` where the system does not say). A
    /// server watches it go down while a slow client takes a response: the socket becomes
    /// writable again only once a third of its buffer (megabytes) is free.
    pub(crate) fn unacknowledged(&self) -> Option<usize> {
        crate::sys::unacknowledged_bytes(self.as_raw_fd()).ok()
    }

    /// Whether the peer has closed its sending half or reset the connection, as the socket
    /// says now, without reading (poll(2) with a zero timeout: `POLLRDHUP` on Linux, a
    /// hang-up or an error elsewhere). Bytes it sent before may still be unread.
    pub(crate) fn peer_has_closed(&self) -> bool {
        use crate::sys::{POLLERR, POLLHUP, POLLRDHUP};
        crate::sys::poll_one(self.as_raw_fd(), POLLRDHUP, Some(std::time::Duration::ZERO))
            .is_ok_and(|revents| revents & (POLLRDHUP | POLLHUP | POLLERR) != 0)
    }

    /// Makes the coming close a reset, dropping what is still queued to send (`SO_LINGER`
    /// with a zero timeout; TCP only). For a peer given up on: closed the usual way, a
    /// client that does not read would keep the kernel sending it the queued bytes
    /// (megabytes, a few at a time) long after the close, and would not see it closed.
    pub fn abort(&self) -> io::Result<()> {
        match &self.inner {
            Inner::Tcp(_) => self.sock().set_linger(Some(std::time::Duration::ZERO)),
            // A Unix socket keeps no queue of its own: what was sent is the peer's already.
            Inner::Unix(_) => Ok(()),
        }
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        match &self.inner {
            Inner::Tcp(s) => s.take_error(),
            Inner::Unix(s) => s.take_error(),
        }
    }

    fn sock(&self) -> SockRef<'_> {
        match &self.inner {
            Inner::Tcp(s) => SockRef::from(s),
            Inner::Unix(s) => SockRef::from(s),
        }
    }

    fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        match &self.inner {
            Inner::Tcp(s) => (&*s).read(buf),
            Inner::Unix(s) => (&*s).read(buf),
        }
    }

    fn recv_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        match &self.inner {
            Inner::Tcp(s) => (&*s).read_vectored(bufs),
            Inner::Unix(s) => (&*s).read_vectored(bufs),
        }
    }

    fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.sock().send_with_flags(buf, SEND_FLAGS)
    }

    fn send_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.sock().send_vectored_with_flags(bufs, SEND_FLAGS)
    }
}

/// A std Unix socket address as an [`Address`] (unnamed: an empty path).
pub(crate) fn unix_address(addr: &std::os::unix::net::SocketAddr) -> Address {
    if let Some(path) = addr.as_pathname() {
        return Address::Unix(path.to_path_buf());
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        #[cfg(target_os = "android")]
        use std::os::android::net::SocketAddrExt;
        #[cfg(target_os = "linux")]
        use std::os::linux::net::SocketAddrExt;
        if let Some(name) = addr.as_abstract_name() {
            return Address::UnixAbstract(name.to_vec());
        }
    }
    Address::Unix(PathBuf::new())
}

/// Sets `SO_NOSIGPIPE` where send(2) has no `MSG_NOSIGNAL`.
#[allow(clippy::unnecessary_wraps)]
fn no_sigpipe(_socket: &impl AsFd) -> io::Result<()> {
    #[cfg(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "tvos",
        target_os = "watchos"
    ))]
    SockRef::from(_socket).set_nosigpipe(true)?;
    Ok(())
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.recv_vectored(bufs)
    }
}

impl Read for &Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.recv_vectored(bufs)
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.send_vectored(bufs)
    }

    /// Nothing to flush: written bytes are in the kernel.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.send_vectored(bufs)
    }

    /// Nothing to flush: written bytes are in the kernel.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsRawFd for Transport {
    fn as_raw_fd(&self) -> RawFd {
        match &self.inner {
            Inner::Tcp(s) => s.as_raw_fd(),
            Inner::Unix(s) => s.as_raw_fd(),
        }
    }
}

impl AsFd for Transport {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match &self.inner {
            Inner::Tcp(s) => s.as_fd(),
            Inner::Unix(s) => s.as_fd(),
        }
    }
}

impl From<Transport> for std::os::fd::OwnedFd {
    fn from(transport: Transport) -> Self {
        match transport.inner {
            Inner::Tcp(s) => s.into(),
            Inner::Unix(s) => s.into(),
        }
    }
}

impl mio::event::Source for Transport {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        mio::unix::SourceFd(&self.as_raw_fd()).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        mio::unix::SourceFd(&self.as_raw_fd()).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &mio::Registry) -> io::Result<()> {
        mio::unix::SourceFd(&self.as_raw_fd()).deregister(registry)
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Transport");
        d.field("fd", &self.as_raw_fd());
        if let Ok(peer) = self.peer_address() {
            d.field("peer", &format_args!("{peer}"));
        }
        d.finish()
    }
}

impl Transport {
    /// Wraps a socket that [`Connect`](super::Connect) prepared (non-blocking, options set)
    /// and connected.
    pub(super) fn from_connected(socket: socket2::Socket, unix: bool) -> Self {
        let inner = if unix {
            Inner::Unix(socket.into())
        } else {
            Inner::Tcp(socket.into())
        };
        Self { inner }
    }
}
