//! Name resolution off the caller's loop: `io::Resolve` (one lookup on a helper thread) and
//! `io::Resolver` (many lookups, one descriptor, bounded threads, cache, coalescing).
//!
//! The slow lookups are custom lookup functions that sleep or wait on a gate; the system
//! resolver is used for `localhost`, literals and a `.invalid` name.

use std::collections::HashMap;
use std::io::{self, ErrorKind};
use std::net::{Ipv6Addr, SocketAddrV6};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};
use pollhttp::io::{resolve, Address, Lookup, LookupFn, LookupId, Resolve, Resolver};
use pollhttp::{Interest, PollNeeded, Progress};

const WAIT: Option<Duration> = Some(Duration::from_secs(10));

/// What "never blocks" allows a call: a few milliseconds (starting a thread included), with
/// room for a loaded machine.
const QUICK: Duration = Duration::from_millis(20);

fn loopback_index() -> u32 {
    std::fs::read_to_string("/sys/class/net/lo/ifindex")
        .map(|s| s.trim().parse().unwrap())
        .unwrap_or(1)
}

/// Runs `f`, failing if it took longer than [`QUICK`].
fn quick<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let value = f();
    let took = start.elapsed();
    assert!(took < QUICK, "{what} took {took:?}");
    value
}

/// Resumes a `Resolve`, waiting on its descriptor, until it finishes; each `resume` must be
/// quick. Returns the answer and how many times it was pending.
fn drive(resolve: &mut Resolve) -> (io::Result<Vec<Address>>, usize) {
    let mut pending = 0;
    loop {
        match quick("Resolve::resume", || resolve.resume()) {
            Ok(Progress::Ready(addresses)) => return (Ok(addresses), pending),
            Ok(Progress::Pending(need)) => {
                assert_eq!(need.interest, Interest::READABLE);
                pending += 1;
                assert!(pending < 100, "Resolve never finished");
                assert!(need.wait(WAIT).unwrap(), "wait timed out");
            }
            Err(e) => return (Err(e), pending),
        }
    }
}

/// Waits on the resolver's descriptor and takes answers until `n` came; every
/// `take_answers` must be quick.
fn take(resolver: &mut Resolver, n: usize) -> HashMap<LookupId, io::Result<Vec<Address>>> {
    let mut answers = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while answers.len() < n {
        assert!(Instant::now() < deadline, "only {} answers", answers.len());
        resolver
            .poll_needed()
            .wait(Some(Duration::from_secs(1)))
            .unwrap();
        for (id, answer) in quick("take_answers", || resolver.take_answers()) {
            assert!(
                answers.insert(id, answer).is_none(),
                "{id:?} answered twice"
            );
        }
    }
    answers
}

fn pending(lookup: Lookup) -> LookupId {
    match lookup {
        Lookup::Pending(id) => id,
        Lookup::Ready(answer) => panic!("expected a pending lookup, got {answer:?}"),
    }
}

fn ready(lookup: Lookup) -> io::Result<Vec<Address>> {
    match lookup {
        Lookup::Ready(answer) => answer,
        Lookup::Pending(id) => panic!("expected an answer at once, got {id:?}"),
    }
}

/// A lookup function that counts its calls and answers `10.0.0.N` (N: the call number),
/// or fails with `TimedOut` for names starting with "fail".
fn counting(calls: &Arc<AtomicUsize>, delay: Duration) -> LookupFn {
    let calls = Arc::clone(calls);
    Arc::new(move |host: &str, port: u16| {
        let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
        thread::sleep(delay);
        if host.starts_with("fail") {
            return Err(io::Error::new(
                ErrorKind::TimedOut,
                format!("resolving {host}: no answer"),
            ));
        }
        Ok(vec![Address::from(([10, 0, 0, n as u8], port))])
    })
}

/// A lookup function that waits until the gate opens (answering `10.1.1.1`), counting calls.
fn gated(calls: &Arc<AtomicUsize>) -> (LookupFn, Arc<(Mutex<bool>, Condvar)>) {
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let (calls, g) = (Arc::clone(calls), Arc::clone(&gate));
    let lookup: LookupFn = Arc::new(move |_host: &str, port: u16| {
        calls.fetch_add(1, Ordering::SeqCst);
        let (open, opened) = &*g;
        let mut open = open.lock().unwrap();
        while !*open {
            open = opened.wait(open).unwrap();
        }
        Ok(vec![Address::from(([10, 1, 1, 1], port))])
    });
    (lookup, gate)
}

fn open(gate: &(Mutex<bool>, Condvar)) {
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();
}

fn assert_loopback(addresses: &[Address], port: u16) {
    assert!(!addresses.is_empty());
    for a in addresses {
        assert!(
            matches!(a, Address::Tcp(s) if s.ip().is_loopback() && s.port() == port),
            "{a}"
        );
    }
}

#[test]
fn resolve_localhost_like_the_blocking_call() {
    let (answer, _) = drive(&mut Resolve::new("localhost", 8080));
    let addresses = answer.unwrap();
    assert_loopback(&addresses, 8080);
    assert_eq!(addresses, resolve("localhost", 8080).unwrap());

    let mut resolver = Resolver::new().unwrap();
    let id = pending(quick("lookup", || resolver.lookup("localhost", 8081)));
    assert_eq!(resolver.pending(), 1);
    let mut answers = take(&mut resolver, 1);
    assert_eq!(
        answers.remove(&id).unwrap().unwrap(),
        resolve("localhost", 8081).unwrap()
    );
    assert_eq!(resolver.pending(), 0);
}

#[test]
fn literals_are_answered_at_once_without_a_lookup() {
    let lo = loopback_index();
    let cases = [
        ("127.0.0.1", vec![Address::from(([127, 0, 0, 1], 80))]),
        ("[127.0.0.1]", vec![Address::from(([127, 0, 0, 1], 80))]),
        ("::1", vec![Address::from((Ipv6Addr::LOCALHOST, 80))]),
        ("[::1]", vec![Address::from((Ipv6Addr::LOCALHOST, 80))]),
        (
            &*format!("fe80::1%{lo}"),
            vec![Address::from(SocketAddrV6::new(
                "fe80::1".parse().unwrap(),
                80,
                0,
                lo,
            ))],
        ),
        (
            "[fe80::1%lo]",
            vec![Address::from(SocketAddrV6::new(
                "fe80::1".parse().unwrap(),
                80,
                0,
                lo,
            ))],
        ),
    ];
    let calls = Arc::new(AtomicUsize::new(0));
    let mut resolver = Resolver::with_lookup(counting(&calls, Duration::ZERO)).unwrap();
    for (host, expected) in &cases {
        assert_eq!(&resolve(host, 80).unwrap(), expected, "{host}");
        // Resolve: at the first resume, never pending.
        let mut one = Resolve::with_lookup(host, 80, counting(&calls, Duration::ZERO));
        let (answer, pending) = drive(&mut one);
        assert_eq!(pending, 0, "{host}");
        assert_eq!(&answer.unwrap(), expected, "{host}");
        // Resolver: Ready from lookup.
        let answer = ready(quick("lookup", || resolver.lookup(host, 80)));
        assert_eq!(&answer.unwrap(), expected, "{host}");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "a literal reached the lookup function"
    );
    assert_eq!(resolver.pending(), 0);
    assert_eq!(resolver.running_threads(), 0, "a literal started a thread");
}

#[test]
fn an_invalid_name_is_an_error_naming_the_host_as_the_blocking_call_gives() {
    let host = "no-such-host.invalid";
    let blocking = resolve(host, 80).unwrap_err();
    let (answer, _) = drive(&mut Resolve::new(host, 80));
    let e = answer.unwrap_err();
    assert!(e.to_string().contains(host), "{e}");
    assert_eq!(e.kind(), blocking.kind());
    assert_eq!(e.to_string(), blocking.to_string());

    let mut resolver = Resolver::new().unwrap();
    let id = pending(resolver.lookup(host, 80));
    let e = take(&mut resolver, 1).remove(&id).unwrap().unwrap_err();
    assert_eq!(e.kind(), blocking.kind());
    assert_eq!(e.to_string(), blocking.to_string());
    // The failure is cached: the same error at once.
    let again = ready(resolver.lookup(host, 443)).unwrap_err();
    assert_eq!(again.kind(), blocking.kind());
    assert_eq!(again.to_string(), blocking.to_string());
}

#[test]
fn a_name_without_addresses_is_not_found() {
    let empty: LookupFn = Arc::new(|_: &str, _| Ok(Vec::new()));
    // The custom function gives no addresses: that is an answer, cached as it is.
    let mut resolver = Resolver::with_lookup(empty).unwrap();
    let id = pending(resolver.lookup("empty.test", 80));
    assert!(take(&mut resolver, 1)
        .remove(&id)
        .unwrap()
        .unwrap()
        .is_empty());
    // The system resolver's "no addresses" is NotFound (as resolve() makes it), which
    // Resolve keeps; an error from the function keeps its kind and message.
    let not_found: LookupFn = Arc::new(|host: &str, _| {
        // Slow enough that the first resume cannot find the answer already there.
        thread::sleep(Duration::from_millis(50));
        Err(io::Error::new(
            ErrorKind::NotFound,
            format!("resolving {host}: no addresses"),
        ))
    });
    let (answer, pending) = drive(&mut Resolve::with_lookup("gone.test", 80, not_found));
    assert!(pending > 0);
    let e = answer.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.to_string(), "resolving gone.test: no addresses");
}

/// A lookup that failed for want of a descriptor (getaddrinfo could not open
/// `/etc/hosts`) says nothing of the name: it is not cached, and the next lookup asks
/// again. Cached, it was the answer for the resolver's life, and a crawl that retried the
/// lookup got it back every time, for ever.
#[test]
fn a_failure_for_want_of_a_descriptor_is_not_cached() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let lookup: LookupFn = Arc::new(move |_: &str, port| {
        if counted.fetch_add(1, Ordering::SeqCst) == 0 {
            Err(io::Error::from_raw_os_error(libc::EMFILE))
        } else {
            Ok(vec![Address::from(([10, 0, 0, 1], port))])
        }
    });
    let mut resolver = Resolver::with_lookup(lookup).unwrap();
    let id = pending(resolver.lookup("a.test", 80));
    let e = take(&mut resolver, 1).remove(&id).unwrap().unwrap_err();
    assert!(e.to_string().contains("Too many open files"), "{e}");
    let id = pending(resolver.lookup("a.test", 80));
    let answer = take(&mut resolver, 1).remove(&id).unwrap().unwrap();
    assert_eq!(answer, vec![Address::from(([10, 0, 0, 1], 80))]);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // That one is cached.
    assert!(ready(resolver.lookup("a.test", 80)).is_ok());
}

#[test]
fn answers_are_cached_per_name_for_every_port() {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut resolver = Resolver::with_lookup(counting(&calls, Duration::from_millis(20))).unwrap();
    let id = pending(resolver.lookup("a.test", 80));
    let answer = take(&mut resolver, 1).remove(&id).unwrap().unwrap();
    assert_eq!(answer, vec![Address::from(([10, 0, 0, 1], 80))]);
    // Again, and on another port: at once, from the cache.
    for port in [80, 443] {
        let answer = ready(quick("cached lookup", || resolver.lookup("a.test", port)));
        assert_eq!(answer.unwrap(), vec![Address::from(([10, 0, 0, 1], port))]);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // Failures are cached too, with their kind and message.
    let id = pending(resolver.lookup("fail.test", 80));
    let e = take(&mut resolver, 1).remove(&id).unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    for _ in 0..2 {
        let again = ready(resolver.lookup("fail.test", 81)).unwrap_err();
        assert_eq!(again.kind(), ErrorKind::TimedOut);
        assert_eq!(again.to_string(), "resolving fail.test: no answer");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    // Names are compared as given.
    let _ = pending(resolver.lookup("A.test", 80));
    take(&mut resolver, 1);
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    // forget: the next lookup asks again (and gets the new answer).
    assert!(resolver.forget("a.test"));
    assert!(!resolver.forget("a.test"));
    let id = pending(resolver.lookup("a.test", 80));
    let answer = take(&mut resolver, 1).remove(&id).unwrap().unwrap();
    assert_eq!(answer, vec![Address::from(([10, 0, 0, 4], 80))]);
    resolver.clear_cache();
    let _ = pending(resolver.lookup("a.test", 80));
    let _ = pending(resolver.lookup("fail.test", 80));
    take(&mut resolver, 2);
    assert_eq!(calls.load(Ordering::SeqCst), 6);
}

#[test]
fn concurrent_lookups_of_one_name_make_one_call() {
    let calls = Arc::new(AtomicUsize::new(0));
    let (lookup, gate) = gated(&calls);
    let mut resolver = Resolver::with_lookup(lookup).unwrap();
    let first = pending(resolver.lookup("same.test", 80));
    let second = pending(resolver.lookup("same.test", 8080));
    let third = pending(resolver.lookup("same.test", 80));
    assert!(first != second && second != third && first != third);
    assert_eq!(resolver.pending(), 3);
    // Nothing came yet: no answers, however often asked.
    assert!(resolver.take_answers().is_empty());
    open(&gate);
    let mut answers = take(&mut resolver, 3);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    for (id, port) in [(first, 80), (second, 8080), (third, 80)] {
        assert_eq!(
            answers.remove(&id).unwrap().unwrap(),
            vec![Address::from(([10, 1, 1, 1], port))]
        );
    }
    assert_eq!(resolver.pending(), 0);
}

#[test]
fn many_lookups_run_on_at_most_the_configured_threads() {
    const THREADS: usize = 3;
    let now = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let calls = Arc::new(AtomicUsize::new(0));
    let (n, m, c) = (Arc::clone(&now), Arc::clone(&most), Arc::clone(&calls));
    let lookup: LookupFn = Arc::new(move |host: &str, port: u16| {
        c.fetch_add(1, Ordering::SeqCst);
        let at_once = n.fetch_add(1, Ordering::SeqCst) + 1;
        m.fetch_max(at_once, Ordering::SeqCst);
        thread::sleep(Duration::from_millis(10));
        n.fetch_sub(1, Ordering::SeqCst);
        let i: u8 = host.trim_end_matches(".test").parse().unwrap();
        Ok(vec![Address::from(([10, 2, 0, i], port))])
    });
    let mut resolver = Resolver::with_lookup(lookup).unwrap().threads(THREADS);
    let mut ids = Vec::new();
    for i in 0..100u8 {
        ids.push(pending(quick("lookup", || {
            resolver.lookup(&format!("{i}.test"), 80)
        })));
        assert!(resolver.running_threads() <= THREADS);
    }
    assert_eq!(resolver.pending(), 100);
    let mut answers = take(&mut resolver, 100);
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            answers.remove(id).unwrap().unwrap(),
            vec![Address::from(([10, 2, 0, i as u8], 80))]
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 100);
    let most = most.load(Ordering::SeqCst);
    assert!(most <= THREADS, "{most} lookups at once");
    assert!(most >= 2, "the lookups never overlapped");
    assert!(resolver.running_threads() <= THREADS);
    assert_eq!(resolver.pending(), 0);
}

#[test]
fn a_slow_lookup_never_blocks_the_caller_and_wait_wakes_when_it_is_in() {
    let slow = Duration::from_secs(2);
    let calls = Arc::new(AtomicUsize::new(0));

    // Resolve.
    let start = Instant::now();
    let mut one = quick("Resolve::with_lookup", || {
        Resolve::with_lookup("slow.test", 80, counting(&calls, slow))
    });
    let need = match quick("resume", || one.resume()).unwrap() {
        Progress::Pending(need) => need,
        Progress::Ready(a) => panic!("ready at once: {a:?}"),
    };
    assert_eq!(need.interest, Interest::READABLE);
    // Early wake-ups: still pending, on the same descriptor.
    for _ in 0..5 {
        assert_eq!(
            quick("resume", || one.resume()).unwrap(),
            Progress::Pending(need)
        );
    }
    assert!(!need.wait(Some(Duration::from_millis(100))).unwrap());
    assert!(need.wait(WAIT).unwrap());
    assert!(start.elapsed() >= slow);
    let answer = quick("resume", || one.resume()).unwrap().ready().unwrap();
    assert_eq!(answer, vec![Address::from(([10, 0, 0, 1], 80))]);
    let e = one.resume().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);

    // Resolver.
    let start = Instant::now();
    let mut resolver = Resolver::with_lookup(counting(&calls, slow)).unwrap();
    let id = pending(quick("lookup", || resolver.lookup("slow.test", 80)));
    let other = pending(quick("lookup", || resolver.lookup("slow.test", 81)));
    let need = resolver.poll_needed();
    assert_eq!(need.interest, Interest::READABLE);
    for _ in 0..5 {
        assert!(quick("take_answers", || resolver.take_answers()).is_empty());
    }
    assert!(!need.wait(Some(Duration::from_millis(100))).unwrap());
    assert!(need.wait(WAIT).unwrap());
    assert!(start.elapsed() >= slow);
    let answers = quick("take_answers", || resolver.take_answers());
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[0].0, id);
    assert_eq!(answers[1].0, other);
    // Taken: the descriptor is quiet again, and a wake-up now finds nothing.
    assert!(!need.wait(Some(Duration::from_millis(50))).unwrap());
    assert!(resolver.take_answers().is_empty());
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[test]
fn the_resolver_is_a_mio_source_and_suits_edge_triggering() {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut resolver = Resolver::with_lookup(counting(&calls, Duration::from_millis(30))).unwrap();
    let mut poll = Poll::new().unwrap();
    // mio is edge-triggered: each wake-up is a change, so take_answers must read the
    // descriptor empty each time for the next answer to wake the loop again.
    poll.registry()
        .register(&mut resolver, Token(7), mio::Interest::READABLE)
        .unwrap();
    let mut events = Events::with_capacity(8);
    let mut ids: Vec<LookupId> = Vec::new();
    let mut answered = 0;
    for round in 0..5u8 {
        ids.push(pending(resolver.lookup(&format!("r{round}.test"), 80)));
        let deadline = Instant::now() + Duration::from_secs(10);
        while resolver.pending() > 0 {
            assert!(Instant::now() < deadline, "round {round}: no wake-up");
            poll.poll(&mut events, Some(Duration::from_secs(1)))
                .unwrap();
            for event in &events {
                assert_eq!(event.token(), Token(7));
                answered += resolver.take_answers().len();
            }
        }
    }
    assert_eq!(answered, 5);
    poll.registry().deregister(&mut resolver).unwrap();
    // As a raw descriptor, too.
    let fd = std::os::fd::AsRawFd::as_raw_fd(&resolver);
    assert_eq!(
        resolver.poll_needed(),
        PollNeeded {
            fd,
            interest: Interest::READABLE
        }
    );
}

#[test]
fn dropping_while_lookups_are_pending_returns_at_once_and_frees_everything() {
    let calls = Arc::new(AtomicUsize::new(0));
    let slow = Duration::from_secs(2);

    let lookup = counting(&calls, slow);
    let alive = Arc::downgrade(&lookup);
    let mut resolver = Resolver::with_lookup(lookup).unwrap().threads(2);
    for i in 0..5 {
        let _ = pending(resolver.lookup(&format!("d{i}.test"), 80));
    }
    let lookup = counting(&calls, slow);
    let one_alive = Arc::downgrade(&lookup);
    let mut one = Resolve::with_lookup("d.test", 80, lookup);
    assert!(one.resume().unwrap().ready().is_none());
    // Both threads are in the lookup function now.
    let deadline = Instant::now() + Duration::from_secs(5);
    while calls.load(Ordering::SeqCst) < 3 {
        assert!(Instant::now() < deadline);
        thread::sleep(Duration::from_millis(5));
    }
    quick("dropping the Resolver", || drop(resolver));
    quick("dropping the Resolve", || drop(one));
    // The threads finish their call and exit, dropping what they share with the resolver
    // (the lookup function, the write end of the wake-up socket): nothing is left behind.
    // The queued lookups never ran.
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive.upgrade().is_some() || one_alive.upgrade().is_some() {
        assert!(Instant::now() < deadline, "the helper threads never let go");
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[test]
fn idle_threads_end_and_come_back_when_needed() {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut resolver = Resolver::with_lookup(counting(&calls, Duration::ZERO))
        .unwrap()
        .threads(2)
        .idle_timeout(Duration::from_millis(50));
    assert_eq!(resolver.running_threads(), 0, "threads start lazily");
    for i in 0..4 {
        let _ = pending(resolver.lookup(&format!("i{i}.test"), 80));
    }
    assert!(resolver.running_threads() >= 1);
    take(&mut resolver, 4);
    let deadline = Instant::now() + Duration::from_secs(5);
    while resolver.running_threads() > 0 {
        assert!(Instant::now() < deadline, "idle threads stayed");
        thread::sleep(Duration::from_millis(10));
    }
    let id = pending(resolver.lookup("again.test", 80));
    assert!(take(&mut resolver, 1).remove(&id).unwrap().is_ok());
    assert_eq!(calls.load(Ordering::SeqCst), 5);
}

#[test]
fn a_cancelled_lookup_is_not_answered() {
    let calls = Arc::new(AtomicUsize::new(0));
    let (lookup, gate) = gated(&calls);
    let mut resolver = Resolver::with_lookup(lookup).unwrap().threads(1);
    let running = pending(resolver.lookup("running.test", 80));
    let kept = pending(resolver.lookup("running.test", 81));
    let queued = pending(resolver.lookup("queued.test", 80));
    let deadline = Instant::now() + Duration::from_secs(5);
    while calls.load(Ordering::SeqCst) < 1 {
        assert!(Instant::now() < deadline);
        thread::sleep(Duration::from_millis(5));
    }
    assert!(resolver.cancel(running));
    assert!(!resolver.cancel(running));
    assert!(resolver.cancel(queued));
    assert_eq!(resolver.pending(), 1);
    open(&gate);
    let answers = take(&mut resolver, 1);
    assert!(answers.contains_key(&kept));
    // The queued name was never looked up; nothing else comes.
    assert!(!resolver
        .poll_needed()
        .wait(Some(Duration::from_millis(100)))
        .unwrap());
    assert!(resolver.take_answers().is_empty());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(resolver.pending(), 0);

    // A lookup whose every waiter gave up while it ran goes on: a new lookup of the name
    // joins it, and its answer fills the cache.
    let calls = Arc::new(AtomicUsize::new(0));
    let (lookup, gate) = gated(&calls);
    let mut resolver = Resolver::with_lookup(lookup).unwrap();
    let id = pending(resolver.lookup("late.test", 80));
    let deadline = Instant::now() + Duration::from_secs(5);
    while calls.load(Ordering::SeqCst) < 1 {
        assert!(Instant::now() < deadline);
        thread::sleep(Duration::from_millis(5));
    }
    assert!(resolver.cancel(id));
    assert_eq!(resolver.pending(), 0);
    let joined = pending(resolver.lookup("late.test", 8080));
    open(&gate);
    let answer = take(&mut resolver, 1).remove(&joined).unwrap().unwrap();
    assert_eq!(answer, vec![Address::from(([10, 1, 1, 1], 8080))]);
    let answer = ready(resolver.lookup("late.test", 443)).unwrap();
    assert_eq!(answer, vec![Address::from(([10, 1, 1, 1], 443))]);
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // Cancelling everything leaves nothing pending and nothing to take.
    let calls = Arc::new(AtomicUsize::new(0));
    let mut resolver = Resolver::with_lookup(counting(&calls, Duration::from_millis(100)))
        .unwrap()
        .threads(1);
    let ids: Vec<_> = (0..50)
        .map(|i| pending(resolver.lookup(&format!("c{i}.test"), 80)))
        .collect();
    // The queued ones first: a lookup cancelled while it runs leaves its thread's place
    // to the queue, and the next name would start before its own cancel came.
    for id in ids.into_iter().rev() {
        assert!(resolver.cancel(id));
    }
    assert_eq!(resolver.pending(), 0);
    thread::sleep(Duration::from_millis(50));
    assert!(resolver.take_answers().is_empty());
    assert!(calls.load(Ordering::SeqCst) <= 1, "cancelled lookups ran");
}

/// A DNS server that does not answer keeps getaddrinfo(3) 10 s or more; a lookup every
/// waiter gave up on must not hold up the names queued behind it for that long.
#[test]
fn a_lookup_cancelled_while_it_runs_leaves_its_place_to_the_queue() {
    let stuck_calls = Arc::new(AtomicUsize::new(0));
    let stuck_returned = Arc::new(AtomicUsize::new(0));
    let returned = Arc::clone(&stuck_returned);
    let (stuck, gate) = gated(&stuck_calls);
    let lookup: LookupFn = Arc::new(move |host: &str, port: u16| {
        if host.starts_with("stuck") {
            let answer = stuck(host, port);
            returned.fetch_add(1, Ordering::SeqCst);
            return answer;
        }
        Ok(vec![Address::from(([10, 2, 2, 2], port))])
    });
    let mut resolver = Resolver::with_lookup(lookup).unwrap().threads(1);
    let wait_for_calls = |n: usize| {
        let deadline = Instant::now() + Duration::from_secs(5);
        while stuck_calls.load(Ordering::SeqCst) < n {
            assert!(Instant::now() < deadline, "the lookup never started");
            thread::sleep(Duration::from_millis(5));
        }
    };
    let first = pending(resolver.lookup("stuck-0.test", 80));
    let fast = pending(resolver.lookup("fast.test", 80));
    wait_for_calls(1);
    assert!(resolver.running_since(first).is_some());
    assert_eq!(resolver.running_since(fast), None, "queued, not asked yet");
    assert!(resolver.cancel(first));
    let answers = take(&mut resolver, 1);
    let answer = answers[&fast].as_ref().unwrap();
    assert_eq!(answer, &vec![Address::from(([10, 2, 2, 2], 80))]);

    // Twice the threads at most: with two lookups given up on still running, the next
    // name waits for one of them.
    let second = pending(resolver.lookup("stuck-1.test", 80));
    wait_for_calls(2);
    assert!(resolver.cancel(second));
    let queued = pending(resolver.lookup("fast-2.test", 80));
    thread::sleep(Duration::from_millis(100));
    assert!(resolver.running_threads() <= 2, "{resolver:?}");
    assert_eq!(resolver.running_since(queued), None);
    assert!(resolver.take_answers().iter().all(|(id, _)| *id != queued));
    open(&gate);
    let answers = take(&mut resolver, 1);
    assert!(answers[&queued].is_ok());
    // The abandoned lookups' answers are cached, not handed out, once their threads have
    // put them in (which may come after the queued name's answer).
    let deadline = Instant::now() + Duration::from_secs(5);
    while stuck_returned.load(Ordering::SeqCst) < 2 {
        assert!(
            Instant::now() < deadline,
            "the stuck lookups never returned"
        );
        thread::sleep(Duration::from_millis(5));
    }
    thread::sleep(Duration::from_millis(50));
    assert!(
        resolver.take_answers().is_empty(),
        "abandoned answers handed out"
    );
    assert!(ready(resolver.lookup("stuck-0.test", 81)).is_ok());
    assert_eq!(resolver.pending(), 0);
}

#[test]
fn a_panicking_lookup_function_gives_an_error_and_the_resolver_goes_on() {
    let lookup: LookupFn = Arc::new(|host: &str, port: u16| {
        if host == "boom.test" {
            panic!("lookup function failure (expected by the test)");
        }
        Ok(vec![Address::from(([10, 3, 0, 1], port))])
    });
    let mut resolver = Resolver::with_lookup(lookup.clone()).unwrap().threads(1);
    let boom = pending(resolver.lookup("boom.test", 80));
    let fine = pending(resolver.lookup("fine.test", 80));
    let mut answers = take(&mut resolver, 2);
    let e = answers.remove(&boom).unwrap().unwrap_err();
    assert!(e.to_string().contains("boom.test"), "{e}");
    assert!(answers.remove(&fine).unwrap().is_ok());

    let (answer, _) = drive(&mut Resolve::with_lookup("boom.test", 80, lookup));
    assert!(answer.unwrap_err().to_string().contains("boom.test"));
}

#[test]
fn lookups_can_move_between_threads() {
    fn send<T: Send>() {}
    send::<Resolve>();
    send::<Resolver>();
    send::<Lookup>();
}
