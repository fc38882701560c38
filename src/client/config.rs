//! [`Client`]: where to connect and how, shared cheaply between threads.

use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderName, HOST};
use http::{HeaderMap, HeaderValue};

use super::pool::{Lent, Pool, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_IDLE};
use super::Connection;
use crate::blocking;
use crate::error::Error;
use crate::io::{self, host_header_for_name, Address, LookupFn};
use crate::op;
use crate::proto::Limits;
use crate::tls::ClientTls;
use crate::Progress;

/// How long a blocking call may wait for the socket, by default (per wait, as in dugong).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(90);

#[derive(Debug, Clone)]
enum Target {
    Addresses(Vec<Address>),
    Name(String, u16),
}

#[derive(Debug, Clone)]
struct Config {
    target: Target,
    timeout: Option<Duration>,
    /// How long a connection attempt goes before the next address is tried beside it.
    attempt_delay: Option<Duration>,
    /// How long a request with `expect: 100-continue` waits for the 100.
    continue_wait: Duration,
    /// Sent with every request unless the request has a field of the same name; `host`
    /// is one of them.
    base_headers: HeaderMap,
    limits: Limits,
    /// TLS, and the name to send as SNI and check the certificate against (`None`: the
    /// host the client connects to).
    tls: Option<ClientTls>,
    server_name: Option<String>,
    /// Looks names up in place of the system resolver.
    lookup: Option<CustomLookup>,
}

/// A [`LookupFn`] in the configuration (which is `Debug`).
#[derive(Clone)]
struct CustomLookup(LookupFn);

impl std::fmt::Debug for CustomLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CustomLookup")
    }
}

/// Where to connect and how (degu's `Client`): the address, the `Host` header, the
/// timeout, header fields for every request, and a small pool of idle connections.
/// [`connect`](Self::connect) hands out a connection from the pool, or makes one. Cloning
/// is cheap (shared pointers) and a `Client` can be used from many threads.
///
/// A request with `expect: 100-continue` waits for the server's `100 Continue` at most
/// [`continue_wait`](Self::with_continue_wait) (1 s by default), then sends its body
/// anyway; one refused with `417 Expectation Failed` goes again, once, without the
/// expectation, on a new connection (RFC 9110 §10.1.1; see [`Connection::request`]).
///
/// # The pool
///
/// A [`Connection`] made by a client goes back to the client's pool when it is dropped,
/// if it can carry another request: no error, no `Connection: close` either way, not an
/// HTTP/1.0 response, nothing pending or unread, no body half sent, no switch of
/// protocols. Anything else is closed. [`connect`](Self::connect) takes the most recently
/// returned connection that is still fit: idle for less than the idle timeout, and with
/// nothing to read on its socket (an idle socket that is readable means the server closed
/// it or sent bytes nobody asked for: it is closed). Expired connections are closed the
/// next time the pool is used; no thread watches them.
///
/// The server may still close an idle connection just as a request goes out on it. When
/// that happens before any byte of the response came back, [`Connection::request`] (and
/// its shortcuts) sends the request once more on a new connection, if that is safe: the
/// method is idempotent (GET, HEAD, OPTIONS, TRACE, PUT, DELETE; RFC 9110 §9.2.2) and the
/// body is empty or in memory. Otherwise the error says whether the server may have
/// processed the request.
///
/// By default a client keeps up to [`DEFAULT_MAX_IDLE`] (10) connections for
/// [`DEFAULT_IDLE_TIMEOUT`] (4 s, under the 5 s keep-alive timeout of Apache and Node.js);
/// [`with_pool`](Self::with_pool) changes both, [`without_pool`](Self::without_pool)
/// closes every connection when it is dropped. Clones share the pool, threads included,
/// unless [`with_tls`](Self::with_tls), [`with_server_name`](Self::with_server_name),
/// [`with_limits`](Self::with_limits) or the pool settings are changed on a clone, which
/// then gets an empty pool of its own (its connections would not be interchangeable). The
/// pool lives as long as a client or a connection uses it: the last one dropped closes
/// the idle connections.
///
/// The `Host` header comes from the address, as degu derives it: `name:port` or
/// `ip:port`, an IPv6 address in brackets without its scope. A Unix socket has no
/// authority, so requests over one carry an empty `Host` (RFC 9112 §3.2) unless
/// [`with_host`](Self::with_host) gives one. A request's own `host` field wins over all
/// of these.
///
/// ```no_run
/// use pollhttp::client::Client;
/// use std::time::Duration;
/// # fn main() -> Result<(), pollhttp::Error> {
/// let client = Client::resolving("localhost", 8080)
///     .with_timeout(Some(Duration::from_secs(10)))
///     .with_base_header("user-agent", "pollhttp-example");
/// let mut conn = client.connect()?;
/// let mut response = conn.get("/", Default::default())?;
/// let body = response.body.read_all()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    config: Arc<Config>,
    /// `None`: connections are closed when dropped.
    pool: Option<Arc<Pool>>,
}

impl Client {
    /// A client for one address (TCP, or a Unix socket: [`Address::unix`]).
    pub fn new(address: impl Into<Address>) -> Self {
        let address = address.into();
        let host = address.host_header().unwrap_or_default();
        Self::with_target(Target::Addresses(vec![address]), host)
    }

    /// A client for a host name (or IP literal) and port, resolved again at each
    /// [`connect`](Self::connect) (on a helper thread, waited for at most the
    /// [timeout](Self::with_timeout)), its addresses raced as
    /// [`io::Connect`] does (RFC 8305: the next one tried 250 ms after the last started).
    pub fn resolving(host: &str, port: u16) -> Self {
        let header = host_header_for_name(host, port);
        Self::with_target(Target::Name(host.to_owned(), port), header)
    }

    /// A client connecting to one of these addresses, raced as [`io::Connect`] does (the
    /// first one first, the next 250 ms later...).
    pub fn with_addresses(addresses: Vec<Address>) -> Self {
        let host = addresses
            .first()
            .and_then(Address::host_header)
            .unwrap_or_default();
        Self::with_target(Target::Addresses(addresses), host)
    }

    fn with_target(target: Target, host: String) -> Self {
        let mut base_headers = HeaderMap::new();
        let host = HeaderValue::try_from(host).unwrap_or(HeaderValue::from_static(""));
        base_headers.insert(HOST, host);
        Self {
            config: Arc::new(Config {
                target,
                timeout: Some(DEFAULT_TIMEOUT),
                attempt_delay: Some(io::DEFAULT_ATTEMPT_DELAY),
                continue_wait: op::DEFAULT_CONTINUE_WAIT,
                base_headers,
                limits: Limits::client(),
                tls: None,
                server_name: None,
                lookup: None,
            }),
            pool: Some(Arc::new(Pool::new(DEFAULT_MAX_IDLE, DEFAULT_IDLE_TIMEOUT))),
        }
    }

    fn config_mut(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.config)
    }

    /// A change to how connections are made: the connections of the old pool do not fit
    /// this client any more, and those of this client must not go to clients sharing it.
    fn own_pool(&mut self) {
        self.pool = self.pool.as_ref().map(|pool| Arc::new(pool.empty_like()));
    }

    /// Looks host names up with `lookup` instead of the system resolver (another DNS
    /// client, or a test's); for a client made with [`resolving`](Self::resolving). It runs
    /// on a helper thread, waited for at most the timeout; IP literals never reach it.
    pub fn with_lookup(mut self, lookup: LookupFn) -> Self {
        self.config_mut().lookup = Some(CustomLookup(lookup));
        self.own_pool();
        self
    }

    /// Sets the `Host` header sent with every request.
    ///
    /// # Panics
    /// If `host` is not a valid header value (it has a control character).
    pub fn with_host(mut self, host: &str) -> Self {
        let value = HeaderValue::from_str(host).expect("host is not a valid header value");
        self.config_mut().base_headers.insert(HOST, value);
        self
    }

    /// Sets how long each blocking wait may last (`None`: forever). The default is
    /// [`DEFAULT_TIMEOUT`], 90 seconds.
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config_mut().timeout = timeout;
        self
    }

    /// Sets how long a connection attempt is in progress before the next address is tried
    /// beside it (`None`: one address at a time, in order, each with the whole
    /// [timeout](Self::with_timeout)). The default is
    /// [`DEFAULT_ATTEMPT_DELAY`](io::DEFAULT_ATTEMPT_DELAY), 250 ms, as RFC 8305 §5
    /// recommends: a name whose first address does not answer (IPv6 that drops
    /// everything) connects to the next 250 ms later. See [`io::Connect::attempt_delay`].
    pub fn with_attempt_delay(mut self, delay: Option<Duration>) -> Self {
        self.config_mut().attempt_delay = delay;
        self
    }

    /// Sets how long a request with `expect: 100-continue` waits for the server's
    /// `100 Continue` before its body goes anyway (zero: at once). The default is
    /// [`DEFAULT_CONTINUE_WAIT`](crate::op::DEFAULT_CONTINUE_WAIT), 1 second, as in curl:
    /// RFC 9110 §10.1.1 asks a client not to wait indefinitely, as a server that ignores
    /// the expectation never answers before it has the body. See
    /// [`Connection::request`].
    pub fn with_continue_wait(mut self, wait: Duration) -> Self {
        self.config_mut().continue_wait = wait;
        self
    }

    /// Adds a header field sent with every request that does not have one of the same name
    /// (degu's `set_base_header`).
    ///
    /// # Panics
    /// If the name or value is not valid in HTTP.
    pub fn with_base_header(mut self, name: &str, value: &str) -> Self {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("invalid header name");
        let value = HeaderValue::from_str(value).expect("invalid header value");
        self.config_mut().base_headers.insert(name, value);
        self
    }

    /// Speaks TLS with this configuration. The server name sent (SNI) and checked against
    /// the certificate is the host given to [`resolving`](Self::resolving), or the IP
    /// address, unless [`with_server_name`](Self::with_server_name) sets it (required for
    /// a Unix socket).
    ///
    /// The client gets an empty pool of its own.
    pub fn with_tls(mut self, tls: ClientTls) -> Self {
        self.config_mut().tls = Some(tls);
        self.own_pool();
        self
    }

    /// The TLS server name (SNI, and the name the certificate must have). The client gets
    /// an empty pool of its own.
    pub fn with_server_name(mut self, name: &str) -> Self {
        self.config_mut().server_name = Some(name.to_owned());
        self.own_pool();
        self
    }

    /// Sets the limits for responses (head size, header count...). The client gets an
    /// empty pool of its own.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.config_mut().limits = limits;
        self.own_pool();
        self
    }

    /// Keeps up to `max_idle` idle connections for reuse, each for at most
    /// `idle_timeout`, in a new, empty pool (`max_idle` 0: no pool, as
    /// [`without_pool`](Self::without_pool)). The defaults are [`DEFAULT_MAX_IDLE`] and
    /// [`DEFAULT_IDLE_TIMEOUT`]; keep the timeout under the server's keep-alive timeout.
    pub fn with_pool(mut self, max_idle: usize, idle_timeout: Duration) -> Self {
        self.pool = (max_idle > 0).then(|| Arc::new(Pool::new(max_idle, idle_timeout)));
        self
    }

    /// Keeps no idle connection: every [`Connection`] is closed when dropped, and every
    /// [`connect`](Self::connect) connects.
    pub fn without_pool(mut self) -> Self {
        self.pool = None;
        self
    }

    /// How many idle connections the pool holds now (those past the idle timeout are
    /// closed first; the others are checked only when taken).
    pub fn idle_connections(&self) -> usize {
        self.pool.as_ref().map_or(0, |pool| pool.idle_count())
    }

    /// Closes the idle connections (those in use go back to the pool as usual).
    pub fn close_idle_connections(&self) {
        if let Some(pool) = &self.pool {
            pool.clear();
        }
    }

    /// The timeout of each blocking wait.
    pub fn timeout(&self) -> Option<Duration> {
        self.config.timeout
    }

    /// How long a request with `expect: 100-continue` waits for the `100 Continue`.
    pub fn continue_wait(&self) -> Duration {
        self.config.continue_wait
    }

    /// The header fields sent with every request (`host` among them).
    pub fn base_headers(&self) -> &HeaderMap {
        &self.config.base_headers
    }

    /// A connection: an idle one from the pool if one is fit
    /// ([`Connection::is_reused`]), else a new one (resolving the name first, if the
    /// client has one). The addresses are raced ([`with_attempt_delay`](Self::with_attempt_delay)):
    /// the next is tried beside the others 250 ms after the last one started, or as soon as
    /// one fails. A wait of the [timeout](Self::with_timeout) with nothing ready gives up
    /// on the attempts in progress and goes on with the next address, if any is left.
    pub fn connect(&self) -> Result<Connection, Error> {
        if let Some(pool) = &self.pool {
            if let Some(stream) = pool.take() {
                let stream = Lent::new(stream, Some(Arc::clone(pool)));
                return Ok(Connection::lent(stream, self.clone(), true));
            }
        }
        self.connect_new()
    }

    /// Looks `host` up on a helper thread ([`io::Resolve`]), waiting at most the timeout:
    /// getaddrinfo(3) has no timeout of its own, and a DNS server that does not answer
    /// keeps it 10 s with glibc's defaults, minutes with a `resolv.conf` that asks for
    /// more attempts. An IP literal is answered at once, with no thread.
    fn look_up(&self, host: &str, port: u16) -> Result<Vec<Address>, Error> {
        let mut lookup = match &self.config.lookup {
            Some(CustomLookup(lookup)) => io::Resolve::with_lookup(host, port, Arc::clone(lookup)),
            None => io::Resolve::new(host, port),
        };
        let timeout = self.config.timeout;
        blocking::run(timeout, || lookup.resume().map_err(|e| Error::dns(host, e))).map_err(|e| {
            match (e, timeout) {
                (Error::Timeout, Some(t)) => Error::dns(
                    host,
                    std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("no answer within {:.1} s", t.as_secs_f64()),
                    ),
                ),
                (e, _) => e,
            }
        })
    }

    /// A new connection, never one from the pool.
    pub(crate) fn connect_new(&self) -> Result<Connection, Error> {
        let addresses = match &self.config.target {
            Target::Addresses(a) => a.clone(),
            Target::Name(host, port) => self.look_up(host, *port)?,
        };
        let mut connect = op::Connect::with_limits(addresses.clone(), self.config.limits)
            .attempt_delay(self.config.attempt_delay);
        if let Some(tls) = &self.config.tls {
            let name = match (
                &self.config.server_name,
                &self.config.target,
                addresses.first(),
            ) {
                (Some(name), _, _) => name.clone(),
                (None, Target::Name(host, _), _) => host.clone(),
                (None, _, Some(Address::Tcp(addr))) => addr.ip().to_string(),
                _ => {
                    return Err(Error::local(
                        "TLS over a Unix socket needs a server name (Client::with_server_name)",
                    ))
                }
            };
            connect = connect.tls(tls.clone(), name);
        }
        let timeout = self.config.timeout;
        let stream = loop {
            let need = match connect.resume() {
                Ok(Progress::Ready(stream)) => break stream,
                Ok(Progress::Pending(need)) => need,
                Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
                    return Err(Error::Timeout)
                }
                Err(e) => return Err(e),
            };
            // Woken at the next attempt's start, if one is due: that is no timeout.
            match blocking::wait(&need, timeout, connect.next_attempt_at()) {
                Ok(()) => {}
                Err(Error::Timeout) if connect.is_handshaking() => return Err(Error::Timeout),
                // The next `resume` tries the next address, or reports this timeout.
                Err(Error::Timeout) => connect.skip_current(),
                Err(e) => return Err(e),
            }
        };
        let stream = Lent::new(stream, self.pool.clone());
        Ok(Connection::lent(stream, self.clone(), false))
    }
}
