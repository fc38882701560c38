//! Load tools against the embedded server with one worker: ApacheBench (`ab -k`, HTTP/1.0
//! keep-alive, one request at a time on each connection) and h2load (`--h1 -m 16`,
//! HTTP/1.1 with 16 requests pipelined on each connection). Every request must succeed,
//! on no more connections than the tool opened at first (keep-alive held throughout).
//!
//! ```text
//! eval "$(tests/peers/setup.sh)"     # POLLHTTP_PEERS=1; installs ab and h2load
//! cargo test --test load_tools
//! ```
//!
//! As in `tests/interop.rs`: without `POLLHTTP_PEERS` the tests say they skip and pass;
//! with it, a tool that does not run fails the test.

#[path = "support/examples.rs"]
mod examples;
#[path = "support/installed.rs"]
mod installed;
#[path = "support/programs.rs"]
mod programs;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use http::StatusCode;
use pollhttp::io::Address;
use pollhttp::server::{Response, RunningServer, Server};
use programs::{run, Run};

/// A server of `GET /` (`Hello, world!`) and `/bytes/N` (N bytes of `x`) with one worker,
/// and the count of connections it accepted.
fn server() -> (RunningServer, SocketAddr, Arc<AtomicUsize>) {
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&connections);
    let server = Server::bind(SocketAddr::from(([127, 0, 0, 1], 0)), |_, request| {
        let path = request.path();
        if path == "/" {
            return Response::text(StatusCode::OK, "Hello, world!");
        }
        match path.strip_prefix("/bytes/").and_then(|n| n.parse().ok()) {
            Some(n) => Response::new(StatusCode::OK, vec![b'x'; n]),
            None => Response::text(StatusCode::NOT_FOUND, "not found"),
        }
    })
    .expect("bind")
    .workers(1)
    .on_connect(move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
        true
    })
    .start()
    .expect("start the server");
    let addr = match server.address() {
        Address::Tcp(addr) => *addr,
        other => panic!("not a TCP address: {other}"),
    };
    (server, addr, connections)
}

/// The number after `label` at the start of a line of the tool's output (`Failed
/// requests:        0`).
fn field(out: &str, label: &str) -> Option<u64> {
    out.lines()
        .find_map(|line| line.trim_start().strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// The count before `word` in a comma-separated summary line of h2load (`requests: 2000
/// total, 2000 started, ... 0 failed`).
fn count(line: &str, word: &str) -> Option<u64> {
    line.split(',').find_map(|part| {
        let mut words = part.split_whitespace().rev();
        let (last, number) = (words.next()?, words.next()?);
        (last == word).then(|| number.parse().ok()).flatten()
    })
}

fn show(run: &Run) -> String {
    format!("stdout:\n{}\nstderr:\n{}", run.stdout_text(), run.stderr)
}

#[test]
fn ab_keep_alive() {
    if installed::skip() {
        return;
    }
    let (server, addr, connections) = server();
    let url = format!("http://{addr}/");
    let run = run(
        Command::new("ab").args(["-k", "-n", "2000", "-c", "10", "-s", "30", &url]),
        "ab -k -n 2000 -c 10",
    );
    run.assert_success("ab");
    let out = run.stdout_text();
    println!("{out}");
    assert_eq!(
        field(&out, "Complete requests:"),
        Some(2000),
        "{}",
        show(&run)
    );
    assert_eq!(field(&out, "Failed requests:"), Some(0), "{}", show(&run));
    assert_eq!(
        field(&out, "Keep-Alive requests:"),
        Some(2000),
        "every response kept the connection alive: {}",
        show(&run)
    );
    assert!(!out.contains("Non-2xx responses"), "{}", show(&run));
    assert_eq!(field(&out, "Document Length:"), Some(13), "{}", show(&run));
    let opened = connections.load(Ordering::SeqCst);
    assert!(
        opened <= 10,
        "ab -c 10 -k needed {opened} connections: keep-alive did not hold"
    );
    server.shutdown().expect("shutdown");
}

#[test]
fn h2load_pipelined() {
    if installed::skip() {
        return;
    }
    let (server, addr, connections) = server();
    for path in ["/", "/bytes/20000"] {
        let before = connections.load(Ordering::SeqCst);
        let url = format!("http://{addr}{path}");
        let what = format!("h2load --h1 -n 2000 -c 4 -m 16 {path}");
        let run = run(
            Command::new("h2load").args(["--h1", "-n", "2000", "-c", "4", "-m", "16", &url]),
            &what,
        );
        run.assert_success(&what);
        let out = run.stdout_text();
        println!("{what}:\n{out}");
        let requests = out
            .lines()
            .find(|l| l.starts_with("requests:"))
            .unwrap_or_else(|| panic!("{what}: no requests line: {}", show(&run)));
        for (word, want) in [
            ("total", 2000),
            ("done", 2000),
            ("succeeded", 2000),
            ("failed", 0),
            ("errored", 0),
            ("timeout", 0),
        ] {
            assert_eq!(
                count(requests, word),
                Some(want),
                "{what}: {word} in {requests:?}: {}",
                show(&run)
            );
        }
        let statuses = out
            .lines()
            .find(|l| l.starts_with("status codes:"))
            .unwrap_or_else(|| panic!("{what}: no status codes line: {}", show(&run)));
        for (word, want) in [("2xx", 2000), ("3xx", 0), ("4xx", 0), ("5xx", 0)] {
            assert_eq!(
                count(statuses, word),
                Some(want),
                "{what}: {word} in {statuses:?}: {}",
                show(&run)
            );
        }
        let opened = connections.load(Ordering::SeqCst) - before;
        assert_eq!(
            opened, 4,
            "{what}: {opened} connections for -c 4: keep-alive did not hold"
        );
    }
    server.shutdown().expect("shutdown");
}
