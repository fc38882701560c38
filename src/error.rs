//! [`Error`]: what can go wrong above the protocol core, sorted by whose fault it is.

use std::fmt;
use std::io;
use std::sync::Arc;

use crate::proto;
use crate::tls::TlsError;

/// An error from an operation, the blocking client or the server.
///
/// The variants say whose fault it is: the peer's ([`ConnectionClosed`](Self::ConnectionClosed),
/// [`UnsupportedResponse`](Self::UnsupportedResponse), a remote [`Proto`](Self::Proto)), the
/// caller's (a local [`Proto`](Self::Proto): [`is_caller_error`](Self::is_caller_error)), or
/// the network's ([`Timeout`](Self::Timeout), [`Io`](Self::Io), [`Dns`](Self::Dns)).
///
/// A connection that failed stays failed: every later operation on it returns the same
/// error (errors are cheap to clone). [`is_temporary`](Self::is_temporary) says whether
/// trying again on a new connection may succeed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// The peer broke HTTP/1.1 ([`proto::Error::RemoteProtocol`]), or the caller misused the
    /// API ([`proto::Error::LocalProtocol`]: a second request head before the first body is
    /// complete, more body bytes than announced, reading a body before its response...).
    Proto(proto::Error),
    /// The peer closed (or reset) the connection where more was due: in a response head, in
    /// a body (a body cut short is this error, never a short read), or with requests
    /// unanswered.
    ConnectionClosed {
        /// What was cut short.
        message: String,
    },
    /// A well-formed response this library does not handle: an HTTP version other than
    /// 1.x.
    UnsupportedResponse {
        /// What is unsupported.
        message: String,
    },
    /// A blocking call waited longer than its timeout for the socket.
    Timeout,
    /// TLS failed: the configuration ([`TlsError::Config`], the caller's) or the
    /// handshake or a record with the peer ([`TlsError::Protocol`]: a certificate that does
    /// not verify, a refused client certificate...).
    Tls(TlsError),
    /// The operating system refused an operation (connect, read, write...).
    Io(Arc<io::Error>),
    /// The host name could not be resolved.
    Dns {
        /// The name looked up.
        host: String,
        /// The resolver's error.
        source: Arc<io::Error>,
    },
}

impl Error {
    /// A resolver's error for `host`. `Error::Dns` names the host itself, so the
    /// resolver's own "resolving HOST: " goes (a failure for want of a descriptor is kept
    /// whole, to be told from the name's).
    pub(crate) fn dns(host: &str, e: io::Error) -> Self {
        if crate::io::descriptors::out_of_descriptors(&e) {
            return Self::Dns {
                host: host.to_owned(),
                source: Arc::new(e),
            };
        }
        let message = e.to_string();
        let source = match message.strip_prefix(&format!("resolving {host}: ")) {
            Some(rest) => io::Error::new(e.kind(), rest.to_owned()),
            None => e,
        };
        Self::Dns {
            host: host.to_owned(),
            source: Arc::new(source),
        }
    }

    pub(crate) fn closed(message: impl Into<String>) -> Self {
        Self::ConnectionClosed {
            message: message.into(),
        }
    }

    pub(crate) fn local(message: impl Into<String>) -> Self {
        Self::Proto(proto::Error::LocalProtocol {
            message: message.into().into(),
        })
    }

    /// Whether trying again, on a new connection, may succeed (dugong's
    /// `is_temp_network_error`): the peer closed or reset the connection, a timeout, a
    /// network that is down or unreachable, a refused connection, or a resolver that could
    /// not be reached. Protocol errors, unsupported responses and names that do not exist
    /// are not temporary.
    pub fn is_temporary(&self) -> bool {
        match self {
            Self::ConnectionClosed { .. } | Self::Timeout => true,
            Self::Io(e) => io_is_temporary(e),
            // getaddrinfo's EAI_AGAIN; std keeps only its message.
            Self::Dns { source, .. } => source.to_string().contains("Temporary failure"),
            Self::Proto(_) | Self::UnsupportedResponse { .. } | Self::Tls(_) => false,
        }
    }

    /// Whether this process (or the system) had no descriptor left (EMFILE, ENFILE): no
    /// fault of the peer or of the name.
    pub(crate) fn is_out_of_descriptors(&self) -> bool {
        match self {
            Self::Io(e) | Self::Dns { source: e, .. } => {
                crate::io::descriptors::out_of_descriptors(e)
            }
            _ => false,
        }
    }

    /// Whether the caller misused the API (a local protocol error): a bug to fix, not a
    /// condition to retry.
    pub fn is_caller_error(&self) -> bool {
        matches!(
            self,
            Self::Proto(proto::Error::LocalProtocol { .. }) | Self::Tls(TlsError::Config { .. })
        )
    }
}

fn io_is_temporary(e: &io::Error) -> bool {
    use io::ErrorKind as K;
    if matches!(
        e.kind(),
        K::ConnectionReset
            | K::ConnectionAborted
            | K::ConnectionRefused
            | K::BrokenPipe
            | K::NotConnected
            | K::TimedOut
            | K::WouldBlock
            | K::Interrupted
    ) {
        return true;
    }
    let Some(code) = e.raw_os_error() else {
        return false;
    };
    [
        libc::EHOSTDOWN,
        libc::EHOSTUNREACH,
        libc::ENETDOWN,
        libc::ENETRESET,
        libc::ENETUNREACH,
        libc::ENOLINK,
        libc::ENONET,
        libc::ENOTCONN,
        libc::ENXIO,
        libc::EPIPE,
        libc::EREMCHG,
        libc::ESHUTDOWN,
        libc::ETIMEDOUT,
        libc::EAGAIN,
    ]
    .contains(&code)
}

impl From<proto::Error> for Error {
    /// A peer closing mid-message becomes [`Error::ConnectionClosed`]; a version we do not
    /// speak (505) becomes [`Error::UnsupportedResponse`]; anything else stays a protocol
    /// error.
    fn from(e: proto::Error) -> Self {
        match e {
            proto::Error::RemoteClosed { message } => Self::ConnectionClosed {
                message: message.into_owned(),
            },
            proto::Error::RemoteProtocol {
                message,
                status_hint,
            } if status_hint == 505 => Self::UnsupportedResponse {
                message: message.into_owned(),
            },
            e => Self::Proto(e),
        }
    }
}

impl From<io::Error> for Error {
    /// A reset, a broken pipe or an unexpected end (a TLS peer gone without
    /// `close_notify`) is the peer closing: [`Error::ConnectionClosed`]. A TLS error
    /// carried in an I/O error becomes [`Error::Tls`].
    fn from(e: io::Error) -> Self {
        if let Some(tls) = TlsError::from_io(&e) {
            return Self::Tls(tls.clone());
        }
        match e.kind() {
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted => Self::ConnectionClosed {
                message: format!("connection interrupted: {e}"),
            },
            io::ErrorKind::UnexpectedEof => Self::ConnectionClosed {
                message: e.to_string(),
            },
            _ => Self::Io(Arc::new(e)),
        }
    }
}

impl From<TlsError> for Error {
    fn from(e: TlsError) -> Self {
        Self::Tls(e)
    }
}

impl From<Error> for io::Error {
    /// Keeps the kind where there is one: `ConnectionClosed` is `UnexpectedEof`, `Timeout`
    /// is `TimedOut`, protocol errors are `InvalidData` (the peer's) or `InvalidInput`
    /// (the caller's), an unsupported response is `Unsupported`.
    fn from(e: Error) -> Self {
        let kind = match &e {
            Error::Io(inner) => return Self::new(inner.kind(), e),
            Error::ConnectionClosed { .. } => io::ErrorKind::UnexpectedEof,
            Error::Timeout => io::ErrorKind::TimedOut,
            Error::Proto(p) if p.is_remote() => io::ErrorKind::InvalidData,
            Error::Proto(_) => io::ErrorKind::InvalidInput,
            Error::UnsupportedResponse { .. } => io::ErrorKind::Unsupported,
            Error::Tls(TlsError::Config { .. }) => io::ErrorKind::InvalidInput,
            Error::Tls(_) => io::ErrorKind::InvalidData,
            Error::Dns { source, .. } => source.kind(),
        };
        Self::new(kind, e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Proto(e) => e.fmt(f),
            Self::ConnectionClosed { message } => write!(f, "connection closed: {message}"),
            Self::UnsupportedResponse { message } => write!(f, "unsupported response: {message}"),
            Self::Timeout => f.write_str("timed out"),
            Self::Tls(e) => e.fmt(f),
            Self::Io(e) => e.fmt(f),
            Self::Dns { host, source } => write!(f, "cannot resolve {host}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Proto(e) => Some(e),
            Self::Tls(e) => Some(e),
            Self::Io(e) | Self::Dns { source: e, .. } => Some(&**e),
            _ => None,
        }
    }
}
