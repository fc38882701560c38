//! The embedded server, with a few routes for tools to drive.
//!
//! ```text
//! cargo run --release --example serve -- [--addr HOST:PORT | --unix PATH] [--tls CERT KEY [--client-ca CA]] [--workers N]
//! ```
//!
//! `--unix PATH` binds a Unix socket there (`@name`: a Linux abstract name), replacing a
//! stale socket file a killed `serve` left; an empty PATH is a usage error.
//!
//! The first line on stdout (flushed) is `listening on <address>`. Routes:
//! - `GET|HEAD /` → `Hello, world!`
//! - `/dN.html` → `document N\n`
//! - `PUT|POST /echo` → the request body back, with the framing it came with (up to 1 MiB
//!   kept in memory, the rest in an unnamed temporary file: an upload is echoed without
//!   holding it all). At most 1 GiB a body (`413` past it, at once when its length says
//!   so), and 4 GiB in temporary files at once over all requests (`503` past it): a
//!   client cannot fill the disk. `503` with `Retry-After: 1` too when the server has no
//!   thread left to receive a body on (past its `max_body_waits` and blocked handlers);
//!   `400` for a body the client spoiled.
//! - `/bytes/N` → N bytes (`x`) with a Content-Length; `/chunked/N` → N bytes chunked
//! - `/status/CODE` → that status; `/sleep/MS` → 200 after MS milliseconds
//! - anything else → 404

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::{Method, StatusCode};
use pollhttp::io::Address;
use pollhttp::server::{Body, Chunk, Request, Response, Server, Session};
use pollhttp::tls::ServerTls;

/// Chunks of `/chunked/N` and of echoed chunked bodies.
const CHUNK: usize = 16 * 1024;

/// How much of an echoed body is kept in memory; the rest goes to a temporary file.
const ECHO_IN_MEMORY: usize = 1 << 20;
/// The largest body `/echo` takes.
const ECHO_AT_MOST: u64 = 1 << 30;
/// The most held in temporary files at once, over all echoes.
const SPOOLED_AT_MOST: u64 = 4 << 30;
/// What is held in temporary files now.
static SPOOLED: AtomicU64 = AtomicU64::new(0);

struct Args {
    address: Address,
    tls: Option<(String, String, Option<String>)>,
    workers: Option<usize>,
}

fn usage() -> &'static str {
    "usage: serve [--addr HOST:PORT | --unix PATH] [--tls CERT KEY [--client-ca CA]] [--workers N]"
}

fn parse_args() -> Result<Args, String> {
    let mut address = None;
    let mut tls = None;
    let mut client_ca = None;
    let mut workers = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--addr" => {
                let addr = value("--addr")?;
                address = Some(host_port(&addr).map_err(|e| format!("--addr {addr}: {e}"))?);
            }
            "--unix" => {
                let path = value("--unix")?;
                if path.is_empty() {
                    // Linux would bind an abstract socket with a name of its own choosing.
                    return Err(format!("--unix needs a non-empty path; {}", usage()));
                }
                address = Some(Address::unix(path));
            }
            "--tls" => {
                let cert = value("--tls")?;
                let key = value("--tls")?;
                tls = Some((cert, key));
            }
            "--client-ca" => client_ca = Some(value("--client-ca")?),
            "--workers" => {
                let n = value("--workers")?;
                workers = Some(
                    n.parse()
                        .map_err(|_| format!("--workers {n}: not a number"))?,
                );
            }
            "-h" | "--help" => return Err(usage().into()),
            _ => return Err(format!("unknown argument {arg}; {}", usage())),
        }
    }
    if client_ca.is_some() && tls.is_none() {
        return Err("--client-ca needs --tls".into());
    }
    let address = match address {
        Some(a) => a,
        None => Address::from(([127, 0, 0, 1], 8080)),
    };
    Ok(Args {
        address,
        tls: tls.map(|(cert, key)| (cert, key, client_ca)),
        workers,
    })
}

/// `HOST:PORT` (`[v6%scope]:PORT` too) as the first address it resolves to.
fn host_port(text: &str) -> io::Result<Address> {
    if let Ok(addr) = text.parse::<std::net::SocketAddr>() {
        return Ok(addr.into());
    }
    let bad = || io::Error::new(io::ErrorKind::InvalidInput, "expected HOST:PORT");
    let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
    let port = port.parse().map_err(|_| bad())?;
    let mut found = pollhttp::io::resolve(host, port)?;
    Ok(found.remove(0))
}

/// `n` bytes of `x`, without holding them.
struct Xs(u64);

impl Read for Xs {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(usize::try_from(self.0).unwrap_or(usize::MAX));
        buf[..n].fill(b'x');
        self.0 -= n as u64;
        Ok(n)
    }
}

fn number<T: std::str::FromStr>(text: &str) -> Option<T> {
    text.parse().ok()
}

/// What a request asks for.
enum Route {
    Hello,
    Document(u64),
    Echo,
    Bytes(u64),
    Chunked(u64),
    Status(StatusCode),
    Sleep(u64),
    NotFound,
}

fn which(method: &Method, path: &str) -> Route {
    let get_or_head = *method == Method::GET || *method == Method::HEAD;
    if path == "/" && get_or_head {
        // The usual request, before the parsing of the others' paths.
        return Route::Hello;
    }
    let put_or_post = *method == Method::PUT || *method == Method::POST;
    let document = path
        .strip_prefix("/d")
        .and_then(|rest| rest.strip_suffix(".html"))
        .and_then(number::<u64>);
    let status = path
        .strip_prefix("/status/")
        .and_then(number::<u16>)
        .and_then(|code| StatusCode::from_u16(code).ok())
        .filter(|status| !status.is_informational());
    match (path, document, status) {
        ("/", _, _) if get_or_head => Route::Hello,
        (_, Some(n), _) if get_or_head => Route::Document(n),
        ("/echo", _, _) if put_or_post => Route::Echo,
        (_, _, Some(status)) => Route::Status(status),
        _ => {
            if let Some(n) = path.strip_prefix("/bytes/").and_then(number::<u64>) {
                Route::Bytes(n)
            } else if let Some(n) = path.strip_prefix("/chunked/").and_then(number::<u64>) {
                Route::Chunked(n)
            } else if let Some(ms) = path.strip_prefix("/sleep/").and_then(number::<u64>) {
                Route::Sleep(ms)
            } else {
                Route::NotFound
            }
        }
    }
}

fn route(_session: &mut Session, mut request: Request<'_>) -> Response {
    match which(request.method(), request.path()) {
        Route::Hello => Response::text(StatusCode::OK, "Hello, world!"),
        Route::Document(n) => Response::new(StatusCode::OK, format!("document {n}\n"))
            .with_header("content-type", "text/html"),
        Route::Echo => echo(&mut request),
        Route::Bytes(n) => Response::new(StatusCode::OK, Body::reader(Xs(n), n)),
        Route::Chunked(n) => Response::new(StatusCode::OK, Body::chunked_reader(Xs(n))),
        Route::Status(status) => Response::new(status, ()),
        Route::Sleep(ms) => {
            std::thread::sleep(Duration::from_millis(ms));
            Response::text(StatusCode::OK, "slept")
        }
        Route::NotFound => Response::text(StatusCode::NOT_FOUND, "not found"),
    }
}

/// The answer to a request body that could not be read: `400` for the client's fault (a
/// malformed body, one cut short, or too slow, though such a client has gone), `503` with a
/// `Retry-After` when the server had no thread to receive it on (past `max_body_waits`:
/// the read fails with [`io::ErrorKind::Other`]): the client did nothing wrong and may try
/// again, and a proxy in front takes it for the server's trouble, not the client's.
fn unread(e: io::Error) -> Response {
    if e.kind() == io::ErrorKind::Other {
        return Response::text(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
            .with_header("retry-after", "1");
    }
    Response::text(StatusCode::BAD_REQUEST, e.to_string())
}

/// The request body back, with its framing: from memory if it is short, else from an
/// unnamed temporary file it was written to as it came.
fn echo(request: &mut Request<'_>) -> Response {
    let chunked = request.body.is_chunked();
    if request
        .body
        .content_length()
        .is_some_and(|n| n > ECHO_AT_MOST)
    {
        return too_large();
    }
    let mut data = Vec::new();
    let limit = ECHO_IN_MEMORY as u64 + 1;
    if let Err(e) = (&mut request.body).take(limit).read_to_end(&mut data) {
        return unread(e);
    }
    if data.len() <= ECHO_IN_MEMORY {
        let body = if chunked {
            let chunks: Vec<Chunk> = data.chunks(CHUNK).map(Chunk::new).collect();
            Body::chunks(chunks)
        } else {
            Body::from(data)
        };
        return Response::new(StatusCode::OK, body);
    }
    let (file, length) = match spool(&data, &mut request.body) {
        Ok(spooled) => spooled,
        Err(Spool::Read(e)) => return unread(e),
        Err(Spool::Store(e)) => {
            let message = format!("cannot keep the body: {e}");
            return Response::text(StatusCode::INTERNAL_SERVER_ERROR, message);
        }
        Err(Spool::TooLarge) => return too_large(),
        Err(Spool::Full) => {
            let message = "too many bodies being echoed: try again later";
            return Response::text(StatusCode::SERVICE_UNAVAILABLE, message)
                .with_header("retry-after", "10");
        }
    };
    let body = if chunked {
        Body::chunked_reader(file)
    } else {
        Body::reader(file, length)
    };
    Response::new(StatusCode::OK, body)
}

fn too_large() -> Response {
    let message = format!("an echoed body is {ECHO_AT_MOST} bytes at most");
    Response::text(StatusCode::PAYLOAD_TOO_LARGE, message)
}

/// Why a body could not be spooled: the client's fault (a bad body, one too large), or
/// ours (the file, or the temporary files' budget).
enum Spool {
    Read(io::Error),
    Store(io::Error),
    TooLarge,
    Full,
}

/// A temporary file, and the bytes of [`SPOOLED`] it holds until it is dropped.
struct Spooled {
    file: File,
    held: u64,
}

impl Spooled {
    /// Counts `n` more bytes in the budget, or says it is full.
    fn hold(&mut self, n: u64) -> Result<(), Spool> {
        if SPOOLED.fetch_add(n, Ordering::SeqCst) + n > SPOOLED_AT_MOST {
            SPOOLED.fetch_sub(n, Ordering::SeqCst);
            return Err(Spool::Full);
        }
        self.held += n;
        Ok(())
    }
}

impl Read for Spooled {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file.read(buf)
    }
}

impl Drop for Spooled {
    fn drop(&mut self) {
        SPOOLED.fetch_sub(self.held, Ordering::SeqCst);
    }
}

/// `first`, then the rest of `body`, written to an unnamed temporary file; returns it at
/// its start, and the length.
fn spool(first: &[u8], body: &mut impl Read) -> Result<(Spooled, u64), Spool> {
    let file = temporary_file().map_err(Spool::Store)?;
    let mut spooled = Spooled { file, held: 0 };
    spooled.hold(first.len() as u64)?;
    spooled.file.write_all(first).map_err(Spool::Store)?;
    let mut length = first.len() as u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Spool::Read(e)),
        };
        length += n as u64;
        if length > ECHO_AT_MOST {
            return Err(Spool::TooLarge);
        }
        spooled.hold(n as u64)?;
        spooled.file.write_all(&buf[..n]).map_err(Spool::Store)?;
    }
    spooled.file.rewind().map_err(Spool::Store)?;
    Ok((spooled, length))
}

/// A new file in the system's temporary directory, readable by this user only, whose name
/// is removed at once: it is gone when closed, whatever happens to the server.
fn temporary_file() -> io::Result<File> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir();
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("serve-echo-{}-{n}", std::process::id()));
        let mut options = OpenOptions::new();
        options.read(true).write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(file) => {
                std::fs::remove_file(&path)?;
                return Ok(file);
            }
            // Left by another process with our pid before: the next name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let mut server = Server::bind(args.address.clone(), route)
        .map_err(|e| format!("binding {}: {e}", args.address))?;
    if let Some((cert, key, client_ca)) = &args.tls {
        let mut tls = ServerTls::builder().cert_files(cert, key);
        tls = match client_ca {
            Some(ca) => tls.client_ca_file(ca),
            None => tls.allow_unauthenticated_clients(),
        };
        server = server.tls(tls.build().map_err(|e| e.to_string())?);
    }
    if let Some(n) = args.workers {
        server = server.workers(n);
    }
    let address = server.local_address().map_err(|e| e.to_string())?;
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "listening on {address}");
    let _ = out.flush();
    drop(out);
    server.serve_forever().map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    match parse_args().and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("serve: {e}");
            ExitCode::FAILURE
        }
    }
}
