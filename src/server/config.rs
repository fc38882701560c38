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
pub(crate) const MAX_CONNECTIONS: usize = 10_000;

#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) handler: Arc<Handler>,
    pub(crate) on_connect: Option<Arc<OnConnect>>,
    pub(crate) tls: Option<ServerTls>,
    pub(crate) limits: Limits,
    pub(crate) idle_timeout: Duration,
    pub(crate) head_timeout: Duration,
    pub(crate) body_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) max_requests: Option<u64>,
    pub(crate) workers: usize,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("tls", &self.tls.is_some())
            .field("limits", &self.limits)
            .field("idle_timeout", &self.idle_timeout)
            .field("head_timeout", &self.head_timeout)
            .field("body_timeout", &self.body_timeout)
            .field("max_connections", &self.max_connections)
            .field("max_requests", &self.max_requests)
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}
