//! Benchmarks of the sans-IO core: head parsing against raw httparse, head serialization,
//! chunked decoding, and byte-at-a-time head feeding (which must stay linear).
//!
//! ```text
//! cargo bench --bench proto                 # everything
//! cargo bench --bench proto -- request_head # one group
//! ```
//!
//! Results and the machine they were taken on: BENCHMARKS.md.

// criterion_group! generates an undocumented pub fn.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{
    black_box, criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use pollhttp::proto::{BodyLength, ClientConn, Event, Limits, ServerConn};

/// httparse's own benchmark request (`benches/parse.rs`, `REQ`), 720 bytes.
const REQ: &[u8] = b"\
GET /wp-content/uploads/2010/03/hello-kitty-darth-vader-pink.jpg HTTP/1.1\r\n\
Host: www.kittyhell.com\r\n\
User-Agent: Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10.6; ja-JP-mac; rv:1.9.2.3) Gecko/20100401 Firefox/3.6.3 Pathtraq/0.9\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: ja,en-us;q=0.7,en;q=0.3\r\n\
Accept-Encoding: gzip,deflate\r\n\
Accept-Charset: Shift_JIS,utf-8;q=0.7,*;q=0.7\r\n\
Keep-Alive: 115\r\n\
Connection: keep-alive\r\n\
Cookie: wp_ozh_wsa_visits=2; wp_ozh_wsa_visit_lasttime=xxxxxxxxxx; __utma=xxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.x; __utmz=xxxxxxxxx.xxxxxxxxxx.x.x.utmccn=(referral)|utmcsr=reader.livedoor.com|utmcct=/reader/|utmcmd=referral|padding=under256\r\n\r\n";

/// A typical response head (315 bytes).
const RESP: &[u8] = b"\
HTTP/1.1 200 OK\r\n\
Date: Wed, 21 Oct 2015 07:28:00 GMT\r\n\
Server: nginx/1.24.0\r\n\
Content-Type: text/html; charset=utf-8\r\n\
Content-Length: 5120\r\n\
Cache-Control: public, max-age=3600\r\n\
ETag: \"5f8a1b2c-1400\"\r\n\
Last-Modified: Tue, 20 Oct 2015 12:00:00 GMT\r\n\
Vary: Accept-Encoding\r\n\
Accept-Ranges: bytes\r\n\
Connection: keep-alive\r\n\r\n";

fn request_head(c: &mut Criterion) {
    assert_eq!(REQ.len(), 720);
    let mut g = c.benchmark_group("request_head");
    g.throughput(Throughput::Bytes(REQ.len() as u64));
    g.bench_function("httparse_raw", |b| {
        b.iter_batched_ref(
            || [httparse::EMPTY_HEADER; 16],
            |headers| {
                let mut req = httparse::Request::new(headers);
                let status = req.parse(black_box(REQ)).unwrap();
                assert_eq!(status, httparse::Status::Complete(REQ.len()));
                black_box(req.headers.len());
            },
            BatchSize::SmallInput,
        )
    });
    // A fresh ServerConn per iteration, made outside the timing (`ServerConn::new` does not
    // allocate); timed: receive + next_event (Request) + next_event (End), and dropping
    // the head. The connection (and its receive buffer) is dropped outside the timing.
    g.bench_function("pollhttp", |b| {
        b.iter_batched_ref(
            ServerConn::new,
            |conn| {
                conn.receive(black_box(REQ)).unwrap();
                match conn.next_event() {
                    Ok(Event::Request(head)) => {
                        assert_eq!(head.headers().len(), 9);
                        black_box(head);
                    }
                    other => panic!("{other:?}"),
                }
                assert!(matches!(conn.next_event(), Ok(Event::End(_))));
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn get_request_conn() -> ClientConn {
    let mut conn = ClientConn::new();
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("example.com"));
    let mut out = Vec::new();
    conn.send_request(&Method::GET, "/", &headers, BodyLength::None, &mut out)
        .unwrap();
    conn
}

fn response_head(c: &mut Criterion) {
    let mut g = c.benchmark_group("response_head");
    g.throughput(Throughput::Bytes(RESP.len() as u64));
    g.bench_function("httparse_raw", |b| {
        b.iter_batched_ref(
            || [httparse::EMPTY_HEADER; 16],
            |headers| {
                let mut resp = httparse::Response::new(headers);
                let status = resp.parse(black_box(RESP)).unwrap();
                assert_eq!(status, httparse::Status::Complete(RESP.len()));
                black_box(resp.headers.len());
            },
            BatchSize::SmallInput,
        )
    });
    // A fresh ClientConn with one GET queued, made outside the timing; timed: receive +
    // next_event up to the Response event (the 5120-byte body is not part of it), and
    // dropping the head.
    g.bench_function("pollhttp", |b| {
        b.iter_batched_ref(
            get_request_conn,
            |conn| {
                conn.receive(black_box(RESP)).unwrap();
                match conn.next_event() {
                    Ok(Event::Response(head)) => {
                        assert_eq!(head.headers().len(), 10);
                        black_box(head);
                    }
                    other => panic!("{other:?}"),
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn serialize(c: &mut Criterion) {
    let mut g = c.benchmark_group("serialize");

    let mut req_headers = HeaderMap::new();
    for (name, value) in [
        ("host", "www.kittyhell.com"),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0",
        ),
        (
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        ),
        ("accept-language", "ja,en-us;q=0.7,en;q=0.3"),
        ("accept-encoding", "gzip, deflate"),
        ("cookie", "session=0123456789abcdef; theme=dark"),
    ] {
        req_headers.insert(name, HeaderValue::from_static(value));
    }
    let mut out = Vec::with_capacity(4096);
    serialize_request_once(&req_headers, &mut out);
    g.throughput(Throughput::Bytes(out.len() as u64));
    // A fresh ClientConn per iteration, made outside the timing (its queue of sent
    // requests would otherwise grow); timed: send_request into a reused Vec.
    g.bench_function("request_head", |b| {
        b.iter_batched_ref(
            ClientConn::new,
            |conn| {
                out.clear();
                let framing = conn
                    .send_request(
                        &Method::GET,
                        black_box("/wp-content/uploads/2010/03/hello-kitty-darth-vader-pink.jpg"),
                        &req_headers,
                        BodyLength::None,
                        &mut out,
                    )
                    .unwrap();
                black_box((framing, out.len()));
            },
            BatchSize::SmallInput,
        )
    });

    let mut resp_headers = HeaderMap::new();
    for (name, value) in [
        ("date", "Wed, 21 Oct 2015 07:28:00 GMT"),
        ("server", "pollhttp"),
        ("content-type", "text/html; charset=utf-8"),
        ("cache-control", "public, max-age=3600"),
        ("etag", "\"5f8a1b2c-1400\""),
        ("last-modified", "Tue, 20 Oct 2015 12:00:00 GMT"),
        ("vary", "Accept-Encoding"),
    ] {
        resp_headers.insert(name, HeaderValue::from_static(value));
    }
    let mut answering = answering_conn();
    out.clear();
    answering
        .send_response(
            StatusCode::OK,
            None,
            &resp_headers,
            BodyLength::Known(5120),
            &mut out,
        )
        .unwrap();
    g.throughput(Throughput::Bytes(out.len() as u64));
    // A ServerConn that has received a GET, made outside the timing; timed: send_response
    // (status line, the caller's fields, content-length) into a reused Vec.
    g.bench_function("response_head", |b| {
        b.iter_batched_ref(
            answering_conn,
            |conn| {
                out.clear();
                let framing = conn
                    .send_response(
                        StatusCode::OK,
                        None,
                        &resp_headers,
                        black_box(BodyLength::Known(5120)),
                        &mut out,
                    )
                    .unwrap();
                black_box((framing, out.len()));
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn serialize_request_once(headers: &HeaderMap, out: &mut Vec<u8>) {
    ClientConn::new()
        .send_request(
            &Method::GET,
            "/wp-content/uploads/2010/03/hello-kitty-darth-vader-pink.jpg",
            headers,
            BodyLength::None,
            out,
        )
        .unwrap();
}

/// A server connection with a complete GET waiting for its response.
fn answering_conn() -> ServerConn {
    let mut conn = ServerConn::new();
    conn.receive(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
        .unwrap();
    assert!(matches!(conn.next_event(), Ok(Event::Request(_))));
    assert!(matches!(conn.next_event(), Ok(Event::End(_))));
    conn
}

const BODY: usize = 1024 * 1024;
/// Bytes handed to `receive` at a time, as from one socket read.
const READ: usize = 64 * 1024;

/// The chunked encoding of a 1 MiB body in chunks of `chunk` bytes, with the last chunk.
fn chunked_body(chunk: usize) -> Vec<u8> {
    let mut wire = Vec::with_capacity(BODY + BODY / chunk * 16 + 16);
    let data: Vec<u8> = (0..chunk).map(|i| b'a' + (i % 26) as u8).collect();
    for _ in 0..BODY / chunk {
        wire.extend_from_slice(format!("{chunk:x}\r\n").as_bytes());
        wire.extend_from_slice(&data);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    wire
}

/// A server connection that has parsed the head of a chunked POST.
fn chunked_conn() -> ServerConn {
    let mut conn = ServerConn::new();
    conn.receive(
        b"POST /upload HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n",
    )
    .unwrap();
    assert!(matches!(conn.next_event(), Ok(Event::Request(_))));
    conn
}

fn chunked(c: &mut Criterion) {
    let mut g = c.benchmark_group("chunked");
    g.throughput(Throughput::Bytes(BODY as u64));
    for (label, chunk) in [("16KiB", 16 * 1024), ("1KiB", 1024)] {
        let wire = chunked_body(chunk);
        // A ServerConn past the request head, made outside the timing; timed: the whole
        // chunked body handed over in 64 KiB reads, each drained with next_event (Data
        // events) until NeedData, then the End event.
        g.bench_with_input(BenchmarkId::new("decode", label), &wire, |b, wire| {
            b.iter_batched_ref(
                chunked_conn,
                |conn| {
                    let mut got = 0;
                    let mut ended = false;
                    for read in wire.chunks(READ) {
                        conn.receive(read).unwrap();
                        loop {
                            match conn.next_event().unwrap() {
                                Event::Data(d) => got += black_box(d).len(),
                                Event::NeedData => break,
                                Event::End(_) => {
                                    ended = true;
                                    break;
                                }
                                other => panic!("{other:?}"),
                            }
                        }
                    }
                    assert!(ended);
                    assert_eq!(got, BODY);
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

/// A request head of about `size` bytes: a request line, Host, and as many 100-byte
/// fields as fit.
fn big_head(size: usize) -> Vec<u8> {
    let mut head = b"GET /big HTTP/1.1\r\nHost: example.com\r\n".to_vec();
    let mut i = 0;
    while head.len() + 100 + 2 <= size {
        let line = format!("x-field-{i:05}: {}\r\n", "v".repeat(100 - 17 - 2));
        debug_assert_eq!(line.len(), 100);
        head.extend_from_slice(line.as_bytes());
        i += 1;
    }
    head.extend_from_slice(b"\r\n");
    head
}

fn head_bytewise(c: &mut Criterion) {
    let mut g = c.benchmark_group("head_bytewise");
    let limits = Limits::server().max_head(128 * 1024).max_headers(1000);
    for (label, size) in [("30k", 30 * 1024), ("60k", 60 * 1024)] {
        let head = big_head(size);
        g.throughput(Throughput::Bytes(head.len() as u64));
        // A fresh ServerConn per iteration, made outside the timing; timed: `receive` of
        // one byte and `next_event` (NeedData) for every byte, then the Request and End
        // events.
        g.bench_with_input(BenchmarkId::from_parameter(label), &head, |b, head| {
            b.iter_batched_ref(
                || ServerConn::with_limits(limits),
                |conn| {
                    let (last, rest) = head.split_last().unwrap();
                    for byte in rest.chunks(1) {
                        conn.receive(byte).unwrap();
                        assert!(matches!(conn.next_event(), Ok(Event::NeedData)));
                    }
                    conn.receive(&[*last]).unwrap();
                    match conn.next_event() {
                        Ok(Event::Request(req)) => {
                            black_box(req);
                        }
                        other => panic!("{other:?}"),
                    }
                    assert!(matches!(conn.next_event(), Ok(Event::End(_))));
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = request_head, response_head, serialize, chunked, head_bytewise
}
criterion_main!(benches);
