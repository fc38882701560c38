//! The `crawl` example against servers that close, per its contract in design.md ("Example
//! programs: contracts other tools rely on"): real servers with their default limits, the
//! library's own server with `max_requests`, hostile servers (`support/hostile.rs`), and
//! `--urls` lists over many origins.
//!
//! ```text
//! cargo test --test crawl_world                 # own server and hostile servers
//! eval "$(tests/peers/setup.sh)"                # POLLHTTP_PEERS=1: nginx, Apache, lighttpd,
//! cargo test --test crawl_world                 # Python's http.server and Node.js too
//! ```
//!
//! What every run is held to:
//! - exit status 0 when every URL got an HTTP response (any status), 1 when any ended in an
//!   error, 2 for a usage error;
//! - the last stdout line exactly `crawl: <ok> ok of <N> in <secs> s = <rate> req/s`, ok the
//!   2xx responses, secs and rate decimal numbers;
//! - with `--output FILE`: one JSON object per line and URL, each URL (as given, byte for
//!   byte) exactly once, with at least `url` (string), `status` (integer or null), `error`
//!   (string or null), `attempts` (integer, 0 to 3; at least 1 with a status), `status`
//!   null exactly when `error` is not.
//!
//! Tests with real peers follow `tests/interop.rs`: without `POLLHTTP_PEERS` they print that
//! they skip and pass; with it, a peer that does not start fails the test. Each starts its
//! own peers and stops them when it ends, panic or not. The others (own server, hostile
//! servers) always run. No timing assertions, but for one bound: with `--timeout 1` a crawl
//! whose every request times out must end within 20 s.

#[path = "support/examples.rs"]
mod examples;
#[path = "support/hostile.rs"]
mod hostile;
#[path = "support/installed.rs"]
mod installed;
#[path = "support/json.rs"]
mod json;
#[path = "support/programs.rs"]
mod programs;

use hostile::{closed_port, Hostile, Mode};
use installed::{free_port, peers_script, skip, unique_path};
use json::Json;
use programs::{run_with_input, Run};

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use http::StatusCode;
use pollhttp::server::{Response, RunningServer, Server};

// ---------------------------------------------------------------------------------------
// Peers

/// A server run by one of the `tests/peers/*.sh` scripts (`start PORT DIR | stop DIR`):
/// nginx, Apache or lighttpd. Stopped, and its folder removed, on drop.
struct Daemon {
    script: &'static str,
    dir: PathBuf,
    port: u16,
}

impl Daemon {
    fn start(script: &'static str, env: &[(&str, &str)]) -> Self {
        // The guard exists before the server does, so a panic below still stops it.
        let mut daemon = Self {
            script,
            dir: unique_path(script.trim_end_matches(".sh")),
            port: 0,
        };
        let mut last = String::new();
        // Another process may take the port between free_port and the server's bind.
        for _ in 0..5 {
            let port = free_port();
            let out = Command::new(peers_script(script))
                .arg("start")
                .arg(port.to_string())
                .arg(&daemon.dir)
                .envs(env.iter().copied())
                .stdin(Stdio::null())
                .output()
                .unwrap_or_else(|e| panic!("running tests/peers/{script}: {e}"));
            if out.status.success() {
                daemon.port = port;
                return daemon;
            }
            last = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        panic!("POLLHTTP_PEERS is set but tests/peers/{script} does not start: {last}");
    }

    /// nginx with `keepalive_requests` at nginx's default (1000).
    fn nginx() -> Self {
        Self::start("nginx.sh", &[("KEEPALIVE_REQUESTS", "default")])
    }

    /// Apache with Debian's defaults (MaxKeepAliveRequests 100, KeepAliveTimeout 5).
    fn apache() -> Self {
        Self::start("apache.sh", &[])
    }

    /// lighttpd with Debian's defaults (server.max-keep-alive-requests 1000).
    fn lighttpd() -> Self {
        Self::start("lighttpd.sh", &[])
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new(peers_script(self.script))
            .arg("stop")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .output();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A peer run from a script of `tests/peers/` that listens on a port the OS picks and
/// writes it to a file: Python's http.server, Node.js's http. Killed on drop (and exiting
/// by itself if this process dies).
struct ScriptServer {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl ScriptServer {
    /// Python's http.server (`tests/peers/http_server.py`): HTTP/1.0, one request per
    /// connection.
    fn python_http() -> Self {
        let python = std::env::var_os("POLLHTTP_PEERS_PYTHON").unwrap_or_else(|| "python3".into());
        Self::start(python, "http_server.py", |dir, port_file| {
            vec![dir.join("html").into(), port_file.into()]
        })
    }

    /// Node.js's `http` server with its defaults (`tests/peers/node_server.js`), or with
    /// `maxRequestsPerSocket`.
    fn node_http(max_requests_per_socket: Option<u64>) -> Self {
        let node = std::env::var_os("POLLHTTP_PEERS_NODE").unwrap_or_else(|| "node".into());
        Self::start(node, "node_server.js", |_, port_file| {
            let mut args = vec![port_file.into()];
            args.extend(max_requests_per_socket.map(|max| max.to_string().into()));
            args
        })
    }

    /// Runs `program script ARGS`, ARGS from the server's folder and the file for its
    /// port, and waits for the port.
    fn start(
        program: OsString,
        script: &str,
        args: impl FnOnce(&Path, &Path) -> Vec<OsString>,
    ) -> Self {
        let dir = unique_path(script.split('.').next().unwrap_or(script));
        fs::create_dir_all(&dir).expect("making the server's folder");
        let port_file = dir.join("port");
        let child = Command::new(&program)
            .arg(peers_script(script))
            .args(args(&dir, &port_file))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("POLLHTTP_PEERS is set but {program:?} does not run: {e}"));
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
                panic!("{script} exited ({status}) before listening");
            }
            assert!(
                Instant::now() < deadline,
                "{script} did not write its port within 15 s"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for ScriptServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The library's own server in this process: `/` → 200 `Hello, world!`, `/dN.html` → 200
/// `document N\n`, anything else 404; it counts the requests its handler saw.
struct Own {
    server: RunningServer,
    handled: Arc<AtomicU64>,
}

impl Own {
    fn start(max_requests: Option<u64>) -> Self {
        let handled = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&handled);
        let mut server = Server::bind(([127, 0, 0, 1], 0), move |_session, request| {
            counter.fetch_add(1, Ordering::SeqCst);
            let document = request
                .path()
                .strip_prefix("/d")
                .and_then(|rest| rest.strip_suffix(".html"))
                .and_then(|n| n.parse::<u64>().ok());
            match (request.path(), document) {
                ("/", _) => Response::text(StatusCode::OK, "Hello, world!"),
                (_, Some(n)) => Response::new(StatusCode::OK, format!("document {n}\n"))
                    .with_header("content-type", "text/html"),
                _ => Response::text(StatusCode::NOT_FOUND, "not found"),
            }
        })
        .expect("binding our server on 127.0.0.1:0")
        .workers(1);
        if let Some(max) = max_requests {
            server = server.max_requests(max);
        }
        Self {
            server: server.start().expect("starting our server"),
            handled,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.address())
    }

    fn handled(&self) -> u64 {
        self.handled.load(Ordering::SeqCst)
    }
}

// ---------------------------------------------------------------------------------------
// Running the crawl

/// A file removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str) -> Self {
        Self(unique_path(tag))
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 temporary path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Runs `crawl` with these arguments (and this standard input, if any).
fn crawl_with_input(args: &[&str], input: Option<&[u8]>) -> Run {
    let bin = examples::example("crawl");
    run_with_input(
        Command::new(&bin).args(args),
        input,
        &format!("crawl {args:?}"),
    )
}

fn crawl(args: &[&str]) -> Run {
    crawl_with_input(args, None)
}

/// The exit code, with everything the crawl printed in the message if it is not `want`.
#[track_caller]
fn assert_exit(run: &Run, want: i32, what: &str) {
    assert_eq!(
        run.status.code(),
        Some(want),
        "{what}: exit status {}, expected {want}; stdout: {}; stderr: {}",
        run.status,
        run.stdout_text(),
        tail(&run.stderr)
    );
}

/// The last 40 lines of a long text.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// The last stdout line, which must be exactly `crawl: <ok> ok of <N> in <secs> s = <rate>
/// req/s`: (ok, N).
#[track_caller]
fn last_line(run: &Run, what: &str) -> (u64, u64) {
    let line = run.last_line();
    let parsed = parse_last_line(&line);
    parsed.unwrap_or_else(|| {
        panic!(
            "{what}: the last stdout line {line:?} is not `crawl: <ok> ok of <N> in <secs> s = \
             <rate> req/s`; exit {}; stderr: {}",
            run.status,
            tail(&run.stderr)
        )
    })
}

fn parse_last_line(line: &str) -> Option<(u64, u64)> {
    fn decimal(text: &str) -> bool {
        let (int, frac) = text.split_once('.').unwrap_or((text, "0"));
        !int.is_empty()
            && !frac.is_empty()
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit())
    }
    let rest = line.strip_prefix("crawl: ")?;
    let (ok, rest) = rest.split_once(" ok of ")?;
    let (n, rest) = rest.split_once(" in ")?;
    let (secs, rest) = rest.split_once(" s = ")?;
    let rate = rest.strip_suffix(" req/s")?;
    let number = |t: &str| -> Option<u64> {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    if !decimal(secs) || !decimal(rate) {
        return None;
    }
    Some((number(ok)?, number(n)?))
}

/// One origin, `n` requests: exit 0 and `crawl: n ok of n in ...`.
#[track_caller]
fn assert_all_ok(run: &Run, n: u64, what: &str) {
    assert_exit(run, 0, what);
    assert_eq!(last_line(run, what), (n, n), "{what}: last line");
}

/// One line of `--output`.
#[derive(Debug, Clone)]
struct Line {
    url: String,
    status: Option<u16>,
    error: Option<String>,
    attempts: u64,
    text: String,
}

/// Reads `--output`: every line one JSON object with the four members, each once and of
/// its type, `status` null exactly when `error` is not, `attempts` from 0 (a line that is
/// not a URL: nothing was sent) to 3, and at least 1 with a status.
#[track_caller]
fn read_output(path: &str, what: &str) -> Vec<Line> {
    let text = fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{what}: reading the --output file {path}: {e}"));
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{what}: --output does not end with a newline: {text:?}"
    );
    text.lines()
        .map(|line| {
            let value = json::parse(line)
                .unwrap_or_else(|e| panic!("{what}: --output line {line:?} is not JSON: {e}"));
            assert!(
                matches!(value, Json::Object(_)),
                "{what}: --output line {line:?} is not a JSON object"
            );
            let member = |name: &str| -> &Json {
                let found = value.members(name);
                assert!(
                    !found.is_empty(),
                    "{what}: --output line {line:?} has no {name:?}"
                );
                assert!(
                    found.len() == 1,
                    "{what}: --output line {line:?} has {name:?} twice"
                );
                found[0]
            };
            let url = member("url")
                .as_str()
                .unwrap_or_else(|| panic!("{what}: {line:?}: url is not a string"))
                .to_owned();
            let status = match member("status") {
                Json::Null => None,
                other => Some(
                    other
                        .as_integer()
                        .and_then(|s| u16::try_from(s).ok())
                        .filter(|s| (100..1000).contains(s))
                        .unwrap_or_else(|| {
                            panic!("{what}: {line:?}: status is not an HTTP status or null")
                        }),
                ),
            };
            let error = match member("error") {
                Json::Null => None,
                Json::String(e) => Some(e.clone()),
                _ => panic!("{what}: {line:?}: error is not a string or null"),
            };
            let attempts = member("attempts")
                .as_integer()
                .unwrap_or_else(|| panic!("{what}: {line:?}: attempts is not an integer"));
            assert!(
                (0..=3).contains(&attempts),
                "{what}: {line:?}: attempts {attempts}, not 0 to 3"
            );
            assert!(
                status.is_none() || attempts >= 1,
                "{what}: {line:?}: a status after {attempts} attempts"
            );
            assert_eq!(
                status.is_none(),
                error.is_some(),
                "{what}: {line:?}: status must be null exactly when error is set"
            );
            if let Some(e) = &error {
                assert!(!e.is_empty(), "{what}: {line:?}: an empty error");
            }
            Line {
                url,
                status,
                error,
                attempts: attempts as u64,
                text: line.to_owned(),
            }
        })
        .collect()
}

/// The lines by URL, insisting each of `urls` is there exactly once and nothing else is.
#[track_caller]
fn by_url(lines: &[Line], urls: &[String], what: &str) -> HashMap<String, Line> {
    let mut map = HashMap::new();
    for line in lines {
        assert!(
            urls.contains(&line.url),
            "{what}: --output has a URL that is not in the list: {}",
            line.text
        );
        if let Some(before) = map.insert(line.url.clone(), line.clone()) {
            panic!(
                "{what}: {} reported twice:\n{}\n{}",
                line.url, before.text, line.text
            );
        }
    }
    for url in urls {
        assert!(map.contains_key(url), "{what}: {url} is not in --output");
    }
    map
}

/// What a URL of a list must end with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// An HTTP response with this status (any number of attempts up to 3).
    Status(u16),
    /// An error, after 1 to 3 attempts.
    Error,
    /// An error with no attempt: the line is not a URL the crawl can request.
    NotAUrl,
    /// An error after exactly 3 attempts: every attempt reached the server and was cut
    /// short by a close or a reset, so each is sent again until the attempts are used up.
    ErrorAfter3,
}

/// A crawl of a list: the list file, the output file and the run.
struct ListRun {
    run: Run,
    lines: Vec<Line>,
}

/// `crawl --urls FILE --output OUT` with these more arguments, the list written one URL a
/// line.
fn crawl_list(urls: &[String], more: &[&str]) -> ListRun {
    let list = TempFile::new("urls");
    let output = TempFile::new("output.jsonl");
    let mut text = urls.join("\n");
    text.push('\n');
    fs::write(&list.0, text).expect("writing the URL list");
    let mut args = vec!["--urls", list.path(), "--output", output.path()];
    args.extend_from_slice(more);
    let run = crawl(&args);
    let lines = read_run_output(&run, output.path(), &format!("crawl {args:?}"));
    ListRun { run, lines }
}

/// [`read_output`], failing with what the crawl printed if it wrote no file.
#[track_caller]
fn read_run_output(run: &Run, path: &str, what: &str) -> Vec<Line> {
    assert!(
        Path::new(path).exists(),
        "{what}: no --output file; exit {}; stdout: {}; stderr: {}",
        run.status,
        run.stdout_text(),
        tail(&run.stderr)
    );
    read_output(path, what)
}

/// Of a list's lines, every one answered: the sends after each URL's first, and the most
/// attempts any URL took.
fn resent(lines: &HashMap<String, Line>) -> (u64, u64) {
    let again = lines.values().map(|line| line.attempts - 1).sum();
    let most = lines.values().map(|line| line.attempts).max().unwrap_or(0);
    (again, most)
}

/// Checks each URL's line against what it must end with, the exit status (1 if any
/// error is wanted, else 0) and the last line (ok = the 2xx wanted, N = the URLs).
#[track_caller]
fn check_list(list: &ListRun, wants: &[(String, Want)], what: &str) -> HashMap<String, Line> {
    let urls: Vec<String> = wants.iter().map(|(u, _)| u.clone()).collect();
    let context = || {
        format!(
            "exit {}; stdout: {}; stderr: {}",
            list.run.status,
            list.run.stdout_text(),
            tail(&list.run.stderr)
        )
    };
    let lines = by_url(&list.lines, &urls, what);
    for (url, want) in wants {
        let line = &lines[url];
        match want {
            Want::Status(status) => assert_eq!(
                line.status,
                Some(*status),
                "{what}: {url}: expected status {status}: {}; {}",
                line.text,
                context()
            ),
            Want::Error => assert!(
                line.error.is_some() && line.attempts >= 1,
                "{what}: {url}: expected an error after 1 to 3 attempts: {}; {}",
                line.text,
                context()
            ),
            Want::NotAUrl => assert!(
                line.error.is_some() && line.attempts == 0,
                "{what}: {url}: expected an error with 0 attempts: {}; {}",
                line.text,
                context()
            ),
            Want::ErrorAfter3 => assert!(
                line.error.is_some() && line.attempts == 3,
                "{what}: {url}: expected an error after 3 attempts: {}; {}",
                line.text,
                context()
            ),
        }
    }
    let errors = wants.iter().any(|(_, w)| !matches!(w, Want::Status(_)));
    assert_exit(&list.run, if errors { 1 } else { 0 }, what);
    let ok = wants
        .iter()
        .filter(|(_, w)| matches!(w, Want::Status(s) if (200..300).contains(s)))
        .count() as u64;
    assert_eq!(
        last_line(&list.run, what),
        (ok, wants.len() as u64),
        "{what}: last line"
    );
    lines
}

/// `/d1.html` .. `/dK.html` on `base` (a URL without its path).
fn documents(base: &str, k: u64) -> Vec<String> {
    (1..=k).map(|i| format!("{base}/d{i}.html")).collect()
}

/// The origin of a server's URL: `http://127.0.0.1:PORT`.
fn origin(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}

// ---------------------------------------------------------------------------------------
// Real servers with their default limits

/// nginx's default `keepalive_requests` (1000, announced with `Connection: close`):
/// 100,000 HEAD, then 100,000 GET, on one connection at a time.
#[test]
fn nginx_default_keepalive_requests() {
    if skip() {
        return;
    }
    let nginx = Daemon::nginx();
    let url = nginx.url("/");
    for method in ["HEAD", "GET"] {
        let what = format!("crawl {url} --n 100000 --method {method} (nginx, 1000 a connection)");
        let run = crawl(&[&url, "--n", "100000", "--method", method]);
        assert_all_ok(&run, 100_000, &what);
    }
}

/// Apache with Debian's defaults: KeepAlive On, MaxKeepAliveRequests 100 (Apache answers
/// 101 on a connection, the last with `Connection: close`), KeepAliveTimeout 5, MPM event.
#[test]
fn apache_debian_defaults() {
    if skip() {
        return;
    }
    let apache = Daemon::apache();
    let url = apache.url("/");
    for (method, n) in [("GET", "20000"), ("HEAD", "20000")] {
        let what = format!("crawl {url} --n {n} --method {method} (Apache, Debian's defaults)");
        let run = crawl(&[&url, "--n", n, "--method", method]);
        assert_all_ok(&run, n.parse().unwrap(), &what);
    }
    // Over 4 connections at once.
    let what = format!("crawl {url} --n 5000 --method GET --connections 4 (Apache)");
    let run = crawl(&[&url, "--n", "5000", "--method", "GET", "--connections", "4"]);
    assert_all_ok(&run, 5000, &what);
}

/// lighttpd with Debian's defaults (server.max-keep-alive-requests 1000: 1001 answered on a
/// connection, the last with `Connection: close`).
#[test]
fn lighttpd_debian_defaults() {
    if skip() {
        return;
    }
    let lighttpd = Daemon::lighttpd();
    let url = lighttpd.url("/");
    for method in ["GET", "HEAD"] {
        let what = format!("crawl {url} --n 20000 --method {method} (lighttpd)");
        let run = crawl(&[&url, "--n", "20000", "--method", method]);
        assert_all_ok(&run, 20_000, &what);
    }
}

/// Python's http.server speaks HTTP/1.0: one response per connection, then it closes, and
/// requests pipelined behind the first are never answered.
#[test]
fn python_http_server_one_request_per_connection() {
    if skip() {
        return;
    }
    let server = ScriptServer::python_http();
    let url = server.url("/");
    for (method, n) in [("GET", "2000"), ("HEAD", "500")] {
        let what = format!("crawl {url} --n {n} --method {method} (Python http.server)");
        let run = crawl(&[&url, "--n", n, "--method", method]);
        assert_all_ok(&run, n.parse().unwrap(), &what);
    }
}

/// Node.js's `http` server: with its defaults (no cap on requests per connection,
/// keepAliveTimeout 5 s) every request answered the first time; with
/// `maxRequestsPerSocket = 100`, which it announces as `Keep-Alive: max=100` on every
/// response (the total, where Apache counts down), every URL of a list answered and none
/// sent a third time, at most the first connections' requests sent twice.
#[test]
fn node_http_defaults_and_max_requests_per_socket() {
    if skip() {
        return;
    }
    let node = ScriptServer::node_http(None);
    let url = node.url("/");
    for method in ["GET", "HEAD"] {
        let what = format!("crawl {url} --n 20000 --method {method} (Node.js, defaults)");
        let run = crawl(&[&url, "--n", "20000", "--method", method]);
        assert_all_ok(&run, 20_000, &what);
    }
    let capped = ScriptServer::node_http(Some(100));
    let urls: Vec<String> = (0..5000)
        .map(|i| capped.url(&format!("/d{}.html?i={i}", i % 100 + 1)))
        .collect();
    let wants = all(urls.clone(), Want::Status(200));
    for method in ["GET", "HEAD"] {
        let what = format!("Node.js, maxRequestsPerSocket 100, 5,000 URLs, {method}");
        let list = crawl_list(&urls, &["--method", method]);
        let lines = check_list(&list, &wants, &what);
        let (again, most) = resent(&lines);
        assert!(
            most <= 2 && again <= 2 * 64,
            "{what}: {again} URLs sent again, the most attempts {most}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Our own server with max_requests

/// The library's server closing after `max_requests` responses (the last one says
/// `Connection: close`): every request answered once, none twice.
#[test]
fn own_server_max_requests() {
    for (max, method, n, more) in [
        (100, "GET", 20_000u64, &[][..]),
        (1, "HEAD", 500, &[][..]),
        (7, "GET", 3000, &["--connections", "4"][..]),
    ] {
        let own = Own::start(Some(max));
        let url = own.url("/");
        let n_text = n.to_string();
        let mut args = vec![url.as_str(), "--n", &n_text, "--method", method];
        args.extend_from_slice(more);
        let what = format!("crawl {args:?} (our server, max_requests {max})");
        let run = crawl(&args);
        assert_all_ok(&run, n, &what);
        assert_eq!(
            own.handled(),
            n,
            "{what}: the server's handler saw another number of requests than N"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Hostile servers, each alone

/// A list of one URL on a server that cuts every attempt short: an error after exactly 3
/// attempts, each of which reached the server.
#[track_caller]
fn three_attempts_then_error(mode: Mode, method: &str) {
    let server = Hostile::start(mode);
    let url = server.url("/d1.html");
    let what = format!("{mode:?}, {method} {url}");
    let list = crawl_list(
        std::slice::from_ref(&url),
        &["--method", method, "--timeout", "10"],
    );
    let lines = check_list(&list, &[(url.clone(), Want::ErrorAfter3)], &what);
    assert_eq!(
        server.requests(),
        3,
        "{what}: the server should have read the request 3 times: {}",
        lines[&url].text
    );
}

#[test]
fn hostile_close_mid_body() {
    three_attempts_then_error(Mode::CloseMidBody, "GET");
    // To a HEAD the server sends half a head.
    three_attempts_then_error(Mode::CloseMidBody, "HEAD");
}

#[test]
fn hostile_reset() {
    three_attempts_then_error(Mode::Reset, "GET");
}

#[test]
fn hostile_close_empty() {
    three_attempts_then_error(Mode::CloseEmpty, "HEAD");
}

/// An answer that is not HTTP: an error (whether it is tried again is the crawl's choice).
#[test]
fn hostile_garbage() {
    let server = Hostile::start(Mode::Garbage);
    let urls = documents(&origin(&server.url("")), 2);
    let wants: Vec<(String, Want)> = urls.iter().map(|u| (u.clone(), Want::Error)).collect();
    let list = crawl_list(&urls, &["--method", "GET", "--timeout", "10"]);
    check_list(&list, &wants, "Garbage");
    assert!(
        server.requests() >= 1,
        "Garbage: no request reached the server"
    );
}

/// No answer at all, or an answer that stops halfway: with `--timeout 1`, an error for each
/// URL, well before the default timeout would have passed.
#[test]
fn hostile_silent_and_stalled_time_out() {
    for mode in [Mode::Silent, Mode::StallMidBody] {
        let server = Hostile::start(mode);
        let urls = documents(&origin(&server.url("")), 3);
        let wants: Vec<(String, Want)> = urls.iter().map(|u| (u.clone(), Want::Error)).collect();
        let what = format!("{mode:?} --timeout 1");
        let list = crawl_list(&urls, &["--method", "GET", "--timeout", "1"]);
        check_list(&list, &wants, &what);
        assert!(
            list.run.elapsed < Duration::from_secs(20),
            "{what}: took {:?} (3 attempts of 1 s at most per URL)",
            list.run.elapsed
        );
        assert!(
            server.requests() >= 1,
            "{what}: no request reached the server"
        );
    }
}

/// Servers that answer properly, but close where a pipelining client does not expect it:
/// every URL gets its 200 within 3 attempts. (So a crawl must send fewer requests at once,
/// down to one, to an origin whose connections end with requests unanswered.)
#[test]
fn hostile_servers_that_close_but_answer() {
    for mode in [
        Mode::NoPipelining,
        Mode::RefusePipelining,
        Mode::CloseAfter(10),
        Mode::CloseAfter(1),
        Mode::CloseDelimited,
    ] {
        let server = Hostile::start(mode);
        let urls = documents(&origin(&server.url("")), 100);
        let wants: Vec<(String, Want)> = urls
            .iter()
            .map(|u| (u.clone(), Want::Status(200)))
            .collect();
        for method in ["GET", "HEAD"] {
            let what = format!("{mode:?}, 100 URLs, {method}");
            let list = crawl_list(&urls, &["--method", method, "--timeout", "10"]);
            check_list(&list, &wants, &what);
        }
    }
}

/// A server that follows each response with a 500 that answers nothing, in the same
/// write: that 500 is not the next request's response (RFC 9112 §6.3). With one request
/// in flight the client has it before it sends the next: it leaves that connection and
/// sends the request on a new one, unsent so far, so each URL gets its own 200 at its
/// first attempt.
#[test]
fn hostile_extra_response_is_no_ones() {
    let server = Hostile::start(Mode::ExtraResponse);
    let urls = documents(&origin(&server.url("")), 20);
    let wants: Vec<(String, Want)> = urls
        .iter()
        .map(|u| (u.clone(), Want::Status(200)))
        .collect();
    for method in ["GET", "HEAD"] {
        let what = format!("ExtraResponse, 20 URLs, {method}, --depth 1");
        let list = crawl_list(&urls, &["--method", method, "--depth", "1"]);
        let lines = check_list(&list, &wants, &what);
        for (url, line) in &lines {
            assert_eq!(
                line.attempts, 1,
                "{what}: {url} took {} attempts",
                line.attempts
            );
        }
    }
}

/// A server that takes one connection at a time and waits for the client's close before
/// the next (gunicorn's default sync worker): the crawl closes each connection as soon as
/// its response is read, so the server is never kept waiting for it. (It was closed at the
/// loop's next wake-up, and a crawl of 20 stood still for the server's 2 s.)
#[test]
fn one_connection_at_a_time_is_not_kept_waiting() {
    let server = Hostile::start(Mode::OneAtATime);
    let url = server.url("/");
    for connections in ["1", "2"] {
        let what = format!("crawl {url} --n 20 --connections {connections} (OneAtATime)");
        let started = Instant::now();
        let run = crawl(&[&url, "--n", "20", "--connections", connections]);
        let took = started.elapsed();
        assert_all_ok(&run, 20, &what);
        // Each close the server waited for would be up to 2 s; unhindered, 20 requests
        // take milliseconds.
        assert!(took < Duration::from_millis(1500), "{what}: took {took:?}");
    }
}

/// `--connections C` is C connections at most, also while one waits for its last
/// response after the server said it closes (each connection of this server answers one
/// request, slowly): the server never answers more than C at once. (A successor opened
/// beside each closing connection, 2 C at once, overflowing a small listen backlog.)
#[test]
fn connections_is_the_most_open_at_once() {
    for connections in [1u64, 3] {
        let server = Hostile::start(Mode::SlowOnePerConnection);
        let url = server.url("/");
        let c = connections.to_string();
        let what = format!("crawl {url} --n 30 --connections {c} (SlowOnePerConnection)");
        let run = crawl(&[&url, "--n", "30", "--connections", &c, "--timeout", "10"]);
        assert_all_ok(&run, 30, &what);
        let most = server.most_at_once();
        assert!(
            (1..=connections).contains(&most),
            "{what}: the server answered {most} at once"
        );
    }
}

/// A server that caps its connections at 10 requests and says `Keep-Alive: max=10` on each
/// response before the last, the total rather than what is left (Node.js's `http` with
/// `maxRequestsPerSocket`; Apache counts down): once a connection has shown the same max
/// twice, no connection is sent more than 10. Only the first connections, written before any
/// answer, lose requests behind a close; no URL is sent a third time. (Each response raised
/// the cap by one: every connection was written past the close, and 2,000 URLs took 7,200
/// second and 670 third attempts from Node.js with `maxRequestsPerSocket = 100`.)
#[test]
fn a_keep_alive_max_repeated_on_each_response_is_the_total() {
    let server = Hostile::start(Mode::RepeatsItsMax(10));
    let urls: Vec<String> = (0..2000)
        .map(|i| server.url(&format!("/d{}.html?i={i}", i % 100 + 1)))
        .collect();
    let wants = all(urls.clone(), Want::Status(200));
    for method in ["GET", "HEAD"] {
        let what = format!("RepeatsItsMax(10), 2,000 URLs, {method}");
        let list = crawl_list(&urls, &["--method", method, "--timeout", "10"]);
        let lines = check_list(&list, &wants, &what);
        let (again, most) = resent(&lines);
        // The first two connections (the default in list mode) write 64 each before the
        // first answer: at most 2 x (64 - 10) sent again.
        assert!(
            most <= 2 && again <= 2 * 54,
            "{what}: {again} URLs sent again, the most attempts {most}"
        );
    }
}

/// The same servers in one-origin mode: N requests, all 2xx, exit 0.
#[test]
fn hostile_servers_that_close_but_answer_one_origin() {
    for (mode, n) in [
        (Mode::CloseAfter(100), 20_000u64),
        (Mode::CloseAfter(3), 1000),
        (Mode::NoPipelining, 1000),
        (Mode::RefusePipelining, 1000),
        (Mode::CloseDelimited, 1000),
    ] {
        let server = Hostile::start(mode);
        let url = server.url("/");
        let n_text = n.to_string();
        for method in ["GET", "HEAD"] {
            let what = format!("crawl {url} --n {n} --method {method} ({mode:?})");
            let run = crawl(&[&url, "--n", &n_text, "--method", method, "--timeout", "10"]);
            assert_all_ok(&run, n, &what);
        }
    }
}

/// Nothing listens, or the name does not resolve: an error for the URL, exit 1.
#[test]
fn refused_and_unresolvable() {
    let refused = format!("http://127.0.0.1:{}/d1.html", closed_port());
    let unresolvable = "http://nonexistent.invalid/".to_owned();
    for url in [refused, unresolvable] {
        let list = crawl_list(
            std::slice::from_ref(&url),
            &["--method", "GET", "--timeout", "5"],
        );
        check_list(&list, &[(url.clone(), Want::Error)], &url);
    }
}

// ---------------------------------------------------------------------------------------
// Lists

/// Round-robin over the groups, so that the origins are mixed in the list.
fn interleave(groups: Vec<Vec<(String, Want)>>) -> Vec<(String, Want)> {
    let mut iters: Vec<_> = groups.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::new();
    loop {
        let before = out.len();
        for it in &mut iters {
            out.extend(it.next());
        }
        if out.len() == before {
            return out;
        }
    }
}

fn all(urls: Vec<String>, want: Want) -> Vec<(String, Want)> {
    urls.into_iter().map(|u| (u, want)).collect()
}

/// One list over many origins (our server twice, hostile servers, a closed port, a name
/// that does not resolve, and with the peers nginx, Apache, lighttpd and http.server), with
/// 404s and errors among them, `--timeout 1`: each URL reported once with its status or an
/// error, exit 1, and the last line counting the 2xx.
#[test]
fn urls_list_many_origins() {
    let own = Own::start(None);
    let own_capped = Own::start(Some(3));
    let close_after = Hostile::start(Mode::CloseAfter(4));
    let no_pipelining = Hostile::start(Mode::NoPipelining);
    let close_delimited = Hostile::start(Mode::CloseDelimited);
    let mid_body = Hostile::start(Mode::CloseMidBody);
    let reset = Hostile::start(Mode::Reset);
    let silent = Hostile::start(Mode::Silent);
    let closed = format!("http://127.0.0.1:{}", closed_port());

    let o = |url: String| origin(&url);
    let mut groups = vec![
        all(documents(&o(own.url("")), 30), Want::Status(200)),
        vec![
            (own.url("/"), Want::Status(200)),
            (own.url("/missing"), Want::Status(404)),
        ],
        all(documents(&o(own_capped.url("")), 20), Want::Status(200)),
        vec![(own_capped.url("/nope.html"), Want::Status(404))],
        all(documents(&o(close_after.url("")), 20), Want::Status(200)),
        vec![(close_after.url("/nope"), Want::Status(404))],
        all(documents(&o(no_pipelining.url("")), 10), Want::Status(200)),
        all(documents(&o(close_delimited.url("")), 5), Want::Status(200)),
        all(documents(&mid_body.url(""), 2), Want::Error),
        all(documents(&reset.url(""), 2), Want::Error),
        all(documents(&silent.url(""), 2), Want::Error),
        all(documents(&closed, 2), Want::Error),
        vec![
            ("http://nonexistent.invalid/".to_owned(), Want::Error),
            (
                "http://nonexistent.invalid:8080/d1.html".to_owned(),
                Want::Error,
            ),
        ],
    ];
    // With the peers: nginx (its default cap), Apache and lighttpd (Debian's defaults),
    // and Python's http.server, each with a 404 too.
    let peers = !skip();
    let nginx = peers.then(Daemon::nginx);
    let apache = peers.then(Daemon::apache);
    let lighttpd = peers.then(Daemon::lighttpd);
    let python = peers.then(ScriptServer::python_http);
    if let (Some(nginx), Some(apache), Some(lighttpd), Some(python)) =
        (&nginx, &apache, &lighttpd, &python)
    {
        for (base, k) in [
            (nginx.url(""), 100),
            (apache.url(""), 50),
            (lighttpd.url(""), 20),
            (python.url(""), 10),
        ] {
            groups.push(all(documents(&base, k), Want::Status(200)));
            groups.push(vec![(format!("{base}/nope.html"), Want::Status(404))]);
        }
    }
    let wants = interleave(groups);
    let urls: Vec<String> = wants.iter().map(|(u, _)| u.clone()).collect();
    let what = format!("a list of {} URLs over many origins", urls.len());
    for method in ["GET", "HEAD"] {
        let what = format!("{what}, {method}");
        let list = crawl_list(&urls, &["--method", method, "--timeout", "1"]);
        check_list(&list, &wants, &what);
    }
}

/// `--urls -`: the list from standard input, blank lines and `#` lines skipped (and not
/// requested), each URL reported exactly as given; only HTTP responses (404 among them), so
/// exit 0, and ok counts the 2xx only.
#[test]
fn urls_from_stdin() {
    let own = Own::start(None);
    let port = own.server.address().to_string();
    let port = port.rsplit_once(':').map(|(_, p)| p.to_owned()).unwrap();
    let input = format!(
        "# a crawl list\n\
         \n\
         http://127.0.0.1:{port}/d1.html\n\
         #http://127.0.0.1:{port}/d2.html\n\
         http://localhost:{port}/d3.html\n\
         \n\
         \n\
         http://127.0.0.1:{port}/d4.html?x=1&y=%41\n\
         http://127.0.0.1:{port}\n\
         http://127.0.0.1:{port}/nothing-here\n\
         # the end\n"
    );
    let wants = vec![
        (
            format!("http://127.0.0.1:{port}/d1.html"),
            Want::Status(200),
        ),
        (
            format!("http://localhost:{port}/d3.html"),
            Want::Status(200),
        ),
        (
            format!("http://127.0.0.1:{port}/d4.html?x=1&y=%41"),
            Want::Status(200),
        ),
        (format!("http://127.0.0.1:{port}"), Want::Status(200)),
        (
            format!("http://127.0.0.1:{port}/nothing-here"),
            Want::Status(404),
        ),
    ];
    let output = TempFile::new("stdin-output.jsonl");
    let args = ["--urls", "-", "--output", output.path(), "--method", "GET"];
    let run = crawl_with_input(&args, Some(input.as_bytes()));
    let lines = read_run_output(&run, output.path(), "--urls -");
    let list = ListRun { run, lines };
    let lines = check_list(&list, &wants, "--urls -");
    for line in lines.values() {
        assert_eq!(
            line.attempts, 1,
            "--urls -: one attempt is enough for our server: {}",
            line.text
        );
    }
    assert_eq!(
        own.handled(),
        5,
        "--urls -: the server saw another number of requests than the 5 URLs"
    );
}

/// A line that is not an absolute `http://` or `https://` URL, in a list: that line is
/// reported like any URL that ended in an error (exactly as given, `status` null, an
/// `error`, 0 attempts since nothing could be sent), the other URLs are crawled, and the
/// exit status is 1. (The contract keeps exit 2 for usage errors, the command line; a
/// list is data, every line of which is reported: one bad line in a long list does not stop
/// the crawl.) A `--urls` file that cannot be read is a usage error.
/// A list longer than the slices the crawl submits at a time (2,048), over three of our
/// servers (one closing every 100 requests), with 404s and lines that are not URLs spread
/// through it: every line is reported exactly once with its outcome, and the servers saw
/// each URL once.
#[test]
fn urls_long_list_each_line_once() {
    let servers = [Own::start(None), Own::start(Some(100)), Own::start(None)];
    let wants: Vec<(String, Want)> = (0..6000u64)
        .map(|i| {
            let own = &servers[(i % 3) as usize];
            if i % 997 == 13 {
                (format!("not a url {i}"), Want::NotAUrl)
            } else if i % 500 == 7 {
                (own.url(&format!("/nope.html?i={i}")), Want::Status(404))
            } else {
                (
                    own.url(&format!("/d{}.html?i={i}", i % 100 + 1)),
                    Want::Status(200),
                )
            }
        })
        .collect();
    let urls: Vec<String> = wants.iter().map(|(u, _)| u.clone()).collect();
    let list = crawl_list(&urls, &["--method", "GET"]);
    check_list(&list, &wants, "a list of 6,000 lines over 3 origins");
    let requested = wants
        .iter()
        .filter(|(_, w)| !matches!(w, Want::NotAUrl))
        .count() as u64;
    let handled: u64 = servers.iter().map(Own::handled).sum();
    assert_eq!(handled, requested, "requests the servers handled");
}

#[test]
fn urls_malformed_line_is_an_error_for_that_line() {
    let own = Own::start(None);
    let authority = own.server.address().to_string();
    let mut handled = 0;
    for bad in [
        "not a url".to_owned(),
        format!("ftp://{authority}/d1.html"),
        format!("{authority}/d1.html"),
        "/d1.html".to_owned(),
        "http://".to_owned(),
        "http://127.0.0.1:notaport/".to_owned(),
        "http://127.0.0.1:99999/".to_owned(),
    ] {
        let wants = vec![
            (own.url("/d1.html"), Want::Status(200)),
            (bad.clone(), Want::NotAUrl),
            (own.url("/d2.html"), Want::Status(200)),
        ];
        let urls: Vec<String> = wants.iter().map(|(u, _)| u.clone()).collect();
        let what = format!("a list with the line {bad:?}");
        let list = crawl_list(&urls, &["--method", "GET"]);
        check_list(&list, &wants, &what);
        handled += 2;
        assert_eq!(
            own.handled(),
            handled,
            "{what}: requests seen by the server"
        );
        // The same through standard input.
        let output = TempFile::new("bad-output.jsonl");
        let args = ["--urls", "-", "--output", output.path(), "--method", "HEAD"];
        let run = crawl_with_input(&args, Some((urls.join("\n") + "\n").as_bytes()));
        let what = format!("--urls - with the line {bad:?}");
        let lines = read_run_output(&run, output.path(), &what);
        check_list(&ListRun { run, lines }, &wants, &what);
        handled += 2;
        assert_eq!(
            own.handled(),
            handled,
            "{what}: requests seen by the server"
        );
    }
    let missing = unique_path("no-such-list");
    let output = TempFile::new("missing-output.jsonl");
    let run = crawl(&[
        "--urls",
        missing.to_str().unwrap(),
        "--output",
        output.path(),
    ]);
    assert_exit(&run, 2, "--urls with a file that does not exist");
}

/// The checks on the last line and on `--output` lines accept what the contract says and
/// nothing else.
#[test]
fn the_checks_themselves() {
    assert_eq!(
        parse_last_line("crawl: 5 ok of 7 in 0.123 s = 56 req/s"),
        Some((5, 7))
    );
    assert_eq!(
        parse_last_line("crawl: 5 ok of 7 in 1 s = 5.5 req/s"),
        Some((5, 7))
    );
    for bad in [
        "crawl: 5 ok of 7 in 0.1 s = 56 req/s ",
        "crawl: 5 ok of 7 in s = 56 req/s",
        "crawl: -5 ok of 7 in 0.1 s = 56 req/s",
        "crawl:  5 ok of 7 in 0.1 s = 56 req/s",
        "crawl: 5 ok of 7 in 0.1s = 56 req/s",
        "crawl: 5 ok of 7 in 0.1 s = inf req/s",
    ] {
        assert_eq!(parse_last_line(bad), None, "{bad:?}");
    }
    let out = TempFile::new("check.jsonl");
    fs::write(
        &out.0,
        "{\"url\": \"http://a/\\u00e9\", \"status\": 200, \"error\": null, \"attempts\": 1, \"ms\": 1.5}\n\
         {\"attempts\":3,\"error\":\"reset\",\"status\":null,\"url\":\"http://b/\"}\n\
         {\"url\": \"not a url\", \"status\": null, \"error\": \"bad\", \"attempts\": 0}\n",
    )
    .unwrap();
    let lines = read_output(out.path(), "check");
    assert_eq!(lines[0].url, "http://a/\u{e9}");
    assert_eq!(lines[0].status, Some(200));
    assert_eq!(lines[1].error.as_deref(), Some("reset"));
    assert_eq!(lines[1].attempts, 3);
    assert_eq!(lines[2].attempts, 0);
    for bad in [
        "{\"url\": \"u\", \"status\": \"200\", \"error\": null, \"attempts\": 1}",
        "{\"url\": \"u\", \"status\": 200, \"error\": null, \"attempts\": 1.0}",
        "{\"url\": \"u\", \"status\": 200, \"error\": \"x\", \"attempts\": 1}",
        "{\"url\": \"u\", \"status\": null, \"error\": null, \"attempts\": 1}",
        "{\"url\": \"u\", \"status\": 200, \"error\": null, \"attempts\": 4}",
        "{\"url\": \"u\", \"status\": 200, \"error\": null, \"attempts\": 0}",
        "{\"url\": \"u\", \"status\": null, \"error\": \"x\", \"attempts\": -1}",
        "{\"url\": \"u\", \"status\": 200, \"error\": null}",
        "{\"url\": \"u\", \"url\": \"u\", \"status\": 200, \"error\": null, \"attempts\": 1}",
        "{\"url\": \"u\", \"status\": 200, \"error\": null, \"attempts\": 1} x",
    ] {
        fs::write(&out.0, format!("{bad}\n")).unwrap();
        let result = std::panic::catch_unwind(|| read_output(out.path(), "check"));
        assert!(result.is_err(), "accepted {bad}");
    }
}

/// `count` spellings of 127.0.0.1 that the system resolver (inet_aton's forms) reads the
/// same: each is an origin of its own to the crawl, all served by one server.
fn loopback_spellings(count: usize) -> Vec<String> {
    let mut names = Vec::new();
    for first in ["127", "0177", "0x7f"] {
        for second in ["0", "00", "000"] {
            for third in ["0", "00", "000"] {
                for fourth in ["1", "01", "001"] {
                    names.push(format!("{first}.{second}.{third}.{fourth}"));
                }
            }
        }
    }
    assert!(count <= names.len(), "at most {} spellings", names.len());
    names.truncate(count);
    names
}

/// Runs `crawl --urls LIST --output OUT --connections 1` under a limit of `limit` open
/// files (soft and hard, so it cannot be raised), with `held` descriptors already open.
fn crawl_under_open_files_limit(urls: &[String], limit: u32, held: u32) -> ListRun {
    let list = TempFile::new("urls");
    let output = TempFile::new("output.jsonl");
    fs::write(&list.0, urls.join("\n") + "\n").expect("writing the URL list");
    let hold: String = (0..held)
        .map(|k| format!("exec {}</dev/null; ", 10 + k))
        .collect();
    let script = format!("ulimit -n {limit} && {hold}exec \"$0\" \"$@\"");
    let bin = examples::example("crawl");
    let args = [
        "--urls",
        list.path(),
        "--output",
        output.path(),
        "--connections",
        "1",
    ];
    let what = format!("crawl {args:?} under `ulimit -n {limit}` with {held} descriptors held");
    let run = run_with_input(
        Command::new("bash")
            .arg("-c")
            .arg(&script)
            .arg(&bin)
            .args(args),
        None,
        &what,
    );
    let lines = read_run_output(&run, output.path(), &what);
    ListRun { run, lines }
}

/// A list over more origins than the open-files limit has descriptors for (80 origins,
/// one connection each, under a limit of 48): origins wait for a connection to close
/// rather than fail with EMFILE, so every URL is answered. Then with 30 of the 48 held by
/// the process already (the default cap, 24, is above what is free): the first EMFILE
/// brings the cap down to the connections open, and no request is charged for it.
#[test]
fn urls_list_over_more_origins_than_descriptors() {
    let own = Own::start(None);
    let pollhttp::io::Address::Tcp(address) = own.server.address() else {
        panic!("our server listens on TCP");
    };
    let port = address.port();
    let wants: Vec<(String, Want)> = loopback_spellings(80)
        .iter()
        .flat_map(|host| {
            (1..=5).map(move |k| (format!("http://{host}:{port}/d{k}.html"), Want::Status(200)))
        })
        .collect();
    let urls: Vec<String> = wants.iter().map(|(u, _)| u.clone()).collect();
    for held in [0, 30] {
        let list = crawl_under_open_files_limit(&urls, 48, held);
        let what = format!("400 URLs over 80 origins, 48 open files, {held} held");
        let lines = check_list(&list, &wants, &what);
        assert!(
            lines.values().all(|line| line.attempts == 1),
            "{what}: a request was charged an attempt"
        );
    }
}

/// `--output` to stdout: `-`, or a path naming what stdout writes to (`--output
/// /dev/stdout`, stdout sent to a file). Either way the JSON lines come first and the last
/// line is the crawl's, none written over another. (Through a descriptor of its own, the file's JSON lines were
/// overwritten from the start by the last line, written through stdout's.)
#[test]
fn output_to_stdout_keeps_every_line() {
    let own = Own::start(None);
    let pollhttp::io::Address::Tcp(address) = own.server.address() else {
        panic!("our server listens on TCP");
    };
    let port = address.port();
    let urls: Vec<String> = (1..=5)
        .map(|k| format!("http://127.0.0.1:{port}/d{k}.html"))
        .collect();
    let list = TempFile::new("stdout-urls");
    fs::write(&list.0, urls.join("\n") + "\n").expect("writing the URL list");
    let check = |text: &str, what: &str| {
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6, "{what}: {text:?}");
        for line in &lines[..5] {
            assert!(
                line.starts_with("{\"url\": \"http://127.0.0.1:") && line.ends_with('}'),
                "{what}: {line:?} in {text:?}"
            );
        }
        assert!(
            lines[5].starts_with("crawl: 5 ok of 5 in "),
            "{what}: {text:?}"
        );
    };
    let dash = crawl(&["--urls", list.path(), "--output", "-"]);
    assert_exit(&dash, 0, "--output -");
    check(&dash.stdout_text(), "--output -");
    assert!(!Path::new("-").exists(), "--output - made a file named -");
    // `--output /dev/stdout`, stdout sent to `file` (`>`, or `>>` with `append`).
    let to_stdout_file = |file: &TempFile, append: bool, what: &str| {
        let stdout = fs::OpenOptions::new()
            .write(true)
            .append(append)
            .truncate(!append)
            .open(&file.0)
            .expect("opening the stdout file");
        let status = Command::new(examples::example("crawl"))
            .args(["--urls", list.path(), "--output", "/dev/stdout"])
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::null())
            .status()
            .expect("running crawl");
        assert!(status.success(), "{what}: {status}");
        fs::read_to_string(&file.0).expect("reading the stdout file")
    };
    let file = TempFile::new("stdout-file");
    fs::write(&file.0, "").expect("creating the stdout file");
    let text = to_stdout_file(&file, false, "--output /dev/stdout > FILE");
    check(&text, "--output /dev/stdout > FILE");
    // Appended to (`>> FILE`): what the file held stays.
    fs::write(&file.0, "before\n").expect("writing the stdout file");
    let text = to_stdout_file(&file, true, "--output /dev/stdout >> FILE");
    let rest = text.strip_prefix("before\n").unwrap_or_else(|| {
        panic!("--output /dev/stdout >> FILE: what the file held is gone: {text:?}")
    });
    check(rest, "--output /dev/stdout >> FILE");
    // A file of its own is emptied first, as before.
    let own = TempFile::new("own-output");
    fs::write(&own.0, "stale line\n".repeat(100)).expect("writing a stale output file");
    let run = crawl(&["--urls", list.path(), "--output", own.path()]);
    assert_exit(&run, 0, "--output FILE");
    let text = fs::read_to_string(&own.0).expect("reading the output file");
    assert!(
        !text.contains("stale"),
        "--output FILE kept what it held: {text:?}"
    );
    assert_eq!(text.lines().count(), 5, "{text:?}");
}
