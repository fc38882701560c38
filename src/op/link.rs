//! [`Link`]: what a stream reads and writes through: a plain transport or TLS over one.

use std::io::{self, Read, Write};

use crate::io::Transport;
use crate::tls::TlsStream;
use crate::Interest;

/// A connected transport, in clear or under TLS. Both read and write without blocking;
/// after a `WouldBlock`, [`read_need`](Self::read_need) and
/// [`write_need`](Self::write_need) say what the socket must become (with TLS, possibly
/// the other direction).
#[derive(Debug)]
pub(crate) enum Link {
    Plain(Transport),
    Tls(Box<TlsStream>),
}

impl Link {
    pub(crate) fn transport(&self) -> &Transport {
        match self {
            Self::Plain(t) => t,
            Self::Tls(s) => s.transport(),
        }
    }

    pub(crate) fn tls(&self) -> Option<&TlsStream> {
        match self {
            Self::Plain(_) => None,
            Self::Tls(s) => Some(s),
        }
    }

    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(t) => t.read(buf),
            Self::Tls(s) => s.read(buf),
        }
    }

    pub(crate) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(t) => t.write(buf),
            Self::Tls(s) => s.write(buf),
        }
    }

    /// Writes `out[*written..]` as far as the socket takes it (advancing `written`), then
    /// what TLS still holds. `Ok(true)`: all of it is out; `Ok(false)`: the socket is full,
    /// wait for writable. A socket that takes nothing is a `WriteZero` error.
    pub(crate) fn write_out(&mut self, out: &[u8], written: &mut usize) -> io::Result<bool> {
        while *written < out.len() {
            match self.write(&out[*written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => *written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.flush_held()
    }

    /// Reads once into `buf`: `Ok(Some(n))` (0: the end of input), `Ok(None)`: nothing to
    /// read now (wait for [`read_need`](Self::read_need)).
    pub(crate) fn read_once(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            match self.read(buf) {
                Ok(n) => return Ok(Some(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes what the link itself still holds (TLS records). `Ok(false)`: the socket is
    /// full.
    pub(crate) fn flush_held(&mut self) -> io::Result<bool> {
        match self {
            Self::Plain(_) => Ok(true),
            Self::Tls(s) => s.flush_records(),
        }
    }

    /// Whether the link holds bytes for the socket.
    pub(crate) fn holds_output(&self) -> bool {
        match self {
            Self::Plain(_) => false,
            Self::Tls(s) => s.wants_write(),
        }
    }

    pub(crate) fn read_need(&self) -> Interest {
        match self {
            Self::Plain(_) => Interest::READABLE,
            Self::Tls(s) => s.need(),
        }
    }

    pub(crate) fn write_need(&self) -> Interest {
        match self {
            Self::Plain(_) => Interest::WRITABLE,
            Self::Tls(s) => s.need(),
        }
    }

    /// The transport, for registering with a poller.
    pub(crate) fn transport_mut(&mut self) -> &mut Transport {
        match self {
            Self::Plain(t) => t,
            Self::Tls(s) => s.transport_mut(),
        }
    }

    /// The transport itself, with the bytes TLS has decrypted but nobody read. `None` under
    /// TLS: a protocol switch there keeps the TLS session.
    pub(crate) fn into_plain(self) -> Option<Transport> {
        match self {
            Self::Plain(t) => Some(t),
            Self::Tls(_) => None,
        }
    }
}

/// Implements mio's `Source` for a stream type with a `link` field: registering the stream
/// registers its socket.
macro_rules! source_via_link {
    ($stream:ty) => {
        /// Registers the stream's socket with a mio poller.
        impl mio::event::Source for $stream {
            fn register(
                &mut self,
                registry: &mio::Registry,
                token: mio::Token,
                interests: mio::Interest,
            ) -> std::io::Result<()> {
                self.link
                    .transport_mut()
                    .register(registry, token, interests)
            }

            fn reregister(
                &mut self,
                registry: &mio::Registry,
                token: mio::Token,
                interests: mio::Interest,
            ) -> std::io::Result<()> {
                self.link
                    .transport_mut()
                    .reregister(registry, token, interests)
            }

            fn deregister(&mut self, registry: &mio::Registry) -> std::io::Result<()> {
                self.link.transport_mut().deregister(registry)
            }
        }
    };
}
pub(crate) use source_via_link;
