//! How fast the blocking client uploads 256 MiB to a loopback server that reads as fast as
//! it can, three ways: a body in memory, a reader, and `write` in 1 MiB pieces. The
//! client watches for an early response while it writes (RFC 9112 §9.5); this shows what
//! that costs.
//!
//! ```text
//! cargo run --release --example upload_speed
//! ```

use std::io::{self, Read};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use http::{HeaderMap, Method};
use pollhttp::client::{Body, Client};

/// `n` zero bytes.
struct Zeros(u64);

impl Read for Zeros {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.0 as usize);
        buf[..n].fill(0);
        self.0 -= n as u64;
        Ok(n)
    }
}

fn main() {
    const SIZE: u64 = 256 * 1024 * 1024;
    const ROUNDS: usize = 5;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        use std::io::Write;
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 1 << 20];
        let mut head = Vec::new();
        loop {
            // The head, then exactly SIZE bytes, then a 204; until the client closes.
            head.clear();
            let leftover = loop {
                let n = s.read(&mut buf).unwrap();
                if n == 0 {
                    return;
                }
                head.extend_from_slice(&buf[..n]);
                if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                    break (head.len() - i - 4) as u64;
                }
            };
            let mut got = leftover;
            while got < SIZE {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0);
                got += n as u64;
            }
            s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
        }
    });
    let client = Client::new(pollhttp::io::Address::from(address));
    let mut conn = client.connect().unwrap();
    let bytes = vec![b'u'; SIZE as usize];
    let piece = vec![b'u'; 1 << 20];
    for (kind, n) in [("bytes", 0), ("reader", 1), ("write 1 MiB", 2)] {
        let mut best = Duration::MAX;
        let mut total = Duration::ZERO;
        for _ in 0..ROUNDS {
            let started = Instant::now();
            let status = match n {
                0 => {
                    conn.put("/up", HeaderMap::new(), &bytes[..])
                        .unwrap()
                        .status
                }
                1 => {
                    conn.put("/up", HeaderMap::new(), Body::reader(Zeros(SIZE), SIZE))
                        .unwrap()
                        .status
                }
                _ => {
                    conn.send_request(Method::PUT, "/up", HeaderMap::new(), Body::following(SIZE))
                        .unwrap();
                    for _ in 0..SIZE / piece.len() as u64 {
                        conn.write(&piece).unwrap();
                    }
                    conn.read_response().unwrap().status
                }
            };
            let took = started.elapsed();
            assert_eq!(status, 204);
            best = best.min(took);
            total += took;
        }
        let mib = (SIZE >> 20) as f64;
        println!(
            "{kind}: 256 MiB best {:.1} ms ({:.0} MiB/s), mean {:.1} ms",
            best.as_secs_f64() * 1e3,
            mib / best.as_secs_f64(),
            total.as_secs_f64() * 1e3 / ROUNDS as f64
        );
    }
    drop(conn);
    drop(client);
    server.join().unwrap();
}
