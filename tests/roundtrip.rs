//! Property tests of the sans-IO core: what one role serializes, the other parses back
//! exactly; pipelined messages come back in order; and for valid and mutated inputs alike,
//! the events do not depend on how the bytes are cut, and nothing makes the core panic.
#![allow(unreachable_pub)]

mod support;
use support::*;

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version};
use pollhttp::proto::{BodyLength, ClientConn, Event, Framing, ServerConn};
use proptest::prelude::*;
use proptest::sample::Index;

/// Fields the core decides itself (framing, connection management): never random.
const RESERVED: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "expect",
    "te",
];

type Ext = (String, Option<String>);

// ---------------------------------------------------------------------------------------
// Strategies

fn token() -> impl Strategy<Value = String> {
    "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}"
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        prop::sample::select(vec![
            "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"
        ])
        .prop_map(String::from),
        token(),
    ]
    .prop_filter("CONNECT needs an authority-form target", |m| m != "CONNECT")
    .prop_map(|m| Method::from_bytes(m.as_bytes()).expect("a token is a method"))
}

/// Visible ASCII starting with `/` (origin-form), without a fragment's `#`.
fn target() -> impl Strategy<Value = String> {
    "/[!-\"$-~]{0,40}"
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => token(),
        // A few common names, so that repeated names occur.
        1 => prop::sample::select(vec![
            "accept", "x-tag", "cookie", "date", "server", "content-type", "cache-control",
        ])
        .prop_map(String::from),
    ]
    .prop_filter("reserved for the core", |n| {
        !RESERVED.contains(&n.to_ascii_lowercase().as_str())
    })
}

/// field-vchars, obs-text and inner spaces/tabs; no leading or trailing whitespace.
fn field_value() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            6 => 0x21u8..=0x7e,
            2 => 0x80u8..=0xff,
            2 => prop::sample::select(vec![b' ', b'\t']),
        ],
        0..24,
    )
    .prop_map(|mut v| {
        while v.last().is_some_and(|b| matches!(b, b' ' | b'\t')) {
            v.pop();
        }
        let lead = v.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
        v.drain(..lead);
        v
    })
}

fn field_list(max: usize) -> impl Strategy<Value = Fields> {
    prop::collection::vec(
        (field_name(), field_value()).prop_map(|(n, v)| (n.to_ascii_lowercase(), v)),
        0..max,
    )
}

/// A valid Host: labels joined by single dots (an empty label is refused), an optional
/// trailing dot, an optional port.
fn host() -> impl Strategy<Value = String> {
    "[a-z0-9-]{1,6}(\\.[a-z0-9-]{1,6}){0,2}\\.?(:[0-9]{1,5})?"
}

fn extension() -> impl Strategy<Value = Ext> {
    (
        token(),
        prop::option::of(prop_oneof![
            token(),
            // Quoted on the wire: spaces, quotes, backslashes, obs-text.
            r#"[\t -~éü]{0,12}"#,
        ]),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `BodyLength::None`.
    None,
    /// `BodyLength::Known(total)`.
    Known,
    /// `BodyLength::Unknown`: chunked (or until close for an HTTP/1.0 peer).
    Unknown,
}

#[derive(Debug, Clone)]
struct BodyPlan {
    kind: Kind,
    /// Handed to send_data/send_chunk one by one (chunk sizes), with chunk extensions.
    pieces: Vec<(Vec<u8>, Vec<Ext>)>,
    trailers: Fields,
}

impl BodyPlan {
    fn data(&self) -> Vec<u8> {
        match self.kind {
            Kind::None => Vec::new(),
            _ => self.pieces.iter().flat_map(|(d, _)| d.clone()).collect(),
        }
    }

    fn length(&self) -> BodyLength {
        match self.kind {
            Kind::None => BodyLength::None,
            Kind::Known => BodyLength::Known(self.data().len() as u64),
            Kind::Unknown => BodyLength::Unknown,
        }
    }

    /// Hands the body to `send`, piece by piece, then its end (with extensions and trailers
    /// if `chunked`).
    fn send(&self, chunked: bool, mut send: impl FnMut(BodyStep<'_>)) {
        for (data, exts) in &self.pieces {
            let exts: Vec<(&str, Option<&str>)> = if chunked {
                exts.iter()
                    .map(|(n, v)| (n.as_str(), v.as_deref()))
                    .collect()
            } else {
                Vec::new()
            };
            send(BodyStep::Chunk(data, &exts));
        }
        let trailers = chunked.then(|| to_map(&self.trailers));
        send(BodyStep::End(trailers.as_ref()));
    }
}

/// One call of the body-sending API.
enum BodyStep<'a> {
    Chunk(&'a [u8], &'a [(&'a str, Option<&'a str>)]),
    End(Option<&'a HeaderMap>),
}

fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        12 => prop::collection::vec(any::<u8>(), 0..48),
        1 => prop::collection::vec(any::<u8>(), 0..3000),
    ]
}

fn body_plan() -> impl Strategy<Value = BodyPlan> {
    (
        prop::sample::select(vec![Kind::None, Kind::Known, Kind::Unknown]),
        prop::collection::vec(
            (body_bytes(), prop::collection::vec(extension(), 0..3)),
            0..6,
        ),
        field_list(4),
    )
        .prop_map(|(kind, pieces, trailers)| BodyPlan {
            kind,
            pieces,
            trailers,
        })
}

fn to_map(fields: &Fields) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (n, v) in fields {
        map.append(
            HeaderName::from_bytes(n.as_bytes()).expect("a token is a header name"),
            HeaderValue::from_bytes(v).expect("a field value"),
        );
    }
    map
}

/// The fields in the order the map gives them (the order they go on the wire).
fn map_fields(map: &HeaderMap) -> Fields {
    map.iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect()
}

fn field(name: &str, value: impl Into<Vec<u8>>) -> (String, Vec<u8>) {
    (name.to_owned(), value.into())
}

/// Data (if any) and End, as the harness reports a body.
fn body_events(data: Vec<u8>, trailers: Fields, out: &mut Vec<Ev>) {
    if !data.is_empty() {
        out.push(Ev::Data(data));
    }
    out.push(Ev::End(trailers));
}

/// Sorted cut points into `len` bytes.
fn cut_points(cuts: &[Index], len: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(len + 1)).collect();
    cuts.sort_unstable();
    cuts
}

// ---------------------------------------------------------------------------------------
// Requests: ClientConn serializes, ServerConn parses.

#[derive(Debug, Clone)]
struct ReqPlan {
    method: Method,
    target: String,
    fields: Fields,
    host: String,
    host_at: Index,
    body: BodyPlan,
}

fn req_plan() -> impl Strategy<Value = ReqPlan> {
    (
        method(),
        target(),
        field_list(8),
        host(),
        any::<Index>(),
        body_plan(),
    )
        .prop_map(|(method, target, fields, host, host_at, body)| ReqPlan {
            method,
            target,
            fields,
            host,
            host_at,
            body,
        })
        .prop_map(|mut plan| {
            // A TRACE request has no content (RFC 9110 §9.3.8): `send_request` refuses it.
            if plan.method == Method::TRACE {
                plan.body = BodyPlan {
                    kind: Kind::None,
                    pieces: Vec::new(),
                    trailers: Vec::new(),
                };
            }
            plan
        })
}

/// A pipelined stream of requests; the last may ask to close.
fn req_stream(max: usize) -> impl Strategy<Value = (Vec<ReqPlan>, bool)> {
    (prop::collection::vec(req_plan(), 1..max), any::<bool>())
}

/// Serializes the requests with one `ClientConn`; returns the bytes and the events a server
/// must report for them.
fn serialize_requests(plans: &[ReqPlan], close_last: bool) -> (Vec<u8>, Vec<Ev>) {
    let mut conn = ClientConn::new();
    let mut out = Vec::new();
    let mut expected = Vec::new();
    for (i, p) in plans.iter().enumerate() {
        let mut list = p.fields.clone();
        list.insert(
            p.host_at.index(list.len() + 1),
            field("host", p.host.clone()),
        );
        if close_last && i + 1 == plans.len() {
            list.push(field("connection", "close"));
        }
        let map = to_map(&list);
        let data = p.body.data();
        let framing = conn
            .send_request(&p.method, &p.target, &map, p.body.length(), &mut out)
            .expect("send_request");

        let mut headers = map_fields(&map);
        // Host goes first on the wire (RFC 9110 §7.2); the others keep the map's order.
        headers.sort_by_key(|(name, _)| name != "host");
        let expects_body = matches!(p.method, Method::POST | Method::PUT | Method::PATCH);
        let expected_framing = match p.body.kind {
            Kind::None if expects_body => {
                headers.push(field("content-length", "0"));
                Framing::None
            }
            Kind::None => Framing::None,
            Kind::Known => {
                headers.push(field("content-length", data.len().to_string()));
                if data.is_empty() {
                    Framing::None
                } else {
                    Framing::Length(data.len() as u64)
                }
            }
            Kind::Unknown => {
                headers.push(field("transfer-encoding", "chunked"));
                Framing::Chunked
            }
        };
        assert_eq!(framing, expected_framing);
        if framing != Framing::None {
            p.body.send(framing == Framing::Chunked, |step| match step {
                BodyStep::Chunk(d, []) => conn.send_data(d, &mut out).expect("send_data"),
                BodyStep::Chunk(d, exts) => conn.send_chunk(d, exts, &mut out).expect("send_chunk"),
                BodyStep::End(t) => conn.send_end(t, &mut out).expect("send_end"),
            });
        }
        assert!(!conn.sending_body());

        expected.push(Ev::Request {
            method: p.method.to_string(),
            target: p.target.clone(),
            version: Version::HTTP_11,
            headers,
        });
        let trailers = match p.body.kind {
            Kind::Unknown => map_fields(&to_map(&p.body.trailers)),
            _ => Vec::new(),
        };
        body_events(data, trailers, &mut expected);
    }
    assert_eq!(conn.responses_pending(), plans.len());
    expected.push(Ev::Closed);
    (out, expected)
}

// ---------------------------------------------------------------------------------------
// Responses: ServerConn serializes (after reading a request), ClientConn parses.

#[derive(Debug, Clone)]
struct RespPlan {
    informational: Vec<(u16, Fields)>,
    status: u16,
    reason: Option<String>,
    fields: Fields,
    body: BodyPlan,
}

#[derive(Debug, Clone)]
struct RespStream {
    /// The requests were HEAD (else GET).
    head: bool,
    responses: Vec<RespPlan>,
    /// The last response carries `connection: close`.
    close_last: bool,
    /// The last request was HTTP/1.0 (no 1xx; an unknown length is read until close).
    http10_last: bool,
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        prop::sample::select(vec![200u16, 201, 204, 206, 301, 304, 400, 404, 500, 503]),
        200u16..=999,
    ]
    // `send_response` refuses content in a 205 and a 426 without Upgrade (RFC 9110
    // §15.3.6, §15.5.22); the plans give neither.
    .prop_filter("205 and 426 have rules of their own", |s| {
        *s != 205 && *s != 426
    })
}

fn resp_plan() -> impl Strategy<Value = RespPlan> {
    (
        prop::collection::vec(
            (
                prop_oneof![prop::sample::select(vec![100u16, 102, 103]), 104u16..=199],
                field_list(3),
            ),
            0..3,
        ),
        status(),
        prop::option::of(r"[\t -~]{0,20}"),
        field_list(8),
        body_plan(),
    )
        .prop_map(|(informational, status, reason, fields, mut body)| {
            if status == 204 || status == 304 {
                body.kind = Kind::None;
            }
            RespPlan {
                informational,
                status,
                reason,
                fields,
                body,
            }
        })
}

fn resp_stream(max: usize) -> impl Strategy<Value = RespStream> {
    (
        any::<bool>(),
        prop::collection::vec(resp_plan(), 1..max),
        any::<bool>(),
        prop::sample::select(vec![false, false, false, true]),
    )
        .prop_map(|(head, responses, close_last, http10_last)| RespStream {
            head,
            responses,
            close_last,
            http10_last,
        })
}

impl RespStream {
    fn method(&self) -> Method {
        if self.head {
            Method::HEAD
        } else {
            Method::GET
        }
    }
}

/// Reads one bodiless request into `conn` and checks it is reported whole.
fn give_request(conn: &mut ServerConn, method: &Method, http10: bool) {
    let version = if http10 { "1.0" } else { "1.1" };
    let raw = format!("{method} / HTTP/{version}\r\nHost: roundtrip\r\n\r\n");
    conn.receive(raw.as_bytes()).unwrap();
    assert!(matches!(conn.next_event(), Ok(Event::Request(_))));
    assert!(matches!(conn.next_event(), Ok(Event::End(_))));
    assert!(matches!(conn.next_event(), Ok(Event::NeedData)));
    assert!(conn.response_due());
}

/// Serializes the responses with one `ServerConn`; returns the bytes and the events a client
/// (which sent the requests) must report for them.
fn serialize_responses(stream: &RespStream) -> (Vec<u8>, Vec<Ev>) {
    let method = stream.method();
    let mut conn = ServerConn::new();
    let mut out = Vec::new();
    let mut expected = Vec::new();
    let n = stream.responses.len();
    for (i, r) in stream.responses.iter().enumerate() {
        let last = i + 1 == n;
        let http10 = last && stream.http10_last;
        give_request(&mut conn, &method, http10);
        if !http10 {
            for (code, fields) in &r.informational {
                let status = StatusCode::from_u16(*code).unwrap();
                let map = to_map(fields);
                conn.send_informational(status, &map, &mut out)
                    .expect("send_informational");
                expected.push(Ev::Informational {
                    status: *code,
                    reason: default_reason(status).into(),
                    version: Version::HTTP_11,
                    headers: map_fields(&map),
                });
            }
        }

        let close = last && stream.close_last;
        let mut list = r.fields.clone();
        if close {
            list.push(field("connection", "close"));
        }
        let map = to_map(&list);
        let status = StatusCode::from_u16(r.status).unwrap();
        let data = r.body.data();
        let framing = conn
            .send_response(status, r.reason.as_deref(), &map, r.body.length(), &mut out)
            .expect("send_response");

        let no_body = stream.head || r.status == 204 || r.status == 304;
        let mut headers = map_fields(&map);
        // Host goes first on the wire (RFC 9110 §7.2); the others keep the map's order.
        headers.sort_by_key(|(name, _)| name != "host");
        let expected_framing = if r.status == 204 || r.status == 304 {
            Framing::None
        } else {
            match r.body.kind {
                Kind::None => {
                    headers.push(field("content-length", "0"));
                    Framing::None
                }
                Kind::Known => {
                    headers.push(field("content-length", data.len().to_string()));
                    if data.is_empty() {
                        Framing::None
                    } else {
                        Framing::Length(data.len() as u64)
                    }
                }
                Kind::Unknown if http10 => Framing::UntilClose,
                Kind::Unknown => {
                    headers.push(field("transfer-encoding", "chunked"));
                    Framing::Chunked
                }
            }
        };
        if http10 && !close {
            headers.push(field("connection", "close"));
        }
        let expected_framing = if stream.head {
            Framing::None
        } else {
            expected_framing
        };
        assert_eq!(framing, expected_framing);
        if framing != Framing::None {
            r.body.send(framing == Framing::Chunked, |step| match step {
                BodyStep::Chunk(d, []) => conn.send_data(d, &mut out).expect("send_data"),
                BodyStep::Chunk(d, exts) => conn.send_chunk(d, exts, &mut out).expect("send_chunk"),
                BodyStep::End(t) => conn.send_end(t, &mut out).expect("send_end"),
            });
        }
        assert!(!conn.response_due());
        assert_eq!(conn.is_keep_alive(), !(close || http10));

        expected.push(Ev::Response {
            status: r.status,
            reason: r.reason.as_deref().unwrap_or(default_reason(status)).into(),
            version: Version::HTTP_11,
            headers,
        });
        let (data, trailers) = match (no_body, r.body.kind) {
            (true, _) => (Vec::new(), Vec::new()),
            (false, Kind::Unknown) if !http10 => (data, map_fields(&to_map(&r.body.trailers))),
            (false, _) => (data, Vec::new()),
        };
        body_events(data, trailers, &mut expected);
        if close || http10 {
            break;
        }
    }
    expected.push(Ev::Closed);
    (out, expected)
}

// ---------------------------------------------------------------------------------------
// Mutations and other inputs for split invariance.

#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Insert(Index, u8),
    Delete(Index),
    /// Replace a byte with one of the bytes that matter to the grammar.
    Set(Index, u8),
}

fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => prop::sample::select(b"\r\n \t:;=\",0159aAfFzHT/.\\\x00\x7f\x80\xff".to_vec()),
        1 => any::<u8>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(i, bit)| Mutation::Flip(i, bit)),
        (any::<Index>(), interesting_byte()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<Index>().prop_map(Mutation::Delete),
        (any::<Index>(), interesting_byte()).prop_map(|(i, b)| Mutation::Set(i, b)),
    ]
}

fn mutate(input: &mut Vec<u8>, mutations: &[Mutation]) {
    for m in mutations {
        let len = input.len();
        match *m {
            Mutation::Insert(ref i, b) => input.insert(i.index(len + 1), b),
            _ if len == 0 => {}
            Mutation::Flip(ref i, bit) => input[i.index(len)] ^= 1 << bit,
            Mutation::Delete(ref i) => {
                input.remove(i.index(len));
            }
            Mutation::Set(ref i, b) => input[i.index(len)] = b,
        }
    }
}

/// Hand-written messages that random generation rarely makes: upgrades, CONNECT,
/// HTTP/1.0, 100-continue, obs-fold, leading CRLFs, limits.
const SERVER_SEEDS: &[&[u8]] = &[
    b"GET /chat HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello",
    b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01",
    b"\r\n\r\nGET / HTTP/1.0\r\n\r\n\r\n\n",
    b"PUT /u HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 ; a=b;c=\"d\\\"\"\r\nhello\r\n0\r\nx-t: 1\r\n\r\n",
    b"GET /caf%C3%A9 HTTP/1.1\r\nHost: a\r\nX: caf\xe9 \t au lait\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n\r\n",
    b"GET http://a/b HTTP/1.1\r\nHost: a\r\nContent-Length: 2, 2\r\n\r\nhiGET / HTTP/1.1\r\nHost: a\r\n\r\n",
];

const CLIENT_SEEDS: &[(&str, &[u8])] = &[
    ("GET", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\nPRI * HTTP/2.0"),
    ("CONNECT", b"HTTP/1.1 200 OK\r\n\r\ntunnelled bytes"),
    ("GET", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX: a\r\n b\r\nTransfer-Encoding: chunked\r\n\r\n3;e=1\r\nabc\r\n0\r\nT: 1\r\n\r\n"),
    ("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n"),
    ("GET", b"HTTP/1.0 200 OK\r\n\r\nuntil close"),
    ("GET", b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok\r\n"),
];

/// Fragments of HTTP, glued at random.
fn soup() -> impl Strategy<Value = Vec<u8>> {
    const PARTS: &[&[u8]] = &[
        b"GET ",
        b"POST ",
        b"HEAD ",
        b"CONNECT ",
        b"/ ",
        b"/x ",
        b"a:1 ",
        b"*",
        b"HTTP/1.1",
        b"HTTP/1.0",
        b"HTTP/2.0",
        b"HTTP/1.1 200 OK",
        b"HTTP/1.1 100 Continue",
        b"HTTP/1.1 101 Switching",
        b" ",
        b"\r\n",
        b"\n",
        b"\r",
        b"Host: a",
        b"Host: b",
        b"Content-Length: 3",
        b"Content-Length: 0",
        b"Content-Length: 1, 1",
        b"Transfer-Encoding: chunked",
        b"Transfer-Encoding: gzip",
        b"Connection: close",
        b"Upgrade: h2c",
        b"Expect: 100-continue",
        b"3\r\nabc\r\n",
        b"0\r\n",
        b"5;a=\"b\"",
        b"abc",
        b":",
        b"\t",
        b"\x00",
        b"\xff",
    ];
    prop::collection::vec(prop::sample::select(PARTS.to_vec()), 0..40).prop_map(|v| v.concat())
}

#[derive(Debug, Clone)]
struct SplitCase {
    role: Role,
    method: Method,
    input: Vec<u8>,
}

fn valid_case() -> impl Strategy<Value = SplitCase> {
    prop_oneof![
        req_stream(4).prop_map(|(plans, close)| SplitCase {
            role: Role::Server,
            method: Method::GET,
            input: serialize_requests(&plans, close).0,
        }),
        resp_stream(4).prop_map(|s| SplitCase {
            role: Role::Client,
            method: s.method(),
            input: serialize_responses(&s).0,
        }),
        prop::sample::select(SERVER_SEEDS.to_vec()).prop_map(|s| SplitCase {
            role: Role::Server,
            method: Method::GET,
            input: s.to_vec(),
        }),
        prop::sample::select(CLIENT_SEEDS.to_vec()).prop_map(|(m, s)| SplitCase {
            role: Role::Client,
            method: Method::from_bytes(m.as_bytes()).unwrap(),
            input: s.to_vec(),
        }),
    ]
}

fn any_case() -> impl Strategy<Value = SplitCase> {
    prop_oneof![
        4 => (valid_case(), prop::collection::vec(mutation(), 1..6)).prop_map(|(mut c, m)| {
            mutate(&mut c.input, &m);
            c
        }),
        1 => (
            soup(),
            any::<bool>(),
            prop::sample::select(vec![Method::GET, Method::HEAD, Method::CONNECT]),
        )
            .prop_map(|(input, server, method)| SplitCase {
                role: if server { Role::Server } else { Role::Client },
                method,
                input,
            }),
    ]
}

/// The events of `case` fed whole, at `cuts`, and (when short) one byte at a time agree.
fn assert_split_invariant(case: &SplitCase, cuts: &[Index]) -> Vec<Ev> {
    let input = &case.input;
    let whole = run_pieces(case.role, &case.method, input, &[]);
    let cuts = cut_points(cuts, input.len());
    let pieces = run_pieces(case.role, &case.method, input, &cuts);
    assert_eq!(
        whole,
        pieces,
        "cuts {cuts:?} differ for {:?}",
        String::from_utf8_lossy(input)
    );
    if input.len() <= 1024 {
        let bytewise: Vec<usize> = (1..input.len()).collect();
        let bytewise = run_pieces(case.role, &case.method, input, &bytewise);
        assert_eq!(
            whole,
            bytewise,
            "byte at a time differs for {:?}",
            String::from_utf8_lossy(input)
        );
    }
    whole
}

// ---------------------------------------------------------------------------------------
// The properties.

/// `cases` per property unless `PROPTEST_CASES` asks for more (or fewer); no regression
/// files.
fn config(cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    config.failure_persistence = None;
    config
}

proptest! {
    #![proptest_config(config(256))]

    /// One request of any shape comes back exactly, however it is cut.
    #[test]
    fn request_round_trip(plan in req_plan(), close in any::<bool>(), cuts in prop::collection::vec(any::<Index>(), 0..6)) {
        let (bytes, expected) = serialize_requests(std::slice::from_ref(&plan), close);
        let cuts = cut_points(&cuts, bytes.len());
        let got = run_pieces(Role::Server, &Method::GET, &bytes, &cuts);
        prop_assert_eq!(got, expected, "wire: {:?}", String::from_utf8_lossy(&bytes));
    }

    /// One response (after its 1xx) comes back exactly, however it is cut.
    #[test]
    fn response_round_trip(mut stream in resp_stream(2), cuts in prop::collection::vec(any::<Index>(), 0..6)) {
        stream.responses.truncate(1);
        let (bytes, expected) = serialize_responses(&stream);
        let cuts = cut_points(&cuts, bytes.len());
        let got = run_pieces(Role::Client, &stream.method(), &bytes, &cuts);
        prop_assert_eq!(got, expected, "wire: {:?}", String::from_utf8_lossy(&bytes));
    }
}

proptest! {
    #![proptest_config(config(96))]

    /// Several pipelined requests in one stream come back in order.
    #[test]
    fn pipelined_requests_in_order((plans, close) in req_stream(6), cuts in prop::collection::vec(any::<Index>(), 0..8)) {
        let (bytes, expected) = serialize_requests(&plans, close);
        let cuts = cut_points(&cuts, bytes.len());
        let got = run_pieces(Role::Server, &Method::GET, &bytes, &cuts);
        prop_assert_eq!(got, expected, "wire: {:?}", String::from_utf8_lossy(&bytes));
    }

    /// Several pipelined responses in one stream come back in order.
    #[test]
    fn pipelined_responses_in_order(stream in resp_stream(6), cuts in prop::collection::vec(any::<Index>(), 0..8)) {
        let (bytes, expected) = serialize_responses(&stream);
        let cuts = cut_points(&cuts, bytes.len());
        let got = run_pieces(Role::Client, &stream.method(), &bytes, &cuts);
        prop_assert_eq!(got, expected, "wire: {:?}", String::from_utf8_lossy(&bytes));
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Valid inputs: the events do not depend on the cuts, and none is an error.
    #[test]
    fn split_invariance_valid(case in valid_case(), cuts in prop::collection::vec(any::<Index>(), 0..10)) {
        let events = assert_split_invariant(&case, &cuts);
        prop_assert!(matches!(events.last(), Some(Ev::Closed | Ev::Switched(_))), "{:?}", events);
    }

}

proptest! {
    #![proptest_config(config(768))]

    /// Mutated and random inputs: the events do not depend on the cuts, and the core never
    /// panics; whatever happens ends in Closed, Switched or an error.
    #[test]
    fn split_invariance_mutated(case in any_case(), cuts in prop::collection::vec(any::<Index>(), 0..10)) {
        let events = assert_split_invariant(&case, &cuts);
        prop_assert!(
            matches!(events.last(), Some(Ev::Closed | Ev::Switched(_) | Ev::Error(..))),
            "{:?}", events
        );
    }
}

/// The seeds themselves give what they are meant to (so the mutation test starts from
/// meaningful inputs).
#[test]
fn seeds_are_valid() {
    for seed in SERVER_SEEDS {
        let ev = server_events(seed);
        assert!(
            !ev.iter().any(Ev::is_error),
            "{:?}: {ev:?}",
            String::from_utf8_lossy(seed)
        );
    }
    for (method, seed) in CLIENT_SEEDS {
        let ev = client_events(&Method::from_bytes(method.as_bytes()).unwrap(), seed);
        assert!(
            !ev.iter().any(Ev::is_error),
            "{:?}: {ev:?}",
            String::from_utf8_lossy(seed)
        );
    }
}

/// The reason a server sends when the caller gives none: the standard phrase, or the name of
/// the status's class.
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
