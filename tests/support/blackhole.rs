//! A TCP address whose connects hang, as behind a route that drops everything (a broken
//! IPv6 path), without root: a listener that never accepts, its accept queue full. Linux
//! drops a SYN that finds the queue full, and the client sends it again after 1 s, 3 s...
//! [`Blackhole::open_up`] makes room, so the next retransmission of each waiting connect
//! goes through.
#![allow(dead_code, unreachable_pub)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::Duration;

use pollhttp::io::Address;
use pollhttp::{Interest, PollNeeded};
use socket2::{Domain, Socket, Type};

/// How long a probe connect may take and still count as answered.
const PROBE: Duration = Duration::from_millis(100);

/// A listener whose connects hang until [`open_up`](Self::open_up).
pub struct Blackhole {
    listener: Socket,
    address: SocketAddr,
    /// Connects that filled the queue, and the last, which hung: kept open, so the queue
    /// stays full.
    _fillers: Vec<Socket>,
}

impl Blackhole {
    /// On 127.0.0.1.
    pub fn new() -> Self {
        Self::at(IpAddr::V4(Ipv4Addr::LOCALHOST)).expect("blackhole on 127.0.0.1")
    }

    /// On `ip` (`None` if the system cannot listen there, say `::1` without IPv6).
    pub fn at(ip: IpAddr) -> Option<Self> {
        let domain = Domain::for_address(SocketAddr::new(ip, 0));
        let listener = Socket::new(domain, Type::STREAM, None).ok()?;
        listener.bind(&SocketAddr::new(ip, 0).into()).ok()?;
        listener.listen(0).ok()?;
        let address = listener.local_addr().ok()?.as_socket()?;
        let mut fillers = Vec::new();
        // Fill the queue until a connect does not complete: its SYN was dropped.
        loop {
            assert!(
                fillers.len() < 64,
                "the accept queue of {address} never filled"
            );
            let probe = Socket::new(domain, Type::STREAM, None).unwrap();
            probe.set_nonblocking(true).unwrap();
            let _ = probe.connect(&address.into());
            let need = PollNeeded {
                fd: probe.as_raw_fd(),
                interest: Interest::WRITABLE,
            };
            let answered = need.wait(Some(PROBE)).unwrap();
            fillers.push(probe);
            if !answered {
                break;
            }
        }
        Some(Self {
            listener,
            address,
            _fillers: fillers,
        })
    }

    pub fn address(&self) -> Address {
        Address::Tcp(self.address)
    }

    pub fn socket_address(&self) -> SocketAddr {
        self.address
    }

    /// Makes room in the accept queue (listen(2) again with a larger backlog): connects
    /// waiting here complete at their next SYN, at most a few seconds later.
    pub fn open_up(&self) {
        self.listener.listen(128).unwrap();
    }
}
