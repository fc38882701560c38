//! [`Request`] and [`Response`]: what a pipeline sends, maybe more than once, and what it
//! hands back.

use http::header::HOST;
use http::{HeaderMap, HeaderName, HeaderValue, Method};

use super::error::FetchError;
use super::policy::is_idempotent;
use crate::proto::ResponseHead;

/// What to do with a response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyMode {
    /// Keep it, up to this many bytes; a longer body fails the request.
    Keep(usize),
    /// Read it and drop it, counting its bytes (a crawl that checks status codes).
    Discard,
}

/// The body limit of [`Request::new`]: 16 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// A request a pipeline may send more than once: its body is in memory.
///
/// `Host` is added from the origin unless the headers have one.
///
/// ```
/// use http::Method;
/// use pollhttp::pipeline::{BodyMode, Request};
/// let request = Request::new(Method::GET, "/index.html")
///     .header("accept", "text/html")
///     .body_mode(BodyMode::Discard);
/// assert!(request.is_repeatable());
/// assert!(!Request::new(Method::POST, "/form").is_repeatable());
/// assert!(Request::new(Method::POST, "/form").repeatable().is_repeatable());
/// ```
#[derive(Debug, Clone)]
pub struct Request {
    pub(crate) method: Method,
    pub(crate) target: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) repeatable: bool,
    pub(crate) body_mode: BodyMode,
}

impl Request {
    /// A request without a body, keeping response bodies up to
    /// [`DEFAULT_BODY_LIMIT`]. `target` is the path and query (`/a?b`).
    pub fn new(method: Method, target: impl Into<String>) -> Self {
        let repeatable = is_idempotent(&method);
        Self {
            method,
            target: target.into(),
            headers: HeaderMap::new(),
            body: None,
            repeatable,
            body_mode: BodyMode::Keep(DEFAULT_BODY_LIMIT),
        }
    }

    /// A `GET`.
    pub fn get(target: impl Into<String>) -> Self {
        Self::new(Method::GET, target)
    }

    /// A `HEAD`.
    pub fn head(target: impl Into<String>) -> Self {
        Self::new(Method::HEAD, target)
    }

    /// Adds a header field.
    ///
    /// # Panics
    /// If the name or value is not valid in HTTP (use [`headers_mut`](Self::headers_mut)
    /// with values you built to avoid the check).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("invalid header name");
        let value = HeaderValue::from_str(value).expect("invalid header value");
        self.headers.append(name, value);
        self
    }

    /// The header fields, to change.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// Sends this body, with `Content-Length`.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Says the request may be sent again after a connection ended without its response,
    /// though its method is not idempotent (you know that repeating it does no harm: a
    /// `POST` of a search, a request with an idempotency key).
    pub fn repeatable(mut self) -> Self {
        self.repeatable = true;
        self
    }

    /// What to do with the response body (the default keeps up to
    /// [`DEFAULT_BODY_LIMIT`] bytes).
    pub fn body_mode(mut self, mode: BodyMode) -> Self {
        self.body_mode = mode;
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request target.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Whether it may be sent again when a connection ends without its response: its
    /// method is idempotent, or [`repeatable`](Self::repeatable) said so.
    pub fn is_repeatable(&self) -> bool {
        self.repeatable
    }

    /// Fills in `Host` when the caller gave none.
    pub(crate) fn set_host(&mut self, host: &HeaderValue) {
        if !self.headers.contains_key(HOST) {
            self.headers.insert(HOST, host.clone());
        }
    }
}

/// A response as a pipeline hands it back: the head, and the body (empty when it was
/// discarded: see [`body_len`](Self::body_len)).
#[derive(Debug, Clone)]
pub struct Response {
    /// The status line and header fields.
    pub head: ResponseHead,
    /// The body, when the request kept it.
    pub body: Vec<u8>,
    /// The body's length, kept or not.
    pub body_len: u64,
}

impl Response {
    /// The status code.
    pub fn status(&self) -> u16 {
        self.head.status()
    }
}

/// A request finished: its response or why there is none, with the caller's tag.
#[derive(Debug)]
pub struct Completed<T> {
    /// What the caller gave with the request.
    pub tag: T,
    /// The tries made: each time it was sent, and each connection that failed to open
    /// while it waited (a failed lookup counts as one), the one that succeeded included;
    /// the errors of those that failed are in [`FetchError::errors`]. 1 when it went well
    /// the first time; 0 when it was refused before any try (a request HTTP cannot carry),
    /// or failed unsent ([`FetchError::NotSent`]). See the [module](super) docs.
    pub attempts: u32,
    /// The response, or the error.
    pub result: Result<Response, FetchError>,
}
