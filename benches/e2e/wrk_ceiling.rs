//! The ceiling of the wrk comparisons in BENCHMARKS.md: a server that does no HTTP work.
//!
//! It answers every end of a head (`\r\n\r\n`) it reads with the bytes `serve` sends for `/`
//! (with a fixed `date`), on one thread. Whatever wrk measures against it is what wrk, the
//! kernel and the machine allow; no server answering real requests can do better.
//!
//! ```text
//! cargo build --release --example wrk_ceiling
//! target/release/examples/wrk_ceiling PORT [--spin N]
//! ```
//!
//! `--spin N` polls up to N more times without waiting before the thread sleeps. A sleeping
//! thread is woken by the kernel when data comes, which on a virtual machine is slow; the
//! spin shows how much of a measurement that wake-up is.

use std::io::{self, Read, Write};
use std::time::Duration;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\n\
content-length: 13\r\ndate: Sun, 06 Dec 2026 09:00:00 GMT\r\n\r\nHello, world!";
const LISTENER: Token = Token(usize::MAX);

/// One client: its socket, how much of `\r\n\r\n` ends what it sent so far, and the answers
/// it has not taken yet.
struct Client {
    stream: TcpStream,
    matched: u8,
    unsent: Vec<u8>,
}

impl Client {
    /// Reads what has come, queues an answer per head and writes what the socket takes.
    /// `Ok(false)` when the client has closed.
    fn serve(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        loop {
            let n = match self.stream.read(buf) {
                Ok(0) => return Ok(false),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            };
            for &byte in &buf[..n] {
                self.matched = match (self.matched, byte) {
                    (3, b'\n') => {
                        self.unsent.extend_from_slice(RESPONSE);
                        0
                    }
                    (0 | 2, b'\r') | (1, b'\n') => self.matched + 1,
                    (_, b'\r') => 1,
                    _ => 0,
                };
            }
            // A short read drained the socket: skip the read that would say so.
            if n < buf.len() {
                break;
            }
        }
        self.flush()?;
        Ok(true)
    }

    fn flush(&mut self) -> io::Result<()> {
        while !self.unsent.is_empty() {
            match self.stream.write(&self.unsent) {
                Ok(n) => drop(self.unsent.drain(..n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (port, spin) = match args.as_slice() {
        [port] => (port, "0"),
        [port, flag, n] if flag == "--spin" => (port, n.as_str()),
        _ => {
            eprintln!("usage: wrk_ceiling PORT [--spin N]");
            std::process::exit(2);
        }
    };
    let (Ok(port), Ok(spin)) = (port.parse::<u16>(), spin.parse::<u32>()) else {
        eprintln!("wrk_ceiling: PORT and N are numbers");
        std::process::exit(2);
    };
    let mut poll = Poll::new()?;
    let mut listener = TcpListener::bind(([127, 0, 0, 1], port).into())?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut clients: Vec<Option<Client>> = Vec::new();
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0; 64 * 1024];
    loop {
        let mut spins = 0;
        loop {
            let timeout = (spins < spin).then_some(Duration::ZERO);
            poll.poll(&mut events, timeout)?;
            if !events.is_empty() || spins >= spin {
                break;
            }
            spins += 1;
        }
        for event in &events {
            if event.token() == LISTENER {
                while let Ok((mut stream, _)) = listener.accept() {
                    stream.set_nodelay(true)?;
                    let token = Token(clients.len());
                    poll.registry().register(
                        &mut stream,
                        token,
                        Interest::READABLE | Interest::WRITABLE,
                    )?;
                    clients.push(Some(Client {
                        stream,
                        matched: 0,
                        unsent: Vec::new(),
                    }));
                }
                continue;
            }
            let slot = &mut clients[event.token().0];
            let open = match slot.as_mut() {
                Some(client) => client.serve(&mut buf).unwrap_or(false),
                None => continue,
            };
            if !open {
                *slot = None;
            }
        }
    }
}
