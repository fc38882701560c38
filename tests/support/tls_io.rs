//! Blocking I/O over a non-blocking `TlsStream` for the TLS tests: each call waits in
//! poll(2) for what the stream's last `WouldBlock` needs, at most `WAIT`.
// Each test crate including this uses part of it.
#![allow(dead_code)]

use std::io::{self, ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::time::Duration;

use pollhttp::tls::{Handshake, TlsStream};
use pollhttp::{PollNeeded, Progress};

/// The longest any wait may last: a hang fails the test.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// Waits until the socket is ready for what the stream's last `WouldBlock` needs.
pub(crate) fn wait_for(tls: &TlsStream) -> io::Result<()> {
    let need = PollNeeded {
        fd: tls.as_raw_fd(),
        interest: tls.need(),
    };
    if need.wait(Some(WAIT))? {
        Ok(())
    } else {
        Err(io::Error::new(
            ErrorKind::TimedOut,
            format!("waited {WAIT:?} for {need:?}"),
        ))
    }
}

pub(crate) fn read_some(tls: &mut TlsStream, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match tls.read(buf) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => wait_for(tls)?,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            outcome => return outcome,
        }
    }
}

/// Writes all of `data` and flushes the records to the socket.
pub(crate) fn write_all(tls: &mut TlsStream, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        match tls.write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => wait_for(tls)?,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    flush(tls)
}

pub(crate) fn flush(tls: &mut TlsStream) -> io::Result<()> {
    loop {
        match tls.flush() {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::WouldBlock => wait_for(tls)?,
            Err(e) => return Err(e),
        }
    }
}

/// A handshake to its end, waiting for the socket between steps.
pub(crate) fn complete(mut handshake: Handshake) -> io::Result<TlsStream> {
    loop {
        match handshake.resume()? {
            Progress::Ready(tls) => return Ok(tls),
            Progress::Pending(need) => {
                if !need.wait(Some(WAIT))? {
                    return Err(io::Error::new(
                        ErrorKind::TimedOut,
                        format!("handshake: waited {WAIT:?} for {need:?}"),
                    ));
                }
            }
        }
    }
}
