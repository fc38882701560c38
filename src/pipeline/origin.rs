//! [`Origin`]: the scheme, host and port requests go to, and absolute URLs split into an
//! origin and a request target.

use std::fmt;

use crate::proto::valid_host;

/// Where requests go: `http` or `https`, a host (a name or an IP literal) and a port (RFC
/// 9110 §4.3.1). Requests to one origin share its connections.
///
/// ```
/// use pollhttp::pipeline::Origin;
/// let (origin, target) = Origin::parse_url("https://example.com/a?b#frag").unwrap();
/// assert_eq!((origin.https, origin.host.as_str(), origin.port), (true, "example.com", 443));
/// assert_eq!(target, "/a?b");
/// assert_eq!(origin.host_header(), "example.com");
/// let (origin, _) = Origin::parse_url("http://[fe80::1%25eth0]:8080").unwrap();
/// assert_eq!((origin.host.as_str(), origin.host_header()), ("fe80::1%eth0", "[fe80::1]:8080".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin {
    /// TLS (`https`) or clear text (`http`).
    pub https: bool,
    /// The host as written, lowercased, without brackets (an IPv6 literal may carry a
    /// `%zone`).
    pub host: String,
    /// The port (80 or 443 when the URL gives none).
    pub port: u16,
}

/// Why a URL was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError {
    /// What is wrong, naming the URL.
    pub message: String,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UrlError {}

fn bad(url: &str, why: impl fmt::Display) -> UrlError {
    UrlError {
        message: format!("{url}: {why}"),
    }
}

impl Origin {
    /// An origin from its parts.
    pub fn new(https: bool, host: impl Into<String>, port: u16) -> Self {
        let mut host = host.into();
        host.make_ascii_lowercase();
        Self { https, host, port }
    }

    /// Splits an absolute `http://` or `https://` URL into its origin and the request
    /// target (path and query, `/` when there is none; the fragment dropped). User
    /// information, other schemes, a missing host, a bad port and characters not allowed
    /// in a request target are refused.
    pub fn parse_url(url: &str) -> Result<(Self, String), UrlError> {
        // A prefix test, not a substring search: a crawl parses every URL of its list.
        let prefixed = |scheme: &str| {
            url.get(..scheme.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(scheme))
        };
        let (https, rest) = if prefixed("http://") {
            (false, &url[7..])
        } else if prefixed("https://") {
            (true, &url[8..])
        } else {
            return Err(bad(url, "only http:// and https:// URLs are supported"));
        };
        let end = rest
            .bytes()
            .position(|b| matches!(b, b'/' | b'?' | b'#'))
            .unwrap_or(rest.len());
        let (authority, rest) = rest.split_at(end);
        let rest = rest.split('#').next().unwrap_or("");
        let target = match rest.as_bytes().first() {
            None => "/".to_owned(),
            Some(b'?') => format!("/{rest}"),
            Some(_) => rest.to_owned(),
        };
        // RFC 9112 §3.2: visible ASCII only (no spaces, controls or raw UTF-8).
        if !target.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad(
                url,
                "the path holds characters a request target may not",
            ));
        }
        if authority.contains('@') {
            return Err(bad(url, "user information in URLs is not supported"));
        }
        let default_port = if https { 443 } else { 80 };
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let close = bracketed
                .find(']')
                .ok_or_else(|| bad(url, "unclosed [ in the host"))?;
            // An IPv6 address (with an optional `%25` zone), as the server checks Host;
            // an IPvFuture cannot be connected to.
            let literal = &authority[..close + 2];
            if !valid_host(literal.as_bytes()) || bracketed.starts_with(['v', 'V']) {
                return Err(bad(url, "brackets hold an IPv6 address only"));
            }
            let host = bracketed[..close].replace("%25", "%");
            let port = match &bracketed[close + 1..] {
                "" => default_port,
                after => match after.strip_prefix(':') {
                    Some(port) => parse_port(url, port, default_port)?,
                    None => return Err(bad(url, "junk after the IPv6 address")),
                },
            };
            (host, port)
        } else {
            let (host, port) = match authority.rsplit_once(':') {
                Some((host, port)) => (host, parse_port(url, port, default_port)?),
                None => (authority, default_port),
            };
            // A reg-name or IPv4 address, checked by the rules the server applies to Host
            // (pct-encoded triplets included).
            if host.contains(':') || !valid_host(host.as_bytes()) {
                return Err(bad(
                    url,
                    "the host is no host name (characters a name may not hold, or an empty label)",
                ));
            }
            (host.to_owned(), port)
        };
        if host.is_empty() {
            return Err(bad(url, "no host"));
        }
        Ok((Self::new(https, host, port), target))
    }

    /// The `Host` header for requests to this origin: the host (IPv6 in brackets, without
    /// its zone), with the port unless it is the scheme's default.
    pub fn host_header(&self) -> String {
        let default_port = if self.https { 443 } else { 80 };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host.split('%').next().unwrap_or(&self.host))
        } else {
            self.host.clone()
        };
        if self.port == default_port {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

fn parse_port(url: &str, port: &str, default_port: u16) -> Result<u16, UrlError> {
    if port.is_empty() {
        // RFC 3986 allows an empty port: the scheme's default.
        return Ok(default_port);
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(url, format_args!("bad port {port:?}")));
    }
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(bad(url, format_args!("bad port {port:?}"))),
        Ok(port) => Ok(port),
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        for (url, https, host, port, target) in [
            ("http://a", false, "a", 80, "/"),
            ("http://a/", false, "a", 80, "/"),
            (
                "HTTP://Example.COM:8080/x/y?z=1",
                false,
                "example.com",
                8080,
                "/x/y?z=1",
            ),
            ("https://a?q", true, "a", 443, "/?q"),
            ("https://a#f", true, "a", 443, "/"),
            ("http://a:/p", false, "a", 80, "/p"),
            ("http://127.0.0.1:1/p#x?y", false, "127.0.0.1", 1, "/p"),
            ("http://[::1]:9/", false, "::1", 9, "/"),
            ("http://[fe80::1%25lo]/", false, "fe80::1%lo", 80, "/"),
        ] {
            let (origin, t) = Origin::parse_url(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(
                (origin.https, origin.host.as_str(), origin.port, t.as_str()),
                (https, host, port, target),
                "{url}"
            );
        }
    }

    #[test]
    fn bad_urls() {
        for url in [
            "ftp://a/",
            "a/b",
            "http://",
            "http:///x",
            "http://u@a/",
            "http://a:x/",
            "http://a:0/",
            "http://a:65536/",
            "http://a:-1/",
            "http://[::1/",
            "http://[::1]x/",
            "http://[a]/",
            "http://[::g]/",
            "http://[v1.a:b]/",
            "http://a%zz/",
            "http://a..b/",
            "http://../x",
            "http://a:1:80/",
            "http://a b/",
            "http://a/b c",
            "http://a/\u{e9}",
            "http://a/\r\nx",
        ] {
            assert!(Origin::parse_url(url).is_err(), "{url}");
        }
    }

    #[test]
    fn host_headers() {
        assert_eq!(Origin::new(false, "a", 80).host_header(), "a");
        assert_eq!(Origin::new(true, "a", 80).host_header(), "a:80");
        assert_eq!(Origin::new(true, "a", 443).host_header(), "a");
        assert_eq!(Origin::new(false, "::1", 81).host_header(), "[::1]:81");
        assert_eq!(Origin::new(false, "a", 81).to_string(), "http://a:81");
    }
}
