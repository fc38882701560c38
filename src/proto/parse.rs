//! Finding and parsing message heads (and trailer sections).
//!
//! httparse is stateless, so re-running it on a growing buffer costs quadratic time. The
//! scanner below finds the end of a head incrementally (each byte looked at once, with
//! memchr); httparse then parses the complete head exactly once. The usual head, complete
//! at the first look, skips the scan: one httparse pass, accepted only where the careful
//! path would give the same result (see `whole_head`).

use std::ops::Range;

use http::{Method, Version};
use memchr::memchr;

use super::chars::{is_tchar, visible_ascii_len};
use super::error::Error;
use super::framing::{absolute_authority_ok, valid_authority_form};
use super::head::{FieldSpan, Headers, RequestHead, ResponseHead};
use super::limits::Limits;

/// Where the scan of a head (or trailer section) stands.
#[derive(Debug, Default, Clone)]
pub(crate) struct HeadScanner {
    /// Bytes looked at so far.
    pos: usize,
    /// Where the current line starts.
    line_start: usize,
    /// Whether the first line has ended (for 414 versus 431).
    first_line_done: bool,
    /// Bytes looked at for a bare CR: all but a CR at the end of what has arrived, which
    /// waits for the byte after it.
    cr_checked: usize,
}

/// What a head is, for the size-limit error and the line-end rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadKind {
    Request,
    Response,
    Trailers,
}

impl HeadKind {
    /// Whether a bare LF ends a line (RFC 9112 §2.2: a recipient MAY take it so). Only in a
    /// response head, which the client reads as the last parser in the chain: browsers,
    /// curl, Go and h11 read such heads, and servers that write them are still met. A
    /// request head keeps CRLF only, because a server behind a proxy that read a bare LF
    /// as part of a field value would frame the request differently (llhttp refuses it
    /// too); trailers are chunked framing, where a bare LF is never a line end (RFC 9112
    /// §7.1, erratum 7633).
    pub(crate) fn bare_lf_ends_lines(self) -> bool {
        self == Self::Response
    }
}

impl HeadScanner {
    /// Refuses a CR before `upto` (exclusive) that is not followed by an LF (RFC 9112 §2.2:
    /// a bare CR in a head is invalid), looking only at bytes not looked at before.
    fn no_bare_cr(&mut self, buf: &[u8], upto: usize) -> Result<(), Error> {
        let from = self.cr_checked;
        if upto <= from {
            return Ok(());
        }
        let mut at = from;
        while let Some(off) = memchr(b'\r', &buf[at..upto]) {
            let cr = at + off;
            if buf[cr + 1] != b'\n' {
                return Err(Error::bad("bare CR in the message head (CR without LF)"));
            }
            at = cr + 1;
        }
        self.cr_checked = upto;
        Ok(())
    }

    /// True before the first byte of this head has been looked at: the moment to try the
    /// fast path (once, so a head arriving in pieces still costs linear time).
    pub(crate) fn is_fresh(&self) -> bool {
        self.pos == 0
    }

    /// Looks for the blank line ending the head in `buf` (which starts at the head). Returns
    /// the head's length, line ends included, once it is complete.
    ///
    /// Only the first `max` bytes are ever looked at, so the outcome does not depend on how
    /// the bytes arrived. `limit` is the configured limit, for the error message (`max` is
    /// less when empty lines before a request line used part of it).
    ///
    /// Lines end in CRLF. In a response head a bare LF ends a line too (see
    /// [`HeadKind::bare_lf_ends_lines`]); a CR before it belongs to the line end.
    pub(crate) fn scan(
        &mut self,
        buf: &[u8],
        max: usize,
        limit: usize,
        kind: HeadKind,
    ) -> Result<Option<usize>, Error> {
        let end = buf.len().min(max);
        while self.pos < end {
            let Some(off) = memchr(b'\n', &buf[self.pos..end]) else {
                self.pos = end;
                break;
            };
            let lf = self.pos + off;
            self.no_bare_cr(buf, lf)?;
            let crlf = lf > 0 && buf[lf - 1] == b'\r';
            if !crlf && !kind.bare_lf_ends_lines() {
                return Err(Error::bad("bare LF line ending (CRLF required)"));
            }
            if kind == HeadKind::Request && !self.first_line_done {
                // A request line is judged once it is whole, not when the head is: a
                // client that sends `GET /` (HTTP/0.9) and waits is refused at once, not
                // after the head timeout. The same check as the head's parse, so the error
                // is the same however the bytes arrive.
                parse_request_line(&buf[..lf - usize::from(crlf)])?;
            }
            self.first_line_done = true;
            if lf - usize::from(crlf) == self.line_start {
                return Ok(Some(lf + 1));
            }
            self.line_start = lf + 1;
            self.pos = lf + 1;
        }
        // A bare CR is refused as soon as the byte after it is there, not when the head
        // ends: a client that sends one and waits gets its 400 at once, not a 408 at the
        // head timeout. Line by line, in the order the bytes come, so the error is the
        // same however they arrive.
        self.no_bare_cr(buf, end.saturating_sub(1))?;
        if buf.len() >= max {
            return Err(match kind {
                // Still in the method: longer than any method a server implements (RFC
                // 9112 §3: SHOULD 501), not a long target.
                HeadKind::Request if !self.first_line_done && !buf[..max].contains(&b' ') => {
                    Error::remote(format!("method longer than {limit} bytes"), 501)
                }
                HeadKind::Request if !self.first_line_done => {
                    Error::remote(format!("request line longer than {limit} bytes"), 414)
                }
                HeadKind::Request | HeadKind::Response => {
                    Error::remote(format!("message head larger than {limit} bytes"), 431)
                }
                HeadKind::Trailers => {
                    Error::remote(format!("trailer section larger than {limit} bytes"), 431)
                }
            });
        }
        Ok(None)
    }
}

/// `HTTP/` DIGIT `.` DIGIT, case-sensitive. HTTP/1.x with x > 1 is processed as 1.1
/// (RFC 9110 §2.5); any other major version is refused with 505.
fn parse_version(v: &[u8]) -> Result<Version, Error> {
    match v {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            match (major, minor) {
                (b'1', b'0') => Ok(Version::HTTP_10),
                (b'1', _) => Ok(Version::HTTP_11),
                _ => Err(Error::remote(
                    format!("unsupported HTTP version {}", String::from_utf8_lossy(v)),
                    505,
                )),
            }
        }
        _ => Err(Error::bad("malformed HTTP version")),
    }
}

/// Parses the field lines `raw[from..]` (which end with the blank line) into spans, and
/// lowercases the names in place. `allow_fold`: replace obs-fold with spaces (a user agent
/// must, RFC 9112 §5.2) instead of rejecting it.
fn parse_fields(
    raw: &mut [u8],
    from: usize,
    limits: &Limits,
    allow_fold: bool,
) -> Result<Vec<FieldSpan>, Error> {
    let section = &raw[from..];
    if matches!(section.first(), Some(b' ' | b'\t')) {
        return Err(Error::bad("whitespace before the first header field"));
    }

    // obs-fold: a line starting with SP or HTAB. Rare, so looked for with memchr first.
    // The same pass counts the field lines, to give httparse just enough slots: every field
    // is one line ending in an LF (folds were joined), and the last line is
    // the blank one.
    let mut i = 0;
    let mut lines = 0usize;
    let mut folds = 0usize;
    while let Some(off) = memchr(b'\n', &raw[from + i..]) {
        let lf = from + i + off;
        lines += 1;
        if matches!(raw.get(lf + 1), Some(b' ' | b'\t')) {
            if !allow_fold {
                return Err(Error::bad("obsolete line folding in a header field"));
            }
            // obs-fold = OWS CRLF RWS, and all of it becomes SP: an HTAB on either side
            // of the line break too (the break a bare LF where the head allows one). In
            // place, so the spans stay where they are.
            let mut start = if raw[lf - 1] == b'\r' { lf - 1 } else { lf };
            while start > from && matches!(raw[start - 1], b' ' | b'\t') {
                start -= 1;
            }
            let mut end = lf + 1;
            while matches!(raw.get(end), Some(b' ' | b'\t')) {
                end += 1;
            }
            raw[start..end].fill(b' ');
            folds += 1;
        }
        i = lf + 1 - from;
    }

    // As many slots as there are fields, up to the limit (beyond it httparse reports
    // TooManyHeaders, as it would with a full-size array). Only the array used is
    // initialised.
    let slots = lines.saturating_sub(1 + folds).min(limits.max_headers);
    let mut large;
    let mut heap;
    let storage: &mut [httparse::Header<'_>] = if slots <= 64 {
        large = [httparse::EMPTY_HEADER; 64];
        &mut large[..slots]
    } else {
        heap = vec![httparse::EMPTY_HEADER; slots];
        &mut heap
    };
    let base = raw.as_ptr() as usize;
    let section = &raw[from..];
    let spans = match httparse::parse_headers(section, storage) {
        Ok(httparse::Status::Complete((len, fields))) if len == section.len() => {
            field_spans(fields, base)
        }
        Ok(_) => return Err(Error::bad("malformed header section")),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Error::remote(
                format!("more than {} header fields", limits.max_headers),
                431,
            ))
        }
        Err(httparse::Error::HeaderName) => return Err(Error::bad("invalid header field name")),
        Err(httparse::Error::HeaderValue) => {
            return Err(Error::bad("invalid character in a header field value"))
        }
        Err(_) => return Err(Error::bad("malformed header field line")),
    };
    Ok(spans)
}

/// The positions of httparse's fields in the head whose bytes start at `base`.
fn field_spans(fields: &[httparse::Header<'_>], base: usize) -> Vec<FieldSpan> {
    fields.iter().map(|f| field_span(f, base)).collect()
}

/// The position of one of httparse's fields in the head whose bytes start at `base`.
fn field_span(f: &httparse::Header<'_>, base: usize) -> FieldSpan {
    let name = f.name.as_ptr() as usize - base;
    let value = f.value.as_ptr() as usize - base;
    FieldSpan {
        name: (name as u32, (name + f.name.len()) as u32),
        value: (value as u32, (value + f.value.len()) as u32),
    }
}

/// The end of the first line (the index of its CR, or of a bare LF where the scanner
/// allowed one), and where the next line starts.
fn first_line_end(raw: &[u8]) -> (usize, usize) {
    // The scanner has seen the line end of the first line.
    match memchr(b'\n', raw) {
        Some(lf) if lf > 0 && raw[lf - 1] == b'\r' => (lf - 1, lf + 1),
        Some(lf) => (lf, lf + 1),
        None => (raw.len(), raw.len()),
    }
}

/// Start lines are split at single spaces (RFC 9112 §3, §4); a parser that split at runs of
/// whitespace would read some lines differently from us.
const MULTIPLE_SPACES: &str = "more than one space between the parts of the start line";

/// `HTTP/1.1` as one word.
const HTTP_11: u64 = u64::from_ne_bytes(*b"HTTP/1.1");

/// A parsed request line.
struct RequestLine {
    method: Method,
    target: Range<usize>,
    version: Version,
}

/// `method SP request-target SP HTTP-version`, without the CRLF.
fn parse_request_line(line: &[u8]) -> Result<RequestLine, Error> {
    // The usual methods, known by their first bytes and the space after them: what the
    // scan and `Method::from_bytes` below would find.
    let (sp1, method) = match line {
        [b'G', b'E', b'T', b' ', ..] => (3, Method::GET),
        [b'P', b'O', b'S', b'T', b' ', ..] => (4, Method::POST),
        [b'H', b'E', b'A', b'D', b' ', ..] => (4, Method::HEAD),
        _ => {
            let sp1 = line
                .iter()
                .position(|&b| !is_tchar(b))
                .ok_or_else(|| Error::bad("invalid request line"))?;
            if sp1 == 0 || line[sp1] != b' ' {
                return Err(Error::bad("invalid method in request line"));
            }
            let method =
                Method::from_bytes(&line[..sp1]).map_err(|_| Error::bad("invalid method"))?;
            (sp1, method)
        }
    };
    let target_start = sp1 + 1;
    let target_len = visible_ascii_len(&line[target_start..]);
    let target_end = target_start + target_len;
    if target_end == line.len() {
        return Err(Error::bad("invalid request line"));
    }
    if target_len == 0 && line[target_start] == b' ' {
        return Err(Error::bad(MULTIPLE_SPACES));
    }
    if target_len == 0 || line[target_end] != b' ' {
        return Err(Error::bad("invalid character in request target"));
    }
    if line.get(target_end + 1) == Some(&b' ') {
        return Err(Error::bad(MULTIPLE_SPACES));
    }
    let v = &line[target_end + 1..];
    // The usual version, in one comparison of eight bytes.
    let version = if <[u8; 8]>::try_from(v).is_ok_and(|v| u64::from_ne_bytes(v) == HTTP_11) {
        Version::HTTP_11
    } else {
        parse_version(v)?
    };
    check_target_form(&method, &line[target_start..target_end])?;
    Ok(RequestLine {
        method,
        target: target_start..target_end,
        version,
    })
}

fn request_head(
    line: RequestLine,
    raw: &[u8],
    fields: impl ExactSizeIterator<Item = FieldSpan>,
) -> RequestHead {
    RequestHead {
        method: line.method,
        target: line.target.start as u32..line.target.end as u32,
        version: line.version,
        headers: Headers::index(raw, fields),
    }
}

/// Parses a complete request head (`raw` ends with the blank line).
pub(crate) fn parse_request(raw: &[u8], limits: &Limits) -> Result<RequestHead, Error> {
    let mut raw: Box<[u8]> = raw.into();
    let (line_end, next) = first_line_end(&raw);
    let line = parse_request_line(&raw[..line_end])?;
    let fields = parse_fields(&mut raw, next, limits, false)?;
    Ok(request_head(line, &raw, fields.into_iter()))
}

/// The fast path for a request head that arrived whole: see [`whole_head`].
// Inlined: the head is built where the caller keeps it, not moved there.
#[inline]
pub(crate) fn try_request(buf: &[u8], max: usize, limits: &Limits) -> Option<(usize, RequestHead)> {
    let mut slots = [httparse::EMPTY_HEADER; FAST_FIELDS];
    let (line_end, len, fields) = whole_head(buf, max, limits, &mut slots)?;
    let line = parse_request_line(&buf[..line_end]).ok()?;
    let base = buf.as_ptr() as usize;
    let spans = fields.iter().map(|f| field_span(f, base));
    Some((len, request_head(line, &buf[..len], spans)))
}

/// The fast path, for the usual head that is complete in the buffer at the first look:
/// one httparse pass over the buffer, no separate scan for the end. It answers only when
/// the careful path (scanner, then [`parse_request`]/[`parse_response`]) would accept the
/// same head with the same result: CRLF line ends only, no obs-fold, at most 16 fields,
/// within `max`. Anything else (incomplete, malformed, large) gives `None` and the careful
/// path decides, so what is reported never depends on how the bytes arrived.
///
/// Returns the index of the CR ending the first line, the head's length and the fields
/// (in `slots`, which the caller owns so that nothing is copied on the way back).
fn whole_head<'b, 's>(
    buf: &'b [u8],
    max: usize,
    limits: &Limits,
    slots: &'s mut [httparse::Header<'b>; FAST_FIELDS],
) -> Option<(usize, usize, &'s [httparse::Header<'b>])> {
    let lf = memchr(b'\n', &buf[..buf.len().min(max)])?;
    if lf == 0 || buf[lf - 1] != b'\r' {
        return None;
    }
    let slots = &mut slots[..limits.max_headers.min(FAST_FIELDS)];
    let section = &buf[lf + 1..];
    let Ok(httparse::Status::Complete((section_len, fields))) =
        httparse::parse_headers(section, slots)
    else {
        return None;
    };
    let len = lf + 1 + section_len;
    if len > max {
        return None;
    }
    // httparse also takes a bare LF as a line end: every line must end in CRLF. Each
    // field line ends right before the next begins; the blank line is the last two bytes.
    let base = buf.as_ptr() as usize;
    let crlf_before = |at: usize| at >= 2 && &buf[at - 2..at] == b"\r\n";
    let starts_ok = fields
        .iter()
        .skip(1)
        .all(|f| crlf_before(f.name.as_ptr() as usize - base));
    let blank_ok = crlf_before(len) && crlf_before(len - 2);
    if !(starts_ok && blank_ok) {
        return None;
    }
    Some((lf - 1, len, fields))
}

/// The fast path takes heads of at most this many fields.
const FAST_FIELDS: usize = 16;

/// RFC 9112 §3.2: origin-form or absolute-form, authority-form for CONNECT only (its port
/// 1 to 65535; a `host:port` target is authority-form, not a scheme and a path of digits),
/// asterisk-form for OPTIONS only; an absolute-form target's authority, if it
/// has one, is RFC 3986's, and an `http`/`https` one has an authority with a host and no
/// userinfo (RFC 9110 §4.2.1, §4.2.4). The client checks what it sends with the same rules.
pub(crate) fn check_target_form(method: &Method, target: &[u8]) -> Result<(), Error> {
    if *method == Method::CONNECT {
        return if valid_authority_form(target) {
            Ok(())
        } else {
            Err(Error::bad(
                "CONNECT needs an authority-form target (host:port)",
            ))
        };
    }
    if target == b"*" {
        return if *method == Method::OPTIONS {
            Ok(())
        } else {
            Err(Error::bad("asterisk-form target is only for OPTIONS"))
        };
    }
    if target[0] == b'/' {
        return Ok(());
    }
    // absolute-form: scheme ":" hier-part, which may be empty (RFC 3986 §4.3: `about:`);
    // an http or https URI needs its authority, and any authority must be one.
    let scheme_len = target
        .iter()
        .position(|&b| b == b':')
        .ok_or_else(|| Error::bad("invalid request target"))?;
    let scheme = &target[..scheme_len];
    let rest = &target[scheme_len + 1..];
    if !rest.is_empty() && rest.iter().all(u8::is_ascii_digit) {
        // `host:port` is authority-form before it is a scheme and a path of digits:
        // nginx, Apache, lighttpd, gunicorn and Node's llhttp read it so, and refuse it
        // for any method but CONNECT (§3.2.3). So do we, rather than route as a path
        // what a proxy in front would take for a host.
        return Err(Error::bad("authority-form target is only for CONNECT"));
    }
    let ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        && absolute_authority_ok(target) != Some(false);
    if ok {
        Ok(())
    } else {
        Err(Error::bad("invalid request target"))
    }
}

/// A parsed status line.
struct StatusLine {
    status: u16,
    reason: Range<usize>,
    version: Version,
}

/// `HTTP-version SP 3DIGIT [SP reason-phrase]`, without the CRLF.
fn parse_status_line(line: &[u8]) -> Result<StatusLine, Error> {
    if line.get(8..10) == Some(b"  ") {
        return Err(Error::bad(MULTIPLE_SPACES));
    }
    if line.len() < 12 || line[8] != b' ' {
        return Err(Error::bad("malformed status line"));
    }
    let version = parse_version(&line[..8])?;
    let code = &line[9..12];
    if !code.iter().all(u8::is_ascii_digit) || code[0] == b'0' {
        return Err(Error::bad("malformed status code"));
    }
    let status = code.iter().fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
    let reason = match line.get(12) {
        None => 12..12,
        Some(b' ') => 13..line.len(),
        Some(_) => return Err(Error::bad("malformed status line")),
    };
    // reason-phrase = *( HTAB / SP / VCHAR / obs-text )
    if line[reason.clone()]
        .iter()
        .any(|&b| b != b'\t' && (b < 0x20 || b == 0x7f))
    {
        return Err(Error::bad("invalid character in reason phrase"));
    }
    Ok(StatusLine {
        status,
        reason,
        version,
    })
}

fn response_head(
    line: StatusLine,
    raw: &[u8],
    fields: impl ExactSizeIterator<Item = FieldSpan>,
) -> ResponseHead {
    ResponseHead {
        status: line.status,
        reason: line.reason.start as u32..line.reason.end as u32,
        version: line.version,
        headers: Headers::index(raw, fields),
    }
}

/// Parses a complete response head (`raw` ends with the blank line).
pub(crate) fn parse_response(raw: &[u8], limits: &Limits) -> Result<ResponseHead, Error> {
    let mut raw: Box<[u8]> = raw.into();
    let (line_end, next) = first_line_end(&raw);
    let line = parse_status_line(&raw[..line_end])?;
    let fields = parse_fields(&mut raw, next, limits, true)?;
    Ok(response_head(line, &raw, fields.into_iter()))
}

/// The fast path for a response head that arrived whole: see [`whole_head`].
pub(crate) fn try_response(
    buf: &[u8],
    max: usize,
    limits: &Limits,
) -> Option<(usize, ResponseHead)> {
    let mut slots = [httparse::EMPTY_HEADER; FAST_FIELDS];
    let (line_end, len, fields) = whole_head(buf, max, limits, &mut slots)?;
    let line = parse_status_line(&buf[..line_end]).ok()?;
    let base = buf.as_ptr() as usize;
    let spans = fields.iter().map(|f| field_span(f, base));
    Some((len, response_head(line, &buf[..len], spans)))
}

/// Parses a complete trailer section (`raw` ends with the blank line).
pub(crate) fn parse_trailers(
    raw: &[u8],
    limits: &Limits,
    allow_fold: bool,
) -> Result<Headers, Error> {
    if raw == b"\r\n" {
        return Ok(Headers::default());
    }
    let mut raw: Box<[u8]> = raw.into();
    let fields = parse_fields(&mut raw, 0, limits, allow_fold)?;
    Ok(Headers::index(&raw, fields.into_iter()))
}
