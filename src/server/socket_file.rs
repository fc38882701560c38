//! [`SocketFile`]: the socket file a server binds by path, which it replaces when stale
//! ([`bind_unix_path`]) and removes when it stops.

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use socket2::{Domain, SockAddr, Socket, Type};

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
    pub(crate) fn remove(self) {
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
pub(crate) fn bind_unix_path(path: &Path) -> io::Result<(UnixListener, SocketFile)> {
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
