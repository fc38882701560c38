//! [`Session`]: one client connection, as handlers see it.

use http::Extensions;

use crate::io::Address;
use crate::tls::{CertificateDer, TlsInfo};

/// The process, user and group at the other end of a Unix socket (`SO_PEERCRED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credentials {
    /// Process id.
    pub pid: i32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// One client connection (degu's `session`): who the peer is, and a store that lives as
/// long as the connection.
#[derive(Debug)]
pub struct Session {
    pub(crate) peer: Address,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) tls: Option<TlsInfo>,
    pub(crate) requests: u64,
    pub(crate) close: bool,
    /// Anything a handler wants to keep for the next requests on this connection.
    pub store: Extensions,
}

impl Session {
    pub(crate) fn new(peer: Address, credentials: Option<Credentials>) -> Self {
        Self {
            peer,
            credentials,
            tls: None,
            requests: 0,
            close: false,
            store: Extensions::new(),
        }
    }

    /// The peer's address (for a Unix socket, usually unnamed).
    pub fn peer(&self) -> &Address {
        &self.peer
    }

    /// The peer process's credentials, on a Unix socket.
    pub fn credentials(&self) -> Option<Credentials> {
        self.credentials
    }

    /// What TLS agreed on, over TLS.
    pub fn tls(&self) -> Option<&TlsInfo> {
        self.tls.as_ref()
    }

    /// The client's certificate (leaf), verified against the server's client CA, if the
    /// client presented one.
    pub fn client_certificate(&self) -> Option<&CertificateDer<'static>> {
        self.tls.as_ref().and_then(|t| t.peer_certificates.first())
    }

    /// Requests received on this connection so far, the current one included.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Closes the connection after the current response.
    pub fn close(&mut self) {
        self.close = true;
    }
}
