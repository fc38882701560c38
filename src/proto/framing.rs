//! Message framing: which header fields decide where a body ends (RFC 9112 §6).

use http::Version;

use super::chars::{is_reg_name, is_tchar, is_token, visible_ascii_len};
use super::error::Error;
use super::head::Headers;

/// How a message body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body at all.
    None,
    /// Exactly this many bytes (Content-Length).
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Everything until the connection closes (responses only).
    UntilClose,
}

impl Framing {
    /// The body's length when the framing says it: `Some(0)` for no body, `Some(n)` for a
    /// Content-Length, `None` for chunked and until-close.
    ///
    /// ```
    /// use pollhttp::proto::Framing;
    /// assert_eq!(Framing::None.content_length(), Some(0));
    /// assert_eq!(Framing::Length(7).content_length(), Some(7));
    /// assert_eq!(Framing::Chunked.content_length(), None);
    /// assert_eq!(Framing::UntilClose.content_length(), None);
    /// ```
    pub fn content_length(self) -> Option<u64> {
        match self {
            Self::None => Some(0),
            Self::Length(n) => Some(n),
            Self::Chunked | Self::UntilClose => None,
        }
    }
}

/// Splits a comma-separated list, trimming OWS and skipping empty elements (RFC 9110
/// §5.6.1 asks recipients to ignore them).
pub(crate) fn list_items(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|item| !item.is_empty())
}

pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// A field that may appear more than once: the index of its first occurrence and how
/// often it appears.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seen {
    first: u32,
    count: u32,
}

impl Seen {
    fn add(&mut self, index: usize) {
        if self.count == 0 {
            self.first = index as u32;
        }
        self.count += 1;
    }

    /// The value of a field seen exactly once.
    fn single<'a>(&self, headers: &'a Headers) -> Option<&'a [u8]> {
        (self.count == 1).then(|| headers.field(self.first as usize).1)
    }
}

/// The fields that decide framing and connection handling, noted while a head is indexed
/// (one pass; a lookup per name would walk the fields once per name).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Survey {
    host: Seen,
    content_length: Seen,
    transfer_encoding: Seen,
    close: bool,
    /// `Connection` lists `keep-alive` (HTTP/1.0's persistent connections).
    keep_alive: bool,
    expect_continue: bool,
    upgrade: bool,
}

fn lists(value: &[u8], token: &[u8]) -> bool {
    // Most values are one item ("keep-alive", "close"): no list walk for those.
    if !value.contains(&b',') {
        return trim_ows(value).eq_ignore_ascii_case(token);
    }
    list_items(value).any(|item| item.eq_ignore_ascii_case(token))
}

impl Survey {
    /// Notes field `index` (name already lowercased).
    pub(crate) fn note(&mut self, index: usize, name: &[u8], value: &[u8]) {
        // By length and first letter: most names are ruled out without a comparison.
        match (name.len(), name.first()) {
            (4, Some(b'h')) if name == b"host" => self.host.add(index),
            (6, Some(b'e')) if name == b"expect" => {
                self.expect_continue |= lists(value, b"100-continue");
            }
            // An `Upgrade` that lists no protocol offers nothing to switch to.
            (7, Some(b'u')) if name == b"upgrade" => {
                self.upgrade |= list_items(value).next().is_some();
            }
            (10, Some(b'c')) if name == b"connection" => {
                self.close |= lists(value, b"close");
                self.keep_alive |= lists(value, b"keep-alive");
            }
            (14, Some(b'c')) if name == b"content-length" => self.content_length.add(index),
            (17, Some(b't')) if name == b"transfer-encoding" => {
                self.transfer_encoding.add(index);
            }
            _ => {}
        }
    }

    /// Content-Length, checked; the rare repeated field takes the slower walk.
    fn content_length(&self, headers: &Headers) -> Result<Option<u64>, Error> {
        match self.content_length.count {
            0 => Ok(None),
            1 => content_length(self.content_length.single(headers).into_iter()),
            _ => content_length(headers.get_all("content-length")),
        }
    }

    /// What Transfer-Encoding says, checked.
    fn coding(&self, headers: &Headers) -> Result<Coding, Error> {
        match self.transfer_encoding.count {
            0 => Ok(Coding::Absent),
            1 => transfer_coding(self.transfer_encoding.single(headers).into_iter()),
            _ => transfer_coding(headers.get_all("transfer-encoding")),
        }
    }
}

/// Content-Length: 1*DIGIT, no sign, no overflow; a list or repeated field is accepted only
/// when every value is the same (RFC 9110 §8.6).
fn content_length<'a>(values: impl Iterator<Item = &'a [u8]>) -> Result<Option<u64>, Error> {
    let mut found: Option<u64> = None;
    for value in values {
        // Every element must be a number: an empty value or element is invalid too.
        for item in value.split(|&b| b == b',') {
            let item = trim_ows(item);
            let n = parse_decimal(item).ok_or_else(|| Error::bad("invalid Content-Length"))?;
            if found.is_some_and(|f| f != n) {
                return Err(Error::bad("conflicting Content-Length values"));
            }
            found = Some(n);
        }
    }
    Ok(found)
}

/// Most digits a Content-Length value may have, leading zeros included (as many as a
/// chunk size may have): at most 20 of them fit a u64.
const MAX_DECIMAL_DIGITS: usize = 64;

/// A Content-Length value: decimal digits only, a u64.
fn parse_decimal(digits: &[u8]) -> Option<u64> {
    // `1*DIGIT`: leading zeros do not count against the 20 digits of a u64 (overflow is
    // caught below), but a value is at most as long as a chunk size may be.
    if digits.is_empty() || digits.len() > MAX_DECIMAL_DIGITS {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        if d.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        } else {
            None
        }
    })
}

/// What a Transfer-Encoding field (all its lines together) says, once checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    /// No Transfer-Encoding field.
    Absent,
    /// The field is there but lists no coding (`Transfer-Encoding: , ,`): an empty list,
    /// valid by the list grammar (RFC 9110 §5.6.1), in which chunked is not final.
    Empty,
    /// chunked is the final coding (applied once); `others`: other codings come before it.
    Chunked { others: bool },
    /// Codings of which none is chunked, or chunked followed by others (`after_chunked`).
    NotChunked { after_chunked: bool },
}

/// Transfer-Encoding: a list of codings, checked for shape. chunked may be applied only
/// once and takes no parameters. Which codings are acceptable is decided by
/// [`chunked_only`] for a request and [`response_framing`] for a response.
fn transfer_coding<'a>(values: impl Iterator<Item = &'a [u8]>) -> Result<Coding, Error> {
    let mut present = false;
    let mut chunked = 0;
    let mut others = false;
    let mut after_chunked = false;
    let mut last_chunked = false;
    for value in values {
        present = true;
        for item in value.split(|&b| b == b',') {
            let item = trim_ows(item);
            if item.is_empty() {
                continue;
            }
            // transfer-coding = token *( OWS ";" OWS transfer-parameter )
            let name_len = item
                .iter()
                .position(|&b| !is_tchar(b))
                .unwrap_or(item.len());
            let (name, params) = item.split_at(name_len);
            if name.is_empty() || !valid_parameters(params) {
                return Err(Error::bad("malformed Transfer-Encoding"));
            }
            last_chunked = name.eq_ignore_ascii_case(b"chunked");
            if last_chunked {
                if !params.is_empty() {
                    return Err(Error::bad("chunked takes no parameters"));
                }
                chunked += 1;
            } else {
                others = true;
                after_chunked |= chunked > 0;
            }
        }
    }
    if !present {
        return Ok(Coding::Absent);
    }
    if chunked == 0 && !others {
        return Ok(Coding::Empty);
    }
    if chunked > 1 {
        return Err(Error::bad("chunked applied more than once"));
    }
    Ok(if last_chunked {
        Coding::Chunked { others }
    } else {
        Coding::NotChunked { after_chunked }
    })
}

/// Whether a request's Transfer-Encoding is chunked: the only coding we implement is
/// `chunked`, and it must be final (RFC 9112 §6.3(4): else 400). An unknown coding gets
/// 501 (§6.1). Responses are framed by [`response_framing`] instead.
fn chunked_only(coding: Coding) -> Result<bool, Error> {
    match coding {
        Coding::Absent => Ok(false),
        Coding::Chunked { others: false } => Ok(true),
        // No coding at all, so chunked is not final either (§6.3(4): 400).
        Coding::Empty => Err(Error::bad("empty Transfer-Encoding")),
        // §6.3(4) MUST: without a final chunked the length cannot be known, so 400, even
        // for a coding we do not know (§6.1's 501 is a SHOULD, for codings that frame).
        Coding::NotChunked { .. } => Err(Error::bad("chunked is not the final transfer coding")),
        Coding::Chunked { others: true } => Err(Error::remote("unsupported transfer coding", 501)),
    }
}

/// `*( OWS ";" OWS name BWS "=" BWS ( token / quoted-string ) )`
fn valid_parameters(mut s: &[u8]) -> bool {
    loop {
        s = trim_ows(s);
        if s.is_empty() {
            return true;
        }
        let Some(rest) = s.strip_prefix(b";") else {
            return false;
        };
        let rest = trim_ows(rest);
        let name_len = rest
            .iter()
            .position(|&b| !is_tchar(b))
            .unwrap_or(rest.len());
        // transfer-parameter = token BWS "=" BWS ( token / quoted-string ) (RFC 9112 §7).
        let Some(value) = trim_ows(&rest[name_len..]).strip_prefix(b"=") else {
            return false;
        };
        if name_len == 0 {
            return false;
        }
        let value = trim_ows(value);
        let value_len = if value.first() == Some(&b'"') {
            match quoted_string_len(value) {
                Some(n) => n,
                None => return false,
            }
        } else {
            value
                .iter()
                .position(|&b| !is_tchar(b))
                .unwrap_or(value.len())
        };
        if value_len == 0 {
            return false;
        }
        s = &value[value_len..];
    }
}

/// Length of the quoted-string at the start of `s`, quotes included.
pub(crate) fn quoted_string_len(s: &[u8]) -> Option<usize> {
    let mut i = 1;
    while i < s.len() {
        match s[i] {
            b'"' => return Some(i + 1),
            b'\\' => {
                let next = *s.get(i + 1)?;
                if !is_qpair_char(next) {
                    return None;
                }
                i += 2;
            }
            b if is_qdtext(b) => i += 1,
            _ => return None,
        }
    }
    None
}

pub(crate) fn is_qdtext(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e | 0x80..=0xff)
}

pub(crate) fn is_qpair_char(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21..=0x7e | 0x80..=0xff)
}

/// What is inside the brackets of an IP-literal (RFC 3986 §3.2.2): an IPv6 address, with
/// an optional zone (RFC 6874: `%25` and the zone's name), or an IPvFuture
/// (`v` 1*HEXDIG `.` 1*( unreserved / sub-delims / `:` )).
fn valid_ip_literal(literal: &[u8]) -> bool {
    if let [b'v' | b'V', rest @ ..] = literal {
        let Some(dot) = rest.iter().position(|&b| b == b'.') else {
            return false;
        };
        let (version, tail) = (&rest[..dot], &rest[dot + 1..]);
        return !version.is_empty()
            && version.iter().all(u8::is_ascii_hexdigit)
            && !tail.is_empty()
            && tail.iter().all(|&b| b == b':' || is_reg_name(b));
    }
    let (address, zone) = match literal.iter().position(|&b| b == b'%') {
        Some(at) => literal.split_at(at),
        None => (literal, &literal[literal.len()..]),
    };
    let zone_ok = match zone {
        [] => true,
        [b'%', b'2', b'5', name @ ..] => {
            !name.is_empty()
                && pct_encoded_ok(name, |b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
                })
        }
        _ => false,
    };
    zone_ok
        && std::str::from_utf8(address)
            .ok()
            .is_some_and(|text| text.parse::<std::net::Ipv6Addr>().is_ok())
}

/// Whether `s` is made of bytes that `plain` allows and of pct-encoded triplets (`%`
/// and two hex digits, RFC 3986 §2.1): a `%` that is not followed by two hex digits is
/// invalid, not a literal percent sign.
fn pct_encoded_ok(s: &[u8], plain: impl Fn(u8) -> bool) -> bool {
    // Most names have no `%`: one tight pass for those.
    if s.iter().all(|&b| plain(b)) {
        return true;
    }
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let hex = |at: usize| s.get(at).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
        } else if plain(s[i]) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// Host: a uri-host with an optional port: reg-name, IPv4 or an IP-literal in brackets.
/// An empty value is one (RFC 9110 §7.2: the target URI has no authority); a port with an
/// empty host is not, as the `http` URI it stands for would have an empty host (§4.2.1:
/// MUST reject).
pub(crate) fn valid_host(value: &[u8]) -> bool {
    host_and_port(value).is_some_and(|(host, port)| !host.is_empty() || port.is_none())
}

/// `uri-host [ ":" port ]` (RFC 9110 §7.2), checked: the host (an IP-literal with its
/// brackets) and the port's digits, if a `:` was there.
pub(crate) fn host_and_port(value: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    if value.first() != Some(&b'[') {
        // The usual host, a name without `%`: one pass to the first byte that is not a
        // reg-name character (`:` is not one), which must be the port's `:` or the end.
        let name_end = value
            .iter()
            .position(|&b| !is_reg_name(b))
            .unwrap_or(value.len());
        match &value[name_end..] {
            [] => return labels_ok(value).then_some((value, None)),
            [b':', digits @ ..] => {
                let name = &value[..name_end];
                return (labels_ok(name) && digits.iter().all(u8::is_ascii_digit))
                    .then_some((name, Some(digits)));
            }
            // A `%` (or a byte no host has): the whole check below.
            _ => {}
        }
    }
    let (host, port) = if value.first() == Some(&b'[') {
        let close = value.iter().position(|&b| b == b']')?;
        if !valid_ip_literal(&value[1..close]) {
            return None;
        }
        value.split_at(close + 1)
    } else {
        let name_end = value.iter().position(|&b| b == b':').unwrap_or(value.len());
        let (name, port) = value.split_at(name_end);
        if !pct_encoded_ok(name, is_reg_name) || !labels_ok(name) {
            return None;
        }
        (name, port)
    };
    match port {
        [] => Some((host, None)),
        [b':', digits @ ..] if digits.iter().all(u8::is_ascii_digit) => Some((host, Some(digits))),
        _ => None,
    }
}

/// A reg-name's dots: no empty label between two (`a..b`, `..`), and not `.` alone. RFC
/// 3986 §3.2.2 allows them, no name system has them, and nginx, Apache, lighttpd and Tomcat
/// refuse them: an application that makes a path of the host (a folder per virtual host)
/// would climb out of its folder on `Host: ..`.
fn labels_ok(name: &[u8]) -> bool {
    name != b"." && !name.windows(2).any(|pair| pair == b"..")
}

/// authority-form (RFC 9112 §3.2.3): `uri-host ":" port`, the host not empty and the port a
/// number a connection can be made to, 1 to 65535 (RFC 9110 §9.3.6: an empty or invalid
/// port MUST be rejected).
pub(crate) fn valid_authority_form(target: &[u8]) -> bool {
    let Some((host, Some(port))) = host_and_port(target) else {
        return false;
    };
    let number = (1..=5)
        .contains(&port.len())
        .then(|| port.iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0')));
    !host.is_empty() && number.is_some_and(|n| (1..=65535).contains(&n))
}

/// The authority of an absolute-form target (`scheme://authority...`), held to RFC 3986
/// §3.2 whatever the scheme: `[ userinfo "@" ] host [ ":" port ]`, the host a reg-name, an
/// IPv4 address or an IP-literal (a `]` outside one, or a second `@`, is no authority). An
/// `http` or `https` target must have one, its host not empty (RFC 9110 §4.2.1: MUST
/// reject) and without userinfo (§4.2.4: deprecated, to be treated as an error); another
/// scheme's may have userinfo and an empty host (`file:///x`). `None`: another scheme
/// without an authority (`urn:isbn:1`), for the application to judge.
pub(crate) fn absolute_authority_ok(target: &[u8]) -> Option<bool> {
    let colon = target.iter().position(|&b| b == b':')?;
    let scheme = &target[..colon];
    let http = scheme.eq_ignore_ascii_case(b"http") || scheme.eq_ignore_ascii_case(b"https");
    let Some(rest) = target[colon + 1..].strip_prefix(b"//") else {
        return http.then_some(false);
    };
    let end = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = &rest[..end];
    if http {
        return Some(host_and_port(authority).is_some_and(|(host, _)| !host.is_empty()));
    }
    let host_port = match authority.iter().position(|&b| b == b'@') {
        Some(at) => {
            // userinfo = *( unreserved / pct-encoded / sub-delims / ":" )
            if !pct_encoded_ok(&authority[..at], |b| is_reg_name(b) || b == b':') {
                return Some(false);
            }
            &authority[at + 1..]
        }
        None => authority,
    };
    Some(host_and_port(host_port).is_some())
}

/// The last Host value a connection found valid: a client sends the same one on every
/// request, and comparing bytes costs less than checking them again. Values longer than
/// [`HostMemo::MAX`] are checked each time.
#[derive(Debug, Clone)]
pub(crate) struct HostMemo {
    /// 0 before any is remembered: the empty value it then matches is valid anyway.
    len: u8,
    bytes: [u8; Self::MAX],
}

impl Default for HostMemo {
    fn default() -> Self {
        Self {
            len: 0,
            bytes: [0; Self::MAX],
        }
    }
}

impl HostMemo {
    const MAX: usize = 64;

    /// `valid_host(value)`, remembering a valid value that fits.
    fn valid(&mut self, value: &[u8]) -> bool {
        if value == &self.bytes[..usize::from(self.len)] {
            return true;
        }
        if !valid_host(value) {
            return false;
        }
        if let Some(slot) = self.bytes.get_mut(..value.len()) {
            slot.copy_from_slice(value);
            self.len = value.len() as u8;
        }
        true
    }
}

/// What a request head says about its body and the connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestFraming {
    pub(crate) framing: Framing,
    pub(crate) keep_alive: bool,
    pub(crate) expect_continue: bool,
    pub(crate) upgrade: bool,
    /// A CONNECT with framing fields: the connection closes after any answer but a 2xx.
    pub(crate) close_unless_tunnel: bool,
}

/// Decides the framing of a request (RFC 9112 §6.3) and checks Host (§3.2), `host` being
/// the connection's memo of the last valid one.
///
/// A CONNECT request has no content (RFC 9110 §9.3.6): whatever its framing fields say,
/// the bytes after its head belong to the tunnel once it is accepted (as llhttp reads
/// them). A CONNECT that carried a Content-Length other than 0 or a Transfer-Encoding is
/// marked `close_unless_tunnel`: refused, it ends the connection, since a front end that
/// counted those bytes as content would otherwise have them read here as the next request.
// Inlined into its one caller (a request's start): the result, which has room for an
// error, is not passed back through memory.
#[inline]
pub(crate) fn request_framing(
    headers: &Headers,
    version: Version,
    connect: bool,
    max_body: Option<u64>,
    host: &mut HostMemo,
) -> Result<RequestFraming, Error> {
    let http11 = version == Version::HTTP_11;
    let survey = headers.survey();
    match survey.host.count {
        2.. => return Err(Error::bad("multiple Host header fields")),
        0 if http11 => return Err(Error::bad("missing Host header field")),
        _ => {}
    }
    if survey
        .host
        .single(headers)
        .is_some_and(|value| !host.valid(value))
    {
        return Err(Error::bad("invalid Host header field"));
    }
    let (length, chunked) =
        if survey.content_length.count == 0 && survey.transfer_encoding.count == 0 {
            // Neither field (most requests): nothing to check.
            (None, false)
        } else {
            let length = survey.content_length(headers)?;
            (length, chunked_only(survey.coding(headers)?)?)
        };
    if chunked && !http11 {
        return Err(Error::bad("Transfer-Encoding in an HTTP/1.0 request"));
    }
    if chunked && length.is_some() {
        return Err(Error::bad("both Content-Length and Transfer-Encoding"));
    }
    let close_unless_tunnel = connect && (chunked || length.is_some_and(|n| n > 0));
    let framing = if connect {
        Framing::None
    } else if chunked {
        Framing::Chunked
    } else {
        match length {
            Some(0) | None => Framing::None,
            Some(n) => Framing::Length(n),
        }
    };
    if let (Framing::Length(n), Some(max)) = (framing, max_body) {
        if n > max {
            return Err(Error::remote(
                format!("request body of {n} bytes exceeds the limit of {max}"),
                413,
            ));
        }
    }
    Ok(RequestFraming {
        framing,
        // HTTP/1.0 persists only when asked to (RFC 9112 §9.3); `close` wins over it.
        keep_alive: (http11 || survey.keep_alive) && !survey.close,
        expect_continue: http11 && survey.expect_continue,
        upgrade: http11 && survey.upgrade,
        close_unless_tunnel,
    })
}

/// What the request a response answers implies for its framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestInfo {
    pub(crate) head: bool,
    pub(crate) connect: bool,
    pub(crate) upgrade: bool,
    /// The request asked for 100-continue, and: (client) no 100, body data or final
    /// response has ended the wait yet; (server) no 100 has been sent for it.
    pub(crate) expect_continue: bool,
}

/// Decides the framing of a final response (RFC 9112 §6.3), and whether the response
/// itself ends the connection (§9.3: it lists the `close` option, or is HTTP/1.0 without
/// `keep-alive`). Content-Length and Transfer-Encoding are checked even where they do not
/// frame the body.
///
/// A Transfer-Encoding whose final coding is chunked frames the body as chunked; any other
/// (`gzip`, `chunked, gzip`, a name we do not know) as ending with the close (§6.3(4)).
/// Only chunked is decoded: the codings before or instead of it stay applied to the
/// content, as the field says (like Content-Encoding, which is the caller's to decode too).
/// In an HTTP/1.0 response the framing is faulty (§6.1): the body is read as the field says
/// all the same, and the connection ends after it, as every HTTP/1.0 response ends it
/// (§6.1: "close the connection after processing the message"; curl, Python's
/// http.client, Node and h11 read it so).
/// Refused: Transfer-Encoding with Content-Length (§6.3(3): a smuggling sign), and chunked
/// applied twice; except in a 2xx answer to CONNECT, whose framing fields are ignored
/// unread (§6.3(2)).
pub(crate) fn response_framing(
    headers: &Headers,
    version: Version,
    status: u16,
    request: RequestInfo,
) -> Result<(Framing, bool), Error> {
    let survey = headers.survey();
    let closes = survey.close || (version == Version::HTTP_10 && !survey.keep_alive);
    if request.connect && (200..300).contains(&status) {
        // §6.3(2): the tunnel starts after the head, and a client MUST ignore these
        // fields, so they are not checked either (a tunnel is not refused for them).
        return Ok((Framing::None, closes));
    }
    let length = survey.content_length(headers)?;
    let coding = survey.coding(headers)?;
    let coded = coding != Coding::Absent;
    if coded && length.is_some() {
        return Err(Error::bad("both Content-Length and Transfer-Encoding"));
    }
    if request.head || status == 204 || status == 304 {
        return Ok((Framing::None, closes));
    }
    let framing = match (coding, length) {
        (Coding::Chunked { .. }, _) => Framing::Chunked,
        // §6.3(4): chunked is not the final coding (an empty list has none).
        (Coding::NotChunked { .. } | Coding::Empty, _) => Framing::UntilClose,
        (Coding::Absent, Some(0)) => Framing::None,
        (Coding::Absent, Some(n)) => Framing::Length(n),
        (Coding::Absent, None) => Framing::UntilClose,
    };
    Ok((framing, closes))
}

/// A request target we may send: visible ASCII, not empty.
pub(crate) fn valid_target(target: &str) -> bool {
    !target.is_empty() && visible_ascii_len(target.as_bytes()) == target.len()
}

pub(crate) fn valid_reason(reason: &str) -> bool {
    reason
        .bytes()
        .all(|b| b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b))
}

pub(crate) fn valid_token(s: &str) -> bool {
    is_token(s.as_bytes())
}
