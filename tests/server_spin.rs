//! `Server::spin_before_sleep`: a loop that is kept busy polls before it sleeps, and a loop
//! at light load or idle does not spin at all. Judged by the server's loop threads in
//! `/proc/self/task`: how often they slept (voluntary context switches) and their CPU time,
//! so the phases run one after another in this binary of their own, with a spin far longer
//! than the default to make the difference plain.
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

/// What this process's event-loop threads (a worker and any thread standing in for it)
/// have done so far.
#[derive(Clone, Copy)]
struct LoopUse {
    /// CPU time, in ticks.
    ticks: u64,
    /// Times they blocked (voluntary context switches): a loop that polls without blocking
    /// and yields between polls adds none, one that sleeps in `epoll_wait` adds one a sleep.
    sleeps: u64,
}

fn loop_use() -> LoopUse {
    let mut used = LoopUse {
        ticks: 0,
        sleeps: 0,
    };
    for task in fs::read_dir("/proc/self/task").expect("read /proc/self/task") {
        let task = task.expect("a task").path();
        let (Ok(stat), Ok(status)) = (
            fs::read_to_string(task.join("stat")),
            fs::read_to_string(task.join("status")),
        ) else {
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
        used.ticks += utime + stime;
        let switches = status
            .lines()
            .find_map(|line| line.strip_prefix("voluntary_ctxt_switches:"))
            .expect("voluntary_ctxt_switches in a status file");
        used.sleeps += switches.trim().parse::<u64>().expect("a count of switches");
    }
    used
}

/// One phase of paced requests.
struct Phase {
    /// The share of one CPU the loop threads used.
    share: f64,
    /// Requests answered.
    answered: u64,
    /// Times the loop threads slept.
    sleeps: u64,
}

/// Sends `GET /` on one connection every `gap` for [`PHASE`]; what the loop threads did
/// meanwhile. Two requests first, not measured: a loop still spinning from an earlier
/// phase settles into this one's rhythm.
fn paced_load(server: &RunningServer, gap: Duration) -> Phase {
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
    let before = loop_use();
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
    let after = loop_use();
    let share = share_of_a_cpu(after.ticks - before.ticks, began.elapsed());
    assert!(answered > 0);
    Phase {
        share,
        answered,
        sleeps: after.sleeps - before.sleeps,
    }
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

    // Busy: a request every 2 ms, well within the spin, so the loop never sleeps. Judged
    // by its sleeps, not its CPU time: the spin yields between polls, so on a machine with
    // other work the loop gets little CPU however it spins (0.01 of a CPU beside six
    // spinning processes on two CPUs, against 0.25 asked of it when it was judged so). A
    // gap stretched past the spin by such a machine, or the loop's tick, may still let it
    // sleep now and then (up to 4 times in 117 requests there).
    let spinning = start(SPIN);
    let busy = paced_load(&spinning, Duration::from_millis(2));
    if busy.sleeps * 4 > busy.answered {
        failures.push(format!(
            "a loop with requests every 2 ms and a {SPIN:?} spin slept {} times in {} requests",
            busy.sleeps, busy.answered
        ));
    }

    // Light: a request every 100 ms, longer than the spin: each wait sleeps at once.
    let light = paced_load(&spinning, Duration::from_millis(100)).share;
    if light > 0.10 {
        failures.push(format!(
            "a loop with requests every 100 ms and a {SPIN:?} spin used {light:.2} of a CPU"
        ));
    }

    // Idle, after being busy: one spin at most (after the client's close), then sleep.
    let _ = paced_load(&spinning, Duration::from_millis(2));
    thread::sleep(SPIN * 4);
    let before = loop_use().ticks;
    let began = Instant::now();
    thread::sleep(PHASE);
    let idle = share_of_a_cpu(loop_use().ticks - before, began.elapsed());
    if idle > 0.10 {
        failures.push(format!(
            "an idle loop that had been busy used {idle:.2} of a CPU"
        ));
    }
    spinning.shutdown().expect("shut down");

    // The same busy client without a spin: the loop sleeps between requests, and so is
    // seen to (the sleeps counted above are the loop's).
    let sleeping = start(Duration::ZERO);
    let unspun = paced_load(&sleeping, Duration::from_millis(2));
    if unspun.share > 0.10 {
        failures.push(format!(
            "a loop with requests every 2 ms and no spin used {:.2} of a CPU",
            unspun.share
        ));
    }
    if unspun.sleeps * 2 < unspun.answered {
        failures.push(format!(
            "a loop with requests every 2 ms and no spin slept {} times in {} requests",
            unspun.sleeps, unspun.answered
        ));
    }
    sleeping.shutdown().expect("shut down");

    println!(
        "busy: {:.2} of a CPU, {} sleeps in {} requests; light {light:.2}, idle {idle:.2}; \
         busy without a spin: {:.2} of a CPU, {} sleeps in {} requests",
        busy.share, busy.sleeps, busy.answered, unspun.share, unspun.sleeps, unspun.answered
    );
    assert!(failures.is_empty(), "{failures:#?}");
}
