//! [`Listener`]: a listening TCP or Unix socket, non-blocking, for the poller; and the
//! socket file a server binds by path, which it replaces when stale and removes when it
//! stops ([`SocketFile`]).

use std::fs;
use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use socket2::{Domain, SockAddr, Socket, Type};

use super::session::Credentials;
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

/// The socket file a server created by binding a path. The server owns it: it removes it
/// when it stops, if the path still names it.
#[derive(Debug)]
pub(crate) struct SocketFile {
    /// Absolute, so that a change of working directory does not change what it names.
    path: PathBuf,
    /// Device and inode of the file right after bind: what "still names it" means.
    identity: (u64, u64),
}

impl SocketFile {
    /// Removes the file if its path still names the socket bound; anything else there (a
    /// successor's socket, after ours was removed by hand or taken for stale) is left.
    /// Failures are logged: a server that stops has no one to report them to.
    ///
    /// Our socket still listens while this runs, so no server that binds as
    /// [`bind_unix_path`] does takes it for stale and replaces it between the look and the
    /// removal; only someone removing it by hand in those microseconds could make us remove
    /// what they put there instead.
    fn remove(self) {
        let path = self.path.display();
        match fs::symlink_metadata(&self.path) {
            Ok(meta) if identity(&meta) == self.identity => match fs::remove_file(&self.path) {
                Ok(()) => log::debug!("removed the Unix socket {path}"),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => log::warn!("cannot remove the Unix socket {path}: {e}"),
            },
            Ok(_) => log::info!("{path} names another file now: left in place"),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => log::warn!("cannot look at the Unix socket {path} to remove it: {e}"),
        }
    }
}

fn identity(meta: &fs::Metadata) -> (u64, u64) {
    (meta.dev(), meta.ino())
}

/// Binds a Unix socket at `path`, returned with the [`SocketFile`] it created.
///
/// - An empty path is refused (`InvalidInput`): Linux would bind an abstract socket with a
///   name of its own choosing ("autobind"), which no client could know.
/// - If something is at `path` already (bind fails with `AddrInUse`) and it is a socket no
///   one listens on (a connect to it is refused), it is stale, left by a server that did
///   not stop cleanly: it is removed and the path bound again. A socket a server listens
///   on, anything that is not a socket, or a socket we cannot tell about is left in place,
///   and the error names the path and says why.
fn bind_unix_path(path: &Path) -> io::Result<(UnixListener, SocketFile)> {
    if path.as_os_str().is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an empty Unix socket path names no file (Linux would bind an abstract socket \
             with a name of its own choosing)",
        ));
    }
    let listener = match UnixListener::bind(path) {
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            remove_if_stale(path)?;
            UnixListener::bind(path).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "binding {} again after removing a stale socket there: {e}",
                        path.display()
                    ),
                )
            })?
        }
        bound => bound?,
    };
    // Right after bind: the socket listens already (std binds and listens in one call), so
    // no server that follows these rules replaces it from now on.
    let bound = fs::symlink_metadata(path)?;
    let absolute = std::env::current_dir().map_or_else(|_| path.to_path_buf(), |d| d.join(path));
    let file = SocketFile {
        path: absolute,
        identity: identity(&bound),
    };
    Ok((listener, file))
}

/// What a connect to a socket file says about it.
enum Probe {
    Listening,
    /// Nobody listens: the socket is stale.
    Refused,
    /// The file went away.
    Gone,
    /// Another failure (permission denied, a datagram socket...): we cannot tell.
    Unknown(io::Error),
}

fn probe(path: &Path) -> Probe {
    let connect = || -> io::Result<()> {
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
        // Non-blocking: a connect to a full backlog must not wait for the server.
        socket.set_nonblocking(true)?;
        socket.connect(&SockAddr::unix(path)?)
    };
    match connect() {
        Ok(()) => Probe::Listening,
        // A full backlog (Linux says EAGAIN), or a connect still under way elsewhere.
        Err(e)
            if e.kind() == io::ErrorKind::WouldBlock
                || e.raw_os_error() == Some(libc::EINPROGRESS) =>
        {
            Probe::Listening
        }
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Probe::Refused,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Probe::Gone,
        Err(e) => Probe::Unknown(e),
    }
}

/// Binding `path` failed because something is there: removes it if it is a stale socket
/// (then the caller binds again), or says what is there and leaves it.
///
/// Why this is safe against other servers starting on the same path: only a socket file
/// that refused a connect is removed, and only the very file that refused: its device and
/// inode are looked at again just before the removal. A server that took the path in the
/// meantime had to remove that file and bind its own, a new inode, which we leave (then
/// our bind again fails "in use", and we do not retry). A live server is never taken for
/// stale: on Linux a connect to a listening socket succeeds or, its backlog full, fails
/// with EAGAIN, never "refused". What remains is the few microseconds between the last
/// look and the removal, and a server caught between its bind and its listen (which
/// refuses too): two servers started on one stale path at the same instant could both
/// take it. A lock would close that, but there is no lock on a socket file, a lock file
/// beside it must be cleaned up in turn, and a lock on the directory would wait on whoever
/// holds one there (applications do, to keep systemd-tmpfiles away), so we do without.
/// (Where a full backlog refuses connects, as on some BSDs, a swamped server could be
/// taken for stale.)
fn remove_if_stale(path: &Path) -> io::Result<()> {
    let shown = path.display();
    let in_use = |why: String| io::Error::new(io::ErrorKind::AddrInUse, why);
    let found = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        // Gone since the bind failed: bind again.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io::Error::new(e.kind(), format!("{shown}: {e}"))),
    };
    let kind = found.file_type();
    if !kind.is_socket() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_symlink() {
            "a symbolic link"
        } else if kind.is_file() {
            "a regular file"
        } else {
            "a file of another kind"
        };
        return Err(in_use(format!(
            "{shown} is {what}, not a socket: left in place"
        )));
    }
    match probe(path) {
        Probe::Listening => Err(in_use(format!(
            "a server is listening on the Unix socket {shown}"
        ))),
        Probe::Gone => Ok(()),
        Probe::Unknown(e) => Err(io::Error::new(
            e.kind(),
            format!("cannot tell whether a server listens on the Unix socket {shown} ({e}): left in place"),
        )),
        Probe::Refused => {
            match fs::symlink_metadata(path) {
                Ok(now) if identity(&now) == identity(&found) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                _ => {
                    return Err(in_use(format!(
                        "the Unix socket {shown} was replaced while it was checked"
                    )))
                }
            }
            match fs::remove_file(path) {
                Ok(()) => log::info!("removed the stale Unix socket {shown}"),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("removing the stale Unix socket {shown}: {e}"),
                    ))
                }
            }
            Ok(())
        }
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
