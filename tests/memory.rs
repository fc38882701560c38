//! What an idle client connection holds in memory: its heap, counted by an allocator that
//! tracks the bytes each thread has live, plus the `Connection` value itself.
//!
//! Run with `--nocapture` to see the figures (BENCHMARKS.md reports them).

// A counting global allocator must implement the unsafe GlobalAlloc trait.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread;

use http::{HeaderMap, Method};
use pollhttp::client::{Body, Client, Connection};

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

// Counts, then defers to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.with(|l| l.set(l.get() + layout.size() as isize));
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.with(|l| l.set(l.get() - layout.size() as isize));
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn live() -> isize {
    LIVE.with(Cell::get)
}

/// A server that answers every request with `size` bytes.
fn server(size: usize) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let conn = conn.unwrap();
            thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut writer = conn;
                let body = vec![b'x'; size];
                loop {
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {size}\r\n\r\n");
                    if writer.write_all(head.as_bytes()).is_err()
                        || writer.write_all(&body).is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// Bytes of heap the connection holds after `exchanges` request/response cycles.
fn idle_heap(addr: std::net::SocketAddr, exchanges: usize, pipelined: bool) -> (isize, Connection) {
    let client = Client::new(addr);
    let before = live();
    let mut conn = client.connect().unwrap();
    if pipelined {
        for _ in 0..exchanges {
            conn.send_request(Method::GET, "/", HeaderMap::new(), Body::empty())
                .unwrap();
        }
        for _ in 0..exchanges {
            conn.read_response().unwrap();
            conn.discard().unwrap();
        }
    } else {
        for _ in 0..exchanges {
            let mut response = conn.get("/", HeaderMap::new()).unwrap();
            response.body.discard().unwrap();
        }
    }
    (live() - before, conn)
}

#[test]
fn an_idle_connection_holds_no_buffers() {
    // Qualified: the prelude has it only since Rust 1.80, and rust-version is 1.75.
    #[allow(unused_qualifications)]
    let size_of = std::mem::size_of::<Connection>();
    for (body, exchanges, pipelined) in [(10, 1, false), (100_000, 10, false), (1000, 500, true)] {
        let addr = server(body);
        let (heap, conn) = idle_heap(addr, exchanges, pipelined);
        println!(
            "idle Connection after {exchanges} {} exchange(s) of {body}-byte bodies: \
             {heap} bytes of heap + {size_of} bytes inline",
            if pipelined { "pipelined" } else { "sequential" }
        );
        // The base headers (a HeaderMap with the host) and the heads' bookkeeping: no
        // receive or send buffer survives the exchanges.
        assert!(heap < 1024, "{heap} bytes held by an idle connection");
        assert!(!conn.response_pending());
    }
}
