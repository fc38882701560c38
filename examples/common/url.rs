//! A small `http://` / `https://` URL parser for the examples (authority and target only).

/// The parts of a URL the examples need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url {
    pub(crate) https: bool,
    /// The host as written, without brackets (an IPv6 literal may have a `%zone`).
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Path and query, `/` when the URL has none.
    pub(crate) target: String,
}

impl Url {
    pub(crate) fn parse(url: &str) -> Result<Self, String> {
        let (https, rest) = if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else {
            return Err(format!(
                "{url}: only http:// and https:// URLs are supported"
            ));
        };
        let (authority, target) = match rest.find(['/', '?']) {
            Some(i) if rest[i..].starts_with('?') => (&rest[..i], format!("/{}", &rest[i..])),
            Some(i) => (&rest[..i], rest[i..].to_owned()),
            None => (rest, "/".to_owned()),
        };
        let target = target.split('#').next().unwrap_or("/").to_owned();
        if authority.contains('@') {
            return Err(format!("{url}: user information in URLs is not supported"));
        }
        let default_port = if https { 443 } else { 80 };
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let end = bracketed
                .find(']')
                .ok_or_else(|| format!("{url}: unclosed [ in the host"))?;
            let host = bracketed[..end].replace("%25", "%");
            let after = &bracketed[end + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => parse_port(url, p)?,
                None if after.is_empty() => default_port,
                None => return Err(format!("{url}: junk after the IPv6 address")),
            };
            (host, port)
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host.to_owned(), parse_port(url, port)?),
                None => (authority.to_owned(), default_port),
            }
        };
        if host.is_empty() {
            return Err(format!("{url}: no host"));
        }
        Ok(Self {
            https,
            host,
            port,
            target,
        })
    }

    /// The `Host` header: the authority as a client sends it (no zone, IPv6 bracketed).
    pub(crate) fn host_header(&self) -> String {
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

fn parse_port(url: &str, port: &str) -> Result<u16, String> {
    port.parse()
        .map_err(|_| format!("{url}: bad port {port:?}"))
}
