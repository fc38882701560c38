//! Transports on loopback with real sockets: TCP over IPv4 and IPv6, Unix sockets by path and
//! by Linux abstract name, the resumable connect, and `Host` header values.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pollhttp::io::{
    host_header_for_name, resolve, Address, Connect, Transport, DEFAULT_ATTEMPT_DELAY,
};
use pollhttp::{wait_any, Interest, PollNeeded, Progress};
use socket2::SockRef;

#[cfg(target_os = "linux")]
#[path = "support/blackhole.rs"]
mod blackhole;
#[cfg(target_os = "linux")]
use blackhole::Blackhole;

const WAIT: Option<Duration> = Some(Duration::from_secs(10));

/// Drives a connect with `PollNeeded::wait` until it finishes; returns the result and how
/// many times it was pending.
fn drive(connect: &mut Connect) -> (std::io::Result<Transport>, usize) {
    let mut pending = 0;
    loop {
        match connect.resume() {
            Ok(Progress::Ready(t)) => return (Ok(t), pending),
            Ok(Progress::Pending(need)) => {
                assert_eq!(need.interest, Interest::WRITABLE);
                pending += 1;
                assert!(pending < 100, "connect never finished");
                assert!(need.wait(WAIT).unwrap(), "wait timed out");
            }
            Err(e) => return (Err(e), pending),
        }
    }
}

fn connect(addresses: Vec<Address>) -> Transport {
    drive(&mut Connect::new(addresses)).0.expect("connect")
}

/// A port on 127.0.0.1 where nothing listens.
fn refused_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A unique path in the temp dir, removed on drop.
struct TempPath(PathBuf);

impl TempPath {
    fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "pollhttp-io-{}-{}-{tag}.sock",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        let _ = std::fs::remove_file(&path);
        Self(path)
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Reads exactly `n` bytes from a non-blocking transport, waiting for readability.
fn read_n(t: &mut Transport, n: usize) -> Vec<u8> {
    let mut out = vec![0; n];
    let mut got = 0;
    while got < n {
        match t.read(&mut out[got..]) {
            Ok(0) => panic!("end of file after {got} of {n} bytes"),
            Ok(k) => got += k,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                let need = PollNeeded {
                    fd: std::os::fd::AsRawFd::as_raw_fd(t),
                    interest: Interest::READABLE,
                };
                assert!(need.wait(WAIT).unwrap(), "read timed out");
            }
            Err(e) => panic!("read: {e}"),
        }
    }
    out
}

/// Both directions over a connected pair: WouldBlock while nothing is there, the data once
/// written, and end of file after the peer shuts down writing.
fn exchange<S: Read + Write>(client: &mut Transport, server: &mut S) {
    let mut buf = [0; 64];
    let e = client.read(&mut buf).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WouldBlock);

    server.write_all(b"hello from the server").unwrap();
    assert_eq!(read_n(client, 21), b"hello from the server");
    let e = client.read(&mut buf).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WouldBlock);

    assert_eq!(client.write(b"ping").unwrap(), 4);
    let mut got = [0; 4];
    server.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"ping");

    client.shutdown_write().unwrap();
    let mut rest = Vec::new();
    server.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    // Reading still works after shutting down our writing half.
    server.write_all(b"bye").unwrap();
    assert_eq!(read_n(client, 3), b"bye");
}

fn tcp_roundtrip(listener: TcpListener) {
    let addr = listener.local_addr().unwrap();
    let (client, pending) = drive(&mut Connect::new(vec![Address::Tcp(addr)]));
    let mut client = client.unwrap();
    // Linux answers a non-blocking TCP connect with EINPROGRESS even on loopback: the op
    // went through Pending, a wait for writable, and a resume.
    #[cfg(target_os = "linux")]
    assert!(pending >= 1);
    let _ = pending;
    let (mut server, _) = listener.accept().unwrap();
    assert!(client.is_tcp());
    assert_eq!(client.peer_address().unwrap(), Address::Tcp(addr));
    assert_eq!(
        client.local_address().unwrap(),
        Address::Tcp(server.peer_addr().unwrap())
    );
    assert!(
        SockRef::from(&client).tcp_nodelay().unwrap(),
        "TCP_NODELAY is off"
    );
    assert!(SockRef::from(&client).nonblocking().unwrap());
    exchange(&mut client, &mut server);
}

#[test]
fn tcp_ipv4_loopback() {
    tcp_roundtrip(TcpListener::bind("127.0.0.1:0").unwrap());
}

#[test]
fn tcp_ipv6_loopback() {
    // No skipping: a machine without IPv6 loopback fails here.
    let listener = TcpListener::bind("[::1]:0")
        .expect("binding [::1]:0 failed: this machine has no IPv6 loopback, which pollhttp needs");
    tcp_roundtrip(listener);
}

#[test]
fn tcp_ipv6_four_tuple_with_scope_id() {
    let listener = TcpListener::bind("[::1]:0").expect("no IPv6 loopback");
    let port = listener.local_addr().unwrap().port();
    // Flow info and a scope id (the loopback interface's index) pass through to connect(2).
    let lo = loopback_index();
    let addr = SocketAddrV6::new(Ipv6Addr::LOCALHOST, port, 0, lo);
    let client = connect(vec![Address::from(addr)]);
    let (_server, _) = listener.accept().unwrap();
    assert!(
        matches!(client.peer_address().unwrap(), Address::Tcp(SocketAddr::V6(a)) if a.port() == port)
    );
}

fn loopback_index() -> u32 {
    std::fs::read_to_string("/sys/class/net/lo/ifindex")
        .map(|s| s.trim().parse().unwrap())
        .unwrap_or(1)
}

#[test]
fn unix_path() {
    let path = TempPath::new("path");
    let listener = UnixListener::bind(&path.0).unwrap();
    let address = Address::unix(&path.0);
    assert_eq!(address, Address::Unix(path.0.clone()));
    let mut client = connect(vec![address.clone()]);
    let (mut server, _) = listener.accept().unwrap();
    assert!(!client.is_tcp());
    assert_eq!(client.peer_address().unwrap(), address);
    // Our end is unnamed: an empty path.
    assert_eq!(
        client.local_address().unwrap(),
        Address::Unix(PathBuf::new())
    );
    assert!(SockRef::from(&client).nonblocking().unwrap());
    exchange(&mut client, &mut server);
}

#[cfg(target_os = "linux")]
#[test]
fn unix_abstract_name() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("pollhttp-io-test-{}", std::process::id());
    let std_addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let listener = UnixListener::bind_addr(&std_addr).unwrap();
    let address = Address::unix(format!("@{name}"));
    assert_eq!(address, Address::UnixAbstract(name.clone().into_bytes()));
    assert_eq!(address.to_string(), format!("@{name}"));
    let mut client = connect(vec![address.clone()]);
    let (mut server, _) = listener.accept().unwrap();
    assert_eq!(client.peer_address().unwrap(), address);
    exchange(&mut client, &mut server);
}

#[test]
fn failed_addresses_are_skipped_in_order() {
    let missing = TempPath::new("missing");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let good = Address::Tcp(listener.local_addr().unwrap());
    let refused = Address::from(([127, 0, 0, 1], refused_port()));
    let client = connect(vec![
        refused,
        Address::Unix(missing.0.clone()),
        good.clone(),
        Address::unix("/never/used"),
    ]);
    assert_eq!(client.peer_address().unwrap(), good);
    listener.accept().unwrap();
}

#[test]
fn all_refused_gives_the_last_error_naming_its_address() {
    let first = Address::from(([127, 0, 0, 1], refused_port()));
    let last = Address::from(([127, 0, 0, 1], refused_port()));
    let mut c = Connect::new(vec![first, last.clone()]);
    let e = drive(&mut c).0.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
    let message = e.to_string();
    assert!(
        message.contains(&format!("connecting to {last}")),
        "{message}"
    );
    // The OS error is kept as the source.
    let source = std::error::Error::source(e.get_ref().unwrap()).unwrap();
    let os = source.downcast_ref::<std::io::Error>().unwrap();
    assert_eq!(os.raw_os_error(), Some(libc::ECONNREFUSED));
    // Finished: resuming again is a misuse.
    assert_eq!(c.resume().unwrap_err().kind(), ErrorKind::InvalidInput);
}

#[test]
fn missing_unix_socket_names_its_path() {
    let path = TempPath::new("absent");
    let e = drive(&mut Connect::new(vec![Address::Unix(path.0.clone())]))
        .0
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains(&path.0.display().to_string()), "{e}");
}

#[test]
fn no_addresses_is_invalid_input() {
    let e = Connect::new(Vec::new()).resume().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

/// Connections to a listener whose accept queue is full stay in progress (Linux drops the
/// SYN): a deterministic "pending" connect.
#[cfg(target_os = "linux")]
fn stuck_listener() -> (socket2::Socket, Address, Vec<Connect>) {
    use socket2::{Domain, Socket, Type};
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    listener
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    listener.listen(0).unwrap();
    let address = Address::Tcp(listener.local_addr().unwrap().as_socket().unwrap());
    let mut fillers = Vec::new();
    for _ in 0..3 {
        let mut c = Connect::new(vec![address.clone()]);
        let _ = c.resume().unwrap();
        fillers.push(c);
    }
    std::thread::sleep(Duration::from_millis(50));
    (listener, address, fillers)
}

#[cfg(target_os = "linux")]
#[test]
fn spurious_wake_ups_stay_pending_and_skip_moves_on() {
    let (_listener, stuck, _fillers) = stuck_listener();
    let good_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let good = Address::Tcp(good_listener.local_addr().unwrap());

    // One address at a time: the good one starts only when the stuck one is skipped.
    let mut c = Connect::new(vec![stuck.clone(), good.clone()]).attempt_delay(None);
    let Progress::Pending(first) = c.resume().unwrap() else {
        panic!("a connect to a full listener finished at once");
    };
    assert_eq!(c.current_address(), Some(&stuck));
    // Waking up with nothing ready, as often as we like: same descriptor, still pending.
    assert!(!first.wait(Some(Duration::from_millis(20))).unwrap());
    for _ in 0..3 {
        match c.resume().unwrap() {
            Progress::Pending(again) => assert_eq!(again, first),
            Progress::Ready(_) => panic!("connected to a full listener"),
        }
    }
    // Give up on it: the next address connects.
    c.skip_current();
    let (t, _) = drive(&mut c);
    assert_eq!(t.unwrap().peer_address().unwrap(), good);
}

#[cfg(target_os = "linux")]
#[test]
fn skipping_the_last_address_gives_timed_out() {
    let (_listener, stuck, _fillers) = stuck_listener();
    let mut c = Connect::new(vec![stuck.clone()]);
    assert!(matches!(c.resume().unwrap(), Progress::Pending(_)));
    c.skip_current();
    assert_eq!(c.current_address(), None);
    let e = c.resume().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    assert!(e.to_string().contains(&stuck.to_string()), "{e}");
}

#[cfg(target_os = "linux")]
#[test]
fn unix_backlog_full_fails_the_address_without_would_block() {
    let path = TempPath::new("backlog");
    let listener =
        socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None).unwrap();
    listener
        .bind(&socket2::SockAddr::unix(&path.0).unwrap())
        .unwrap();
    listener.listen(0).unwrap();
    let address = Address::Unix(path.0.clone());
    let mut connected = Vec::new();
    let error = loop {
        assert!(connected.len() < 100, "the backlog never filled");
        match drive(&mut Connect::new(vec![address.clone()])).0 {
            Ok(t) => connected.push(t),
            Err(e) => break e,
        }
    };
    assert_eq!(error.kind(), ErrorKind::ConnectionRefused, "{error}");
    assert!(error.to_string().contains("backlog"), "{error}");
}

#[test]
fn transport_pair_and_mio_registration() {
    let (mut a, mut b) = Transport::pair().unwrap();
    assert_eq!(b.peer_address().unwrap(), Address::Unix(PathBuf::new()));
    let mut poll = mio::Poll::new().unwrap();
    let mut events = mio::Events::with_capacity(4);
    poll.registry()
        .register(&mut a, mio::Token(7), mio::Interest::READABLE)
        .unwrap();
    (&b).write_all(b"x").unwrap();
    poll.poll(&mut events, WAIT).unwrap();
    assert!(events
        .iter()
        .any(|e| e.token() == mio::Token(7) && e.is_readable()));
    assert_eq!(read_n(&mut a, 1), b"x");
    poll.registry().deregister(&mut a).unwrap();
    drop(a);
    // The peer has gone: writing fails (no SIGPIPE), reading sees end of file.
    let e = b.write(b"y").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BrokenPipe);
    assert_eq!(b.read(&mut [0; 4]).unwrap(), 0);
}

#[test]
fn from_blocking_streams_become_non_blocking() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let t = Transport::from_tcp(stream).unwrap();
    assert!(SockRef::from(&t).nonblocking().unwrap());
    assert!(SockRef::from(&t).tcp_nodelay().unwrap());
    let (u, _v) = UnixStream::pair().unwrap();
    let t = Transport::from_unix(u).unwrap();
    assert!(SockRef::from(&t).nonblocking().unwrap());
    let e = (&t).read(&mut [0; 1]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WouldBlock);
}

#[test]
fn host_header_table() {
    let v6 =
        |s: &str, port, scope| Address::from(SocketAddrV6::new(s.parse().unwrap(), port, 0, scope));
    let cases: Vec<(Address, Option<&str>)> = vec![
        (
            Address::from(([208, 80, 154, 224], 80)),
            Some("208.80.154.224:80"),
        ),
        (
            Address::from(([127, 0, 0, 1], 8080)),
            Some("127.0.0.1:8080"),
        ),
        (
            v6("2620:0:861:ed1a::1", 80, 0),
            Some("[2620:0:861:ed1a::1]:80"),
        ),
        (v6("::1", 443, 0), Some("[::1]:443")),
        (v6("fe80::1", 80, 2), Some("[fe80::1]:80")),
        (
            Address::from(SocketAddrV6::new(
                "fe80::e8b:fdff:fe75:402c".parse().unwrap(),
                80,
                7,
                3,
            )),
            Some("[fe80::e8b:fdff:fe75:402c]:80"),
        ),
        (Address::unix("/tmp/my.socket"), None),
        (Address::unix("@00022"), None),
    ];
    for (address, expected) in cases {
        assert_eq!(address.host_header().as_deref(), expected, "{address:?}");
    }

    for (name, port, expected) in [
        ("www.wikipedia.org", 80, "www.wikipedia.org:80"),
        ("example.com", 8443, "example.com:8443"),
        ("localhost", 1, "localhost:1"),
        ("208.80.154.224", 80, "208.80.154.224:80"),
        ("2620:0:861:ed1a::1", 80, "[2620:0:861:ed1a::1]:80"),
        ("[::1]", 80, "[::1]:80"),
        ("fe80::1%2", 80, "[fe80::1]:80"),
        ("fe80::1%eth0", 8080, "[fe80::1]:8080"),
    ] {
        assert_eq!(host_header_for_name(name, port), expected, "{name}");
    }
}

#[test]
fn address_display_and_unix_forms() {
    assert_eq!(
        Address::from(([127, 0, 0, 1], 80)).to_string(),
        "127.0.0.1:80"
    );
    let link_local = Address::from(SocketAddrV6::new("fe80::1".parse().unwrap(), 80, 0, 2));
    assert_eq!(link_local.to_string(), "[fe80::1%2]:80");
    assert_eq!(Address::unix("/run/a.sock").to_string(), "/run/a.sock");
    assert_eq!(
        Address::unix("relative/@x"),
        Address::Unix("relative/@x".into())
    );
    assert!(Address::unix("/a").is_unix());
    assert!(!Address::from(([127, 0, 0, 1], 80)).is_unix());
    #[cfg(target_os = "linux")]
    {
        assert_eq!(Address::unix("@"), Address::UnixAbstract(Vec::new()));
        assert_eq!(
            Address::UnixAbstract(b"a\0b\xff".to_vec()).to_string(),
            "@a\\x00b\\xff"
        );
    }
}

#[test]
fn resolve_literals_and_localhost() {
    assert_eq!(
        resolve("127.0.0.1", 80).unwrap(),
        vec![Address::from(([127, 0, 0, 1], 80))]
    );
    let v6_loopback = vec![Address::from((Ipv6Addr::LOCALHOST, 443))];
    assert_eq!(resolve("::1", 443).unwrap(), v6_loopback);
    assert_eq!(resolve("[::1]", 443).unwrap(), v6_loopback);
    // A zone becomes the scope id.
    let lo = loopback_index();
    assert_eq!(
        resolve(&format!("fe80::1%{lo}"), 80).unwrap(),
        vec![Address::from(SocketAddrV6::new(
            "fe80::1".parse().unwrap(),
            80,
            0,
            lo
        ))]
    );
    let local = resolve("localhost", 8080).unwrap();
    assert!(!local.is_empty());
    for a in &local {
        assert!(
            matches!(a, Address::Tcp(s) if s.ip().is_loopback() && s.port() == 8080),
            "{a}"
        );
    }
}

#[test]
fn resolve_then_connect_to_localhost() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // localhost may resolve to ::1 first, where nothing listens: that address is skipped.
    let client = connect(resolve("localhost", port).unwrap());
    assert_eq!(
        client.peer_address().unwrap(),
        Address::from(([127, 0, 0, 1], port))
    );
}

#[test]
fn resolve_failure_names_the_host() {
    let e = resolve("no-such-host.invalid", 80).unwrap_err();
    assert!(e.to_string().contains("no-such-host.invalid"), "{e}");
}

// ---------------------------------------------------------------------------------------
// Racing the addresses (RFC 8305)

/// Drives a connect as a careful caller does: waits on its descriptor, but not past the
/// time its next attempt is due. Returns the result and each `PollNeeded` it gave.
fn race(connect: &mut Connect) -> (std::io::Result<Transport>, Vec<PollNeeded>) {
    let mut needs = Vec::new();
    loop {
        match connect.resume() {
            Ok(Progress::Ready(t)) => return (Ok(t), needs),
            Ok(Progress::Pending(need)) => {
                needs.push(need);
                assert!(needs.len() < 1000, "connect never finished");
                let due = connect
                    .next_attempt_at()
                    .map(|at| at.saturating_duration_since(Instant::now()));
                need.wait(due.or(WAIT)).unwrap();
            }
            Err(e) => return (Err(e), needs),
        }
    }
}

/// A port on ::1 where nothing listens; `None` without IPv6.
fn refused_port_v6() -> Option<u16> {
    let listener = TcpListener::bind("[::1]:0").ok()?;
    Some(listener.local_addr().unwrap().port())
}

/// The case of a name whose first address drops everything: the next is tried after the
/// attempt delay, not after a timeout. Written against the API that was there before
/// racing (a caller that wakes up often), so that it fails without it.
#[cfg(target_os = "linux")]
#[test]
fn a_blackholed_first_address_costs_the_attempt_delay() {
    let hole = Blackhole::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let good = Address::Tcp(listener.local_addr().unwrap());
    let start = Instant::now();
    let mut c = Connect::new(vec![hole.address(), good.clone()]);
    let transport = loop {
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "not connected within 1 s (attempting {:?})",
            c.current_address()
        );
        match c.resume().unwrap() {
            Progress::Ready(t) => break t,
            Progress::Pending(need) => {
                need.wait(Some(Duration::from_millis(20))).unwrap();
            }
        }
    };
    assert!(
        start.elapsed() >= DEFAULT_ATTEMPT_DELAY,
        "{:?}",
        start.elapsed()
    );
    assert_eq!(transport.peer_address().unwrap(), good);
    listener.accept().unwrap();
}

#[cfg(target_os = "linux")]
#[test]
fn a_blackholed_first_address_with_a_caller_that_follows_next_attempt_at() {
    let hole = Blackhole::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let good = Address::Tcp(listener.local_addr().unwrap());
    let start = Instant::now();
    let mut c = Connect::new(vec![hole.address(), good.clone()]);
    let (transport, needs) = race(&mut c);
    assert_eq!(transport.unwrap().peer_address().unwrap(), good);
    let elapsed = start.elapsed();
    assert!(
        elapsed >= DEFAULT_ATTEMPT_DELAY && elapsed < Duration::from_secs(1),
        "{elapsed:?}"
    );
    // While one attempt was in progress the caller waited on its socket, for writable.
    assert_eq!(needs[0].interest, Interest::WRITABLE);
    assert!(c.next_attempt_at().is_none(), "over");
}

/// Two attempts in progress, each to a blackhole; one is let through. The descriptor given
/// for the two becomes readable when it connects, and it wins, first or second.
#[cfg(target_os = "linux")]
fn two_blackholes_and_one_lets_through(opened: usize) {
    let holes = [Blackhole::new(), Blackhole::new()];
    let mut c = Connect::new(vec![holes[0].address(), holes[1].address()]);
    assert!(
        c.next_attempt_at().unwrap() <= Instant::now(),
        "the first starts at once"
    );
    let Progress::Pending(first) = c.resume().unwrap() else {
        panic!("connected to a blackhole");
    };
    assert_eq!(first.interest, Interest::WRITABLE);
    assert_eq!(c.current_address(), Some(&holes[0].address()));
    let due = c.next_attempt_at().expect("the second is due later");
    let delay = due.saturating_duration_since(Instant::now());
    assert!(delay <= DEFAULT_ATTEMPT_DELAY, "{delay:?}");
    // Before it is due, resuming starts nothing.
    match c.resume().unwrap() {
        Progress::Pending(again) if Instant::now() < due => assert_eq!(again, first),
        Progress::Pending(_) => {}
        Progress::Ready(_) => panic!("connected to a blackhole"),
    }
    std::thread::sleep(due.saturating_duration_since(Instant::now()));
    let Progress::Pending(both) = c.resume().unwrap() else {
        panic!("connected to a blackhole");
    };
    assert_eq!(both.interest, Interest::READABLE);
    assert_ne!(both.fd, first.fd);
    assert_eq!(c.current_address(), Some(&holes[1].address()));
    assert_eq!(c.next_attempt_at(), None, "no address left");
    assert!(wait_any(&[both], Some(Duration::from_millis(50)))
        .unwrap()
        .is_empty());
    // Still nothing: the same descriptor again.
    match c.resume().unwrap() {
        Progress::Pending(again) => assert_eq!(again, both),
        Progress::Ready(_) => panic!("connected to a blackhole"),
    }
    holes[opened].open_up();
    // The next SYN of the attempt goes through (1 s after it started, for Linux).
    assert_eq!(
        wait_any(&[both], Some(Duration::from_secs(5))).unwrap(),
        vec![both.fd]
    );
    let (transport, _) = race(&mut c);
    assert_eq!(
        transport.unwrap().peer_address().unwrap(),
        holes[opened].address()
    );
}

#[cfg(target_os = "linux")]
#[test]
fn the_first_address_wins_when_it_connects_after_the_second_started() {
    two_blackholes_and_one_lets_through(0);
}

#[cfg(target_os = "linux")]
#[test]
fn the_second_address_wins_when_it_connects_first() {
    two_blackholes_and_one_lets_through(1);
}

#[cfg(target_os = "linux")]
#[test]
fn skipping_gives_up_every_attempt_in_progress() {
    let holes = [Blackhole::new(), Blackhole::new()];
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let good = Address::Tcp(listener.local_addr().unwrap());
    let addresses = vec![holes[0].address(), holes[1].address(), good.clone()];
    // All at once: the good one too.
    let mut c = Connect::new(addresses.clone()).attempt_delay(Some(Duration::ZERO));
    let (transport, _) = race(&mut c);
    assert_eq!(transport.unwrap().peer_address().unwrap(), good);
    // Two in progress, then given up: the next resume goes on with the third address.
    let mut c = Connect::new(addresses).attempt_delay(Some(Duration::from_millis(50)));
    while c.current_address() != Some(&holes[1].address()) {
        let Progress::Pending(need) = c.resume().unwrap() else {
            panic!("connected to a blackhole");
        };
        let _ = need.wait(Some(Duration::from_millis(10)));
    }
    c.skip_current();
    assert_eq!(c.current_address(), None);
    let (transport, _) = race(&mut c);
    assert_eq!(transport.unwrap().peer_address().unwrap(), good);
    // With nothing left, the error names every address given up.
    let mut c = Connect::new(vec![holes[0].address(), holes[1].address()])
        .attempt_delay(Some(Duration::ZERO));
    assert!(matches!(c.resume().unwrap(), Progress::Pending(_)));
    c.skip_current();
    let e = c.resume().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    let message = e.to_string();
    for hole in &holes {
        assert!(message.contains(&hole.address().to_string()), "{message}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn no_attempt_delay_tries_one_address_at_a_time() {
    let hole = Blackhole::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let good = Address::Tcp(listener.local_addr().unwrap());
    let mut c = Connect::new(vec![hole.address(), good.clone()]).attempt_delay(None);
    let Progress::Pending(need) = c.resume().unwrap() else {
        panic!("connected to a blackhole");
    };
    assert_eq!(c.next_attempt_at(), None);
    let start = Instant::now();
    while start.elapsed() < DEFAULT_ATTEMPT_DELAY * 2 {
        let _ = need.wait(Some(Duration::from_millis(50)));
        match c.resume().unwrap() {
            Progress::Pending(again) => assert_eq!(again, need, "the same socket"),
            Progress::Ready(_) => panic!("a second address was tried"),
        }
    }
    assert_eq!(c.current_address(), Some(&hole.address()));
    c.skip_current();
    let (transport, _) = race(&mut c);
    assert_eq!(transport.unwrap().peer_address().unwrap(), good);
}

/// The error when all fail is the last attempt's: with racing, the last in the order
/// interleaved by family; one at a time, the last given.
#[test]
fn all_refused_gives_the_last_attempts_error_in_family_order() {
    let (Some(p1), Some(p2)) = (refused_port_v6(), refused_port_v6()) else {
        eprintln!("no IPv6 loopback: skipped");
        return;
    };
    let v6a = Address::Tcp(SocketAddr::from((Ipv6Addr::LOCALHOST, p1)));
    let v6b = Address::Tcp(SocketAddr::from((Ipv6Addr::LOCALHOST, p2)));
    let v4 = Address::from(([127, 0, 0, 1], refused_port()));
    let addresses = vec![v6a, v6b.clone(), v4.clone()];
    for (delay, last) in [(Some(DEFAULT_ATTEMPT_DELAY), &v6b), (None, &v4)] {
        let mut c = Connect::new(addresses.clone()).attempt_delay(delay);
        let start = Instant::now();
        let e = race(&mut c).0.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
        assert!(
            e.to_string().contains(&format!("connecting to {last}:")),
            "{delay:?}: {e}"
        );
        // A failure starts the next attempt at once.
        assert!(
            start.elapsed() < DEFAULT_ATTEMPT_DELAY,
            "{:?}",
            start.elapsed()
        );
    }
}

/// An attempt that fails gives the next one a new descriptor number: closed before the
/// next socket is made, its number would be the next socket's, and a caller's poller told
/// the same descriptor as before would not know that its registration went with the close
/// (epoll drops a closed descriptor), and never hear of the new socket.
#[cfg(target_os = "linux")]
#[test]
fn the_attempt_after_a_failed_one_has_a_descriptor_of_its_own() {
    let refused = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        Address::Tcp(listener.local_addr().unwrap())
    };
    let hole = Blackhole::new();
    let mut connect = Connect::new(vec![refused, hole.address()]).attempt_delay(None);
    let first = match connect.resume().unwrap() {
        Progress::Pending(need) => need,
        Progress::Ready(_) => panic!("connected to a closed port"),
    };
    // Its refusal has come.
    assert!(first.wait(Some(Duration::from_secs(5))).unwrap());
    let second = match connect.resume().unwrap() {
        Progress::Pending(need) => need,
        Progress::Ready(_) => panic!("connected to a blackhole"),
    };
    assert_ne!(first.fd, second.fd);
    assert_eq!(
        connect.current_address(),
        Some(&hole.address()),
        "the second address is being tried"
    );
}
