//! [`Connection`]: one live client connection, driven by blocking calls.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::time::Duration;

use http::header::EXPECT;
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use super::pool::Lent;
use super::response::{Head, Response};
use super::Client;
use crate::blocking;
use crate::body::{Body, Kind};
use crate::error::Error;
use crate::op::{
    ClientStream, Continue, CopyBody, Discard, FinishBody, Flush, ReadAll, ReadBody, ReadResponse,
    WaitContinue, WriteBody, DEFAULT_CONTINUE_WAIT,
};
use crate::proto::{BodyLength, ChunkExtension, Framing};
use crate::{sys, Interest, Progress};

/// Bodies up to this size are queued with their head and go out in one write.
const QUEUE_WITH_HEAD: usize = 16 * 1024;
/// How much of a reader body to read at a time.
const READER_PIECE: usize = 64 * 1024;
/// While a request body is written without ever waiting for room (the server reads as
/// fast as we write), a look for an early response every this many bytes: one poll(2)
/// per MiB. Large `Content-Length` writes go in pieces this long for it.
const WATCH_EVERY: usize = 1024 * 1024;

/// One live client connection, with blocking calls: degu's
/// [`request`](Self::request) (and [`get`](Self::get), [`head`](Self::head),
/// [`put`](Self::put), [`post`](Self::post), [`delete`](Self::delete)), and dugong's
/// finer-grained [`send_request`](Self::send_request), [`write`](Self::write),
/// [`read_response`](Self::read_response), [`read`](Self::read),
/// [`read_into`](Self::read_into), [`read_all`](Self::read_all),
/// [`discard`](Self::discard), which pipeline: send any number of requests, then read the
/// responses in order.
///
/// Every call is a loop over the resumable operations of [`op`](crate::op), waiting in
/// poll(2) at most the client's timeout each time ([`Error::Timeout`]). For your own event
/// loop, drive those operations on [`stream_mut`](Self::stream_mut) instead.
///
/// A connection that failed stays failed: every later call returns the same error. If
/// the peer closes while a request body is being written, the write fails with
/// [`Error::ConnectionClosed`], but a response the server sent before closing (a 401, a
/// 413) can still be read with [`read_response`](Self::read_response).
///
/// While a request body is written, the connection is watched for a response (RFC 9112
/// §9.5: a client "SHOULD monitor the network connection for an error response while it
/// is transmitting the request"): whenever a write waits for room, it also wakes up for a
/// response, and a body written without waiting is looked at every MiB. A final response
/// that closes the connection (a `413` with `connection: close`, say) stops the body at
/// once: [`request`](Self::request) returns that response, and [`write`](Self::write)
/// fails with [`Error::ConnectionClosed`] while [`read_response`](Self::read_response)
/// returns the response. One that keeps the connection lets the body finish (the server
/// reads and drops the rest, RFC 9110 §7.5), and is the response then. This is done for
/// the only request waiting for a response (not one behind pipelined requests), and not
/// while a request waits for `100 Continue`.
///
/// Dropping a connection made by a [`Client`] returns it to the client's pool if it can
/// carry another request (see [the pool](Client#the-pool)), and closes it otherwise.
/// Dropping any other connection closes it.
#[derive(Debug)]
pub struct Connection {
    stream: Lent,
    timeout: Option<Duration>,
    /// How long to wait for `100 Continue` before sending the body anyway.
    continue_wait: Duration,
    base_headers: HeaderMap,
    /// The client that made it: where a request that found a reused connection closed is
    /// sent again.
    client: Option<Client>,
    /// Taken from the pool.
    reused: bool,
    /// Taken from the pool, and no request sent on it yet.
    first_on_reused: bool,
    /// A response head read while the request body was being written: the next one
    /// [`read_response`](Self::read_response) returns.
    early: Option<Head>,
    /// An early response that closes the connection stopped the request body (or the
    /// server closed as it was written): what every later write returns.
    stopped: Option<Error>,
    /// Body bytes written since the connection was last watched for a response.
    unwatched: usize,
}

/// How a request failed, for deciding whether it may go again.
struct Failed {
    error: Error,
    /// The request went out whole (head and body) before the failure.
    sent: bool,
    /// Some of a response arrived before the failure.
    answered: bool,
}

impl Connection {
    /// A connection made by `client` (`reused`: taken from its pool).
    pub(crate) fn lent(stream: Lent, client: Client, reused: bool) -> Self {
        Self {
            stream,
            timeout: client.timeout(),
            continue_wait: client.continue_wait(),
            base_headers: client.base_headers().clone(),
            client: Some(client),
            reused,
            first_on_reused: reused,
            early: None,
            stopped: None,
            unwatched: 0,
        }
    }

    /// A connection over a stream you connected yourself (the base headers must give a
    /// `host`, unless every request does). It belongs to no pool: dropping it closes it.
    pub fn from_stream(
        stream: ClientStream,
        timeout: Option<Duration>,
        base_headers: HeaderMap,
    ) -> Self {
        Self {
            stream: Lent::new(stream, None),
            timeout,
            continue_wait: DEFAULT_CONTINUE_WAIT,
            base_headers,
            client: None,
            reused: false,
            first_on_reused: false,
            early: None,
            stopped: None,
            unwatched: 0,
        }
    }

    /// Whether [`Client::connect`] took this connection from its pool (it carried
    /// requests before). After a request was sent again on a new connection (the reused
    /// one had been closed by the server), this is `false`.
    pub fn is_reused(&self) -> bool {
        self.reused
    }

    /// The stream, for the resumable operations.
    pub fn stream(&self) -> &ClientStream {
        &self.stream
    }

    /// The stream, to drive the resumable operations on it yourself (in an event loop,
    /// say). The connection then no longer goes back to the pool when dropped: it is
    /// closed, as it may be registered with a poller of yours.
    pub fn stream_mut(&mut self) -> &mut ClientStream {
        self.stream.detach();
        self.first_on_reused = false;
        &mut self.stream
    }

    /// The stream back (it no longer belongs to any pool).
    pub fn into_stream(self) -> ClientStream {
        self.stream.into_inner()
    }

    /// The timeout of each wait.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Sets the timeout of each wait (`None`: forever).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// How long a request with `expect: 100-continue` waits for the `100 Continue` before
    /// its body goes anyway ([`DEFAULT_CONTINUE_WAIT`], or the client's
    /// [`with_continue_wait`](Client::with_continue_wait)).
    pub fn continue_wait(&self) -> Duration {
        self.continue_wait
    }

    /// Sets how long a request with `expect: 100-continue` waits for the `100 Continue`
    /// before its body goes anyway (zero: at once).
    pub fn set_continue_wait(&mut self, wait: Duration) {
        self.continue_wait = wait;
    }

    /// Whether a request is waiting for (the rest of) its response (dugong's
    /// `response_pending`).
    pub fn response_pending(&self) -> bool {
        self.early.is_some() || self.stream.responses_pending() > 0
    }

    /// What TLS agreed on (protocol version, cipher suite) and the server's certificate
    /// chain (dugong's `get_ssl_peercert` and `get_ssl_cipher`); `None` in clear text.
    pub fn tls_info(&self) -> Option<crate::tls::TlsInfo> {
        self.stream.tls_info()
    }

    /// Whether another request can be sent: nothing failed and nothing asked to close.
    pub fn is_reusable(&self) -> bool {
        self.stream.is_reusable()
    }

    fn run<T>(
        &mut self,
        mut step: impl FnMut(&mut ClientStream) -> Result<Progress<T>, Error>,
    ) -> Result<T, Error> {
        let stream = &mut self.stream;
        blocking::run(self.timeout, || step(stream))
    }

    /// Sends a request and reads its response head; the body is in the response, to be
    /// read before the next request (degu's `request`).
    ///
    /// With `expect: 100-continue` among the headers and a body to send, the body goes
    /// after the server's `100 Continue`, or after the [continue
    /// wait](Self::continue_wait) (1 s by default) if no answer came by then: a server that
    /// ignores the expectation (an HTTP/1.0 intermediary cannot forward a 100) then gets
    /// the body anyway, as RFC 9110 §10.1.1 allows. If the server answers with a final
    /// status first, that is the response, the body is not sent, and the connection takes
    /// no more requests; except a `417 Expectation Failed`, which says the server (or an
    /// intermediary) does not do expectations: the request is then sent again, once,
    /// without `expect: 100-continue`, on a new connection made by the same [`Client`]
    /// (RFC 9110 §10.1.1: the client "SHOULD repeat that request without a 100-continue
    /// expectation"), and its response is returned. That is done when the body is intact:
    /// it was held back, or it is in memory ([`Body::bytes`]); otherwise, or on a
    /// connection made with [`from_stream`](Self::from_stream), the 417 is returned.
    ///
    /// On a connection taken from the pool ([`is_reused`](Self::is_reused)), the server
    /// may have closed the connection just as the first request went out. If the request
    /// fails that way (end of input or a reset, while writing or before any byte of a
    /// response), it is sent once more on a new connection, which this connection becomes,
    /// when that is safe: the method is idempotent (GET, HEAD, OPTIONS, TRACE, PUT,
    /// DELETE) and the body is empty or in memory ([`Body::bytes`]), so it can be sent
    /// again. Otherwise the [`Error::ConnectionClosed`] returned says whether the server may
    /// have processed the request (it was sent whole) or not (it was not sent completely).
    /// [`send_request`](Self::send_request) never sends a request twice.
    ///
    /// A response that comes while the body is being written is watched for (RFC 9112
    /// §9.5, see [`Connection`]): one that closes the connection (a `413`, a `401`) stops
    /// the body and is returned, even if the server then closed or reset the connection;
    /// one that keeps the connection lets the body finish and is returned after it.
    pub fn request<'b>(
        &mut self,
        method: Method,
        uri: &str,
        headers: HeaderMap,
        body: impl Into<Body<'b>>,
    ) -> Result<Response<'_>, Error> {
        let mut body = body.into();
        if matches!(body.kind, Kind::Following(_)) {
            return Err(Error::local(
                "request() sends its whole body: use send_request() and write() for Body::following",
            ));
        }
        // A failed connection reports its own error first.
        self.stream.check_send()?;
        if self.response_pending() {
            return Err(Error::local(
                "a previous response has not been read completely",
            ));
        }
        if expects_continue(&headers) && matches!(body.kind, Kind::Empty) {
            // As send_request has it: there is no body to hold back.
            return Err(Error::local(
                "expect: 100-continue with send_request needs Body::following \
                 (request() handles it with any body)",
            ));
        }
        // The first request on a connection from the pool is the one that may find it
        // closed by the server.
        let may_retry = self.first_on_reused;
        let (head, held_back) = match self.exchange(&method, uri, &headers, &mut body, may_retry) {
            Ok(exchanged) => exchanged,
            Err(failed) if may_retry && !failed.answered && is_closed(&failed.error) => {
                self.send_again(failed, &method, uri, &headers, &mut body)?
            }
            Err(failed) => return Err(failed.error),
        };
        let head = if head.status == StatusCode::EXPECTATION_FAILED
            && expects_continue(&headers)
            && (held_back || matches!(body.kind, Kind::Bytes(_)))
        {
            self.without_expectation(head, &method, uri, &headers, &mut body)?
        } else {
            head
        };
        Ok(Response::new(head, self))
    }

    /// A `417 Expectation Failed` to a request with `expect: 100-continue` whose body can
    /// still be sent: sends it again without the expectation, on a new connection (the
    /// old one, its body unsent, cannot carry another request). Without a client to
    /// connect with, the 417 is the response.
    fn without_expectation(
        &mut self,
        refused: Head,
        method: &Method,
        uri: &str,
        headers: &HeaderMap,
        body: &mut Body<'_>,
    ) -> Result<Head, Error> {
        let Some(client) = self.client.clone() else {
            return Ok(refused);
        };
        log::debug!(
            "417 to {method} {uri} with expect: 100-continue: \
             sending it again without the expectation on a new connection"
        );
        let mut plain = HeaderMap::with_capacity(headers.len());
        for (name, value) in headers {
            if !(name == EXPECT && is_100_continue(value)) {
                plain.append(name.clone(), value.clone());
            }
        }
        let Self { stream, .. } = client.connect_new()?;
        // The old stream is closed (its body unsent), or back in the pool if it can carry
        // another request (the body had gone, and the 417 was read whole).
        self.replace_stream(stream);
        self.exchange(method, uri, &plain, body, false)
            .map(|(head, _)| head)
            .map_err(|failed| failed.error)
    }

    /// Goes on with a new connection of the same client.
    fn replace_stream(&mut self, stream: Lent) {
        self.stream = stream;
        self.reused = false;
        self.first_on_reused = false;
        self.early = None;
        self.stopped = None;
        self.unwatched = 0;
    }

    /// Sends a request and reads its response head (if the request expects a `100` and
    /// has a body: waits for the 100 at most the continue wait, then the body goes and the
    /// final head is read). `probe`: after a failed write, read once without waiting, to
    /// tell whether the server answered before it closed. Also says whether the body was
    /// held back (a final response came instead of the 100).
    fn exchange(
        &mut self,
        method: &Method,
        uri: &str,
        headers: &HeaderMap,
        body: &mut Body<'_>,
        probe: bool,
    ) -> Result<(Head, bool), Failed> {
        let mark = self.stream.bytes_received();
        let has_body = !matches!(&body.kind, Kind::Empty);
        if expects_continue(headers) && has_body {
            if let Err(e) = self
                .send_head(method, uri, headers, body)
                .and_then(|()| self.run(|s| Flush::new().resume(s)))
            {
                return Err(self.failed(e, false, mark, probe));
            }
            let refused = self
                .wait_for_continue()
                .map_err(|e| self.failed(e, false, mark, false))?;
            if let Some(head) = refused {
                if self.stream.sending_body() {
                    self.stream.fail_send(Error::local(
                        "the server answered without 100 Continue: the request body was \
                         not sent, and the connection takes no more requests",
                    ));
                }
                return Ok((head, true));
            }
            if let Err(e) = self.send_body(body) {
                return self.answered_early(e, mark, probe);
            }
        } else if let Err(e) = self
            .send_head(method, uri, headers, body)
            .and_then(|()| self.send_body(body))
        {
            return self.answered_early(e, mark, probe);
        }
        self.read_response()
            .map(|head| (head, false))
            .map_err(|e| self.failed(e, true, mark, false))
    }

    /// Sending the request failed: if the server answered while the body was being written
    /// (and closes the connection, or closed it), that answer is the response.
    fn answered_early(
        &mut self,
        error: Error,
        mark: u64,
        probe: bool,
    ) -> Result<(Head, bool), Failed> {
        if self.early.is_none() && self.stopped.is_none() && is_closed(&error) {
            // A write failed because the server closed or reset the connection: a
            // response it sent before it closed (without reading the rest of the body)
            // may be here to read, though no look found it yet (under TLS a write can
            // fail before the socket is seen readable). Without waiting.
            let _ = self.look_for_response();
        }
        match self.early.take() {
            Some(head) => Ok((head, false)),
            None => Err(self.failed(error, false, mark, probe)),
        }
    }

    /// What is known of a failed request. `mark` is the count of bytes received before it;
    /// `probe`: see [`exchange`](Self::exchange).
    fn failed(&mut self, error: Error, sent: bool, mark: u64, probe: bool) -> Failed {
        let mut answered = self.stream.bytes_received() != mark;
        if probe && !sent && !answered && is_closed(&error) {
            // A write failed: the server may have answered before it closed (its response
            // can still be read), be gone (end of input, a reset), or still be reading.
            answered = match self.stream.fill() {
                Ok(Progress::Ready(())) | Err(_) => self.stream.bytes_received() != mark,
                // Still open for reading: not known to be closed, so not sent again.
                Ok(Progress::Pending(_)) => true,
            };
        }
        Failed {
            error,
            sent,
            answered,
        }
    }

    /// The first request on a reused connection found it closed before any byte of a
    /// response: sends the request once more on a new connection if that is safe.
    fn send_again(
        &mut self,
        failed: Failed,
        method: &Method,
        uri: &str,
        headers: &HeaderMap,
        body: &mut Body<'_>,
    ) -> Result<(Head, bool), Error> {
        let not_again = if !method.is_idempotent() {
            Some(format!("{method} is not idempotent"))
        } else if !matches!(body.kind, Kind::Empty | Kind::Bytes(_)) {
            Some("its body was read from a reader or an iterator and cannot be replayed".to_owned())
        } else {
            None
        };
        let client = match (not_again, &self.client) {
            (None, Some(client)) => client.clone(),
            (why, _) => {
                let why = why.unwrap_or_else(|| "the connection has no client".to_owned());
                return Err(explain(
                    failed,
                    method,
                    &format!(
                        "the server closed the reused connection before answering; \
                         not sent again: {why}"
                    ),
                ));
            }
        };
        log::debug!(
            "the server closed a reused connection before answering {method} {uri} ({}); \
             sending it again on a new connection",
            failed.error
        );
        let Self { stream, .. } = client.connect_new()?;
        // The old stream, failed, is closed.
        self.replace_stream(stream);
        self.exchange(method, uri, headers, body, false)
            .map_err(|again| {
                explain(
                    again,
                    method,
                    "sent again on a new connection after the server closed the reused one \
                     before answering, and failed again",
                )
            })
    }

    /// `GET uri`.
    pub fn get(&mut self, uri: &str, headers: HeaderMap) -> Result<Response<'_>, Error> {
        self.request(Method::GET, uri, headers, Body::empty())
    }

    /// `HEAD uri` (the response has no body).
    pub fn head(&mut self, uri: &str, headers: HeaderMap) -> Result<Response<'_>, Error> {
        self.request(Method::HEAD, uri, headers, Body::empty())
    }

    /// `DELETE uri`.
    pub fn delete(&mut self, uri: &str, headers: HeaderMap) -> Result<Response<'_>, Error> {
        self.request(Method::DELETE, uri, headers, Body::empty())
    }

    /// `PUT uri` with a body.
    pub fn put<'b>(
        &mut self,
        uri: &str,
        headers: HeaderMap,
        body: impl Into<Body<'b>>,
    ) -> Result<Response<'_>, Error> {
        self.request(Method::PUT, uri, headers, body)
    }

    /// `POST uri` with a body.
    pub fn post<'b>(
        &mut self,
        uri: &str,
        headers: HeaderMap,
        body: impl Into<Body<'b>>,
    ) -> Result<Response<'_>, Error> {
        self.request(Method::POST, uri, headers, body)
    }

    /// Sends a request without reading its response (dugong's `send_request`): any number
    /// may be sent before their responses are read. A [`Body::following`] body is then
    /// written with [`write`](Self::write); every other kind is sent here.
    ///
    /// With `expect: 100-continue` among the headers, the body must follow
    /// ([`Body::following`]): wait for the `100` with
    /// [`wait_for_continue`](Self::wait_for_continue) (or read it with
    /// [`read_response`](Self::read_response), which waits for it as long as the server
    /// takes), then write.
    ///
    /// Pipelining many requests without reading can fill both directions of the socket
    /// (the server stops reading while its responses wait): then a call times out. Read
    /// responses as you go, or drive the operations from an event loop.
    pub fn send_request<'b>(
        &mut self,
        method: Method,
        uri: &str,
        headers: HeaderMap,
        body: impl Into<Body<'b>>,
    ) -> Result<(), Error> {
        let mut body = body.into();
        if expects_continue(&headers) && !matches!(body.kind, Kind::Following(_)) {
            return Err(Error::local(
                "expect: 100-continue with send_request needs Body::following \
                 (request() handles it with any body)",
            ));
        }
        self.send_head(&method, uri, &headers, &body)?;
        self.send_body(&mut body)
    }

    /// Queues the head (the body's framing fields included), without writing it.
    fn send_head(
        &mut self,
        method: &Method,
        uri: &str,
        headers: &HeaderMap,
        body: &Body<'_>,
    ) -> Result<(), Error> {
        self.first_on_reused = false;
        let length = match &body.kind {
            Kind::Empty => BodyLength::None,
            Kind::Bytes(b) => BodyLength::Known(b.len() as u64),
            Kind::Following(n) | Kind::Reader(_, n) => BodyLength::Known(*n),
            Kind::ChunkedReader(_) | Kind::Chunks(_) => BodyLength::Unknown,
        };
        if body.trailers.is_some() && !body.is_chunked() {
            return Err(Error::local("trailers need a chunked body"));
        }
        let merged;
        let headers = if self
            .base_headers
            .keys()
            .any(|name| !headers.contains_key(name))
        {
            let mut all = headers.clone();
            for (name, value) in &self.base_headers {
                if !headers.contains_key(name) {
                    all.insert(name.clone(), value.clone());
                }
            }
            merged = all;
            &merged
        } else {
            headers
        };
        self.stream.queue_request(method, uri, headers, length)?;
        Ok(())
    }

    /// Sends what is queued and what the body holds or reads (not a `following` body: the
    /// caller writes it).
    fn send_body(&mut self, body: &mut Body<'_>) -> Result<(), Error> {
        let trailers = body.trailers.take().map(|t| *t);
        match &mut body.kind {
            Kind::Empty | Kind::Following(_) => self.run(|s| Flush::new().resume(s)),
            Kind::Bytes(bytes) => {
                if bytes.len() <= QUEUE_WITH_HEAD {
                    if !bytes.is_empty() {
                        self.stream.queue_data(bytes)?;
                    }
                    self.finish(None)
                } else {
                    self.write(bytes)
                }
            }
            Kind::Reader(reader, n) => {
                let n = *n;
                let mut piece = vec![0; READER_PIECE.min(usize::try_from(n).unwrap_or(usize::MAX))];
                let mut sent = 0u64;
                while sent < n {
                    let want = piece
                        .len()
                        .min(usize::try_from(n - sent).unwrap_or(usize::MAX));
                    let got = match reader.read(&mut piece[..want]) {
                        Ok(0) => {
                            return Err(self.abandon(format!(
                                "the body reader ended after {sent} of {n} bytes"
                            )))
                        }
                        Ok(got) => got,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(self.abandon(format!("the body reader failed: {e}"))),
                    };
                    self.write(&piece[..got])?;
                    sent += got as u64;
                }
                // A zero-length body: the head is still queued.
                self.run(|s| Flush::new().resume(s))
            }
            Kind::ChunkedReader(reader) => {
                let mut piece = vec![0; READER_PIECE];
                loop {
                    let got = match reader.read(&mut piece) {
                        Ok(0) => break,
                        Ok(got) => got,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(self.abandon(format!("the body reader failed: {e}"))),
                    };
                    self.write(&piece[..got])?;
                }
                self.finish(trailers)
            }
            Kind::Chunks(chunks) => {
                for chunk in chunks {
                    let chunk = match chunk {
                        Ok(chunk) => chunk,
                        Err(e) => {
                            return Err(self.abandon(format!("the body iterator failed: {e}")))
                        }
                    };
                    let extensions: Vec<ChunkExtension<'_>> = chunk
                        .extensions
                        .iter()
                        .map(|(name, value)| (name.as_str(), value.as_deref()))
                        .collect();
                    self.stream.queue_chunk(&chunk.data, &extensions)?;
                    self.run_send(|s| Flush::new().resume(s))?;
                    self.glance(chunk.data.len())?;
                }
                self.finish(trailers)
            }
        }
    }

    /// A body source failed mid-body: the request cannot be completed, so the connection
    /// cannot be used again.
    fn abandon(&mut self, message: String) -> Error {
        self.stream.fail(Error::local(message))
    }

    fn finish(&mut self, trailers: Option<HeaderMap>) -> Result<(), Error> {
        let mut op = match trailers {
            Some(t) => FinishBody::with_trailers(t),
            None => FinishBody::new(),
        };
        self.run_send(|s| op.resume(s))
    }

    /// Writes request body bytes after [`send_request`](Self::send_request) with a
    /// [`Body::following`] body (dugong's `write`). More than announced is an error; the
    /// body ends with its last byte.
    ///
    /// The connection is watched for a response meanwhile (see [`Connection`]): if the
    /// server answers before the body is complete and closes the connection, the write
    /// stops and fails with [`Error::ConnectionClosed`] (and so does every later one), and
    /// [`read_response`](Self::read_response) returns the answer. An answer that keeps the
    /// connection is kept for `read_response` while the body goes on.
    pub fn write(&mut self, data: &[u8]) -> Result<(), Error> {
        // A large Content-Length write goes in pieces, with a look for a response between
        // them; more than announced is refused whole, and a chunk stays one chunk.
        let piece = match self.stream.conn().send_remaining() {
            Some(left) if data.len() as u64 <= left => WATCH_EVERY,
            _ => data.len(),
        };
        let mut rest = data;
        loop {
            let (part, after) = rest.split_at(piece.min(rest.len()));
            let mut op = WriteBody::new(part);
            self.run_send(|s| op.resume(s))?;
            self.glance(part.len())?;
            if after.is_empty() {
                return Ok(());
            }
            rest = after;
        }
    }

    /// Whether the connection is watched for a response while the request is written: it
    /// is the only request waiting for one, no response head has come, and its body may go
    /// (a request waiting for `100 Continue` leaves the 100 to
    /// [`wait_for_continue`](Self::wait_for_continue)).
    fn watching(&self) -> bool {
        self.early.is_none()
            && self.stream.responses_pending() == 1
            && !self.stream.reading_body()
            && self.stream.may_send_body()
            && self.stream.error().is_none()
    }

    /// Runs an operation that writes the request (its body, the end of it), as
    /// [`run`](Self::run) does, but while it waits for room to write it also wakes up for
    /// a response (RFC 9112 §9.5): one that closes the connection stops the operation
    /// ([`look_for_response`](Self::look_for_response)).
    fn run_send(
        &mut self,
        mut step: impl FnMut(&mut ClientStream) -> Result<Progress<()>, Error>,
    ) -> Result<(), Error> {
        if let Some(e) = &self.stopped {
            return Err(e.clone());
        }
        loop {
            let need = match step(&mut self.stream) {
                Ok(Progress::Ready(())) => return Ok(()),
                Ok(Progress::Pending(need)) => need,
                Err(e) => {
                    if is_closed(&e) && self.watching() {
                        // The server closed as we wrote: it may have answered first. The
                        // answer, if any, is kept; the write's error stands.
                        let _ = self.look_for_response();
                        self.stopped = Some(e.clone());
                    }
                    return Err(e);
                }
            };
            if !self.watching() {
                if !need.wait(self.timeout)? {
                    return Err(Error::Timeout);
                }
                continue;
            }
            self.unwatched = 0;
            let events = (need.interest | Interest::READABLE).poll_events();
            let revents = sys::poll_one(need.fd, events, self.timeout)?;
            if revents == 0 {
                return Err(Error::Timeout);
            }
            if revents & !sys::POLLOUT != 0 {
                // Readable, or hung up, or failed: see what came.
                self.look_for_response()?;
            }
        }
    }

    /// After `written` more body bytes: if a MiB went without a wait (and so without a
    /// look), looks for a response without waiting.
    fn glance(&mut self, written: usize) -> Result<(), Error> {
        self.unwatched = self.unwatched.saturating_add(written);
        if self.unwatched < WATCH_EVERY || !self.watching() {
            return Ok(());
        }
        self.unwatched = 0;
        let fd = self.stream.as_raw_fd();
        if sys::poll_one(fd, sys::POLLIN, Some(Duration::ZERO))? != 0 {
            self.look_for_response()?;
        }
        Ok(())
    }

    /// Reads what has come (without waiting) while the request is being written. A final
    /// response head is kept for [`read_response`](Self::read_response); if it closes the
    /// connection, sending stops, and the error every later write returns is returned.
    fn look_for_response(&mut self) -> Result<(), Error> {
        let head = loop {
            match ReadResponse::new().resume(&mut self.stream)? {
                Progress::Pending(_) => return Ok(()),
                // A 100 Continue after the body went without it.
                Progress::Ready(head) if head.status() == 100 => {}
                Progress::Ready(head) => break head,
            }
        };
        let framing = self.stream.body_framing().unwrap_or(Framing::None);
        let head = Head::new(&head, framing);
        let status = head.status;
        self.early = Some(head);
        if self.stream.conn().is_keep_alive() {
            // The server reads the rest of the body: it goes on.
            log::debug!("client: {status} while the request body was being written; it goes on");
            return Ok(());
        }
        let e = Error::closed(format!(
            "the server answered {status} before the request body was complete, and closes \
             the connection: the rest of the body is not sent (read the response)"
        ));
        log::debug!("client: {e}");
        self.stream.fail_send(e.clone());
        self.stopped = Some(e.clone());
        Err(e)
    }

    /// Ends a chunked request body sent chunk by chunk with [`write`](Self::write) (after
    /// a [`Body::chunked_reader`] of nothing, say), with trailers.
    pub fn finish_body(&mut self, trailers: Option<HeaderMap>) -> Result<(), Error> {
        self.finish(trailers)
    }

    /// After [`send_request`](Self::send_request) with `expect: 100-continue` and a
    /// [`Body::following`] body: waits for the `100 Continue`, at most the [continue
    /// wait](Self::continue_wait) (as [`op::WaitContinue`](crate::op::WaitContinue) does).
    /// `None`: write the body now (the 100 came, or nothing came in time: RFC 9110 §10.1.1
    /// lets the body go without it). `Some(head)`: a final response came instead, and the
    /// body was not sent; read its body next. If that response keeps the connection, the
    /// server reads the request body: write it to use the connection again, or drop the
    /// connection. A `417 Expectation Failed` asks for the request again without the
    /// expectation (RFC 9110 §10.1.1).
    pub fn wait_for_continue(&mut self) -> Result<Option<Head>, Error> {
        let mut op = WaitContinue::new(self.continue_wait);
        let deadline = op.deadline();
        let stream = &mut self.stream;
        match blocking::run_until(self.timeout, deadline, || op.resume(stream))? {
            Continue::Received | Continue::Elapsed => Ok(None),
            Continue::Final(head) => {
                let framing = self.stream.body_framing().unwrap_or(Framing::None);
                Ok(Some(Head::new(&head, framing)))
            }
        }
    }

    /// Reads the next response head (dugong's `read_response`). Its body, if it has one
    /// ([`Head::framing`]), comes next: [`read`](Self::read), [`read_into`](Self::read_into),
    /// [`read_all`](Self::read_all) or [`discard`](Self::discard) it before the next
    /// response. A `100 Continue` is returned only to a request waiting for one.
    pub fn read_response(&mut self) -> Result<Head, Error> {
        if let Some(head) = self.early.take() {
            // Read while the request body was being written.
            return Ok(head);
        }
        let mut op = ReadResponse::new();
        let head = self.run(|s| op.resume(s))?;
        let framing = self.stream.body_framing().unwrap_or(Framing::None);
        Ok(Head::new(&head, framing))
    }

    /// Reads at most `max` body bytes (dugong's `read`); empty only at the end of the body.
    pub fn read(&mut self, max: usize) -> Result<Vec<u8>, Error> {
        let mut buf = vec![0; max];
        let n = self.read_into(&mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// Reads body bytes into `buf` (dugong's `readinto`): the count, 0 only at the end of
    /// the body. Large buffers are filled straight from the socket.
    pub fn read_into(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let mut op = ReadBody::new(buf);
        self.run(|s| op.resume(s))
    }

    /// Reads the rest of the body (dugong's `readall`).
    pub fn read_all(&mut self) -> Result<Vec<u8>, Error> {
        let mut op = ReadAll::new();
        self.run(|s| op.resume(s))
    }

    /// Writes the rest of the body to a file descriptor (a file, `/dev/null`, a pipe, a
    /// socket; `&mut File` will do) and returns how many bytes it had, as
    /// [`op::CopyBody`](crate::op::CopyBody) does: on Linux over clear text the bytes go
    /// from the socket to `dest` with splice(2), never through user memory; otherwise through
    /// a 512 KiB buffer. A body cut short is an error ([`Error::ConnectionClosed`]) after
    /// what arrived was written; a destination that fails is an [`Error::Io`].
    ///
    /// A non-blocking destination that is full is waited for like the socket, at most the
    /// timeout each time.
    pub fn copy_body_to(&mut self, dest: impl std::os::fd::AsFd) -> Result<u64, Error> {
        let mut op = CopyBody::new(dest);
        self.run(|s| op.resume(s))
    }

    /// Reads the rest of the body and drops it; returns its length.
    pub fn discard(&mut self) -> Result<u64, Error> {
        let mut op = Discard::new();
        self.run(|s| op.resume(s))
    }

    /// The trailer fields of the last body read to its end.
    pub fn trailers(&self) -> HeaderMap {
        self.stream.trailers().to_header_map()
    }
}

/// The peer closed (or reset) the connection.
fn is_closed(e: &Error) -> bool {
    matches!(e, Error::ConnectionClosed { .. })
}

/// The error of a request that was not sent again, saying why, and whether the server
/// may have processed the request.
fn explain(failed: Failed, method: &Method, context: &str) -> Error {
    let Error::ConnectionClosed { message } = failed.error else {
        return failed.error;
    };
    let fate = if failed.answered {
        "a response had begun: the server processed it"
    } else if failed.sent {
        "it was sent whole and the server may have processed it"
    } else {
        "it was not sent completely, so the server cannot have processed it"
    };
    Error::closed(format!(
        "{message} (the {method} request: {context}; {fate})"
    ))
}

fn expects_continue(headers: &HeaderMap) -> bool {
    headers.get(EXPECT).is_some_and(is_100_continue)
}

fn is_100_continue(value: &HeaderValue) -> bool {
    value.as_bytes().eq_ignore_ascii_case(b"100-continue")
}
