//! The body read path swept over sizes, on one machine, interleaved: a GET of one URL per
//! try, on a new connection, its body to `/dev/null`, timed from the request to the end of
//! the body.
//!
//! ```text
//! cargo bench --bench body_sizes -- URL [ROUNDS] [FILE]
//! ```
//!
//! The body goes to `/dev/null`, or to FILE (created for each try and removed after it,
//! outside the timing), where the copy into the page cache counts too.
//!
//! Each round runs, in turn: `Connection::read_into` with buffers of 16 KiB to 1 MiB, each
//! piece written to the destination (what a caller's loop does), `CopyBody::without_splice`
//! with the same buffer sizes (the copy loop of `copy_to`: TLS and chunk framing take it),
//! and `CopyBody` (splice(2) on Linux). Prints GB/s per round and the medians. The splice
//! piece and the receive low-water mark were swept with `benches/e2e/splice_sweep.py` (the
//! same system calls, their sizes as arguments).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::time::Instant;

use http::HeaderMap;
use pollhttp::client::Client;
use pollhttp::op::CopyBody;
use pollhttp::pipeline::Origin;

/// The buffer sizes tried, in KiB.
const SIZES_KIB: [usize; 7] = [16, 32, 64, 128, 256, 512, 1024];

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(url) = args.first() else {
        eprintln!("usage: cargo bench --bench body_sizes -- URL [ROUNDS] [FILE]");
        return;
    };
    let rounds: usize = args.get(1).map_or(5, |r| r.parse().expect("ROUNDS"));
    let (origin, target) = Origin::parse_url(url).expect("URL");
    let client = Client::resolving(&origin.host, origin.port)
        .with_host(&origin.host_header())
        .without_pool();
    let file = args.get(2).map(std::path::PathBuf::from);
    let open_dest = || match &file {
        Some(path) => File::create(path).unwrap(),
        None => OpenOptions::new().write(true).open("/dev/null").unwrap(),
    };
    let mut ways: Vec<(String, Vec<f64>)> = Vec::new();
    for kib in SIZES_KIB {
        ways.push((format!("read_into {kib} KiB"), Vec::new()));
    }
    for kib in SIZES_KIB {
        ways.push((format!("CopyBody copy loop {kib} KiB"), Vec::new()));
    }
    ways.push(("CopyBody (splice)".into(), Vec::new()));
    for round in 1..=rounds {
        for (i, (name, rates)) in ways.iter_mut().enumerate() {
            let mut conn = client.connect().unwrap();
            let mut dest = open_dest();
            let start = Instant::now();
            let mut response = conn.get(&target, HeaderMap::new()).unwrap();
            let sizes = SIZES_KIB.len();
            let n = match i {
                i if i < sizes => {
                    let mut buf = vec![0; SIZES_KIB[i] * 1024];
                    let mut n = 0u64;
                    loop {
                        let k = response.body.read_into(&mut buf).unwrap();
                        if k == 0 {
                            break n;
                        }
                        dest.write_all(&buf[..k]).unwrap();
                        n += k as u64;
                    }
                }
                i if i < 2 * sizes => {
                    drop(response);
                    let mut op = CopyBody::new(&dest)
                        .without_splice()
                        .with_buffer_size(SIZES_KIB[i - sizes] * 1024);
                    let stream = conn.stream_mut();
                    pollhttp::blocking::run(None, || op.resume(stream)).unwrap()
                }
                _ => response.body.copy_to(&dest).unwrap(),
            };
            let rate = n as f64 / start.elapsed().as_secs_f64() / 1e9;
            if let Some(path) = &file {
                // Freeing a written gigabyte costs whoever writes next: let it settle
                // outside the timing.
                dest.sync_all().unwrap();
                drop(dest);
                std::fs::remove_file(path).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
            rates.push(rate);
            println!("round {round}: {name:<26} {rate:.2} GB/s");
        }
    }
    println!("medians over {rounds} rounds:");
    for (name, rates) in &mut ways {
        rates.sort_by(f64::total_cmp);
        println!("  {name:<26} {:.2} GB/s", rates[rates.len() / 2]);
    }
}
