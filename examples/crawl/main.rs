//! A pipelined crawl from a mio event loop, over the library's [`Fetcher`]: one origin
//! hammered over a few connections, or a list of URLs over any number of origins.
//!
//! ```text
//! cargo run --release --example crawl -- [URL] [--urls FILE|-] [--n N] [--method HEAD|GET]
//!     [--paths K] [--depth D] [--connections C] [--timeout SECS] [--output FILE] [--cacert PEM]
//! ```
//!
//! - One origin (a URL, or none): N requests for `/d1.html` .. `/dK.html` (cycled, K
//!   default 100), at most D in flight per connection (default 1024) over C connections
//!   (default 1). With no URL, against the library's own server started in this process.
//! - A list (`--urls FILE`, `-` for stdin): one absolute URL per line (blank lines and
//!   `#` comments skipped), each requested once; per origin at most C connections (default
//!   2) with D in flight each (default 64).
//!
//! Servers that close are survived: unanswered requests are sent again on a new connection
//! (at most 3 attempts: a URL is never sent more than 3 times, and its `attempts` are the
//! times it was sent, or connections that failed to open for it); a request without its
//! response after `--timeout` seconds (default 30) fails that attempt. `--output FILE` writes one JSON object per URL, in completion
//! order (`-`, or a path to what stdout writes to: to stdout, before the last line). Progress goes to stderr every 2 s on long runs. The last line on stdout is
//! exactly `crawl: <ok> ok of <N> in <secs> s = <rate> req/s` (ok: 2xx responses; the time
//! runs from reading the list, or from the first request made, to the last answer: the
//! requests are made and submitted a slice at a time inside the loop, so the first are on
//! the wire while the rest of a long list is still being parsed). Exit
//! status: 0 when every URL got a response, 1 when any ended in an error (or the last line
//! could not be written), 2 for a usage error.

use std::fs::File;
use std::io::{BufRead, BufWriter, Write};
use std::os::fd::RawFd;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use mio::unix::SourceFd;
use mio::{Events, Poll, Token};
use pollhttp::pipeline::{BodyMode, Change, Completed, Config, Fetcher, Origin, Request};
use pollhttp::server::{Response, RunningServer, Server};
use pollhttp::tls::ClientTls;

struct Args {
    url: Option<String>,
    urls: Option<String>,
    n: u64,
    method: Method,
    paths: u64,
    depth: Option<usize>,
    connections: Option<usize>,
    timeout: Duration,
    output: Option<String>,
    cacert: Option<String>,
}

fn usage() -> String {
    "usage: crawl [URL] [--urls FILE|-] [--n N] [--method HEAD|GET] [--paths K] [--depth D] \
     [--connections C] [--timeout SECS] [--output FILE] [--cacert PEM]"
        .into()
}

/// `-h` or `--help` anywhere: the usage to stdout, and success.
fn asks_for_help() -> bool {
    std::env::args()
        .skip(1)
        .any(|arg| arg == "-h" || arg == "--help")
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        url: None,
        urls: None,
        n: 100_000,
        method: Method::HEAD,
        paths: 100,
        depth: None,
        connections: None,
        timeout: Duration::from_secs(30),
        output: None,
        cacert: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--n" => args.n = number(&value("--n")?)?,
            "--paths" => args.paths = number(&value("--paths")?)?,
            "--depth" => args.depth = Some(count(&value("--depth")?)?),
            "--connections" => args.connections = Some(count(&value("--connections")?)?),
            "--timeout" => {
                let text = value("--timeout")?;
                let secs: f64 = text
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s < 1e9)
                    .ok_or_else(|| format!("--timeout {text:?}: a number of seconds above 0"))?;
                args.timeout = Duration::from_secs_f64(secs);
            }
            "--method" => {
                args.method = match value("--method")?.to_ascii_uppercase().as_str() {
                    "HEAD" => Method::HEAD,
                    "GET" => Method::GET,
                    other => return Err(format!("--method {other}: HEAD or GET")),
                }
            }
            "--urls" => args.urls = Some(value("--urls")?),
            "--output" => args.output = Some(value("--output")?),
            "--cacert" => args.cacert = Some(value("--cacert")?),
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}\n{}", usage())),
            _ if args.url.is_none() => {
                Origin::parse_url(&arg).map_err(|e| e.to_string())?;
                args.url = Some(arg);
            }
            _ => return Err(format!("one URL only\n{}", usage())),
        }
    }
    if args.paths == 0 {
        return Err("--paths must be at least 1".into());
    }
    if args.url.is_some() && args.urls.is_some() {
        return Err(format!("a URL or --urls, not both\n{}", usage()));
    }
    Ok(args)
}

fn number(text: &str) -> Result<u64, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a number"))
}

fn count(text: &str) -> Result<usize, String> {
    match number(text)? {
        0 => Err(format!("{text:?}: at least 1")),
        n => usize::try_from(n).map_err(|_| format!("{text:?} is too large")),
    }
}

/// Reads the URL list: one per line, blank lines and `#` comments skipped. A line that is
/// not UTF-8 is kept (its bad bytes as U+FFFD): it fails alone, as any URL that is not
/// ASCII does, with its own output line, not the whole list.
fn read_urls(source: &str) -> Result<Vec<String>, String> {
    let reader: Box<dyn BufRead> = if source == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file = File::open(source).map_err(|e| format!("--urls {source}: {e}"))?;
        Box::new(std::io::BufReader::new(file))
    };
    let mut urls = Vec::new();
    for line in reader.split(b'\n') {
        let line = line.map_err(|e| format!("--urls {source}: {e}"))?;
        let line = String::from_utf8_lossy(&line);
        let url = line.trim();
        if !url.is_empty() && !url.starts_with('#') {
            urls.push(url.to_owned());
        }
    }
    Ok(urls)
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

/// What is crawled: the URL of each request, by its tag.
enum Work {
    /// One origin: request `i` is `base` + `targets[i % K]`.
    Origin {
        origin: Origin,
        base: String,
        targets: Vec<String>,
    },
    /// A list: request `i` is `urls[i]`.
    List(Vec<String>),
}

impl Work {
    fn url(&self, i: u64) -> String {
        match self {
            Self::Origin { base, targets, .. } => {
                format!("{base}{}", targets[(i % targets.len() as u64) as usize])
            }
            Self::List(urls) => urls[i as usize].clone(),
        }
    }
}

/// The tally, and the `--output` lines.
struct Report {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    output: Option<BufWriter<Box<dyn Write>>>,
}

impl Report {
    fn record(&mut self, work: &Work, done: &Completed<u64>) -> std::io::Result<()> {
        let (status, error) = match &done.result {
            Ok(response) => {
                if (200..300).contains(&response.status()) {
                    self.ok += 1;
                }
                (Some(response.status()), None)
            }
            Err(e) => {
                self.errors += 1;
                let message = e.to_string();
                if self.first_error.is_none() {
                    self.first_error = Some(format!("{}: {message}", work.url(done.tag)));
                }
                (None, Some(message))
            }
        };
        if let Some(out) = &mut self.output {
            write_line(
                out,
                &work.url(done.tag),
                status,
                error.as_deref(),
                done.attempts,
            )?;
        }
        Ok(())
    }
}

fn write_line(
    out: &mut impl Write,
    url: &str,
    status: Option<u16>,
    error: Option<&str>,
    attempts: u32,
) -> std::io::Result<()> {
    write!(out, "{{\"url\": ")?;
    json_string(out, url)?;
    match status {
        Some(status) => write!(out, ", \"status\": {status}")?,
        None => write!(out, ", \"status\": null")?,
    }
    write!(out, ", \"error\": ")?;
    match error {
        Some(error) => json_string(out, error)?,
        None => write!(out, "null")?,
    }
    writeln!(out, ", \"attempts\": {attempts}}}")
}

fn json_string(out: &mut impl Write, text: &str) -> std::io::Result<()> {
    out.write_all(b"\"")?;
    for c in text.chars() {
        match c {
            '"' => out.write_all(b"\\\"")?,
            '\\' => out.write_all(b"\\\\")?,
            '\n' => out.write_all(b"\\n")?,
            '\r' => out.write_all(b"\\r")?,
            '\t' => out.write_all(b"\\t")?,
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32)?,
            c => write!(out, "{c}")?,
        }
    }
    out.write_all(b"\"")
}

/// Runs the crawl: (N, ok, errors, elapsed).
fn run(args: &Args) -> Result<(u64, Report, Duration), String> {
    let list = args.urls.is_some();
    let mut config = Config::default();
    config.depth = args.depth.unwrap_or(if list { 64 } else { 1024 });
    config.connections = args.connections.unwrap_or(if list { 2 } else { 1 });
    config.request_timeout = Some(args.timeout);
    config.connect_timeout = Some(args.timeout);
    if let Some(ca) = &args.cacert {
        let tls = ClientTls::builder()
            .ca_file(ca)
            .build()
            .map_err(|e| format!("--cacert {ca}: {e}"))?;
        config.tls = Some(tls);
    }
    let output = match &args.output {
        Some(path) => Some(BufWriter::new(
            open_output(path).map_err(|e| format!("--output {path}: {e}"))?,
        )),
        None => None,
    };
    let mut report = Report {
        ok: 0,
        errors: 0,
        first_error: None,
        output,
    };
    let ahead = config
        .depth
        .saturating_mul(config.connections)
        .saturating_mul(2)
        .max(16 * 1024);
    let mut fetcher: Fetcher<u64> = Fetcher::new(config);
    let template = Request::new(args.method.clone(), "/").body_mode(BodyMode::Discard);

    // The clock runs from reading the list (or from the start of one origin's crawl):
    // making the requests and parsing the URLs are part of the crawl.
    let (work, start) = match &args.urls {
        Some(source) => {
            let start = Instant::now();
            (Work::List(read_urls(source)?), start)
        }
        None => {
            let url = match &args.url {
                Some(url) => url.clone(),
                None => {
                    let server = start_server().map_err(|e| format!("starting the server: {e}"))?;
                    let url = format!("http://{}/", server.address());
                    // The server runs until the process ends.
                    std::mem::forget(server);
                    url
                }
            };
            let (origin, target) = Origin::parse_url(&url).map_err(|e| e.to_string())?;
            if !origin.https && args.cacert.is_some() {
                return Err("--cacert needs an https:// URL".into());
            }
            let prefix = target.trim_end_matches('/').to_owned();
            let targets: Vec<String> = (1..=args.paths)
                .map(|i| format!("{prefix}/d{i}.html"))
                .collect();
            // The scheme and authority, as given: each request's URL is this + its target.
            let authority_end = url
                .find("://")
                .map(|s| s + 3)
                .and_then(|s| url[s..].find(['/', '?', '#']).map(|p| s + p))
                .unwrap_or(url.len());
            let base = url[..authority_end].to_owned();
            let work = Work::Origin {
                origin,
                base,
                targets,
            };
            (work, Instant::now())
        }
    };
    let n = match &work {
        Work::List(urls) => urls.len() as u64,
        Work::Origin { .. } => args.n,
    };
    let mut submitter = Submitter {
        next: 0,
        n,
        template,
        ahead,
    };
    crawl(&mut fetcher, &work, &mut submitter, &mut report, start)?;
    if let Some(out) = &mut report.output {
        out.flush().map_err(|e| format!("--output: {e}"))?;
    }
    Ok((n, report, start.elapsed()))
}

/// Where `--output` goes: stdout for `-`, and for a path that names what stdout writes to
/// already (`--output /dev/stdout > FILE`): one stream, so that the last line comes after
/// the JSON lines. (Two descriptors of one file keep offsets of their own: the last line,
/// written through stdout, landed over the first JSON lines.)
fn open_output(path: &str) -> std::io::Result<Box<dyn Write>> {
    if path == "-" {
        return Ok(Box::new(std::io::stdout()));
    }
    // Emptied only once it is known not to be stdout's file: `>> FILE` keeps what it held.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    if is_stdout(&file) {
        return Ok(Box::new(std::io::stdout()));
    }
    if file.metadata()?.is_file() {
        file.set_len(0)?;
    }
    Ok(Box::new(file))
}

/// Whether `file` is what stdout writes to (the same device and inode).
fn is_stdout(file: &File) -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let stdout = std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .and_then(|fd| File::from(fd).metadata());
    match (stdout, file.metadata()) {
        (Ok(stdout), Ok(file)) => stdout.dev() == file.dev() && stdout.ino() == file.ino(),
        _ => false,
    }
}

/// Hands the fetcher its requests from inside the loop, a slice at a time, so that the
/// first are on the wire while the rest are still being made (a long list's URLs parsed),
/// and no more than `ahead` wait in the fetcher.
struct Submitter {
    /// The next request's tag.
    next: u64,
    n: u64,
    template: Request,
    /// Requests waiting in the fetcher at most: twice what one origin's connections
    /// may have in flight, and at least 16,384.
    ahead: usize,
}

impl Submitter {
    /// Requests submitted per turn of the loop at most.
    const SLICE: u64 = 2048;

    fn can_submit(&self, fetcher: &Fetcher<u64>) -> bool {
        self.next < self.n && fetcher.unfinished() < self.ahead
    }

    fn is_done(&self) -> bool {
        self.next == self.n
    }

    /// Submits the next slice. A list URL that cannot be requested is that URL's error.
    fn top_up(
        &mut self,
        fetcher: &mut Fetcher<u64>,
        work: &Work,
        report: &mut Report,
    ) -> Result<(), String> {
        let end = self.n.min(self.next + Self::SLICE);
        while self.next < end && fetcher.unfinished() < self.ahead {
            let i = self.next;
            self.next += 1;
            match work {
                Work::List(urls) => {
                    let url = &urls[i as usize];
                    if let Err(e) = fetcher.submit_url(url, self.template.clone(), i) {
                        report.errors += 1;
                        report.first_error.get_or_insert_with(|| e.to_string());
                        if let Some(out) = &mut report.output {
                            write_line(out, url, None, Some(&e.to_string()), 0)
                                .map_err(|e| format!("--output: {e}"))?;
                        }
                    }
                }
                Work::Origin {
                    origin, targets, ..
                } => {
                    let target = targets[(i % targets.len() as u64) as usize].as_str();
                    let request = Request::new(self.template.method().clone(), target)
                        .body_mode(BodyMode::Discard);
                    fetcher.submit(origin, request, i);
                }
            }
        }
        Ok(())
    }
}

/// The event loop: mio, edge-triggered, one registration per descriptor for both
/// directions, following the fetcher's changes.
fn crawl(
    fetcher: &mut Fetcher<u64>,
    work: &Work,
    submitter: &mut Submitter,
    report: &mut Report,
    start: Instant,
) -> Result<(), String> {
    let mut poll = Poll::new().map_err(|e| e.to_string())?;
    let mut events = Events::with_capacity(256);
    let mut last_report = start;
    let n = submitter.n;
    submitter.top_up(fetcher, work, report)?;
    fetcher.resume();
    loop {
        while let Some(done) = fetcher.next_completed() {
            report
                .record(work, &done)
                .map_err(|e| format!("--output: {e}"))?;
        }
        if fetcher.unfinished() == 0 && submitter.is_done() {
            return Ok(());
        }
        for change in fetcher.take_changes() {
            follow(&poll, change).map_err(|e| format!("registering a socket: {e}"))?;
        }
        // With more to submit, only look at what is ready now.
        let timeout = if submitter.can_submit(fetcher) {
            Some(Duration::ZERO)
        } else {
            fetcher.timeout()
        };
        poll.poll(&mut events, timeout).map_err(|e| e.to_string())?;
        for event in &events {
            fetcher.mark_ready(event.token().0 as RawFd);
        }
        submitter.top_up(fetcher, work, report)?;
        fetcher.resume();
        if last_report.elapsed() >= Duration::from_secs(2) {
            last_report = Instant::now();
            let stats = fetcher.stats();
            let done = stats.responses + stats.errors;
            let secs = start.elapsed().as_secs_f64();
            eprintln!(
                "crawl: {done} of {n} done, {:.0} req/s, {} errors, {} retries, {} connections",
                done as f64 / secs.max(1e-9),
                stats.errors,
                stats.retries,
                stats.connections
            );
        }
    }
}

/// Applies one change to the poller. A descriptor's number is its token.
fn follow(poll: &Poll, change: Change) -> std::io::Result<()> {
    let both = mio::Interest::READABLE | mio::Interest::WRITABLE;
    match change {
        Change::Added(fd) => {
            let token = Token(fd as usize);
            match poll.registry().register(&mut SourceFd(&fd), token, both) {
                // Still registered under a number a closed socket had: take it over.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    poll.registry().reregister(&mut SourceFd(&fd), token, both)
                }
                other => other,
            }
        }
        // A socket whose connect failed is closed already, and gone from the poller.
        Change::Removed(fd) => {
            let _ = poll.registry().deregister(&mut SourceFd(&fd));
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    if asks_for_help() {
        println!("{}", usage());
        return ExitCode::SUCCESS;
    }
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("crawl: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok((n, report, elapsed)) => {
            let secs = elapsed.as_secs_f64();
            let rate = n as f64 / secs.max(1e-9);
            if let Some(first) = &report.first_error {
                eprintln!("crawl: {} of {n} failed; the first: {first}", report.errors);
            }
            let mut out = std::io::stdout().lock();
            let written = writeln!(
                out,
                "crawl: {} ok of {n} in {secs:.3} s = {rate:.0} req/s",
                report.ok
            )
            .and_then(|()| out.flush());
            if let Err(e) = written {
                // The line other tools read is lost: not a success, whatever the answers.
                eprintln!("crawl: writing the last line to stdout: {e}");
                return ExitCode::FAILURE;
            }
            if report.errors > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("crawl: {e}");
            ExitCode::from(2)
        }
    }
}
