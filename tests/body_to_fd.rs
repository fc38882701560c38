//! A response body written to a file descriptor (`op::CopyBody`, `BodyReader::copy_to`):
//! through splice(2) on Linux in clear text, through the copy loop under TLS and when asked
//! (`without_splice`). Every body is compared byte for byte with what the server sent.
//!
//! The clear-text server here is scripted with raw bytes: it reads one request head per
//! response, writes the response in the pieces given (so some body bytes arrive with the
//! head and are buffered by the core, and framing falls between reads), then closes or
//! waits for the client to close. The TLS tests (`--features testing`) use the embedded
//! server with the test PKI:
//!
//! ```text
//! cargo test --test body_to_fd
//! cargo test --features testing --test body_to_fd
//! ```

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use http::HeaderMap;
use pollhttp::client::{Body, Client, Connection};
use pollhttp::op::CopyBody;
use pollhttp::{Error, Progress};

/// How long any one wait may last: a hang (a low-water mark above what comes, say) fails
/// the test instead of stalling it.
const WAIT: Duration = Duration::from_secs(10);

/// `n` bytes, byte i being `i % 251`: no period that lines up with reads or chunks.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// What the scripted server does after the pieces of a response.
#[derive(Clone, Copy, PartialEq)]
enum Then {
    /// Reads the next request head (keep-alive).
    Next,
    /// Closes the connection.
    Close,
}

/// One response: its pieces, written with a short pause between them, then `Then`.
struct Scripted {
    pieces: Vec<Vec<u8>>,
    then: Then,
}

/// A server for one connection that answers each request with the next script.
fn serve(scripts: Vec<Scripted>) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        socket.set_read_timeout(Some(WAIT)).unwrap();
        socket.set_write_timeout(Some(WAIT)).unwrap();
        for script in scripts {
            read_head(&mut socket);
            for (i, piece) in script.pieces.iter().enumerate() {
                if i > 0 {
                    thread::sleep(Duration::from_millis(5));
                }
                if socket.write_all(piece).is_err() {
                    return;
                }
            }
            if script.then == Then::Close {
                let _ = socket.shutdown(Shutdown::Both);
                return;
            }
        }
        // Until the client closes.
        let _ = socket.read(&mut [0; 64]);
    });
    (address, handle)
}

fn read_head(socket: &mut TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(socket.read(&mut byte).unwrap(), 1, "the client closed");
        head.push(byte[0]);
    }
}

/// A head with a body of `body` bytes and its first `with_head` bytes in the same write,
/// then the rest in pieces of `piece` bytes.
fn length_response(body: &[u8], with_head: usize, piece: usize) -> Vec<Vec<u8>> {
    let mut first =
        format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len()).into_bytes();
    first.extend_from_slice(&body[..with_head]);
    let mut pieces = vec![first];
    pieces.extend(body[with_head..].chunks(piece).map(<[u8]>::to_vec));
    pieces
}

/// `body` in chunks of the given sizes (cycled), with a trailer, cut into pieces of
/// `piece` bytes wherever they fall.
fn chunked_response(body: &[u8], sizes: &[usize], piece: usize) -> Vec<Vec<u8>> {
    let mut wire = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    let mut at = 0;
    for size in sizes.iter().cycle() {
        if at == body.len() {
            break;
        }
        let n = (*size).min(body.len() - at);
        wire.extend_from_slice(format!("{n:x};ext=1\r\n").as_bytes());
        wire.extend_from_slice(&body[at..at + n]);
        wire.extend_from_slice(b"\r\n");
        at += n;
    }
    wire.extend_from_slice(b"0\r\nx-sum: yes\r\n\r\n");
    wire.chunks(piece).map(<[u8]>::to_vec).collect()
}

fn connect(address: SocketAddr) -> Connection {
    let mut conn = Client::new(address).without_pool().connect().unwrap();
    conn.set_timeout(Some(WAIT));
    conn
}

/// A fresh file path under the temporary directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self(std::env::temp_dir().join(format!(
            "pollhttp-body-to-fd-{}-{tag}-{n}",
            std::process::id()
        )))
    }

    fn contents(&self) -> Vec<u8> {
        fs::read(&self.0).unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// GET `/` and copy the body to a new file, with `CopyBody` (splice unless `copy_only`)
/// driven by the blocking loop; returns the result, the file's contents, and the
/// connection for what follows.
fn get_to_file(conn: &mut Connection, copy_only: bool) -> (Result<u64, Error>, Vec<u8>) {
    let file = TempFile::new("get");
    let out = File::create(&file.0).unwrap();
    conn.send_request(http::Method::GET, "/", HeaderMap::new(), Body::empty())
        .unwrap();
    let head = conn.read_response().unwrap();
    assert_eq!(head.status, 200);
    let mut op = CopyBody::new(&out);
    if copy_only {
        op = op.without_splice();
    }
    let timeout = conn.timeout();
    let stream = conn.stream_mut();
    let result = pollhttp::blocking::run(timeout, || op.resume(stream));
    if let Ok(n) = &result {
        assert_eq!(*n, op.written());
    }
    drop(out);
    (result, file.contents())
}

#[test]
fn content_length_body_to_a_file_then_the_next_response() {
    let body = pattern(3 * 1024 * 1024 + 17);
    for copy_only in [false, true] {
        let (address, server) = serve(vec![
            Scripted {
                pieces: length_response(&body, 1000, 200 * 1024 + 3),
                then: Then::Next,
            },
            // A short response after the long one: a raised low-water mark would hang it.
            Scripted {
                pieces: vec![b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec()],
                then: Then::Next,
            },
        ]);
        let mut conn = connect(address);
        let (result, written) = get_to_file(&mut conn, copy_only);
        assert_eq!(result.unwrap(), body.len() as u64, "copy_only={copy_only}");
        assert!(written == body, "copy_only={copy_only}: the file differs");
        let mut response = conn.get("/", HeaderMap::new()).unwrap();
        assert_eq!(response.body.read_all().unwrap(), b"ok");
        drop(conn);
        server.join().unwrap();
    }
}

#[test]
fn chunked_body_to_a_file_with_trailers_then_the_next_response() {
    let body = pattern(2 * 1024 * 1024 + 5);
    for copy_only in [false, true] {
        let (address, server) = serve(vec![
            Scripted {
                // Chunks large and small, pieces that split sizes, data and CRLFs.
                pieces: chunked_response(&body, &[1, 300 * 1024, 7, 64 * 1024, 1000], 77_777),
                then: Then::Next,
            },
            Scripted {
                pieces: vec![b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec()],
                then: Then::Next,
            },
        ]);
        let mut conn = connect(address);
        let (result, written) = get_to_file(&mut conn, copy_only);
        assert_eq!(result.unwrap(), body.len() as u64, "copy_only={copy_only}");
        assert!(written == body, "copy_only={copy_only}: the file differs");
        assert_eq!(conn.trailers().get("x-sum").unwrap(), "yes");
        let mut response = conn.get("/", HeaderMap::new()).unwrap();
        assert_eq!(response.body.read_all().unwrap(), b"ok");
        drop(conn);
        server.join().unwrap();
    }
}

#[test]
fn until_close_body_to_a_file() {
    let body = pattern(2 * 1024 * 1024 + 11);
    for copy_only in [false, true] {
        let mut pieces = vec![b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".to_vec()];
        pieces.extend(body.chunks(150_001).map(<[u8]>::to_vec));
        let (address, server) = serve(vec![Scripted {
            pieces,
            then: Then::Close,
        }]);
        let mut conn = connect(address);
        let (result, written) = get_to_file(&mut conn, copy_only);
        assert_eq!(result.unwrap(), body.len() as u64, "copy_only={copy_only}");
        assert!(written == body, "copy_only={copy_only}: the file differs");
        assert!(!conn.is_reusable());
        server.join().unwrap();
    }
}

#[test]
fn a_body_cut_short_is_an_error_not_a_short_success() {
    let body = pattern(2 * 1024 * 1024);
    let cut: usize = 1024 * 1024 + 3;
    for copy_only in [false, true] {
        for chunked in [false, true] {
            let mut pieces = if chunked {
                chunked_response(&body, &[512 * 1024], 100_000)
            } else {
                length_response(&body, 10, 100_000)
            };
            // Keep only the first `cut` bytes on the wire (head included).
            let mut kept = 0;
            pieces.retain_mut(|piece| {
                let room = cut.saturating_sub(kept);
                piece.truncate(room);
                kept += piece.len();
                !piece.is_empty()
            });
            let (address, server) = serve(vec![Scripted {
                pieces,
                then: Then::Close,
            }]);
            let mut conn = connect(address);
            let (result, written) = get_to_file(&mut conn, copy_only);
            let what = format!("copy_only={copy_only} chunked={chunked}");
            match result {
                Err(Error::ConnectionClosed { .. }) => {}
                other => panic!("{what}: {other:?}"),
            }
            // What arrived was written, and nothing else.
            assert!(!written.is_empty() && written.len() < cut, "{what}");
            assert!(body.starts_with(&written), "{what}: the file differs");
            server.join().unwrap();
        }
    }
}

#[test]
fn copy_to_through_the_blocking_api() {
    let body = pattern(1024 * 1024 + 1);
    let (address, server) = serve(vec![Scripted {
        pieces: length_response(&body, 0, 1 << 20),
        then: Then::Next,
    }]);
    let mut conn = connect(address);
    let file = TempFile::new("copy-to");
    let mut out = File::create(&file.0).unwrap();
    let mut response = conn.get("/", HeaderMap::new()).unwrap();
    assert_eq!(response.body.copy_to(&mut out).unwrap(), body.len() as u64);
    // Nothing more to copy.
    assert_eq!(response.body.copy_to(&mut out).unwrap(), 0);
    drop(out);
    assert!(file.contents() == body);
    drop(conn);
    server.join().unwrap();
}

/// A non-blocking pipe that fills up: the operation is `Pending` on the pipe's write end,
/// for writable; reading the pipe lets it go on, and every byte comes out in order.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
fn a_full_non_blocking_pipe_makes_the_copy_wait_for_it() {
    use pollhttp::Interest;
    use rustix::pipe::{pipe_with, PipeFlags};
    use std::os::fd::AsRawFd;

    let body = pattern(3 * 1024 * 1024 + 7);
    for copy_only in [false, true] {
        let (address, server) = serve(vec![Scripted {
            pieces: length_response(&body, 5000, 256 * 1024),
            then: Then::Next,
        }]);
        let mut conn = connect(address);
        let response = conn.get("/", HeaderMap::new()).unwrap();
        assert_eq!(response.body.content_length(), Some(body.len() as u64));
        drop(response);
        let (read_end, write_end) = pipe_with(PipeFlags::NONBLOCK | PipeFlags::CLOEXEC).unwrap();
        let mut read_end = File::from(read_end);
        let mut op = CopyBody::new(&write_end);
        if copy_only {
            op = op.without_splice();
        }
        let stream = conn.stream_mut();
        let (mut got, mut full) = (Vec::new(), 0);
        let n = loop {
            match op.resume(stream).unwrap() {
                Progress::Ready(n) => break n,
                Progress::Pending(need) if need.fd == write_end.as_raw_fd() => {
                    assert_eq!(need.interest, Interest::WRITABLE);
                    full += 1;
                    // Empty the pipe, as a slow reader would, now and then.
                    let mut buf = vec![0; 1 << 20];
                    loop {
                        match read_end.read(&mut buf) {
                            Ok(0) => unreachable!("the write end is open"),
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
                Progress::Pending(need) => {
                    assert_eq!(need.fd, stream.as_raw_fd());
                    assert!(need.wait(Some(WAIT)).unwrap(), "nothing from the server");
                }
            }
        };
        drop(op);
        drop(write_end);
        read_end.read_to_end(&mut got).unwrap();
        assert_eq!(n, body.len() as u64);
        assert!(full > 0, "copy_only={copy_only}: the pipe never filled up");
        assert!(got == body, "copy_only={copy_only}: the bytes differ");
        drop(conn);
        server.join().unwrap();
    }
}

/// The copy loop moves at most its buffer's size at a time (`with_buffer_size`): each
/// write to a datagram socket is one datagram, so their sizes show it. Whatever the size,
/// down to one byte, the bytes are the body's, for each framing.
#[test]
fn the_copy_loop_writes_at_most_its_buffer_size() {
    use std::os::unix::net::UnixDatagram;

    let body = pattern(150 * 1024 + 9);
    let mut until_close = vec![b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".to_vec()];
    until_close.extend(body.chunks(30_001).map(<[u8]>::to_vec));
    let responses = [
        ("content-length", length_response(&body, 1000, 30_001)),
        ("chunked", chunked_response(&body, &[1, 50_000, 7], 30_001)),
        ("until close", until_close),
    ];
    for size in [1, 7, 4096, 100_000] {
        for (framing, pieces) in &responses {
            let (address, server) = serve(vec![Scripted {
                pieces: pieces.clone(),
                then: Then::Close,
            }]);
            let (sender, receiver) = UnixDatagram::pair().unwrap();
            // Datagrams until an empty one, which the copy never writes.
            let collector = thread::spawn(move || {
                let (mut got, mut largest, mut buf) = (Vec::new(), 0, vec![0; 1 << 20]);
                loop {
                    let n = receiver.recv(&mut buf).unwrap();
                    if n == 0 {
                        return (got, largest);
                    }
                    largest = largest.max(n);
                    got.extend_from_slice(&buf[..n]);
                }
            });
            let mut conn = connect(address);
            drop(conn.get("/", HeaderMap::new()).unwrap());
            let mut op = CopyBody::new(&sender)
                .without_splice()
                .with_buffer_size(size);
            let timeout = conn.timeout();
            let stream = conn.stream_mut();
            let n = pollhttp::blocking::run(timeout, || op.resume(stream)).unwrap();
            sender.send(&[]).unwrap();
            let (got, largest) = collector.join().unwrap();
            assert_eq!(n, body.len() as u64, "{framing}, {size}");
            assert!(got == body, "{framing}, {size}: the bytes differ");
            assert!(
                largest <= size,
                "{framing}: a write of {largest} with a buffer of {size}"
            );
            drop(conn);
            server.join().unwrap();
        }
    }
}

/// A destination that fails (a pipe whose reader left, as `get URL | head -c 10`) is this
/// side's error, an I/O error saying so, never the peer closing the connection: the
/// server did nothing wrong. (It was `ConnectionClosed`, "connection interrupted".)
#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
fn a_destination_that_fails_is_not_the_peer_closing() {
    use rustix::pipe::{pipe_with, PipeFlags};

    let body = pattern(256 * 1024);
    for copy_only in [false, true] {
        let (address, server) = serve(vec![Scripted {
            pieces: length_response(&body, 5000, 64 * 1024),
            then: Then::Next,
        }]);
        let mut conn = connect(address);
        drop(conn.get("/", HeaderMap::new()).unwrap());
        let (read_end, write_end) = pipe_with(PipeFlags::CLOEXEC).unwrap();
        drop(read_end);
        let mut op = CopyBody::new(&write_end);
        if copy_only {
            op = op.without_splice();
        }
        let stream = conn.stream_mut();
        let e = loop {
            match op.resume(stream) {
                Ok(Progress::Ready(n)) => panic!("copy_only={copy_only}: copied {n} bytes"),
                Ok(Progress::Pending(need)) => {
                    assert!(need.wait(Some(WAIT)).unwrap(), "nothing from the server");
                }
                Err(e) => break e,
            }
        };
        match &e {
            Error::Io(io) => assert_eq!(io.kind(), std::io::ErrorKind::BrokenPipe, "{e}"),
            other => panic!("copy_only={copy_only}: {other:?}"),
        }
        assert!(e.to_string().contains("writing the response body"), "{e}");
        drop(op);
        drop(conn);
        server.join().unwrap();
    }
}

/// Over TLS the records must be decrypted: the copy loop, the same bytes.
#[cfg(feature = "testing")]
mod tls {
    use super::*;
    use http::StatusCode;
    use pollhttp::server::Response;
    use pollhttp::testing::{TempServer, TestPki};

    #[test]
    fn content_length_and_chunked_bodies_over_tls_to_a_file() {
        let pki = TestPki::new();
        let server = TempServer::tls(pki.server_tls(), pki.client_tls(), |_, request| {
            let body = pattern(3 * 1024 * 1024 + 9);
            match request.path() {
                "/length" => Response::new(StatusCode::OK, body),
                "/chunked" => Response::new(
                    StatusCode::OK,
                    Body::chunked_reader(std::io::Cursor::new(body)),
                ),
                _ => Response::text(StatusCode::NOT_FOUND, "no"),
            }
        })
        .unwrap();
        let mut conn = server.client().connect().unwrap();
        conn.set_timeout(Some(WAIT));
        for path in ["/length", "/chunked", "/length"] {
            let file = TempFile::new("tls");
            let mut out = File::create(&file.0).unwrap();
            let mut response = conn.get(path, HeaderMap::new()).unwrap();
            assert_eq!(response.status, 200);
            let n = response.body.copy_to(&mut out).unwrap();
            drop(out);
            let body = pattern(3 * 1024 * 1024 + 9);
            assert_eq!(n, body.len() as u64, "{path}");
            assert!(file.contents() == body, "{path}: the file differs");
        }
        assert!(conn.tls_info().is_some());
    }

    /// Over TLS the copy loop meets a body cut short as splice does: an error, and the
    /// file holds what came, nothing else.
    #[test]
    fn a_body_cut_short_over_tls_is_an_error() {
        let pki = TestPki::new();
        let sent = 1024 * 1024 + 5;
        let server = TempServer::tls(pki.server_tls(), pki.client_tls(), move |_, _| {
            // Announces 3 MiB, has 1 MiB: the server closes the connection after it.
            let short = std::io::Cursor::new(pattern(sent));
            Response::new(StatusCode::OK, Body::reader(short, 3 * 1024 * 1024))
        })
        .unwrap();
        let mut conn = server.client().connect().unwrap();
        conn.set_timeout(Some(WAIT));
        let file = TempFile::new("tls-short");
        let mut out = File::create(&file.0).unwrap();
        let mut response = conn.get("/short", HeaderMap::new()).unwrap();
        assert_eq!(response.status, 200);
        match response.body.copy_to(&mut out) {
            Err(e) => {
                assert!(
                    matches!(e, Error::ConnectionClosed { .. }),
                    "not a connection closed: {e:?}"
                );
            }
            Ok(n) => panic!("a body cut short copied as complete: {n} bytes"),
        }
        drop(out);
        let written = file.contents();
        assert!(
            !written.is_empty() && written.len() <= sent,
            "{}",
            written.len()
        );
        assert!(pattern(sent).starts_with(&written), "the file differs");
    }
}
