//! [`TlsStream`]: TLS over a non-blocking transport, with the socket readiness each step
//! really needs.

use std::fmt;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};

use rustls_pki_types::CertificateDer;

use super::TlsError;
use crate::io::Transport;
use crate::Interest;

/// Plaintext rustls may hold before the socket takes it: writes beyond it wait.
const SEND_BUFFER_LIMIT: usize = 64 * 1024;

/// A TLS connection (either role) over a non-blocking [`Transport`].
///
/// `read` and `write` behave as on a non-blocking socket: they return
/// [`WouldBlock`](io::ErrorKind::WouldBlock) when they cannot progress, and
/// [`need`](Self::need) then says what the socket must become: a read may first need the
/// socket writable (records rustls must send before it can go on), a write may need it
/// readable. `read` returns `Ok(0)` only after the peer's `close_notify`; a peer that
/// closes the connection without one gives an
/// [`UnexpectedEof`](io::ErrorKind::UnexpectedEof) error, because what came before may be
/// cut short (truncation).
///
/// Dropping the stream sends `close_notify` (as far as the socket takes it without
/// waiting) and closes the connection.
pub struct TlsStream {
    transport: Transport,
    conn: rustls::Connection,
    need: Interest,
    /// The socket gave end of file.
    eof: bool,
    /// Where the bytes read stand in the record framing.
    records: RecordFraming,
}

/// Where the bytes read from the socket stand in TLS's record framing (RFC 8446 §5.1: a
/// 5-byte header, the last two bytes of which give the length of the fragment after it),
/// so that a record begun but not yet whole, which rustls holds as ciphertext, is known.
#[derive(Debug, Default, Clone, Copy)]
struct RecordFraming {
    /// The current record's header bytes seen so far (0 to 4; 5 starts its fragment).
    header: [u8; 5],
    header_seen: usize,
    /// Bytes of the current record's fragment still to come.
    fragment_left: usize,
}

impl RecordFraming {
    fn advance(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.fragment_left > 0 {
                let n = self.fragment_left.min(bytes.len());
                self.fragment_left -= n;
                bytes = &bytes[n..];
                continue;
            }
            self.header[self.header_seen] = bytes[0];
            self.header_seen += 1;
            bytes = &bytes[1..];
            if self.header_seen == self.header.len() {
                self.header_seen = 0;
                self.fragment_left =
                    usize::from(u16::from_be_bytes([self.header[3], self.header[4]]));
            }
        }
    }

    fn within_a_record(&self) -> bool {
        self.header_seen > 0 || self.fragment_left > 0
    }
}

/// The socket as rustls reads it, with the record framing followed on the way.
struct FramedReader<'a> {
    transport: &'a Transport,
    records: &'a mut RecordFraming,
}

impl Read for FramedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (&mut &*self.transport).read(buf)?;
        self.records.advance(&buf[..n]);
        Ok(n)
    }
}

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsStream")
            .field("transport", &self.transport)
            .field("handshaking", &self.conn.is_handshaking())
            .field("need", &self.need)
            .finish_non_exhaustive()
    }
}

/// What TLS agreed on, and who the peer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// The peer's certificate chain, leaf first, as it sent it (for a server, the verified
    /// client certificate; empty when the client presented none).
    pub peer_certificates: Vec<CertificateDer<'static>>,
    /// `TLSv1.3` or `TLSv1.2`.
    pub protocol_version: String,
    /// The IANA name of the cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
    /// The protocol agreed by ALPN, if any (`http/1.1`, or `http/1.0` from a client that
    /// offers only that).
    pub alpn_protocol: Option<Vec<u8>>,
}

impl TlsStream {
    pub(crate) fn new(transport: Transport, mut conn: rustls::Connection) -> Self {
        conn.set_buffer_limit(Some(SEND_BUFFER_LIMIT));
        Self {
            transport,
            conn,
            need: Interest::READABLE,
            eof: false,
            records: RecordFraming::default(),
        }
    }

    /// The transport underneath.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The transport, for registering with a poller.
    pub(crate) fn transport_mut(&mut self) -> &mut Transport {
        &mut self.transport
    }

    /// What the last [`WouldBlock`](io::ErrorKind::WouldBlock) waits for.
    pub fn need(&self) -> Interest {
        self.need
    }

    /// True until the handshake is complete.
    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Whether encrypted bytes wait to be written to the socket.
    pub fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// The protocol version, cipher suite and peer certificates (once the handshake is done).
    pub fn info(&self) -> TlsInfo {
        TlsInfo {
            peer_certificates: self
                .conn
                .peer_certificates()
                .map(<[_]>::to_vec)
                .unwrap_or_default(),
            protocol_version: match self.conn.protocol_version() {
                Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_owned(),
                Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
                Some(other) => format!("{other:?}"),
                None => String::new(),
            },
            cipher_suite: self
                .conn
                .negotiated_cipher_suite()
                .and_then(|s| s.suite().as_str())
                .unwrap_or("")
                .to_owned(),
            alpn_protocol: self.conn.alpn_protocol().map(<[u8]>::to_vec),
        }
    }

    /// Writes encrypted bytes rustls has ready. `Ok(true)`: none left; `Ok(false)`: the
    /// socket is full.
    pub(crate) fn flush_records(&mut self) -> io::Result<bool> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut &self.transport) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Reads encrypted bytes from the socket and decrypts them. `Ok(false)`: nothing to
    /// read now.
    pub(crate) fn read_records(&mut self) -> io::Result<bool> {
        loop {
            let mut socket = FramedReader {
                transport: &self.transport,
                records: &mut self.records,
            };
            match self.conn.read_tls(&mut socket) {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            break;
        }
        if let Err(e) = self.conn.process_new_packets() {
            // Tell the peer why (the alert is queued), as far as the socket takes it.
            let _ = self.flush_records();
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                TlsError::Protocol(e),
            ));
        }
        Ok(true)
    }

    pub(crate) fn socket_eof(&self) -> bool {
        self.eof
    }

    /// Whether bytes of a record have come that do not make a whole one yet: nothing of
    /// it is plaintext, but the peer has begun to send it.
    pub(crate) fn within_a_record(&self) -> bool {
        self.records.within_a_record()
    }

    /// Sends `close_notify` as far as the socket takes it now.
    pub fn send_close_notify(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush_records();
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut after_eof = false;
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the peer closed the connection without a TLS close_notify \
                         (what came before may be cut short)",
                    ))
                }
                Err(e) => return Err(e),
            }
            // Records rustls holds (a request written, a key update, an alert) go out now,
            // as far as they go. A socket that takes no more (the peer closed or reset the
            // connection) may still hold what the peer sent before: that is read all the
            // same, as over plain TCP, and the failed write is for the writing side to
            // report (its next write fails too). Then there is nothing to wait for but
            // readable.
            let flushed = self.flush_records().unwrap_or(true);
            if self.eof {
                if after_eof {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                // rustls has seen the end: the next read reports it (0 or UnexpectedEof).
                after_eof = true;
                continue;
            }
            if !self.read_records()? {
                self.need = if flushed {
                    Interest::READABLE
                } else {
                    Interest::READABLE | Interest::WRITABLE
                };
                return Err(io::ErrorKind::WouldBlock.into());
            }
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // Make room: what rustls holds goes to the socket first.
        self.flush_records()?;
        let n = self.conn.writer().write(buf)?;
        self.flush_records()?;
        if n == 0 {
            self.need = Interest::WRITABLE;
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    /// Writes the encrypted bytes rustls holds; `WouldBlock` while the socket is full.
    fn flush(&mut self) -> io::Result<()> {
        if self.flush_records()? {
            Ok(())
        } else {
            self.need = Interest::WRITABLE;
            Err(io::ErrorKind::WouldBlock.into())
        }
    }
}

impl AsRawFd for TlsStream {
    fn as_raw_fd(&self) -> RawFd {
        self.transport.as_raw_fd()
    }
}

impl Drop for TlsStream {
    fn drop(&mut self) {
        if !self.conn.is_handshaking() {
            self.send_close_notify();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RecordFraming;

    /// Two records (a 3-byte fragment, then an empty one), fed whole, one byte at a time
    /// and split at every point: within a record until each is whole, and not after.
    #[test]
    fn record_framing_follows_headers_and_fragments_however_split() {
        let bytes = [23, 3, 3, 0, 3, b'a', b'b', b'c', 21, 3, 3, 0, 0];
        // After each byte: whether a record is begun and not whole.
        let within = [
            true, true, true, true, true, true, true, false, true, true, true, true, false,
        ];
        let mut framing = RecordFraming::default();
        for (i, b) in bytes.iter().enumerate() {
            framing.advance(&[*b]);
            assert_eq!(framing.within_a_record(), within[i], "after byte {i}");
        }
        for cut in 0..=bytes.len() {
            let mut framing = RecordFraming::default();
            framing.advance(&bytes[..cut]);
            let expected = cut > 0 && within[cut - 1];
            assert_eq!(framing.within_a_record(), expected, "cut at {cut}");
            framing.advance(&bytes[cut..]);
            assert!(!framing.within_a_record(), "cut at {cut}, then the rest");
        }
    }
}
