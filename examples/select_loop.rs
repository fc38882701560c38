//! The pipelined crawl again, over raw poll(2) and nothing else: no mio, no registration.
//! Each operation says what it waits for (`PollNeeded`); the loop waits for the union.
//!
//! ```text
//! cargo run --release --example select_loop -- HOST:PORT [--n N] [--depth D] [--method HEAD|GET]
//! ```
//!
//! Prints `select_loop: <ok> ok of <N> in <secs> s = <rate> req/s`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use http::header::HOST;
use http::{HeaderMap, HeaderValue, Method};
use pollhttp::op::{Connect, Discard, Flush, ReadResponse};
use pollhttp::proto::BodyLength;
use pollhttp::{Error, PollNeeded, Progress};

fn crawl(addr: &str, n: u64, depth: usize, method: &Method) -> Result<u64, Error> {
    let (host, port) = addr.rsplit_once(':').ok_or_else(|| {
        Error::Io(std::sync::Arc::new(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "expected HOST:PORT",
        )))
    })?;
    let port = port.parse().unwrap_or(80);
    let addresses = pollhttp::io::resolve(host, port)?;
    let mut connect = Connect::new(addresses);
    let mut stream = pollhttp::blocking::run(Some(Duration::from_secs(30)), || connect.resume())?;

    let mut headers = HeaderMap::new();
    headers.insert(
        HOST,
        HeaderValue::try_from(addr).expect("HOST:PORT is a valid value"),
    );
    let targets: Vec<String> = (1..=100).map(|i| format!("/d{i}.html")).collect();

    let (mut queued, mut done, mut ok) = (0u64, 0u64, 0u64);
    let mut flush: Option<Flush> = None;
    let mut head = Some(ReadResponse::new());
    let mut body: Option<Discard> = None;
    while done < n {
        // Queue what the depth allows; one flush writes the batch.
        let before = queued;
        while queued < n && stream.responses_pending() < depth {
            let target = &targets[(queued % 100) as usize];
            stream.queue_request(method, target, &headers, BodyLength::None)?;
            queued += 1;
        }
        if queued > before && flush.is_none() {
            flush = Some(Flush::new());
        }

        let mut wait: Option<PollNeeded> = None;
        let mut want = |need: PollNeeded| {
            wait = Some(match wait {
                Some(w) if w.fd == need.fd => PollNeeded {
                    fd: w.fd,
                    interest: w.interest | need.interest,
                },
                _ => need,
            });
        };
        if let Some(op) = &mut flush {
            match op.resume(&mut stream)? {
                Progress::Ready(()) => flush = None,
                Progress::Pending(need) => want(need),
            }
        }
        // Read until the socket has nothing more (or a batch of room opens up).
        loop {
            if let Some(op) = &mut body {
                match op.resume(&mut stream)? {
                    Progress::Ready(_) => {
                        body = None;
                        done += 1;
                        head = Some(ReadResponse::new());
                    }
                    Progress::Pending(need) => {
                        want(need);
                        break;
                    }
                }
            }
            if done == n || stream.responses_pending() == 0 {
                break;
            }
            let op = head.get_or_insert_with(ReadResponse::new);
            match op.resume(&mut stream)? {
                Progress::Ready(response) => {
                    ok += u64::from((200..300).contains(&response.status()));
                    if stream.reading_body() {
                        body = Some(Discard::new());
                    } else {
                        done += 1;
                        head = Some(ReadResponse::new());
                    }
                }
                Progress::Pending(need) => {
                    want(need);
                    break;
                }
            }
            if stream.responses_pending() + 64 <= depth && queued < n {
                break;
            }
        }
        if done == n {
            break;
        }
        let refill = stream.responses_pending() + 64 <= depth && queued < n;
        if let (Some(need), false) = (wait, refill) {
            // poll(2) on the one descriptor, for everything the operations asked for.
            if !need.wait(Some(Duration::from_secs(90)))? {
                return Err(Error::Timeout);
            }
        }
    }
    Ok(ok)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut addr = None;
    let (mut n, mut depth, mut method) = (100_000u64, 1024usize, Method::HEAD);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let value = it.clone().next().cloned().unwrap_or_default();
        match arg.as_str() {
            "--n" => n = value.parse().unwrap_or(n),
            "--depth" => depth = value.parse().unwrap_or(depth).max(1),
            "--method" if value.eq_ignore_ascii_case("GET") => method = Method::GET,
            "--method" => method = Method::HEAD,
            _ => {
                addr = Some(arg.clone());
                continue;
            }
        }
        it.next();
    }
    let Some(addr) = addr else {
        eprintln!("usage: select_loop HOST:PORT [--n N] [--depth D] [--method HEAD|GET]");
        return ExitCode::from(2);
    };
    let start = Instant::now();
    match crawl(&addr, n, depth, &method) {
        Ok(ok) => {
            let secs = start.elapsed().as_secs_f64();
            println!(
                "select_loop: {ok} ok of {n} in {secs:.3} s = {:.0} req/s",
                n as f64 / secs.max(1e-9)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("select_loop: {e}");
            ExitCode::FAILURE
        }
    }
}
