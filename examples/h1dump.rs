//! h1dump: feed raw bytes to the sans-IO core and print what it makes of them.
//!
//! ```text
//! cargo run --example h1dump -- --role server|client [--method METHOD] [--split N] < RAW_BYTES
//! ```
//!
//! One JSON object per event and line (see the design's contract). Header names are
//! lowercase; values, data and trailing bytes are Latin-1 strings. Body data is printed as
//! one `data` event per run of data, so the output does not depend on `--split`.
//!
//! As a server it answers each complete request with an empty 200, accepting every upgrade
//! (101 for an HTTP/1.1 `Upgrade` that lists a protocol, naming the first one; 200 for
//! CONNECT). As a client it
//! behaves as if it had pipelined one request (method `--method`, offering `Upgrade: h2c`)
//! per response in the input.

use std::io::{Read, Write};
use std::process::ExitCode;

use http::{HeaderMap, HeaderValue, Method, StatusCode, Version};
use pollhttp::proto::{BodyLength, ClientConn, Error, Event, Headers, ServerConn};

struct Args {
    server: bool,
    method: Method,
    split: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut role = None;
    let mut method = Method::GET;
    let mut split = 0;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--role" => role = Some(value()?),
            "--method" => {
                method = Method::from_bytes(value()?.as_bytes()).map_err(|e| e.to_string())?
            }
            "--split" => split = value()?.parse().map_err(|e| format!("--split: {e}"))?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let server = match role.as_deref() {
        Some("server") => true,
        Some("client") => false,
        _ => return Err("--role server|client is required".into()),
    };
    Ok(Args {
        server,
        method,
        split,
    })
}

/// A JSON string of bytes read as Latin-1, escaped to plain ASCII.
fn latin1(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('"');
    for &b in bytes {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\u{b:04x}")),
        }
    }
    s.push('"');
    s
}

fn fields(headers: &Headers) -> String {
    let items: Vec<String> = headers
        .iter()
        .map(|(n, v)| format!("[{},{}]", latin1(n.as_bytes()), latin1(v)))
        .collect();
    format!("[{}]", items.join(","))
}

fn version(v: Version) -> &'static str {
    if v == Version::HTTP_10 {
        "1.0"
    } else {
        "1.1"
    }
}

/// Collects output lines; runs of body data become one `data` line.
struct Printer {
    out: Vec<u8>,
    data: Vec<u8>,
}

impl Printer {
    fn line(&mut self, line: String) {
        self.flush_data();
        self.out.extend_from_slice(line.as_bytes());
        self.out.push(b'\n');
    }

    fn flush_data(&mut self) {
        if !self.data.is_empty() {
            let line = format!("{{\"event\":\"data\",\"data\":{}}}\n", latin1(&self.data));
            self.out.extend_from_slice(line.as_bytes());
            self.data.clear();
        }
    }

    fn error(&mut self, e: &Error) {
        let hint = e.status_hint().map_or(400, |s| s.as_u16());
        self.line(format!(
            "{{\"event\":\"error\",\"status_hint\":{hint},\"message\":{}}}",
            latin1(e.message().as_bytes())
        ));
    }
}

/// What processing so far has come to.
enum Outcome {
    /// Give more input.
    More,
    /// Stop: nothing more to print (closed or error).
    Stop,
    /// The connection switched: the rest of the input is trailing.
    Switched(Vec<u8>),
}

struct Server {
    conn: ServerConn,
    /// The protocol to switch to, when the request offers an upgrade.
    upgrade: Option<HeaderValue>,
    connect: bool,
}

impl Server {
    fn drain(&mut self, p: &mut Printer) -> Outcome {
        loop {
            match self.conn.next_event() {
                Ok(Event::NeedData) | Ok(Event::Paused) => return Outcome::More,
                Ok(Event::Request(head)) => {
                    self.connect = head.method() == Method::CONNECT;
                    p.line(format!(
                        "{{\"event\":\"request\",\"method\":{},\"target\":{},\"version\":\"{}\",\"headers\":{}}}",
                        latin1(head.method().as_str().as_bytes()),
                        latin1(head.target().as_bytes()),
                        version(head.version()),
                        fields(head.headers())
                    ));
                    // A 101 must name the protocol switched to (RFC 9110 §7.8): the first
                    // one offered. The core offers none for HTTP/1.0 or an empty list.
                    self.upgrade = self
                        .conn
                        .offered_upgrades()
                        .next()
                        .and_then(|protocol| HeaderValue::from_bytes(protocol).ok());
                }
                Ok(Event::Data(d)) => p.data.extend_from_slice(d),
                Ok(Event::End(trailers)) => {
                    p.line(format!(
                        "{{\"event\":\"end\",\"trailers\":{}}}",
                        fields(&trailers)
                    ));
                    if let Err(e) = self.answer() {
                        p.error(&e);
                        return Outcome::Stop;
                    }
                }
                Ok(Event::Switched) => {
                    p.flush_data();
                    return Outcome::Switched(self.conn.take_trailing());
                }
                Ok(Event::Closed) => {
                    p.line("{\"event\":\"closed\"}".into());
                    return Outcome::Stop;
                }
                Ok(other) => {
                    p.line(format!(
                        "{{\"event\":\"unexpected\",\"debug\":{}}}",
                        latin1(format!("{other:?}").as_bytes())
                    ));
                    return Outcome::Stop;
                }
                Err(e) => {
                    p.error(&e);
                    return Outcome::Stop;
                }
            }
        }
    }

    fn answer(&mut self) -> Result<(), Error> {
        let mut sink = Vec::new();
        let none = HeaderMap::new();
        if let Some(protocol) = self.upgrade.take() {
            let mut fields = HeaderMap::new();
            fields.insert(http::header::UPGRADE, protocol);
            if self
                .conn
                .send_informational(StatusCode::SWITCHING_PROTOCOLS, &fields, &mut sink)
                .is_ok()
            {
                return Ok(());
            }
        }
        let body = if self.connect {
            BodyLength::None
        } else {
            BodyLength::Known(0)
        };
        self.conn
            .send_response(StatusCode::OK, None, &none, body, &mut sink)?;
        Ok(())
    }
}

struct Client {
    conn: ClientConn,
    method: Method,
    headers: HeaderMap,
}

impl Client {
    fn new(method: Method) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("h1dump.invalid"));
        headers.insert("connection", HeaderValue::from_static("upgrade"));
        headers.insert("upgrade", HeaderValue::from_static("h2c"));
        Self {
            conn: ClientConn::new(),
            method,
            headers,
        }
    }

    fn drain(&mut self, p: &mut Printer) -> Outcome {
        loop {
            // As if pipelined: one more request whenever a response may be starting.
            if self.conn.responses_pending() == 0
                && self.conn.buffered() > 0
                && self.conn.is_keep_alive()
            {
                let target = if self.method == Method::CONNECT {
                    "h1dump.invalid:443"
                } else {
                    "/"
                };
                if let Err(e) = self.conn.send_request(
                    &self.method,
                    target,
                    &self.headers,
                    BodyLength::None,
                    &mut Vec::new(),
                ) {
                    p.error(&e);
                    return Outcome::Stop;
                }
            }
            match self.conn.next_event() {
                Ok(Event::NeedData) | Ok(Event::Paused) => return Outcome::More,
                Ok(Event::Informational(head)) => p.line(response_line("informational", &head)),
                Ok(Event::Response(head)) => p.line(response_line("response", &head)),
                Ok(Event::Data(d)) => p.data.extend_from_slice(d),
                Ok(Event::End(trailers)) => p.line(format!(
                    "{{\"event\":\"end\",\"trailers\":{}}}",
                    fields(&trailers)
                )),
                Ok(Event::Switched) => {
                    p.flush_data();
                    return Outcome::Switched(self.conn.take_trailing());
                }
                Ok(Event::Closed) => {
                    p.line("{\"event\":\"closed\"}".into());
                    return Outcome::Stop;
                }
                Ok(other) => {
                    p.line(format!(
                        "{{\"event\":\"unexpected\",\"debug\":{}}}",
                        latin1(format!("{other:?}").as_bytes())
                    ));
                    return Outcome::Stop;
                }
                Err(e) => {
                    p.error(&e);
                    return Outcome::Stop;
                }
            }
        }
    }
}

fn response_line(kind: &str, head: &pollhttp::proto::ResponseHead) -> String {
    format!(
        "{{\"event\":\"{kind}\",\"status\":{},\"reason\":{},\"version\":\"{}\",\"headers\":{}}}",
        head.status(),
        latin1(head.reason()),
        version(head.version()),
        fields(head.headers())
    )
}

enum Role {
    Server(Server),
    Client(Client),
}

impl Role {
    fn receive(&mut self, bytes: &[u8]) -> Result<(), Error> {
        match self {
            Self::Server(s) => s.conn.receive(bytes),
            Self::Client(c) => c.conn.receive(bytes),
        }
    }

    fn eof(&mut self) {
        match self {
            Self::Server(s) => s.conn.receive_eof(),
            Self::Client(c) => c.conn.receive_eof(),
        }
    }

    fn drain(&mut self, p: &mut Printer) -> Outcome {
        match self {
            Self::Server(s) => s.drain(p),
            Self::Client(c) => c.drain(p),
        }
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("h1dump: {e}");
            return ExitCode::from(2);
        }
    };
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        eprintln!("h1dump: reading stdin: {e}");
        return ExitCode::from(1);
    }
    let mut role = if args.server {
        Role::Server(Server {
            conn: ServerConn::new(),
            upgrade: None,
            connect: false,
        })
    } else {
        Role::Client(Client::new(args.method))
    };
    let mut p = Printer {
        out: Vec::new(),
        data: Vec::new(),
    };
    let split = if args.split == 0 {
        input.len().max(1)
    } else {
        args.split
    };

    let mut outcome = Outcome::More;
    let mut fed = 0;
    for piece in input.chunks(split) {
        fed += piece.len();
        if let Err(e) = role.receive(piece) {
            p.error(&e);
            outcome = Outcome::Stop;
            break;
        }
        outcome = role.drain(&mut p);
        if !matches!(outcome, Outcome::More) {
            break;
        }
    }
    if matches!(outcome, Outcome::More) {
        role.eof();
        outcome = role.drain(&mut p);
    }
    if let Outcome::Switched(mut trailing) = outcome {
        trailing.extend_from_slice(&input[fed..]);
        p.line(format!(
            "{{\"event\":\"switched\",\"trailing\":{}}}",
            latin1(&trailing)
        ));
    }
    p.flush_data();
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    if lock.write_all(&p.out).and_then(|()| lock.flush()).is_err() {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
