//! The embedded server over loopback, driven by our blocking client and by raw sockets
//! writing and reading exact bytes: every body kind both ways, HEAD/204/304, pipelining
//! and batched writes, 100-continue, unread bodies, the malformed-request battery (status,
//! `connection: close`, EOF, and no smuggled request ever reaching the handler), limits
//! and timeouts, handler panics, `on_connect` and `Session`, Unix sockets and their peer
//! credentials, graceful shutdown, HTTP/1.0 (keep-alive or not) and `Connection: close`,
//! the `Date` on every response, and thousands of idle keep-alive connections under the
//! default connection cap.
//!
//! Every test but the one holding thousands of connections takes a shared lock; that one
//! takes it exclusively, so it can use the descriptors the others would need.

use std::io::{self, Cursor, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use pollhttp::client::{Client, Connection};
use pollhttp::io::Address;
use pollhttp::proto::{Framing, HttpDate, Limits};
use pollhttp::server::{Body, Chunk, Request, Response, RunningServer, Server, Session};

/// The longest any single wait in these tests may take before the test fails.
const WAIT: Duration = Duration::from_secs(10);
/// A body larger than the server's write pieces (64 KiB) and its flush threshold.
const BIG: usize = 200_000;

// ---------------------------------------------------------------------------------------
// Test isolation: the many-connections test needs nearly every descriptor.

static DESCRIPTORS: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    DESCRIPTORS.read().unwrap_or_else(|e| e.into_inner())
}

fn exclusive() -> RwLockWriteGuard<'static, ()> {
    DESCRIPTORS.write().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------------------
// Servers.

fn tcp(
    handler: impl for<'c> Fn(&mut Session, Request<'c>) -> Response + Send + Sync + 'static,
) -> Server {
    Server::bind(SocketAddr::from(([127, 0, 0, 1], 0)), handler).expect("bind")
}

fn start(server: Server) -> RunningServer {
    server.start().expect("start the server")
}

fn tcp_addr(server: &RunningServer) -> SocketAddr {
    match server.address() {
        Address::Tcp(addr) => *addr,
        other => panic!("not a TCP address: {other}"),
    }
}

fn client(server: &RunningServer) -> Client {
    Client::new(server.address().clone()).with_timeout(Some(WAIT))
}

fn connect(server: &RunningServer) -> Connection {
    client(server).connect().expect("connect")
}

fn headers(fields: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in fields {
        h.append(*name, HeaderValue::from_str(value).unwrap());
    }
    h
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn unique(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "pollhttp-srvtest-{}-{}-{tag}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// What the application handler saw.
#[derive(Default)]
struct Seen {
    calls: AtomicUsize,
    paths: Mutex<Vec<String>>,
}

impl Seen {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn saw(&self, path: &str) -> bool {
        self.paths.lock().unwrap().iter().any(|p| p == path)
    }
}

fn response_chunks() -> Vec<Chunk> {
    vec![
        Chunk::new("first").with_extension("name", Some("value")),
        Chunk::new("second").with_extension("flag", None),
        Chunk::new("third").with_extension("q", Some("two words")),
    ]
}

fn response_trailers() -> HeaderMap {
    headers(&[("x-checksum", "abc123"), ("x-count", "3")])
}

/// `name=value` pairs, sorted, joined by `; `.
fn describe(fields: &HeaderMap) -> String {
    let mut pairs: Vec<String> = fields
        .iter()
        .map(|(n, v)| format!("{}={}", n, v.to_str().unwrap_or("?")))
        .collect();
    pairs.sort();
    pairs.join("; ")
}

fn framing_name(framing: Framing) -> String {
    match framing {
        Framing::None => "none".into(),
        Framing::Length(n) => format!("length {n}"),
        Framing::Chunked => "chunked".into(),
        Framing::UntilClose => "until-close".into(),
    }
}

/// The test application. Unknown paths read the body and answer
/// `METHOD TARGET LEN:BODY` (a body error: 400).
fn app(seen: &Seen, session: &mut Session, mut request: Request<'_>) -> Response {
    seen.calls.fetch_add(1, Ordering::SeqCst);
    let path = request.path().to_owned();
    seen.paths.lock().unwrap().push(path.clone());
    let method = request.method().clone();
    let target = request.target().to_owned();
    match path.as_str() {
        "/echo" => {
            let framing = framing_name(request.body.framing());
            match request.body.read_all() {
                Ok(data) => Response::new(StatusCode::OK, data)
                    .with_header("x-framing", &framing)
                    .with_header("x-trailers", &describe(request.body.trailers()))
                    .with_header("x-method", method.as_str()),
                Err(e) => Response::text(StatusCode::BAD_REQUEST, format!("body: {e}")),
            }
        }
        "/head" => {
            // The head as the handler sees it: each accessor, each field in order, a
            // lookup, a repeated field, and the HeaderMap built on demand.
            let mut lines = vec![format!(
                "{} {} {:?} path={} query={:?}",
                request.method(),
                request.target(),
                request.version(),
                request.path(),
                request.query()
            )];
            for (name, value) in request.headers().iter() {
                lines.push(format!("{name}: {}", String::from_utf8_lossy(value)));
            }
            let twice: Vec<String> = request
                .headers()
                .get_all("x-twice")
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .collect();
            lines.push(format!(
                "get(host)={:?} get_all(x-twice)={twice:?} map={}",
                request.headers().get("host").map(String::from_utf8_lossy),
                request.headers().to_header_map().len()
            ));
            Response::text(StatusCode::OK, lines.join("\n"))
        }
        "/empty" => Response::new(StatusCode::OK, Body::empty()),
        "/bytes" => Response::new(StatusCode::OK, "hello, bytes"),
        "/reader" => Response::new(
            StatusCode::OK,
            Body::reader(Cursor::new(pattern(BIG)), BIG as u64),
        ),
        "/chunked-reader" => Response::new(
            StatusCode::OK,
            Body::chunked_reader(Cursor::new(pattern(BIG))),
        ),
        "/chunks" => Response::new(
            StatusCode::OK,
            Body::chunks(response_chunks()).with_trailers(response_trailers()),
        ),
        "/204" => Response::new(StatusCode::NO_CONTENT, ()),
        "/304" => Response::new(StatusCode::NOT_MODIFIED, ()),
        "/204-body" => Response::new(StatusCode::NO_CONTENT, "a body a 204 cannot have"),
        "/304-body" => Response::new(StatusCode::NOT_MODIFIED, "a body a 304 cannot have"),
        "/ignore" => Response::text(StatusCode::OK, "ignored"),
        "/panic" => panic!("this handler panics on purpose"),
        // A handler that says yes to a tunnel, and one that says yes to an upgrade.
        "tunnel:443" if method == Method::CONNECT => Response::text(StatusCode::OK, "go ahead"),
        "/switch" => Response::new(StatusCode::SWITCHING_PROTOCOLS, ())
            .with_header("upgrade", "h2c")
            .with_header("connection", "upgrade"),
        // No other tunnels: CONNECT is refused.
        _ if method == Method::CONNECT => Response::text(StatusCode::FORBIDDEN, "no tunnels"),
        "/dated" => Response::text(StatusCode::OK, "dated").with_header("date", OLD_DATE),
        "/close" => {
            session.close();
            Response::text(StatusCode::OK, "closing")
        }
        "/session" => {
            let n = match session.store.get_mut::<u32>() {
                Some(n) => {
                    *n += 1;
                    *n
                }
                None => {
                    session.store.insert(1u32);
                    1
                }
            };
            Response::text(
                StatusCode::OK,
                format!(
                    "requests={} store={n} peer={}",
                    session.requests(),
                    session.peer()
                ),
            )
        }
        "/whoami" => match session.credentials() {
            Some(c) => Response::text(StatusCode::OK, format!("{} {} {}", c.pid, c.uid, c.gid)),
            None => Response::text(StatusCode::OK, "none"),
        },
        _ => match request.body.read_all() {
            Ok(body) => Response::text(
                StatusCode::OK,
                format!(
                    "{method} {target} {}:{}",
                    body.len(),
                    String::from_utf8_lossy(&body)
                ),
            )
            .with_header("x-target", &target),
            Err(e) => Response::text(StatusCode::BAD_REQUEST, format!("body: {e}")),
        },
    }
}

/// A server of [`app`] on 127.0.0.1, configured by `configure`.
fn app_server(configure: impl FnOnce(Server) -> Server) -> (RunningServer, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let seen2 = Arc::clone(&seen);
    let server =
        tcp(move |session: &mut Session, request: Request<'_>| app(&seen2, session, request));
    (start(configure(server)), seen)
}

/// The `Date` the `/dated` route gives its response.
const OLD_DATE: &str = "Thu, 01 Jan 1970 00:00:00 GMT";

/// How far the server's coarse clock (`CLOCK_REALTIME_COARSE`) may lag `SystemTime::now()`:
/// one kernel tick at the lowest usual rate (100 Hz), with room to spare.
const COARSE_LAG: Duration = Duration::from_millis(50);

/// Checks that a response has exactly one `Date`, of a second from `since` to now.
#[track_caller]
fn assert_dated(headers: &[(String, String)], since: SystemTime, what: &str) {
    let dates: Vec<&str> = headers
        .iter()
        .filter(|(n, _)| n == "date")
        .map(|(_, v)| v.as_str())
        .collect();
    // The server dates from the coarse clock, which may lag this one by a kernel tick.
    let first = HttpDate::from_system_time(since - COARSE_LAG).unix_secs();
    let last = HttpDate::from_system_time(SystemTime::now()).unix_secs();
    let seconds: Vec<String> = (first..=last)
        .map(|s| HttpDate::from_unix_secs(s).to_string())
        .collect();
    assert!(
        dates.len() == 1 && seconds.iter().any(|s| s == dates[0]),
        "{what}: Date fields {dates:?}, expected one of {seconds:?}"
    );
}

/// The default route's answer.
fn default_answer(method: &str, target: &str, body: &str) -> String {
    format!("{method} {target} {}:{body}", body.len())
}

// ---------------------------------------------------------------------------------------
// Raw connections: exact bytes out, responses parsed by hand.

#[derive(Debug)]
struct RawResponse {
    version: String,
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Chunk-size lines as sent (extensions included), the last `0` too.
    chunk_lines: Vec<String>,
    trailers: Vec<(String, String)>,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn closes(&self) -> bool {
        self.headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("connection")
                && v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close"))
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// How a connection ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Eof,
    /// The server closed with bytes of ours unread (RST): closed all the same.
    Reset,
}

struct Raw<S> {
    s: S,
    buf: Vec<u8>,
    reads: usize,
}

impl Raw<TcpStream> {
    fn tcp(addr: SocketAddr) -> Self {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(WAIT)).unwrap();
        s.set_nodelay(true).unwrap();
        Self::new(s)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl<S: Read + Write> Raw<S> {
    fn new(s: S) -> Self {
        Self {
            s,
            buf: Vec::new(),
            reads: 0,
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("write to the server");
    }

    /// One read, appended to the buffer. `Err`: the connection ended (or the read failed).
    fn try_fill(&mut self) -> io::Result<usize> {
        let mut piece = [0u8; 64 * 1024];
        let n = self.s.read(&mut piece)?;
        self.reads += 1;
        self.buf.extend_from_slice(&piece[..n]);
        Ok(n)
    }

    fn fill(&mut self) {
        match self.try_fill() {
            Ok(0) => panic!(
                "the server closed; unparsed: {:?}",
                String::from_utf8_lossy(&self.buf)
            ),
            Ok(_) => {}
            Err(e) => panic!(
                "read failed: {e}; unparsed: {:?}",
                String::from_utf8_lossy(&self.buf)
            ),
        }
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            self.fill();
        }
        self.buf.drain(..n).collect()
    }

    fn line(&mut self) -> String {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..i + 2).collect();
                return String::from_utf8_lossy(&line[..i]).into_owned();
            }
            self.fill();
        }
    }

    fn fields(&mut self) -> Vec<(String, String)> {
        let mut fields = Vec::new();
        loop {
            let line = self.line();
            if line.is_empty() {
                return fields;
            }
            let (name, value) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("bad field line {line:?}"));
            fields.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
    }

    /// The next response; `head_request`: it answers a HEAD (no body).
    fn response(&mut self, head_request: bool) -> RawResponse {
        let status_line = self.line();
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default().to_owned();
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let headers = self.fields();
        let mut response = RawResponse {
            version,
            status,
            headers,
            body: Vec::new(),
            chunk_lines: Vec::new(),
            trailers: Vec::new(),
        };
        if head_request || status < 200 || status == 204 || status == 304 {
            return response;
        }
        if response
            .header("transfer-encoding")
            .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
        {
            loop {
                let line = self.line();
                let size = line.split(';').next().unwrap_or_default().trim();
                let size = usize::from_str_radix(size, 16)
                    .unwrap_or_else(|_| panic!("bad chunk-size line {line:?}"));
                response.chunk_lines.push(line);
                if size == 0 {
                    response.trailers = self.fields();
                    return response;
                }
                let data = self.take(size);
                response.body.extend_from_slice(&data);
                assert_eq!(self.take(2), b"\r\n", "chunk data not followed by CRLF");
            }
        }
        if let Some(n) = response.header("content-length") {
            let n: usize = n.parse().expect("content-length");
            response.body = self.take(n);
            return response;
        }
        // Delimited by the end of the connection.
        let (rest, _) = self.rest();
        response.body = rest;
        response
    }

    /// Everything until the server closes, and how it closed.
    fn rest(&mut self) -> (Vec<u8>, End) {
        loop {
            match self.try_fill() {
                Ok(0) => return (std::mem::take(&mut self.buf), End::Eof),
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                    ) =>
                {
                    return (std::mem::take(&mut self.buf), End::Reset)
                }
                Err(e) => panic!(
                    "the server did not close the connection ({e}); received {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
            }
        }
    }

    /// The server closes without sending anything more.
    fn expect_closed(&mut self) -> End {
        let (rest, end) = self.rest();
        assert!(
            rest.is_empty(),
            "bytes after the last response: {:?}",
            String::from_utf8_lossy(&rest)
        );
        end
    }
}

fn get(target: &str) -> String {
    format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n")
}

// ---------------------------------------------------------------------------------------
// 1. Bodies of every kind, both ways.

#[test]
fn request_bodies_of_every_kind_reach_the_handler() {
    let _g = shared();
    let (server, _) = app_server(|s| s);
    let mut conn = connect(&server);

    let mut check = |method: Method, body: Body<'_>, framing: &str, data: &[u8], trailers: &str| {
        let mut r = conn
            .request(method.clone(), "/echo", HeaderMap::new(), body)
            .expect("request");
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.headers["x-framing"], framing);
        assert_eq!(r.headers["x-trailers"], trailers);
        assert_eq!(r.headers["x-method"], method.as_str());
        let got = r.body.read_all().expect("read the echo");
        assert_eq!(got.len(), data.len());
        assert!(got == data, "{framing}: the echoed body differs");
    };

    check(
        Method::PUT,
        Body::bytes(&b"hello"[..]),
        "length 5",
        b"hello",
        "",
    );
    check(
        Method::POST,
        Body::from(String::from("a string body")),
        "length 13",
        b"a string body",
        "",
    );
    let big = pattern(BIG);
    check(
        Method::PUT,
        Body::reader(Cursor::new(big.clone()), BIG as u64),
        &format!("length {BIG}"),
        &big,
        "",
    );
    check(
        Method::PUT,
        Body::chunked_reader(Cursor::new(big.clone())),
        "chunked",
        &big,
        "",
    );
    let mut expected = b"abcdef".to_vec();
    expected.extend_from_slice(&pattern(70_000));
    check(
        Method::POST,
        Body::chunks(vec![
            Chunk::new("abc").with_extension("k", Some("v")),
            Chunk::new("def")
                .with_extension("bare", None)
                .with_extension("q", Some("a quoted value")),
            Chunk::new(pattern(70_000)),
        ])
        .with_trailers(headers(&[("x-sum", "42"), ("x-other", "yes")])),
        "chunked",
        &expected,
        "x-other=yes; x-sum=42",
    );
    // PUT with no body: `content-length: 0`, which the handler sees as no body.
    check(Method::PUT, Body::empty(), "none", b"", "");
}

#[test]
fn raw_chunked_request_with_extensions_and_trailers() {
    let _g = shared();
    let (server, _) = app_server(|s| s);
    let mut raw = Raw::tcp(tcp_addr(&server));
    raw.send(
        b"PUT /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
          3;a=b;c=\"d;e\\\"f\"\r\nabc\r\n\
          2;x\r\nde\r\n\
          A ; spaced = \"yes\"\r\n0123456789\r\n\
          0;last\r\nX-T: 1\r\nX-U: two words\r\n\r\n",
    );
    let r = raw.response(false);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "abcde0123456789");
    assert_eq!(r.header("x-framing"), Some("chunked"));
    assert_eq!(r.header("x-trailers"), Some("x-t=1; x-u=two words"));
    // Still usable.
    raw.send(get("/after").as_bytes());
    assert_eq!(
        raw.response(false).text(),
        default_answer("GET", "/after", "")
    );
}

/// A body of many tiny chunks reaches the handler in a few reads, not one a chunk: the
/// loop hands over every piece it has at once, with one wake-up of the handler. (Handed
/// over one by one, 1-byte chunks cost `serve` 1.7 µs of CPU each, 40 times what they
/// cost now: about 3.5 MB/s of such input from one client filled a core.)
#[test]
fn tiny_chunks_reach_the_handler_in_few_reads() {
    const CHUNKS: usize = 300_000;
    let _g = shared();
    let server = start(tcp(|_session, mut request| {
        let (mut reads, mut bytes, mut buf) = (0usize, 0usize, vec![0u8; 64 * 1024]);
        loop {
            match request.body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => (reads, bytes) = (reads + 1, bytes + n),
                Err(e) => return Response::text(StatusCode::BAD_REQUEST, e.to_string()),
            }
        }
        Response::text(StatusCode::OK, format!("{reads} {bytes}"))
    }));
    let mut raw = Raw::tcp(tcp_addr(&server));
    let mut request =
        b"POST /tiny HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    request.extend(b"1\r\nx\r\n".repeat(CHUNKS));
    request.extend(b"0\r\n\r\n");
    raw.send(&request);
    let r = raw.response(false);
    assert_eq!(r.status, 200, "{}", r.text());
    let (reads, bytes) = r.text().split_once(' ').map_or((0, 0), |(a, b)| {
        (a.parse::<usize>().unwrap_or(0), b.parse().unwrap_or(0))
    });
    assert_eq!(bytes, CHUNKS, "{}", r.text());
    // A read for each piece of the socket's the loop takes (14 here); 29,330 when each
    // chunk was handed over alone.
    assert!(reads <= 1_000, "{reads} reads for {CHUNKS} 1-byte chunks");
}

#[test]
fn response_bodies_of_every_kind_reach_the_client() {
    let _g = shared();
    let (server, _) = app_server(|s| s);
    let mut conn = connect(&server);

    let mut r = conn.get("/empty", HeaderMap::new()).unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-length"], "0");
    assert_eq!(r.body.read_all().unwrap(), b"");

    let mut r = conn.get("/bytes", HeaderMap::new()).unwrap();
    assert_eq!(r.headers["content-length"], "12");
    assert_eq!(r.body.read_all().unwrap(), b"hello, bytes");

    let mut r = conn.get("/reader", HeaderMap::new()).unwrap();
    assert_eq!(r.headers["content-length"], BIG.to_string().as_str());
    assert!(r.body.read_all().unwrap() == pattern(BIG));

    let mut r = conn.get("/chunked-reader", HeaderMap::new()).unwrap();
    assert_eq!(r.headers["transfer-encoding"], "chunked");
    assert!(r.headers.get("content-length").is_none());
    assert_eq!(r.body.framing(), Framing::Chunked);
    assert!(r.body.read_all().unwrap() == pattern(BIG));

    let mut r = conn.get("/chunks", HeaderMap::new()).unwrap();
    assert_eq!(r.headers["transfer-encoding"], "chunked");
    assert_eq!(r.body.read_all().unwrap(), b"firstsecondthird");
    assert_eq!(describe(&r.body.trailers()), "x-checksum=abc123; x-count=3");

    // The connection is still good after all of them.
    let mut r = conn.get("/last", HeaderMap::new()).unwrap();
    assert_eq!(
        r.body.read_all().unwrap(),
        default_answer("GET", "/last", "").as_bytes()
    );
}

#[test]
fn response_bodies_on_the_wire() {
    let _g = shared();
    let (server, _) = app_server(|s| s);
    let mut raw = Raw::tcp(tcp_addr(&server));
    raw.send(
        format!(
            "{}{}{}{}",
            get("/chunks"),
            get("/chunked-reader"),
            get("/reader"),
            get("/empty")
        )
        .as_bytes(),
    );

    let r = raw.response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.version, "HTTP/1.1");
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.header("content-length"), None);
    assert_eq!(
        r.chunk_lines,
        ["5;name=value", "6;flag", "5;q=\"two words\"", "0"]
    );
    assert_eq!(r.text(), "firstsecondthird");
    assert_eq!(
        r.trailers,
        [
            ("x-checksum".to_owned(), "abc123".to_owned()),
            ("x-count".to_owned(), "3".to_owned())
        ]
    );
    assert!(!r.closes());

    let r = raw.response(false);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert!(r.body == pattern(BIG));
    assert!(r.trailers.is_empty());

    let r = raw.response(false);
    assert_eq!(r.header("content-length"), Some(BIG.to_string().as_str()));
    assert!(r.body == pattern(BIG));

    let r = raw.response(false);
    assert_eq!(r.header("content-length"), Some("0"));
    assert!(r.body.is_empty());
}

#[test]
fn head_announces_the_framing_without_a_body() {
    let _g = shared();
    let (server, _) = app_server(|s| s);

    let mut conn = connect(&server);
    for (path, field, value) in [
        ("/bytes", "content-length", "12".to_owned()),
        ("/reader", "content-length", BIG.to_string()),
        ("/empty", "content-length", "0".to_owned()),
        ("/chunked-reader", "transfer-encoding", "chunked".to_owned()),
        ("/chunks", "transfer-encoding", "chunked".to_owned()),
    ] {
        let mut r = conn.head(path, HeaderMap::new()).unwrap();
        assert_eq!(r.status, StatusCode::OK, "HEAD {path}");
        assert_eq!(r.headers[field], value.as_str(), "HEAD {path}");
        assert_eq!(r.body.read_all().unwrap(), b"", "HEAD {path}");
    }
    let mut r = conn.get("/bytes", HeaderMap::new()).unwrap();
    assert_eq!(r.body.read_all().unwrap(), b"hello, bytes");

    // On the wire: nothing follows a HEAD response's head but the next response.
    let mut raw = Raw::tcp(tcp_addr(&server));
    let mut requests = String::new();
    for path in ["/reader", "/chunks", "/bytes", "/chunked-reader"] {
        requests.push_str(&format!("HEAD {path} HTTP/1.1\r\nHost: x\r\n\r\n"));
    }
    requests.push_str(&get("/bytes"));
    raw.send(requests.as_bytes());
    for _ in 0..4 {
        let r = raw.response(true);
        assert_eq!(r.status, 200);
    }
    let r = raw.response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "hello, bytes");
}

#[test]
fn no_body_in_204_and_304() {
    let _g = shared();
    let (server, _) = app_server(|s| s);
    let mut raw = Raw::tcp(tcp_addr(&server));
    raw.send(format!("{}{}{}", get("/204"), get("/304"), get("/bytes")).as_bytes());
    let r = raw.response(false);
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("content-length"),
        None,
        "a 204 has no Content-Length"
    );
    assert_eq!(r.header("transfer-encoding"), None);
    let r = raw.response(false);
    assert_eq!(r.status, 304);
    assert_eq!(r.header("transfer-encoding"), None);
    // Nothing between the 304's head and the next response.
    let r = raw.response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "hello, bytes");

    let mut conn = connect(&server);
    for path in ["/204", "/304"] {
        let mut r = conn.get(path, HeaderMap::new()).unwrap();
        assert_eq!(r.body.read_all().unwrap(), b"");
    }
    assert!(conn.is_reusable());
}

/// The server relays no tunnel and switches to no other protocol: a handler's 2xx to
/// CONNECT, or its 101, is answered 500, and the connection goes on as after any refused
/// switch (was: nothing sent, and the connection closed).
#[test]
fn a_handler_that_says_yes_to_a_switch_gets_a_500() {
    let _g = shared();
    let (server, seen) = app_server(|s| s);
    for ask in [
        "CONNECT tunnel:443 HTTP/1.1\r\nHost: tunnel:443\r\n\r\n",
        "GET /switch HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n",
        "GET /switch HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        let before = seen.calls();
        let mut raw = Raw::tcp(tcp_addr(&server));
        raw.send(format!("{ask}{}", get("/bytes")).as_bytes());
        let r = raw.response(false);
        assert_eq!(r.status, 500, "{ask:?}: {}", r.text());
        assert_eq!(
            r.text(),
            "this server does not switch protocols or relay tunnels"
        );
        let next = raw.response(false);
        assert_eq!(
            next.text(),
            "hello, bytes",
            "{ask:?}: the connection goes on"
        );
        assert_eq!(seen.calls() - before, 2, "{ask:?}");
    }
}

#[test]
fn a_204_or_304_with_a_body_is_answered_without_it() {
    let _g = shared();
    let (server, _) = app_server(|s| s);
    for (path, status) in [("/204-body", 204), ("/304-body", 304)] {
        let mut raw = Raw::tcp(tcp_addr(&server));
        raw.send(format!("{}{}", get(path), get("/bytes")).as_bytes());
        let r = raw.response(false);
        assert_eq!(r.status, status, "{path}");
        assert_eq!(r.header("transfer-encoding"), None);
        let r = raw.response(false);
        assert_eq!(
            r.text(),
            "hello, bytes",
            "{path}: nothing may follow the head"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 2. Pipelining.

#[test]
fn a_thousand_pipelined_requests_answered_in_order() {
    let _g = shared();
    let (server, seen) = app_server(|s| s);
    let mut conn = connect(&server);
    let method = |i: usize| match i % 3 {
        0 => Method::GET,
        1 => Method::HEAD,
        _ => Method::PUT,
    };
    for i in 0..1000 {
        let target = format!("/p/{i}");
        let body = if i % 3 == 2 {
            Body::from(format!("body of {i}"))
        } else {
            Body::empty()
        };
        conn.send_request(method(i), &target, HeaderMap::new(), body)
            .expect("send_request");
    }
    for i in 0..1000 {
        let target = format!("/p/{i}");
        let head = conn.read_response().expect("read_response");
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(head.headers["x-target"], target.as_str(), "response {i}");
        let body = if i % 3 == 2 {
            format!("body of {i}")
        } else {
            String::new()
        };
        let expected = default_answer(method(i).as_str(), &target, &body);
        assert_eq!(
            head.headers["content-length"],
            expected.len().to_string().as_str()
        );
        if method(i) == Method::HEAD {
            assert_eq!(head.framing, Framing::None);
        } else {
            assert_eq!(
                conn.read_all().unwrap(),
                expected.as_bytes(),
                "response {i}"
            );
        }
    }
    assert!(!conn.response_pending());
    assert_eq!(seen.calls(), 1000);
}

#[test]
fn pipelined_responses_are_batched_into_few_writes() {
    let _g = shared();
    let (server, _) = app_server(|s| s);
    let mut raw = Raw::tcp(tcp_addr(&server));
    const N: usize = 200;
    let requests: String = (0..N).map(|i| get(&format!("/b/{i}"))).collect();
    raw.send(requests.as_bytes());
    for i in 0..N {
        let r = raw.response(false);
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), default_answer("GET", &format!("/b/{i}"), ""));
    }
    println!("{N} pipelined responses arrived in {} reads", raw.reads);
    assert!(
        raw.reads <= N / 4,
        "{N} responses took {} reads: not batched",
        raw.reads
    );
}

/// Pipelined responses wait to be written together while handlers return at once; but a
/// response already made does not wait for a handler that blocks after it: behind one the
/// watchdog found blocking, what is queued goes out before the next handler is called.
/// (Five pipelined 500 ms requests: the first answer came after 2.5 s, with the last.)
#[test]
fn a_response_made_does_not_wait_for_the_next_pipelined_handler_that_blocks() {
    let _g = shared();
    let (release, released) = mpsc::channel::<()>();
    let released = Mutex::new(released);
    let server = start(tcp(move |_, request| {
        match request.path() {
            // Slow enough for the watchdog to notice.
            "/slow" => thread::sleep(Duration::from_millis(100)),
            // Blocks until the test lets it go (or the test is over).
            "/block" => {
                let _ = released.lock().unwrap().recv_timeout(2 * WAIT);
            }
            _ => {}
        }
        Response::text(StatusCode::OK, request.path().to_owned())
    }));
    let mut raw = Raw::tcp(tcp_addr(&server));
    raw.send(format!("{}{}", get("/slow"), get("/block")).as_bytes());
    // The first answer comes while the second handler still blocks.
    let first = raw.response(false);
    assert_eq!((first.status, first.text()), (200, "/slow".to_owned()));
    release.send(()).unwrap();
    let second = raw.response(false);
    assert_eq!((second.status, second.text()), (200, "/block".to_owned()));
}

#[test]
fn requests_trickling_in_byte_by_byte() {
    let _g = shared();
    let (server, _) = app_server(|s| s);
    let mut raw = Raw::tcp(tcp_addr(&server));
    let requests = format!(
        "{}PUT /t/2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello{}",
        get("/t/1"),
        get("/t/3")
    );
    for b in requests.as_bytes() {
        raw.send(std::slice::from_ref(b));
    }
    assert_eq!(
        raw.response(false).text(),
        default_answer("GET", "/t/1", "")
    );
    assert_eq!(
        raw.response(false).text(),
        default_answer("PUT", "/t/2", "hello")
    );
    assert_eq!(
        raw.response(false).text(),
        default_answer("GET", "/t/3", "")
    );
}

#[test]
fn the_handler_sees_the_head_as_sent() {
    let _g = shared();
    let (server, _) = app_server(|s| s);
    let mut raw = Raw::tcp(tcp_addr(&server));
    raw.send(
        b"GET /head?a=1&b HTTP/1.1\r\nHost: example.test:8080\r\nX-Twice: one\r\n\
          User-Agent: raw test/1.0\r\nx-twice:  two \r\nAccept: */*\r\n\r\n\
          GET /head HTTP/1.0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        raw.response(false).text(),
        "GET /head?a=1&b HTTP/1.1 path=/head query=Some(\"a=1&b\")\n\
         host: example.test:8080\n\
         x-twice: one\n\
         user-agent: raw test/1.0\n\
         x-twice: two\n\
         accept: */*\n\
         get(host)=Some(\"example.test:8080\") get_all(x-twice)=[\"one\", \"two\"] map=5"
    );
    assert_eq!(
        raw.response(false).text(),
        "GET /head HTTP/1.0 path=/head query=None\n\
         connection: close\n\
         get(host)=None get_all(x-twice)=[] map=1"
    );
}

// ---------------------------------------------------------------------------------------
// 3. 100-continue.

#[test]
fn continue_when_the_handler_reads_the_body() {
    let _g = shared();
    let (server, _) = app_server(|s| s);

    let mut raw = Raw::tcp(tcp_addr(&server));
    raw.send(b"PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    let r = raw.response(false);
    assert_eq!(r.status, 100, "the 100 comes before the body is sent");
    raw.send(b"hello");
    let r = raw.response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "hello");
    assert!(!r.closes());
    raw.send(get("/next").as_bytes());
    assert_eq!(
        raw.response(false).text(),
        default_answer("GET", "/next", "")
    );

    // The client does the same.
    let mut conn = connect(&server);
    let mut r = conn
        .request(
            Method::PUT,
            "/echo",
            headers(&[("expect", "100-continue")]),
            "continued",
        )
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body.read_all().unwrap(), b"continued");
    assert!(conn.is_reusable());
}

#[test]
fn no_continue_when_the_handler_does_not_read() {
    let _g = shared();
    let (server, seen) = app_server(|s| s);

    let mut raw = Raw::tcp(tcp_addr(&server));
    raw.send(
        b"PUT /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    );
    let r = raw.response(false);
    assert_eq!(r.status, 200, "the final status, with no 100 before it");
    assert_eq!(r.text(), "ignored");
    assert!(r.closes(), "the connection closes after it");
    raw.expect_closed();
    assert_eq!(seen.calls(), 1);

    let mut conn = connect(&server);
    let mut r = conn
        .request(
            Method::PUT,
            "/ignore",
            headers(&[("expect", "100-continue")]),
            "never sent",
        )
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body.read_all().unwrap(), b"ignored");
    assert!(!conn.is_reusable());
}

// ---------------------------------------------------------------------------------------
// 4. Unread request bodies.

#[test]
fn a_small_unread_body_is_skipped_never_misread() {
    let _g = shared();
    let (server, seen) = app_server(|s| s);
    let smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut raw = Raw::tcp(tcp_addr(&server));

    // A body that looks like a request, then a real one.
    let mut body = smuggled.repeat(100);
    body.push_str(&"x".repeat(100_000));
    raw.send(
        format!(
            "PUT /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}{}",
            body.len(),
            get("/next")
        )
        .as_bytes(),
    );
    let r = raw.response(false);
    assert_eq!(r.text(), "ignored");
    assert!(!r.closes());
    assert_eq!(
        raw.response(false).text(),
        default_answer("GET", "/next", "")
    );

    // The same with a chunked body.
    let chunk = smuggled.repeat(10);
    raw.send(
        format!(
            "POST /ignore HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
             {:x}\r\n{chunk}\r\n{:x};ext=1\r\n{chunk}\r\n0\r\nX-T: 1\r\n\r\n{}",
            chunk.len(),
            chunk.len(),
            get("/next2")
        )
        .as_bytes(),
    );
    assert_eq!(raw.response(false).text(), "ignored");
    assert_eq!(
        raw.response(false).text(),
        default_answer("GET", "/next2", "")
    );
    assert!(!seen.saw("/smuggled"));
    assert_eq!(seen.calls(), 4);
}

/// A client that asked for the close (`Connection: close`, or HTTP/1.0) and whose body
/// the handler left unread gets its response and then the close, whatever the body's
/// size: a body short enough to be read and dropped (100 KB; the server reads up to
/// 256 KiB of one) left the connection waiting for the next request until the client
/// closed or the idle timeout (60 s) passed.
#[test]
fn an_unread_body_of_a_client_that_asked_for_the_close_ends_the_connection() {
    let _g = shared();
    let (server, _seen) = app_server(|s| s);
    for (version, connection) in [("1.1", "Connection: close\r\n"), ("1.0", "")] {
        for n in [1_000, 100_000, 200_000] {
            let what = format!("HTTP/{version}, {n}-byte body");
            let mut raw = Raw::tcp(tcp_addr(&server));
            let mut request = format!(
                "PUT /ignore HTTP/{version}\r\nHost: x\r\n{connection}Content-Length: {n}\r\n\r\n"
            )
            .into_bytes();
            request.extend(std::iter::repeat_n(b'u', n));
            raw.send(&request);
            let r = raw.response(false);
            assert_eq!(r.text(), "ignored", "{what}");
            assert!(r.closes(), "{what}");
            let started = Instant::now();
            let (rest, _end) = raw.rest();
            assert!(
                rest.is_empty(),
                "{what}: {:?}",
                String::from_utf8_lossy(&rest)
            );
            // The close comes at once; the idle timeout is 60 s.
            assert!(started.elapsed() < Duration::from_secs(5), "{what}");
        }
    }
}

#[test]
fn a_large_unread_body_closes_the_connection() {
    let _g = shared();
    let (server, seen) = app_server(|s| s);
    let mut raw = Raw::tcp(tcp_addr(&server));
    const N: usize = 1 << 20;
    raw.send(format!("PUT /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: {N}\r\n\r\n").as_bytes());
    raw.s.set_write_timeout(Some(WAIT)).unwrap();
    let mut writer = raw.s.try_clone().unwrap();
    let body = thread::spawn(move || {
        // Fails once the server closes: fine.
        let mut sent = 0;
        let piece = vec![b'G'; 64 * 1024];
        while sent < N {
            match writer.write(&piece) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        let _ = writer.write_all(get("/after").as_bytes());
    });
    let r = raw.response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "ignored");
    let end = raw.expect_closed();
    body.join().unwrap();
    println!(
        "a 1 MiB unread body: response (connection: close announced: {}), then {end:?}",
        r.closes()
    );
    assert!(!seen.saw("/after"));
    assert_eq!(seen.calls(), 1);
}

// ---------------------------------------------------------------------------------------
// 5. The malformed battery.

struct Vector {
    name: &'static str,
    bytes: Vec<u8>,
    status: u16,
    /// Handler calls: 0 for a bad head; 1 when the head is good and the body is not (the
    /// handler reads it, fails, and answers 400).
    calls: usize,
}

const SMUGGLED: &str = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";

fn head_vector(name: &'static str, head: &str, status: u16) -> Vector {
    Vector {
        name,
        bytes: format!("{head}{SMUGGLED}").into_bytes(),
        status,
        calls: 0,
    }
}

/// A chunked POST whose body holds `chunks` (then the smuggled request). The body is
/// received before the handler is called, so a malformed one never reaches it.
fn chunk_vector(name: &'static str, chunks: &str) -> Vector {
    Vector {
        name,
        bytes: format!(
            "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{chunks}{SMUGGLED}"
        )
        .into_bytes(),
        status: 400,
        calls: 0,
    }
}

fn battery() -> Vec<Vector> {
    let post =
        |fields: &str, body: &str| format!("POST /x HTTP/1.1\r\nHost: x\r\n{fields}\r\n{body}");
    let chunked0 = "0\r\n\r\n";
    let mut v = vec![
        // Content-Length with Transfer-Encoding, both orders.
        head_vector(
            "CL.TE",
            &post(
                "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                chunked0,
            ),
            400,
        ),
        head_vector(
            "TE.CL",
            &post(
                "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                chunked0,
            ),
            400,
        ),
        head_vector(
            "CL 0 with TE",
            &post(
                "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n",
                chunked0,
            ),
            400,
        ),
        // Content-Length: duplicates, lists, junk.
        head_vector(
            "duplicate CL",
            &post("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"),
            400,
        ),
        head_vector("CL list", &post("Content-Length: 5, 6\r\n", "hello!"), 400),
        head_vector("CL sign", &post("Content-Length: +5\r\n", "hello"), 400),
        head_vector("CL negative", &post("Content-Length: -5\r\n", ""), 400),
        head_vector("CL empty", &post("Content-Length: \r\n", ""), 400),
        head_vector("CL hex", &post("Content-Length: 0x5\r\n", "hello"), 400),
        head_vector(
            "CL space inside",
            &post("Content-Length: 1 0\r\n", "0123456789"),
            400,
        ),
        head_vector(
            "CL overflow",
            &post("Content-Length: 99999999999999999999999\r\n", ""),
            400,
        ),
        // Transfer-Encoding: not final, twice, unknown, obfuscated.
        head_vector(
            "TE chunked not final",
            &post("Transfer-Encoding: chunked, gzip\r\n", chunked0),
            400,
        ),
        head_vector(
            "TE chunked twice",
            &post("Transfer-Encoding: chunked, chunked\r\n", chunked0),
            400,
        ),
        head_vector(
            "TE chunked in two fields",
            &post(
                "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                chunked0,
            ),
            400,
        ),
        head_vector(
            "TE chunked with a parameter",
            &post("Transfer-Encoding: chunked;q=1\r\n", chunked0),
            400,
        ),
        head_vector(
            "TE quoted",
            &post("Transfer-Encoding: \"chunked\"\r\n", chunked0),
            400,
        ),
        head_vector(
            "TE unknown",
            &post("Transfer-Encoding: gzip\r\n", chunked0),
            400,
        ),
        head_vector(
            "TE xchunked",
            &post("Transfer-Encoding: xchunked\r\n", chunked0),
            400,
        ),
        head_vector(
            "TE identity",
            &post("Transfer-Encoding: identity\r\n", chunked0),
            400,
        ),
        head_vector(
            "TE unknown, then chunked",
            &post("Transfer-Encoding: gzip, chunked\r\n", chunked0),
            501,
        ),
        head_vector(
            "TE space before colon",
            &post("Transfer-Encoding : chunked\r\n", chunked0),
            400,
        ),
        head_vector(
            "TE obs-fold",
            &post("Transfer-Encoding:\r\n chunked\r\n", chunked0),
            400,
        ),
        head_vector(
            "TE in HTTP/1.0",
            &format!("POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n{chunked0}"),
            400,
        ),
        // Header section syntax.
        head_vector(
            "obs-fold",
            "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
            400,
        ),
        head_vector("bare LF line ends", "GET / HTTP/1.1\nHost: x\n\n", 400),
        head_vector(
            "bare LF in the header section",
            "GET / HTTP/1.1\r\nHost: x\nX-A: a\r\n\r\n",
            400,
        ),
        head_vector("bare CR", "GET / HTTP/1.1\r\nHost: x\rX-A: a\r\n\r\n", 400),
        head_vector(
            "NUL in a value",
            "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n",
            400,
        ),
        head_vector(
            "space before colon",
            "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
            400,
        ),
        head_vector(
            "whitespace before the first field",
            "GET / HTTP/1.1\r\n Host: x\r\n\r\n",
            400,
        ),
        head_vector("no colon", "GET / HTTP/1.1\r\nHost: x\r\nX-A\r\n\r\n", 400),
        // Host.
        head_vector("missing Host in 1.1", "GET / HTTP/1.1\r\n\r\n", 400),
        head_vector(
            "duplicate Host",
            "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
            400,
        ),
        // Request line.
        head_vector("HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        head_vector("HTTP/3.0", "GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505),
        head_vector("HTTP/1.10", "GET / HTTP/1.10\r\nHost: x\r\n\r\n", 400),
        head_vector(
            "lowercase version",
            "GET / http/1.1\r\nHost: x\r\n\r\n",
            400,
        ),
        head_vector("two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        head_vector("tab separator", "GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        head_vector("trailing space", "GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400),
        head_vector("bad method", "G@T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        // Sizes.
        head_vector(
            "huge head",
            &format!(
                "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
                "b".repeat(20_000)
            ),
            431,
        ),
        head_vector(
            "long request line",
            &format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(20_000)),
            414,
        ),
        head_vector(
            "too many fields",
            &format!(
                "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
                (0..101)
                    .map(|i| format!("X-H{i}: v\r\n"))
                    .collect::<String>()
            ),
            431,
        ),
    ];
    // A CONNECT has no content (RFC 9110 §9.3.6): its Content-Length is ignored, the
    // handler is called, and its refusal closes the connection, so the bytes a front end
    // may have counted as content never become a request here.
    v.push(Vector {
        name: "CONNECT with Content-Length",
        bytes: format!(
            "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: {}\r\n\r\n{SMUGGLED}",
            SMUGGLED.len()
        )
        .into_bytes(),
        status: 403,
        calls: 1,
    });
    // Chunked bodies: the head is good, so the handler runs, reads, fails and answers
    // 400; nothing after the bad body may be taken for a request.
    v.extend([
        chunk_vector("chunk size 0x", "0x5\r\nhello\r\n0\r\n\r\n"),
        chunk_vector("chunk size sign", "+5\r\nhello\r\n0\r\n\r\n"),
        chunk_vector("chunk size negative", "-5\r\nhello\r\n0\r\n\r\n"),
        chunk_vector("chunk size underscore", "5_0\r\nhello\r\n0\r\n\r\n"),
        chunk_vector("chunk size leading space", " 5\r\nhello\r\n0\r\n\r\n"),
        chunk_vector("chunk size empty", "\r\nhello\r\n0\r\n\r\n"),
        chunk_vector("chunk size not hex", "g\r\nhello\r\n0\r\n\r\n"),
        chunk_vector(
            "chunk size overflow",
            "fffffffffffffffff5\r\nhello\r\n0\r\n\r\n",
        ),
        chunk_vector("chunk size bare LF", "5\nhello\r\n0\r\n\r\n"),
        chunk_vector("chunk data without CRLF", "5\r\nhelloXX0\r\n\r\n"),
        chunk_vector("chunk data bare LF", "5\r\nhello\n0\r\n\r\n"),
        chunk_vector("chunk extension bare LF", "5;a=b\nc\r\nhello\r\n0\r\n\r\n"),
        chunk_vector(
            "chunk extension unbalanced quote",
            "5;a=\"b\r\nhello\r\n0\r\n\r\n",
        ),
        chunk_vector(
            "chunk extension too long",
            &format!("5;a={}\r\nhello\r\n0\r\n\r\n", "e".repeat(5000)),
        ),
        chunk_vector("last chunk bare LF", "5\r\nhello\r\n0\n\r\n"),
        chunk_vector(
            "trailer obs-fold",
            "5\r\nhello\r\n0\r\nX-T: a\r\n b\r\n\r\n",
        ),
    ]);
    v
}

#[test]
fn malformed_requests_get_their_status_close_and_eof() {
    let _g = shared();
    let (server, seen) = app_server(|s| s);
    let addr = tcp_addr(&server);
    let mut failures = Vec::new();
    let mut resets = Vec::new();
    for vector in battery() {
        let before = seen.calls();
        let mut raw = Raw::tcp(addr);
        // A large vector may meet a closed connection halfway: the response still counts.
        let _ = raw.s.write_all(&vector.bytes);
        let r = raw.response(false);
        let end = raw.expect_closed();
        let calls = seen.calls() - before;
        if end == End::Reset {
            resets.push(vector.name);
        }
        if r.status != vector.status || !r.closes() || calls != vector.calls {
            failures.push(format!(
                "{}: status {} (expected {}), connection: {:?}, handler calls {} (expected {}), body {:?}",
                vector.name,
                r.status,
                vector.status,
                r.header("connection"),
                calls,
                vector.calls,
                r.text()
            ));
        }
    }
    println!("closed with RST (unread bytes at close): {resets:?}");
    assert!(
        !seen.saw("/smuggled"),
        "a smuggled request reached the handler"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn leading_empty_lines_are_ignored() {
    let _g = shared();
    let (server, _) = app_server(|s| s);
    let mut raw = Raw::tcp(tcp_addr(&server));
    raw.send(format!("\r\n{}", get("/after-crlf")).as_bytes());
    assert_eq!(
        raw.response(false).text(),
        default_answer("GET", "/after-crlf", "")
    );
}

// ---------------------------------------------------------------------------------------
// 6. Limits and timeouts.

#[test]
fn max_requests_closes_after_the_last() {
    let _g = shared();
    let (server, seen) = app_server(|s| s.max_requests(3));
    let mut raw = Raw::tcp(tcp_addr(&server));
    let requests: String = (1..=4).map(|i| get(&format!("/m{i}"))).collect();
    raw.send(requests.as_bytes());
    for i in 1..=3 {
        let r = raw.response(false);
        assert_eq!(r.text(), default_answer("GET", &format!("/m{i}"), ""));
        assert_eq!(r.closes(), i == 3, "response {i}: {:?}", r.headers);
    }
    raw.expect_closed();
    assert!(!seen.saw("/m4"));
    assert_eq!(seen.calls(), 3);

    let mut conn = connect(&server);
    for i in 1..=3 {
        let mut r = conn.get("/c", HeaderMap::new()).unwrap();
        r.body.read_all().unwrap();
        assert_eq!(conn.is_reusable(), i < 3);
    }
}

/// The close is not left to the idle timeout when the body never comes.
#[test]
fn max_requests_closes_even_before_the_body_arrives() {
    let _g = shared();
    let (server, _) = app_server(|s| s.max_requests(1));
    let mut raw = Raw::tcp(tcp_addr(&server));
    // A client waiting for 100 gets its handler at once (other bodies arrive first).
    raw.send(
        b"PUT /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    );
    let r = raw.response(false);
    assert_eq!(r.text(), "ignored");
    assert!(r.closes());
    raw.expect_closed();
}

#[test]
fn max_connections_refuses_the_one_too_many() {
    let _g = shared();
    let (server, _) = app_server(|s| s.max_connections(2));
    let addr = tcp_addr(&server);
    let roundtrip = |raw: &mut Raw<TcpStream>, path: &str| {
        raw.send(get(path).as_bytes());
        assert_eq!(raw.response(false).text(), default_answer("GET", path, ""));
    };
    let mut a = Raw::tcp(addr);
    roundtrip(&mut a, "/a1");
    let mut b = Raw::tcp(addr);
    roundtrip(&mut b, "/b1");

    let mut c = Raw::tcp(addr);
    let end = c.expect_closed();
    assert_eq!(end, End::Eof, "the third connection is closed at once");

    roundtrip(&mut a, "/a2");
    roundtrip(&mut b, "/b2");

    // Once one closes, a new connection is served (the server notices the close soon).
    drop(a);
    let deadline = Instant::now() + WAIT;
    loop {
        let mut d = Raw::tcp(addr);
        d.send(get("/d").as_bytes());
        match d.try_fill() {
            Ok(n) if n > 0 => {
                assert_eq!(d.response(false).text(), default_answer("GET", "/d", ""));
                break;
            }
            _ => {}
        }
        assert!(Instant::now() < deadline, "no slot freed after a close");
        thread::sleep(Duration::from_millis(10)); // poll interval, not synchronization
    }
    roundtrip(&mut b, "/b3");
}

#[test]
fn head_timeout_answers_408_and_closes() {
    let _g = shared();
    let (server, seen) = app_server(|s| s.head_timeout(Duration::from_millis(200)));
    let mut raw = Raw::tcp(tcp_addr(&server));
    let t = Instant::now();
    raw.send(b"GET / HTTP/1.1\r\nHo");
    let r = raw.response(false);
    let elapsed = t.elapsed();
    assert_eq!(r.status, 408);
    assert!(r.closes());
    raw.expect_closed();
    assert!(
        elapsed >= Duration::from_millis(190),
        "408 after {elapsed:?}"
    );
    println!("408 after {elapsed:?} (head timeout 200 ms)");
    assert_eq!(seen.calls(), 0);
}

#[test]
fn head_timeout_bounds_a_trickled_head() {
    let _g = shared();
    let (server, _) = app_server(|s| s.head_timeout(Duration::from_millis(300)));
    let mut raw = Raw::tcp(tcp_addr(&server));
    raw.s
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    raw.send(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    let t = Instant::now();
    let mut answered = None;
    // A byte every ~50 ms (the read timeout paces it), for up to 3 s.
    while t.elapsed() < Duration::from_secs(3) {
        if raw.s.write_all(b"a").is_err() {
            answered = Some(t.elapsed());
            break;
        }
        match raw.try_fill() {
            Ok(_) => {
                answered = Some(t.elapsed());
                break;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(_) => {
                answered = Some(t.elapsed());
                break;
            }
        }
    }
    let answered = answered.expect("a trickled head was never timed out within 3 s");
    println!("a trickled head timed out after {answered:?} (head timeout 300 ms)");
    raw.s.set_read_timeout(Some(WAIT)).unwrap();
    if !raw.buf.is_empty() {
        assert_eq!(raw.response(false).status, 408);
    }
}

#[test]
fn idle_timeout_closes_without_a_response() {
    let _g = shared();
    let (server, _) = app_server(|s| s.idle_timeout(Duration::from_millis(200)));
    let addr = tcp_addr(&server);

    // After a request. Timed from before the request: the server's idle time starts when
    // its response is out, and a client that reads it late (a busy machine) would see the
    // close sooner after its read than the timeout (189 ms so, beside six spinning
    // processes on two CPUs).
    let mut raw = Raw::tcp(addr);
    let t = Instant::now();
    raw.send(get("/once").as_bytes());
    raw.response(false);
    assert_eq!(raw.expect_closed(), End::Eof);
    let after_request = t.elapsed();

    // Before any request.
    let t = Instant::now();
    let mut silent = Raw::tcp(addr);
    assert_eq!(silent.expect_closed(), End::Eof);
    let silent_elapsed = t.elapsed();
    println!("idle close after {after_request:?}, silent close after {silent_elapsed:?}");
    assert!(after_request >= Duration::from_millis(190));
    assert!(silent_elapsed >= Duration::from_millis(190));
}

#[test]
fn body_timeout_before_the_handler_answers_408() {
    let _g = shared();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let server = start(
        tcp(move |_: &mut Session, _: Request<'_>| {
            let _ = tx.lock().unwrap().send(());
            Response::text(StatusCode::OK, "called")
        })
        .body_timeout(Duration::from_millis(200)),
    );
    let mut raw = Raw::tcp(tcp_addr(&server));
    let t = Instant::now();
    // A short body is received whole before the handler is called: it never is.
    raw.send(b"PUT /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    let r = raw.response(false);
    let elapsed = t.elapsed();
    assert_eq!(r.status, 408);
    assert!(r.closes());
    raw.expect_closed();
    assert!(elapsed >= Duration::from_millis(190), "{elapsed:?}");
    assert!(
        rx.try_recv().is_err(),
        "the handler was called without the body"
    );
}

#[test]
fn body_timeout_while_the_handler_reads() {
    let _g = shared();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let server = start(
        tcp(move |_: &mut Session, mut request: Request<'_>| {
            let result = request.body.read_all();
            let kind = result.as_ref().err().map(io::Error::kind);
            let _ = tx.lock().unwrap().send(kind);
            match result {
                Ok(_) => Response::text(StatusCode::OK, "read it all"),
                Err(e) => Response::text(StatusCode::REQUEST_TIMEOUT, e.to_string()),
            }
        })
        .workers(1)
        .body_timeout(Duration::from_millis(200)),
    );
    let mut raw = Raw::tcp(tcp_addr(&server));
    let t = Instant::now();
    // A long body: the handler is called once part of it is in, and reads the rest.
    raw.send(b"PUT /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n");
    raw.send(&pattern(150_000));
    let kind = rx.recv_timeout(WAIT).expect("the handler returns");
    assert_eq!(kind, Some(io::ErrorKind::TimedOut));
    let (rest, end) = raw.rest();
    let elapsed = t.elapsed();
    let rest = String::from_utf8_lossy(&rest);
    println!("body timeout: closed ({end:?}) after {elapsed:?}; sent {rest:?}");
    assert!(elapsed >= Duration::from_millis(190));
    assert!(!rest.contains("200 OK"));
}

/// Handlers that wait for long request bodies always get a thread to stand in on their
/// loop, whatever `max_blocked_handlers` says: only the loop brings a body in, so without
/// one every such handler (and the server with them) would wait for ever.
#[test]
fn uploads_past_the_blocked_handler_budget_all_complete() {
    let _g = shared();
    let server = start(
        tcp(
            |_: &mut Session, mut request: Request<'_>| match request.body.read_all() {
                Ok(body) => Response::text(StatusCode::OK, body.len().to_string()),
                Err(e) => Response::text(StatusCode::BAD_REQUEST, e.to_string()),
            },
        )
        .workers(1)
        .max_blocked_handlers(0),
    );
    let addr = tcp_addr(&server);
    let (tx, rx) = mpsc::channel();
    for i in 0..4 {
        let tx = tx.clone();
        thread::spawn(move || {
            let n = 300_000 + i * 1000;
            let mut raw = Raw::tcp(addr);
            raw.send(
                format!("PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: {n}\r\n\r\n").as_bytes(),
            );
            // In pieces, so that each handler starts before its body is all there.
            let body = pattern(n);
            for piece in body.chunks(50_000) {
                raw.send(piece);
                thread::sleep(Duration::from_millis(20));
            }
            let r = raw.response(false);
            let _ = tx.send((n, r.status, r.text()));
        });
    }
    for _ in 0..4 {
        let Ok((n, status, text)) = rx.recv_timeout(Duration::from_secs(30)) else {
            // A server stuck for good cannot be stopped either: leave it.
            std::mem::forget(server);
            panic!("an upload got no answer in 30 s: the server is stuck");
        };
        assert_eq!((status, text), (200, n.to_string()));
    }
}

/// Past `max_body_waits`, a handler that would wait for its body with no thread to stand
/// in on its loop gets an error at once instead: without a thread on the loop nothing
/// would ever bring its body in, nor the bodies of the others (the server would be stuck
/// for good, as it was when the system refused a thread). The wait within the budget
/// still completes, and the server goes on.
/// A request body's read error has the kind `RequestBody`'s docs give for each cause, so a
/// handler can tell whose fault it was: the client closing before the end, a malformed
/// chunk line, a chunked body past `max_body`, each met while the handler reads. (The body
/// timeout's `TimedOut`: `body_timeout_while_the_handler_reads`; no thread for the body's
/// `Other`: `a_body_wait_past_max_body_waits_fails_at_once_and_the_server_goes_on`.)
#[test]
fn a_request_body_error_has_the_kind_of_its_cause() {
    let _g = shared();
    let (started, handlers) = mpsc::channel();
    let (tx, rx) = mpsc::channel();
    let (started, tx) = (Mutex::new(started), Mutex::new(tx));
    let server = start(
        tcp(move |_: &mut Session, mut request: Request<'_>| {
            let _ = started.lock().unwrap().send(());
            let kind = request.body.read_all().err().map(|e| e.kind());
            let _ = tx.lock().unwrap().send(kind);
            Response::text(StatusCode::BAD_REQUEST, "")
        })
        .workers(1)
        .limits(Limits::server().max_body(Some(200_000))),
    );
    let addr = tcp_addr(&server);
    // Enough of a body that the handler is called before its end (a short one is read
    // whole first).
    let piece = pattern(100_000);
    let mut length = b"PUT /a HTTP/1.1\r\nHost: x\r\nContent-Length: 150000\r\n\r\n".to_vec();
    length.extend_from_slice(&piece);
    let mut chunked =
        b"PUT /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n186a0\r\n".to_vec();
    chunked.extend_from_slice(&piece);
    chunked.extend_from_slice(b"\r\n");
    // What starts the body, so that the handler is called; then what spoils it (`None`:
    // the client closes).
    type Case<'a> = (&'a str, &'a [u8], Option<&'a [u8]>, io::ErrorKind);
    let cases: [Case<'_>; 3] = [
        (
            "closed before the end",
            &length,
            None,
            io::ErrorKind::UnexpectedEof,
        ),
        (
            "a malformed chunk line",
            &chunked,
            Some(b"zz\r\n"),
            io::ErrorKind::InvalidData,
        ),
        (
            "a chunked body past max_body",
            &chunked,
            // 200,000 bytes more: 300,000 in all.
            Some(b"30d40\r\n"),
            io::ErrorKind::InvalidData,
        ),
    ];
    for (what, start, spoil, want) in cases {
        let mut raw = Raw::tcp(addr);
        raw.send(start);
        let called = handlers.recv_timeout(WAIT);
        assert!(called.is_ok(), "{what}: the handler was not called");
        match spoil {
            Some(bytes) => {
                raw.send(bytes);
                // Some of that chunk's data: the read fails at its size line, or as it comes.
                let _ = raw.s.write_all(&pattern(2000));
            }
            None => raw.s.shutdown(std::net::Shutdown::Both).expect("close"),
        }
        let kind = rx.recv_timeout(WAIT);
        assert_eq!(kind, Ok(Some(want)), "{what}");
    }
}

#[test]
fn a_body_wait_past_max_body_waits_fails_at_once_and_the_server_goes_on() {
    let _g = shared();
    let (started, handlers) = mpsc::channel();
    let started = Mutex::new(started);
    let server = start(
        tcp(move |_: &mut Session, mut request: Request<'_>| {
            let _ = started.lock().unwrap().send(());
            match request.body.read_all() {
                Ok(body) => Response::text(StatusCode::OK, body.len().to_string()),
                Err(e) => Response::text(StatusCode::BAD_REQUEST, format!("{:?}: {e}", e.kind())),
            }
        })
        .workers(1)
        .max_blocked_handlers(0)
        .max_body_waits(1),
    );
    let addr = tcp_addr(&server);
    let head = b"PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n";
    let body = pattern(300_000);
    // The first upload's handler waits for the rest of its body: it takes the one wait.
    let mut first = Raw::tcp(addr);
    first.send(head);
    first.send(&body[..100_000]);
    handlers
        .recv_timeout(WAIT)
        .expect("the first handler starts");
    // The second has no thread to wait on: its read fails, and it answers at once.
    let mut second = Raw::tcp(addr);
    second.send(head);
    second.send(&body[..100_000]);
    handlers
        .recv_timeout(WAIT)
        .expect("the second handler starts");
    let r = second.response(false);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("max_body_waits"), "{}", r.text());
    // The server's lack, not the client's fault: a kind of its own (`RequestBody`'s docs).
    assert!(r.text().starts_with("Other: "), "{}", r.text());
    assert!(
        r.closes(),
        "the rest of its body is not read: the connection closes"
    );
    // The first goes on, and so does the server.
    first.send(&body[100_000..]);
    let r = first.response(false);
    assert_eq!((r.status, r.text()), (200, "300000".to_string()));
    let mut probe = Raw::tcp(addr);
    probe.send(b"PUT /p HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
    let r = probe.response(false);
    assert_eq!((r.status, r.text()), (200, "2".to_string()));
}

/// Handlers that waited for their bodies all at once on one loop, then returned, leave
/// the blocked handlers' budget as it was. One mark per loop counted them before, so each
/// but the last was never uncounted, and the budget (which leaves body waits out) grew by
/// as many for good: after 2,000 `Expect: 100-continue` uploads that never sent their
/// bodies, `serve` ran 1,000 sleeping handlers at once on 1,005 threads, 6,653 after a
/// few such floods, against 512.
#[test]
fn body_waits_that_overlap_leave_the_blocked_handlers_budget_as_it_was() {
    let _g = shared();
    const UPLOADS: usize = 8;
    let (started, uploads_started) = mpsc::channel();
    let started = Mutex::new(started);
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (running2, most2) = (Arc::clone(&running), Arc::clone(&most));
    let server = start(
        tcp(move |_: &mut Session, mut request: Request<'_>| {
            if request.path() == "/up" {
                let _ = started.lock().unwrap().send(());
                return match request.body.read_all() {
                    Ok(body) => Response::text(StatusCode::OK, body.len().to_string()),
                    Err(e) => Response::text(StatusCode::BAD_REQUEST, e.to_string()),
                };
            }
            let now = running2.fetch_add(1, Ordering::SeqCst) + 1;
            most2.fetch_max(now, Ordering::SeqCst);
            thread::sleep(Duration::from_millis(300));
            running2.fetch_sub(1, Ordering::SeqCst);
            Response::text(StatusCode::OK, "slept")
        })
        .workers(1)
        .max_blocked_handlers(2)
        .max_body_waits(16),
    );
    let addr = tcp_addr(&server);
    // Eight uploads whose handlers wait for their bodies at once, on the one loop (with
    // `Expect: 100-continue`, so that the handlers are called before their bodies come).
    let mut uploads: Vec<_> = (0..UPLOADS).map(|_| Raw::tcp(addr)).collect();
    for upload in &mut uploads {
        upload.send(
            b"PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\
              Expect: 100-continue\r\n\r\n",
        );
    }
    for _ in 0..UPLOADS {
        uploads_started
            .recv_timeout(WAIT)
            .expect("every upload's handler starts");
    }
    for upload in &mut uploads {
        // Its `100 Continue`: its handler reads.
        assert_eq!(upload.response(false).status, 100);
    }
    thread::sleep(Duration::from_millis(100)); // all waiting in their reads
    for upload in &mut uploads {
        upload.send(b"hello");
    }
    for upload in &mut uploads {
        let r = upload.response(false);
        assert_eq!((r.status, r.text()), (200, "5".to_string()));
    }
    // Then eight handlers that block: at most the budget's threads run them at once (one
    // per worker and one per blocked handler), not one each.
    let mut sleepers: Vec<_> = (0..UPLOADS).map(|_| Raw::tcp(addr)).collect();
    for sleeper in &mut sleepers {
        sleeper.send(b"GET /sleep HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    for sleeper in &mut sleepers {
        assert_eq!(sleeper.response(false).status, 200);
    }
    let most = most.load(Ordering::SeqCst);
    assert!(
        most <= 3,
        "{most} handlers blocked at once, against max_blocked_handlers 2 and 1 worker"
    );
}

/// A reader body of `n` zero bytes that says when it is dropped.
struct Zeros {
    left: u64,
    dropped: Option<mpsc::Sender<()>>,
}

impl Read for Zeros {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        buf[..n].fill(0);
        self.left -= n as u64;
        Ok(n)
    }
}

impl Drop for Zeros {
    fn drop(&mut self) {
        if let Some(tx) = self.dropped.take() {
            let _ = tx.send(());
        }
    }
}

#[test]
fn body_timeout_when_the_client_does_not_read_the_response() {
    let _g = shared();
    const N: u64 = 256 << 20;
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let server = start(
        tcp(move |_: &mut Session, _: Request<'_>| {
            let zeros = Zeros {
                left: N,
                dropped: Some(tx.lock().unwrap().clone()),
            };
            Response::new(StatusCode::OK, Body::reader(zeros, N))
        })
        .body_timeout(Duration::from_millis(200)),
    );
    let mut raw = Raw::tcp(tcp_addr(&server));
    raw.send(get("/huge").as_bytes());
    // The server gives up on the response (its body reader is dropped)...
    rx.recv_timeout(WAIT)
        .expect("the server gave up writing to a client that does not read");
    // ...and closes: what is left in the socket is short of the body.
    let (received, end) = raw.rest();
    println!(
        "a client not reading: {} of {N} bytes were in flight, then {end:?}",
        received.len()
    );
    assert!((received.len() as u64) < N);
}

#[test]
fn limits_on_the_head_and_body() {
    let _g = shared();
    let (server, seen) = app_server(|s| {
        s.limits(
            Limits::server()
                .max_head(1024)
                .max_headers(10)
                .max_body(Some(100)),
        )
    });
    let addr = tcp_addr(&server);
    let exchange = |request: String| {
        let mut raw = Raw::tcp(addr);
        let _ = raw.s.write_all(request.as_bytes());
        let r = raw.response(false);
        let closed = r.closes();
        if closed {
            raw.expect_closed();
        }
        (r.status, closed)
    };
    let with_field = |n: usize| {
        format!(
            "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
            "p".repeat(n)
        )
    };
    assert_eq!(exchange(with_field(900)), (200, false));
    assert_eq!(exchange(with_field(2000)), (431, true));
    let fields = |n: usize| {
        format!(
            "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
            (1..n).map(|i| format!("X-{i}: v\r\n")).collect::<String>()
        )
    };
    assert_eq!(exchange(fields(10)), (200, false));
    assert_eq!(exchange(fields(11)), (431, true));
    let put = |n: usize| {
        format!(
            "PUT /p HTTP/1.1\r\nHost: x\r\nContent-Length: {n}\r\n\r\n{}",
            "b".repeat(n)
        )
    };
    assert_eq!(exchange(put(100)), (200, false));
    assert_eq!(exchange(put(101)), (413, true));
    assert_eq!(seen.calls(), 3);
}

// ---------------------------------------------------------------------------------------
// 7. Handler panics.

#[test]
fn a_panicking_handler_gets_500_and_the_server_goes_on() {
    let _g = shared();
    let (server, seen) = app_server(|s| s.workers(1));
    let addr = tcp_addr(&server);
    for round in 0..3 {
        let mut raw = Raw::tcp(addr);
        raw.send(format!("{}{}", get("/panic"), get("/after-panic")).as_bytes());
        let r = raw.response(false);
        assert_eq!(r.status, 500, "round {round}");
        assert!(r.closes());
        raw.expect_closed();

        let mut conn = connect(&server);
        let mut r = conn.get("/fine", HeaderMap::new()).unwrap();
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.body.read_all().unwrap(),
            default_answer("GET", "/fine", "").as_bytes()
        );
    }
    assert!(!seen.saw("/after-panic"));
}

// ---------------------------------------------------------------------------------------
// 8. on_connect and Session.

#[test]
fn on_connect_false_closes_before_any_request() {
    let _g = shared();
    let hooked = Arc::new(AtomicUsize::new(0));
    let hooked2 = Arc::clone(&hooked);
    // Refuses every other connection: the first, the third...
    let (server, seen) = app_server(move |s| {
        s.on_connect(move |_session| hooked2.fetch_add(1, Ordering::SeqCst) % 2 == 1)
    });
    let addr = tcp_addr(&server);

    let mut refused = Raw::tcp(addr);
    let _ = refused.s.write_all(get("/refused").as_bytes());
    let end = refused.expect_closed();
    println!("refused by on_connect: {end:?}");
    assert_eq!(seen.calls(), 0);
    assert!(!seen.saw("/refused"));

    let mut accepted = Raw::tcp(addr);
    accepted.send(get("/accepted").as_bytes());
    assert_eq!(
        accepted.response(false).text(),
        default_answer("GET", "/accepted", "")
    );
    accepted.send(get("/again").as_bytes());
    accepted.response(false);
    assert_eq!(hooked.load(Ordering::SeqCst), 2, "once per connection");
    assert_eq!(seen.calls(), 2);
}

#[test]
fn session_counts_requests_keeps_a_store_and_knows_the_peer() {
    let _g = shared();
    let (server, _) = app_server(|s| s);
    let mut raw = Raw::tcp(tcp_addr(&server));
    let me = raw.s.local_addr().unwrap();
    for i in 1..=3 {
        raw.send(get("/session").as_bytes());
        assert_eq!(
            raw.response(false).text(),
            format!("requests={i} store={i} peer={me}")
        );
    }
    // A new connection starts afresh.
    let mut conn = connect(&server);
    let mut r = conn.get("/session", HeaderMap::new()).unwrap();
    let text = String::from_utf8(r.body.read_all().unwrap()).unwrap();
    assert!(
        text.starts_with("requests=1 store=1 peer=127.0.0.1:"),
        "{text}"
    );
    // Requests of every route count.
    raw.send(get("/other").as_bytes());
    raw.response(false);
    raw.send(get("/session").as_bytes());
    assert_eq!(
        raw.response(false).text(),
        format!("requests=5 store=4 peer={me}")
    );
}

#[test]
fn session_close_ends_the_connection_after_the_response() {
    let _g = shared();
    let (server, seen) = app_server(|s| s);
    let mut raw = Raw::tcp(tcp_addr(&server));
    raw.send(format!("{}{}", get("/close"), get("/after-close")).as_bytes());
    let r = raw.response(false);
    assert_eq!(r.text(), "closing");
    assert!(r.closes());
    raw.expect_closed();
    assert!(!seen.saw("/after-close"));
}

/// Our uid and gid, from a file we create (no unsafe `getuid`).
fn our_ids() -> (u32, u32) {
    let path = std::env::temp_dir().join(unique("ids"));
    std::fs::write(&path, b"").unwrap();
    let meta = std::fs::metadata(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    (meta.uid(), meta.gid())
}

fn unix_server(address: Address) -> (RunningServer, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let seen2 = Arc::clone(&seen);
    let server = Server::bind(
        address,
        move |session: &mut Session, request: Request<'_>| app(&seen2, session, request),
    )
    .expect("bind a Unix socket");
    (start(server), seen)
}

fn check_credentials(server: &RunningServer) {
    let (uid, gid) = our_ids();
    let expected = format!("{} {uid} {gid}", std::process::id());
    let mut conn = client(server).connect().expect("connect");
    for _ in 0..2 {
        let mut r = conn.get("/whoami", HeaderMap::new()).unwrap();
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            String::from_utf8(r.body.read_all().unwrap()).unwrap(),
            expected
        );
    }
    let mut r = conn
        .put("/echo", HeaderMap::new(), Body::chunks(response_chunks()))
        .unwrap();
    assert_eq!(r.body.read_all().unwrap(), b"firstsecondthird");
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn unix_socket_by_path_has_peer_credentials() {
    let _g = shared();
    let path = std::env::temp_dir().join(unique("sock"));
    let _cleanup = RemoveOnDrop(path.clone());
    let (server, _) = unix_server(Address::unix(&path));
    assert_eq!(server.address(), &Address::Unix(path.clone()));
    check_credentials(&server);

    // Raw, with a Host of our own.
    let s = UnixStream::connect(&path).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut raw = Raw::new(s);
    raw.send(get("/whoami").as_bytes());
    assert_eq!(raw.response(false).status, 200);
}

#[test]
fn unix_socket_by_abstract_name_has_peer_credentials() {
    let _g = shared();
    let name = format!("@{}", unique("abstract"));
    let (server, _) = unix_server(Address::unix(&name));
    assert_eq!(server.address().to_string(), name);
    check_credentials(&server);
}

#[test]
fn tcp_has_no_credentials() {
    let _g = shared();
    let (server, _) = app_server(|s| s);
    let mut conn = connect(&server);
    let mut r = conn.get("/whoami", HeaderMap::new()).unwrap();
    assert_eq!(r.body.read_all().unwrap(), b"none");
}

// ---------------------------------------------------------------------------------------
// 9. Shutdown.

#[test]
fn shutdown_closes_idle_connections_and_the_listener() {
    let _g = shared();
    let (server, _) = app_server(|s| s);
    let addr = tcp_addr(&server);
    let mut idle = Raw::tcp(addr);
    idle.send(get("/before").as_bytes());
    idle.response(false);
    let mut silent = Raw::tcp(addr);

    server.shutdown().expect("shutdown");
    assert_eq!(idle.expect_closed(), End::Eof);
    // Accepted and closed, or still in the backlog when the listener closed (reset).
    silent.expect_closed();
    let refused = TcpStream::connect(addr).expect_err("connect after shutdown");
    assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
}

#[test]
fn shutdown_lets_a_request_in_progress_finish() {
    let _g = shared();
    let (started_tx, started_rx) = mpsc::channel();
    let started_tx = Mutex::new(started_tx);
    let finished = Arc::new(AtomicBool::new(false));
    let finished2 = Arc::clone(&finished);
    let server = start(tcp(move |_: &mut Session, _: Request<'_>| {
        let _ = started_tx.lock().unwrap().send(());
        thread::sleep(Duration::from_millis(300)); // the work in progress
        finished2.store(true, Ordering::SeqCst);
        Response::text(StatusCode::OK, "slept")
    }));
    let addr = tcp_addr(&server);
    let mut raw = Raw::tcp(addr);
    raw.send(get("/sleep").as_bytes());
    started_rx.recv_timeout(WAIT).expect("the handler starts");

    let t = Instant::now();
    server.shutdown().expect("shutdown");
    let took = t.elapsed();
    assert!(
        finished.load(Ordering::SeqCst),
        "shutdown returned before the handler finished"
    );
    let r = raw.response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "slept");
    raw.expect_closed();
    println!("shutdown with a request in progress took {took:?}");
    assert_eq!(
        TcpStream::connect(addr).unwrap_err().kind(),
        io::ErrorKind::ConnectionRefused
    );
}

// ---------------------------------------------------------------------------------------
// 10. HTTP/1.0 and Connection: close.

#[test]
fn http10_is_answered_then_closed() {
    let _g = shared();
    let (server, _) = app_server(|s| s);
    let addr = tcp_addr(&server);

    let mut raw = Raw::tcp(addr);
    raw.send(b"GET /old HTTP/1.0\r\n\r\n");
    let r = raw.response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), default_answer("GET", "/old", ""));
    raw.expect_closed();

    // A body of unknown length: no chunked coding for HTTP/1.0, the close ends it.
    let mut raw = Raw::tcp(addr);
    raw.send(b"GET /chunked-reader HTTP/1.0\r\nHost: x\r\n\r\n");
    let r = raw.response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("transfer-encoding"), None);
    assert_eq!(r.header("content-length"), None);
    assert!(r.body == pattern(BIG), "a body of {} bytes", r.body.len());

    // HTTP/1.0 with a Content-Length body.
    let mut raw = Raw::tcp(addr);
    raw.send(b"PUT /old HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!(
        raw.response(false).text(),
        default_answer("PUT", "/old", "abc")
    );
    raw.expect_closed();
}

#[test]
fn http10_gets_chunks_with_extensions_and_trailers_as_plain_data() {
    let _g = shared();
    let (server, _) = app_server(|s| s);
    let mut raw = Raw::tcp(tcp_addr(&server));
    raw.send(b"GET /chunks HTTP/1.0\r\nHost: x\r\n\r\n");
    let r = raw.response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("transfer-encoding"), None);
    assert_eq!(r.text(), "firstsecondthird");
}

/// `GET path HTTP/1.0` asking for keep-alive.
fn get10_keep_alive(path: &str) -> String {
    format!("GET {path} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
}

#[track_caller]
fn assert_keeps_alive(r: &RawResponse, what: &str) {
    assert_eq!(r.header("connection"), Some("keep-alive"), "{what}");
    assert!(r.header("content-length").is_some(), "{what}: no length");
}

#[test]
fn http10_keep_alive_is_honoured() {
    let _g = shared();
    let (server, seen) = app_server(|s| s);
    let addr = tcp_addr(&server);

    // Requests one after the other on one socket, as `ab -k` sends them.
    let mut raw = Raw::tcp(addr);
    for path in ["/ka/1", "/ka/2", "/ka/3"] {
        raw.send(get10_keep_alive(path).as_bytes());
        let r = raw.response(false);
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), default_answer("GET", path, ""));
        assert_keeps_alive(&r, path);
    }
    // Every kind of body of known length, and none, keeps it; so does HEAD.
    let requests = [
        "PUT /echo HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\nhello".to_owned(),
        get10_keep_alive("/reader"),
        get10_keep_alive("/empty"),
        get10_keep_alive("/204"),
        "HEAD /chunks HTTP/1.0\r\nConnection: keep-alive\r\n\r\n".to_owned(),
    ];
    raw.send(requests.concat().as_bytes());
    let r = raw.response(false);
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
    assert_keeps_alive(&r, "echo");
    let r = raw.response(false);
    assert!(r.body == pattern(BIG));
    assert_keeps_alive(&r, "reader");
    let r = raw.response(false);
    assert_keeps_alive(&r, "empty");
    let r = raw.response(false);
    assert_eq!(r.status, 204);
    assert_eq!(r.header("connection"), Some("keep-alive"), "204");
    let r = raw.response(true);
    assert_eq!(r.header("connection"), Some("keep-alive"), "HEAD");
    assert_eq!(r.header("transfer-encoding"), None, "HEAD");

    // A body of unknown length can only end with the connection.
    raw.send(get10_keep_alive("/chunked-reader").as_bytes());
    let r = raw.response(false);
    assert!(r.closes());
    assert_eq!(r.header("content-length"), None);
    assert!(r.body == pattern(BIG), "a body of {} bytes", r.body.len());

    // Without keep-alive, the response closes.
    let mut raw = Raw::tcp(addr);
    raw.send(
        format!(
            "{}GET /plain HTTP/1.0\r\n\r\n{}",
            get10_keep_alive("/first"),
            get("/never")
        )
        .as_bytes(),
    );
    assert_keeps_alive(&raw.response(false), "first");
    let r = raw.response(false);
    assert_eq!(r.text(), default_answer("GET", "/plain", ""));
    assert!(r.closes());
    raw.expect_closed();
    assert!(!seen.saw("/never"));

    // `close` wins over `keep-alive`.
    let mut raw = Raw::tcp(addr);
    raw.send(b"GET /both HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n");
    assert!(raw.response(false).closes());
    raw.expect_closed();
}

#[test]
fn connection_close_from_the_client() {
    let _g = shared();
    let (server, seen) = app_server(|s| s);
    let mut raw = Raw::tcp(tcp_addr(&server));
    raw.send(
        format!(
            "GET /bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n{}",
            get("/after-bye")
        )
        .as_bytes(),
    );
    let r = raw.response(false);
    assert_eq!(r.text(), default_answer("GET", "/bye", ""));
    assert!(r.closes());
    raw.expect_closed();
    assert!(!seen.saw("/after-bye"));

    let mut conn = connect(&server);
    let mut r = conn
        .get("/bye2", headers(&[("connection", "close")]))
        .unwrap();
    assert_eq!(r.headers["connection"], "close");
    r.body.read_all().unwrap();
    assert!(!conn.is_reusable());
}

#[test]
fn every_response_has_a_date() {
    let _g = shared();
    let since = SystemTime::now();
    let (server, _) = app_server(|s| s.head_timeout(Duration::from_millis(300)));
    let addr = tcp_addr(&server);

    let mut raw = Raw::tcp(addr);
    let paths = [
        "/bytes",
        "/chunks",
        "/reader",
        "/204",
        "/304",
        "/nothing-here",
    ];
    for path in paths {
        raw.send(get(path).as_bytes());
        let r = raw.response(false);
        assert_dated(&r.headers, since, path);
    }
    raw.send(b"HEAD /bytes HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_dated(&raw.response(true).headers, since, "HEAD");
    raw.send(get10_keep_alive("/old").as_bytes());
    assert_dated(&raw.response(false).headers, since, "HTTP/1.0");

    // A handler's own Date is kept, and not doubled.
    raw.send(get("/dated").as_bytes());
    let r = raw.response(false);
    let dates: Vec<&(String, String)> = r.headers.iter().filter(|(n, _)| n == "date").collect();
    assert_eq!(dates, [&("date".to_owned(), OLD_DATE.to_owned())]);

    // 100 Continue has none; the final response has one.
    raw.send(b"PUT /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    let r = raw.response(false);
    assert_eq!(r.status, 100);
    assert!(r.header("date").is_none(), "{r:?}");
    raw.send(b"hi");
    let r = raw.response(false);
    assert_eq!(r.text(), "hi");
    assert_dated(&r.headers, since, "after 100");

    // Errors: a handler's panic, a malformed request, a head that does not come in time.
    raw.send(get("/panic").as_bytes());
    let r = raw.response(false);
    assert_eq!(r.status, 500);
    assert_dated(&r.headers, since, "500");
    let mut raw = Raw::tcp(addr);
    raw.send(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
    let r = raw.response(false);
    assert_eq!(r.status, 400);
    assert_dated(&r.headers, since, "400");
    let mut raw = Raw::tcp(addr);
    raw.send(b"GET / HTTP/1.1\r\n");
    let r = raw.response(false);
    assert_eq!(r.status, 408);
    assert_dated(&r.headers, since, "408");

    // Our client sees it too.
    let mut conn = connect(&server);
    let mut r = conn.get("/bytes", HeaderMap::new()).unwrap();
    let date = r.headers["date"].to_str().unwrap().to_owned();
    r.body.read_all().unwrap();
    assert_dated(&[("date".to_owned(), date)], since, "client");
}

#[test]
fn the_date_follows_the_clock() {
    let _g = shared();
    let (server, _) = app_server(|s| s);
    let mut conn = connect(&server);
    let mut date = |path: &str| {
        let mut r = conn.get(path, HeaderMap::new()).unwrap();
        r.body.read_all().unwrap();
        r.headers["date"].to_str().unwrap().to_owned()
    };
    let first = date("/tick");
    // Into the next second at least: the cached text must not outlive it.
    let deadline = Instant::now() + Duration::from_millis(2500);
    let mut later = first.clone();
    while later == first && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(100)); // the clock's pace, not synchronization
        later = date("/tock");
    }
    assert_ne!(first, later, "the Date did not change in 2.5 s");
}

// ---------------------------------------------------------------------------------------
// 11. Thousands of idle keep-alive connections.
//
// The client ends live in a child process (this test binary again, running
// `many_connections_client`), so each process spends one descriptor per connection and
// this one's memory is the server's alone.

/// The environment variable that makes `many_connections_client` act: `ADDR COUNT`.
const MANY_CLIENT: &str = "POLLHTTP_SRVTEST_MANY_CLIENT";
const WANTED: usize = 10_000;

fn open_files_soft_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line.split_whitespace().nth(3)?;
    if soft == "unlimited" {
        return Some(u64::MAX);
    }
    soft.parse().ok()
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Reads one short response on a blocking stream.
fn read_short_response(stream: &mut TcpStream) -> RawResponse {
    let mut raw = Raw::new(stream);
    let r = raw.response(false);
    assert!(raw.buf.is_empty());
    r
}

/// A line to the parent process (`println!` may be captured by the test harness).
fn say(line: &str) {
    let mut out = io::stdout().lock();
    writeln!(out, "\n{line}").unwrap();
    out.flush().unwrap();
}

/// The client half of `ten_thousand_idle_keep_alive_connections`, in a child process:
/// opens the connections, one request each, reports, waits for the word, asks again on
/// each, reports, and holds them until told to go. Does nothing on its own.
#[test]
fn many_connections_client() {
    let Ok(spec) = std::env::var(MANY_CLIENT) else {
        return;
    };
    let (addr, count) = spec.split_once(' ').unwrap();
    let addr: SocketAddr = addr.parse().unwrap();
    let count: usize = count.parse().unwrap();
    let mut stdin = io::stdin().lines();

    let t = Instant::now();
    let mut streams = Vec::with_capacity(count);
    for i in 0..count {
        let mut s =
            TcpStream::connect(addr).unwrap_or_else(|e| panic!("connection {i} of {count}: {e}"));
        s.set_read_timeout(Some(WAIT)).unwrap();
        s.write_all(get(&format!("/i/{i}")).as_bytes()).unwrap();
        streams.push(s);
    }
    for (i, s) in streams.iter_mut().enumerate() {
        let r = read_short_response(s);
        assert_eq!(r.text(), default_answer("GET", &format!("/i/{i}"), ""));
    }
    say(&format!("MANY: opened {}", t.elapsed().as_millis()));

    assert_eq!(stdin.next().unwrap().unwrap(), "again");
    let t = Instant::now();
    for (i, s) in streams.iter_mut().enumerate() {
        s.write_all(get(&format!("/j/{i}")).as_bytes()).unwrap();
    }
    for (i, s) in streams.iter_mut().enumerate() {
        let r = read_short_response(s);
        assert_eq!(r.text(), default_answer("GET", &format!("/j/{i}"), ""));
    }
    say(&format!("MANY: again {}", t.elapsed().as_millis()));
    // Held until the parent is done with them.
    let _ = stdin.next();
    drop(streams);
}

/// Ten thousand idle keep-alive connections under the default connection cap, which leaves
/// room for more: a steady connection answered all along, and a fresh one.
#[test]
fn ten_thousand_idle_keep_alive_connections() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let _g = exclusive();
    // One descriptor per connection in each process, and some to spare; and room under the
    // server's default cap (seven eighths of the soft limit, at most 16,384) for the
    // steady connection and a fresh one.
    let soft = open_files_soft_limit().unwrap_or(0);
    let default_cap = (soft - soft / 8).min(16_384);
    let count = usize::try_from(soft.saturating_sub(256).min(default_cap.saturating_sub(16)))
        .unwrap_or(WANTED)
        .min(WANTED);
    if count < 100 {
        println!("SKIPPED: the open-files soft limit is {soft}: too few for this test");
        return;
    }
    if count < WANTED {
        println!(
            "NOTICE: the open-files soft limit is {soft}: using {count} connections \
             instead of {WANTED}"
        );
    }

    let listener = {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        socket.set_reuse_address(true).unwrap();
        socket
            .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
            .unwrap();
        socket.listen(4096).unwrap();
        std::net::TcpListener::from(socket)
    };
    let seen = Arc::new(Seen::default());
    let seen2 = Arc::clone(&seen);
    let server = start(
        Server::from_tcp_listener(
            listener,
            move |session: &mut Session, request: Request<'_>| app(&seen2, session, request),
        )
        .unwrap(),
    );
    let addr = tcp_addr(&server);

    let stop = AtomicBool::new(false);
    let steady_answers = AtomicUsize::new(0);
    /// Stops the steady connection however the test ends.
    struct Stop<'a>(&'a AtomicBool);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    thread::scope(|scope| {
        let _stop = Stop(&stop);
        // Another connection keeps getting answers all along.
        let steady = scope.spawn(|| {
            let mut conn = connect(&server);
            while !stop.load(Ordering::SeqCst) {
                let mut r = conn.get("/steady", HeaderMap::new()).expect("steady");
                assert_eq!(r.status, StatusCode::OK);
                assert_eq!(
                    r.body.read_all().unwrap(),
                    default_answer("GET", "/steady", "").as_bytes()
                );
                steady_answers.fetch_add(1, Ordering::SeqCst);
            }
        });
        let steady_running = |what: &str| {
            let mark = steady_answers.load(Ordering::SeqCst);
            let deadline = Instant::now() + WAIT;
            while steady_answers.load(Ordering::SeqCst) < mark + 10 {
                assert!(
                    Instant::now() < deadline,
                    "the steady connection stalled {what}"
                );
                thread::yield_now();
            }
        };
        steady_running("before");

        let rss_before = rss_kib();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "many_connections_client",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(MANY_CLIENT, format!("{addr} {count}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the client process");
        let mut to_child = child.stdin.take().unwrap();
        let mut from_child = io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut report = |tag: &str| -> u64 {
            for line in from_child.by_ref() {
                let line = line.expect("the client's output");
                // The harness may have started the line ("test name ... ").
                let marker = format!("MANY: {tag} ");
                if let Some(at) = line.find(&marker) {
                    return line[at + marker.len()..].trim().parse().unwrap();
                }
            }
            panic!("the client process ended before '{tag}' (its panic is above)");
        };
        let opened_ms = report("opened");
        let rss_after = rss_kib();
        let after_opening = steady_answers.load(Ordering::SeqCst);

        // All idle now: the steady connection and new ones are still answered.
        steady_running("with the others idle");
        let mut conn = connect(&server);
        let mut r = conn.get("/fresh", HeaderMap::new()).unwrap();
        assert_eq!(r.status, StatusCode::OK);
        r.body.read_all().unwrap();
        drop(conn);

        // Every one of them is answered again.
        writeln!(to_child, "again").unwrap();
        let again_ms = report("again");
        writeln!(to_child, "done").unwrap();
        let status = child.wait().unwrap();
        assert!(status.success(), "the client process failed: {status}");

        stop.store(true, Ordering::SeqCst);
        steady.join().unwrap();
        let steady_total = steady_answers.load(Ordering::SeqCst);

        println!(
            "{count} keep-alive connections (client ends in a child process): opened and \
             answered in {opened_ms} ms, all answered again in {again_ms} ms; the steady \
             connection got {steady_total} answers ({after_opening} by the time all were open)"
        );
        if let (Some(before), Some(after)) = (rss_before, rss_after) {
            println!(
                "server VmRSS {before} KiB -> {after} KiB with {count} idle connections: \
                 {:.2} KiB per idle connection",
                after.saturating_sub(before) as f64 / count as f64
            );
        }
        assert_eq!(seen.calls(), 2 * count + steady_total + 1);
    });
}

/// A client that sends its requests, closes its sending side and then reads slowly gets
/// every response, the last one whole: what the server still had queued when it read the
/// client's end (less than 64 KiB) goes out before it closes.
#[test]
fn responses_queued_when_the_client_half_closes_all_go_out() {
    let _g = shared();
    const BODY: usize = 60_000;
    const REQUESTS: usize = 150; // 9 MB of responses: more than the sockets hold
    let server = start(tcp(|_: &mut Session, _: Request<'_>| {
        Response::new(StatusCode::OK, "x".repeat(BODY))
    }));
    let mut stream = TcpStream::connect(tcp_addr(&server)).expect("connect");
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let requests = "GET /r HTTP/1.1\r\nHost: a\r\n\r\n".repeat(REQUESTS);
    stream.write_all(requests.as_bytes()).expect("the requests");
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    // Slowly, so that the server's socket is full when it reads our end.
    let mut got = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("reading after {} bytes: {e}", got.len()),
        }
        thread::sleep(Duration::from_millis(2));
    }
    let text = String::from_utf8_lossy(&got);
    let responses = text.matches("HTTP/1.1 200 OK\r\n").count();
    assert_eq!(responses, REQUESTS, "{} bytes", got.len());
    assert!(got.ends_with(&[b'x'; BODY]), "the last body is whole");
}
