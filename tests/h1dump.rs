//! The h1dump example's output contract (design.md, "Example programs"): the exact JSON
//! lines for each kind of event, Latin-1 escaping, `--method` in the client role, the server
//! auto-answer that lets pipelined requests proceed, and output that does not depend on
//! `--split`.
//!
//! The binary is built up to date first, for the same profile (see `support/examples.rs`).

#[path = "support/examples.rs"]
mod examples;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The example binary, built (or found up to date) once per test run.
fn h1dump() -> PathBuf {
    examples::example("h1dump")
}

/// Runs h1dump with `args` on `input`; returns stdout, insisting on success and a quiet
/// stderr.
fn run(args: &[&str], input: &[u8]) -> String {
    let mut child = Command::new(h1dump())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn h1dump");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("wait for h1dump");
    writer.join().unwrap().expect("write h1dump's stdin");
    assert!(out.status.success(), "h1dump {args:?} failed: {out:?}");
    assert!(
        out.stderr.is_empty(),
        "h1dump {args:?} wrote to stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("h1dump prints ASCII")
}

struct Vector {
    name: &'static str,
    role: &'static str,
    method: Option<&'static str>,
    input: Vec<u8>,
    expected: &'static [&'static str],
}

fn server(
    name: &'static str,
    input: impl Into<Vec<u8>>,
    expected: &'static [&'static str],
) -> Vector {
    Vector {
        name,
        role: "server",
        method: None,
        input: input.into(),
        expected,
    }
}

fn client(
    name: &'static str,
    method: Option<&'static str>,
    input: impl Into<Vec<u8>>,
    expected: &'static [&'static str],
) -> Vector {
    Vector {
        name,
        role: "client",
        method,
        input: input.into(),
        expected,
    }
}

/// Runs `v` whole and with `--split 1`, `2` and `7`: every run must print exactly the
/// expected lines.
fn check(v: &Vector) {
    let expected: String = v.expected.iter().map(|l| format!("{l}\n")).collect();
    for split in [None, Some("1"), Some("2"), Some("7")] {
        let mut args = vec!["--role", v.role];
        if let Some(m) = v.method {
            args.extend(["--method", m]);
        }
        if let Some(n) = split {
            args.extend(["--split", n]);
        }
        let got = run(&args, &v.input);
        assert_eq!(
            got,
            expected,
            "vector {:?} with {args:?}: input {:?}",
            v.name,
            String::from_utf8_lossy(&v.input)
        );
    }
}

fn server_vectors() -> Vec<Vector> {
    vec![
        server(
            "simple GET",
            &b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"[..],
            &[
                r#"{"event":"request","method":"GET","target":"/","version":"1.1","headers":[["host","a"]]}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"closed"}"#,
            ],
        ),
        server("empty input", &b""[..], &[r#"{"event":"closed"}"#]),
        server(
            "pipelined requests proceed after the auto-answer",
            &b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello\
               GET /2 HTTP/1.1\r\nHost: a\r\n\r\n\
               HEAD /3 HTTP/1.1\r\nHost: a\r\n\r\n"[..],
            &[
                r#"{"event":"request","method":"POST","target":"/echo","version":"1.1","headers":[["host","a"],["content-length","5"]]}"#,
                r#"{"event":"data","data":"hello"}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"request","method":"GET","target":"/2","version":"1.1","headers":[["host","a"]]}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"request","method":"HEAD","target":"/3","version":"1.1","headers":[["host","a"]]}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"closed"}"#,
            ],
        ),
        server(
            "chunked body with extensions and trailers",
            &b"PUT /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
               5;ext=\"v\"\r\nhello\r\n6 ; n=t\r\n world\r\n0\r\nX-Sum: abc\r\nX-Two: 2\r\n\r\n"[..],
            &[
                r#"{"event":"request","method":"PUT","target":"/c","version":"1.1","headers":[["host","a"],["transfer-encoding","chunked"]]}"#,
                r#"{"event":"data","data":"hello world"}"#,
                r#"{"event":"end","trailers":[["x-sum","abc"],["x-two","2"]]}"#,
                r#"{"event":"closed"}"#,
            ],
        ),
        server(
            "Latin-1 escaping of header values",
            &b"GET /caf%C3%A9 HTTP/1.1\r\nHost: a\r\nX-Name: caf\xe9 \x80\xff\tend\r\n\r\n"[..],
            &[
                r#"{"event":"request","method":"GET","target":"/caf%C3%A9","version":"1.1","headers":[["host","a"],["x-name","caf\u00e9 \u0080\u00ff\u0009end"]]}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"closed"}"#,
            ],
        ),
        server(
            "Latin-1 escaping of data: controls, quote, backslash, DEL, high bytes",
            &b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\n\r\n\x00\xff\"\\\n\x7f~"[..],
            &[
                r#"{"event":"request","method":"POST","target":"/","version":"1.1","headers":[["host","a"],["content-length","7"]]}"#,
                r#"{"event":"data","data":"\u0000\u00ff\"\\\u000a\u007f~"}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"closed"}"#,
            ],
        ),
        server(
            "upgrade accepted: the rest is trailing, even a request",
            &b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\
               \x81\x00hi\"\\GET /next HTTP/1.1\r\n\r\n"[..],
            &[
                r#"{"event":"request","method":"GET","target":"/ws","version":"1.1","headers":[["host","a"],["connection","Upgrade"],["upgrade","websocket"]]}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"switched","trailing":"\u0081\u0000hi\"\\GET /next HTTP/1.1\u000d\u000a\u000d\u000a"}"#,
            ],
        ),
        server(
            "upgrade after a request body",
            &b"POST /up HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nContent-Length: 3\r\n\r\nabcrest"[..],
            &[
                r#"{"event":"request","method":"POST","target":"/up","version":"1.1","headers":[["host","a"],["upgrade","h2c"],["content-length","3"]]}"#,
                r#"{"event":"data","data":"abc"}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"switched","trailing":"rest"}"#,
            ],
        ),
        server(
            "CONNECT answered with 200 switches",
            &b"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n\x16\x03\x01"[..],
            &[
                r#"{"event":"request","method":"CONNECT","target":"a.example:443","version":"1.1","headers":[["host","a.example:443"]]}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"switched","trailing":"\u0016\u0003\u0001"}"#,
            ],
        ),
        server(
            "data after a request with Connection: close is an error, once it is answered",
            &b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\nHost: a\r\n\r\n"[..],
            &[
                r#"{"event":"request","method":"GET","target":"/","version":"1.1","headers":[["host","a"],["connection","close"]]}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"error","status_hint":400,"message":"data after a request that closed the connection"}"#,
            ],
        ),
        server(
            "empty lines after a request with Connection: close are skipped",
            &b"GET / HTTP/1.0\r\n\r\n\r\n\n\r\n"[..],
            &[
                r#"{"event":"request","method":"GET","target":"/","version":"1.0","headers":[]}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"closed"}"#,
            ],
        ),
        server(
            "leading CRLFs skipped; HTTP/1.0 closes after its exchange, so no request follows",
            &b"\r\n\r\nGET / HTTP/1.0\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n"[..],
            &[
                r#"{"event":"request","method":"GET","target":"/","version":"1.0","headers":[]}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"error","status_hint":400,"message":"data after a request that closed the connection"}"#,
            ],
        ),
        server(
            "conflicting Content-Length",
            &b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\n"[..],
            &[r#"{"event":"error","status_hint":400,"message":"conflicting Content-Length values"}"#],
        ),
        server(
            "unknown transfer coding",
            &b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"[..],
            &[r#"{"event":"error","status_hint":501,"message":"unsupported transfer coding"}"#],
        ),
        server(
            "HTTP/2.0 request line",
            &b"GET / HTTP/2.0\r\nHost: a\r\n\r\n"[..],
            &[r#"{"event":"error","status_hint":505,"message":"unsupported HTTP version HTTP/2.0"}"#],
        ),
        server(
            "bare LF",
            &b"GET / HTTP/1.1\nHost: a\n\n"[..],
            &[r#"{"event":"error","status_hint":400,"message":"bare LF line ending (CRLF required)"}"#],
        ),
        server(
            "obs-fold in a request",
            &b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n"[..],
            &[r#"{"event":"error","status_hint":400,"message":"obsolete line folding in a header field"}"#],
        ),
        server(
            "missing Host",
            &b"GET / HTTP/1.1\r\n\r\n"[..],
            &[r#"{"event":"error","status_hint":400,"message":"missing Host header field"}"#],
        ),
        server(
            "error after a good request stops the output",
            &b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"[..],
            &[
                r#"{"event":"request","method":"GET","target":"/","version":"1.1","headers":[["host","a"]]}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"error","status_hint":400,"message":"multiple Host header fields"}"#,
            ],
        ),
        server(
            "chunk size overflow after data",
            &b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\nfffffffffffffffff\r\n"[..],
            &[
                r#"{"event":"request","method":"POST","target":"/","version":"1.1","headers":[["host","a"],["transfer-encoding","chunked"]]}"#,
                r#"{"event":"data","data":"ok"}"#,
                r#"{"event":"error","status_hint":400,"message":"chunk size too large"}"#,
            ],
        ),
        server(
            "peer closes mid-body",
            &b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc"[..],
            &[
                r#"{"event":"request","method":"POST","target":"/","version":"1.1","headers":[["host","a"],["content-length","10"]]}"#,
                r#"{"event":"data","data":"abc"}"#,
                r#"{"event":"error","status_hint":400,"message":"peer closed connection without sending complete message body (received 3 bytes, expected 10)"}"#,
            ],
        ),
        server(
            "request line over the head limit",
            [&b"GET /"[..], &[b'a'; 17000], b" HTTP/1.1\r\nHost: a\r\n\r\n"].concat(),
            &[r#"{"event":"error","status_hint":414,"message":"request line longer than 16384 bytes"}"#],
        ),
        server(
            "head over the limit",
            [&b"GET / HTTP/1.1\r\nHost: a\r\nX: "[..], &[b'v'; 17000], b"\r\n\r\n"].concat(),
            &[r#"{"event":"error","status_hint":431,"message":"message head larger than 16384 bytes"}"#],
        ),
        server(
            "too many header fields",
            {
                let mut v = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
                for i in 0..100 {
                    v.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
                }
                v.extend_from_slice(b"\r\n");
                v
            },
            &[r#"{"event":"error","status_hint":431,"message":"more than 100 header fields"}"#],
        ),
    ]
}

fn client_vectors() -> Vec<Vector> {
    vec![
        client("empty input", None, &b""[..], &[r#"{"event":"closed"}"#]),
        client(
            "100 Continue, then a response with a body",
            None,
            &b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"[..],
            &[
                r#"{"event":"informational","status":100,"reason":"Continue","version":"1.1","headers":[]}"#,
                r#"{"event":"response","status":200,"reason":"OK","version":"1.1","headers":[["content-length","5"]]}"#,
                r#"{"event":"data","data":"hello"}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"closed"}"#,
            ],
        ),
        client(
            "bare LF line ends in a response head",
            None,
            &b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok"[..],
            &[
                r#"{"event":"response","status":200,"reason":"OK","version":"1.1","headers":[["content-length","2"]]}"#,
                r#"{"event":"data","data":"ok"}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"closed"}"#,
            ],
        ),
        client(
            "103 with headers",
            None,
            &b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"[..],
            &[
                r#"{"event":"informational","status":103,"reason":"Early Hints","version":"1.1","headers":[["link","</s.css>; rel=preload"]]}"#,
                r#"{"event":"response","status":200,"reason":"OK","version":"1.1","headers":[["content-length","0"]]}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"closed"}"#,
            ],
        ),
        client(
            "101 accepts the offered upgrade",
            None,
            &b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..],
            &[
                r#"{"event":"informational","status":101,"reason":"Switching Protocols","version":"1.1","headers":[["connection","upgrade"],["upgrade","h2c"]]}"#,
                r#"{"event":"switched","trailing":"PRI * HTTP/2.0\u000d\u000a\u000d\u000aSM\u000d\u000a\u000d\u000a"}"#,
            ],
        ),
        client(
            "chunked response with trailers",
            None,
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nExpires: never\r\nX-Z: 1\r\n\r\n"[..],
            &[
                r#"{"event":"response","status":200,"reason":"OK","version":"1.1","headers":[["transfer-encoding","chunked"]]}"#,
                r#"{"event":"data","data":"abcde"}"#,
                r#"{"event":"end","trailers":[["expires","never"],["x-z","1"]]}"#,
                r#"{"event":"closed"}"#,
            ],
        ),
        client(
            "read until close (HTTP/1.0)",
            None,
            &b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nall of this\r\nuntil close"[..],
            &[
                r#"{"event":"response","status":200,"reason":"OK","version":"1.0","headers":[["server","x"]]}"#,
                r#"{"event":"data","data":"all of this\u000d\u000auntil close"}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"closed"}"#,
            ],
        ),
        client(
            "Latin-1 reason; obs-fold replaced by spaces",
            None,
            &b"HTTP/1.1 200 Ol\xe9\r\nX: a\r\n  b\r\nContent-Length: 0\r\n\r\n"[..],
            &[
                r#"{"event":"response","status":200,"reason":"Ol\u00e9","version":"1.1","headers":[["x","a    b"],["content-length","0"]]}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"closed"}"#,
            ],
        ),
        client(
            "pipelined: 204 and 304 have no body; data after a close is an error",
            None,
            &b"HTTP/1.1 204 No Content\r\n\r\n\
               HTTP/1.1 304 Not Modified\r\nContent-Length: 4\r\n\r\n\
               HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nokleftover"[..],
            &[
                r#"{"event":"response","status":204,"reason":"No Content","version":"1.1","headers":[]}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"response","status":304,"reason":"Not Modified","version":"1.1","headers":[["content-length","4"]]}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"response","status":200,"reason":"OK","version":"1.1","headers":[["connection","close"],["content-length","2"]]}"#,
                r#"{"event":"data","data":"ok"}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"error","status_hint":400,"message":"data after a response that closed the connection"}"#,
            ],
        ),
        client(
            "empty lines after a response with Connection: close are skipped",
            None,
            &b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok\r\n\r\n"[..],
            &[
                r#"{"event":"response","status":200,"reason":"OK","version":"1.1","headers":[["connection","close"],["content-length","2"]]}"#,
                r#"{"event":"data","data":"ok"}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"closed"}"#,
            ],
        ),
        // The same bytes framed for GET and for HEAD.
        client(
            "GET: Content-Length frames a body",
            None,
            &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"[..],
            &[
                r#"{"event":"response","status":200,"reason":"OK","version":"1.1","headers":[["content-length","5"]]}"#,
                r#"{"event":"data","data":"HTTP/"}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"error","status_hint":400,"message":"invalid status line"}"#,
            ],
        ),
        client(
            "HEAD: Content-Length frames no body",
            Some("HEAD"),
            &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"[..],
            &[
                r#"{"event":"response","status":200,"reason":"OK","version":"1.1","headers":[["content-length","5"]]}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"response","status":404,"reason":"Not Found","version":"1.1","headers":[["content-length","0"]]}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"closed"}"#,
            ],
        ),
        client(
            "HEAD: chunked frames no body either",
            Some("HEAD"),
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n"[..],
            &[
                r#"{"event":"response","status":200,"reason":"OK","version":"1.1","headers":[["transfer-encoding","chunked"]]}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"response","status":200,"reason":"OK","version":"1.1","headers":[["content-length","7"]]}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"closed"}"#,
            ],
        ),
        client(
            "CONNECT: a 2xx switches, Content-Length ignored",
            Some("CONNECT"),
            &b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n\x01\x02"[..],
            &[
                r#"{"event":"response","status":200,"reason":"OK","version":"1.1","headers":[["content-length","2"]]}"#,
                r#"{"event":"switched","trailing":"\u0001\u0002"}"#,
            ],
        ),
        client(
            "CONNECT: a 4xx does not switch",
            Some("CONNECT"),
            &b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 1\r\n\r\nx"[..],
            &[
                r#"{"event":"response","status":407,"reason":"Proxy Authentication Required","version":"1.1","headers":[["content-length","1"]]}"#,
                r#"{"event":"data","data":"x"}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"closed"}"#,
            ],
        ),
        client(
            "four-digit status",
            None,
            &b"HTTP/1.1 2000 OK\r\n\r\n"[..],
            &[r#"{"event":"error","status_hint":400,"message":"malformed status line"}"#],
        ),
        client(
            "not a status line",
            None,
            &b"XTTP/1.1 200 OK\r\n\r\n"[..],
            &[r#"{"event":"error","status_hint":400,"message":"invalid status line"}"#],
        ),
        client(
            "Content-Length with Transfer-Encoding",
            None,
            &b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
            &[r#"{"event":"error","status_hint":400,"message":"both Content-Length and Transfer-Encoding"}"#],
        ),
        client(
            "peer closes mid-body",
            None,
            &b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"[..],
            &[
                r#"{"event":"response","status":200,"reason":"OK","version":"1.1","headers":[["content-length","10"]]}"#,
                r#"{"event":"data","data":"abc"}"#,
                r#"{"event":"error","status_hint":400,"message":"peer closed connection without sending complete message body (received 3 bytes, expected 10)"}"#,
            ],
        ),
        client(
            "peer closes mid-head",
            None,
            &b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n"[..],
            &[
                r#"{"event":"response","status":200,"reason":"OK","version":"1.1","headers":[["content-length","2"]]}"#,
                r#"{"event":"data","data":"ok"}"#,
                r#"{"event":"end","trailers":[]}"#,
                r#"{"event":"error","status_hint":400,"message":"peer closed connection in the middle of a response head"}"#,
            ],
        ),
    ]
}

#[test]
fn server_role_vectors() {
    for v in server_vectors() {
        check(&v);
    }
}

#[test]
fn client_role_vectors() {
    for v in client_vectors() {
        check(&v);
    }
}

/// `--split` pieces larger than the input, and a split that leaves a short last piece,
/// change nothing either.
#[test]
fn other_splits_agree() {
    for v in server_vectors().iter().chain(&client_vectors()) {
        let mut args = vec!["--role", v.role];
        if let Some(m) = v.method {
            args.extend(["--method", m]);
        }
        let whole = run(&args, &v.input);
        for n in ["3", "64", "100000"] {
            let split: Vec<&str> = args.iter().copied().chain(["--split", n]).collect();
            assert_eq!(
                run(&split, &v.input),
                whole,
                "{:?} with --split {n}",
                v.name
            );
        }
    }
}

#[test]
fn bad_arguments_fail() {
    for args in [
        &["--role", "proxy"][..],
        &[][..],
        &["--role", "server", "--split"][..],
        &["--role", "client", "--bogus"][..],
    ] {
        let out = Command::new(h1dump())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("spawn h1dump");
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(out.stdout.is_empty(), "{args:?} printed {:?}", out.stdout);
        assert!(
            String::from_utf8_lossy(&out.stderr).starts_with("h1dump: "),
            "{args:?}: {:?}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
