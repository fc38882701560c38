//! Test harness for the sans-IO core: owned events, and drivers that feed a vector whole,
//! one byte at a time and split at every point, and insist all give the same events.
#![allow(dead_code, unreachable_pub)]

use http::{HeaderMap, HeaderValue, Method, StatusCode, Version};
use pollhttp::proto::{
    BodyLength, ClientConn, Error, Event, Headers, Limits, ResponseHead, ServerConn,
};

pub type Fields = Vec<(String, Vec<u8>)>;

/// An event with everything owned, for comparing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    Request {
        method: String,
        target: String,
        version: Version,
        headers: Fields,
    },
    Informational {
        status: u16,
        reason: Vec<u8>,
        version: Version,
        headers: Fields,
    },
    Response {
        status: u16,
        reason: Vec<u8>,
        version: Version,
        headers: Fields,
    },
    /// A run of body data (consecutive Data events joined).
    Data(Vec<u8>),
    End(Fields),
    /// Switched, with the trailing bytes (rest of the input included).
    Switched(Vec<u8>),
    Closed,
    /// An error: status hint (0 for local errors), message.
    Error(u16, String),
}

impl Ev {
    pub fn is_error(&self) -> bool {
        matches!(self, Self::Error(..))
    }
}

pub fn fields(h: &Headers) -> Fields {
    h.iter().map(|(n, v)| (n.to_owned(), v.to_vec())).collect()
}

pub fn response_ev(head: &ResponseHead, informational: bool) -> Ev {
    let (status, reason, version, headers) = (
        head.status(),
        head.reason().to_vec(),
        head.version(),
        fields(head.headers()),
    );
    if informational {
        Ev::Informational {
            status,
            reason,
            version,
            headers,
        }
    } else {
        Ev::Response {
            status,
            reason,
            version,
            headers,
        }
    }
}

pub fn error_ev(e: &Error) -> Ev {
    Ev::Error(
        e.status_hint().map_or(0, |s| s.as_u16()),
        e.message().to_owned(),
    )
}

fn push_data(evs: &mut Vec<Ev>, d: &[u8]) {
    if let Some(Ev::Data(prev)) = evs.last_mut() {
        prev.extend_from_slice(d);
    } else if !d.is_empty() {
        evs.push(Ev::Data(d.to_vec()));
    }
}

/// Whether to keep feeding.
enum Flow {
    More,
    Stop,
}

/// Drives a `ServerConn` like h1dump: an empty 200 for each complete request, every
/// upgrade accepted (101 naming the first protocol offered, or 200 for CONNECT).
pub struct ServerDriver {
    pub conn: ServerConn,
    pub events: Vec<Ev>,
    /// Responses the driver wrote.
    pub written: Vec<u8>,
    /// Whether the 101 carries its `Upgrade` field (true by default); false to see the core
    /// refuse the 101 without it.
    pub upgrade_field_in_101: bool,
    /// The protocol to switch to, when the request offers an upgrade.
    upgrade: Option<HeaderValue>,
    connect: bool,
    stopped: bool,
}

impl ServerDriver {
    pub fn new(conn: ServerConn) -> Self {
        Self {
            conn,
            events: Vec::new(),
            written: Vec::new(),
            upgrade_field_in_101: true,
            upgrade: None,
            connect: false,
            stopped: false,
        }
    }

    fn drain(&mut self) -> Flow {
        loop {
            match self.conn.next_event() {
                Ok(Event::NeedData) | Ok(Event::Paused) => return Flow::More,
                Ok(Event::Request(h)) => {
                    self.connect = h.method() == Method::CONNECT;
                    self.events.push(Ev::Request {
                        method: h.method().to_string(),
                        target: h.target().to_owned(),
                        version: h.version(),
                        headers: fields(h.headers()),
                    });
                    // The first protocol the core says the request offers (none for
                    // HTTP/1.0 or an empty list).
                    self.upgrade = self
                        .conn
                        .offered_upgrades()
                        .next()
                        .and_then(|protocol| HeaderValue::from_bytes(protocol).ok());
                }
                Ok(Event::Data(d)) => push_data(&mut self.events, d),
                Ok(Event::End(t)) => {
                    self.events.push(Ev::End(fields(&t)));
                    let none = HeaderMap::new();
                    let switched = self.upgrade.clone().is_some_and(|protocol| {
                        let mut fields = HeaderMap::new();
                        if self.upgrade_field_in_101 {
                            fields.insert(http::header::UPGRADE, protocol);
                        }
                        self.conn
                            .send_informational(
                                StatusCode::SWITCHING_PROTOCOLS,
                                &fields,
                                &mut self.written,
                            )
                            .is_ok()
                    });
                    if !switched {
                        let body = if self.connect {
                            BodyLength::None
                        } else {
                            BodyLength::Known(0)
                        };
                        if let Err(e) = self.conn.send_response(
                            StatusCode::OK,
                            None,
                            &none,
                            body,
                            &mut self.written,
                        ) {
                            self.events.push(error_ev(&e));
                            return Flow::Stop;
                        }
                    }
                }
                Ok(Event::Switched) => {
                    self.events.push(Ev::Switched(self.conn.take_trailing()));
                    return Flow::Stop;
                }
                Ok(Event::Closed) => {
                    self.events.push(Ev::Closed);
                    return Flow::Stop;
                }
                Ok(other) => panic!("unexpected server event {other:?}"),
                Err(e) => {
                    self.events.push(error_ev(&e));
                    return Flow::Stop;
                }
            }
        }
    }

    /// Feeds `piece`; false once processing has stopped.
    pub fn feed(&mut self, piece: &[u8]) -> bool {
        if self.stopped {
            if let Some(Ev::Switched(t)) = self.events.last_mut() {
                t.extend_from_slice(piece);
            }
            return false;
        }
        self.conn.receive(piece).unwrap();
        if let Flow::Stop = self.drain() {
            self.stopped = true;
        }
        !self.stopped
    }

    pub fn finish(self) -> Vec<Ev> {
        self.finish_with_output().0
    }

    /// Ends the input; the events, and the bytes of the responses written.
    pub fn finish_with_output(mut self) -> (Vec<Ev>, Vec<u8>) {
        if !self.stopped {
            self.conn.receive_eof();
            self.drain();
        }
        (self.events, self.written)
    }
}

/// Drives a `ClientConn` like h1dump: one more pipelined request (offering an upgrade)
/// whenever a response may start.
pub struct ClientDriver {
    pub conn: ClientConn,
    pub events: Vec<Ev>,
    method: Method,
    headers: HeaderMap,
    stopped: bool,
}

impl ClientDriver {
    pub fn new(conn: ClientConn, method: Method) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("test"));
        headers.insert("connection", HeaderValue::from_static("upgrade"));
        headers.insert("upgrade", HeaderValue::from_static("h2c"));
        Self {
            conn,
            events: Vec::new(),
            method,
            headers,
            stopped: false,
        }
    }

    fn drain(&mut self) -> Flow {
        loop {
            if self.conn.responses_pending() == 0
                && self.conn.buffered() > 0
                && self.conn.is_keep_alive()
            {
                let target = if self.method == Method::CONNECT {
                    "test:443"
                } else {
                    "/"
                };
                self.conn
                    .send_request(
                        &self.method,
                        target,
                        &self.headers,
                        BodyLength::None,
                        &mut Vec::new(),
                    )
                    .unwrap();
            }
            match self.conn.next_event() {
                Ok(Event::NeedData) => return Flow::More,
                Ok(Event::Informational(h)) => self.events.push(response_ev(&h, true)),
                Ok(Event::Response(h)) => self.events.push(response_ev(&h, false)),
                Ok(Event::Data(d)) => push_data(&mut self.events, d),
                Ok(Event::End(t)) => self.events.push(Ev::End(fields(&t))),
                Ok(Event::Switched) => {
                    self.events.push(Ev::Switched(self.conn.take_trailing()));
                    return Flow::Stop;
                }
                Ok(Event::Closed) => {
                    self.events.push(Ev::Closed);
                    return Flow::Stop;
                }
                Ok(other) => panic!("unexpected client event {other:?}"),
                Err(e) => {
                    self.events.push(error_ev(&e));
                    return Flow::Stop;
                }
            }
        }
    }

    pub fn feed(&mut self, piece: &[u8]) -> bool {
        if self.stopped {
            if let Some(Ev::Switched(t)) = self.events.last_mut() {
                t.extend_from_slice(piece);
            }
            return false;
        }
        self.conn.receive(piece).unwrap();
        if let Flow::Stop = self.drain() {
            self.stopped = true;
        }
        !self.stopped
    }

    pub fn finish(mut self) -> Vec<Ev> {
        if !self.stopped {
            self.conn.receive_eof();
            self.drain();
        }
        self.events
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Server,
    Client,
}

/// Feeds `input` in the given pieces (sizes cycle) and returns the events.
pub fn run_pieces(role: Role, method: &Method, input: &[u8], cuts: &[usize]) -> Vec<Ev> {
    run_pieces_with(role, method, None, input, cuts)
}

/// [`run_pieces`] with these limits (`None`: the role's defaults).
pub fn run_pieces_with(
    role: Role,
    method: &Method,
    limits: Option<Limits>,
    input: &[u8],
    cuts: &[usize],
) -> Vec<Ev> {
    enum D {
        S(ServerDriver),
        C(ClientDriver),
    }
    let mut d = match role {
        Role::Server => D::S(ServerDriver::new(
            limits.map_or_else(ServerConn::new, ServerConn::with_limits),
        )),
        Role::Client => D::C(ClientDriver::new(
            limits.map_or_else(ClientConn::new, ClientConn::with_limits),
            method.clone(),
        )),
    };
    let mut at = 0;
    let mut prev = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        let piece = &input[prev.min(input.len())..cut.min(input.len())];
        prev = cut;
        at += piece.len();
        match &mut d {
            D::S(s) => s.feed(piece),
            D::C(c) => c.feed(piece),
        };
    }
    assert_eq!(at, input.len());
    match d {
        D::S(s) => s.finish(),
        D::C(c) => c.finish(),
    }
}

/// Runs `input` whole, one byte at a time, and split in two at every point (every third
/// point past 2 KiB), asserts every way gives the same events, and returns them.
pub fn events_all_splits(role: Role, method: &Method, input: &[u8]) -> Vec<Ev> {
    let stride = if input.len() > 2048 { 3 } else { 1 };
    agreeing_splits(input, stride, |cuts| run_pieces(role, method, input, cuts))
}

/// [`events_all_splits`] with these limits, split at every point whatever the length.
pub fn events_all_splits_with(
    role: Role,
    method: &Method,
    limits: Limits,
    input: &[u8],
) -> Vec<Ev> {
    agreeing_splits(input, 1, |cuts| {
        run_pieces_with(role, method, Some(limits), input, cuts)
    })
}

/// `run` whole, byte by byte, and split in two at every `stride`-th point: all must agree.
fn agreeing_splits(input: &[u8], stride: usize, run: impl Fn(&[usize]) -> Vec<Ev>) -> Vec<Ev> {
    let whole = run(&[]);
    let bytewise_cuts: Vec<usize> = (1..input.len()).collect();
    assert_eq!(
        whole,
        run(&bytewise_cuts),
        "byte-at-a-time differs from whole for {:?}",
        String::from_utf8_lossy(input)
    );
    for k in (1..input.len()).step_by(stride) {
        assert_eq!(
            whole,
            run(&[k]),
            "split at {k} differs for {:?}",
            String::from_utf8_lossy(input)
        );
    }
    whole
}

/// Server-role events of `input`, identical for every way of splitting it.
pub fn server_events(input: &[u8]) -> Vec<Ev> {
    events_all_splits(Role::Server, &Method::GET, input)
}

/// Client-role events of `input` (as if `method` requests were pipelined), identical for
/// every way of splitting it.
pub fn client_events(method: &Method, input: &[u8]) -> Vec<Ev> {
    events_all_splits(Role::Client, method, input)
}

/// The last event, which must be an error: its status hint.
pub fn error_hint(events: &[Ev]) -> u16 {
    match events.last() {
        Some(Ev::Error(hint, _)) => *hint,
        other => panic!("expected an error, got {other:?} in {events:?}"),
    }
}

/// An `http::HeaderMap` of `pairs`, repeated names kept.
pub fn header_map(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (n, v) in pairs {
        map.append(
            http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    map
}

/// A run of body data.
pub fn data(d: &[u8]) -> Ev {
    Ev::Data(d.to_vec())
}

/// The end of a message without trailers.
pub fn end() -> Ev {
    Ev::End(Vec::new())
}

/// The end of a message with these trailers.
pub fn end_t(trailers: &[(&str, &str)]) -> Ev {
    Ev::End(f(trailers))
}

/// An error with this status hint and message.
pub fn err(hint: u16, message: &str) -> Ev {
    Ev::Error(hint, message.into())
}

/// Shorthand for a field list.
pub fn f(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
        .collect()
}
