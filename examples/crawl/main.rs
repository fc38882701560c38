//! A pipelined crawl on one connection, from a mio event loop: send operations and read
//! operations resumed alternately on the same stream.
//!
//! ```text
//! cargo run --release --example crawl -- [URL] [--n N] [--method HEAD|GET] [--paths K] [--depth D] [--cacert PEM]
//! ```
//!
//! N requests for `/d1.html` .. `/dK.html` (cycled; K defaults to 100), at most D in flight
//! (default 1024), against URL's host and port; with no URL, against the library's own
//! server started in this process. The last line on stdout is exactly
//! `crawl: <ok> ok of <N> in <secs> s = <rate> req/s` (ok: responses with a 2xx status).

#[path = "../common/url.rs"]
mod url;

use std::io::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use http::header::HOST;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use mio::{Events, Poll, Token};
use pollhttp::op::{ClientStream, Connect, Discard, Flush, ReadResponse};
use pollhttp::proto::BodyLength;
use pollhttp::server::{Response, RunningServer, Server};
use pollhttp::tls::ClientTls;
use pollhttp::{Error, Progress};

use url::Url;

struct Args {
    url: Option<Url>,
    n: u64,
    method: Method,
    paths: u64,
    depth: usize,
    cacert: Option<String>,
}

fn usage() -> String {
    "usage: crawl [URL] [--n N] [--method HEAD|GET] [--paths K] [--depth D] [--cacert PEM]".into()
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        url: None,
        n: 100_000,
        method: Method::HEAD,
        paths: 100,
        depth: 1024,
        cacert: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--n" => args.n = number(&value("--n")?)?,
            "--paths" => args.paths = number(&value("--paths")?)?,
            "--depth" => args.depth = number(&value("--depth")?)? as usize,
            "--method" => {
                args.method = match value("--method")?.to_ascii_uppercase().as_str() {
                    "HEAD" => Method::HEAD,
                    "GET" => Method::GET,
                    other => return Err(format!("--method {other}: HEAD or GET")),
                }
            }
            "--cacert" => args.cacert = Some(value("--cacert")?),
            "-h" | "--help" => return Err(usage()),
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}\n{}", usage())),
            _ if args.url.is_none() => args.url = Some(Url::parse(&arg)?),
            _ => return Err(format!("one URL only\n{}", usage())),
        }
    }
    if args.paths == 0 || args.depth == 0 {
        return Err("--paths and --depth must be at least 1".into());
    }
    Ok(args)
}

fn number(text: &str) -> Result<u64, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a number"))
}

/// Where the crawl stands.
struct Crawl {
    stream: ClientStream,
    method: Method,
    headers: HeaderMap,
    targets: Vec<String>,
    n: u64,
    depth: usize,
    /// Refill once this many responses made room: requests go out in batches.
    batch: usize,
    queued: u64,
    done: u64,
    ok: u64,
    /// The send operation in progress, if any.
    flush: Option<Flush>,
    /// The read operation in progress: a head, or a body to drop.
    read: Read,
}

enum Read {
    Head(ReadResponse),
    Body(Discard),
}

impl Crawl {
    /// Queues requests up to the depth (no I/O), and starts a flush if there are new ones.
    fn fill(&mut self) -> Result<(), Error> {
        let before = self.queued;
        while self.queued < self.n && self.stream.responses_pending() < self.depth {
            let target = &self.targets[(self.queued % self.targets.len() as u64) as usize];
            self.stream
                .queue_request(&self.method, target, &self.headers, BodyLength::None)?;
            self.queued += 1;
        }
        if self.queued > before && self.flush.is_none() {
            self.flush = Some(Flush::new());
        }
        Ok(())
    }

    /// Resumes the send operation; true when it is waiting for the socket.
    fn send(&mut self) -> Result<bool, Error> {
        let Some(flush) = &mut self.flush else {
            return Ok(false);
        };
        match flush.resume(&mut self.stream)? {
            Progress::Ready(()) => {
                self.flush = None;
                Ok(false)
            }
            Progress::Pending(_) => Ok(true),
        }
    }

    /// Resumes read operations until one waits for the socket or all responses are in.
    fn receive(&mut self) -> Result<(), Error> {
        while self.done < self.n {
            match &mut self.read {
                Read::Head(op) => match op.resume(&mut self.stream)? {
                    Progress::Pending(_) => return Ok(()),
                    Progress::Ready(head) => {
                        if (200..300).contains(&head.status()) {
                            self.ok += 1;
                        }
                        if self.stream.reading_body() {
                            self.read = Read::Body(Discard::new());
                        } else {
                            self.done += 1;
                            self.read = Read::Head(ReadResponse::new());
                        }
                    }
                },
                Read::Body(op) => match op.resume(&mut self.stream)? {
                    Progress::Pending(_) => return Ok(()),
                    Progress::Ready(_) => {
                        self.done += 1;
                        self.read = Read::Head(ReadResponse::new());
                    }
                },
            }
            // Keep the pipeline full: once a batch of responses has made room, queue as
            // many requests and start writing them at once (one write per batch, not one
            // per request); the reads go on while the socket takes them.
            if self.stream.responses_pending() + self.batch <= self.depth {
                self.fill()?;
                self.send()?;
            }
        }
        Ok(())
    }
}

/// The library's own server, in this process, serving `/` and `/dN.html`.
fn start_server() -> std::io::Result<RunningServer> {
    let server = Server::bind(([127, 0, 0, 1], 0), |_session, request| {
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
    })?;
    server.start()
}

fn connect(url: &Url, cacert: Option<&str>) -> Result<ClientStream, Error> {
    let addresses = pollhttp::io::resolve(&url.host, url.port).map_err(|e| Error::Dns {
        host: url.host.clone(),
        source: e.into(),
    })?;
    let mut connect = Connect::new(addresses);
    if url.https {
        // The system's roots, or the CA given.
        let mut tls = ClientTls::builder();
        if let Some(ca) = cacert {
            tls = tls.ca_file(ca);
        }
        connect = connect.tls(tls.build()?, url.host.clone());
    }
    pollhttp::blocking::run(Some(Duration::from_secs(30)), || connect.resume())
}

fn run(args: &Args) -> Result<(u64, Duration), String> {
    let url = match &args.url {
        Some(url) => url.clone(),
        None => {
            let server = start_server().map_err(|e| format!("starting the server: {e}"))?;
            let url = Url::parse(&format!("http://{}/", server.address()))?;
            // The server runs until the process ends.
            std::mem::forget(server);
            url
        }
    };
    if !url.https && args.cacert.is_some() {
        return Err("--cacert needs an https:// URL".into());
    }
    let stream = connect(&url, args.cacert.as_deref())
        .map_err(|e| format!("connecting to {}:{}: {e}", url.host, url.port))?;
    let mut headers = HeaderMap::new();
    let host = HeaderValue::try_from(url.host_header()).map_err(|e| e.to_string())?;
    headers.insert(HOST, host);
    let base = url.target.trim_end_matches('/');
    let targets = (1..=args.paths)
        .map(|i| format!("{base}/d{i}.html"))
        .collect();
    let mut crawl = Crawl {
        stream,
        method: args.method.clone(),
        headers,
        targets,
        n: args.n,
        depth: args.depth,
        batch: (args.depth / 16).clamp(1, 64),
        queued: 0,
        done: 0,
        ok: 0,
        flush: None,
        read: Read::Head(ReadResponse::new()),
    };

    // One registration for both directions, edge-triggered: after each wake-up the
    // operations are resumed until they report Pending again, as edge triggering needs.
    let mut poll = Poll::new().map_err(|e| e.to_string())?;
    let mut events = Events::with_capacity(16);
    let token = Token(0);
    poll.registry()
        .register(
            &mut crawl.stream,
            token,
            mio::Interest::READABLE | mio::Interest::WRITABLE,
        )
        .map_err(|e| e.to_string())?;

    let start = Instant::now();
    let mut last_report = start;
    let fail = |crawl: &Crawl, e: Error| {
        format!(
            "after {} of {} responses ({} ok): {e}",
            crawl.done, crawl.n, crawl.ok
        )
    };
    crawl.fill().map_err(|e| fail(&crawl, e))?;
    while crawl.done < crawl.n {
        crawl.send().map_err(|e| fail(&crawl, e))?;
        crawl.receive().map_err(|e| fail(&crawl, e))?;
        crawl.send().map_err(|e| fail(&crawl, e))?;
        if crawl.done == crawl.n {
            break;
        }
        poll.poll(&mut events, Some(Duration::from_secs(90)))
            .map_err(|e| e.to_string())?;
        if events.is_empty() {
            return Err(fail(&crawl, Error::Timeout));
        }
        if last_report.elapsed() >= Duration::from_secs(2) {
            last_report = Instant::now();
            eprintln!("crawl: {} of {} ...", crawl.done, crawl.n);
        }
    }
    Ok((crawl.ok, start.elapsed()))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("crawl: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok((ok, elapsed)) => {
            let secs = elapsed.as_secs_f64();
            let rate = args.n as f64 / secs.max(1e-9);
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "crawl: {ok} ok of {} in {secs:.3} s = {rate:.0} req/s",
                args.n
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("crawl: {e}");
            ExitCode::FAILURE
        }
    }
}
