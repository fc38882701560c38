//! [`Connect`]: a connection as a [`ClientStream`], without blocking: TCP or a Unix socket,
//! then the TLS handshake if there is one.

use std::time::{Duration, Instant};

use super::stream::ClientStream;
use crate::error::Error;
use crate::io::{self, Address};
use crate::proto::Limits;
use crate::tls::{ClientTls, Handshake};
use crate::Progress;

/// Connects to one of some addresses, giving a [`ClientStream`]; with TLS, then does the
/// handshake.
///
/// This is [`io::Connect`] with the stream around its transport; see there for how the
/// addresses are raced (RFC 8305), when to resume ([`next_attempt_at`](Self::next_attempt_at))
/// and how to give up on a slow attempt ([`skip_current`](Self::skip_current)). Resolving a name is a separate step, before
/// this one: [`io::Resolve`] (one lookup) or [`io::Resolver`] (many) without blocking, or
/// the blocking [`io::resolve`].
#[derive(Debug)]
pub struct Connect {
    stage: Stage,
    limits: Limits,
    tls: Option<(ClientTls, String)>,
}

#[derive(Debug)]
enum Stage {
    Connecting(io::Connect),
    Handshaking(Box<Handshake>),
    Done,
}

impl Connect {
    /// Connects to one of `addresses`, racing them as [`io::Connect::new`] does.
    pub fn new(addresses: Vec<Address>) -> Self {
        Self::with_limits(addresses, Limits::client())
    }

    /// The same, with these limits for the stream.
    pub fn with_limits(addresses: Vec<Address>, limits: Limits) -> Self {
        Self {
            stage: Stage::Connecting(io::Connect::new(addresses)),
            limits,
            tls: None,
        }
    }

    /// Then a TLS handshake, sending `server_name` (SNI) and checking the server's
    /// certificate names it (unless `tls` says not to).
    pub fn tls(mut self, tls: ClientTls, server_name: impl Into<String>) -> Self {
        self.tls = Some((tls, server_name.into()));
        self
    }

    /// Sets the delay before the next address is tried beside those in progress; `None`:
    /// one at a time, in order. See [`io::Connect::attempt_delay`].
    #[must_use]
    pub fn attempt_delay(mut self, delay: Option<Duration>) -> Self {
        if let Stage::Connecting(connect) = std::mem::replace(&mut self.stage, Stage::Done) {
            self.stage = Stage::Connecting(connect.attempt_delay(delay));
        }
        self
    }

    /// When the next address is due to be tried if nothing is ready first: resume by then.
    /// `None` once connected (the TLS handshake waits only for its descriptor), or when no
    /// attempt waits for time. See [`io::Connect::next_attempt_at`].
    pub fn next_attempt_at(&self) -> Option<Instant> {
        self.connecting().and_then(io::Connect::next_attempt_at)
    }

    /// Gives up on the connections in progress and goes on with the next address (no
    /// effect once the TLS handshake has started).
    pub fn skip_current(&mut self) {
        if let Stage::Connecting(connect) = &mut self.stage {
            connect.skip_current();
        }
    }

    /// The address of the newest connection in progress.
    pub fn current_address(&self) -> Option<&Address> {
        self.connecting().and_then(io::Connect::current_address)
    }

    /// The addresses of the connections in progress, oldest first (none once the TLS
    /// handshake has started). See [`io::Connect::addresses_in_progress`].
    pub fn addresses_in_progress(&self) -> impl Iterator<Item = &Address> {
        self.connecting()
            .into_iter()
            .flat_map(io::Connect::addresses_in_progress)
    }

    /// The addresses not tried yet (none once connected). See [`io::Connect::untried`].
    pub fn untried(&self) -> impl Iterator<Item = &Address> {
        self.connecting().into_iter().flat_map(io::Connect::untried)
    }

    /// The error of giving up now: [`TimedOut`](std::io::ErrorKind::TimedOut), naming the
    /// addresses in progress (none during the TLS handshake).
    pub(crate) fn timed_out(&self) -> std::io::Error {
        self.connecting().map_or_else(
            || std::io::Error::new(std::io::ErrorKind::TimedOut, "connecting: timed out"),
            io::Connect::timed_out,
        )
    }

    /// The connect, while it is that (not yet the TLS handshake).
    fn connecting(&self) -> Option<&io::Connect> {
        match &self.stage {
            Stage::Connecting(connect) => Some(connect),
            _ => None,
        }
    }

    /// Descriptors it holds now (several while addresses race; see
    /// [`io::Connect`]).
    pub(crate) fn descriptors(&self) -> usize {
        match &self.stage {
            Stage::Connecting(connect) => connect.descriptors(),
            Stage::Handshaking(_) => 1,
            Stage::Done => 0,
        }
    }

    /// True once connected, while the TLS handshake goes on.
    pub fn is_handshaking(&self) -> bool {
        matches!(self.stage, Stage::Handshaking(_))
    }

    /// Makes progress: `Ready` with the stream, or the last address's error, or the TLS
    /// error.
    pub fn resume(&mut self) -> Result<Progress<ClientStream>, Error> {
        loop {
            match &mut self.stage {
                Stage::Connecting(connect) => {
                    let transport = match connect.resume()? {
                        Progress::Ready(transport) => transport,
                        Progress::Pending(p) => return Ok(Progress::Pending(p)),
                    };
                    match &self.tls {
                        None => {
                            self.stage = Stage::Done;
                            return Ok(Progress::Ready(ClientStream::with_limits(
                                transport,
                                self.limits,
                            )));
                        }
                        Some((tls, name)) => match Handshake::client(transport, tls, name) {
                            Ok(handshake) => self.stage = Stage::Handshaking(Box::new(handshake)),
                            Err(e) => {
                                self.stage = Stage::Done;
                                return Err(e.into());
                            }
                        },
                    }
                }
                Stage::Handshaking(handshake) => {
                    let result = handshake.resume();
                    return match result {
                        Ok(Progress::Ready(tls)) => {
                            self.stage = Stage::Done;
                            Ok(Progress::Ready(ClientStream::over_tls(tls, self.limits)))
                        }
                        Ok(Progress::Pending(p)) => Ok(Progress::Pending(p)),
                        Err(e) => {
                            self.stage = Stage::Done;
                            Err(e.into())
                        }
                    };
                }
                // As io::Connect reports it.
                Stage::Done => {
                    return Err(Error::Io(std::sync::Arc::new(std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "the connect operation is over",
                    ))))
                }
            }
        }
    }
}
