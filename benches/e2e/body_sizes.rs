//! The body read path swept over sizes, on one machine, interleaved: a GET of one URL per
//! try, on a new connection, its body to `/dev/null`, timed from the request to the end of
//! the body.
//!
//! ```text
//! cargo bench --bench body_sizes -- URL [ROUNDS]
//! ```
//!
//! Each round runs, in turn: `Connection::read_into` with buffers of 16, 32, 64, 128 and
//! 256 KiB (what a caller's loop or the copy loop does), `CopyBody::without_splice` (the
//! copy loop of `copy_to`: TLS and chunk framing take it), and `CopyBody` (splice(2) on
//! Linux). Prints GB/s per round and the medians. The splice piece and the receive
//! low-water mark were swept with `benches/e2e/splice_sweep.py` (the same system calls,
//! their sizes as arguments).

use std::fs::OpenOptions;
use std::time::Instant;

use http::HeaderMap;
use pollhttp::client::Client;
use pollhttp::op::CopyBody;
use pollhttp::pipeline::Origin;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(url) = args.first() else {
        eprintln!("usage: cargo bench --bench body_sizes -- URL [ROUNDS]");
        return;
    };
    let rounds: usize = args.get(1).map_or(5, |r| r.parse().expect("ROUNDS"));
    let (origin, target) = Origin::parse_url(url).expect("URL");
    let client = Client::resolving(&origin.host, origin.port)
        .with_host(&origin.host_header())
        .without_pool();
    let null = OpenOptions::new().write(true).open("/dev/null").unwrap();
    let mut ways: Vec<(String, Vec<f64>)> = Vec::new();
    for kib in [16, 32, 64, 128, 256] {
        ways.push((format!("read_into {kib} KiB"), Vec::new()));
    }
    ways.push(("CopyBody::without_splice".into(), Vec::new()));
    ways.push(("CopyBody (splice)".into(), Vec::new()));
    for round in 1..=rounds {
        for (i, (name, rates)) in ways.iter_mut().enumerate() {
            let mut conn = client.connect().unwrap();
            let start = Instant::now();
            let mut response = conn.get(&target, HeaderMap::new()).unwrap();
            let n = match i {
                0..=4 => {
                    let mut buf = vec![0; (16 * 1024) << i];
                    let mut n = 0u64;
                    loop {
                        let k = response.body.read_into(&mut buf).unwrap();
                        if k == 0 {
                            break n;
                        }
                        n += k as u64;
                    }
                }
                5 => {
                    drop(response);
                    let mut op = CopyBody::new(&null).without_splice();
                    let stream = conn.stream_mut();
                    pollhttp::blocking::run(None, || op.resume(stream)).unwrap()
                }
                _ => response.body.copy_to(&null).unwrap(),
            };
            let rate = n as f64 / start.elapsed().as_secs_f64() / 1e9;
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
