//! [`Client`]: where to connect and how, shared cheaply between threads.

use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderName, HOST};
use http::{HeaderMap, HeaderValue};

use super::Connection;
use crate::blocking;
use crate::error::Error;
use crate::io::{self, host_header_for_name, Address};
use crate::op;
use crate::proto::Limits;
use crate::tls::ClientTls;

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
    /// Sent with every request unless the request has a field of the same name; `host`
    /// is one of them.
    base_headers: HeaderMap,
    limits: Limits,
    /// TLS, and the name to send as SNI and check the certificate against (`None`: the
    /// host the client connects to).
    tls: Option<ClientTls>,
    server_name: Option<String>,
}

/// Where to connect and how (degu's `Client`): the address, the `Host` header, the
/// timeout, header fields for every request. It holds no connection: [`connect`](Self::connect)
/// makes one. Cloning is cheap (a shared pointer) and a `Client` can be used from many
/// threads.
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
}

impl Client {
    /// A client for one address (TCP, or a Unix socket: [`Address::unix`]).
    pub fn new(address: impl Into<Address>) -> Self {
        let address = address.into();
        let host = address.host_header().unwrap_or_default();
        Self::with_target(Target::Addresses(vec![address]), host)
    }

    /// A client for a host name (or IP literal) and port, resolved again at each
    /// [`connect`](Self::connect) (which blocks in the resolver), all its addresses tried
    /// in order.
    pub fn resolving(host: &str, port: u16) -> Self {
        let header = host_header_for_name(host, port);
        Self::with_target(Target::Name(host.to_owned(), port), header)
    }

    /// A client trying these addresses in order.
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
                base_headers,
                limits: Limits::client(),
                tls: None,
                server_name: None,
            }),
        }
    }

    fn config_mut(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.config)
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
    pub fn with_tls(mut self, tls: ClientTls) -> Self {
        self.config_mut().tls = Some(tls);
        self
    }

    /// The TLS server name (SNI, and the name the certificate must have).
    pub fn with_server_name(mut self, name: &str) -> Self {
        self.config_mut().server_name = Some(name.to_owned());
        self
    }

    /// Sets the limits for responses (head size, header count...).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.config_mut().limits = limits;
        self
    }

    /// The timeout of each blocking wait.
    pub fn timeout(&self) -> Option<Duration> {
        self.config.timeout
    }

    /// The header fields sent with every request (`host` among them).
    pub fn base_headers(&self) -> &HeaderMap {
        &self.config.base_headers
    }

    /// Connects (resolving the name first, if the client has one). Each address has the
    /// timeout to accept; then the next is tried.
    pub fn connect(&self) -> Result<Connection, Error> {
        let addresses = match &self.config.target {
            Target::Addresses(a) => a.clone(),
            Target::Name(host, port) => io::resolve(host, *port).map_err(|e| Error::Dns {
                host: host.clone(),
                source: Arc::new(e),
            })?,
        };
        let mut connect = op::Connect::with_limits(addresses.clone(), self.config.limits);
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
        let stream = loop {
            match blocking::run(self.config.timeout, || connect.resume()) {
                Ok(stream) => break stream,
                Err(Error::Timeout) if connect.is_handshaking() => return Err(Error::Timeout),
                // The next `resume` tries the next address, or reports this timeout.
                Err(Error::Timeout) => connect.skip_current(),
                Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
                    return Err(Error::Timeout)
                }
                Err(e) => return Err(e),
            }
        };
        Ok(Connection::new(
            stream,
            self.config.timeout,
            self.config.base_headers.clone(),
        ))
    }
}
