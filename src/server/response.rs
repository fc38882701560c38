//! [`Response`]: what a handler returns.

use std::cell::Cell;

use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::body::Body;

/// A sent response's field map is kept (emptied) for the next response this thread
/// makes, up to this many fields: building and dropping a map cost two allocations and
/// their frees per response, a tenth of a small pipelined exchange.
const SPARE_FIELDS_AT_MOST: usize = 32;

/// The field [`Response::text`] sets.
const TEXT_PLAIN: &str = "text/plain; charset=utf-8";

thread_local! {
    static SPARE_MAP: Cell<Option<HeaderMap>> = const { Cell::new(None) };
    /// A sent map that held only the field `Response::text` sets, kept as it is: the next
    /// `text` response takes it rather than hash that field into an empty map (and this
    /// one need not be emptied).
    static SPARE_TEXT_MAP: Cell<Option<HeaderMap>> = const { Cell::new(None) };
}

/// An empty field map: this thread's spare one if it has one (its memory kept).
fn empty_map() -> HeaderMap {
    SPARE_MAP.with(Cell::take).unwrap_or_default()
}

/// A map holding only `content-type: text/plain; charset=utf-8`: this thread's spare one
/// if it has one.
fn text_map() -> HeaderMap {
    if let Some(map) = SPARE_TEXT_MAP.with(Cell::take) {
        return map;
    }
    let mut map = empty_map();
    map.insert(CONTENT_TYPE, HeaderValue::from_static(TEXT_PLAIN));
    map
}

/// Whether `map` holds the field `Response::text` sets and nothing else.
fn is_text_map(map: &HeaderMap) -> bool {
    map.len() == 1
        && map.iter().next().is_some_and(|(name, value)| {
            *name == CONTENT_TYPE && value == TEXT_PLAIN && !value.is_sensitive()
        })
}

/// Keeps a sent response's field map, emptied, for this thread's next response (or as it
/// is, if it holds only what [`Response::text`] sets).
pub(crate) fn recycle_map(mut map: HeaderMap) {
    if map.capacity() == 0 || map.capacity() > SPARE_FIELDS_AT_MOST {
        return;
    }
    if is_text_map(&map) {
        // Swapped in place: the closure holds a reference, not a copy of the map.
        let mut slot = Some(map);
        SPARE_TEXT_MAP.with(|spare| slot = spare.replace(slot.take()));
        if let Some(map) = slot {
            // There was one already: this one is emptied for `new`.
            recycle_empty(map);
        }
        return;
    }
    map.clear();
    SPARE_MAP.with(|spare| spare.set(Some(map)));
}

fn recycle_empty(mut map: HeaderMap) {
    map.clear();
    SPARE_MAP.with(|spare| spare.set(Some(map)));
}

/// A response, as a handler returns it: status, reason (the standard phrase unless given),
/// headers, and a [`Body`] (none, bytes, a reader with a length, chunked from a reader or
/// chunks, with trailers). The framing fields come from the body; a HEAD response carries
/// the framing of the body it would have had, and no body. A `date` field is added unless
/// the handler set one.
#[derive(Debug)]
pub struct Response {
    /// The status.
    pub status: StatusCode,
    /// The reason phrase; `None`: the standard one (some clients refuse an empty reason).
    pub reason: Option<String>,
    /// The header fields (framing fields are set from the body).
    pub headers: HeaderMap,
    /// The body.
    pub body: Body<'static>,
}

impl Response {
    /// A response with this status and body, no header fields.
    pub fn new(status: StatusCode, body: impl Into<Body<'static>>) -> Self {
        Self {
            status,
            reason: None,
            headers: empty_map(),
            body: body.into(),
        }
    }

    /// A `text/plain` response (a `&'static str` is sent without a copy).
    pub fn text(status: StatusCode, text: impl Into<Body<'static>>) -> Self {
        Self {
            status,
            reason: None,
            headers: text_map(),
            body: text.into(),
        }
    }

    /// Adds a header field.
    ///
    /// # Panics
    /// If the name or value is not valid in HTTP.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        let name =
            http::header::HeaderName::from_bytes(name.as_bytes()).expect("invalid header name");
        let value = HeaderValue::from_str(value).expect("invalid header value");
        self.headers.append(name, value);
        self
    }

    /// Sets the reason phrase.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recycled_map_comes_back_empty_and_a_large_one_is_not_kept() {
        let sent = Response::text(StatusCode::OK, "a").with_header("x-one", "1");
        assert_eq!(sent.headers.len(), 2);
        let capacity = sent.headers.capacity();
        recycle_map(sent.headers);
        let next = Response::new(StatusCode::OK, "b");
        assert!(next.headers.is_empty(), "{:?}", next.headers);
        assert_eq!(
            next.headers.capacity(),
            capacity,
            "the spare map's memory is kept"
        );

        let mut text = Response::text(StatusCode::OK, "d").headers;
        let kept = text.capacity();
        recycle_map(text);
        let again = Response::text(StatusCode::OK, "e").headers;
        assert_eq!(again.capacity(), kept, "the text map is kept as it is");
        assert_eq!(again.len(), 1);
        assert_eq!(again[CONTENT_TYPE], TEXT_PLAIN);
        // A text map made sensitive, or changed, is emptied instead.
        text = again;
        text.get_mut(CONTENT_TYPE).unwrap().set_sensitive(true);
        recycle_map(text);
        let plain = Response::text(StatusCode::OK, "f").headers;
        assert!(!plain[CONTENT_TYPE].is_sensitive());
        assert_eq!(plain.len(), 1);
        assert!(Response::new(StatusCode::OK, "g").headers.is_empty());

        let mut large = HeaderMap::with_capacity(SPARE_FIELDS_AT_MOST * 4);
        large.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        recycle_map(large);
        assert_eq!(Response::new(StatusCode::OK, "c").headers.capacity(), 0);
    }
}
