//! `Server::spin_before_sleep`: a loop that is kept busy polls before it sleeps, and a loop
//! at light load or idle does not spin at all. Judged by the CPU time of the server's loop
//! threads (`/proc/self/task`), so the phases run one after another in this binary of
//! their own, with a spin far longer than the default to make the difference plain.
#![cfg(target_os = "linux")]

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use http::StatusCode;
use pollhttp::server::{Response, RunningServer, Server};

/// The spin the tests configure: longer than the gaps of the busy client, shorter than
/// those of the light one.
const SPIN: Duration = Duration::from_millis(50);
/// Each phase measures this long.
const PHASE: Duration = Duration::from_millis(1000);
/// The system's clock ticks a second (`USER_HZ`), the unit of `/proc` CPU times.
const TICKS_PER_SECOND: u64 = 100;

fn start(spin: Duration) -> RunningServer {
    Server::bind(SocketAddr::from(([127, 0, 0, 1], 0)), |_, _| {
        Response::new(StatusCode::OK, &b"ok"[..])
    })
    .expect("bind")
    .workers(1)
    .spin_before_sleep(spin)
    .start()
    .expect("start the server")
}

/// CPU time, in ticks, of this process's event-loop threads (a worker and any thread
/// standing in for it).
fn loop_ticks() -> u64 {
    let mut ticks = 0;
    for task in fs::read_dir("/proc/self/task").expect("read /proc/self/task") {
        let Ok(stat) = fs::read_to_string(task.expect("a task").path().join("stat")) else {
            continue; // the thread ended
        };
        // `pid (comm) state ...`: the name may hold spaces, so split after the last ')'.
        let close = stat.rfind(')').expect("a stat line");
        let name = &stat[stat.find('(').expect("a stat line") + 1..close];
        if !(name.starts_with("pollhttp-worker") || name.starts_with("pollhttp-loop")) {
            continue;
        }
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        // utime and stime are fields 14 and 15 of the line; `state`, field 3, is index 0.
        let utime: u64 = fields[11].parse().expect("utime");
        let stime: u64 = fields[12].parse().expect("stime");
        ticks += utime + stime;
    }
    ticks
}

/// Sends `GET /` on one connection every `gap` for [`PHASE`]; the share of one CPU the
/// loop threads used meanwhile. Two requests first, not measured: a loop still spinning
/// from an earlier phase settles into this one's rhythm.
fn paced_load(server: &RunningServer, gap: Duration) -> f64 {
    let address = server.address().to_string();
    let mut stream = TcpStream::connect(address.as_str()).expect("connect");
    stream.set_nodelay(true).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    for _ in 0..2 {
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            .expect("send");
        read_one_response(&mut stream);
        thread::sleep(gap);
    }
    let before = loop_ticks();
    let began = Instant::now();
    let mut answered = 0;
    while began.elapsed() < PHASE {
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            .expect("send");
        read_one_response(&mut stream);
        answered += 1;
        thread::sleep(gap);
    }
    let share = share_of_a_cpu(loop_ticks() - before, began.elapsed());
    assert!(answered > 0);
    share
}

/// Reads one response of `serve`'s shape: a head and the 2 bytes of "ok".
fn read_one_response(stream: &mut TcpStream) {
    let mut got = Vec::new();
    let mut byte = [0u8; 256];
    while !(got.ends_with(b"\r\n\r\nok")) {
        let n = stream.read(&mut byte).expect("read a response");
        assert!(n > 0, "the server closed the connection");
        got.extend_from_slice(&byte[..n]);
    }
    assert!(got.starts_with(b"HTTP/1.1 200 "), "{got:?}");
}

fn share_of_a_cpu(ticks: u64, over: Duration) -> f64 {
    ticks as f64 / TICKS_PER_SECOND as f64 / over.as_secs_f64()
}

#[test]
fn a_busy_loop_spins_and_a_light_or_idle_one_sleeps() {
    let mut failures = Vec::new();

    // Busy: a request every 2 ms, well within the spin, so the loop never sleeps.
    let spinning = start(SPIN);
    let busy = paced_load(&spinning, Duration::from_millis(2));
    if busy < 0.25 {
        failures.push(format!(
            "a loop with requests every 2 ms and a {SPIN:?} spin used {busy:.2} of a CPU"
        ));
    }

    // Light: a request every 100 ms, longer than the spin: each wait sleeps at once.
    let light = paced_load(&spinning, Duration::from_millis(100));
    if light > 0.10 {
        failures.push(format!(
            "a loop with requests every 100 ms and a {SPIN:?} spin used {light:.2} of a CPU"
        ));
    }

    // Idle, after being busy: one spin at most (after the client's close), then sleep.
    let _ = paced_load(&spinning, Duration::from_millis(2));
    thread::sleep(SPIN * 4);
    let before = loop_ticks();
    let began = Instant::now();
    thread::sleep(PHASE);
    let idle = share_of_a_cpu(loop_ticks() - before, began.elapsed());
    if idle > 0.10 {
        failures.push(format!(
            "an idle loop that had been busy used {idle:.2} of a CPU"
        ));
    }
    spinning.shutdown().expect("shut down");

    // The same busy client without a spin: the loop sleeps between requests.
    let sleeping = start(Duration::ZERO);
    let unspun = paced_load(&sleeping, Duration::from_millis(2));
    if unspun > 0.10 {
        failures.push(format!(
            "a loop with requests every 2 ms and no spin used {unspun:.2} of a CPU"
        ));
    }
    sleeping.shutdown().expect("shut down");

    println!("busy {busy:.2}, light {light:.2}, idle {idle:.2}, busy without a spin {unspun:.2}");
    assert!(failures.is_empty(), "{failures:#?}");
}
