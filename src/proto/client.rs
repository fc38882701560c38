//! The client role: requests out (any number pipelined), responses in, in order.

use std::collections::VecDeque;

use http::header::{CONNECTION, EXPECT, HOST, TE, UPGRADE};
use http::{HeaderMap, Method, Version};

use super::body::{BodyDecoder, BodyEncoder, BodyStep, ChunkExtension};
use super::buffer::RecvBuf;
use super::chars::only_line_ends;
use super::error::Error;
use super::event::Event;
use super::framing::{
    list_items, response_framing, valid_host, valid_target, Framing, RequestInfo,
};
use super::limits::Limits;
use super::parse::{check_target_form, parse_response, try_response, HeadKind, HeadScanner};
use super::write::{lists_token, write_fields_with_framing, ConnectionField, FramingField};
use super::BodyLength;

/// Where reading responses stands.
#[derive(Debug)]
enum Recv {
    Head(HeadScanner),
    Body(BodyDecoder),
    /// A 101 or a 2xx to CONNECT was just reported; `Switched` comes next.
    SwitchNext,
    Switched,
    /// The connection closes after the last response: later bytes are not responses.
    /// `peer_closed`: that response said so itself, and a server that says so sends
    /// nothing more (RFC 9112 §9.6), so anything but empty lines is an error.
    Discard {
        peer_closed: bool,
    },
    Closed,
    Error(Error),
}

/// Where sending requests stands.
#[derive(Debug)]
enum Send {
    /// Ready for the next request head.
    Idle,
    Body(BodyEncoder),
    /// No more requests: one asked for (or a response announced) the close.
    Closing,
    Error(Error),
}

/// The client side of one HTTP/1.1 connection, without I/O.
///
/// Any number of requests may be sent before their responses arrive (pipelining); each
/// response is framed against the request it answers (HEAD and CONNECT included). A second
/// request head may only follow once the previous request's body is complete.
///
/// A response that closes the connection (`Connection: close`, HTTP/1.0, a body delimited
/// by the close) ends the exchange: end of input gives [`Event::Closed`], and any requests
/// still counted by
/// [`responses_pending`](Self::responses_pending) were never answered (retry them on a new
/// connection). End of input with requests pending and no such response is
/// [`Error::RemoteClosed`]. Bytes after a response that closed by its own fields are an
/// error (RFC 9112 §9.6: the server sends nothing more), empty lines excepted; after a
/// close only we decided (an HTTP/1.0 response with `keep-alive`, a `close` we sent), they
/// are dropped. Transfer codings other than chunked are not decoded: such a response is
/// framed by RFC 9112 §6.3(4) and its content handed over with them still applied.
///
/// ```
/// use pollhttp::proto::{BodyLength, ClientConn, Event};
/// use http::{HeaderMap, HeaderValue, Method};
///
/// let mut conn = ClientConn::new();
/// let mut headers = HeaderMap::new();
/// headers.insert("host", HeaderValue::from_static("example.com"));
/// let mut out = Vec::new();
/// conn.send_request(&Method::HEAD, "/a", &headers, BodyLength::None, &mut out).unwrap();
/// conn.send_request(&Method::GET, "/b", &headers, BodyLength::None, &mut out).unwrap();
/// assert_eq!(conn.responses_pending(), 2);
///
/// conn.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n").unwrap();
/// conn.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc").unwrap();
/// assert!(matches!(conn.next_event(), Ok(Event::Response(_))));
/// assert!(matches!(conn.next_event(), Ok(Event::End(_)))); // HEAD: no body
/// assert!(matches!(conn.next_event(), Ok(Event::Response(_))));
/// assert_eq!(conn.next_event(), Ok(Event::Data(b"abc")));
/// assert!(matches!(conn.next_event(), Ok(Event::End(_))));
/// ```
#[derive(Debug)]
pub struct ClientConn {
    limits: Limits,
    buf: RecvBuf,
    recv: Recv,
    send: Send,
    /// Requests sent (at least their heads) whose final response is not complete.
    pending: VecDeque<RequestInfo>,
    keep_alive: bool,
    /// A request with `connection: close` was sent: it is the last, and the responses to
    /// it and to those before it are still read.
    sent_close: bool,
    /// The final response being read ends the connection by its own fields.
    response_closes: bool,
    /// Bytes of empty lines skipped before the current status line.
    leading: usize,
    /// Informational responses to the request at the front so far.
    informational: usize,
}

impl Default for ClientConn {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientConn {
    /// A client connection with the default client limits.
    pub fn new() -> Self {
        Self::with_limits(Limits::client())
    }

    /// A client connection with these limits.
    pub fn with_limits(limits: Limits) -> Self {
        Self {
            limits,
            buf: RecvBuf::default(),
            recv: Recv::Head(HeadScanner::default()),
            send: Send::Idle,
            pending: VecDeque::new(),
            keep_alive: true,
            sent_close: false,
            response_closes: false,
            leading: 0,
            informational: 0,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Hands the core bytes read from the peer. Bytes after `receive_eof` are refused.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if self.buf.eof() {
            return Err(Error::local("data received after end of input"));
        }
        self.buf.push(bytes);
        Ok(())
    }

    /// Space to read into directly (at least `min` bytes, often more); then call
    /// [`receive_commit`](Self::receive_commit) with the number of bytes read.
    pub fn receive_space(&mut self, min: usize) -> &mut [u8] {
        self.buf.spare(min)
    }

    /// Keeps `n` bytes of the space `receive_space` gave.
    pub fn receive_commit(&mut self, n: usize) {
        self.buf.commit(n);
    }

    /// The peer closed its sending side (read returned 0).
    pub fn receive_eof(&mut self) {
        self.buf.set_eof();
    }

    /// Received bytes no event has consumed yet.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Bytes held for receiving (capacity, not just content).
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Frees the receive buffer's memory if it holds nothing, and the request queue's if it
    /// is empty (it is allocated again by the
    /// next [`receive`](Self::receive) or [`receive_space`](Self::receive_space)). For
    /// connections that sit idle between exchanges.
    pub fn release_buffer(&mut self) {
        self.buf.release();
        if self.pending.is_empty() {
            // Deep pipelining leaves a long queue's capacity behind.
            self.pending = VecDeque::new();
        }
    }

    /// Requests whose final response has not been completely received.
    pub fn responses_pending(&self) -> usize {
        self.pending.len()
    }

    /// Whether more requests may be sent on this connection.
    pub fn is_keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// Whether the final response being read (or the last one read) ends the connection
    /// by its own fields: `connection: close`, or HTTP/1.0 without `keep-alive` (RFC 9112
    /// §9.3, §9.6).
    pub fn response_closes(&self) -> bool {
        self.response_closes
    }

    /// Whether responses are still read on this connection: false once a response that
    /// closes it has ended, or the last response to our own `close` (the responses to the
    /// requests before that one are still read), or the connection switched protocols,
    /// closed or failed. Unlike [`is_keep_alive`](Self::is_keep_alive), a `close` of ours
    /// that still has responses due before it leaves this true.
    pub fn reads_responses(&self) -> bool {
        matches!(self.recv, Recv::Head(_) | Recv::Body(_))
    }

    /// True while a request body is being sent.
    pub fn sending_body(&self) -> bool {
        matches!(self.send, Send::Body(_))
    }

    /// While a `Content-Length` request body is being sent: how many bytes are still due.
    pub fn send_remaining(&self) -> Option<u64> {
        match &self.send {
            Send::Body(BodyEncoder::Length { remaining }) => Some(*remaining),
            _ => None,
        }
    }

    /// True while the request whose body is being sent asked for `100-continue` and has
    /// had neither a 100 nor its final response.
    pub fn waiting_for_continue(&self) -> bool {
        matches!(self.send, Send::Body(_)) && self.pending.back().is_some_and(|r| r.expect_continue)
    }

    /// The framing of the response body being received: from the [`Event::Response`] that
    /// starts it until its [`Event::End`] (`None` outside a body).
    pub fn body_framing(&self) -> Option<Framing> {
        match &self.recv {
            Recv::Body(decoder) => Some(decoder.framing()),
            _ => None,
        }
    }

    /// How many bytes the caller may read from the peer straight into memory of its own,
    /// bypassing the core's buffer: the length of body data certain to come next on the
    /// wire, when nothing is buffered (0 otherwise: read through
    /// [`receive_space`](Self::receive_space) and take [`Event::Data`] as usual). Report what
    /// was read with [`direct_body_commit`](Self::direct_body_commit); a read of 0 bytes
    /// (end of input) goes to [`receive_eof`](Self::receive_eof).
    ///
    /// This saves a copy for large bodies: a `Content-Length` body, or the data of one chunk,
    /// lands where the caller wants it.
    pub fn direct_body_len(&self) -> u64 {
        match &self.recv {
            Recv::Body(decoder) if self.buf.is_empty() && !self.buf.eof() => decoder.data_ahead(),
            _ => 0,
        }
    }

    /// Counts `n` body bytes read directly (at most [`direct_body_len`](Self::direct_body_len);
    /// any excess is ignored).
    pub fn direct_body_commit(&mut self, n: usize) {
        if let Recv::Body(decoder) = &mut self.recv {
            if self.buf.is_empty() {
                decoder.data_received(n as u64);
            }
        }
    }

    /// After [`Event::Switched`]: the bytes that followed the response head, which belong
    /// to the new protocol.
    pub fn take_trailing(&mut self) -> Vec<u8> {
        self.buf.take_all()
    }

    fn fail<T>(&mut self, e: Error) -> Result<T, Error> {
        log::debug!("client connection: sending failed: {e}");
        self.send = Send::Error(e.clone());
        Err(e)
    }

    /// Whether bytes are buffered that no request outstanding can account for: with
    /// nothing outstanding, anything but empty lines. Such bytes answer no request of ours
    /// and MUST NOT be taken as the response to one sent after them (RFC 9112 §6.3). The
    /// core cannot tell when bytes came (a caller may feed them late, as `h1dump` does to
    /// act out requests sent ahead), so a caller that feeds bytes as they arrive checks
    /// this before it sends a request, and leaves the connection if it is true.
    pub fn has_unsolicited_data(&self) -> bool {
        self.pending.is_empty() && !only_line_ends(self.buf.pending())
    }

    /// Sends a request head and returns the framing of its body
    /// ([`Framing::None`]: the request is already complete).
    ///
    /// `headers` must hold exactly one `host` (HTTP/1.1 requires it), a valid
    /// `host[:port]`. The target's form must fit the method, as a server checks it:
    /// origin-form (`/path?query`, no `#fragment`) or absolute-form, authority-form
    /// (`host:port`) for CONNECT only, `*` for OPTIONS only. Framing fields are added from
    /// `body`; a `connection: close` makes this the last request; `expect: 100-continue`
    /// (only with content) and `upgrade` are noted for the response, and an `Upgrade` or
    /// `TE` field gets its connection option. A request RFC 9110 forbids (content in a
    /// TRACE, `TE: chunked`, a repeated Content-Length) is refused: every refusal is a
    /// local error, and nothing is written.
    pub fn send_request(
        &mut self,
        method: &Method,
        target: &str,
        headers: &HeaderMap,
        body: BodyLength,
        out: &mut Vec<u8>,
    ) -> Result<Framing, Error> {
        match &self.send {
            Send::Idle => {}
            Send::Body(_) => {
                return self.fail(Error::local("the previous request body is not complete"))
            }
            Send::Closing => {
                return Err(Error::local("the connection is closing: no more requests"))
            }
            Send::Error(e) => return Err(e.clone()),
        }
        if let Err(e) = check_request(method, target, headers, body) {
            return self.fail(e);
        }
        let body_expected = matches!(*method, Method::POST | Method::PUT | Method::PATCH);
        let (field, framing) = match body {
            BodyLength::None if body_expected => (FramingField::ContentLength(0), Framing::None),
            BodyLength::None => (
                FramingField::Nothing {
                    allow_caller_framing: false,
                },
                Framing::None,
            ),
            BodyLength::Known(0) => (FramingField::ContentLength(0), Framing::None),
            BodyLength::Known(n) => (FramingField::ContentLength(n), Framing::Length(n)),
            BodyLength::Unknown => (FramingField::Chunked, Framing::Chunked),
        };
        let start = out.len();
        out.extend_from_slice(method.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        if let Err(e) = write_fields_with_framing(
            headers,
            field,
            ConnectionField::Nothing,
            None,
            (false, true),
            out,
        ) {
            out.truncate(start);
            return self.fail(e);
        }
        let close = lists_token(headers, &CONNECTION, "close");
        self.pending.push_back(RequestInfo {
            head: *method == Method::HEAD,
            connect: *method == Method::CONNECT,
            // An empty `Upgrade` offers nothing: a 101 to it is an error.
            upgrade: headers
                .get_all(UPGRADE)
                .iter()
                .any(|v| list_items(v.as_bytes()).next().is_some()),
            expect_continue: framing != Framing::None
                && lists_token(headers, &EXPECT, "100-continue"),
        });
        if close {
            self.keep_alive = false;
            self.sent_close = true;
        }
        self.send = match BodyEncoder::new(framing) {
            Some(encoder) => Send::Body(encoder),
            None => self.after_request(),
        };
        Ok(framing)
    }

    fn after_request(&self) -> Send {
        if self.keep_alive {
            Send::Idle
        } else {
            Send::Closing
        }
    }

    /// Sends body bytes of the current request.
    pub fn send_data(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        self.send_chunk(data, &[], out)
    }

    /// Counts `n` bytes of a `Content-Length` request body that the caller writes to the
    /// peer itself, straight from its own memory, after everything already in `out`. This
    /// saves a copy for large bodies; the length is checked as [`send_data`](Self::send_data)
    /// checks it. Chunked bodies need their framing: use `send_data`.
    pub fn send_data_direct(&mut self, n: u64) -> Result<(), Error> {
        let result = match &mut self.send {
            Send::Body(BodyEncoder::Length { remaining }) if n <= *remaining => {
                *remaining -= n;
                Ok(())
            }
            Send::Body(BodyEncoder::Length { remaining }) => Err(Error::local(format!(
                "body data exceeds the Content-Length ({n} bytes given, {remaining} left)"
            ))),
            Send::Body(_) => Err(Error::local(
                "direct body writes need a Content-Length request body",
            )),
            Send::Error(e) => return Err(e.clone()),
            _ => Err(Error::local("no request body is being sent")),
        };
        match result {
            Ok(()) => {
                if n > 0 {
                    if let Some(last) = self.pending.back_mut() {
                        last.expect_continue = false;
                    }
                }
                Ok(())
            }
            Err(e) => self.fail(e),
        }
    }

    /// Sends body bytes as one chunk with extensions (chunked requests only).
    pub fn send_chunk(
        &mut self,
        data: &[u8],
        extensions: &[ChunkExtension<'_>],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let result = match &mut self.send {
            Send::Body(encoder) => encoder.data(data, extensions, out),
            Send::Error(e) => return Err(e.clone()),
            _ => Err(Error::local("no request body is being sent")),
        };
        match result {
            Ok(()) => {
                if !data.is_empty() {
                    // Sending the body ends the wait for 100 (RFC 9110 §10.1.1 lets a client
                    // stop waiting).
                    if let Some(last) = self.pending.back_mut() {
                        last.expect_continue = false;
                    }
                }
                Ok(())
            }
            Err(e) => self.fail(e),
        }
    }

    /// Ends the current request body, with trailers if it is chunked.
    pub fn send_end(
        &mut self,
        trailers: Option<&HeaderMap>,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let result = match &mut self.send {
            Send::Body(encoder) => encoder.end(trailers, out),
            Send::Error(e) => return Err(e.clone()),
            _ => Err(Error::local("no request body is being sent")),
        };
        match result {
            Ok(()) => {
                self.send = self.after_request();
                Ok(())
            }
            Err(e) => self.fail(e),
        }
    }

    /// No more requests on this connection (a request in progress may still finish).
    fn stop_requests(&mut self) {
        self.keep_alive = false;
        if matches!(self.send, Send::Idle) {
            self.send = Send::Closing;
        }
    }

    /// Marks our sending side failed (a write error): no more requests.
    pub fn send_failed(&mut self) {
        self.keep_alive = false;
        self.send = Send::Error(Error::local("sending failed"));
    }

    /// The next event from the received bytes.
    pub fn next_event(&mut self) -> Result<Event<'_>, Error> {
        self.next_event_max(usize::MAX)
    }

    /// The next event, with at most `max_data` bytes in an [`Event::Data`] (at least one:
    /// 0 counts as 1). The rest stays buffered for the next call, so a caller copying body
    /// data into a buffer of its own never has to hold back bytes.
    pub fn next_event_max(&mut self, max_data: usize) -> Result<Event<'_>, Error> {
        match self.step(max_data) {
            Ok(Step::Event(e)) => Ok(e),
            Ok(Step::Data(n)) => Ok(Event::Data(self.buf.take(n))),
            Err(e) => {
                if !matches!(self.recv, Recv::Error(_)) {
                    log::debug!("client connection: receiving failed: {e}");
                }
                self.recv = Recv::Error(e.clone());
                self.stop_requests();
                Err(e)
            }
        }
    }

    fn step(&mut self, max_data: usize) -> Result<Step, Error> {
        loop {
            match &mut self.recv {
                Recv::Error(e) => return Err(e.clone()),
                Recv::Switched => return Ok(Step::Event(Event::Switched)),
                Recv::SwitchNext => {
                    self.recv = Recv::Switched;
                    // Nothing more of HTTP goes out, not even the rest of a request body;
                    // a failed sending side stays failed.
                    if !matches!(self.send, Send::Error(_)) {
                        self.send = Send::Closing;
                    }
                }
                Recv::Closed => return Ok(Step::Event(Event::Closed)),
                Recv::Discard { peer_closed } => {
                    if *peer_closed && !only_line_ends(self.buf.pending()) {
                        return Err(Error::bad(
                            "data after a response that closed the connection",
                        ));
                    }
                    let n = self.buf.len();
                    self.buf.consume(n);
                    if self.buf.eof() {
                        self.recv = Recv::Closed;
                        continue;
                    }
                    return Ok(Step::Event(Event::NeedData));
                }
                Recv::Head(scanner) => {
                    // RFC 9112 §2.2 asks a server to skip empty lines before a request
                    // line; a client is as robust before a status line (llhttp and h11
                    // are): a stray CRLF after a body is not a response. A bare LF is an
                    // empty line too, as in the rest of a response head. Bounded, like
                    // the server's, by the head limit.
                    if !self
                        .buf
                        .skip_empty_lines(&mut self.leading, self.limits.max_head)
                    {
                        return Err(Error::bad("too many empty lines before the status line"));
                    }
                    let pending = self.buf.pending();
                    match pending.first() {
                        Some(b'\r') if pending.len() == 1 => {
                            if self.buf.eof() {
                                return Err(Error::closed(
                                    "peer closed connection in the middle of a response head",
                                ));
                            }
                            return Ok(Step::Event(Event::NeedData));
                        }
                        None if self.buf.eof() => {
                            if !self.pending.is_empty() {
                                return Err(Error::closed(format!(
                                    "peer closed connection with {} request(s) unanswered",
                                    self.pending.len()
                                )));
                            }
                            self.recv = Recv::Closed;
                            continue;
                        }
                        None => return Ok(Step::Event(Event::NeedData)),
                        Some(_) if self.pending.is_empty() => {
                            return Err(Error::bad("data received with no request outstanding"));
                        }
                        Some(b'H') => {}
                        Some(_) => return Err(Error::bad("invalid status line")),
                    }
                    let max = self.limits.max_head.saturating_sub(self.leading).max(1);
                    let fast = if scanner.is_fresh() {
                        try_response(pending, max, &self.limits)
                    } else {
                        None
                    };
                    let (len, head) = match fast {
                        Some(parsed) => parsed,
                        None => {
                            let limit = self.limits.max_head;
                            let Some(len) =
                                scanner.scan(pending, max, limit, HeadKind::Response)?
                            else {
                                if self.buf.eof() {
                                    return Err(Error::closed(
                                        "peer closed connection in the middle of a response head",
                                    ));
                                }
                                return Ok(Step::Event(Event::NeedData));
                            };
                            (len, parse_response(&pending[..len], &self.limits)?)
                        }
                    };
                    self.buf.consume(len);
                    self.leading = 0;
                    let Some(request) = self.pending.front_mut() else {
                        return Err(Error::bad("data received with no request outstanding"));
                    };
                    if (100..200).contains(&head.status) {
                        self.informational += 1;
                        if self.informational > self.limits.max_informational {
                            return Err(Error::bad(format!(
                                "more than {} informational (1xx) responses to one request",
                                self.limits.max_informational
                            )));
                        }
                        self.recv = Recv::Head(HeadScanner::default());
                        match head.status {
                            101 if request.upgrade => {
                                self.pending.pop_front();
                                self.recv = Recv::SwitchNext;
                                // No more requests once the switch is announced.
                                self.stop_requests();
                            }
                            101 => {
                                return Err(Error::bad(
                                    "101 Switching Protocols without an upgrade request",
                                ))
                            }
                            100 => request.expect_continue = false,
                            _ => {}
                        }
                        return Ok(Step::Event(Event::Informational(head)));
                    }
                    let (framing, close) =
                        response_framing(&head.headers, head.version, head.status, *request)?;
                    self.informational = 0;
                    request.expect_continue = false;
                    self.response_closes = close;
                    let tunnel = request.connect && (200..300).contains(&head.status);
                    // A body delimited by the close ends the connection too, and so does
                    // an accepted tunnel.
                    if head.version == Version::HTTP_10
                        || framing == Framing::UntilClose
                        || tunnel
                        || close
                    {
                        self.stop_requests();
                    }
                    if tunnel {
                        self.pending.pop_front();
                        self.recv = Recv::SwitchNext;
                    } else {
                        self.recv = Recv::Body(BodyDecoder::new(framing));
                    }
                    return Ok(Step::Event(Event::Response(head)));
                }
                Recv::Body(decoder) => {
                    match decoder.step(&mut self.buf, &self.limits, true, max_data)? {
                        BodyStep::Data(n) => return Ok(Step::Data(n)),
                        BodyStep::NeedData => return Ok(Step::Event(Event::NeedData)),
                        BodyStep::End(trailers) => {
                            self.pending.pop_front();
                            // Our own `close` ends the connection after its response,
                            // not before the responses to the requests ahead of it.
                            let answers_due = self.sent_close
                                && !self.response_closes
                                && !self.pending.is_empty()
                                && !matches!(self.send, Send::Error(_));
                            self.recv = if self.keep_alive || answers_due {
                                Recv::Head(HeadScanner::default())
                            } else {
                                Recv::Discard {
                                    peer_closed: self.response_closes,
                                }
                            };
                            return Ok(Step::Event(Event::End(trailers)));
                        }
                    }
                }
            }
        }
    }
}

enum Step {
    Event(Event<'static>),
    /// Body bytes at the front of the buffer, to be taken by the caller.
    Data(usize),
}

/// What RFC 9112 §3.2 and RFC 9110 ask of a request before it is written; each broken rule
/// is the caller's mistake (a local error), caught before a byte goes out.
fn check_request(
    method: &Method,
    target: &str,
    headers: &HeaderMap,
    body: BodyLength,
) -> Result<(), Error> {
    if !valid_target(target) {
        return Err(Error::local(
            "request target is empty or has a space or control character",
        ));
    }
    // The form must fit the method (origin- or absolute-form, authority-form for CONNECT
    // only, `*` for OPTIONS only: the rules our server applies), and a fragment is never
    // sent (§3.2.1: only the path and query).
    if let Err(e) = check_target_form(method, target.as_bytes()) {
        return Err(Error::local(format!("request target {target:?}: {e}")));
    }
    if target.contains('#') {
        return Err(Error::local("a request target has no fragment (`#`)"));
    }
    let mut hosts = headers.get_all(HOST).iter();
    match (hosts.next(), hosts.next()) {
        (Some(host), None) if valid_host(host.as_bytes()) => {}
        (Some(_), None) => return Err(Error::local("the host header is not host[:port]")),
        _ => {
            return Err(Error::local(
                "an HTTP/1.1 request needs exactly one host header",
            ))
        }
    }
    let has_content = !matches!(body, BodyLength::None | BodyLength::Known(0));
    if *method == Method::TRACE && has_content {
        // RFC 9110 §9.3.8.
        return Err(Error::local("a TRACE request has no content"));
    }
    if !has_content && lists_token(headers, &EXPECT, "100-continue") {
        // RFC 9110 §10.1.1: MUST NOT without content.
        return Err(Error::local(
            "100-continue expected of a request without content",
        ));
    }
    // RFC 9112 §7.4: chunked is always acceptable, and MUST NOT be listed in TE.
    if lists_token(headers, &TE, "chunked") {
        return Err(Error::local("the TE header must not list chunked"));
    }
    Ok(())
}
