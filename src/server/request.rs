//! [`Request`]: what a handler receives, with a body to read.

use std::io::{self, Read};
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use http::{HeaderMap, Method, Version};

use super::feed::Feed;
use crate::proto::{Framing, Headers, RequestHead};

/// A request, as a handler receives it: method, target, headers, and a body to read
/// (degu's `request`).
///
/// The body is a reader: read it (or not) in the handler. The server's event loop
/// receives it from the client (a small body has usually arrived whole before the handler
/// is called), so reading it waits only on the handler's own thread. If the client sent
/// `Expect: 100-continue`, the `100 Continue` goes out when the handler first reads the
/// body; a handler that answers without reading gives the final status instead (and the
/// connection closes after it). A body left unread is read and dropped after the response
/// if it is short, else the connection is closed: never misread as a request.
///
/// The head is kept as it was parsed (its bytes, and where each part lies in them), so a
/// request costs no map and no copies until the handler asks: [`headers`](Self::headers)
/// looks fields up in place, [`Headers::to_header_map`] builds an `http::HeaderMap` for a
/// handler that wants one.
#[derive(Debug)]
pub struct Request<'c> {
    head: RequestHead,
    /// The body.
    pub body: RequestBody<'c>,
}

impl Request<'_> {
    pub(crate) fn new(head: RequestHead, framing: Framing, feed: Option<Arc<Feed>>) -> Self {
        Self {
            head,
            body: RequestBody {
                feed,
                framing,
                trailers: None,
                _connection: PhantomData,
            },
        }
    }

    /// The method.
    pub fn method(&self) -> &Method {
        self.head.method()
    }

    /// The request target as sent (`/path?query`, or absolute-form, `*`, authority-form).
    pub fn target(&self) -> &str {
        self.head.target()
    }

    /// `HTTP/1.1` or `HTTP/1.0`.
    pub fn version(&self) -> Version {
        self.head.version()
    }

    /// The header fields, in the order received (names lowercase):
    ///
    /// ```no_run
    /// # use pollhttp::server::{Response, Server};
    /// # use http::StatusCode;
    /// # let _ = Server::bind(([127, 0, 0, 1], 0), |_session, request| {
    /// let agent = request.headers().get("user-agent").unwrap_or(b"");
    /// Response::text(StatusCode::OK, format!("{} bytes of user agent", agent.len()))
    /// # });
    /// ```
    pub fn headers(&self) -> &Headers {
        self.head.headers()
    }

    /// The whole head, as the protocol core parsed it.
    pub fn head(&self) -> &RequestHead {
        &self.head
    }

    /// The path: the target up to `?` (an absolute-form target's path).
    pub fn path(&self) -> &str {
        let target = self.target();
        if target.starts_with('/') {
            // Origin-form, the usual: no scheme to look for.
            return before_query(target);
        }
        let target = match target.find("://") {
            Some(i) => target[i + 3..]
                .find('/')
                .map_or("/", |j| &target[i + 3 + j..]),
            None => target,
        };
        before_query(target)
    }

    /// The query: what follows `?` in the target, if anything does.
    pub fn query(&self) -> Option<&str> {
        let rest = self.target().split_once('?')?.1;
        Some(rest.split('#').next().unwrap_or(rest))
    }
}

/// `target` up to its first `?` or `#`. A byte loop: the char-pattern `split` costs more
/// than the rest of routing a short path (this runs for every request a handler routes).
fn before_query(target: &str) -> &str {
    match target.bytes().position(|b| b == b'?' || b == b'#') {
        // Both are ASCII, so the index is a char boundary.
        Some(end) => &target[..end],
        None => target,
    }
}

/// A request body: a [`Read`] that knows its framing. `Ok(0)` only at the real end; a
/// client that closes, stalls (the body timeout) or sends too slowly (the minimum rate)
/// before the end is an error.
///
/// # Errors
///
/// A read fails with an [`io::Error`] whose kind says whose fault it is, so that a
/// handler can answer accordingly:
///
/// - [`io::ErrorKind::UnexpectedEof`]: the client closed the connection before the end;
/// - [`io::ErrorKind::InvalidData`]: the body is malformed (a bad chunk line) or grows
///   past [`Limits::max_body`](crate::proto::Limits::max_body);
/// - [`io::ErrorKind::TimedOut`]: the client stalled past the body timeout, or sent
///   slower than the minimum rate, or the request's deadline passed;
/// - [`io::ErrorKind::Other`]: the server had no thread to receive the body on (past
///   [`Server::max_body_waits`](super::Server::max_body_waits), or the system refused a
///   thread). The client is not at fault: `503 Service Unavailable` with a `Retry-After`
///   is the answer, as the `serve` example gives.
///
/// In every case the connection closes after the handler's response (in the first
/// three, the client may never read it).
#[derive(Debug)]
pub struct RequestBody<'c> {
    /// `None` once the body is read to its end (or when the loop reads none for it): the
    /// end is kept without a flag of its own, which would take a `Request` past 128 bytes,
    /// the size up to which a move is a few vector copies rather than a call to `memcpy`
    /// (it moves into its handler through a `dyn Fn`).
    feed: Option<Arc<Feed>>,
    framing: Framing,
    /// Boxed, and only once there are some: a request moves into its handler.
    trailers: Option<Box<HeaderMap>>,
    /// The body belongs to one exchange on one connection.
    _connection: PhantomData<&'c mut ()>,
}

impl RequestBody<'_> {
    /// How the body is framed ([`Framing::None`]: there is none).
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// The `Content-Length`, if the body has one.
    pub fn content_length(&self) -> Option<u64> {
        self.framing.content_length()
    }

    /// Whether the body is chunked.
    pub fn is_chunked(&self) -> bool {
        self.framing == Framing::Chunked
    }

    /// Reads the rest of the body into memory.
    pub fn read_all(&mut self) -> io::Result<Vec<u8>> {
        let mut all = Vec::new();
        if let Some(n) = self.content_length() {
            all.reserve(usize::try_from(n).unwrap_or(0).min(1 << 20));
        }
        self.read_to_end(&mut all)?;
        Ok(all)
    }

    /// The trailer fields of a chunked body, once it has been read to its end.
    pub fn trailers(&self) -> &HeaderMap {
        static NONE: OnceLock<HeaderMap> = OnceLock::new();
        self.trailers
            .as_deref()
            .unwrap_or_else(|| NONE.get_or_init(HeaderMap::new))
    }
}

impl Read for RequestBody<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // No body (its framing says so): nothing to read, whatever a feed would say.
        if buf.is_empty() || self.framing == Framing::None {
            return Ok(0);
        }
        let Some(feed) = &self.feed else {
            return Ok(0);
        };
        let n = feed.read(buf, &mut self.trailers)?;
        if n == 0 {
            // The end: the feed is not asked again.
            self.feed = None;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    // Imported: in the prelude only from Rust 1.80.
    use std::mem::size_of;

    use super::{before_query, Request};

    #[test]
    fn a_request_moves_without_a_call_to_memcpy() {
        // Past 128 bytes, each move of a request (into its handler, through a `dyn Fn`)
        // is a call to `memcpy`: about 25 instructions more per request.
        assert!(size_of::<Request<'_>>() <= 128);
    }

    #[test]
    fn the_path_ends_at_the_query_or_the_fragment() {
        for (target, path) in [
            ("/", "/"),
            ("/a/b", "/a/b"),
            ("/a?x=1", "/a"),
            ("/a#f", "/a"),
            ("/a?x#f", "/a"),
            ("/a#f?x", "/a"),
            ("?x", ""),
            ("/caf\u{e9}?q", "/caf\u{e9}"),
        ] {
            assert_eq!(before_query(target), path, "{target:?}");
        }
    }
}
