//! The server-side operations (`op::ServerStream`, `ReadRequest`, `ReadRequestBody`,
//! `SendResponse`, `FlushResponse`) on real loopback sockets, against our client and raw
//! bytes.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use pollhttp::blocking::run;
use pollhttp::client::{Body, Client};
use pollhttp::io::Transport;
use pollhttp::op::{FlushResponse, ReadRequest, ReadRequestBody, SendResponse, ServerStream};
use pollhttp::proto::{BodyLength, Framing, HttpDate};
use pollhttp::Error;

const WAIT: Option<Duration> = Some(Duration::from_secs(10));

/// Serves one connection with the ops: each request is answered with
/// `<method> <target> <body length>`; `/stream` is answered chunked in two pieces.
fn serve_one(listener: TcpListener) -> thread::JoinHandle<Result<usize, Error>> {
    thread::spawn(move || {
        let (socket, _) = listener.accept().unwrap();
        let mut stream = ServerStream::new(Transport::from_tcp(socket).unwrap());
        let mut answered = 0;
        loop {
            let mut read = ReadRequest::new();
            let head = match run(WAIT, || read.resume(&mut stream)) {
                Ok(Some(head)) => head,
                Ok(None) => return Ok(answered),
                Err(e) => {
                    // A malformed request: its status, then the end.
                    if let Error::Proto(p) = &e {
                        if let Some(status) = p.status_hint() {
                            let mut send = SendResponse::new(status, HeaderMap::new(), "bad\n");
                            run(WAIT, || send.resume(&mut stream))?;
                        }
                    }
                    return Err(e);
                }
            };
            let mut body = Vec::new();
            let mut op = ReadRequestBody::new(vec![0u8; 7]);
            loop {
                let n = run(WAIT, || op.resume(&mut stream))?;
                if n == 0 {
                    break;
                }
                let buf = op.into_buffer();
                body.extend_from_slice(&buf[..n]);
                op = ReadRequestBody::new(buf);
            }
            if head.target() == "/stream" {
                let framing = stream.queue_response(
                    StatusCode::OK,
                    None,
                    &HeaderMap::new(),
                    BodyLength::Unknown,
                )?;
                assert_eq!(framing, Framing::Chunked);
                stream.queue_data(b"one ")?;
                run(WAIT, || FlushResponse::new().resume(&mut stream))?;
                stream.queue_data(b"two")?;
                let mut trailers = HeaderMap::new();
                trailers.insert("x-done", HeaderValue::from_static("yes"));
                stream.queue_end(Some(&trailers))?;
                run(WAIT, || FlushResponse::new().resume(&mut stream))?;
            } else {
                let text = format!("{} {} {}", head.method(), head.target(), body.len());
                let mut send = SendResponse::new(StatusCode::OK, HeaderMap::new(), text);
                run(WAIT, || send.resume(&mut stream))?;
            }
            answered += 1;
            if stream.must_close() {
                return Ok(answered);
            }
        }
    })
}

fn listen() -> (TcpListener, std::net::SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

#[test]
fn pipelined_requests_bodies_and_a_streamed_response() {
    let (listener, addr) = listen();
    let server = serve_one(listener);
    let mut conn = Client::new(addr).connect().unwrap();
    conn.send_request(Method::GET, "/a", HeaderMap::new(), Body::empty())
        .unwrap();
    conn.send_request(Method::PUT, "/b", HeaderMap::new(), vec![b'x'; 100_000])
        .unwrap();
    conn.send_request(Method::HEAD, "/c", HeaderMap::new(), Body::empty())
        .unwrap();
    conn.send_request(
        Method::POST,
        "/d",
        HeaderMap::new(),
        Body::chunked_reader(&b"chunked body"[..]),
    )
    .unwrap();
    let want = ["GET /a 0", "PUT /b 100000", "", "POST /d 12"];
    for want in want {
        let head = conn.read_response().unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(conn.read_all().unwrap(), want.as_bytes());
    }
    let mut response = conn.get("/stream", HeaderMap::new()).unwrap();
    assert_eq!(response.body.read_all().unwrap(), b"one two");
    assert_eq!(response.body.trailers().get("x-done").unwrap(), "yes");
    drop(conn);
    assert_eq!(server.join().unwrap().unwrap(), 5);
}

#[test]
fn expect_continue_is_answered_when_the_body_is_read() {
    let (listener, addr) = listen();
    let server = serve_one(listener);
    let mut conn = Client::new(addr).connect().unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("expect", HeaderValue::from_static("100-continue"));
    conn.send_request(Method::PUT, "/e", headers, Body::following(5))
        .unwrap();
    assert_eq!(conn.read_response().unwrap().status, 100);
    conn.write(b"hello").unwrap();
    let head = conn.read_response().unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(conn.read_all().unwrap(), b"PUT /e 5");
    drop(conn);
    assert_eq!(server.join().unwrap().unwrap(), 1);
}

#[test]
fn a_malformed_request_gets_its_status_and_the_end() {
    let (listener, addr) = listen();
    let server = serve_one(listener);
    let mut socket = TcpStream::connect(addr).unwrap();
    socket
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    socket.set_read_timeout(WAIT).unwrap();
    socket.read_to_end(&mut got).unwrap();
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{got}");
    assert!(got.contains("connection: close\r\n"), "{got}");
    assert!(got.ends_with("\r\n\r\nbad\n"), "{got}");
    match server.join().unwrap() {
        Err(Error::Proto(e)) => assert_eq!(e.status_hint(), Some(StatusCode::BAD_REQUEST)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn reading_a_request_is_pending_until_the_client_sends() {
    let (listener, addr) = listen();
    let client = thread::spawn(move || TcpStream::connect(addr).unwrap());
    let (socket, _) = listener.accept().unwrap();
    let mut peer = client.join().unwrap();
    let mut stream = ServerStream::new(Transport::from_tcp(socket).unwrap());
    let mut read = ReadRequest::new();
    for _ in 0..3 {
        match read.resume(&mut stream).unwrap() {
            pollhttp::Progress::Pending(need) => {
                assert!(need.interest.is_readable());
                assert!(!need.wait(Some(Duration::from_millis(10))).unwrap());
            }
            pollhttp::Progress::Ready(r) => panic!("ready with nothing sent: {r:?}"),
        }
    }
    peer.write_all(b"GET /late HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let head = run(WAIT, || read.resume(&mut stream)).unwrap().unwrap();
    assert_eq!(head.target(), "/late");
    // The client's close between requests is a clean end. It closes only its sending side:
    // a socket closed whole would answer the 204 with a reset, which could overtake its
    // FIN on a loaded machine and make the end an error.
    peer.shutdown(Shutdown::Write).unwrap();
    let mut next = ReadRequest::new();
    let mut send = SendResponse::new(StatusCode::NO_CONTENT, HeaderMap::new(), "ignored");
    run(WAIT, || send.resume(&mut stream)).unwrap();
    assert!(run(WAIT, || next.resume(&mut stream)).unwrap().is_none());
    drop(stream);
    let mut answer = Vec::new();
    peer.read_to_end(&mut answer).unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 204 "), "{answer:?}");
}

/// A request that arrived after a short read is read at the first `resume`: a loop of
/// one's own (edge-triggered, say) that was told the socket is readable must find the
/// request, not a `Pending` that waits for an edge already taken.
#[test]
fn a_request_that_came_after_a_short_read_is_read_at_once() {
    let (listener, addr) = listen();
    let client = thread::spawn(move || TcpStream::connect(addr).unwrap());
    let (socket, _) = listener.accept().unwrap();
    let mut peer = client.join().unwrap();
    let mut stream = ServerStream::new(Transport::from_tcp(socket).unwrap());
    peer.write_all(b"GET /first HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let mut read = ReadRequest::new();
    let head = run(WAIT, || read.resume(&mut stream)).unwrap().unwrap();
    assert_eq!(head.target(), "/first");
    // The second request is in the socket before the server looks again.
    peer.write_all(b"GET /second HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    thread::sleep(Duration::from_millis(100));
    let mut send = SendResponse::new(StatusCode::NO_CONTENT, HeaderMap::new(), "");
    run(WAIT, || send.resume(&mut stream)).unwrap();
    let mut next = ReadRequest::new();
    match next.resume(&mut stream).unwrap() {
        pollhttp::Progress::Ready(Some(head)) => assert_eq!(head.target(), "/second"),
        other => panic!("the second request was there, got {other:?}"),
    }
}

/// Reads from `socket` until the server closes.
fn read_to_close(socket: &mut TcpStream) -> String {
    let mut got = Vec::new();
    socket.set_read_timeout(WAIT).unwrap();
    socket.read_to_end(&mut got).unwrap();
    String::from_utf8(got).unwrap()
}

/// A `Date` a handler gives its response.
const OLD_DATE: &str = "Thu, 01 Jan 1970 00:00:00 GMT";

/// How far the server's coarse clock (`CLOCK_REALTIME_COARSE`) may lag `SystemTime::now()`:
/// one kernel tick at the lowest usual rate (100 Hz), with room to spare.
const COARSE_LAG: Duration = Duration::from_millis(50);

/// Replaces each `date: <IMF-fixdate>` line but [`OLD_DATE`] by `date: NOW` after checking
/// it names a second from `since` to now.
fn dates_checked(text: &str, since: SystemTime) -> String {
    // The server dates from the coarse clock, which may lag this one by a kernel tick.
    let first = HttpDate::from_system_time(since - COARSE_LAG).unix_secs();
    let last = HttpDate::from_system_time(SystemTime::now()).unix_secs();
    let seconds: Vec<String> = (first..=last)
        .map(|s| HttpDate::from_unix_secs(s).to_string())
        .collect();
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("\r\ndate: ") {
        let start = at + "\r\ndate: ".len();
        let value = &rest[start..start + 29];
        out.push_str(&rest[..start]);
        if value == OLD_DATE {
            out.push_str(value);
        } else {
            assert!(seconds.iter().any(|s| s == value), "{value:?} in {text:?}");
            out.push_str("NOW");
        }
        rest = &rest[start + 29..];
    }
    out.push_str(rest);
    out
}

#[test]
fn responses_get_a_date_and_http10_keep_alive_persists() {
    let (listener, addr) = listen();
    let server = serve_one(listener);
    let since = SystemTime::now();
    let mut socket = TcpStream::connect(addr).unwrap();
    socket
        .write_all(
            b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n\
              PUT /b HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nxyz\
              GET /c HTTP/1.0\r\n\r\n\
              GET /never HTTP/1.0\r\n\r\n",
        )
        .unwrap();
    let got = dates_checked(&read_to_close(&mut socket), since);
    assert_eq!(
        got,
        "HTTP/1.1 200 OK\r\ncontent-length: 8\r\nconnection: keep-alive\r\ndate: NOW\r\n\r\nGET /a 0\
         HTTP/1.1 200 OK\r\ncontent-length: 8\r\nconnection: keep-alive\r\ndate: NOW\r\n\r\nPUT /b 3\
         HTTP/1.1 200 OK\r\ncontent-length: 8\r\nconnection: close\r\ndate: NOW\r\n\r\nGET /c 0"
    );
    assert_eq!(server.join().unwrap().unwrap(), 3);
}

#[test]
fn a_date_of_the_caller_is_kept_and_without_date_sends_none() {
    for with_date in [true, false] {
        let (listener, addr) = listen();
        let server = thread::spawn(move || -> Result<(), Error> {
            let (socket, _) = listener.accept().unwrap();
            let mut stream = ServerStream::new(Transport::from_tcp(socket).unwrap());
            if !with_date {
                stream = stream.without_date();
            }
            for own_date in [true, false] {
                let mut read = ReadRequest::new();
                run(WAIT, || read.resume(&mut stream))?.unwrap();
                let mut headers = HeaderMap::new();
                if own_date {
                    headers.insert("date", HeaderValue::from_static(OLD_DATE));
                }
                let mut send = SendResponse::new(StatusCode::OK, headers, "hi");
                run(WAIT, || send.resume(&mut stream))?;
            }
            Ok(())
        });
        let since = SystemTime::now();
        let mut socket = TcpStream::connect(addr).unwrap();
        socket
            .write_all(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            .unwrap();
        let got = dates_checked(&read_to_close(&mut socket), since);
        let ours = if with_date { "date: NOW\r\n" } else { "" };
        assert_eq!(
            got,
            format!(
                "HTTP/1.1 200 OK\r\ndate: {OLD_DATE}\r\ncontent-length: 2\r\n\r\nhi\
                 HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n{ours}\r\nhi"
            ),
            "with_date {with_date}"
        );
        server.join().unwrap().unwrap();
    }
}

/// Reads from `socket` until what came ends with `end`.
fn read_until(socket: &mut TcpStream, end: &str) -> String {
    socket.set_read_timeout(WAIT).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.ends_with(end.as_bytes()) {
        let n = socket.read(&mut buf).unwrap();
        assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(got).unwrap()
}

/// The `date` values in `text`.
fn dates_in(text: &str) -> Vec<&str> {
    text.match_indices("\r\ndate: ")
        .map(|(at, field)| &text[at + field.len()..at + field.len() + 29])
        .collect()
}

#[test]
fn a_stream_gives_the_date_again_once_its_second_is_over() {
    // The stream keeps its date while the clock's second is the one it was made for
    // (pipelined responses in one second share it), and makes another after.
    let (listener, addr) = listen();
    let server = serve_one(listener);
    let mut socket = TcpStream::connect(addr).unwrap();
    let since = SystemTime::now();
    socket
        .write_all(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let first = read_until(&mut socket, "GET /2 0");
    let first_dates = dates_in(&first);
    assert_eq!(first_dates.len(), 2, "{first:?}");
    assert_eq!(dates_checked(&first, since).matches("date: NOW").count(), 2);
    // Into a second after the one the first dates were made in (the server read its clock
    // before this one), past the coarse clock's lag. Within the first `COARSE_LAG` of a
    // second, now minus the lag is in the second before: still waiting, not over.
    let second_of = |t: SystemTime| HttpDate::from_system_time(t).unix_secs();
    let then = second_of(SystemTime::now());
    while second_of(SystemTime::now() - COARSE_LAG) <= then {
        thread::sleep(Duration::from_millis(20));
    }
    let later = SystemTime::now();
    socket
        .write_all(b"GET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .unwrap();
    let last = read_to_close(&mut socket);
    assert_eq!(dates_checked(&last, later).matches("date: NOW").count(), 1);
    let last_date = dates_in(&last)[0];
    assert!(
        first_dates.iter().all(|d| *d != last_date),
        "{first_dates:?} then {last_date:?}"
    );
    assert_eq!(server.join().unwrap().unwrap(), 3);
}
