//! The crawl again, over raw poll(2) and nothing else: no mio, no registration. The
//! [`Fetcher`] says which descriptors it waits on and for what (`wants`), and how long
//! (`timeout`); the loop waits for the union with [`pollhttp::wait_any`].
//!
//! ```text
//! cargo run --release --example select_loop -- HOST:PORT [--n N] [--depth D] [--method HEAD|GET] [--connections C]
//! cargo run --release --example select_loop -- --urls FILE [--depth D] [--method HEAD|GET] [--connections C]
//! ```
//!
//! Prints `select_loop: <ok> ok of <N> in <secs> s = <rate> req/s`; exit status 1 when a
//! request ended in an error.

use std::process::ExitCode;
use std::time::Instant;

use http::Method;
use pollhttp::pipeline::{BodyMode, Config, Fetcher, Origin, Request};

struct Args {
    addr: Option<String>,
    urls: Option<String>,
    n: u64,
    config: Config,
    method: Method,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: None,
        urls: None,
        n: 100_000,
        config: Config::default(),
        method: Method::HEAD,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{arg} needs a value"));
        let mut number = || {
            value().and_then(|v| {
                v.parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("{arg} {v}: a number above 0"))
            })
        };
        match arg.as_str() {
            "--n" => args.n = number()?,
            "--depth" => args.config.depth = number()? as usize,
            "--connections" => args.config.connections = number()? as usize,
            "--method" => {
                args.method = match value()?.to_ascii_uppercase().as_str() {
                    "GET" => Method::GET,
                    "HEAD" => Method::HEAD,
                    other => return Err(format!("--method {other}: HEAD or GET")),
                }
            }
            "--urls" => args.urls = Some(value()?),
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}")),
            _ => args.addr = Some(arg),
        }
    }
    if args.addr.is_none() == args.urls.is_none() {
        return Err(
            "usage: select_loop HOST:PORT | --urls FILE [--n N] [--depth D] \
                    [--method HEAD|GET] [--connections C]"
                .into(),
        );
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("select_loop: {e}");
            return ExitCode::from(2);
        }
    };
    let request = Request::new(args.method.clone(), "/").body_mode(BodyMode::Discard);
    let mut fetcher = Fetcher::new(args.config.clone());
    let n = match (&args.addr, &args.urls) {
        (Some(addr), _) => {
            let (origin, _) = match Origin::parse_url(&format!("http://{addr}/")) {
                Ok(parsed) => parsed,
                Err(e) => {
                    eprintln!("select_loop: {e}");
                    return ExitCode::from(2);
                }
            };
            for i in 0..args.n {
                let target = format!("/d{}.html", i % 100 + 1);
                let request =
                    Request::new(args.method.clone(), target).body_mode(BodyMode::Discard);
                fetcher.submit(&origin, request, ());
            }
            args.n
        }
        (None, Some(path)) => {
            let text = match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(e) => {
                    eprintln!("select_loop: {path}: {e}");
                    return ExitCode::from(2);
                }
            };
            let urls = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'));
            let mut n = 0;
            for url in urls {
                n += 1;
                if let Err(e) = fetcher.submit_url(url, request.clone(), ()) {
                    eprintln!("select_loop: {e}");
                    return ExitCode::from(2);
                }
            }
            n
        }
        (None, None) => unreachable!("checked by parse_args"),
    };

    let start = Instant::now();
    let (mut ok, mut failed) = (0u64, 0u64);
    fetcher.resume();
    loop {
        // Taken before the check: requests can finish before any wait (one `resume` may do
        // all, and a request HTTP cannot carry fails when submitted).
        while let Some(done) = fetcher.next_completed() {
            match done.result {
                Ok(response) => ok += u64::from((200..300).contains(&response.status())),
                Err(e) => {
                    if failed == 0 {
                        eprintln!("select_loop: {e}");
                    }
                    failed += 1;
                }
            }
        }
        if fetcher.unfinished() == 0 {
            break;
        }
        // The whole loop: wait for what the fetcher waits for, say what is ready, resume.
        let ready = match pollhttp::wait_any(&fetcher.wants(), fetcher.timeout()) {
            Ok(ready) => ready,
            Err(e) => {
                eprintln!("select_loop: poll: {e}");
                return ExitCode::FAILURE;
            }
        };
        for fd in ready {
            fetcher.mark_ready(fd);
        }
        fetcher.resume();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "select_loop: {ok} ok of {n} in {secs:.3} s = {:.0} req/s",
        n as f64 / secs.max(1e-9)
    );
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
