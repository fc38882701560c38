//! A connect racing addresses, and a crawl's lookup, when the process has no descriptor
//! left. In a test binary of their own, since each takes every descriptor the process may
//! open, and one at a time (`cargo test` runs tests on threads of one process).
#![cfg(target_os = "linux")]

#[path = "support/blackhole.rs"]
mod blackhole;

use std::fs::File;
use std::net::TcpListener;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use blackhole::Blackhole;
use pollhttp::io::{Address, Connect};
use pollhttp::Progress;

/// More than this and the open-files limit is too high to reach in a test.
const MOST_FILES: usize = 100_000;

/// One test at a time: a test's descriptors freed would be another's to take.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static ONE: Mutex<()> = Mutex::new(());
    ONE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Takes every descriptor the process has left, until the files are dropped; `None` (the
/// test is skipped) if the open-files limit is too high for that.
fn every_descriptor_left() -> Option<Vec<File>> {
    let mut hoard = Vec::new();
    loop {
        match File::open("/dev/null") {
            Ok(file) => hoard.push(file),
            Err(e) if e.raw_os_error() == Some(libc::EMFILE) => return Some(hoard),
            Err(e) => panic!("{e}"),
        }
        if hoard.len() > MOST_FILES {
            eprintln!("the open-files limit is above {MOST_FILES}: skipped");
            return None;
        }
    }
}

#[test]
fn an_attempt_without_a_descriptor_waits_and_the_address_is_kept() {
    let _one = one_at_a_time();
    let hole = Blackhole::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let good = Address::Tcp(listener.local_addr().unwrap());
    let delay = Duration::from_millis(50);
    let mut c = Connect::new(vec![hole.address(), good.clone()]).attempt_delay(Some(delay));
    let Progress::Pending(first) = c.resume().unwrap() else {
        panic!("connected to a blackhole");
    };
    let Some(hoard) = every_descriptor_left() else {
        return;
    };
    std::thread::sleep(delay + Duration::from_millis(10));
    // The second attempt is due, but has no descriptor: the first goes on alone.
    match c.resume().unwrap() {
        Progress::Pending(again) => assert_eq!(again, first),
        Progress::Ready(_) => panic!("connected to a blackhole"),
    }
    assert_eq!(c.current_address(), Some(&hole.address()));
    let held_until = c
        .next_attempt_at()
        .expect("the second address is still to try");
    assert!(held_until > Instant::now());
    drop(hoard);
    let start = Instant::now();
    let transport = loop {
        assert!(start.elapsed() < Duration::from_secs(2), "never connected");
        match c.resume().unwrap() {
            Progress::Ready(t) => break t,
            Progress::Pending(need) => {
                let due = c
                    .next_attempt_at()
                    .map_or(Duration::from_millis(100), |at| {
                        at.saturating_duration_since(Instant::now())
                    });
                need.wait(Some(due)).unwrap();
            }
        }
    };
    assert_eq!(transport.peer_address().unwrap(), good);
}

/// A name looked up while the process has no descriptor left (the resolver cannot open
/// `/etc/hosts`, or make its own): no fault of the name, so the lookup is made again once
/// descriptors are free, and the request succeeds. It used to fail at once, as a name that
/// does not resolve.
#[test]
fn a_lookup_without_a_descriptor_is_made_again() {
    let _one = one_at_a_time();
    use pollhttp::pipeline::{Config, Fetcher, Request};
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
            .unwrap();
    });
    let mut fetcher = Fetcher::new(Config::default());
    let Some(hoard) = every_descriptor_left() else {
        return;
    };
    fetcher
        .submit_url(&format!("http://localhost:{port}/"), Request::get("/"), 0)
        .unwrap();
    let step = |fetcher: &mut Fetcher<i32>| {
        let timeout = fetcher.timeout().map_or(Duration::from_millis(20), |t| {
            t.min(Duration::from_millis(20))
        });
        for fd in pollhttp::wait_any(&fetcher.wants(), Some(timeout)).unwrap() {
            fetcher.mark_ready(fd);
        }
        fetcher.resume();
    };
    let start = Instant::now();
    fetcher.resume();
    while start.elapsed() < Duration::from_millis(300) {
        step(&mut fetcher);
        if let Some(done) = fetcher.next_completed() {
            panic!(
                "finished with no descriptor to look the name up: {:?}",
                done.result
            );
        }
    }
    drop(hoard);
    let done = loop {
        assert!(start.elapsed() < Duration::from_secs(10), "never finished");
        step(&mut fetcher);
        if let Some(done) = fetcher.next_completed() {
            break done;
        }
    };
    let response = done
        .result
        .expect("the request succeeds once descriptors are free");
    assert_eq!(response.status(), 200);
    server.join().unwrap();
}

/// A name looked up with no descriptor free fails as such (EMFILE), not as a name that
/// does not exist, which is what glibc says when it cannot open the hosts file.
#[test]
fn a_lookup_with_no_descriptor_free_says_so() {
    let _one = one_at_a_time();
    let Some(hoard) = every_descriptor_left() else {
        return;
    };
    let result = pollhttp::io::resolve("localhost", 80);
    drop(hoard);
    let e = result.expect_err("resolved with no descriptor free");
    assert!(e.to_string().contains("Too many open files"), "{e}");
}
