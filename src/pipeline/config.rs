//! [`Config`]: how many connections, how deep, how long, how many attempts.

use std::time::Duration;

use crate::proto::Limits;
use crate::tls::ClientTls;

/// How a [`Pipeline`](super::Pipeline) or a [`Fetcher`](super::Fetcher) uses its
/// connections. Start from [`Config::default`] and change what you need.
///
/// ```
/// use pollhttp::pipeline::Config;
/// use std::time::Duration;
/// let mut config = Config::default();
/// config.connections = 2;
/// config.depth = 64;
/// config.request_timeout = Some(Duration::from_secs(10));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Connections per origin at most (default 1). More are opened only while the open
    /// ones are full. Each counts until it has ended, also one that has sent all the
    /// server allows on it (its request cap, or an announced close) and only waits for its
    /// last responses: more would be more than a server may be ready to accept (a listen
    /// backlog of 5 drops the SYNs of the rest, each a second's stall).
    pub connections: usize,
    /// Connections open at once over all origins at most. `None` (the default): seven
    /// eighths of the process's soft limit on open files when the fetcher is made (896
    /// under the common limit of 1,024), at most 16,384. Origins that need a connection
    /// past it wait for one to close. A connect racing several addresses counts one more
    /// for each descriptor it holds beyond its first, while the race lasts (see
    /// [`attempt_delay`](Self::attempt_delay)). A connection that cannot be opened because the
    /// process has no descriptor left (EMFILE) is not the server's failure: the cap comes
    /// down to the connections open, and the origin waits the same way.
    pub max_connections: Option<usize>,
    /// Connections open (or opening) at once to one server address (IP address and port,
    /// or socket path) over all origins, at most (default 32, and never fewer than
    /// [`connections`](Self::connections)). A list's origins may be many names for one
    /// server (virtual hosts, a shared host): without this each would open its own at
    /// once, and a server past its own limit drops the rest (nginx's default
    /// `worker_connections` is 512, 768 on Debian: thousands of names for it lost most of
    /// their requests in a second). Origins past it wait for a connection to that address
    /// to close. A connection counts for the address it tries first.
    pub max_connections_per_address: usize,
    /// Requests in flight per connection at most (default 1024). A server seen to
    /// mishandle pipelining gets 1; a connection with a known request cap above 8 keeps
    /// at most seven eighths of it in flight (so it goes on writing in batches).
    pub depth: usize,
    /// Tries a request gets at most: it is never sent more times than this (default 3; see
    /// the [module](super) docs for what counts, and why a failed retry of an idempotent
    /// request may be retried once more, where RFC 9110 §9.2.2 says it should not be). Set
    /// 2 for one automatic retry only.
    pub max_attempts: u32,
    /// How long a request may wait for its whole response once written (default 30 s):
    /// past it the attempt fails, and the connection is closed, since the pipeline behind
    /// it is stuck. `None`: no limit.
    pub request_timeout: Option<Duration>,
    /// How long a connection (with its TLS handshake) may take to open, over all the
    /// origin's addresses (default 10 s). `None`: no limit.
    pub connect_timeout: Option<Duration>,
    /// How long a connection attempt is in progress before the origin's next address is
    /// tried beside it (RFC 8305, see [`io::Connect`](crate::io::Connect)); default
    /// [`DEFAULT_ATTEMPT_DELAY`](crate::io::DEFAULT_ATTEMPT_DELAY), 250 ms. `None`: one
    /// address at a time, the next when one fails. Each connection starts with the
    /// address the origin last connected to.
    pub attempt_delay: Option<Duration>,
    /// The TLS configuration for `https` origins (default: the system's roots).
    pub tls: Option<ClientTls>,
    /// The limits on responses.
    pub limits: Limits,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            connections: 1,
            max_connections: None,
            max_connections_per_address: 32,
            depth: 1024,
            max_attempts: 3,
            request_timeout: Some(Duration::from_secs(30)),
            connect_timeout: Some(Duration::from_secs(10)),
            attempt_delay: Some(crate::io::DEFAULT_ATTEMPT_DELAY),
            tls: None,
            limits: Limits::client(),
        }
    }
}

impl Config {
    /// The most connections to one server address:
    /// [`max_connections_per_address`](Self::max_connections_per_address), and never fewer
    /// than [`connections`](Self::connections).
    pub(crate) fn per_address_cap(&self) -> usize {
        self.max_connections_per_address
            .max(self.connections)
            .max(1)
    }

    /// Requests are queued on a connection once this much room is free, so they go out
    /// in batches (one write for many) rather than one write per response read.
    pub(crate) fn batch(&self, depth: usize) -> usize {
        (depth / 16).clamp(1, 64)
    }
}
