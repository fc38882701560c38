//! [`Request`]: what a handler receives, with a body to read.

use std::io::{self, Read};
use std::marker::PhantomData;
use std::sync::Arc;

use http::{HeaderMap, Method, Version};

use super::feed::Feed;
use crate::proto::{Framing, RequestHead};

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
#[derive(Debug)]
pub struct Request<'c> {
    /// The method.
    pub method: Method,
    /// The request target as sent (`/path?query`, or absolute-form, `*`, authority-form).
    pub target: String,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: Version,
    /// The header fields (names lowercase).
    pub headers: HeaderMap,
    /// The body.
    pub body: RequestBody<'c>,
}

impl Request<'_> {
    pub(crate) fn new(head: RequestHead, framing: Framing, feed: Option<Arc<Feed>>) -> Self {
        Self {
            method: head.method().clone(),
            target: head.target().to_owned(),
            version: head.version(),
            headers: head.headers().to_header_map(),
            body: RequestBody {
                feed,
                framing,
                done: framing == Framing::None,
                trailers: HeaderMap::new(),
                _connection: PhantomData,
            },
        }
    }

    /// The path: the target up to `?` (an absolute-form target's path).
    pub fn path(&self) -> &str {
        let target = self.target.as_str();
        if target.starts_with('/') {
            // Origin-form, the usual: no scheme to look for.
            return target.split(['?', '#']).next().unwrap_or(target);
        }
        let target = match target.find("://") {
            Some(i) => target[i + 3..]
                .find('/')
                .map_or("/", |j| &target[i + 3 + j..]),
            None => target,
        };
        target.split(['?', '#']).next().unwrap_or(target)
    }

    /// The query: what follows `?` in the target, if anything does.
    pub fn query(&self) -> Option<&str> {
        let rest = self.target.split_once('?')?.1;
        Some(rest.split('#').next().unwrap_or(rest))
    }
}

/// A request body: a [`Read`] that knows its framing. `Ok(0)` only at the real end; a
/// client that closes, stalls (the body timeout) or sends too slowly (the minimum rate)
/// before the end is an error.
#[derive(Debug)]
pub struct RequestBody<'c> {
    feed: Option<Arc<Feed>>,
    framing: Framing,
    done: bool,
    trailers: HeaderMap,
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
        &self.trailers
    }
}

impl Read for RequestBody<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let Some(feed) = &self.feed else {
            self.done = true;
            return Ok(0);
        };
        let n = feed.read(buf, &mut self.trailers)?;
        if n == 0 {
            self.done = true;
        }
        Ok(n)
    }
}
