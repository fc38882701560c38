//! The resumable operations on a `ClientStream`, driven by hand over real loopback
//! sockets: each `resume` either finishes or names the stream's descriptor and what to
//! wait for; the test waits for exactly that and resumes. The peer is scripted with raw
//! bytes (`support/peer.rs`), so every byte on the wire is checked.

#[path = "support/peer.rs"]
mod peer;

use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, Method};
use pollhttp::io::Address;
use pollhttp::op::{
    ClientStream, Connect, Continue, Discard, FinishBody, Flush, ReadAll, ReadBody, ReadResponse,
    RequestBody, SendRequest, WaitContinue, WriteBody,
};
use pollhttp::proto::{BodyLength, Framing};
use pollhttp::{Error, Interest, PollNeeded, Progress};

use peer::{chunked_body, ok, pattern, text, Peer, WAIT};

const NO_CONTENT: &[u8] = b"HTTP/1.1 204 No Content\r\n\r\n";

fn headers(host: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("host", HeaderValue::from_str(host).unwrap());
    h
}

/// Connects with the `Connect` op; every `Pending` asks for writable.
fn connect(address: Address) -> ClientStream {
    let mut op = Connect::new(vec![address]);
    loop {
        match op.resume().expect("connect") {
            Progress::Ready(stream) => return stream,
            Progress::Pending(need) => {
                assert_eq!(need.interest, Interest::WRITABLE);
                assert!(
                    need.wait(Some(WAIT)).unwrap(),
                    "connect: nothing within WAIT"
                );
            }
        }
    }
}

/// Resumes `step` until it finishes, checking that every `Pending` names the stream's
/// descriptor; returns the result and how many times it was pending.
fn drive<T>(
    stream: &mut ClientStream,
    mut step: impl FnMut(&mut ClientStream) -> Result<Progress<T>, Error>,
) -> (Result<T, Error>, usize) {
    let fd = stream.as_raw_fd();
    let mut pending = 0;
    loop {
        match step(stream) {
            Ok(Progress::Ready(v)) => return (Ok(v), pending),
            Ok(Progress::Pending(need)) => {
                assert_eq!(need.fd, fd, "Pending names another descriptor");
                pending += 1;
                assert!(
                    need.wait(Some(WAIT)).unwrap(),
                    "nothing within WAIT: {need:?}"
                );
            }
            Err(e) => return (Err(e), pending),
        }
    }
}

fn run<T>(
    stream: &mut ClientStream,
    step: impl FnMut(&mut ClientStream) -> Result<Progress<T>, Error>,
) -> T {
    drive(stream, step).0.expect("operation failed")
}

fn send(stream: &mut ClientStream, method: Method, target: &str, body: RequestBody) {
    let host = stream
        .transport()
        .peer_address()
        .unwrap()
        .host_header()
        .unwrap_or_default();
    let mut op = SendRequest::new(method, target, headers(&host), body);
    run(stream, |s| op.resume(s));
}

fn read_head(stream: &mut ClientStream) -> u16 {
    let mut op = ReadResponse::new();
    run(stream, |s| op.resume(s)).status()
}

fn read_all(stream: &mut ClientStream) -> Vec<u8> {
    let mut op = ReadAll::new();
    run(stream, |s| op.resume(s))
}

fn host_of(peer: &Peer<impl Send + 'static>) -> String {
    peer.address().host_header().unwrap()
}

#[test]
fn connect_op_gives_a_stream_to_the_peer() {
    let peer = Peer::tcp(|mut c| c.read_to_end());
    let mut op = Connect::new(vec![peer.address()]);
    assert_eq!(
        op.current_address(),
        None,
        "nothing before the first resume"
    );
    let stream = loop {
        match op.resume().expect("connect") {
            Progress::Ready(stream) => break stream,
            Progress::Pending(need) => {
                assert_eq!(need.interest, Interest::WRITABLE);
                assert_eq!(op.current_address(), Some(&peer.address()));
                assert!(need.wait(Some(WAIT)).unwrap());
            }
        }
    };
    // Finished: resuming again is a mistake, reported as such.
    match op.resume() {
        Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput),
        other => panic!("{other:?}"),
    }
    assert!(stream.transport().is_tcp());
    assert_eq!(stream.transport().peer_address().unwrap(), peer.address());
    assert_eq!(stream.responses_pending(), 0);
    assert!(stream.is_reusable());
    drop(stream);
    assert_eq!(peer.join(), b"");
}

#[test]
fn read_response_is_pending_on_the_stream_until_the_server_answers() {
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (head_tx, head_rx) = mpsc::channel();
    let peer = Peer::tcp(move |mut c| {
        head_tx.send(c.read_head()).unwrap();
        go_rx.recv().unwrap();
        c.write(&ok(b"hello"));
        c.read_to_end()
    });
    let host = host_of(&peer);
    let mut stream = connect(peer.address());
    let fd = stream.as_raw_fd();

    let mut send = SendRequest::new(Method::GET, "/a", headers(&host), RequestBody::Empty);
    run(&mut stream, |s| send.resume(s));
    let head = head_rx.recv_timeout(WAIT).unwrap();
    assert_eq!(
        text(&head),
        format!("GET /a HTTP/1.1\r\nhost: {host}\r\n\r\n")
    );

    // Nothing to read: Pending on the stream's descriptor, readable, however often asked.
    let mut read = ReadResponse::new();
    for _ in 0..5 {
        match read.resume(&mut stream).unwrap() {
            Progress::Pending(need) => assert_eq!(
                need,
                PollNeeded {
                    fd,
                    interest: Interest::READABLE
                }
            ),
            Progress::Ready(head) => panic!("a response out of nowhere: {head:?}"),
        }
    }
    let need = PollNeeded {
        fd,
        interest: Interest::READABLE,
    };
    assert!(!need.wait(Some(Duration::ZERO)).unwrap());

    go_tx.send(()).unwrap();
    let head = run(&mut stream, |s| read.resume(s));
    assert_eq!(head.status(), 200);
    assert_eq!(head.reason(), b"OK");
    assert_eq!(stream.body_framing(), Some(Framing::Length(5)));
    assert!(stream.reading_body());
    assert_eq!(read_all(&mut stream), b"hello");
    assert!(!stream.reading_body());
    assert_eq!(stream.responses_pending(), 0);
    assert!(stream.is_reusable());
    drop(stream);
    assert_eq!(peer.join(), b"");
}

#[test]
fn send_request_puts_each_body_kind_on_the_wire() {
    let large = pattern(100 * 1024);
    let (tx, rx) = mpsc::channel();
    let peer = Peer::tcp(move |mut c| {
        for _ in 0..5 {
            tx.send(c.read_request()).unwrap();
            c.write(b"HTTP/1.1 204 No Content\r\n\r\n");
        }
        c.read_to_end()
    });
    let host = host_of(&peer);
    let mut stream = connect(peer.address());

    let cases: Vec<(Method, RequestBody, Vec<u8>)> = vec![
        (
            Method::GET,
            RequestBody::Empty,
            format!("GET /k HTTP/1.1\r\nhost: {host}\r\n\r\n").into_bytes(),
        ),
        (
            Method::PUT,
            RequestBody::Empty,
            format!("PUT /k HTTP/1.1\r\nhost: {host}\r\ncontent-length: 0\r\n\r\n").into_bytes(),
        ),
        (
            Method::POST,
            RequestBody::Bytes(Vec::new()),
            format!("POST /k HTTP/1.1\r\nhost: {host}\r\ncontent-length: 0\r\n\r\n").into_bytes(),
        ),
        (
            Method::PUT,
            RequestBody::from("hello"),
            format!("PUT /k HTTP/1.1\r\nhost: {host}\r\ncontent-length: 5\r\n\r\nhello")
                .into_bytes(),
        ),
        (Method::POST, RequestBody::Bytes(large.clone()), {
            // Past 16 KiB: written straight from the request's memory.
            let mut r = format!(
                "POST /k HTTP/1.1\r\nhost: {host}\r\ncontent-length: {}\r\n\r\n",
                large.len()
            )
            .into_bytes();
            r.extend_from_slice(&large);
            r
        }),
    ];
    for (method, body, expected) in cases {
        send(&mut stream, method.clone(), "/k", body);
        assert!(!stream.sending_body(), "{method}: the request is complete");
        assert_eq!(stream.unflushed(), 0);
        let got = rx.recv_timeout(WAIT).unwrap();
        assert!(
            got == expected,
            "{method}: got {:?}",
            text(&got[..got.len().min(200)])
        );
        assert_eq!(read_head(&mut stream), 204);
        assert_eq!(stream.responses_pending(), 0);
    }
    drop(stream);
    assert_eq!(peer.join(), b"");
}

#[test]
fn write_body_in_pieces_and_excess_is_a_caller_error() {
    let big = pattern(64 * 1024);
    let expected_big = big.clone();
    let (tx, rx) = mpsc::channel();
    let peer = Peer::tcp(move |mut c| {
        tx.send(c.read_request()).unwrap();
        tx.send(c.read_request()).unwrap();
        c.write(&ok(b""));
        c.write(&ok(b""));
        tx.send(c.read_head()).unwrap();
        c.read_to_end()
    });
    let host = host_of(&peer);
    let mut stream = connect(peer.address());

    // Three small pieces of a 10-byte body.
    send(
        &mut stream,
        Method::PUT,
        "/small",
        RequestBody::Following(10),
    );
    assert!(stream.sending_body());
    for piece in [&b"abc"[..], b"defg", b"hij"] {
        let mut op = WriteBody::new(piece);
        run(&mut stream, |s| op.resume(s));
    }
    assert!(!stream.sending_body(), "the body ends with its last byte");
    let mut finish = FinishBody::new();
    run(&mut stream, |s| finish.resume(s));
    assert_eq!(
        text(&rx.recv_timeout(WAIT).unwrap()),
        format!("PUT /small HTTP/1.1\r\nhost: {host}\r\ncontent-length: 10\r\n\r\nabcdefghij")
    );

    // Two large pieces (the direct path), owned buffers.
    send(
        &mut stream,
        Method::PUT,
        "/big",
        RequestBody::Following(128 * 1024),
    );
    for _ in 0..2 {
        let mut op = WriteBody::new(big.clone());
        run(&mut stream, |s| op.resume(s));
    }
    assert!(!stream.sending_body());
    let mut expected = format!(
        "PUT /big HTTP/1.1\r\nhost: {host}\r\ncontent-length: {}\r\n\r\n",
        128 * 1024
    )
    .into_bytes();
    expected.extend_from_slice(&expected_big);
    expected.extend_from_slice(&expected_big);
    assert!(rx.recv_timeout(WAIT).unwrap() == expected);

    assert_eq!(read_head(&mut stream), 200);
    assert_eq!(read_head(&mut stream), 200);

    // One byte too many: refused, nothing of it sent.
    send(
        &mut stream,
        Method::PUT,
        "/excess",
        RequestBody::Following(5),
    );
    let mut op = WriteBody::new(b"abcdef");
    let e = drive(&mut stream, |s| op.resume(s)).0.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Proto(pollhttp::proto::Error::LocalProtocol { .. })
        ),
        "{e:?}"
    );
    assert!(e.is_caller_error());
    assert!(!e.is_temporary());
    assert_eq!(
        text(&rx.recv_timeout(WAIT).unwrap()),
        format!("PUT /excess HTTP/1.1\r\nhost: {host}\r\ncontent-length: 5\r\n\r\n")
    );
    drop(stream);
    assert_eq!(peer.join(), b"", "no byte of the refused write went out");
}

#[test]
fn chunked_body_with_extensions_and_trailers() {
    let (tx, rx) = mpsc::channel();
    let peer = Peer::tcp(move |mut c| {
        tx.send(c.read_request()).unwrap();
        c.write(&ok(b"done"));
        c.read_to_end()
    });
    let host = host_of(&peer);
    let mut stream = connect(peer.address());
    send(&mut stream, Method::POST, "/c", RequestBody::Chunked);
    stream
        .queue_chunk(b"abc", &[("k", Some("v")), ("q", Some("a b")), ("f", None)])
        .unwrap();
    run(&mut stream, |s| Flush::new().resume(s));
    let mut write = WriteBody::new(b"defg".to_vec());
    run(&mut stream, |s| write.resume(s));
    // An empty write is no chunk (it would end the body).
    let mut empty = WriteBody::new(b"");
    run(&mut stream, |s| empty.resume(s));
    assert!(stream.sending_body());
    let mut trailers = HeaderMap::new();
    trailers.insert("x-sum", HeaderValue::from_static("7"));
    let mut finish = FinishBody::with_trailers(trailers);
    run(&mut stream, |s| finish.resume(s));
    assert!(!stream.sending_body());
    assert_eq!(
        text(&rx.recv_timeout(WAIT).unwrap()),
        format!(
            "POST /c HTTP/1.1\r\nhost: {host}\r\ntransfer-encoding: chunked\r\n\r\n\
             3;k=v;q=\"a b\";f\r\nabc\r\n4\r\ndefg\r\n0\r\nx-sum: 7\r\n\r\n"
        )
    );
    assert_eq!(read_head(&mut stream), 200);
    assert_eq!(read_all(&mut stream), b"done");
    drop(stream);
    assert_eq!(peer.join(), b"");
}

#[test]
fn queued_requests_go_out_while_a_read_waits() {
    // No Flush at all: the read writes what is queued before it waits.
    let peer = Peer::tcp(|mut c| {
        let first = c.read_request();
        let second = c.read_request();
        c.write(&ok(b"one"));
        c.write(&ok(b"two"));
        (first, second, c.read_to_end())
    });
    let host = host_of(&peer);
    let mut stream = connect(peer.address());
    let h = headers(&host);
    stream
        .queue_request(&Method::GET, "/1", &h, BodyLength::None)
        .unwrap();
    assert_eq!(
        stream
            .queue_request(&Method::POST, "/2", &h, BodyLength::Known(3))
            .unwrap(),
        Framing::Length(3)
    );
    stream.queue_data(b"xyz").unwrap();
    stream.queue_end(None).unwrap();
    assert_eq!(stream.responses_pending(), 2);
    assert!(stream.unflushed() > 0);
    assert_eq!(read_head(&mut stream), 200);
    assert_eq!(stream.unflushed(), 0);
    assert_eq!(read_all(&mut stream), b"one");
    assert_eq!(read_head(&mut stream), 200);
    assert_eq!(read_all(&mut stream), b"two");
    drop(stream);
    let (first, second, rest) = peer.join();
    assert_eq!(
        text(&first),
        format!("GET /1 HTTP/1.1\r\nhost: {host}\r\n\r\n")
    );
    assert_eq!(
        text(&second),
        format!("POST /2 HTTP/1.1\r\nhost: {host}\r\ncontent-length: 3\r\n\r\nxyz")
    );
    assert_eq!(rest, b"");
}

#[test]
fn read_body_small_and_large_buffers_and_pending_mid_body() {
    let body = pattern(3 * 1024 * 1024);
    let expected = body.clone();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let peer = Peer::tcp(move |mut c| {
        c.read_request();
        let mut first =
            format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len()).into_bytes();
        first.extend_from_slice(&body[..1000]);
        c.write(&first);
        go_rx.recv().unwrap();
        c.write(&body[1000..]);
        c.read_to_end()
    });
    let mut stream = connect(peer.address());
    let fd = stream.as_raw_fd();
    send(&mut stream, Method::GET, "/big", RequestBody::Empty);
    assert_eq!(read_head(&mut stream), 200);

    let mut got = Vec::new();
    // Small buffer (through the stream's buffer) until the first 1000 bytes are in.
    let mut small = ReadBody::new([0u8; 100]);
    while got.len() < 1000 {
        let n = run(&mut stream, |s| small.resume(s));
        assert!(n > 0 && n <= 100);
        got.extend_from_slice(&small.buffer()[..n]);
    }
    // The rest is not sent yet: Pending, readable, on the stream, every time.
    for _ in 0..3 {
        assert_eq!(
            small.resume(&mut stream).unwrap(),
            Progress::Pending(PollNeeded {
                fd,
                interest: Interest::READABLE
            })
        );
    }
    go_tx.send(()).unwrap();
    // A large buffer: read straight from the socket.
    let mut large = ReadBody::new(vec![0u8; 256 * 1024]);
    loop {
        let n = run(&mut stream, |s| large.resume(s));
        if n == 0 {
            break;
        }
        got.extend_from_slice(&large.buffer()[..n]);
    }
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "body differs");
    // At the end: 0 again, like read at end of file.
    assert_eq!(run(&mut stream, |s| large.resume(s)), 0);
    assert_eq!(run(&mut stream, |s| small.resume(s)), 0);
    assert_eq!(stream.responses_pending(), 0);
    drop(stream);
    peer.join();
}

#[test]
fn chunked_response_through_read_body_discard_and_read_all() {
    let peer = Peer::tcp(|mut c| {
        for _ in 0..3 {
            c.read_request();
        }
        let mut r = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
        r.extend(chunked_body(&[b"hello ", b"world"], "x-checksum: 42\r\n"));
        r.extend_from_slice(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
        r.extend(chunked_body(&[&pattern(40_000), b"tail"], ""));
        r.extend(ok(b"last"));
        c.write(&r);
        c.read_to_end()
    });
    let mut stream = connect(peer.address());
    for i in 0..3 {
        send(
            &mut stream,
            Method::GET,
            &format!("/{i}"),
            RequestBody::Empty,
        );
    }
    assert_eq!(read_head(&mut stream), 200);
    assert_eq!(stream.body_framing(), Some(Framing::Chunked));
    let mut got = Vec::new();
    let mut op = ReadBody::new(vec![0u8; 4]);
    loop {
        let n = run(&mut stream, |s| op.resume(s));
        if n == 0 {
            break;
        }
        assert!(n <= 4);
        got.extend_from_slice(&op.buffer()[..n]);
    }
    assert_eq!(got, b"hello world");
    assert_eq!(stream.trailers().get("x-checksum"), Some(&b"42"[..]));

    assert_eq!(read_head(&mut stream), 200);
    let mut discard = Discard::new();
    assert_eq!(run(&mut stream, |s| discard.resume(s)), 40_004);
    assert!(
        stream.trailers().is_empty(),
        "trailers of the last body only"
    );

    assert_eq!(read_head(&mut stream), 200);
    assert_eq!(read_all(&mut stream), b"last");
    assert_eq!(stream.responses_pending(), 0);
    drop(stream);
    peer.join();
}

/// Small chunks the stream already holds come out of one read together, up to the
/// buffer's size, not one chunk a read (a reader passing each read on, as `get` does,
/// made a system call a chunk). The body's end and trailers found on the way are kept
/// for the next response; a framing error found on the way comes at the next read, after
/// the bytes before it.
#[test]
fn read_body_gives_the_held_chunks_of_a_tiny_chunked_body_together() {
    const CHUNKS: usize = 10_000;
    let peer = Peer::tcp(|mut c| {
        for _ in 0..3 {
            c.read_request();
        }
        let tiny = vec![&b"x"[..]; CHUNKS];
        let mut r = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
        r.extend(chunked_body(&tiny, "x-t: 1\r\n"));
        r.extend(ok(b"next"));
        r.extend_from_slice(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
        r.extend(b"1\r\na\r\n1\r\nb\r\nzz\r\n");
        c.write(&r);
        c.read_to_end()
    });
    let mut stream = connect(peer.address());
    for i in 0..3 {
        let target = format!("/{i}");
        send(&mut stream, Method::GET, &target, RequestBody::Empty);
    }
    assert_eq!(read_head(&mut stream), 200);
    let (mut got, mut reads) = (Vec::new(), 0);
    let mut op = ReadBody::new(vec![0u8; 64 * 1024]);
    loop {
        let n = run(&mut stream, |s| op.resume(s));
        if n == 0 {
            break;
        }
        reads += 1;
        got.extend_from_slice(&op.buffer()[..n]);
    }
    assert_eq!(got, vec![b'x'; CHUNKS]);
    assert!(reads <= 20, "{reads} reads for {CHUNKS} held 1-byte chunks");
    assert_eq!(stream.trailers().get("x-t"), Some(&b"1"[..]));
    assert_eq!(read_head(&mut stream), 200);
    assert_eq!(read_all(&mut stream), b"next");

    assert_eq!(read_head(&mut stream), 200);
    let mut op = ReadBody::new(vec![0u8; 64]);
    assert_eq!(run(&mut stream, |s| op.resume(s)), 2);
    assert_eq!(&op.buffer()[..2], b"ab");
    let err = drive(&mut stream, |s| op.resume(s))
        .0
        .expect_err("a bad chunk size");
    assert!(err.to_string().contains("chunk"), "{err}");
    drop(stream);
    peer.join();
}

#[test]
fn read_all_with_a_limit_refuses_a_longer_body() {
    let peer = Peer::tcp(|mut c| {
        c.read_request();
        c.write(&ok(&[b'a'; 100]));
        c.read_to_end()
    });
    let mut stream = connect(peer.address());
    send(&mut stream, Method::GET, "/", RequestBody::Empty);
    assert_eq!(read_head(&mut stream), 200);
    let mut op = ReadAll::with_limit(99);
    let e = drive(&mut stream, |s| op.resume(s)).0.unwrap_err();
    assert!(
        matches!(&e, Error::Proto(p) if p.is_remote() && p.status_hint() == Some(http::StatusCode::PAYLOAD_TOO_LARGE)),
        "{e:?}"
    );
    assert!(!stream.is_reusable());
    assert_eq!(stream.error().map(ToString::to_string), Some(e.to_string()));
    drop(stream);
    peer.join();
}

/// 20,000 requests are queued at once (far more bytes, with their responses, than the
/// socket buffers hold): a Flush and the reads are resumed alternately from one thread,
/// waiting in mio for whatever the pending operations need. The server answers each with
/// 1 KiB naming the request; everything must come back, in order, without deadlock.
#[test]
fn pipelining_20000_requests_with_alternating_ops_does_not_deadlock() {
    const N: usize = 20_000;
    const SIZE: usize = 1024;
    fn body_for(i: usize) -> Vec<u8> {
        let mut b = format!("{i:08}").into_bytes();
        b.resize(SIZE, b'.');
        b
    }
    let peer = Peer::tcp(|mut c| {
        let mut served = 0;
        while let Some(head) = c.try_read_head() {
            let line = text(&head);
            let i: usize = line
                .strip_prefix("GET /r")
                .and_then(|rest| rest.split(' ').next())
                .and_then(|i| i.parse().ok())
                .unwrap_or_else(|| panic!("unexpected request {line:?}"));
            assert_eq!(i, served, "requests arrive in order");
            c.write(&ok(&body_for(i)));
            served += 1;
        }
        served
    });
    let host = host_of(&peer);
    let mut stream = connect(peer.address());
    let fd = stream.as_raw_fd();
    let mut h = headers(&host);
    h.insert("x-pad", HeaderValue::from_str(&"p".repeat(200)).unwrap());
    for i in 0..N {
        stream
            .queue_request(&Method::GET, &format!("/r{i}"), &h, BodyLength::None)
            .unwrap();
    }
    assert_eq!(stream.responses_pending(), N);
    assert!(stream.unflushed() > N * 200);

    enum Reading {
        Head(ReadResponse),
        Body(ReadBody<Vec<u8>>, Vec<u8>),
    }
    let mut poll = mio::Poll::new().unwrap();
    let mut events = mio::Events::with_capacity(8);
    let mut registered = false;
    let mut flush = Some(Flush::new());
    let mut reading = Reading::Head(ReadResponse::new());
    let mut done = 0;
    let mut flush_pending = 0;
    while done < N {
        let mut wanted: Option<Interest> = None;
        let mut want = |need: PollNeeded| {
            assert_eq!(need.fd, fd);
            wanted = Some(wanted.map_or(need.interest, |w| w | need.interest));
        };
        if let Some(op) = &mut flush {
            match op.resume(&mut stream).unwrap() {
                Progress::Ready(()) => flush = None,
                Progress::Pending(need) => {
                    assert_eq!(need.interest, Interest::WRITABLE);
                    flush_pending += 1;
                    want(need);
                }
            }
        }
        loop {
            match &mut reading {
                Reading::Head(op) => match op.resume(&mut stream).unwrap() {
                    Progress::Ready(head) => {
                        assert_eq!(head.status(), 200);
                        reading = Reading::Body(ReadBody::new(vec![0; 600]), Vec::new());
                    }
                    Progress::Pending(need) => {
                        want(need);
                        break;
                    }
                },
                Reading::Body(op, body) => match op.resume(&mut stream).unwrap() {
                    Progress::Ready(n) if n > 0 => body.extend_from_slice(&op.buffer()[..n]),
                    Progress::Ready(_) => {
                        assert!(*body == body_for(done), "response {done} out of order");
                        done += 1;
                        reading = Reading::Head(ReadResponse::new());
                        if done == N {
                            break;
                        }
                    }
                    Progress::Pending(need) => {
                        want(need);
                        break;
                    }
                },
            }
        }
        if done == N {
            break;
        }
        let interest = wanted.expect("something is pending");
        // Registering again each round re-arms mio's edge-triggered readiness.
        if registered {
            poll.registry()
                .reregister(&mut stream, mio::Token(0), interest.into())
                .unwrap();
        } else {
            poll.registry()
                .register(&mut stream, mio::Token(0), interest.into())
                .unwrap();
            registered = true;
        }
        poll.poll(&mut events, Some(WAIT)).unwrap();
        assert!(
            !events.is_empty(),
            "deadlock: nothing ready within {WAIT:?} after {done} responses \
             (waiting for {interest:?}, {} bytes unflushed)",
            stream.unflushed()
        );
    }
    assert!(flush.is_none(), "everything was written");
    assert_eq!(stream.responses_pending(), 0);
    assert_eq!(stream.unflushed(), 0);
    eprintln!("the flush was pending {flush_pending} times");
    drop(stream);
    assert_eq!(peer.join(), N);
}

#[test]
fn send_waits_for_writable_while_the_peer_does_not_read() {
    let body = pattern(16 * 1024 * 1024);
    let expected_len = body.len();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let peer = Peer::tcp(move |mut c| {
        go_rx.recv().unwrap();
        let request = c.read_request();
        c.write(b"HTTP/1.1 204 No Content\r\n\r\n");
        let _ = c.read_to_end();
        request
    });
    let host = host_of(&peer);
    let mut stream = connect(peer.address());
    let fd = stream.as_raw_fd();
    let mut op = SendRequest::new(
        Method::PUT,
        "/upload",
        headers(&host),
        RequestBody::Bytes(body),
    );
    // The peer reads nothing: the socket fills, and the send asks for writable, on the
    // same descriptor, each time it is resumed.
    for _ in 0..100 {
        match op.resume(&mut stream).unwrap() {
            Progress::Ready(()) => panic!("16 MiB went out with nobody reading"),
            Progress::Pending(need) => {
                assert_eq!(
                    need,
                    PollNeeded {
                        fd,
                        interest: Interest::WRITABLE
                    }
                );
            }
        }
    }
    go_tx.send(()).unwrap();
    run(&mut stream, |s| op.resume(s));
    assert_eq!(read_head(&mut stream), 204);
    drop(stream);
    let request = peer.join();
    let head =
        format!("PUT /upload HTTP/1.1\r\nhost: {host}\r\ncontent-length: {expected_len}\r\n\r\n");
    assert_eq!(text(&request[..head.len()]), head);
    assert!(
        request[head.len()..] == pattern(expected_len)[..],
        "body differs"
    );
}

/// A large body is written straight from the caller's memory, and the socket may take it
/// over many resumes. Until its last byte is written no next request may be queued: its
/// head would go out through the same socket before the rest of the body. The core refuses
/// it, as it refuses a request queued before any unfinished body, for both ways of writing
/// such a body (in the request, and with WriteBody).
#[test]
fn no_next_request_while_a_direct_body_is_being_written() {
    for with_write_body in [false, true] {
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let peer = Peer::tcp(move |mut c| {
            go_rx.recv().unwrap();
            c.read_to_end()
        });
        let host = host_of(&peer);
        let mut stream = connect(peer.address());
        let body = pattern(16 * 1024 * 1024);
        let pending = if with_write_body {
            let mut head = SendRequest::new(
                Method::PUT,
                "/up",
                headers(&host),
                RequestBody::Following(body.len() as u64),
            );
            run(&mut stream, |s| head.resume(s));
            let mut op = WriteBody::new(body);
            op.resume(&mut stream).unwrap()
        } else {
            let mut op =
                SendRequest::new(Method::PUT, "/up", headers(&host), RequestBody::Bytes(body));
            op.resume(&mut stream).unwrap()
        };
        assert!(
            matches!(pending, Progress::Pending(_)),
            "16 MiB went out with nobody reading"
        );
        let mut next = SendRequest::new(Method::GET, "/next", headers(&host), RequestBody::Empty);
        let e = next.resume(&mut stream).unwrap_err();
        assert!(
            e.to_string()
                .contains("the previous request body is not complete"),
            "{e}"
        );
        go_tx.send(()).unwrap();
        drop(stream);
        let wire = peer.join();
        let next_head = b"GET /next";
        assert!(
            !wire.windows(next_head.len()).any(|w| w == next_head),
            "the next request went out (with_write_body: {with_write_body})"
        );
    }
}

#[test]
fn expect_continue_with_ops() {
    let (tx, rx) = mpsc::channel();
    let peer = Peer::tcp(move |mut c| {
        tx.send(c.read_head()).unwrap();
        assert!(c.buffered().is_empty(), "no body before the 100");
        c.write(b"HTTP/1.1 100 Continue\r\n\r\n");
        tx.send(c.read_exact(5)).unwrap();
        c.write(&ok(b"stored"));
        c.read_to_end()
    });
    let host = host_of(&peer);
    let mut stream = connect(peer.address());
    let mut send = SendRequest::new(
        Method::PUT,
        "/doc",
        headers(&host),
        RequestBody::Following(5),
    )
    .expect_continue();
    run(&mut stream, |s| send.resume(s));
    assert_eq!(
        text(&rx.recv_timeout(WAIT).unwrap()),
        format!(
            "PUT /doc HTTP/1.1\r\nhost: {host}\r\nexpect: 100-continue\r\ncontent-length: 5\r\n\r\n"
        )
    );
    assert!(stream.conn().waiting_for_continue());
    // Writing before the 100 is the caller's mistake, and harmless.
    let mut early = WriteBody::new(b"hello");
    let e = drive(&mut stream, |s| early.resume(s)).0.unwrap_err();
    assert!(e.is_caller_error(), "{e:?}");
    assert!(stream.error().is_none());

    let mut read = ReadResponse::new();
    let head = run(&mut stream, |s| read.resume(s));
    assert_eq!(head.status(), 100);
    assert!(!stream.conn().waiting_for_continue());
    let mut write = WriteBody::new(b"hello");
    run(&mut stream, |s| write.resume(s));
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), b"hello");
    let mut read = ReadResponse::new();
    assert_eq!(run(&mut stream, |s| read.resume(s)).status(), 200);
    assert_eq!(read_all(&mut stream), b"stored");
    assert!(stream.is_reusable());
    drop(stream);
    assert_eq!(peer.join(), b"");
}

/// A final status instead of the 100, closing the connection: the body cannot be sent.
#[test]
fn expect_continue_refused_with_a_final_status() {
    let peer = Peer::tcp(|mut c| {
        let head = c.read_head();
        c.write(
            b"HTTP/1.1 417 Expectation Failed\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
        );
        (head, c.read_to_end())
    });
    let host = host_of(&peer);
    let mut stream = connect(peer.address());
    let mut send = SendRequest::new(
        Method::PUT,
        "/doc",
        headers(&host),
        RequestBody::Following(5),
    )
    .expect_continue();
    run(&mut stream, |s| send.resume(s));
    assert_eq!(read_head(&mut stream), 417);
    assert_eq!(stream.responses_pending(), 0);
    assert!(!stream.is_reusable());
    let mut write = WriteBody::new(b"hello");
    let e = drive(&mut stream, |s| write.resume(s)).0.unwrap_err();
    assert!(e.is_caller_error(), "{e:?}");
    let mut again = SendRequest::new(Method::GET, "/", headers(&host), RequestBody::Empty);
    assert!(drive(&mut stream, |s| again.resume(s)).0.is_err());
    drop(stream);
    let (head, rest) = peer.join();
    assert!(text(&head).starts_with("PUT /doc HTTP/1.1\r\n"));
    assert_eq!(rest, b"", "the body was not sent");
}

/// A final status instead of the 100 that keeps the connection, seen by `WaitContinue`:
/// the server reads the body (RFC 9110 §10.1.1), so the caller may send it, and the
/// connection carries the next request.
#[test]
fn wait_continue_op_returns_a_final_status_that_keeps_the_connection() {
    let peer = Peer::tcp(|mut c| {
        let head = c.read_head();
        c.write(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 2\r\n\r\nno");
        let body = c.read_exact(5);
        let next = c.read_request();
        c.write(NO_CONTENT);
        (head, body, next, c.read_to_end())
    });
    let host = host_of(&peer);
    let mut stream = connect(peer.address());
    let mut send = SendRequest::new(
        Method::PUT,
        "/doc",
        headers(&host),
        RequestBody::Following(5),
    )
    .expect_continue();
    run(&mut stream, |s| send.resume(s));
    let mut wait = WaitContinue::new(WAIT);
    match run(&mut stream, |s| wait.resume(s)) {
        Continue::Final(head) => assert_eq!(head.status(), 403),
        other => panic!("{other:?}"),
    }
    assert_eq!(read_all(&mut stream), b"no");
    assert!(stream.sending_body(), "the body is still due");
    let mut write = WriteBody::new(b"hello");
    run(&mut stream, |s| write.resume(s));
    assert!(stream.is_reusable());
    send_and_expect_204(&mut stream);
    drop(stream);
    let (head, body, next, rest) = peer.join();
    assert!(text(&head).starts_with("PUT /doc HTTP/1.1\r\n"));
    assert_eq!(body, b"hello");
    assert!(text(&next).starts_with("GET /next HTTP/1.1\r\n"));
    assert_eq!(rest, b"");
}

fn send_and_expect_204(stream: &mut ClientStream) {
    send(stream, Method::GET, "/next", RequestBody::Empty);
    assert_eq!(read_head(stream), 204);
}

/// RFC 9110 §10.1.1: no 100 by the deadline, and `WaitContinue` lets the body go; a 100
/// that comes after the body started is skipped.
#[test]
fn wait_continue_op_lets_the_body_go_at_its_deadline() {
    let peer = Peer::tcp(|mut c| {
        let head = c.read_head();
        let start = Instant::now();
        let body = c.read_exact(5);
        let waited = start.elapsed();
        c.write(b"HTTP/1.1 100 Continue\r\n\r\n");
        c.write(&ok(b"stored"));
        (head, body, waited, c.read_to_end())
    });
    let host = host_of(&peer);
    let mut stream = connect(peer.address());
    let mut send = SendRequest::new(
        Method::PUT,
        "/doc",
        headers(&host),
        RequestBody::Following(5),
    )
    .expect_continue();
    run(&mut stream, |s| send.resume(s));
    let mut wait = WaitContinue::new(Duration::from_millis(300));
    let deadline = wait.deadline();
    let mut pending = 0;
    let outcome = loop {
        match wait.resume(&mut stream).unwrap() {
            Progress::Ready(outcome) => break outcome,
            Progress::Pending(need) => {
                pending += 1;
                assert_eq!(need.interest, Interest::READABLE);
                let left = deadline.saturating_duration_since(Instant::now());
                assert!(!need.wait(Some(left)).unwrap(), "nothing to read");
            }
        }
    };
    assert_eq!(outcome, Continue::Elapsed);
    assert!(pending >= 1);
    assert!(Instant::now() >= deadline);
    // Asking again changes nothing.
    assert_eq!(
        wait.resume(&mut stream).unwrap(),
        Progress::Ready(Continue::Elapsed)
    );
    let mut write = WriteBody::new(b"hello");
    run(&mut stream, |s| write.resume(s));
    assert_eq!(read_head(&mut stream), 200);
    assert_eq!(read_all(&mut stream), b"stored");
    assert!(stream.is_reusable());
    drop(stream);
    let (head, body, waited, rest) = peer.join();
    assert!(text(&head).contains("\r\nexpect: 100-continue\r\n"));
    assert_eq!(body, b"hello");
    assert!(
        waited >= Duration::from_millis(250) && waited < WAIT,
        "{waited:?}"
    );
    assert_eq!(rest, b"");
}

/// A 100 before the deadline ends the wait at once.
#[test]
fn wait_continue_op_returns_the_100() {
    let peer = Peer::tcp(|mut c| {
        c.read_head();
        c.write(b"HTTP/1.1 100 Continue\r\n\r\n");
        let body = c.read_exact(5);
        c.write(NO_CONTENT);
        (body, c.read_to_end())
    });
    let host = host_of(&peer);
    let mut stream = connect(peer.address());
    // Nothing waits for a 100 yet: a caller error.
    let mut wait = WaitContinue::new(WAIT);
    let e = drive(&mut stream, |s| wait.resume(s)).0.unwrap_err();
    assert!(e.is_caller_error(), "{e:?}");
    let mut send = SendRequest::new(
        Method::PUT,
        "/doc",
        headers(&host),
        RequestBody::Following(5),
    )
    .expect_continue();
    run(&mut stream, |s| send.resume(s));
    let start = Instant::now();
    let mut wait = WaitContinue::new(WAIT);
    assert_eq!(run(&mut stream, |s| wait.resume(s)), Continue::Received);
    assert!(start.elapsed() < WAIT / 2);
    let mut write = WriteBody::new(b"hello");
    run(&mut stream, |s| write.resume(s));
    assert_eq!(read_head(&mut stream), 204);
    drop(stream);
    let (body, rest) = peer.join();
    assert_eq!(body, b"hello");
    assert_eq!(rest, b"");
}

#[test]
fn expect_continue_needs_a_body_that_follows() {
    let peer = Peer::tcp(|mut c| {
        let request = c.read_request();
        c.write(NO_CONTENT);
        (request, c.read_to_end())
    });
    let host = host_of(&peer);
    let mut stream = connect(peer.address());
    let mut op = SendRequest::new(
        Method::PUT,
        "/in-memory",
        headers(&host),
        RequestBody::from("abc"),
    )
    .expect_continue();
    let e = drive(&mut stream, |s| op.resume(s)).0.unwrap_err();
    assert!(e.is_caller_error(), "{e:?}");
    assert_eq!(stream.responses_pending(), 0, "nothing was queued");
    // The stream is fine.
    send(&mut stream, Method::GET, "/ok", RequestBody::Empty);
    assert_eq!(read_head(&mut stream), 204);
    drop(stream);
    let (request, rest) = peer.join();
    assert_eq!(
        text(&request),
        format!("GET /ok HTTP/1.1\r\nhost: {host}\r\n\r\n")
    );
    assert_eq!(rest, b"");
}

/// RFC 9110 §7.5, RFC 9112 §9.5: a final response that arrives while the request body is
/// being sent, and keeps the connection, does not stop the body: the client finishes it,
/// and the connection carries the next request.
#[test]
fn early_final_response_that_keeps_the_connection_lets_the_body_finish() {
    let (tx, rx) = mpsc::channel();
    let peer = Peer::tcp(move |mut c| {
        let head = c.read_head();
        let first = c.read_exact(5);
        // An answer before the body is complete, without `connection: close`: the server
        // reads (and drops) the rest of the body.
        c.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        tx.send(()).unwrap();
        let rest = c.read_exact(5);
        let next = c.read_request();
        c.write(NO_CONTENT);
        (head, first, rest, next, c.read_to_end())
    });
    let host = host_of(&peer);
    let mut stream = connect(peer.address());
    send(&mut stream, Method::PUT, "/up", RequestBody::Following(10));
    let mut write = WriteBody::new(b"01234");
    run(&mut stream, |s| write.resume(s));
    rx.recv_timeout(WAIT).unwrap();
    assert_eq!(read_head(&mut stream), 200);
    assert_eq!(stream.responses_pending(), 0);
    assert!(stream.sending_body(), "the body is still due");
    let mut write = WriteBody::new(b"56789");
    run(&mut stream, |s| write.resume(s));
    let mut finish = FinishBody::new();
    run(&mut stream, |s| finish.resume(s));
    assert!(!stream.sending_body());
    assert!(stream.is_reusable());
    send(&mut stream, Method::GET, "/next", RequestBody::Empty);
    assert_eq!(read_head(&mut stream), 204);
    assert!(stream.is_reusable());
    drop(stream);
    let (head, first, rest, next, end) = peer.join();
    assert_eq!(
        text(&head),
        format!("PUT /up HTTP/1.1\r\nhost: {host}\r\ncontent-length: 10\r\n\r\n")
    );
    assert_eq!(first, b"01234");
    assert_eq!(rest, b"56789");
    assert_eq!(
        text(&next),
        format!("GET /next HTTP/1.1\r\nhost: {host}\r\n\r\n")
    );
    assert_eq!(end, b"");
}

/// The same early answer with `connection: close` stops the body, as RFC 9112 §9.5 asks:
/// writing more fails, and the connection takes no more requests.
#[test]
fn early_final_response_that_closes_stops_the_body() {
    let (tx, rx) = mpsc::channel();
    let peer = Peer::tcp(move |mut c| {
        c.read_head();
        c.read_exact(5);
        c.write(
            b"HTTP/1.1 413 Content Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
        );
        tx.send(()).unwrap();
        c.read_to_end()
    });
    let mut stream = connect(peer.address());
    send(&mut stream, Method::PUT, "/up", RequestBody::Following(10));
    let mut write = WriteBody::new(b"01234");
    run(&mut stream, |s| write.resume(s));
    rx.recv_timeout(WAIT).unwrap();
    assert_eq!(read_head(&mut stream), 413);
    let mut write = WriteBody::new(b"56789");
    let e = drive(&mut stream, |s| write.resume(s)).0.unwrap_err();
    assert!(e.is_caller_error(), "{e:?}");
    assert!(!stream.is_reusable());
    drop(stream);
    assert_eq!(peer.join(), b"", "the rest of the body was not sent");
}

#[test]
fn caller_errors_of_the_read_ops_are_not_sticky() {
    let peer = Peer::tcp(|mut c| {
        c.read_request();
        c.write(&ok(b"abc"));
        c.read_request();
        c.write(&ok(b"def"));
        c.read_to_end()
    });
    let mut stream = connect(peer.address());
    // Nothing sent: nothing to read.
    let e = ReadResponse::new().resume(&mut stream).unwrap_err();
    assert!(e.is_caller_error(), "{e:?}");
    assert!(stream.error().is_none());

    send(&mut stream, Method::GET, "/1", RequestBody::Empty);
    assert_eq!(read_head(&mut stream), 200);
    // The body comes first.
    let e = ReadResponse::new().resume(&mut stream).unwrap_err();
    assert!(e.is_caller_error(), "{e:?}");
    assert!(stream.is_reusable());
    assert_eq!(read_all(&mut stream), b"abc");
    // A ReadBody after its end gives 0; a fresh op for the next exchange works.
    let mut op = ReadBody::new([0u8; 16]);
    assert_eq!(op.resume(&mut stream).unwrap(), Progress::Ready(0));
    send(&mut stream, Method::GET, "/2", RequestBody::Empty);
    assert_eq!(read_head(&mut stream), 200);
    let n = run(&mut stream, |s| op.resume(s));
    assert_eq!(&op.buffer()[..n], b"def");
    assert_eq!(op.resume(&mut stream).unwrap(), Progress::Ready(0));
    drop(stream);
    peer.join();
}

#[test]
fn a_failed_stream_stays_failed_for_every_op() {
    let peer = Peer::tcp(|mut c| {
        c.read_request();
        c.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabcd");
    });
    let mut stream = connect(peer.address());
    send(&mut stream, Method::GET, "/", RequestBody::Empty);
    assert_eq!(read_head(&mut stream), 200);
    let mut op = ReadBody::new(vec![0u8; 64]);
    let mut got = Vec::new();
    let e = loop {
        match drive(&mut stream, |s| op.resume(s)).0 {
            Ok(0) => panic!("a body cut short ended cleanly after {got:?}"),
            Ok(n) => got.extend_from_slice(&op.buffer()[..n]),
            Err(e) => break e,
        }
    };
    assert_eq!(got, b"abcd");
    assert!(matches!(e, Error::ConnectionClosed { .. }), "{e:?}");
    assert!(e.is_temporary());
    peer.join();
    let same = |r: Result<(), Error>| assert_eq!(r.unwrap_err().to_string(), e.to_string());
    same(ReadResponse::new().resume(&mut stream).map(|_| ()));
    same(ReadBody::new([0u8; 8]).resume(&mut stream).map(|_| ()));
    same(ReadAll::with_limit(100).resume(&mut stream).map(|_| ()));
    same(Discard::new().resume(&mut stream).map(|_| ()));
    same(
        SendRequest::new(Method::GET, "/", headers("h"), RequestBody::Empty)
            .resume(&mut stream)
            .map(|_| ()),
    );
    same(Flush::new().resume(&mut stream).map(|_| ()));
    assert!(!stream.is_reusable());
}

#[test]
fn ops_over_a_unix_socket() {
    let peer = Peer::at(peer::Where::UnixPath, |mut c| {
        let request = c.read_request();
        c.write(&ok(b"unix"));
        (request, c.read_to_end())
    })
    .unwrap();
    let mut stream = connect(peer.address());
    assert!(!stream.transport().is_tcp());
    let mut op = SendRequest::new(Method::GET, "/u", headers(""), RequestBody::Empty);
    run(&mut stream, |s| op.resume(s));
    assert_eq!(read_head(&mut stream), 200);
    assert_eq!(read_all(&mut stream), b"unix");
    drop(stream);
    let (request, rest) = peer.join();
    assert_eq!(text(&request), "GET /u HTTP/1.1\r\nhost: \r\n\r\n");
    assert_eq!(rest, b"");
}

/// A regression test: the default limit (`usize::MAX`) once overflowed on the first step.
#[test]
fn read_all_op_reads_the_whole_body() {
    let body = pattern(300 * 1024);
    let expected = body.clone();
    let peer = Peer::tcp(move |mut c| {
        c.read_request();
        c.write(&ok(&body));
        c.read_request();
        c.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
        c.write(&chunked_body(&[b"abc", b"defg"], ""));
        c.read_to_end()
    });
    let mut stream = connect(peer.address());
    send(&mut stream, Method::GET, "/1", RequestBody::Empty);
    assert_eq!(read_head(&mut stream), 200);
    let mut op = ReadAll::new();
    assert!(run(&mut stream, |s| op.resume(s)) == expected);
    assert!(!stream.reading_body());
    send(&mut stream, Method::GET, "/2", RequestBody::Empty);
    assert_eq!(read_head(&mut stream), 200);
    let mut op = ReadAll::new();
    assert_eq!(run(&mut stream, |s| op.resume(s)), b"abcdefg");
    drop(stream);
    assert_eq!(peer.join(), b"");
}

#[test]
fn read_all_op_with_a_limit_reads_the_whole_body() {
    let body = pattern(300 * 1024);
    let expected = body.clone();
    let peer = Peer::tcp(move |mut c| {
        c.read_request();
        c.write(&ok(&body));
        c.read_request();
        c.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
        c.write(&chunked_body(&[b"abc", b"defg"], ""));
        c.read_to_end()
    });
    let mut stream = connect(peer.address());
    send(&mut stream, Method::GET, "/1", RequestBody::Empty);
    assert_eq!(read_head(&mut stream), 200);
    let mut op = ReadAll::with_limit(300 * 1024);
    assert!(run(&mut stream, |s| op.resume(s)) == expected);
    assert!(!stream.reading_body());
    send(&mut stream, Method::GET, "/2", RequestBody::Empty);
    assert_eq!(read_head(&mut stream), 200);
    let mut op = ReadAll::with_limit(7);
    assert_eq!(run(&mut stream, |s| op.resume(s)), b"abcdefg");
    drop(stream);
    assert_eq!(peer.join(), b"");
}
