//! Errors of the sans-IO core, split by whose fault they are.

use std::borrow::Cow;
use std::fmt;

use http::StatusCode;

/// An error from the sans-IO core.
///
/// Remote errors are the peer's fault and carry the status a server should answer with;
/// local errors are the caller's misuse of the API. Both are sticky: once a direction has
/// failed, every later call in that direction returns the same error.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The peer broke HTTP/1.1: a malformed head, bad framing, a limit exceeded.
    RemoteProtocol {
        /// What was wrong, for logs and error pages.
        message: Cow<'static, str>,
        /// The status a server answers with (400, 413, 414, 431, 501 or 505).
        status_hint: StatusCode,
    },
    /// The peer closed the connection where more data was due (mid-message, or with
    /// requests still unanswered). Never reported as a short body.
    RemoteClosed {
        /// What was missing, with byte counts where they are known.
        message: Cow<'static, str>,
    },
    /// The caller misused the API: writing past the Content-Length, a second head before
    /// the first body is done, a response with no request, ...
    LocalProtocol {
        /// What the caller did wrong.
        message: Cow<'static, str>,
    },
}

impl Error {
    pub(crate) fn remote(message: impl Into<Cow<'static, str>>, status: u16) -> Self {
        Self::RemoteProtocol {
            message: message.into(),
            status_hint: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        }
    }

    pub(crate) fn bad(message: impl Into<Cow<'static, str>>) -> Self {
        Self::remote(message, 400)
    }

    pub(crate) fn closed(message: impl Into<Cow<'static, str>>) -> Self {
        Self::RemoteClosed {
            message: message.into(),
        }
    }

    pub(crate) fn local(message: impl Into<Cow<'static, str>>) -> Self {
        Self::LocalProtocol {
            message: message.into(),
        }
    }

    /// The status a server should answer with, for errors that are the peer's fault.
    ///
    /// A peer that closed early gets 400 (a server has no one to answer, but the hint is
    /// kept uniform); local errors have none.
    pub fn status_hint(&self) -> Option<StatusCode> {
        match self {
            Self::RemoteProtocol { status_hint, .. } => Some(*status_hint),
            Self::RemoteClosed { .. } => Some(StatusCode::BAD_REQUEST),
            Self::LocalProtocol { .. } => None,
        }
    }

    /// The message without the category prefix.
    pub fn message(&self) -> &str {
        match self {
            Self::RemoteProtocol { message, .. }
            | Self::RemoteClosed { message }
            | Self::LocalProtocol { message } => message,
        }
    }

    /// True when the peer is at fault (`RemoteProtocol` or `RemoteClosed`).
    pub fn is_remote(&self) -> bool {
        !matches!(self, Self::LocalProtocol { .. })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RemoteProtocol {
                message,
                status_hint,
            } => write!(
                f,
                "peer protocol error ({}): {message}",
                status_hint.as_u16()
            ),
            Self::RemoteClosed { message } => write!(f, "peer closed early: {message}"),
            Self::LocalProtocol { message } => write!(f, "local protocol error: {message}"),
        }
    }
}

impl std::error::Error for Error {}
