//! The server's settings, shared by its threads.

use std::sync::Arc;
use std::time::Duration;

use super::request::Request;
use super::response::Response;
use super::session::Session;
use crate::proto::Limits;
use crate::tls::ServerTls;

/// A handler: a plain function of the session and the request (degu's RGI application).
pub type Handler = dyn for<'c> Fn(&mut Session, Request<'c>) -> Response + Send + Sync;

/// An `on_connect` hook: `false` refuses the connection (it is closed at once).
pub type OnConnect = dyn Fn(&mut Session) -> bool + Send + Sync;

/// Defaults from the design: idle keep-alive 60 s, head 10 s, body 30 s.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
pub(crate) const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
pub(crate) const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// As long as anything waits here: a wait with no deadline of its own (a handler at work,
/// a rate of 0).
pub(crate) const NO_DEADLINE: Duration = Duration::from_secs(365 * 24 * 3600);

/// The default total time for a request's head and body to arrive.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
/// The default number of handlers that may be blocked at once beyond the workers.
pub(crate) const MAX_BLOCKED_HANDLERS: usize = 512;
/// Handlers waiting for their request body at once, each on a thread of its own.
pub(crate) const MAX_BODY_WAITS: usize = 1024;
/// Kestrel's defaults for request bodies and responses: 240 B/s after 5 s.
pub(crate) const MIN_DATA_RATE: MinDataRate = MinDataRate::new(240, Duration::from_secs(5));

/// A minimum data rate (Kestrel's `MinDataRate`): once `grace` has passed since a
/// transfer began, it must have averaged at least `bytes_per_second`, counting only the
/// time the server was waiting on the client (not the time a handler took to read the
/// body or produce the response). A client that falls below it is disconnected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinDataRate {
    /// The least average rate, in bytes a second.
    pub bytes_per_second: u64,
    /// How long a transfer may go before the rate applies.
    pub grace: Duration,
}

impl MinDataRate {
    /// A rate of `bytes_per_second` after `grace`.
    pub const fn new(bytes_per_second: u64, grace: Duration) -> Self {
        Self {
            bytes_per_second,
            grace,
        }
    }

    /// How long `bytes` take at this rate (a rate of 0: as long as anything can wait).
    pub(crate) fn time_for(&self, bytes: u64) -> Duration {
        if self.bytes_per_second == 0 {
            return NO_DEADLINE;
        }
        Duration::from_secs_f64(bytes as f64 / self.bytes_per_second as f64)
    }

    /// How long `bytes` may take at this rate: the grace, or longer if the bytes need it
    /// (a rate of 0 allows as long as anything can wait).
    pub(crate) fn allowance(&self, bytes: u64) -> Duration {
        if self.bytes_per_second == 0 {
            return NO_DEADLINE;
        }
        Duration::from_secs_f64(bytes as f64 / self.bytes_per_second as f64).max(self.grace)
    }
}

pub(crate) use crate::io::descriptors::connections_within as default_max_connections;

/// The soft limit on open files the server raises itself to at start (within the hard
/// limit) when no `max_connections` is set: the least that gives the default cap of
/// [`MAX_CONNECTIONS`](crate::io::descriptors::MAX_CONNECTIONS) (see
/// [`default_max_connections`]).
pub(crate) const OPEN_FILES_WANTED: u64 = 18_724;

#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) handler: Arc<Handler>,
    pub(crate) on_connect: Option<Arc<OnConnect>>,
    pub(crate) tls: Option<ServerTls>,
    pub(crate) limits: Limits,
    pub(crate) idle_timeout: Duration,
    pub(crate) head_timeout: Duration,
    pub(crate) body_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) min_request_body_rate: Option<MinDataRate>,
    pub(crate) min_response_rate: Option<MinDataRate>,
    pub(crate) max_blocked_handlers: usize,
    pub(crate) max_body_waits: usize,
    /// `None`: [`default_max_connections`] when the server starts.
    pub(crate) max_connections: Option<usize>,
    pub(crate) max_requests: Option<u64>,
    pub(crate) workers: usize,
    /// How long a busy loop polls before it sleeps ([`super::spin`]).
    pub(crate) spin: Duration,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("tls", &self.tls.is_some())
            .field("limits", &self.limits)
            .field("idle_timeout", &self.idle_timeout)
            .field("head_timeout", &self.head_timeout)
            .field("body_timeout", &self.body_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("min_request_body_rate", &self.min_request_body_rate)
            .field("min_response_rate", &self.min_response_rate)
            .field("max_blocked_handlers", &self.max_blocked_handlers)
            .field("max_body_waits", &self.max_body_waits)
            .field("max_connections", &self.max_connections)
            .field("max_requests", &self.max_requests)
            .field("workers", &self.workers)
            .field("spin", &self.spin)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::descriptors::MAX_CONNECTIONS;

    #[test]
    fn the_open_files_wanted_are_the_least_that_give_the_default_cap() {
        assert_eq!(
            default_max_connections(Some(OPEN_FILES_WANTED)),
            MAX_CONNECTIONS
        );
        assert!(default_max_connections(Some(OPEN_FILES_WANTED - 1)) < MAX_CONNECTIONS);
    }
}
