//! What the embedded server holds in memory for a client slower than its response: the
//! heap of the whole process, counted by an allocator, while many such clients each
//! take a long body a little at a time (above the minimum rate, so none is cut off). About
//! one 64 KiB piece each: the one queued for it (the kernel holds more, in its socket
//! buffers). It was that and the reader's 64 KiB buffer, kept idle.
//!
//! Run with `--nocapture` to see the figures.

// A counting global allocator must implement the unsafe GlobalAlloc trait.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use http::StatusCode;
use pollhttp::io::Address;
use pollhttp::server::{Body, Response, Server};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// Counts, then defers to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

const BODY: u64 = 1 << 30;

/// A long body in memory that is not on the heap, so that the count is the server's own.
static IN_MEMORY: [u8; 4 << 20] = [0; 4 << 20];

/// A client that asks for a long body, then takes a few bytes every half second.
fn slow_reader(addr: SocketAddr, target: &str) -> TcpStream {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("a socket");
    // A small receive window, as a slow client over a thin link would have.
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    socket.connect(&addr.into()).expect("connect");
    let mut stream: TcpStream = socket.into();
    stream
        .write_all(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .expect("send");
    stream.set_nonblocking(true).expect("non-blocking");
    stream
}

/// Takes a few bytes from each client; marks in `heard` those that have had some.
fn nibble(clients: &mut [TcpStream], heard: &mut [bool]) {
    let mut buf = [0u8; 512];
    for (c, heard) in clients.iter_mut().zip(heard) {
        if let Ok(n) = c.read(&mut buf) {
            *heard |= n > 0;
        }
    }
}

#[test]
fn a_slow_reader_holds_about_one_piece_of_the_servers_memory() {
    let server = Server::bind(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        |_, request| match request.path() {
            "/reader" => Response::new(
                StatusCode::OK,
                Body::reader(io::repeat(b'x').take(BODY), BODY),
            ),
            _ => Response::new(StatusCode::OK, &IN_MEMORY[..]),
        },
    )
    .expect("bind")
    .workers(1)
    .start()
    .expect("start");
    let addr = match server.address() {
        Address::Tcp(addr) => *addr,
        other => panic!("not TCP: {other}"),
    };
    for (target, most_per_client) in [("/reader", 96 * 1024), ("/memory", 96 * 1024)] {
        const CLIENTS: usize = 200;
        // Settle: the server's own buffers and spare memory exist before counting.
        let mut warm: Vec<TcpStream> = (0..4).map(|_| slow_reader(addr, target)).collect();
        thread::sleep(Duration::from_millis(300));
        nibble(&mut warm, &mut [false; 4]);
        let before = LIVE.load(Ordering::Relaxed);
        let mut clients: Vec<TcpStream> = (0..CLIENTS).map(|_| slow_reader(addr, target)).collect();
        let mut heard = [false; CLIENTS];
        // Counted once every client has had some of its body (before, the count is low:
        // not all responses have started), at the least of several samples: while the
        // kernel's send buffers fill, a connection briefly holds the piece it reads
        // and the one queued, longer on a busy machine (up to 4 s with eight spinning
        // processes beside it). Each waiting slow client holds about one piece after.
        let start = Instant::now();
        let mut per_client = isize::MAX;
        while start.elapsed() < Duration::from_secs(20) {
            thread::sleep(Duration::from_millis(500));
            nibble(&mut clients, &mut heard);
            if heard.iter().all(|&h| h) {
                let now = (LIVE.load(Ordering::Relaxed) - before) / CLIENTS as isize;
                per_client = per_client.min(now);
                if start.elapsed() >= Duration::from_secs(2) && per_client < most_per_client {
                    break;
                }
            }
        }
        assert!(
            heard.iter().all(|&h| h),
            "{target}: {} of {CLIENTS} clients had none of their body in 20 s",
            heard.iter().filter(|&&h| !h).count()
        );
        println!("{target}: {per_client} bytes of heap per slow client");
        assert!(
            per_client < most_per_client,
            "{target}: {per_client} bytes per slow client (at most {most_per_client})"
        );
        drop(clients);
        drop(warm);
        thread::sleep(Duration::from_millis(300));
    }
    server.shutdown().expect("shut down");
}
