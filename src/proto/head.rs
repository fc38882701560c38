//! Parsed message heads: owned copies of the peer's bytes with indices into them.
//!
//! A head keeps one copy of the bytes it was parsed from (names lowercased in place) and
//! the positions of each part. Nothing is allocated per field, which keeps the parse close
//! to httparse's own speed; `to_header_map` converts to `http` types when wanted.

use std::cell::Cell;
use std::fmt;
use std::ops::Range;

use http::{HeaderMap, HeaderName, HeaderValue, Method, Version};

use super::chars::lowercase_in;
use super::framing::{list_items, Survey};

/// Positions of one field inside the head's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FieldSpan {
    pub(crate) name: (u32, u32),
    pub(crate) value: (u32, u32),
}

fn slice(raw: &[u8], (from, to): (u32, u32)) -> &[u8] {
    &raw[from as usize..to as usize]
}

impl FieldSpan {
    /// How a span is kept after the head's bytes: four `u32`s in native byte order.
    const LEN: usize = 16;

    fn encode(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        let parts = [self.name.0, self.name.1, self.value.0, self.value.1];
        for (chunk, part) in out.chunks_exact_mut(4).zip(parts) {
            chunk.copy_from_slice(&part.to_ne_bytes());
        }
        out
    }

    fn decode(bytes: &[u8]) -> Self {
        let part =
            |i: usize| u32::from_ne_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        Self {
            name: (part(0), part(4)),
            value: (part(8), part(12)),
        }
    }

    /// Whether this field's name is `name` (lengths compared before any bytes).
    fn is(&self, raw: &[u8], name: &str) -> bool {
        (self.name.1 - self.name.0) as usize == name.len()
            && slice(raw, self.name) == name.as_bytes()
    }
}

/// A dropped head's memory is kept (one per thread) for the next head indexed on the
/// thread, up to this size: a head costs an allocation and its free otherwise, a tenth of
/// a small pipelined exchange.
const SPARE_AT_MOST: usize = 4096;

thread_local! {
    static SPARE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Header (or trailer) fields as the peer sent them, in order, names lowercased, values
/// with surrounding whitespace removed.
///
/// ```
/// use pollhttp::proto::{ServerConn, Event};
/// let mut conn = ServerConn::new();
/// conn.receive(b"GET / HTTP/1.1\r\nHost: a\r\nX-Tag: 1\r\nx-tag: 2\r\n\r\n");
/// let Ok(Event::Request(req)) = conn.next_event() else { panic!() };
/// assert_eq!(req.headers().get("host"), Some(&b"a"[..]));
/// assert_eq!(req.headers().get_all("x-tag").collect::<Vec<_>>(), [&b"1"[..], b"2"]);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// The head's bytes, then the span of each field ([`FieldSpan::LEN`] bytes each): one
    /// allocation for a head (this thread's spare memory if it has enough).
    raw: Vec<u8>,
    /// Where the spans start: the length of the head's bytes.
    head_len: u32,
    survey: Survey,
}

impl Headers {
    /// A copy of `head` with the fields at `fields`: lowercases the names and notes the
    /// fields that decide framing, in one pass.
    pub(crate) fn index(head: &[u8], fields: impl ExactSizeIterator<Item = FieldSpan>) -> Self {
        let need = head.len() + fields.len() * FieldSpan::LEN;
        let mut raw = SPARE.try_with(Cell::take).unwrap_or_default();
        raw.reserve_exact(need);
        raw.extend_from_slice(head);
        let mut survey = Survey::default();
        for (i, f) in fields.enumerate() {
            let name = f.name.0 as usize..f.name.1 as usize;
            lowercase_in(&mut raw, name.clone());
            survey.note(i, &raw[name], slice(&raw, f.value));
            // Within the capacity reserved: the head's bytes do not move.
            raw.extend_from_slice(&f.encode());
        }
        Self {
            raw,
            head_len: head.len() as u32,
            survey,
        }
    }

    /// The fields' spans, in order.
    fn spans(&self) -> impl Iterator<Item = FieldSpan> + '_ {
        self.raw[self.head_len as usize..]
            .chunks_exact(FieldSpan::LEN)
            .map(FieldSpan::decode)
    }

    pub(crate) fn survey(&self) -> &Survey {
        &self.survey
    }

    pub(crate) fn raw(&self) -> &[u8] {
        &self.raw[..self.head_len as usize]
    }

    /// The number of fields (a repeated name counts each time).
    pub fn len(&self) -> usize {
        (self.raw.len() - self.head_len as usize) / FieldSpan::LEN
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All fields in the order received: lowercase name, value bytes.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.spans().map(move |f| {
            // Names were checked to be tokens (ASCII) by the parser.
            let name = std::str::from_utf8(slice(&self.raw, f.name)).unwrap_or("");
            (name, slice(&self.raw, f.value))
        })
    }

    /// Field `i` as raw bytes (no UTF-8 check of the name).
    pub(crate) fn field(&self, i: usize) -> (&[u8], &[u8]) {
        let at = self.head_len as usize + i * FieldSpan::LEN;
        let f = FieldSpan::decode(&self.raw[at..at + FieldSpan::LEN]);
        (slice(&self.raw, f.name), slice(&self.raw, f.value))
    }

    /// The first value of `name` (give it in lowercase).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.spans()
            .find(|f| f.is(&self.raw, name))
            .map(|f| slice(&self.raw, f.value))
    }

    /// Every value of `name` (give it in lowercase), in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        // Compared as bytes: no UTF-8 check per field and lookup.
        self.spans()
            .filter(move |f| f.is(&self.raw, name))
            .map(move |f| slice(&self.raw, f.value))
    }

    /// The elements of a list-valued field `name` (give it in lowercase) over all its
    /// lines, in order: split at commas, optional whitespace trimmed, empty elements
    /// skipped (RFC 9110 §5.6.1).
    ///
    /// ```
    /// use pollhttp::proto::{ServerConn, Event};
    /// let mut conn = ServerConn::new();
    /// conn.receive(b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: , websocket\r\nupgrade: h2c \r\n\r\n");
    /// let Ok(Event::Request(req)) = conn.next_event() else { panic!() };
    /// let offered: Vec<&[u8]> = req.headers().list("upgrade").collect();
    /// assert_eq!(offered, [&b"websocket"[..], b"h2c"]);
    /// ```
    pub fn list<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.get_all(name).flat_map(list_items)
    }

    /// True when `name` (lowercase) is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The fields as an `http::HeaderMap`.
    pub fn to_header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::with_capacity(self.len());
        for (name, value) in self.iter() {
            // The parser admitted only tokens and field-vchars, which `http` accepts too.
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(value),
            ) {
                map.append(n, v);
            }
        }
        map
    }
}

impl Drop for Headers {
    /// Keeps the memory of a small head for the next one this thread indexes.
    fn drop(&mut self) {
        if (1..=SPARE_AT_MOST).contains(&self.raw.capacity()) {
            let mut raw = std::mem::take(&mut self.raw);
            raw.clear();
            // Not while the thread ends (its spare is gone): then it is freed.
            let _ = SPARE.try_with(|spare| spare.set(raw));
        }
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.iter()
                    .map(|(n, v)| (n, String::from_utf8_lossy(v).into_owned())),
            )
            .finish()
    }
}

/// Each ASCII byte, at its own index.
const ASCII_BYTES: [u8; 128] = {
    let mut bytes = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        bytes[i] = i as u8;
        i += 1;
    }
    bytes
};

/// Each ASCII character, at its own index.
const ASCII_CHARS: &str = {
    match std::str::from_utf8(&ASCII_BYTES) {
        Ok(text) => text,
        Err(_) => panic!("ASCII is UTF-8"),
    }
};

/// A request head received by a server.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestHead {
    pub(crate) method: Method,
    pub(crate) target: Range<u32>,
    pub(crate) version: Version,
    pub(crate) headers: Headers,
}

impl RequestHead {
    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request target as sent (origin, absolute, authority or asterisk form).
    pub fn target(&self) -> &str {
        let raw = &self.headers.raw()[self.target.start as usize..self.target.end as usize];
        // A one-byte target (`/`, the most usual, or `*`) without the call that checks
        // UTF-8: the same text, from a table of the ASCII characters.
        if let &[b] = raw {
            if b.is_ascii() {
                let i = usize::from(b);
                return &ASCII_CHARS[i..=i];
            }
        }
        // The parser admitted only visible ASCII.
        std::str::from_utf8(raw).unwrap_or("")
    }

    /// `HTTP_10` or `HTTP_11` (a later HTTP/1.x minor version is processed as 1.1).
    pub fn version(&self) -> Version {
        self.version
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }
}

impl fmt::Debug for RequestHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestHead")
            .field("method", &self.method)
            .field("target", &self.target())
            .field("version", &self.version)
            .field("headers", &self.headers)
            .finish()
    }
}

/// A response head (final or informational) received by a client.
#[derive(Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub(crate) status: u16,
    pub(crate) reason: Range<u32>,
    pub(crate) version: Version,
    pub(crate) headers: Headers,
}

impl ResponseHead {
    /// The status code, 100 to 999.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase as sent (may be empty; may hold obs-text bytes).
    pub fn reason(&self) -> &[u8] {
        &self.headers.raw()[self.reason.start as usize..self.reason.end as usize]
    }

    /// `HTTP_10` or `HTTP_11` (a later HTTP/1.x minor version is processed as 1.1).
    pub fn version(&self) -> Version {
        self.version
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }
}

impl fmt::Debug for ResponseHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseHead")
            .field("status", &self.status)
            .field("reason", &String::from_utf8_lossy(self.reason()))
            .field("version", &self.version)
            .field("headers", &self.headers)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ascii_table_holds_each_character_at_its_index() {
        assert_eq!(ASCII_CHARS.len(), 128);
        for (i, b) in ASCII_CHARS.bytes().enumerate() {
            assert_eq!(usize::from(b), i);
        }
    }

    #[test]
    fn a_one_byte_target_is_the_same_text() {
        for target in ["/", "*", "/a", "/ab?c", "http://a/"] {
            let mut conn = super::super::ServerConn::new();
            let method = if target == "*" { "OPTIONS" } else { "GET" };
            conn.receive(format!("{method} {target} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes())
                .unwrap();
            let Ok(super::super::Event::Request(head)) = conn.next_event() else {
                panic!("{target}")
            };
            assert_eq!(head.target(), target);
        }
    }
}
