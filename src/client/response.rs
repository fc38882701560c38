//! What the blocking client returns: response heads, and bodies to read.

use std::io::{self, Read};

use http::{HeaderMap, StatusCode, Version};

use super::Connection;
use crate::error::Error;
use crate::proto::{self, Framing};

/// A response head, as [`Connection::read_response`] returns it (dugong's `HTTPResponse`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The status.
    pub status: StatusCode,
    /// The reason phrase as sent (Latin-1 decoded; may be empty).
    pub reason: String,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: Version,
    /// The header fields (names lowercase).
    pub headers: HeaderMap,
    /// How the body is framed: [`Framing::None`] when the response is already complete.
    pub framing: Framing,
}

impl Head {
    pub(crate) fn new(head: &proto::ResponseHead, framing: Framing) -> Self {
        Self {
            // The core admits 100..=999, all valid for `http`.
            status: StatusCode::from_u16(head.status()).unwrap_or(StatusCode::BAD_GATEWAY),
            reason: head.reason().iter().map(|&b| char::from(b)).collect(),
            version: head.version(),
            headers: head.headers().to_header_map(),
            framing,
        }
    }

    /// The `Content-Length` of the body, if it is framed by one (dugong's `length`).
    pub fn content_length(&self) -> Option<u64> {
        self.framing.content_length()
    }
}

/// A response from [`Connection::request`]: its head, and its body to read (degu's
/// `Response(status, reason, headers, body)`).
///
/// The body borrows the connection: read it (or [`discard`](BodyReader::discard) it)
/// before the next request. A body not read to its end leaves the connection unusable
/// for further requests (the next one is an error).
#[derive(Debug)]
pub struct Response<'c> {
    /// The status.
    pub status: StatusCode,
    /// The reason phrase as sent.
    pub reason: String,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: Version,
    /// The header fields (names lowercase).
    pub headers: HeaderMap,
    /// The body.
    pub body: BodyReader<'c>,
}

impl<'c> Response<'c> {
    pub(crate) fn new(head: Head, conn: &'c mut Connection) -> Self {
        Self {
            status: head.status,
            reason: head.reason,
            version: head.version,
            headers: head.headers,
            body: BodyReader {
                conn,
                framing: head.framing,
            },
        }
    }
}

/// A response body being read: a [`Read`] that knows its framing.
///
/// It returns `Ok(0)` only at the real end of the body; a peer that closes before the end
/// is an error (`UnexpectedEof`, from [`Error::ConnectionClosed`]), never a short body.
#[derive(Debug)]
pub struct BodyReader<'c> {
    conn: &'c mut Connection,
    framing: Framing,
}

impl BodyReader<'_> {
    /// How the body is framed.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// The `Content-Length`, if the body has one.
    pub fn content_length(&self) -> Option<u64> {
        self.framing.content_length()
    }

    /// Reads body bytes into `buf`: the count, 0 only at the end.
    pub fn read_into(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        self.conn.read_into(buf)
    }

    /// Reads the rest of the body.
    pub fn read_all(&mut self) -> Result<Vec<u8>, Error> {
        self.conn.read_all()
    }

    /// Writes the rest of the body to a file descriptor (`&mut File`, `io::stdout()`, a
    /// pipe...) and returns how many bytes it had: with splice(2) on Linux over clear text,
    /// no copy through user memory ([`Connection::copy_body_to`]).
    ///
    /// ```no_run
    /// # fn f(conn: &mut pollhttp::client::Connection) -> Result<(), pollhttp::Error> {
    /// let mut file = std::fs::File::create("big.iso").map_err(pollhttp::Error::from)?;
    /// let mut response = conn.get("/big.iso", http::HeaderMap::new())?;
    /// let n = response.body.copy_to(&mut file)?;
    /// # Ok(()) }
    /// ```
    pub fn copy_to(&mut self, dest: impl std::os::fd::AsFd) -> Result<u64, Error> {
        self.conn.copy_body_to(dest)
    }

    /// Reads the rest of the body and drops it; returns how many bytes it had.
    pub fn discard(&mut self) -> Result<u64, Error> {
        self.conn.discard()
    }

    /// The trailer fields, once the body has been read to its end (empty until then, and
    /// for bodies that are not chunked).
    pub fn trailers(&self) -> HeaderMap {
        if self.conn.stream().reading_body() {
            return HeaderMap::new();
        }
        self.conn.stream().trailers().to_header_map()
    }
}

impl Read for BodyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.read_into(buf)?)
    }
}
