//! Where to connect: [`Address`], name resolution and `Host` header values.

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6, ToSocketAddrs};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// A socket address to connect to: TCP (IPv4 or IPv6) or a Unix socket.
///
/// The forms of the degu client's *address*: an IPv4 or IPv6 socket address (IPv6 with
/// flow info and scope id through [`SocketAddrV6`], for link-local addresses), the path of
/// a Unix socket, or (on Linux) a Unix socket's abstract name.
///
/// Its [`Display`](fmt::Display) form is for messages: `127.0.0.1:80`,
/// `[fe80::1%2]:80`, `/run/app.sock`, `@name` (bytes outside printable ASCII as `\xNN`).
///
/// ```
/// use pollhttp::io::Address;
/// let a = Address::from(([127, 0, 0, 1], 8080));
/// assert_eq!(a.host_header().as_deref(), Some("127.0.0.1:8080"));
/// assert_eq!(Address::unix("/run/app.sock").host_header(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Address {
    /// A TCP address, IPv4 or IPv6 (with flow info and scope id).
    Tcp(SocketAddr),
    /// The path of a Unix socket.
    Unix(PathBuf),
    /// A Linux abstract Unix socket name (without the leading NUL byte).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    UnixAbstract(Vec<u8>),
}

impl Address {
    /// A Unix socket address from the form command lines use: `@name` is the Linux abstract
    /// name `name`, anything else is a path. (On systems without abstract names, `@name` is
    /// a path too.)
    ///
    /// ```
    /// use pollhttp::io::Address;
    /// assert_eq!(Address::unix("/tmp/s"), Address::Unix("/tmp/s".into()));
    /// # #[cfg(target_os = "linux")]
    /// assert_eq!(Address::unix("@app"), Address::UnixAbstract(b"app".to_vec()));
    /// ```
    pub fn unix(name: impl AsRef<OsStr>) -> Self {
        let name = name.as_ref();
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Some(abstract_name) = name.as_bytes().strip_prefix(b"@") {
            return Self::UnixAbstract(abstract_name.to_vec());
        }
        Self::Unix(PathBuf::from(name))
    }

    /// Whether this is a Unix socket address (path or abstract name).
    pub fn is_unix(&self) -> bool {
        !matches!(self, Self::Tcp(_))
    }

    /// The default `Host` header value for this address, as the degu client derives it:
    /// `a.b.c.d:port` for IPv4, `[addr]:port` for IPv6 (without the scope id, which means
    /// nothing to the server), and `None` for Unix sockets.
    ///
    /// When you connected to a resolved name, use [`host_header_for_name`] with that name
    /// instead.
    ///
    /// ```
    /// use pollhttp::io::Address;
    /// use std::net::SocketAddrV6;
    /// let link_local = SocketAddrV6::new("fe80::1".parse().unwrap(), 80, 0, 2);
    /// assert_eq!(Address::from(link_local).host_header().as_deref(), Some("[fe80::1]:80"));
    /// ```
    pub fn host_header(&self) -> Option<String> {
        match self {
            Self::Tcp(SocketAddr::V4(a)) => Some(format!("{}:{}", a.ip(), a.port())),
            Self::Tcp(SocketAddr::V6(a)) => Some(format!("[{}]:{}", a.ip(), a.port())),
            _ => None,
        }
    }
}

impl From<SocketAddr> for Address {
    fn from(addr: SocketAddr) -> Self {
        Self::Tcp(addr)
    }
}

impl From<SocketAddrV4> for Address {
    fn from(addr: SocketAddrV4) -> Self {
        Self::Tcp(addr.into())
    }
}

impl From<SocketAddrV6> for Address {
    fn from(addr: SocketAddrV6) -> Self {
        Self::Tcp(addr.into())
    }
}

impl<I: Into<std::net::IpAddr>> From<(I, u16)> for Address {
    fn from((ip, port): (I, u16)) -> Self {
        Self::Tcp(SocketAddr::new(ip.into(), port))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(addr) => addr.fmt(f),
            Self::Unix(path) => path.display().fmt(f),
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Self::UnixAbstract(name) => {
                f.write_str("@")?;
                name.escape_ascii().fmt(f)
            }
        }
    }
}

/// The `Host` header value for a DNS name (or IP literal) and port, as the degu client
/// builds it: `name:port`, with an IPv6 literal in brackets and without its zone.
///
/// ```
/// use pollhttp::io::host_header_for_name;
/// assert_eq!(host_header_for_name("example.com", 80), "example.com:80");
/// assert_eq!(host_header_for_name("2620:0:861:ed1a::1", 80), "[2620:0:861:ed1a::1]:80");
/// assert_eq!(host_header_for_name("fe80::1%eth0", 8080), "[fe80::1]:8080");
/// ```
pub fn host_header_for_name(name: &str, port: u16) -> String {
    let name = unbracket(name);
    if name.contains(':') {
        // Only an IPv6 literal has colons; its zone (`%eth0`) is local to this host.
        let literal = name.split('%').next().unwrap_or(name);
        format!("[{literal}]:{port}")
    } else {
        format!("{name}:{port}")
    }
}

/// `[::1]` → `::1`; anything else as it is.
pub(super) fn unbracket(name: &str) -> &str {
    name.strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name)
}

/// Resolves a host name (or IP literal) and port to TCP addresses, in the resolver's order.
///
/// **This blocks**: it asks the system resolver (getaddrinfo(3)), which may query DNS. It
/// is the one blocking step in pollhttp; do it before your event loop, or use
/// [`Resolve`](super::Resolve) (one lookup) or [`Resolver`](super::Resolver) (many), which
/// run it on helper threads and wake your loop through a descriptor. IP literals (IPv6
/// with or without brackets, with a `%zone` where the system resolver accepts one) are not
/// looked up.
///
/// Hand the result to [`Connect::new`](super::Connect::new), which races the addresses
/// (RFC 8305), the first one first. A name with no addresses is an error of kind [`NotFound`](io::ErrorKind::NotFound);
/// resolver errors keep their kind and name the host.
///
/// ```no_run
/// let addresses = pollhttp::io::resolve("example.com", 80)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn resolve(host: &str, port: u16) -> io::Result<Vec<Address>> {
    let name = unbracket(host);
    let found = (name, port).to_socket_addrs().map_err(|e| {
        // glibc reports a hosts file it could not open for want of a descriptor as "Name
        // or service not known". With none free now, that is the likelier cause: said so,
        // with the EMFILE for callers to tell it from a name that does not exist.
        if !super::descriptors::out_of_descriptors(&e) {
            if let Err(none_free) = std::fs::File::open("/dev/null") {
                if super::descriptors::out_of_descriptors(&none_free) {
                    let what = format!("resolving {host}: {e}, with no descriptor free");
                    return super::annotate(none_free, None, what);
                }
            }
        }
        super::annotate(e, None, format!("resolving {host}"))
    })?;
    let addresses: Vec<Address> = found.map(Address::Tcp).collect();
    if addresses.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("resolving {host}: no addresses"),
        ));
    }
    Ok(addresses)
}
