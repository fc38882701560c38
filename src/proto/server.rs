//! The server role: requests in, responses out, one exchange at a time.

use http::header::{CONNECTION, UPGRADE};
use http::{HeaderMap, Method, StatusCode, Version};

use super::body::{BodyDecoder, BodyEncoder, BodyStep, ChunkExtension};
use super::buffer::RecvBuf;
use super::chars::{is_tchar, only_line_ends};
use super::date::HttpDate;
use super::error::Error;
use super::event::Event;
use super::framing::{list_items, request_framing, valid_reason, Framing, HostMemo, RequestInfo};
use super::head::RequestHead;
use super::limits::Limits;
use super::parse::{parse_request, try_request, HeadKind, HeadScanner};
use super::write::{
    lists_token, write_surveyed_fields, CallerFields, ConnectionField, FramingField,
};
use super::BodyLength;

/// Where reading the peer's requests stands.
#[derive(Debug)]
enum Recv {
    /// Waiting for (or in) a request head.
    Head(HeadScanner),
    Body(BodyDecoder),
    /// The request is complete; the next waits for our response.
    Done,
    /// The connection will close after this exchange: later bytes are not requests.
    /// `peer_closed`: the request said so itself (`close`, or HTTP/1.0 without
    /// `keep-alive`), and a client that says so sends nothing more (RFC 9112 §9.6), so
    /// anything but empty lines is an error; after our own decision to close, pipelined
    /// requests are dropped unread.
    Discard {
        peer_closed: bool,
    },
    Switched,
    Closed,
    Error(Error),
}

/// Where sending our responses stands.
#[derive(Debug)]
enum Send {
    /// No request to answer yet (a response now is a spontaneous error, e.g. 408).
    Idle,
    /// A request is waiting for its response.
    Respond,
    Body(BodyEncoder),
    /// Our response is complete; the request body is still arriving.
    Done,
    Switched,
    Error(Error),
}

/// The server side of one HTTP/1.1 connection, without I/O.
///
/// Requests are delivered one at a time: once a request is complete, `next_event` returns
/// [`Event::Paused`] until the response to it is finished, and pipelined bytes stay
/// buffered.
///
/// Keep-alive (RFC 9112 §9.3): an HTTP/1.1 connection persists unless either message says
/// `Connection: close`; an HTTP/1.0 one only when the request says `Connection:
/// keep-alive` and the response can be delimited without closing (HTTP/1.0 has no chunked
/// coding), and that response then says `connection: keep-alive`. `connection: close` is
/// added to the response when we must close. Once that response is sent, bytes after a
/// request that itself closed are an error (RFC 9112 §9.6: the client sends nothing more),
/// empty lines excepted; where only our response closes, pipelined requests are dropped.
///
/// The core reads no clock: a `Date` field is added to final responses only once
/// [`set_date`](Self::set_date) gave one (the embedded server and
/// [`ServerStream`](crate::op::ServerStream) do).
#[derive(Debug)]
pub struct ServerConn {
    limits: Limits,
    buf: RecvBuf,
    recv: Recv,
    send: Send,
    /// The request being answered.
    request: Option<RequestInfo>,
    version: Version,
    keep_alive: bool,
    /// The request being answered ends the connection by its own fields.
    request_closes: bool,
    /// The request is a CONNECT whose framing fields were ignored: any answer but a 2xx
    /// (the tunnel) ends the connection.
    close_unless_tunnel: bool,
    /// The protocols the current request's Upgrade offered (each element of its list),
    /// noted only for a request with Upgrade: a 101 may switch to no other (RFC 9110 §7.8).
    offered_upgrades: Vec<Vec<u8>>,
    waiting_for_continue: bool,
    /// Empty lines skipped before the current request line.
    leading: usize,
    /// The `Date` added to final responses that have none.
    date: Option<HttpDate>,
    /// The last valid Host, not checked again when the next request repeats it.
    host: HostMemo,
}

impl Default for ServerConn {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerConn {
    /// A server connection with the default server limits.
    pub fn new() -> Self {
        Self::with_limits(Limits::server())
    }

    /// A server connection with these limits.
    pub fn with_limits(limits: Limits) -> Self {
        Self {
            limits,
            buf: RecvBuf::default(),
            recv: Recv::Head(HeadScanner::default()),
            send: Send::Idle,
            request: None,
            version: Version::HTTP_11,
            keep_alive: true,
            request_closes: false,
            close_unless_tunnel: false,
            offered_upgrades: Vec::new(),
            waiting_for_continue: false,
            leading: 0,
            date: None,
            host: HostMemo::default(),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Sets the `Date` written on the final responses sent from now on that have no `Date`
    /// of their own (a caller's field is kept, never doubled); `None`, the default: none is
    /// added. An origin server with a clock must send one (RFC 9110 §6.6.1), and the core
    /// has none: give it the current second before responding, and again as time passes.
    /// 1xx responses get none.
    ///
    /// ```
    /// use pollhttp::proto::{BodyLength, HttpDate, ServerConn};
    /// use http::{HeaderMap, StatusCode};
    ///
    /// let mut conn = ServerConn::new();
    /// conn.receive(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    /// while conn.next_event().is_ok_and(|e| !matches!(e, pollhttp::proto::Event::End(_))) {}
    /// conn.set_date(Some(HttpDate::from_unix_secs(784_111_777))); // or from SystemTime::now()
    /// let mut out = Vec::new();
    /// conn.send_response(StatusCode::OK, None, &HeaderMap::new(), BodyLength::None, &mut out).unwrap();
    /// assert_eq!(
    ///     out,
    ///     b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\ndate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"
    /// );
    /// ```
    pub fn set_date(&mut self, date: Option<HttpDate>) {
        self.date = date;
    }

    /// The `Date` final responses get, if one was set.
    pub fn date(&self) -> Option<HttpDate> {
        self.date
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

    /// Whether the connection stays open after the current exchange.
    pub fn is_keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// Ends the connection after the current exchange: the response (not yet sent) says
    /// `connection: close`, and [`must_close`](Self::must_close) follows.
    pub fn close_after_response(&mut self) {
        self.keep_alive = false;
    }

    /// Frees the receive buffer's memory if it holds nothing (it is allocated again by the
    /// next [`receive`](Self::receive) or [`receive_space`](Self::receive_space)): an idle
    /// connection needs none.
    pub fn release_buffer(&mut self) {
        self.buf.release();
    }

    /// Takes the receive buffer's memory if it holds nothing, so that the next connection
    /// to read can [`adopt_buffer`](Self::adopt_buffer) it instead of allocating its own.
    pub(crate) fn take_buffer(&mut self) -> Option<Vec<u8>> {
        self.buf.take_storage()
    }

    /// Uses `buffer` (from another connection's [`take_buffer`](Self::take_buffer)) as the
    /// receive buffer's memory, if this one holds none.
    pub(crate) fn adopt_buffer(&mut self, buffer: Vec<u8>) {
        self.buf.adopt_storage(buffer);
    }

    /// True when the connection must be closed: the exchange is over and keep-alive is off,
    /// or a side failed.
    pub fn must_close(&self) -> bool {
        !self.response_due()
            && (matches!(self.send, Send::Error(_))
                || matches!(
                    self.recv,
                    Recv::Discard { .. } | Recv::Closed | Recv::Error(_)
                ))
    }

    /// The protocols the current request offers to switch to (the items of its `Upgrade`
    /// list, in order), one of which a 101 may name. None for a request without `Upgrade`,
    /// with an empty one, or from HTTP/1.0, whose `Upgrade` a server MUST ignore (RFC 9110
    /// §7.8).
    pub fn offered_upgrades(&self) -> impl Iterator<Item = &[u8]> {
        let offered = match self.request {
            Some(request) if request.upgrade => &self.offered_upgrades[..],
            _ => &[],
        };
        offered.iter().map(Vec::as_slice)
    }

    /// True while the client sent `Expect: 100-continue` and has had neither a 100 nor a
    /// final response: send a 100 before waiting for the body.
    pub fn client_waiting_for_continue(&self) -> bool {
        self.waiting_for_continue
    }

    /// The framing of the request body being received: from the [`Event::Request`] that
    /// starts it until its [`Event::End`] (`None` outside a body, and for a request without
    /// one).
    pub fn body_framing(&self) -> Option<Framing> {
        match &self.recv {
            Recv::Body(decoder) => Some(decoder.framing()),
            _ => None,
        }
    }

    /// Ends a request body that has no bytes (no body, or `Content-Length: 0`) at once:
    /// what the next event would do (an [`Event::End`] without trailers), without making
    /// the event. `false`: the body is not an empty one, and nothing changed.
    #[inline]
    pub(crate) fn end_empty_body(&mut self) -> bool {
        if !matches!(
            self.recv,
            Recv::Body(BodyDecoder::Length { remaining: 0, .. })
        ) {
            return false;
        }
        self.waiting_for_continue = false;
        self.recv = Recv::Done;
        self.exchange_progress();
        true
    }

    /// True while a request has been received and its response is not finished.
    pub fn response_due(&self) -> bool {
        matches!(self.send, Send::Respond | Send::Body(_))
    }

    /// Whether the response due answers a CONNECT (a 2xx to it would switch to a tunnel).
    pub(crate) fn answering_connect(&self) -> bool {
        matches!(self.send, Send::Respond) && self.request.is_some_and(|r| r.connect)
    }

    /// After [`Event::Switched`]: the bytes that followed the request, which belong to the
    /// new protocol.
    pub fn take_trailing(&mut self) -> Vec<u8> {
        self.buf.take_all()
    }

    /// The next event from the received bytes.
    pub fn next_event(&mut self) -> Result<Event<'_>, Error> {
        self.next_event_max(usize::MAX)
    }

    /// The next event, with at most `max_data` bytes in an [`Event::Data`] (at least one:
    /// 0 counts as 1); the rest stays buffered for the next call.
    pub fn next_event_max(&mut self, max_data: usize) -> Result<Event<'_>, Error> {
        match self.step(max_data) {
            Ok(Step::Event(e)) => Ok(e),
            Ok(Step::Data(n)) => Ok(Event::Data(self.buf.take(n))),
            Err(e) => Err(self.receive_failed(e)),
        }
    }

    /// Receiving failed for good.
    fn receive_failed(&mut self, e: Error) -> Error {
        if !matches!(self.recv, Recv::Error(_)) {
            log::debug!("server connection: receiving failed: {e}");
        }
        self.recv = Recv::Error(e.clone());
        // A server still answers a remote error, and then closes.
        self.keep_alive = false;
        e
    }

    /// The usual request head, taken the way [`next_event`](Self::next_event) takes it
    /// (the same state changes, the same errors) without its steps: a head awaited, fresh,
    /// whole at the start of the buffer (no empty lines before it). `None`: anything else,
    /// nothing changed; `next_event` handles it.
    // Inlined (one caller): the head is built where that caller returns it, not moved.
    #[inline]
    pub(crate) fn take_whole_request(&mut self) -> Option<Result<RequestHead, Error>> {
        let Recv::Head(scanner) = &self.recv else {
            return None;
        };
        if !scanner.is_fresh() {
            return None;
        }
        let pending = self.buf.pending();
        // An empty line first, a byte that cannot start a request line, or nothing: the
        // general path.
        if !pending.first().is_some_and(|&b| is_tchar(b)) {
            return None;
        }
        let max = self.limits.max_head.saturating_sub(self.leading).max(1);
        // Not whole: `step` tries once more (the one repeat, on a head's first bytes only)
        // and then scans.
        let (len, head) = try_request(pending, max, &self.limits)?;
        self.buf.consume(len);
        Some(match self.start_request(&head) {
            Ok(()) => Ok(head),
            Err(e) => Err(self.receive_failed(e)),
        })
    }

    fn step(&mut self, max_data: usize) -> Result<Step, Error> {
        loop {
            match &mut self.recv {
                Recv::Error(e) => return Err(e.clone()),
                Recv::Switched => return Ok(Step::Event(Event::Switched)),
                Recv::Closed => return Ok(Step::Event(Event::Closed)),
                Recv::Discard { peer_closed } => {
                    if *peer_closed && !only_line_ends(self.buf.pending()) {
                        return Err(Error::bad(
                            "data after a request that closed the connection",
                        ));
                    }
                    let n = self.buf.len();
                    self.buf.consume(n);
                    return Ok(Step::Event(if self.buf.eof() {
                        self.recv = Recv::Closed;
                        Event::Closed
                    } else {
                        Event::NeedData
                    }));
                }
                Recv::Done => {
                    // An unanswered Upgrade or CONNECT: what follows may be another
                    // protocol, so wait for the answer (h11's MIGHT_SWITCH_PROTOCOL).
                    let switch_offered = matches!(self.send, Send::Respond)
                        && self.request.is_some_and(|r| r.upgrade || r.connect);
                    if switch_offered || !self.buf.is_empty() {
                        return Ok(Step::Event(Event::Paused));
                    }
                    if self.buf.eof() {
                        // Half-close after a complete request: answer, then close.
                        self.keep_alive = false;
                        self.recv = Recv::Closed;
                        return Ok(Step::Event(Event::Closed));
                    }
                    return Ok(Step::Event(Event::NeedData));
                }
                Recv::Head(scanner) => {
                    // RFC 9112 §2.2: ignore empty lines before the request line, a lone LF
                    // among them (a recipient MAY take LF for a line end): between two
                    // messages it can frame nothing, and nginx, Apache, lighttpd and llhttp
                    // skip it. Inside a head a bare LF stays an error.
                    if !self
                        .buf
                        .skip_empty_lines(&mut self.leading, self.limits.max_head)
                    {
                        return Err(Error::bad("too many empty lines before the request"));
                    }
                    let pending = self.buf.pending();
                    match pending.first() {
                        None if self.buf.eof() => {
                            self.recv = Recv::Closed;
                            continue;
                        }
                        None => return Ok(Step::Event(Event::NeedData)),
                        Some(b'\r') if pending.len() == 1 => {
                            if self.buf.eof() {
                                return Err(Error::closed(
                                    "peer closed connection in the middle of a request head",
                                ));
                            }
                            return Ok(Step::Event(Event::NeedData));
                        }
                        // Refuse at once what cannot start a request line (a TLS
                        // handshake, a stray byte) instead of waiting for a line end.
                        Some(&b) if !is_tchar(b) => {
                            return Err(Error::bad("invalid request line"));
                        }
                        Some(_) => {}
                    }
                    let max = self.limits.max_head.saturating_sub(self.leading).max(1);
                    if scanner.is_fresh() {
                        if let Some((len, head)) = try_request(pending, max, &self.limits) {
                            self.buf.consume(len);
                            self.start_request(&head)?;
                            return Ok(Step::Event(Event::Request(head)));
                        }
                    }
                    let Some(len) =
                        scanner.scan(pending, max, self.limits.max_head, HeadKind::Request)?
                    else {
                        if self.buf.eof() {
                            return Err(Error::closed(
                                "peer closed connection in the middle of a request head",
                            ));
                        }
                        return Ok(Step::Event(Event::NeedData));
                    };
                    let head = parse_request(&pending[..len], &self.limits)?;
                    self.buf.consume(len);
                    self.start_request(&head)?;
                    return Ok(Step::Event(Event::Request(head)));
                }
                Recv::Body(decoder) => {
                    match decoder.step(&mut self.buf, &self.limits, false, max_data)? {
                        BodyStep::Data(n) => {
                            // The client gave up waiting for 100 (or never waited).
                            self.waiting_for_continue = false;
                            return Ok(Step::Data(n));
                        }
                        BodyStep::End(trailers) => {
                            self.waiting_for_continue = false;
                            self.recv = Recv::Done;
                            self.exchange_progress();
                            return Ok(Step::Event(Event::End(trailers)));
                        }
                        BodyStep::NeedData => return Ok(Step::Event(Event::NeedData)),
                    }
                }
            }
        }
    }

    fn start_request(&mut self, head: &RequestHead) -> Result<(), Error> {
        let is_connect = head.method == Method::CONNECT;
        // Noted before the framing is checked: the error response to a HEAD request has
        // no content either (RFC 9110 §9.3.2).
        self.request = Some(RequestInfo {
            head: head.method == Method::HEAD,
            connect: false,
            upgrade: false,
            expect_continue: false,
        });
        let rf = request_framing(
            &head.headers,
            head.version,
            is_connect,
            self.limits.max_body,
            &mut self.host,
        )?;
        self.leading = 0;
        self.version = head.version;
        self.keep_alive = rf.keep_alive;
        self.request_closes = !rf.keep_alive;
        self.close_unless_tunnel = rf.close_unless_tunnel;
        if rf.upgrade {
            self.offered_upgrades = head.headers.list("upgrade").map(<[u8]>::to_vec).collect();
        }
        self.waiting_for_continue = rf.expect_continue && rf.framing != Framing::None;
        self.request = Some(RequestInfo {
            head: head.method == Method::HEAD,
            connect: is_connect,
            upgrade: rf.upgrade,
            expect_continue: rf.expect_continue,
        });
        self.recv = Recv::Body(BodyDecoder::new(rf.framing));
        self.send = Send::Respond;
        Ok(())
    }

    /// The switch is accepted (101, or 2xx to CONNECT; the request is complete, which
    /// the callers checked): what follows on the connection is another protocol.
    fn switch(&mut self) {
        self.recv = Recv::Switched;
        self.send = Send::Switched;
    }

    /// After either side finished its message: start the next exchange or stop reading.
    // Inlined: most callers have just set `send`, so its first check folds away.
    #[inline]
    fn exchange_progress(&mut self) {
        if !matches!(self.send, Send::Done | Send::Switched) {
            // Our response is not finished: nothing to do whatever the request's state.
            return;
        }
        match self.recv {
            Recv::Done if self.keep_alive => {
                self.recv = Recv::Head(HeadScanner::default());
                self.send = Send::Idle;
                self.request = None;
            }
            Recv::Done | Recv::Head(_) => {
                self.keep_alive = false;
                self.recv = Recv::Discard {
                    peer_closed: self.request_closes,
                };
            }
            _ => {}
        }
    }

    /// A response head may be sent now; misuse fails the sending side for good.
    fn check_respond(&mut self) -> Result<(), Error> {
        let misuse = match &self.send {
            Send::Idle | Send::Respond => return Ok(()),
            Send::Error(e) => return Err(e.clone()),
            Send::Body(_) => "a response is already being sent",
            Send::Done => "the response was already sent",
            Send::Switched => "the connection switched protocols",
        };
        self.fail(Error::local(misuse))
    }

    fn fail<T>(&mut self, e: Error) -> Result<T, Error> {
        log::debug!("server connection: sending failed: {e}");
        self.send = Send::Error(e.clone());
        Err(e)
    }

    /// Sends a 1xx response: 100 Continue, 101 Switching Protocols (which needs an
    /// upgrade request whose body is complete, and an `Upgrade` field in `headers` naming
    /// the protocol switched to) or another informational status. A 101 to a request that
    /// also asked for 100-continue is preceded by a 100 if none was sent yet (RFC 9110
    /// §7.8), even when the client sent its body without waiting.
    pub fn send_informational(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        self.check_respond()?;
        let (Send::Respond, Some(request)) = (&self.send, self.request) else {
            return self.fail(Error::local("no request to answer"));
        };
        if !status.is_informational() {
            return self.fail(Error::local("send_informational needs a 1xx status"));
        }
        if self.version == Version::HTTP_10 {
            return self.fail(Error::local(
                "1xx responses cannot be sent to an HTTP/1.0 client",
            ));
        }
        if status == StatusCode::SWITCHING_PROTOCOLS {
            if !request.upgrade {
                return self.fail(Error::local("101 without an Upgrade request"));
            }
            let offered = |protocol: &[u8]| {
                self.offered_upgrades
                    .iter()
                    .any(|o| o.eq_ignore_ascii_case(protocol))
            };
            let named = || {
                headers
                    .get_all(UPGRADE)
                    .iter()
                    .flat_map(|v| list_items(v.as_bytes()))
            };
            if !named().all(offered) {
                return self.fail(Error::local(
                    "101 names a protocol the request did not offer in its Upgrade",
                ));
            }
            if !matches!(self.recv, Recv::Done) {
                return self.fail(Error::local(
                    "cannot switch protocols before the request is complete",
                ));
            }
            // RFC 9110 §15.2.2: a 101 MUST name the protocol(s) switched to; an empty
            // `Upgrade` names none.
            if named().next().is_none() {
                return self.fail(Error::local("101 without an Upgrade field"));
            }
        }
        let reason = default_reason(status);
        let field = FramingField::Nothing {
            allow_caller_framing: false,
        };
        // 1xx responses say nothing about the connection, and need no date.
        let ours = (field, ConnectionField::Nothing, None);
        let start = out.len();
        // RFC 9110 §7.8: when both were asked for, a 100 goes before the 101.
        if status == StatusCode::SWITCHING_PROTOCOLS && request.expect_continue {
            write_status_line(100, default_reason(StatusCode::CONTINUE), out);
            out.extend_from_slice(b"\r\n");
        }
        let caller = CallerFields::survey(headers);
        if let Err(e) = self.write_head((status.as_u16(), reason), headers, caller, ours, out) {
            // Nor the 100 written for it.
            out.truncate(start);
            return Err(e);
        }
        self.waiting_for_continue = false;
        if status == StatusCode::CONTINUE {
            if let Some(request) = &mut self.request {
                request.expect_continue = false;
            }
        }
        if status == StatusCode::SWITCHING_PROTOCOLS {
            self.switch();
        }
        Ok(())
    }

    /// Sends a final response head and returns the framing of the body to follow
    /// ([`Framing::None`]: the response is already complete).
    ///
    /// `reason` defaults to the standard phrase. The framing field is chosen for the peer:
    /// Content-Length for a known length, chunked for an unknown one, or (for an HTTP/1.0
    /// client) no framing and `connection: close`. A HEAD response announces the GET
    /// framing and carries no body; 204 and 304 carry none either. With no request to
    /// answer (after a malformed one, or a 408 on an idle connection) the response closes
    /// the connection. An HTTP/1.0 client that asked for keep-alive gets `connection:
    /// keep-alive` when the connection persists. The [`date`](Self::set_date), if set, is
    /// added when `headers` has no `Date`.
    pub fn send_response(
        &mut self,
        status: StatusCode,
        reason: Option<&str>,
        headers: &HeaderMap,
        body: BodyLength,
        out: &mut Vec<u8>,
    ) -> Result<Framing, Error> {
        self.respond(status, reason, headers, body, None, out)
    }

    /// [`send_response`](Self::send_response) for a body of `data`, then (unless the
    /// response has no body: HEAD, or `data` is empty) [`send_whole`](Self::send_whole)
    /// with it, in one step: the same bytes, the same errors.
    pub(crate) fn send_response_whole(
        &mut self,
        status: StatusCode,
        reason: Option<&str>,
        headers: &HeaderMap,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Framing, Error> {
        let body = BodyLength::Known(data.len() as u64);
        self.respond(status, reason, headers, body, Some(data), out)
    }

    /// `send_response`, with the whole body when the caller has it (`whole`, of the length
    /// `body` says).
    fn respond(
        &mut self,
        status: StatusCode,
        reason: Option<&str>,
        headers: &HeaderMap,
        body: BodyLength,
        whole: Option<&[u8]>,
        out: &mut Vec<u8>,
    ) -> Result<Framing, Error> {
        if !matches!(self.send, Send::Idle | Send::Respond) {
            // Refused (the usual states are checked here without the call).
            self.check_respond()?;
        }
        if status.is_informational() {
            return self.fail(Error::local(
                "send_response needs a final status; use send_informational",
            ));
        }
        let reason = match reason {
            Some(reason) if !valid_reason(reason) => {
                return self.fail(Error::local("reason phrase has a control character"));
            }
            Some(reason) => reason,
            // The standard phrases (and the class names) are visible ASCII and spaces:
            // nothing to check. The usual status without the table's lookup.
            None if status == StatusCode::OK => "OK",
            None => default_reason(status),
        };
        if status == StatusCode::RESET_CONTENT
            && !matches!(body, BodyLength::None | BodyLength::Known(0))
        {
            // RFC 9110 §15.3.6: MUST NOT; it is framed with `content-length: 0`.
            return self.fail(Error::local("a 205 response has no content"));
        }
        if status == StatusCode::UPGRADE_REQUIRED && !headers.contains_key(UPGRADE) {
            // RFC 9110 §15.5.22: MUST name the protocol(s) to upgrade to.
            return self.fail(Error::local("a 426 response needs an Upgrade field"));
        }
        let request = match (&self.send, self.request) {
            (Send::Respond, Some(request)) if !matches!(self.recv, Recv::Error(_)) => Some(request),
            _ => None,
        };
        // One walk over the caller's fields, for this and for writing them.
        let caller = CallerFields::survey(headers);
        if request.is_none() || (caller.connection && lists_token(headers, &CONNECTION, "close")) {
            self.keep_alive = false;
        }
        let code = status.as_u16();
        let http11 = request.is_some() && self.version == Version::HTTP_11;
        // An error response too: a HEAD request whose framing or body failed is answered
        // without content (RFC 9110 §9.3.2: MUST NOT).
        let head = self.request.is_some_and(|r| r.head);
        let switching = request.is_some_and(|r| r.connect) && status.is_success();
        if self.close_unless_tunnel && !switching {
            self.keep_alive = false;
        }
        let (field, framing) = if switching {
            if !matches!(body, BodyLength::None | BodyLength::Known(0)) {
                return self.fail(Error::local("a 2xx response to CONNECT has no body"));
            }
            if !matches!(self.recv, Recv::Done) {
                return self.fail(Error::local(
                    "cannot switch protocols before the request is complete",
                ));
            }
            (
                FramingField::Nothing {
                    allow_caller_framing: false,
                },
                Framing::None,
            )
        } else if code == 204 || code == 304 {
            if !matches!(body, BodyLength::None | BodyLength::Known(0)) {
                return self.fail(Error::local("204 and 304 responses have no body"));
            }
            (
                FramingField::Nothing {
                    allow_caller_framing: code == 304,
                },
                Framing::None,
            )
        } else {
            let (field, framing) = match body {
                BodyLength::None | BodyLength::Known(0) => {
                    (FramingField::ContentLength(0), Framing::None)
                }
                BodyLength::Known(n) => (FramingField::ContentLength(n), Framing::Length(n)),
                BodyLength::Unknown if http11 => (FramingField::Chunked, Framing::Chunked),
                BodyLength::Unknown => {
                    // No chunked coding for HTTP/1.0: the close ends the body (a HEAD
                    // response has none, so it is delimited all the same).
                    if !head {
                        self.keep_alive = false;
                    }
                    (
                        FramingField::Nothing {
                            allow_caller_framing: false,
                        },
                        Framing::UntilClose,
                    )
                }
            };
            (field, if head { Framing::None } else { framing })
        };
        let connection = if !self.keep_alive {
            ConnectionField::Close
        } else if self.version == Version::HTTP_10 {
            // An HTTP/1.0 client assumes the close unless told otherwise.
            ConnectionField::KeepAlive
        } else {
            ConnectionField::Nothing
        };
        let ours = (field, connection, self.date);
        self.write_head((code, reason), headers, caller, ours, out)?;
        self.waiting_for_continue = false;
        match BodyEncoder::new(framing) {
            _ if switching => self.switch(),
            // The whole body, of the length announced: what send_whole does, at once.
            Some(BodyEncoder::Length { remaining })
                if whole.is_some_and(|data| data.len() as u64 == remaining) =>
            {
                out.extend_from_slice(whole.unwrap_or_default());
                self.send = Send::Done;
                self.exchange_progress();
            }
            Some(encoder) => {
                self.send = Send::Body(encoder);
                if let Some(data) = whole {
                    self.send_whole(data, out)?;
                }
            }
            None => {
                self.send = Send::Done;
                self.exchange_progress();
            }
        }
        Ok(framing)
    }

    /// Writes a status line, the caller's fields and ours (framing, connection option,
    /// date); a refused head leaves `out` as it was and fails the sending side.
    fn write_head(
        &mut self,
        (code, reason): (u16, &str),
        headers: &HeaderMap,
        caller: CallerFields,
        (field, connection, date): (FramingField, ConnectionField, Option<HttpDate>),
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let start = out.len();
        write_status_line(code, reason, out);
        let switching = code == 101;
        if let Err(e) = write_surveyed_fields(
            headers,
            caller,
            field,
            connection,
            date.as_ref(),
            (switching, false),
            out,
        ) {
            out.truncate(start);
            return self.fail(e);
        }
        Ok(())
    }

    /// Sends body bytes of the current response.
    pub fn send_data(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        self.send_chunk(data, &[], out)
    }

    /// Sends the whole body of the current response and ends it: what
    /// [`send_data`](Self::send_data) then [`send_end`](Self::send_end) without trailers
    /// do (the same bytes, the same errors), in one step for the usual body of known length.
    pub(crate) fn send_whole(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        if let Send::Body(BodyEncoder::Length { remaining }) = &self.send {
            if *remaining == data.len() as u64 {
                out.extend_from_slice(data);
                self.send = Send::Done;
                self.exchange_progress();
                return Ok(());
            }
        }
        self.send_data(data, out)?;
        self.send_end(None, out)
    }

    /// Sends body bytes as one chunk with extensions (chunked responses only).
    pub fn send_chunk(
        &mut self,
        data: &[u8],
        extensions: &[ChunkExtension<'_>],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let result = match &mut self.send {
            Send::Body(encoder) => encoder.data(data, extensions, out),
            Send::Error(e) => return Err(e.clone()),
            _ => Err(Error::local("no response body is being sent")),
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) => self.fail(e),
        }
    }

    /// Ends the current response, with trailers if it is chunked.
    pub fn send_end(
        &mut self,
        trailers: Option<&HeaderMap>,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let result = match &mut self.send {
            Send::Body(encoder) => encoder.end(trailers, out),
            Send::Error(e) => return Err(e.clone()),
            _ => Err(Error::local("no response body is being sent")),
        };
        match result {
            Ok(()) => {
                self.send = Send::Done;
                self.exchange_progress();
                Ok(())
            }
            Err(e) => self.fail(e),
        }
    }

    /// Marks our sending side failed (a write error): the connection must close.
    pub fn send_failed(&mut self) {
        self.keep_alive = false;
        self.send = Send::Error(Error::local("sending failed"));
    }
}

enum Step {
    Event(Event<'static>),
    /// Body bytes at the front of the buffer, to be taken by the caller.
    Data(usize),
}

/// `HTTP/1.1 CODE REASON\r\n`; `code` has three digits (an `http::StatusCode`'s).
pub(crate) fn write_status_line(code: u16, reason: &str, out: &mut Vec<u8>) {
    debug_assert!(
        (100..=999).contains(&code),
        "a status code has three digits"
    );
    if code == 200 && reason == "OK" {
        // Most responses: one fixed-size copy.
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        return;
    }
    let digit = |d: u16| b'0' + (d % 10) as u8;
    out.reserve(15 + reason.len());
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(&[digit(code / 100), digit(code / 10), digit(code), b' ']);
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// The standard reason phrase, or for a status without one the name of its class: some
/// clients (degu's among them) refuse an empty reason.
fn default_reason(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or(match status.as_u16() {
        100..=199 => "Informational",
        200..=299 => "Success",
        300..=399 => "Redirection",
        400..=499 => "Client Error",
        500..=599 => "Server Error",
        _ => "Unknown",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `send_response` does not check a default reason: every one must pass the check a
    /// caller's reason takes, and 200's must be the table's.
    #[test]
    fn every_default_reason_is_a_valid_reason() {
        for code in 100..=999 {
            let status = StatusCode::from_u16(code).unwrap();
            assert!(valid_reason(default_reason(status)), "{code}");
        }
        assert_eq!(default_reason(StatusCode::OK), "OK");
    }
}
