//! The sending operations: a request head (with an in-memory body), body bytes, the end
//! of a body, and a flush of queued bytes.

use http::header::EXPECT;
use http::{HeaderMap, HeaderValue, Method};

use super::stream::ClientStream;
use crate::error::Error;
use crate::proto::BodyLength;
use crate::Progress;

/// Bodies at least this long are written from the caller's memory rather than copied
/// into the stream's buffer.
const DIRECT_WRITE_MIN: usize = 16 * 1024;

/// The body of a request, as [`SendRequest`] sends it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RequestBody {
    /// No body (`content-length: 0` for the methods that expect one: POST, PUT, PATCH).
    #[default]
    Empty,
    /// A body in memory, sent with the head (`content-length`).
    Bytes(Vec<u8>),
    /// `n` bytes to follow, written with [`WriteBody`] (`content-length: n`, dugong's
    /// `BodyFollowing`), then a [`FinishBody`] (or not: the body ends after its `n` bytes).
    Following(u64),
    /// A chunked body, written with [`WriteBody`] (one chunk each) and ended with
    /// [`FinishBody`] (which may carry trailers).
    Chunked,
}

impl From<Vec<u8>> for RequestBody {
    fn from(bytes: Vec<u8>) -> Self {
        Self::Bytes(bytes)
    }
}

impl From<&[u8]> for RequestBody {
    fn from(bytes: &[u8]) -> Self {
        Self::Bytes(bytes.to_vec())
    }
}

impl From<&str> for RequestBody {
    fn from(text: &str) -> Self {
        Self::Bytes(text.as_bytes().to_vec())
    }
}

impl From<String> for RequestBody {
    fn from(text: String) -> Self {
        Self::Bytes(text.into_bytes())
    }
}

/// Sends a request head, and its body when it is in memory.
///
/// `resume` queues the request the first time (see [`ClientStream::queue_request`]), then
/// writes until everything queued on the stream is written. A request with a body that
/// follows ([`RequestBody::Following`], [`RequestBody::Chunked`]) continues with
/// [`WriteBody`] and [`FinishBody`].
///
/// The headers must hold exactly one `host` (the blocking [`Client`](crate::client::Client)
/// adds it from the address).
///
/// ```no_run
/// use pollhttp::op::{ClientStream, ReadAll, ReadResponse, RequestBody, SendRequest};
/// use pollhttp::Progress;
/// use http::{HeaderMap, HeaderValue, Method};
/// # fn run(stream: &mut ClientStream) -> Result<(), pollhttp::Error> {
/// let mut headers = HeaderMap::new();
/// headers.insert("host", HeaderValue::from_static("example.com"));
/// let mut send = SendRequest::new(Method::PUT, "/file", headers, RequestBody::from("hello"));
/// while let Progress::Pending(need) = send.resume(stream)? {
///     need.wait(None)?; // or register need.fd with your poller
/// }
/// let mut read = ReadResponse::new();
/// let head = loop {
///     match read.resume(stream)? {
///         Progress::Ready(head) => break head,
///         Progress::Pending(need) => { need.wait(None)?; }
///     }
/// };
/// println!("{}", head.status());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct SendRequest {
    method: Method,
    target: String,
    headers: HeaderMap,
    body: RequestBody,
    queued: bool,
    /// Bytes of a large in-memory body written from `body` itself.
    direct_written: Option<usize>,
}

impl SendRequest {
    /// A request; nothing is sent before the first [`resume`](Self::resume).
    pub fn new(
        method: Method,
        target: impl Into<String>,
        headers: HeaderMap,
        body: impl Into<RequestBody>,
    ) -> Self {
        Self {
            method,
            target: target.into(),
            headers,
            body: body.into(),
            queued: false,
            direct_written: None,
        }
    }

    /// Adds `expect: 100-continue`: the server answers `100 Continue` (returned by
    /// [`WaitContinue`](super::WaitContinue) and [`ReadResponse`](super::ReadResponse))
    /// before the body is written, or a final status instead. Only for a body that follows
    /// ([`RequestBody::Following`] or [`RequestBody::Chunked`]). Wait for the 100 with
    /// [`WaitContinue`](super::WaitContinue): a server that ignores the expectation never
    /// sends one, and RFC 9110 §10.1.1 asks a client not to wait for it indefinitely.
    pub fn expect_continue(mut self) -> Self {
        self.headers
            .insert(EXPECT, HeaderValue::from_static("100-continue"));
        self
    }

    /// Makes progress: `Ready` once the head (and an in-memory body) is written.
    pub fn resume(&mut self, stream: &mut ClientStream) -> Result<Progress<()>, Error> {
        if !self.queued {
            self.queue(stream)?;
        }
        if let (Some(written), RequestBody::Bytes(bytes)) = (&mut self.direct_written, &self.body) {
            while *written < bytes.len() {
                match stream.write_direct(&bytes[*written..])? {
                    Progress::Ready(n) => *written += n,
                    Progress::Pending(p) => return Ok(Progress::Pending(p)),
                }
            }
            // Only now: a next request queued earlier would have gone out before the
            // rest of this body.
            stream.queue_end(None)?;
            self.direct_written = None;
        }
        stream.flush()
    }

    fn queue(&mut self, stream: &mut ClientStream) -> Result<(), Error> {
        let expects = self.headers.contains_key(EXPECT);
        let length = match &self.body {
            RequestBody::Empty => BodyLength::None,
            RequestBody::Bytes(b) => BodyLength::Known(b.len() as u64),
            RequestBody::Following(n) => BodyLength::Known(*n),
            RequestBody::Chunked => BodyLength::Unknown,
        };
        if expects && matches!(self.body, RequestBody::Empty | RequestBody::Bytes(_)) {
            return Err(Error::local(
                "expect: 100-continue needs a body that follows (Following or Chunked)",
            ));
        }
        stream.queue_request(&self.method, &self.target, &self.headers, length)?;
        self.queued = true;
        if let RequestBody::Bytes(bytes) = &self.body {
            if bytes.len() >= DIRECT_WRITE_MIN {
                // Ended once the last byte is written (in `resume`).
                stream.conn_mut().send_data_direct(bytes.len() as u64)?;
                self.direct_written = Some(0);
            } else if !bytes.is_empty() {
                stream.queue_data(bytes)?;
                stream.queue_end(None)?;
            }
        }
        Ok(())
    }
}

/// Writes request body bytes: all of `data`, as one chunk when the body is chunked.
///
/// A `Content-Length` body ends by itself with its last byte; a chunked one needs a
/// [`FinishBody`].
///
/// Writing more than a [`RequestBody::Following`] length announced is a caller error
/// (dugong's `ExcessBodyData`), and so is writing while the request waits for its
/// `100 Continue`: wait for the 100 with [`WaitContinue`](super::WaitContinue) (which
/// lets the body go without it after a while) or read it with
/// [`ReadResponse`](super::ReadResponse) first. If the server answered before the body was
/// complete and closes the connection, writing fails, and the connection takes no more
/// requests; an answer that keeps the connection lets the body finish (see
/// [`ReadResponse`](super::ReadResponse)). If the peer closes while we write, the error is
/// [`ConnectionClosed`](Error::ConnectionClosed) and a response it sent before closing
/// can still be read.
///
/// `data` is anything that derefs to bytes, borrowed or owned: the operation holds no
/// borrow of the stream.
#[derive(Debug)]
pub struct WriteBody<B> {
    data: B,
    queued: bool,
    /// Bytes written straight from `data` (large Content-Length bodies).
    direct_written: Option<usize>,
}

impl<B: AsRef<[u8]>> WriteBody<B> {
    /// Writes `data` (nothing happens before the first [`resume`](Self::resume)).
    pub fn new(data: B) -> Self {
        Self {
            data,
            queued: false,
            direct_written: None,
        }
    }

    /// Makes progress: `Ready` once all of `data` is written.
    pub fn resume(&mut self, stream: &mut ClientStream) -> Result<Progress<()>, Error> {
        let data = self.data.as_ref();
        if !self.queued {
            stream.check_send()?;
            if !stream.may_send_body() {
                return Err(Error::local(
                    "the request waits for 100 Continue: wait for it with WaitContinue \
                     (or read it with ReadResponse) first",
                ));
            }
            let direct = data.len() >= DIRECT_WRITE_MIN
                && stream
                    .conn()
                    .send_remaining()
                    .is_some_and(|left| data.len() as u64 <= left);
            if direct {
                stream.conn_mut().send_data_direct(data.len() as u64)?;
                self.direct_written = Some(0);
            } else {
                stream.queue_data(data)?;
                if stream.conn().send_remaining() == Some(0) {
                    // A Content-Length body ends with its last byte.
                    stream.queue_end(None)?;
                }
            }
            self.queued = true;
        }
        if let Some(written) = &mut self.direct_written {
            while *written < data.len() {
                match stream.write_direct(&data[*written..])? {
                    Progress::Ready(n) => *written += n,
                    Progress::Pending(p) => return Ok(Progress::Pending(p)),
                }
            }
            // The body ends with its last byte, once that is on its way: until then the
            // core takes no next request, which would go out before the rest of `data`.
            if stream.conn().send_remaining() == Some(0) {
                stream.queue_end(None)?;
            }
            self.direct_written = None;
        }
        stream.flush()
    }
}

/// Ends the request body, with trailers if it is chunked, and writes what is queued.
///
/// For a `Content-Length` body this checks that all of it was written.
#[derive(Debug, Default)]
pub struct FinishBody {
    trailers: Option<HeaderMap>,
    queued: bool,
}

impl FinishBody {
    /// Ends the body without trailers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Ends a chunked body with these trailer fields.
    pub fn with_trailers(trailers: HeaderMap) -> Self {
        Self {
            trailers: Some(trailers),
            queued: false,
        }
    }

    /// Makes progress: `Ready` once the end is written.
    pub fn resume(&mut self, stream: &mut ClientStream) -> Result<Progress<()>, Error> {
        if !self.queued {
            // A Content-Length body that is complete has already ended.
            if stream.sending_body() {
                stream.queue_end(self.trailers.as_ref())?;
            } else if self.trailers.is_some() {
                return Err(Error::local("no chunked request body is being sent"));
            } else {
                stream.check_send()?;
            }
            self.queued = true;
        }
        stream.flush()
    }
}

/// Writes everything queued on the stream ([`ClientStream::queue_request`] and friends).
#[derive(Debug, Default)]
pub struct Flush;

impl Flush {
    /// A flush.
    pub fn new() -> Self {
        Self
    }

    /// Makes progress: `Ready` once nothing queued is left.
    pub fn resume(&mut self, stream: &mut ClientStream) -> Result<Progress<()>, Error> {
        stream.flush()
    }
}
