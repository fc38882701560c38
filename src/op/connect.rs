//! [`Connect`]: a connection as a [`ClientStream`], without blocking.

use super::stream::ClientStream;
use crate::error::Error;
use crate::io::{self, Address};
use crate::proto::Limits;
use crate::Progress;

/// Connects to the first of some addresses that accepts, giving a [`ClientStream`].
///
/// This is [`io::Connect`] with the stream around its transport; see there for how the
/// addresses are tried and how to give up on a slow one
/// ([`skip_current`](Self::skip_current)). Resolving a name is a separate, blocking step:
/// [`io::resolve`].
#[derive(Debug)]
pub struct Connect {
    inner: io::Connect,
    limits: Limits,
}

impl Connect {
    /// Connects to the first of `addresses` that accepts, in order.
    pub fn new(addresses: Vec<Address>) -> Self {
        Self::with_limits(addresses, Limits::client())
    }

    /// The same, with these limits for the stream.
    pub fn with_limits(addresses: Vec<Address>, limits: Limits) -> Self {
        Self {
            inner: io::Connect::new(addresses),
            limits,
        }
    }

    /// Gives up on the address being tried and goes on with the next.
    pub fn skip_current(&mut self) {
        self.inner.skip_current();
    }

    /// The address being tried.
    pub fn current_address(&self) -> Option<&Address> {
        self.inner.current_address()
    }

    /// Makes progress: `Ready` with the stream, or the last address's error.
    pub fn resume(&mut self) -> Result<Progress<ClientStream>, Error> {
        Ok(self
            .inner
            .resume()?
            .map(|transport| ClientStream::with_limits(transport, self.limits)))
    }
}
