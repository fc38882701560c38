//! A curl-like blocking client.
//!
//! ```text
//! cargo run --example get -- URL [-X METHOD] [-H 'name: value']... [--data-file PATH] [--chunked]
//!     [--expect100] [--cacert PEM] [--cert PEM --key PEM] [--unix PATH] [-o FILE] [-I]
//! ```
//!
//! The status line and header fields go to stderr, the body to stdout (or FILE). With
//! `--unix`, the connection goes to that socket (a path, or `@name` for a Linux abstract
//! name) and the URL gives only the request target and `Host`. Exit status 0 for any HTTP
//! response; otherwise non-zero with a one-line reason on stderr.

use std::fs::File;
use std::io::{self, Write};
use std::process::ExitCode;

use http::header::{HeaderName, EXPECT};
use http::{HeaderMap, HeaderValue, Method};
use pollhttp::client::{Body, Client};
use pollhttp::io::Address;
use pollhttp::pipeline::Origin;
use pollhttp::tls::ClientTls;

#[derive(Default)]
struct Args {
    /// The origin and the request target.
    url: Option<(Origin, String)>,
    method: Option<Method>,
    headers: HeaderMap,
    data_file: Option<String>,
    chunked: bool,
    expect100: bool,
    cacert: Option<String>,
    cert: Option<String>,
    key: Option<String>,
    unix: Option<String>,
    output: Option<String>,
    head: bool,
}

fn usage() -> &'static str {
    "usage: get URL [-X METHOD] [-H 'name: value']... [--data-file PATH] [--chunked] [--expect100] \
     [--cacert PEM] [--cert PEM --key PEM] [--unix PATH] [-o FILE] [-I]"
}

/// `-h` or `--help` anywhere: the usage to stdout, and success.
fn asks_for_help() -> bool {
    std::env::args()
        .skip(1)
        .any(|arg| arg == "-h" || arg == "--help")
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "-X" => {
                let m = value("-X")?;
                args.method = Some(
                    Method::from_bytes(m.as_bytes()).map_err(|_| format!("bad method {m:?}"))?,
                );
            }
            "-H" => {
                let h = value("-H")?;
                let (name, v) = h
                    .split_once(':')
                    .ok_or_else(|| format!("-H {h:?}: expected 'name: value'"))?;
                let name = HeaderName::from_bytes(name.trim().as_bytes())
                    .map_err(|_| format!("-H {h:?}: bad name"))?;
                let v =
                    HeaderValue::from_str(v.trim()).map_err(|_| format!("-H {h:?}: bad value"))?;
                args.headers.append(name, v);
            }
            "--data-file" => args.data_file = Some(value("--data-file")?),
            "--chunked" => args.chunked = true,
            "--expect100" => args.expect100 = true,
            "--cacert" => args.cacert = Some(value("--cacert")?),
            "--cert" => args.cert = Some(value("--cert")?),
            "--key" => args.key = Some(value("--key")?),
            "--unix" => args.unix = Some(value("--unix")?),
            "-o" => args.output = Some(value("-o")?),
            "-I" => args.head = true,
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}; {}", usage())),
            _ if args.url.is_none() => {
                args.url = Some(Origin::parse_url(&arg).map_err(|e| e.to_string())?)
            }
            _ => return Err(format!("one URL only; {}", usage())),
        }
    }
    if args.url.is_none() {
        return Err(usage().into());
    }
    if args.chunked && args.data_file.is_none() {
        return Err("--chunked needs --data-file".into());
    }
    if args.expect100 && args.data_file.is_none() {
        return Err("--expect100 needs --data-file".into());
    }
    if args.cert.is_some() != args.key.is_some() {
        return Err("--cert and --key go together".into());
    }
    Ok(args)
}

fn run(args: Args) -> Result<(), String> {
    let (url, target) = args.url.clone().ok_or_else(|| usage().to_owned())?;
    let client = match &args.unix {
        Some(path) => Client::new(Address::unix(path)),
        None => Client::resolving(&url.host, url.port),
    };
    let mut client = client.with_host(&url.host_header());
    if url.https {
        let mut tls = ClientTls::builder();
        if let Some(ca) = &args.cacert {
            tls = tls.ca_file(ca);
        }
        if let (Some(cert), Some(key)) = (&args.cert, &args.key) {
            tls = tls.client_cert_files(cert, key);
        }
        let tls = tls.build().map_err(|e| e.to_string())?;
        client = client.with_tls(tls).with_server_name(&url.host);
    } else if args.cacert.is_some() || args.cert.is_some() {
        return Err("--cacert, --cert and --key need an https:// URL".into());
    }
    let mut conn = client.connect().map_err(|e| match (e, &args.unix) {
        // The other errors name the addresses; a timeout names what was asked for.
        (pollhttp::Error::Timeout, Some(path)) => {
            format!("connecting: connecting to {path}: timed out")
        }
        (pollhttp::Error::Timeout, None) => format!("connecting: connecting to {url}: timed out"),
        (e, _) => format!("connecting: {e}"),
    })?;

    let method = match (&args.method, args.head, &args.data_file) {
        (Some(m), _, _) => m.clone(),
        (None, true, _) => Method::HEAD,
        (None, false, Some(_)) => Method::POST,
        (None, false, None) => Method::GET,
    };
    let mut headers = args.headers.clone();
    if args.expect100 {
        headers.insert(EXPECT, HeaderValue::from_static("100-continue"));
    }
    let body = match &args.data_file {
        None => Body::empty(),
        Some(path) => {
            let file = File::open(path).map_err(|e| format!("{path}: {e}"))?;
            if args.chunked {
                Body::chunked_reader(file)
            } else {
                let len = file.metadata().map_err(|e| format!("{path}: {e}"))?.len();
                Body::reader(file, len)
            }
        }
    };

    let mut response = conn
        .request(method, &target, headers, body)
        .map_err(|e| e.to_string())?;
    let mut err = io::stderr().lock();
    let version = if response.version == http::Version::HTTP_10 {
        "1.0"
    } else {
        "1.1"
    };
    // The reason phrase as sent too: the client gives it Latin-1 decoded, one char a byte.
    let reason: Vec<u8> = response.reason.chars().map(|c| c as u8).collect();
    let status = format!("HTTP/{version} {} ", response.status.as_u16());
    let _ = err.write_all(&[status.as_bytes(), &reason, b"\n"].concat());
    for (name, value) in &response.headers {
        print_field(&mut err, name, value);
    }
    let _ = writeln!(err);
    drop(err);

    // The body goes to the descriptor with `copy_to`: splice(2) on Linux over clear text,
    // so the bytes never enter this process; a 512 KiB copy loop otherwise.
    match &args.output {
        Some(path) => {
            let mut file = File::create(path).map_err(|e| format!("{path}: {e}"))?;
            response
                .body
                .copy_to(&mut file)
                .map_err(|e| e.to_string())?;
        }
        None => {
            let stdout = io::stdout();
            // Nothing of ours is buffered in it: the body is written to its descriptor.
            stdout
                .lock()
                .flush()
                .map_err(|e| format!("writing the body: {e}"))?;
            response.body.copy_to(&stdout).map_err(|e| e.to_string())?;
        }
    }
    let trailers = response.body.trailers();
    let mut err = io::stderr().lock();
    for (name, value) in &trailers {
        print_field(&mut err, name, value);
    }
    Ok(())
}

/// A field line as it came, its value's bytes unchanged (as curl prints them): obs-text
/// is not UTF-8, and a replacement character would hide what the server sent.
fn print_field(out: &mut impl Write, name: &HeaderName, value: &HeaderValue) {
    let line = [name.as_str().as_bytes(), b": ", value.as_bytes(), b"\n"].concat();
    let _ = out.write_all(&line);
}

fn main() -> ExitCode {
    if asks_for_help() {
        println!("{}", usage());
        return ExitCode::SUCCESS;
    }
    let result = parse_args().and_then(run);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("get: {e}");
            ExitCode::FAILURE
        }
    }
}
