//! [`Response`]: what a handler returns.

use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::body::Body;

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
            headers: HeaderMap::new(),
            body: body.into(),
        }
    }

    /// A `text/plain` response (a `&'static str` is sent without a copy).
    pub fn text(status: StatusCode, text: impl Into<Body<'static>>) -> Self {
        let mut response = Self::new(status, text);
        response.headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
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
