//! [`Handshake`]: the TLS handshake as a resumable operation.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;

use rustls_pki_types::ServerName;

use super::{ClientTls, ServerTls, TlsError, TlsStream};
use crate::io::Transport;
use crate::{Interest, PollNeeded, Progress};

/// The TLS handshake on a connected transport, either role.
///
/// Each [`resume`](Self::resume) sends and receives what it can without blocking; while
/// unfinished it returns [`Progress::Pending`] with what the socket must become (readable,
/// writable, or both). `Ready` gives the [`TlsStream`], its handshake complete and the
/// peer verified.
#[derive(Debug)]
pub struct Handshake {
    stream: Option<TlsStream>,
}

impl Handshake {
    /// A client handshake; `server_name` is sent as SNI and (unless the configuration says
    /// otherwise) must be named by the server's certificate: a DNS name or an IP address.
    pub fn client(
        transport: Transport,
        tls: &ClientTls,
        server_name: &str,
    ) -> Result<Self, TlsError> {
        let name = server_name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split('%')
            .next()
            .unwrap_or(server_name);
        let name = ServerName::try_from(name.to_owned()).map_err(|_| TlsError::Config {
            message: format!("{server_name:?} is not a DNS name or an IP address"),
        })?;
        let conn = rustls::ClientConnection::new(Arc::clone(&tls.config), name)
            .map_err(TlsError::Protocol)?;
        Ok(Self {
            stream: Some(TlsStream::new(transport, conn.into())),
        })
    }

    /// A server handshake.
    pub fn server(transport: Transport, tls: &ServerTls) -> Result<Self, TlsError> {
        let conn =
            rustls::ServerConnection::new(Arc::clone(&tls.config)).map_err(TlsError::Protocol)?;
        Ok(Self {
            stream: Some(TlsStream::new(transport, conn.into())),
        })
    }

    /// The socket's descriptor (`-1` once the handshake is over).
    pub fn fd(&self) -> std::os::fd::RawFd {
        self.stream.as_ref().map_or(-1, AsRawFd::as_raw_fd)
    }

    /// Makes progress: `Ready` with the stream once the handshake is complete. A peer
    /// that refuses (a bad certificate, no common suite) gives the TLS error, inside an
    /// [`io::Error`] of kind `InvalidData` ([`TlsError::from_io`] finds it); a peer that
    /// closes gives `UnexpectedEof`. Resuming after `Ready` or an error is an
    /// `InvalidInput` error.
    pub fn resume(&mut self) -> io::Result<Progress<TlsStream>> {
        let Some(stream) = self.stream.as_mut() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the handshake is over",
            ));
        };
        let result = step(stream);
        match result {
            Ok(None) => Ok(Progress::Ready(self.stream.take().expect("checked above"))),
            Ok(Some(interest)) => Ok(Progress::Pending(PollNeeded {
                fd: stream.as_raw_fd(),
                interest,
            })),
            Err(e) => {
                self.stream = None;
                Err(e)
            }
        }
    }
}

/// One round: `None` when done, else what to wait for.
fn step(stream: &mut TlsStream) -> io::Result<Option<Interest>> {
    loop {
        let flushed = stream.flush_records()?;
        if !stream.is_handshaking() {
            // Our last flight (a client's Finished) must be out before the stream is used.
            return Ok(if flushed {
                None
            } else {
                Some(Interest::WRITABLE)
            });
        }
        if stream.socket_eof() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer closed the connection during the TLS handshake",
            ));
        }
        if !stream.read_records()? {
            return Ok(Some(if flushed {
                Interest::READABLE
            } else {
                Interest::READABLE | Interest::WRITABLE
            }));
        }
    }
}
