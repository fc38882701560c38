//! TLS with rustls: opinionated configurations, a resumable handshake, and a stream that
//! the operations use like any transport.
//!
//! This is the only module that uses rustls. A TLS connection is another transport under
//! the same resumable operations: pipelining, `100-continue` and the crawl work over it as
//! over TCP. Where TLS needs the socket in the other direction (a read that must first
//! send, a write that must first receive), the [`PollNeeded`](crate::PollNeeded) an
//! operation returns says so.
//!
//! - [`ClientTls`] and [`ServerTls`]: TLS 1.2 and 1.3 only, AEAD suites with ECDHE only,
//!   certificates always verified (degu's `build_client_sslctx` / `build_server_sslctx`).
//! - [`Handshake`]: the handshake as a resumable operation, giving a [`TlsStream`].
//! - [`TlsInfo`]: after the handshake, the peer's certificates, the protocol version and the
//!   cipher suite (dugong's `get_ssl_peercert`, `get_ssl_cipher`).
//!
//! A clean close sends `close_notify`. A body delimited by the end of the connection that
//! ends without the peer's `close_notify` is an error: it may have been cut short.

mod config;
mod handshake;
mod stream;

use std::fmt;
use std::io;

pub use config::{ClientTls, ClientTlsBuilder, ServerTls, ServerTlsBuilder};
pub use handshake::Handshake;
pub use rustls;
pub use rustls_pki_types::{CertificateDer, PrivateKeyDer};
pub use stream::{TlsInfo, TlsStream};

/// A TLS error.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TlsError {
    /// The configuration is wrong (the caller's fault): a file that cannot be read, no
    /// certificate in it, a key that does not match, `check_hostname(false)` without a CA
    /// of your own...
    Config {
        /// What is wrong.
        message: String,
    },
    /// TLS failed with the peer: a certificate that does not verify (unknown CA, wrong
    /// name, expired), a refused client certificate, no common protocol or suite, a
    /// corrupt record. The rustls error says which.
    Protocol(rustls::Error),
}

impl TlsError {
    /// The TLS error inside an I/O error from a [`TlsStream`] or a [`Handshake`], if any.
    pub fn from_io(e: &io::Error) -> Option<&Self> {
        e.get_ref().and_then(|inner| inner.downcast_ref::<Self>())
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config { message } => write!(f, "TLS configuration: {message}"),
            Self::Protocol(e) => write!(f, "TLS: {e}"),
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Protocol(e) => Some(e),
            Self::Config { .. } => None,
        }
    }
}
