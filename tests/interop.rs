//! Interop tests against real peers: nginx, the h11 test server and the degu server of
//! `tests/peers/`, driven through the blocking client, the resumable operations, and the
//! `crawl`, `select_loop` and `get` example binaries.
//!
//! The peers come from `tests/peers/setup.sh`:
//!
//! ```text
//! eval "$(tests/peers/setup.sh)"    # exports POLLHTTP_PEERS=1, POLLHTTP_PEERS_PYTHON, PYTHONPATH
//! cargo test --test interop
//! ```
//!
//! Without `POLLHTTP_PEERS` every test prints that it skips and passes. With it (CI sets
//! it), a peer that cannot be started fails the test. Each test starts its own peer on
//! its own port (nginx on a port freed just before, the Python servers on a port they
//! pick) and stops it when it ends, panic or not.
//!
//! The example binaries are built (or found up to date) with the cargo that runs the
//! tests, in the same profile and target directory: `cargo test --test interop` does not
//! build examples by itself.

#[path = "support/examples.rs"]
mod examples;
#[path = "support/installed.rs"]
mod installed;
#[path = "support/programs.rs"]
mod programs;

use installed::{free_port, peers_script, skip, unique_path};
use programs::run_example;

use std::fmt::Debug;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use http::header::HOST;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use pollhttp::client::{Body, Chunk, Client, Connection};
use pollhttp::io::Address;
use pollhttp::op::{Connect, Flush, ReadBody, ReadResponse};
use pollhttp::proto::{BodyLength, Framing};
use pollhttp::{Error, Interest, PollNeeded, Progress};

/// The client's timeout for each wait: long enough for a loaded machine, short enough that
/// a hang fails the test.
const WAIT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------
// Peers

/// A private nginx (`tests/peers/nginx.sh`), stopped and its folder removed on drop.
struct Nginx {
    dir: PathBuf,
    port: u16,
}

impl Nginx {
    fn start() -> Self {
        // The guard exists before nginx does, so a panic below still stops it.
        let mut nginx = Self {
            dir: unique_path("nginx"),
            port: 0,
        };
        let mut last = String::new();
        // Another process may take the port between free_port and nginx's bind: try again.
        for _ in 0..5 {
            let port = free_port();
            let out = Command::new(peers_script("nginx.sh"))
                .arg("start")
                .arg(port.to_string())
                .arg(&nginx.dir)
                .stdin(Stdio::null())
                .output()
                .expect("running tests/peers/nginx.sh");
            if out.status.success() {
                nginx.port = port;
                return nginx;
            }
            last = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        panic!("POLLHTTP_PEERS is set but nginx does not start: {last}");
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn client(&self) -> Client {
        Client::new(self.addr()).with_timeout(Some(WAIT))
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new(peers_script("nginx.sh"))
            .arg("stop")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .output();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// One of the Python servers (h11 or degu), killed on drop (and exiting by itself within a
/// second if this process dies).
struct PyServer {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl PyServer {
    fn start(script: &str) -> Self {
        let python = std::env::var_os("POLLHTTP_PEERS_PYTHON").unwrap_or_else(|| {
            panic!(
                "POLLHTTP_PEERS is set but POLLHTTP_PEERS_PYTHON is not: \
                 eval \"$(tests/peers/setup.sh)\""
            )
        });
        let dir = unique_path(script.trim_end_matches(".py"));
        fs::create_dir_all(&dir).expect("making the server's folder");
        let port_file = dir.join("port");
        let child = Command::new(&python)
            .arg(peers_script(script))
            .arg(&port_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("POLLHTTP_PEERS is set but {python:?} does not run: {e}"));
        let mut server = Self {
            child,
            dir,
            port: 0,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(port) = fs::read_to_string(&port_file)
                .ok()
                .and_then(|t| t.parse().ok())
            {
                server.port = port;
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("POLLHTTP_PEERS is set but {script} exited ({status}) before listening");
            }
            assert!(
                Instant::now() < deadline,
                "{script} did not write its port within 15 s"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn h11() -> Self {
        Self::start("h11_server.py")
    }

    fn degu() -> Self {
        Self::start("degu_server.py")
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn client(&self) -> Client {
        Client::new(self.addr()).with_timeout(Some(WAIT))
    }

    fn connect(&self) -> Connection {
        self.client().connect().expect("connecting")
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------------------
// Example binaries

// ---------------------------------------------------------------------------------------
// Helpers

/// The peers' body pattern: byte i is i % 251.
fn pattern(n: usize) -> Vec<u8> {
    let period: Vec<u8> = (0..=250).collect();
    period.iter().copied().cycle().take(n).collect()
}

/// The h11 server's `x-checksum`: the sum of the pattern bytes, mod 2**32.
fn pattern_sum(n: u64) -> u64 {
    let (full, rem) = (n / 251, n % 251);
    (full * (250 * 251 / 2) + rem * rem.saturating_sub(1) / 2) % (1 << 32)
}

fn document(i: u64) -> String {
    format!("document {i}\n")
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, HeaderValue::from_str(value).expect("header value"));
    }
    map
}

fn header<'a>(map: &'a HeaderMap, name: &str) -> &'a str {
    map.get(name)
        .unwrap_or_else(|| panic!("no {name} in {map:?}"))
        .to_str()
        .expect("text header")
}

#[track_caller]
fn assert_closed<T: Debug>(result: Result<T, Error>, what: &str) {
    match result {
        Err(Error::ConnectionClosed { .. }) => {}
        other => panic!("{what}: expected Err(ConnectionClosed), got {other:?}"),
    }
}

/// GET and the whole body, on a connection; checks the status.
fn get_all(conn: &mut Connection, path: &str) -> (HeaderMap, Vec<u8>) {
    let mut response = conn
        .get(path, HeaderMap::new())
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert_eq!(response.status, StatusCode::OK, "GET {path}");
    let body = response
        .body
        .read_all()
        .unwrap_or_else(|e| panic!("GET {path}: body: {e}"));
    (response.headers, body)
}

/// A request with a body and the whole response body: (status, headers, body).
fn exchange<'b>(
    conn: &mut Connection,
    method: Method,
    path: &str,
    hdrs: HeaderMap,
    body: impl Into<Body<'b>>,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut response = conn
        .request(method.clone(), path, hdrs, body)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let body = response
        .body
        .read_all()
        .unwrap_or_else(|e| panic!("{method} {path}: body: {e}"));
    (response.status, response.headers, body)
}

/// A reader of `n` bytes of the pattern that counts how many bytes were taken from it.
struct CountingReader<'a> {
    data: io::Cursor<Vec<u8>>,
    taken: &'a AtomicU64,
}

impl<'a> CountingReader<'a> {
    fn new(n: usize, taken: &'a AtomicU64) -> Self {
        Self {
            data: io::Cursor::new(pattern(n)),
            taken,
        }
    }
}

impl Read for CountingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.data.read(buf)?;
        self.taken.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A pipelined crawl driven directly through the operations: `n` requests for
/// `/d1.html`..`/d100.html` (cycled) on one connection, at most `depth` in flight, queued
/// with `queue_request` and written by `Flush` while `ReadResponse` and `ReadBody` read the
/// responses; every response is checked (status, `content-length`, and for GET the body
/// `document N\n` of its own request). Returns the number of 2xx responses.
///
/// The bodies are read with `ReadBody` into a small buffer rather than `ReadAll`, which
/// zero-fills 64 KiB per body to see its end (slow in a debug build: 25 s instead of 1 s).
fn op_crawl(addr: SocketAddr, method: &Method, n: u64, depth: usize) -> u64 {
    let mut connect = Connect::new(vec![Address::from(addr)]);
    let mut stream = pollhttp::blocking::run(Some(WAIT), || connect.resume()).expect("connecting");
    let mut hdrs = HeaderMap::new();
    hdrs.insert(HOST, HeaderValue::try_from(addr.to_string()).expect("host"));
    let targets: Vec<String> = (1..=100).map(|i| format!("/d{i}.html")).collect();
    let is_head = *method == Method::HEAD;

    enum Step {
        Head(ReadResponse),
        Body(ReadBody<[u8; 64]>, Vec<u8>),
    }
    let (mut queued, mut done, mut ok) = (0u64, 0u64, 0u64);
    let mut flush: Option<Flush> = None;
    let mut step = Step::Head(ReadResponse::new());
    let refill = |pending: usize, queued: u64| queued < n && pending + 64 <= depth;
    while done < n {
        let before = queued;
        while queued < n && stream.responses_pending() < depth {
            let target = &targets[(queued % 100) as usize];
            let framing = stream
                .queue_request(method, target, &hdrs, BodyLength::None)
                .expect("queue_request");
            assert_eq!(framing, Framing::None);
            queued += 1;
        }
        if queued > before && flush.is_none() {
            flush = Some(Flush::new());
        }
        let mut wait: Option<Interest> = None;
        let mut want = |need: PollNeeded| {
            wait = Some(wait.map_or(need.interest, |w| w | need.interest));
        };
        if let Some(op) = &mut flush {
            match op.resume(&mut stream).expect("flush") {
                Progress::Ready(()) => flush = None,
                Progress::Pending(need) => want(need),
            }
        }
        loop {
            let doc = document(done % 100 + 1);
            match &mut step {
                Step::Head(op) => match op
                    .resume(&mut stream)
                    .unwrap_or_else(|e| panic!("response {done}: {e}"))
                {
                    Progress::Pending(need) => {
                        want(need);
                        break;
                    }
                    Progress::Ready(head) => {
                        if (200..300).contains(&head.status()) {
                            ok += 1;
                        }
                        assert_eq!(head.status(), 200, "response {done}");
                        let length = doc.len().to_string();
                        assert_eq!(
                            head.headers().get("content-length"),
                            Some(length.as_bytes()),
                            "response {done}"
                        );
                        if is_head {
                            assert!(!stream.reading_body(), "response {done} to HEAD has a body");
                            done += 1;
                        } else {
                            assert!(stream.reading_body(), "response {done}: no body");
                            step = Step::Body(ReadBody::new([0; 64]), Vec::new());
                        }
                    }
                },
                Step::Body(op, body) => match op
                    .resume(&mut stream)
                    .unwrap_or_else(|e| panic!("body {done}: {e}"))
                {
                    Progress::Pending(need) => {
                        want(need);
                        break;
                    }
                    Progress::Ready(k) if k > 0 => body.extend_from_slice(&op.buffer()[..k]),
                    Progress::Ready(_) => {
                        assert_eq!(*body, doc.as_bytes(), "body {done}");
                        done += 1;
                        step = Step::Head(ReadResponse::new());
                    }
                },
            }
            if done == n || refill(stream.responses_pending(), queued) {
                break;
            }
        }
        if done == n || refill(stream.responses_pending(), queued) {
            continue;
        }
        let interest = wait.expect("nothing to wait for, yet not done");
        let need = PollNeeded {
            fd: std::os::fd::AsRawFd::as_raw_fd(&stream),
            interest,
        };
        assert!(
            need.wait(Some(WAIT)).expect("poll"),
            "timed out after {done} of {n} responses"
        );
    }
    assert_eq!(stream.responses_pending(), 0);
    assert!(stream.is_reusable());
    ok
}

// ---------------------------------------------------------------------------------------
// nginx

/// The crawl example, HEAD then GET, 100,000 pipelined requests each on one connection.
#[test]
fn nginx_crawl_example() {
    if skip() {
        return;
    }
    let nginx = Nginx::start();
    let url = nginx.url("/");
    for method in ["HEAD", "GET"] {
        let run = run_example("crawl", &[&url, "--n", "100000", "--method", method]);
        run.assert_success(&format!("crawl --method {method}"));
        let line = run.last_line();
        assert!(
            line.starts_with("crawl: 100000 ok of 100000 in ") && line.ends_with(" req/s"),
            "crawl --method {method}: last line {line:?}; stderr: {}",
            run.stderr
        );
    }
}

/// The select_loop example (raw poll(2)), HEAD then GET, 100,000 requests each.
#[test]
fn nginx_select_loop_example() {
    if skip() {
        return;
    }
    let nginx = Nginx::start();
    let addr = nginx.addr().to_string();
    for method in ["HEAD", "GET"] {
        let run = run_example("select_loop", &[&addr, "--n", "100000", "--method", method]);
        run.assert_success(&format!("select_loop --method {method}"));
        let line = run.last_line();
        assert!(
            line.starts_with("select_loop: 100000 ok of 100000 in ") && line.ends_with(" req/s"),
            "select_loop --method {method}: last line {line:?}; stderr: {}",
            run.stderr
        );
    }
}

#[test]
fn nginx_op_crawl_head() {
    if skip() {
        return;
    }
    let nginx = Nginx::start();
    assert_eq!(
        op_crawl(nginx.addr(), &Method::HEAD, 100_000, 1024),
        100_000
    );
}

#[test]
fn nginx_op_crawl_get() {
    if skip() {
        return;
    }
    let nginx = Nginx::start();
    assert_eq!(op_crawl(nginx.addr(), &Method::GET, 100_000, 1024), 100_000);
}

/// 1 GiB of zeros through `Connection::read_into` with a 256 KiB buffer, then /1m.bin on
/// the same connection.
#[test]
fn nginx_large_downloads() {
    if skip() {
        return;
    }
    const PIECE: usize = 256 * 1024;
    const GIB: u64 = 1 << 30;
    let nginx = Nginx::start();
    let mut conn = nginx.client().connect().expect("connecting");
    let local = conn.stream().transport().local_address().expect("local");

    let response = conn.get("/1g.bin", HeaderMap::new()).expect("GET /1g.bin");
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body.framing(), Framing::Length(GIB));
    drop(response);
    let zeros = vec![0u8; PIECE];
    let marks = vec![0xa5u8; PIECE];
    let mut buf = marks.clone();
    let (mut total, mut reads) = (0u64, 0u64);
    let start = Instant::now();
    loop {
        let n = conn
            .read_into(&mut buf)
            .unwrap_or_else(|e| panic!("after {total} bytes: {e}"));
        if n == 0 {
            break;
        }
        // Slice comparison and copy are memcmp and memcpy, fast even in a debug build.
        assert!(
            buf[..n] == zeros[..n],
            "a byte that is not zero in {total}..{}",
            total + n as u64
        );
        // Marks again, so that the next read must really write what it says it read.
        buf[..n].copy_from_slice(&marks[..n]);
        total += n as u64;
        reads += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let _ = writeln!(
        io::stderr(),
        "nginx_large_downloads: 1 GiB in {secs:.2} s ({reads} reads)"
    );
    assert_eq!(total, GIB);
    // At the end, and on every call after it.
    assert_eq!(conn.read_into(&mut buf).expect("read after the end"), 0);
    assert!(!conn.response_pending());

    let (hdrs, body) = get_all(&mut conn, "/1m.bin");
    assert_eq!(header(&hdrs, "content-length"), "1048576");
    assert_eq!(body.len(), 1 << 20);
    assert!(
        body == pattern(1 << 20),
        "/1m.bin is not the i % 251 pattern"
    );
    assert!(conn.is_reusable());
    assert_eq!(
        conn.stream().transport().local_address().expect("local"),
        local
    );
}

/// 1,000 sequential GETs on one connection: the same socket all along.
#[test]
fn nginx_keep_alive_reuse() {
    if skip() {
        return;
    }
    let nginx = Nginx::start();
    let mut conn = nginx.client().connect().expect("connecting");
    let local = conn.stream().transport().local_address().expect("local");
    assert!(matches!(local, Address::Tcp(a) if a.ip() == Ipv4Addr::LOCALHOST));
    for i in 0..1000u64 {
        let n = i % 100 + 1;
        let (hdrs, body) = get_all(&mut conn, &format!("/d{n}.html"));
        assert_eq!(body, document(n).as_bytes(), "request {i}");
        assert_eq!(header(&hdrs, "connection"), "keep-alive", "request {i}");
        assert!(conn.is_reusable(), "request {i}");
        assert_eq!(
            conn.stream().transport().local_address().expect("local"),
            local,
            "request {i}: a different socket"
        );
    }
    // HEAD and a 404 on the same connection too.
    let response = conn.head("/d5.html", HeaderMap::new()).expect("HEAD");
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(header(&response.headers, "content-length"), "11");
    drop(response);
    assert!(!conn.response_pending());
    let mut response = conn
        .get("/missing", HeaderMap::new())
        .expect("GET /missing");
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert!(!response.body.read_all().expect("404 body").is_empty());
    let (_, body) = get_all(&mut conn, "/d1.html");
    assert_eq!(body, b"document 1\n");
    assert_eq!(
        conn.stream().transport().local_address().expect("local"),
        local
    );
}

/// The get example: body on stdout, head on stderr, `-I`, `-o FILE`, exit codes.
#[test]
fn nginx_get_example() {
    if skip() {
        return;
    }
    let nginx = Nginx::start();

    let run = run_example("get", &[&nginx.url("/d7.html")]);
    run.assert_success("get /d7.html");
    assert_eq!(run.stdout, b"document 7\n");
    assert!(
        run.stderr.starts_with("HTTP/1.1 200 OK\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("\ncontent-length: 11\n"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("\nserver: nginx"), "{}", run.stderr);
    assert!(run.stderr.ends_with("\n\n"), "{:?}", run.stderr);

    let run = run_example("get", &["-I", &nginx.url("/d42.html")]);
    run.assert_success("get -I");
    assert!(
        run.stdout.is_empty(),
        "HEAD printed a body: {}",
        run.stdout_text()
    );
    assert!(
        run.stderr.starts_with("HTTP/1.1 200 OK\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("\ncontent-length: 12\n"),
        "{}",
        run.stderr
    );

    let file = unique_path("get-o");
    let file_arg = file.to_str().expect("utf-8 temp path");
    let run = run_example("get", &["-o", file_arg, &nginx.url("/1m.bin")]);
    let saved = fs::read(&file);
    let _ = fs::remove_file(&file);
    run.assert_success("get -o");
    assert!(run.stdout.is_empty(), "-o also printed to stdout");
    assert!(
        run.stderr.contains("\ncontent-length: 1048576\n"),
        "{}",
        run.stderr
    );
    let saved = saved.expect("reading the -o file");
    assert_eq!(saved.len(), 1 << 20);
    assert!(saved == pattern(1 << 20), "-o file is not /1m.bin");

    // Any HTTP response is exit status 0.
    let run = run_example("get", &[&nginx.url("/missing")]);
    run.assert_success("get /missing");
    assert!(
        run.stderr.starts_with("HTTP/1.1 404 Not Found\n"),
        "{}",
        run.stderr
    );

    // No server: non-zero, one line on stderr.
    let run = run_example("get", &[&format!("http://127.0.0.1:{}/", free_port())]);
    assert!(!run.status.success(), "get to a closed port succeeded");
    assert!(
        run.stderr.starts_with("get: connecting: "),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------
// h11

#[test]
fn h11_content_length_bodies() {
    if skip() {
        return;
    }
    let h11 = PyServer::h11();
    let mut conn = h11.connect();
    let local = conn.stream().transport().local_address().expect("local");
    for n in [0usize, 1, 250, 251, 252, 65536, 1_000_000] {
        let mut response = conn
            .get(&format!("/length/{n}"), HeaderMap::new())
            .expect("GET");
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.reason, "OK");
        let framing = if n == 0 {
            Framing::None
        } else {
            Framing::Length(n as u64)
        };
        assert_eq!(response.body.framing(), framing, "/length/{n}");
        assert_eq!(response.body.content_length(), Some(n as u64));
        let body = response.body.read_all().expect("body");
        assert_eq!(body.len(), n);
        assert!(body == pattern(n), "/length/{n}: wrong bytes");
    }
    // Small reads through the stream's buffer, and io::Read.
    let mut response = conn.get("/length/5000", HeaderMap::new()).expect("GET");
    let mut body = Vec::new();
    let mut small = [0u8; 97];
    loop {
        let n = response.body.read_into(&mut small).expect("read_into");
        if n == 0 {
            break;
        }
        body.extend_from_slice(&small[..n]);
    }
    assert!(body == pattern(5000));
    let mut response = conn.get("/length/3000", HeaderMap::new()).expect("GET");
    let mut body = Vec::new();
    response.body.read_to_end(&mut body).expect("read_to_end");
    assert!(body == pattern(3000));
    // HEAD: the length announced, no body.
    let response = conn.head("/length/1000", HeaderMap::new()).expect("HEAD");
    assert_eq!(header(&response.headers, "content-length"), "1000");
    assert_eq!(response.body.framing(), Framing::None);
    drop(response);
    // 404.
    let (status, _, body) = exchange(&mut conn, Method::GET, "/nope", HeaderMap::new(), ());
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, b"not found\n");
    assert!(conn.is_reusable());
    assert_eq!(
        conn.stream().transport().local_address().expect("local"),
        local
    );
}

#[test]
fn h11_chunked_with_trailers() {
    if skip() {
        return;
    }
    let h11 = PyServer::h11();
    let mut conn = h11.connect();
    for n in [0usize, 1, 999, 1000, 1001, 100_000, 1_000_000] {
        let mut response = conn
            .get(&format!("/chunked/{n}"), HeaderMap::new())
            .expect("GET");
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.body.framing(), Framing::Chunked, "/chunked/{n}");
        assert_eq!(response.body.content_length(), None);
        assert_eq!(
            header(&response.headers, "trailer"),
            "x-checksum, x-trailer"
        );
        assert!(
            response.body.trailers().is_empty(),
            "trailers before the end"
        );
        let body = response.body.read_all().expect("body");
        assert_eq!(body.len(), n, "/chunked/{n}");
        assert!(body == pattern(n), "/chunked/{n}: wrong bytes");
        let trailers = response.body.trailers();
        assert_eq!(trailers.len(), 2, "/chunked/{n}: {trailers:?}");
        assert_eq!(
            header(&trailers, "x-checksum"),
            pattern_sum(n as u64).to_string()
        );
        assert_eq!(header(&trailers, "x-trailer"), "yes");
        assert_eq!(header(&conn.trailers(), "x-trailer"), "yes");
    }
    // dugong's calls: read_response, read_into with a large buffer, trailers.
    conn.send_request(Method::GET, "/chunked/300000", HeaderMap::new(), ())
        .expect("send_request");
    let head = conn.read_response().expect("read_response");
    assert_eq!(head.framing, Framing::Chunked);
    let mut buf = vec![0u8; 64 * 1024];
    let mut body = Vec::new();
    loop {
        let n = conn.read_into(&mut buf).expect("read_into");
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    assert!(body == pattern(300_000));
    assert_eq!(
        header(&conn.trailers(), "x-checksum"),
        pattern_sum(300_000).to_string()
    );
    // HEAD: the chunked head, no body, no trailers; the connection goes on.
    let response = conn.head("/chunked/5000", HeaderMap::new()).expect("HEAD");
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body.framing(), Framing::None);
    assert!(response.body.trailers().is_empty());
    drop(response);
    // A body discarded: its trailers are still taken, and the connection goes on.
    let mut response = conn.get("/chunked/12345", HeaderMap::new()).expect("GET");
    assert_eq!(response.body.discard().expect("discard"), 12345);
    assert_eq!(header(&response.body.trailers(), "x-trailer"), "yes");
    let (_, body) = get_all(&mut conn, "/length/10");
    assert!(body == pattern(10));
}

/// Pipelined requests of mixed framing, sent before any response is read.
#[test]
fn h11_pipelined_mixed() {
    if skip() {
        return;
    }
    let h11 = PyServer::h11();
    let mut conn = h11.connect();
    let paths: Vec<(String, usize)> = (0..60)
        .map(|i| {
            let n = i * 137;
            let path = match i % 3 {
                0 => format!("/length/{n}"),
                1 => format!("/chunked/{n}"),
                _ => "/headers".to_owned(),
            };
            (path, n)
        })
        .collect();
    for (path, _) in &paths {
        conn.send_request(Method::GET, path, HeaderMap::new(), ())
            .expect("send_request");
    }
    for (i, (path, n)) in paths.iter().enumerate() {
        assert!(conn.response_pending());
        let head = conn.read_response().expect("read_response");
        assert_eq!(head.status, StatusCode::OK, "{path}");
        let body = conn.read_all().expect("read_all");
        if i % 3 == 2 {
            assert!(body.starts_with(b"host: 127.0.0.1:"), "{path}");
        } else {
            assert!(body == pattern(*n), "{path}: wrong body");
        }
    }
    assert!(!conn.response_pending());
    assert!(conn.is_reusable());
}

#[test]
fn h11_read_until_close() {
    if skip() {
        return;
    }
    let h11 = PyServer::h11();
    for n in [0usize, 1, 100_000, 3_000_000] {
        let mut conn = h11.connect();
        let mut response = conn
            .get(&format!("/close/{n}"), HeaderMap::new())
            .expect("GET");
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.body.framing(), Framing::UntilClose, "/close/{n}");
        assert_eq!(response.body.content_length(), None);
        let body = response.body.read_all().expect("body");
        assert_eq!(body.len(), n, "/close/{n}");
        assert!(body == pattern(n), "/close/{n}: wrong bytes");
        assert!(!conn.is_reusable(), "/close/{n}: reusable after a close");
        assert!(conn.get("/length/1", HeaderMap::new()).is_err());
    }
    // read_into to the end, with 0 repeated after it.
    let mut conn = h11.connect();
    let response = conn.get("/close/70000", HeaderMap::new()).expect("GET");
    drop(response);
    let mut buf = vec![0u8; 10_000];
    let mut total = 0;
    loop {
        let n = conn.read_into(&mut buf).expect("read_into");
        if n == 0 {
            break;
        }
        assert!(buf[..n] == pattern(total + n)[total..], "at {total}");
        total += n;
    }
    assert_eq!(total, 70_000);
    assert_eq!(conn.read_into(&mut buf).expect("after the end"), 0);
}

#[test]
fn h11_upload_every_body_kind() {
    if skip() {
        return;
    }
    let h11 = PyServer::h11();
    let mut conn = h11.connect();
    let small = pattern(1000);
    let big = pattern(3_000_000);

    let check = |what: &str,
                 (status, hdrs, body): (StatusCode, HeaderMap, Vec<u8>),
                 framing: &str,
                 sent: &[u8]| {
        assert_eq!(status, StatusCode::OK, "{what}");
        assert_eq!(header(&hdrs, "x-request-framing"), framing, "{what}");
        assert!(hdrs.get("x-request-trailers").is_none(), "{what}: {hdrs:?}");
        assert_eq!(body.len(), sent.len(), "{what}");
        assert!(body == sent, "{what}: the echo differs");
    };

    // In memory: small (queued with the head) and large (written from our memory).
    for (what, data) in [("small bytes", &small), ("large bytes", &big)] {
        let r = exchange(&mut conn, Method::PUT, "/echo", HeaderMap::new(), &data[..]);
        check(what, r, "length", data);
    }
    let r = exchange(
        &mut conn,
        Method::POST,
        "/echo",
        HeaderMap::new(),
        big.clone(),
    );
    check("POST owned bytes", r, "length", &big);
    // Empty: content-length: 0 on PUT.
    let r = exchange(&mut conn, Method::PUT, "/echo", HeaderMap::new(), ());
    check("empty", r, "length", b"");

    // following + write, in pieces.
    conn.send_request(
        Method::PUT,
        "/echo",
        HeaderMap::new(),
        Body::following(big.len() as u64),
    )
    .expect("send_request following");
    for piece in big.chunks(700_000) {
        conn.write(piece).expect("write");
    }
    let head = conn.read_response().expect("read_response");
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(header(&head.headers, "x-request-framing"), "length");
    assert!(
        conn.read_all().expect("echo") == big,
        "following: the echo differs"
    );
    // More than announced is the caller's error.
    conn.send_request(Method::PUT, "/echo", HeaderMap::new(), Body::following(4))
        .expect("send_request following");
    let e = conn.write(b"12345").expect_err("5 bytes of 4");
    assert!(e.is_caller_error(), "{e:?}");
    drop(conn);
    let mut conn = h11.connect();

    // A reader of known length, and a chunked reader.
    let r = exchange(
        &mut conn,
        Method::PUT,
        "/echo",
        HeaderMap::new(),
        Body::reader(io::Cursor::new(&big[..]), big.len() as u64),
    );
    check("reader", r, "length", &big);
    let r = exchange(
        &mut conn,
        Method::PUT,
        "/echo",
        HeaderMap::new(),
        Body::chunked_reader(io::Cursor::new(&big[..])),
    );
    check("chunked_reader", r, "chunked", &big);
    let r = exchange(
        &mut conn,
        Method::PUT,
        "/echo",
        HeaderMap::new(),
        Body::chunked_reader(io::empty()),
    );
    check("empty chunked_reader", r, "chunked", b"");

    // Chunks with extensions: a name, name=token, name="quoted value".
    let chunks = vec![
        Chunk::new("first,").with_extension("flag", None),
        Chunk::new("second,").with_extension("k", Some("v")),
        Chunk::new("").with_extension("skipped", None),
        Chunk::new("third")
            .with_extension("q", Some("a quoted; value"))
            .with_extension("n", Some("2")),
        Chunk::new(small.clone()),
    ];
    let mut sent = b"first,second,third".to_vec();
    sent.extend_from_slice(&small);
    let r = exchange(
        &mut conn,
        Method::POST,
        "/echo",
        HeaderMap::new(),
        Body::chunks(chunks),
    );
    check("chunks with extensions", r, "chunked", &sent);

    // Trailers, after chunks and after a chunked reader.
    let trailers = headers(&[("x-sum", "12345"), ("x-note", "done here"), ("x-more", "1")]);
    for (what, body) in [
        (
            "chunks + trailers",
            Body::chunks(vec![Chunk::new("abc"), Chunk::new("def")]),
        ),
        (
            "chunked_reader + trailers",
            Body::chunked_reader(io::Cursor::new(b"abcdef".to_vec())),
        ),
    ] {
        let (status, hdrs, echoed) = exchange(
            &mut conn,
            Method::PUT,
            "/echo",
            HeaderMap::new(),
            body.with_trailers(trailers.clone()),
        );
        assert_eq!(status, StatusCode::OK, "{what}");
        assert_eq!(header(&hdrs, "x-request-framing"), "chunked", "{what}");
        assert_eq!(echoed, b"abcdef", "{what}");
        let mut got: Vec<&str> = header(&hdrs, "x-request-trailers").split(';').collect();
        got.sort_unstable();
        assert_eq!(
            got,
            ["x-more=1", "x-note=done here", "x-sum=12345"],
            "{what}"
        );
    }
    // Trailers on a body that is not chunked: refused before anything is sent.
    let e = conn
        .put(
            "/echo",
            HeaderMap::new(),
            Body::bytes(&b"x"[..]).with_trailers(trailers),
        )
        .expect_err("trailers on a content-length body");
    assert!(e.is_caller_error(), "{e:?}");
    let (_, body) = get_all(&mut conn, "/length/3");
    assert!(body == pattern(3));
    assert!(conn.is_reusable());
}

#[test]
fn h11_continue_accept() {
    if skip() {
        return;
    }
    let h11 = PyServer::h11();
    let mut conn = h11.connect();
    let local = conn.stream().transport().local_address().expect("local");
    let data = pattern(2_000_000);
    let expect = || headers(&[("expect", "100-continue")]);
    let check = |what: &str, (status, hdrs, body): (StatusCode, HeaderMap, Vec<u8>), n: usize| {
        assert_eq!(status, StatusCode::OK, "{what}");
        assert_eq!(header(&hdrs, "x-sent-100"), "yes", "{what}");
        assert_eq!(
            header(&hdrs, "x-early-body"),
            "no",
            "{what}: did not wait for 100"
        );
        assert_eq!(body, format!("got {n} bytes").as_bytes(), "{what}");
    };
    let r = exchange(
        &mut conn,
        Method::PUT,
        "/continue/accept",
        expect(),
        &data[..],
    );
    check("bytes", r, data.len());
    let r = exchange(
        &mut conn,
        Method::PUT,
        "/continue/accept",
        expect(),
        &data[..10],
    );
    check("small bytes", r, 10);
    let r = exchange(
        &mut conn,
        Method::PUT,
        "/continue/accept",
        expect(),
        Body::reader(io::Cursor::new(&data[..]), data.len() as u64),
    );
    check("reader", r, data.len());
    let r = exchange(
        &mut conn,
        Method::PUT,
        "/continue/accept",
        expect(),
        Body::chunks(vec![Chunk::new("abc"), Chunk::new(&data[..5000])]),
    );
    check("chunks", r, 5003);

    // dugong's way: the head, the 100, then the body written.
    conn.send_request(
        Method::PUT,
        "/continue/accept",
        expect(),
        Body::following(data.len() as u64),
    )
    .expect("send_request");
    let e = conn.write(b"early").expect_err("writing before the 100");
    assert!(e.is_caller_error(), "{e:?}");
    let head = conn.read_response().expect("the 100");
    assert_eq!(head.status, StatusCode::CONTINUE);
    conn.write(&data).expect("write");
    let head = conn.read_response().expect("the final response");
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(header(&head.headers, "x-sent-100"), "yes");
    assert_eq!(header(&head.headers, "x-early-body"), "no");
    assert_eq!(
        conn.read_all().expect("body"),
        format!("got {} bytes", data.len()).as_bytes()
    );

    // Without expect: no 100.
    let (status, hdrs, body) = exchange(
        &mut conn,
        Method::PUT,
        "/continue/accept",
        HeaderMap::new(),
        &data[..100],
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&hdrs, "x-sent-100"), "no");
    assert_eq!(body, b"got 100 bytes");
    assert!(conn.is_reusable());
    assert_eq!(
        conn.stream().transport().local_address().expect("local"),
        local
    );
}

#[test]
fn h11_continue_reject() {
    if skip() {
        return;
    }
    let h11 = PyServer::h11();
    let expect = || headers(&[("expect", "100-continue")]);
    // A 417 says the server does not do expectations: `request` sends the request again,
    // once, without one, on a new connection (RFC 9110 §10.1.1), when the body was held
    // back (a reader not yet read) or is in memory. This server refuses every PUT here with
    // 417, so that is the answer again, after the body went out the second time.
    let taken = AtomicU64::new(0);
    let mut conn = h11.connect();
    let body = Body::reader(CountingReader::new(1_000_000, &taken), 1_000_000);
    let mut response = conn
        .put("/continue/reject", expect(), body)
        .expect("PUT /continue/reject");
    assert_eq!(response.status, StatusCode::EXPECTATION_FAILED);
    assert_eq!(response.reason, "Expectation Failed");
    assert_eq!(response.body.read_all().expect("417 body"), b"rejected");
    assert!(
        taken.load(Ordering::Relaxed) > 0,
        "the request was not sent again without the expectation"
    );
    assert!(!conn.is_reusable());
    assert!(conn.get("/length/1", HeaderMap::new()).is_err());

    // In memory, and chunked: the same.
    for body in [
        Body::bytes(pattern(1_000_000)),
        Body::chunked_reader(CountingReader::new(1_000_000, &taken)),
    ] {
        let mut conn = h11.connect();
        let (status, _, text) =
            exchange(&mut conn, Method::PUT, "/continue/reject", expect(), body);
        assert_eq!(status, StatusCode::EXPECTATION_FAILED);
        assert_eq!(text, b"rejected");
        assert!(!conn.is_reusable());
    }

    // (Without a client to connect again with, the 417 is the answer and the body stays
    // unread: `client.rs::request_with_expect_continue_refused_at_once`.)

    // dugong's way: the 417 instead of the 100; writing is then refused.
    let mut conn = h11.connect();
    conn.send_request(
        Method::PUT,
        "/continue/reject",
        expect(),
        Body::following(10),
    )
    .expect("send_request");
    let head = conn.read_response().expect("the 417");
    assert_eq!(head.status, StatusCode::EXPECTATION_FAILED);
    assert_eq!(conn.read_all().expect("body"), b"rejected");
    assert!(conn.write(b"0123456789").is_err());
    assert!(!conn.is_reusable());
}

/// The server answers 401 after 64 KiB of a large upload and closes without reading the
/// rest: the write fails, and the 401 is still there to read.
#[test]
fn h11_early_error() {
    if skip() {
        return;
    }
    const N: u64 = 64 << 20;
    let h11 = PyServer::h11();
    let taken = AtomicU64::new(0);

    // The client watches for a response while it writes (RFC 9112 §9.5): the 401 that
    // closes is the answer, and the upload stops there.
    let mut conn = h11.connect();
    let mut response = conn
        .put(
            "/early-error",
            HeaderMap::new(),
            Body::reader(io::repeat(7).take(N), N),
        )
        .expect("the 401 to a 64 MiB upload the server stops reading");
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.reason, "Unauthorized");
    assert_eq!(response.body.read_all().expect("401 body"), b"denied");
    assert!(!conn.is_reusable());

    // With following + write, and with expect: 100-continue.
    let mut conn = h11.connect();
    conn.send_request(
        Method::PUT,
        "/early-error",
        headers(&[("expect", "100-continue")]),
        Body::following(N),
    )
    .expect("send_request");
    assert_eq!(
        conn.read_response().expect("100").status,
        StatusCode::CONTINUE
    );
    let piece = vec![1u8; 1 << 20];
    let mut written = 0;
    let e = loop {
        match conn.write(&piece) {
            Ok(()) => written += piece.len() as u64,
            Err(e) => break e,
        }
        assert!(written < N, "the whole body was written");
    };
    assert!(matches!(e, Error::ConnectionClosed { .. }), "{e:?}");
    let head = conn
        .read_response()
        .expect("the 401 after the failed write");
    assert_eq!(head.status, StatusCode::UNAUTHORIZED);
    assert_eq!(conn.read_all().expect("401 body"), b"denied");

    // A chunked upload.
    let mut conn = h11.connect();
    let mut response = conn
        .put(
            "/early-error",
            HeaderMap::new(),
            Body::chunked_reader(io::repeat(3).take(N)),
        )
        .expect("the 401 to a chunked upload the server stops reading");
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.body.read_all().expect("401 body"), b"denied");

    // A body smaller than what the server reads: an ordinary 401.
    let mut conn = h11.connect();
    let (status, _, body) = exchange(
        &mut conn,
        Method::PUT,
        "/early-error",
        HeaderMap::new(),
        Body::reader(CountingReader::new(1000, &taken), 1000),
    );
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, b"denied");
    assert_eq!(taken.load(Ordering::Relaxed), 1000);
    assert!(!conn.is_reusable());
}

/// The server closes without any response: `ConnectionClosed` everywhere.
#[test]
fn h11_early_close() {
    if skip() {
        return;
    }
    const N: u64 = 64 << 20;
    let h11 = PyServer::h11();
    let mut conn = h11.connect();
    let e = conn
        .put(
            "/early-close",
            HeaderMap::new(),
            Body::reader(io::repeat(7).take(N), N),
        )
        .expect_err("a large upload to /early-close");
    assert!(matches!(e, Error::ConnectionClosed { .. }), "{e:?}");
    assert_closed(conn.read_response(), "read_response after /early-close");
    assert!(!conn.is_reusable());

    // A small body: sent whole, then no response.
    let mut conn = h11.connect();
    assert_closed(
        conn.put("/early-close", HeaderMap::new(), &b"tiny"[..])
            .map(|r| r.status),
        "small PUT /early-close",
    );
    // The error stays.
    assert_closed(conn.read_response(), "read_response again");
    assert!(conn.get("/length/1", HeaderMap::new()).is_err());
}

/// Bodies cut short by the server's close: an error, never a short `Ok`.
#[test]
fn h11_cut_bodies() {
    if skip() {
        return;
    }
    let h11 = PyServer::h11();
    for route in ["cut", "cut-chunked"] {
        for n in [10usize, 5001, 200_000] {
            let path = format!("/{route}/{n}");
            let sent = n / 2;

            let mut conn = h11.connect();
            let mut response = conn.get(&path, HeaderMap::new()).expect("GET");
            assert_eq!(response.status, StatusCode::OK, "{path}");
            assert_closed(response.body.read_all(), &format!("{path}: read_all"));

            // read_into: the bytes that came, then the error, never Ok(0).
            let mut conn = h11.connect();
            drop(conn.get(&path, HeaderMap::new()).expect("GET"));
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            let e = loop {
                match conn.read_into(&mut buf) {
                    Ok(0) => panic!("{path}: Ok(0) after {} bytes of a cut body", got.len()),
                    Ok(k) => got.extend_from_slice(&buf[..k]),
                    Err(e) => break e,
                }
            };
            assert!(matches!(e, Error::ConnectionClosed { .. }), "{path}: {e:?}");
            assert_eq!(got.len(), sent, "{path}: bytes before the cut");
            assert!(got == pattern(sent), "{path}: wrong bytes");
            // Sticky.
            assert_closed(
                conn.read_into(&mut buf),
                &format!("{path}: read_into again"),
            );
            assert!(!conn.is_reusable());

            // io::Read: UnexpectedEof; discard: ConnectionClosed.
            let mut conn = h11.connect();
            let mut response = conn.get(&path, HeaderMap::new()).expect("GET");
            let e = response.body.read_to_end(&mut Vec::new()).expect_err(&path);
            assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{path}: {e:?}");
            let mut conn = h11.connect();
            let mut response = conn.get(&path, HeaderMap::new()).expect("GET");
            assert_closed(response.body.discard(), &format!("{path}: discard"));
        }
    }
}

/// The request headers as the server saw them: `host` from the address, base headers, and
/// a request's own fields over both.
#[test]
fn h11_request_headers() {
    if skip() {
        return;
    }
    let h11 = PyServer::h11();
    let host = format!("127.0.0.1:{}", h11.port);
    let lines = |body: Vec<u8>| -> Vec<String> {
        String::from_utf8(body)
            .expect("text")
            .lines()
            .map(str::to_owned)
            .collect()
    };

    let mut conn = h11.connect();
    let (_, body) = get_all(&mut conn, "/headers");
    assert_eq!(lines(body), [format!("host: {host}")]);

    let client = h11
        .client()
        .with_base_header("user-agent", "pollhttp-interop")
        .with_base_header("x-base", "1");
    let mut conn = client.connect().expect("connecting");
    let (_, body) = get_all(&mut conn, "/headers");
    let mut got = lines(body);
    got.sort();
    assert_eq!(
        got,
        [
            format!("host: {host}"),
            "user-agent: pollhttp-interop".to_owned(),
            "x-base: 1".to_owned()
        ]
    );

    // The request's own fields win over the base ones; several values of one name.
    let mut own = headers(&[("x-base", "2"), ("host", "example.test"), ("x-multi", "a")]);
    own.append("x-multi", HeaderValue::from_static("b"));
    let mut response = conn.get("/headers", own).expect("GET /headers");
    let mut got = lines(response.body.read_all().expect("body"));
    got.sort();
    assert_eq!(
        got,
        [
            "host: example.test",
            "user-agent: pollhttp-interop",
            "x-base: 2",
            "x-multi: a",
            "x-multi: b"
        ]
    );
    // with_host.
    let mut conn = h11
        .client()
        .with_host("virtual.test")
        .connect()
        .expect("connecting");
    let (_, body) = get_all(&mut conn, "/headers");
    assert_eq!(lines(body), ["host: virtual.test"]);
}

#[test]
fn h11_timeout() {
    if skip() {
        return;
    }
    let h11 = PyServer::h11();
    let client = h11.client().with_timeout(Some(Duration::from_millis(300)));
    let mut conn = client.connect().expect("connecting");
    let start = Instant::now();
    let result = conn.get("/sleep/2000", HeaderMap::new()).map(|r| r.status);
    let elapsed = start.elapsed();
    assert!(matches!(result, Err(Error::Timeout)), "{result:?}");
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_millis(1500),
        "timed out after {elapsed:?}"
    );
    // A short sleep within the timeout is fine, on a new connection.
    let mut conn = client.connect().expect("connecting");
    let (_, body) = get_all(&mut conn, "/sleep/50");
    assert_eq!(body, b"slept");
}

/// The get example against h11: uploads from a file (length, chunked, 100-continue),
/// trailers on stderr, a close-delimited body, a cut body.
#[test]
fn h11_get_example() {
    if skip() {
        return;
    }
    let h11 = PyServer::h11();
    let data = pattern(300_000);
    let file = unique_path("get-data");
    fs::write(&file, &data).expect("writing the data file");
    let file_arg = file.to_str().expect("utf-8 temp path").to_owned();
    let runs = [
        run_example("get", &["--data-file", &file_arg, &h11.url("/echo")]),
        run_example(
            "get",
            &["--chunked", "--data-file", &file_arg, &h11.url("/echo")],
        ),
        run_example(
            "get",
            &[
                "-X",
                "PUT",
                "--expect100",
                "--data-file",
                &file_arg,
                &h11.url("/continue/accept"),
            ],
        ),
        run_example(
            "get",
            &[
                "-X",
                "PUT",
                "--expect100",
                "--chunked",
                "--data-file",
                &file_arg,
                &h11.url("/continue/accept"),
            ],
        ),
    ];
    let _ = fs::remove_file(&file);
    let [length, chunked, cont, cont_chunked] = runs;
    length.assert_success("--data-file");
    assert!(length.stdout == data, "--data-file: the echo differs");
    assert!(
        length.stderr.contains("\nx-request-framing: length\n"),
        "{}",
        length.stderr
    );
    chunked.assert_success("--chunked");
    assert!(chunked.stdout == data, "--chunked: the echo differs");
    assert!(
        chunked.stderr.contains("\nx-request-framing: chunked\n"),
        "{}",
        chunked.stderr
    );
    for (what, run) in [
        ("--expect100", cont),
        ("--expect100 --chunked", cont_chunked),
    ] {
        run.assert_success(what);
        assert_eq!(run.stdout_text(), "got 300000 bytes", "{what}");
        assert!(
            run.stderr.contains("\nx-sent-100: yes\n"),
            "{what}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("\nx-early-body: no\n"),
            "{what}: {}",
            run.stderr
        );
    }

    // Trailers go to stderr after the head's blank line.
    let run = run_example("get", &[&h11.url("/chunked/5000")]);
    run.assert_success("/chunked/5000");
    assert!(run.stdout == pattern(5000));
    let trailers = run.stderr.split_once("\n\n").map_or("", |(_, t)| t);
    assert_eq!(
        trailers,
        format!("x-checksum: {}\nx-trailer: yes\n", pattern_sum(5000)),
        "{}",
        run.stderr
    );

    let run = run_example("get", &[&h11.url("/close/100000")]);
    run.assert_success("/close/100000");
    assert!(run.stdout == pattern(100_000));

    let run = run_example("get", &[&h11.url("/cut/100000")]);
    assert!(!run.status.success(), "a cut body succeeded");
    assert!(run.stderr.contains("connection closed"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------
// degu

#[test]
fn degu_get() {
    if skip() {
        return;
    }
    let degu = PyServer::degu();
    let mut conn = degu.connect();
    let (hdrs, body) = get_all(&mut conn, "/");
    assert_eq!(body, b"Hello, world!");
    assert_eq!(header(&hdrs, "content-length"), "13");
    for n in [1, 42, 100, 123_456] {
        let (_, body) = get_all(&mut conn, &format!("/d{n}.html"));
        assert_eq!(body, document(n).as_bytes());
    }
    let response = conn.head("/d7.html", HeaderMap::new()).expect("HEAD");
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(header(&response.headers, "content-length"), "11");
    drop(response);
    // A 404 keeps the connection open.
    let (status, _, body) = exchange(&mut conn, Method::GET, "/nope", HeaderMap::new(), ());
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, b"not found\n");
    let (_, body) = get_all(&mut conn, "/d9.html");
    assert_eq!(body, b"document 9\n");
    assert!(conn.is_reusable());
}

#[test]
fn degu_echo() {
    if skip() {
        return;
    }
    let degu = PyServer::degu();
    let mut conn = degu.connect();
    let small = pattern(100);
    let big = pattern(2_000_000);
    type MakeBody = for<'a> fn(&'a [u8]) -> Body<'a>;
    let cases: [(&str, MakeBody, &[u8]); 7] = [
        ("small bytes", |d| Body::bytes(d), &small),
        ("large bytes", |d| Body::bytes(d), &big),
        ("empty", |_| Body::empty(), b""),
        ("reader", |d| Body::reader(d, d.len() as u64), &big),
        ("chunked_reader", |d| Body::chunked_reader(d), &big),
        ("small chunked_reader", |d| Body::chunked_reader(d), &small),
        // degu takes at most one extension per chunk, and only name=value.
        (
            "chunks with an extension",
            |d| {
                let half = d.len() / 2;
                Body::chunks(vec![
                    Chunk::new(&d[..half]).with_extension("k", Some("v")),
                    Chunk::new(&d[half..]),
                ])
            },
            &small,
        ),
    ];
    for (what, make, sent) in cases {
        for method in [Method::PUT, Method::POST] {
            let (status, _, echoed) = exchange(
                &mut conn,
                method.clone(),
                "/echo",
                HeaderMap::new(),
                make(sent),
            );
            assert_eq!(status, StatusCode::OK, "{method} {what}");
            assert_eq!(echoed.len(), sent.len(), "{method} {what}");
            assert!(echoed == sent, "{method} {what}: the echo differs");
        }
    }
    // following + write.
    conn.send_request(
        Method::PUT,
        "/echo",
        HeaderMap::new(),
        Body::following(big.len() as u64),
    )
    .expect("send_request");
    for piece in big.chunks(300_000) {
        conn.write(piece).expect("write");
    }
    assert_eq!(
        conn.read_response().expect("response").status,
        StatusCode::OK
    );
    assert!(conn.read_all().expect("echo") == big);
    assert!(conn.is_reusable());
}

#[test]
fn degu_chunked() {
    if skip() {
        return;
    }
    let degu = PyServer::degu();
    let mut conn = degu.connect();
    for n in [0usize, 1, 1000, 1001, 100_000, 1_000_000] {
        let mut response = conn
            .get(&format!("/chunked/{n}"), HeaderMap::new())
            .expect("GET");
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.body.framing(), Framing::Chunked, "/chunked/{n}");
        let body = response.body.read_all().expect("body");
        assert_eq!(body.len(), n, "/chunked/{n}");
        assert!(body == pattern(n), "/chunked/{n}: wrong bytes");
        assert!(response.body.trailers().is_empty());
    }
    assert!(conn.is_reusable());
}

/// 1,000 requests sent before any response is read, then the responses in order.
#[test]
fn degu_pipelined() {
    if skip() {
        return;
    }
    let degu = PyServer::degu();
    let mut conn = degu.connect();
    for i in 0..1000u64 {
        conn.send_request(Method::GET, &format!("/d{i}.html"), HeaderMap::new(), ())
            .unwrap_or_else(|e| panic!("send_request {i}: {e}"));
    }
    for i in 0..1000u64 {
        let head = conn
            .read_response()
            .unwrap_or_else(|e| panic!("read_response {i}: {e}"));
        assert_eq!(head.status, StatusCode::OK, "response {i}");
        assert_eq!(head.framing, Framing::Length(document(i).len() as u64));
        let body = conn.read_all().unwrap_or_else(|e| panic!("body {i}: {e}"));
        assert_eq!(body, document(i).as_bytes(), "response {i}");
    }
    assert!(!conn.response_pending());
    // PUTs pipelined too.
    for i in 0..100u64 {
        conn.send_request(Method::PUT, "/echo", HeaderMap::new(), document(i))
            .expect("send_request");
    }
    for i in 0..100u64 {
        assert_eq!(conn.read_response().expect("head").status, StatusCode::OK);
        assert_eq!(conn.read_all().expect("body"), document(i).as_bytes());
    }
    assert!(conn.is_reusable());
}
