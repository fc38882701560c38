//! Transports: TCP (IPv4, IPv6 with scope ids) and Unix sockets (paths and Linux abstract
//! names), non-blocking; name resolution that keeps off your loop.
//!
//! This is the only layer that sees [`WouldBlock`](std::io::ErrorKind::WouldBlock): a
//! [`Transport`] is a connected, non-blocking stream whose `read` and `write` return
//! `WouldBlock` when the socket is not ready, and the operations above it turn that into a
//! [`PollNeeded`](crate::PollNeeded).
//!
//! Getting a connection takes two steps:
//!
//! 1. Name resolution turns a host name and port into [`Address`]es, with the system
//!    resolver (getaddrinfo(3)), which may block on DNS. [`Resolve`] does one lookup on a
//!    helper thread and is resumed like any operation; [`Resolver`] runs many lookups on a
//!    few threads behind one descriptor, with a cache (for a loop over many hosts).
//!    [`resolve()`] is the plain blocking call, the one blocking step of the crate. IP
//!    literals are answered at once by all three; or skip this step by building the
//!    [`Address`] yourself.
//! 2. [`Connect`] connects to one of the addresses without blocking, racing them as RFC
//!    8305 ("Happy Eyeballs") describes: families interleaved, the next address tried
//!    250 ms after the last one started or at once when one fails, the first connection
//!    made kept. Resume it until it is [`Ready`](crate::Progress::Ready), also at its
//!    [`next_attempt_at`](Connect::next_attempt_at) if nothing is ready by then.
//!
//! ```no_run
//! use pollhttp::io::{Connect, Resolve};
//! use pollhttp::Progress;
//! use std::time::Instant;
//! # fn main() -> std::io::Result<()> {
//! let mut resolve = Resolve::new("localhost", 8080); // looks up on a helper thread
//! let addresses = loop {
//!     match resolve.resume()? {
//!         Progress::Ready(addresses) => break addresses,
//!         Progress::Pending(need) => {
//!             need.wait(None)?;
//!         }
//!     }
//! };
//! let mut connect = Connect::new(addresses);
//! let transport = loop {
//!     match connect.resume()? {
//!         Progress::Ready(transport) => break transport,
//!         Progress::Pending(need) => {
//!             // Until something is ready, or the next address is due.
//!             let wait = connect.next_attempt_at().map(|at| at.saturating_duration_since(Instant::now()));
//!             need.wait(wait)?;
//!         }
//!     }
//! };
//! println!("connected to {}", transport.peer_address()?);
//! # Ok(())
//! # }
//! ```

mod address;
mod any_ready;
mod connect;
pub(crate) mod descriptors;
mod resolve;
mod transport;

pub use address::{host_header_for_name, resolve, Address};
pub use connect::{Connect, DEFAULT_ATTEMPT_DELAY};
pub use resolve::{Lookup, LookupFn, LookupId, Resolve, Resolver};
pub(crate) use transport::unix_address;
pub use transport::Transport;

/// An I/O error that says what was being done, keeping `kind` and the original error as
/// its [`source`](std::error::Error::source).
#[derive(Debug)]
struct Context {
    what: String,
    error: std::io::Error,
}

impl std::fmt::Display for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, self.error)
    }
}

impl std::error::Error for Context {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Wraps `error` as "`what`: `error`", with the same kind (or `kind`, if given).
fn annotate(
    error: std::io::Error,
    kind: Option<std::io::ErrorKind>,
    what: String,
) -> std::io::Error {
    std::io::Error::new(kind.unwrap_or(error.kind()), Context { what, error })
}
