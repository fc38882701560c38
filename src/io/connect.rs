//! [`Connect`]: connecting without blocking, racing the addresses as RFC 8305 ("Happy
//! Eyeballs v2") describes: families interleaved (§4), the next attempt started after the
//! connection attempt delay or when one fails (§5), the first connection made kept. The
//! rules are on [`Connect`]; how one descriptor stands for several attempts, in
//! [`any_ready`](super::any_ready).

use std::collections::VecDeque;
use std::io;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use socket2::{Domain, SockAddr, Socket, Type};

use super::any_ready::AnyReady;
use super::descriptors::out_of_descriptors;
use super::{annotate, Address, Transport};
use crate::{Interest, PollNeeded, Progress};

/// How long an attempt is in progress before the next address is tried beside it, by
/// default: 250 ms, as RFC 8305 §5 recommends.
pub const DEFAULT_ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// A resumable connect: races the addresses as RFC 8305 ("Happy Eyeballs v2") describes,
/// and gives the first connection made.
///
/// Each [`resume`](Self::resume) makes what progress it can without blocking. While
/// connections are in progress it returns [`Progress::Pending`] naming the descriptor to
/// wait on; resume again when it is ready, or at [`next_attempt_at`](Self::next_attempt_at)
/// if that comes first, or whenever you like (waking up early is harmless: it just asks
/// again). When all addresses have failed, `resume` returns the last error, which names
/// its address. The [`Transport`] it gives is non-blocking, close-on-exec, and has
/// `TCP_NODELAY` on; the attempts that lost are closed.
///
/// # The order
///
/// The addresses are tried alternating address families (RFC 8305 §4): the first
/// address's family first, then the next family, and so on, each family keeping its own
/// order (the resolver's preference). `[v6a, v6b, v6c, v4a, v4b]` is tried as
/// `[v6a, v4a, v6b, v4b, v6c]`, so a family that does not work at all (IPv6 routes that
/// drop everything) costs one attempt delay, not one per address. Unix sockets are a
/// family of their own.
///
/// # When attempts start
///
/// The first attempt starts at the first `resume`. The next one starts when the newest
/// attempt has been in progress for the *connection attempt delay* (RFC 8305 §5;
/// [`DEFAULT_ATTEMPT_DELAY`], 250 ms, see [`attempt_delay`](Self::attempt_delay)), or at
/// once when an attempt fails; the earlier attempts keep going. The first to connect wins,
/// and the others are closed. With [`attempt_delay(None)`](Self::attempt_delay) the
/// addresses are tried one at a time, in the order given, as a plain sequential connect.
///
/// # What to wait on
///
/// The descriptor changes as attempts start and end: wait on the one in each
/// [`PollNeeded`] (with mio, register each new one for what it asks; a closed descriptor
/// leaves the poller by itself). A new descriptor always has a number of its own: the
/// socket of an attempt that ended closes only once the next one is made, so a number
/// that stays the same from one `Pending` to the next is the same descriptor. With one
/// attempt in progress it is that socket, for writable, as with a plain connect. With more it is a descriptor of this `Connect` (an
/// epoll or kqueue instance holding their sockets), for readable: it becomes readable when
/// any of them connects or fails, and poll(2), select, epoll and mio can all wait on it.
///
/// There is no timeout here: the caller decides how long to wait. To give up on what is in
/// progress and go on with the next address, call [`skip_current`](Self::skip_current).
///
/// ```no_run
/// use pollhttp::io::{Address, Connect};
/// use pollhttp::Progress;
/// use std::time::{Duration, Instant};
/// # fn main() -> std::io::Result<()> {
/// let addresses = pollhttp::io::resolve("example.com", 80)?;
/// let timeout = Duration::from_secs(10);
/// let mut connect = Connect::new(addresses);
/// let transport = loop {
///     match connect.resume()? {
///         Progress::Ready(transport) => break transport,
///         Progress::Pending(need) => {
///             let due = connect
///                 .next_attempt_at()
///                 .map(|at| at.saturating_duration_since(Instant::now()));
///             match due {
///                 // The next address is due first: resume then, ready or not.
///                 Some(due) if due < timeout => {
///                     need.wait(Some(due))?;
///                 }
///                 _ => {
///                     if !need.wait(Some(timeout))? {
///                         connect.skip_current(); // too slow: the next address, or the error
///                     }
///                 }
///             }
///         }
///     }
/// };
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Connect {
    /// Addresses not tried yet, in the order they will be.
    untried: VecDeque<Address>,
    /// Whether `untried` has been put in its racing order (at the first `resume`).
    ordered: bool,
    /// Connections in progress, oldest first.
    attempts: Vec<Attempt>,
    attempt_delay: Option<Duration>,
    /// An attempt failed: the next one starts without waiting for the delay.
    start_next: bool,
    /// The attempts in progress behind one descriptor, once two were at once.
    any_ready: Option<AnyReady>,
    /// No descriptor was left for another attempt: none starts before this.
    held_back_until: Option<Instant>,
    /// Sockets of attempts that ended, closed at the end of `resume`, once any new attempt
    /// has its descriptor. Closed at once, a socket's number could be the next attempt's
    /// at once: a caller's poller told "the same descriptor" would go on watching the
    /// registration the close removed, and never see the new socket.
    ended: Vec<Socket>,
    last_error: Option<io::Error>,
    finished: bool,
}

/// A connection in progress.
#[derive(Debug)]
struct Attempt {
    socket: Socket,
    address: Address,
    started: Instant,
    /// Followed by `any_ready`.
    followed: bool,
}

impl Connect {
    /// Connects to one of `addresses`, racing them with the
    /// [default attempt delay](DEFAULT_ATTEMPT_DELAY) in the order described
    /// [above](Self#the-order). Nothing happens until the first
    /// [`resume`](Self::resume).
    pub fn new(addresses: Vec<Address>) -> Self {
        Self {
            untried: addresses.into(),
            ordered: false,
            attempts: Vec::new(),
            attempt_delay: Some(DEFAULT_ATTEMPT_DELAY),
            start_next: false,
            any_ready: None,
            held_back_until: None,
            ended: Vec::new(),
            last_error: None,
            finished: false,
        }
    }

    /// Sets how long an attempt is in progress before the next address is tried beside it
    /// (RFC 8305's *connection attempt delay*). `None`: one address at a time, in the order
    /// given (not interleaved by family), the next only when the one in progress fails or
    /// is [skipped](Self::skip_current). `Some(Duration::ZERO)` starts them all at once.
    /// The default is [`DEFAULT_ATTEMPT_DELAY`], 250 ms. Set it before the first
    /// [`resume`](Self::resume).
    ///
    /// ```
    /// use pollhttp::io::{Address, Connect};
    /// use std::time::Duration;
    /// let addresses = vec![Address::unix("/run/a.sock"), Address::unix("/run/b.sock")];
    /// // One at a time, in this order: b only once a has failed (or been skipped).
    /// let one_at_a_time = Connect::new(addresses.clone()).attempt_delay(None);
    /// // Both at once: the first to accept wins.
    /// let all_at_once = Connect::new(addresses).attempt_delay(Some(Duration::ZERO));
    /// ```
    #[must_use]
    pub fn attempt_delay(mut self, delay: Option<Duration>) -> Self {
        self.attempt_delay = delay;
        self
    }

    /// When the next address is due to be tried if nothing else happens first: resume by
    /// then even if nothing is ready. `None` when no attempt waits for time (every address
    /// has been tried, or they go one at a time, or the connect is over).
    ///
    /// Before the first [`resume`](Self::resume), and after
    /// [`skip_current`](Self::skip_current) with addresses left, it is now.
    pub fn next_attempt_at(&self) -> Option<Instant> {
        if self.finished || self.untried.is_empty() {
            return None;
        }
        let Some(newest) = self.attempts.last() else {
            return Some(Instant::now());
        };
        let due = newest.started + self.attempt_delay?;
        Some(match self.held_back_until {
            // An attempt failed: the next was due at once, but had no descriptor.
            Some(held) if self.start_next => held,
            Some(held) => held.max(due),
            None => due,
        })
    }

    /// Makes progress: returns the connected [`Transport`], or what to wait for before
    /// resuming, or the last address's error when all have failed (an empty address list
    /// is an [`InvalidInput`](io::ErrorKind::InvalidInput) error). Never returns an error of
    /// kind `WouldBlock`. Resuming after `Ready` or an error is an `InvalidInput` error.
    pub fn resume(&mut self) -> io::Result<Progress<Transport>> {
        let progress = self.step();
        // Only now, with any new attempt's descriptor taken: see `ended`.
        self.ended.clear();
        progress
    }

    /// One `resume`, closing no socket: those of attempts that end go to `ended`.
    fn step(&mut self) -> io::Result<Progress<Transport>> {
        if self.finished {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Connect resumed after it finished",
            ));
        }
        if !self.ordered {
            self.ordered = true;
            if self.attempt_delay.is_some() {
                self.untried = interleave_families(std::mem::take(&mut self.untried));
            }
        }
        if let Some(any_ready) = &mut self.any_ready {
            // Each attempt is looked at below: only later changes need to wake the caller.
            if let Err(e) = any_ready.clear() {
                return Err(self.fail(annotate(e, None, "watching connection attempts".into())));
            }
        }
        let mut i = 0;
        while i < self.attempts.len() {
            match is_connected(&self.attempts[i].socket) {
                Ok(true) => {
                    let attempt = self.attempts.remove(i);
                    return Ok(Progress::Ready(self.done(attempt.socket, &attempt.address)));
                }
                Ok(false) => i += 1,
                Err(e) => {
                    let attempt = self.attempts.remove(i);
                    self.drop_attempt(attempt.socket);
                    let what = format!("connecting to {}", attempt.address);
                    self.last_error = Some(annotate(e, None, what));
                    self.start_next = true;
                }
            }
        }
        let now = Instant::now();
        while self.next_is_due(now) && !self.untried.is_empty() {
            let racing = !self.attempts.is_empty();
            if racing && self.any_ready.is_none() {
                // Made before the second attempt, so that a lack of descriptors holds it
                // back rather than failing the connect.
                match AnyReady::new() {
                    Ok(any_ready) => self.any_ready = Some(any_ready),
                    Err(e) if out_of_descriptors(&e) => {
                        self.hold_back(now);
                        break;
                    }
                    Err(e) => {
                        let e = annotate(e, None, "watching connection attempts".into());
                        return Err(self.fail(e));
                    }
                }
            }
            let address = self.untried.pop_front().expect("not empty");
            match start(&address) {
                Ok((socket, true)) => return Ok(Progress::Ready(self.done(socket, &address))),
                Ok((socket, false)) => {
                    self.start_next = false;
                    self.attempts.push(Attempt {
                        socket,
                        address,
                        started: now,
                        followed: false,
                    });
                }
                // This process has no descriptor to spare now: that is no fault of the
                // address, which is tried again later (the attempts in progress go on).
                Err(e) if racing && out_of_descriptors(&e) => {
                    self.untried.push_front(address);
                    self.hold_back(now);
                    break;
                }
                Err(e) => {
                    self.last_error = Some(e);
                    self.start_next = true;
                }
            }
        }
        if self.attempts.is_empty() {
            self.finished = true;
            return Err(self.last_error.take().unwrap_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "no addresses to connect to")
            }));
        }
        match self.need() {
            Ok(need) => Ok(Progress::Pending(need)),
            Err(e) => Err(self.fail(annotate(e, None, "watching connection attempts".into()))),
        }
    }

    /// Whether another address is to be tried now (if one is left).
    fn next_is_due(&self, now: Instant) -> bool {
        let Some(newest) = self.attempts.last() else {
            return true;
        };
        if self.held_back_until.is_some_and(|held| now < held) {
            return false;
        }
        match self.attempt_delay {
            None => false,
            Some(delay) => self.start_next || now >= newest.started + delay,
        }
    }

    /// Tries the next address again an attempt delay from `now`, when a descriptor may
    /// have been freed.
    fn hold_back(&mut self, now: Instant) {
        self.held_back_until = Some(now + self.attempt_delay.unwrap_or(DEFAULT_ATTEMPT_DELAY));
    }

    /// What to wait for with the attempts in progress (at least one).
    fn need(&mut self) -> io::Result<PollNeeded> {
        if let [only] = self.attempts.as_slice() {
            // The common case costs nothing more than a plain connect.
            return Ok(writable(&only.socket));
        }
        let any_ready = match &mut self.any_ready {
            Some(any_ready) => any_ready,
            None => self.any_ready.insert(AnyReady::new()?),
        };
        for attempt in self.attempts.iter_mut().filter(|a| !a.followed) {
            any_ready.add_writable(attempt.socket.as_raw_fd())?;
            attempt.followed = true;
        }
        Ok(PollNeeded {
            fd: any_ready.as_raw_fd(),
            interest: Interest::READABLE,
        })
    }

    /// Descriptors it holds now: a socket per attempt in progress, and the one that
    /// watches them when several are.
    pub(crate) fn descriptors(&self) -> usize {
        self.attempts.len() + usize::from(self.any_ready.is_some())
    }

    /// The address of the newest connection in progress, if any.
    pub fn current_address(&self) -> Option<&Address> {
        self.attempts.last().map(|a| &a.address)
    }

    /// The addresses of the connections in progress, oldest first: what a timeout of
    /// yours gives up on.
    pub fn addresses_in_progress(&self) -> impl Iterator<Item = &Address> {
        self.attempts.iter().map(|a| &a.address)
    }

    /// The addresses not tried yet, in the order they would be (families interleaved once
    /// the first [`resume`](Self::resume) has run). A caller whose timeout ended the
    /// connect before it reached them can start the next one with these, so that a
    /// timeout shorter than the attempt delays still lets every address be tried in turn.
    pub fn untried(&self) -> impl Iterator<Item = &Address> {
        self.untried.iter()
    }

    /// Gives up on every connection in progress (say, because nothing happened for too
    /// long): they fail with a [`TimedOut`](io::ErrorKind::TimedOut) error naming their
    /// addresses, and the next `resume` goes on with the next address not tried yet, or
    /// returns that error if there is none. Does nothing when no connection is in progress.
    pub fn skip_current(&mut self) {
        if self.attempts.is_empty() {
            return;
        }
        let timed_out = self.timed_out();
        for attempt in std::mem::take(&mut self.attempts) {
            self.drop_attempt(attempt.socket);
        }
        self.last_error = Some(timed_out);
    }

    /// The [`TimedOut`](io::ErrorKind::TimedOut) error of giving up now, naming the
    /// addresses in progress.
    pub(crate) fn timed_out(&self) -> io::Error {
        let addresses: Vec<String> = self
            .addresses_in_progress()
            .map(ToString::to_string)
            .collect();
        let what = if addresses.is_empty() {
            String::new()
        } else {
            format!(" to {}", addresses.join(", "))
        };
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("connecting{what}: timed out"),
        )
    }

    /// Ends an attempt that failed or was given up; its socket closes at the end of the
    /// next `resume` (see `ended`).
    fn drop_attempt(&mut self, socket: Socket) {
        if let Some(any_ready) = &self.any_ready {
            any_ready.remove(socket.as_raw_fd());
        }
        self.ended.push(socket);
    }

    /// Ends with `error`, closing what is in progress.
    fn fail(&mut self, error: io::Error) -> io::Error {
        self.finished = true;
        self.attempts.clear();
        self.any_ready = None;
        error
    }

    /// The winner: the other attempts are closed.
    fn done(&mut self, socket: Socket, address: &Address) -> Transport {
        self.finished = true;
        self.last_error = None;
        self.attempts.clear();
        self.any_ready = None;
        Transport::from_connected(socket, address.is_unix())
    }
}

/// The addresses in RFC 8305 §4's order: one of each family in turn, the first address's
/// family first, each family in its own order. Families are IPv6, IPv4 and Unix sockets,
/// taken in the order they first appear.
fn interleave_families(addresses: VecDeque<Address>) -> VecDeque<Address> {
    let mut families: Vec<VecDeque<Address>> = Vec::new();
    for address in addresses {
        match families
            .iter_mut()
            .find(|f| family(&f[0]) == family(&address))
        {
            Some(same) => same.push_back(address),
            None => families.push(VecDeque::from([address])),
        }
    }
    let mut ordered = VecDeque::new();
    while !families.is_empty() {
        families.retain_mut(|f| match f.pop_front() {
            Some(address) => {
                ordered.push_back(address);
                true
            }
            None => false,
        });
    }
    ordered
}

#[derive(PartialEq, Eq)]
enum Family {
    V4,
    V6,
    Unix,
}

fn family(address: &Address) -> Family {
    match address {
        Address::Tcp(a) if a.is_ipv4() => Family::V4,
        Address::Tcp(_) => Family::V6,
        _ => Family::Unix,
    }
}

fn writable(socket: &Socket) -> PollNeeded {
    PollNeeded {
        fd: socket.as_raw_fd(),
        interest: Interest::WRITABLE,
    }
}

/// Whether a connection in progress has completed; its error if it failed.
fn is_connected(socket: &Socket) -> io::Result<bool> {
    if let Some(e) = socket.take_error()? {
        return Err(e);
    }
    match socket.peer_addr() {
        Ok(_) => Ok(true),
        // Still in progress (a spurious wake-up).
        Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Creates a non-blocking socket for `address` and starts connecting it. Returns the
/// socket and whether it is already connected; errors name the address.
fn start(address: &Address) -> io::Result<(Socket, bool)> {
    let context = || format!("connecting to {address}");
    let (domain, target) = socket_address(address).map_err(|e| annotate(e, None, context()))?;
    let socket = new_socket(domain, address.is_unix()).map_err(|e| annotate(e, None, context()))?;
    match socket.connect(&target) {
        Ok(()) => Ok((socket, true)),
        // EINTR: a non-blocking connect that was interrupted goes on asynchronously.
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINPROGRESS | libc::EINTR)) => {
            Ok((socket, false))
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            // Not "in progress": for a Unix socket the listener's backlog is full and
            // nothing was queued (the socket polls as ready at once, so waiting on it would
            // spin); for TCP there is no local port or route entry. Either way this address
            // fails now, with a kind callers will not mistake for "wait and retry".
            let (kind, why) = if address.is_unix() {
                (
                    io::ErrorKind::ConnectionRefused,
                    "the listener's backlog is full",
                )
            } else {
                (
                    io::ErrorKind::AddrNotAvailable,
                    "no local address available",
                )
            };
            Err(annotate(e, Some(kind), format!("{} ({why})", context())))
        }
        Err(e) => Err(annotate(e, None, context())),
    }
}

fn socket_address(address: &Address) -> io::Result<(Domain, SockAddr)> {
    Ok(match address {
        Address::Tcp(a) => (Domain::for_address(*a), SockAddr::from(*a)),
        Address::Unix(path) => (Domain::UNIX, SockAddr::unix(path)?),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Address::UnixAbstract(name) => {
            use std::os::unix::ffi::OsStrExt;
            // socket2 takes an abstract name as a path whose first byte is NUL.
            let mut bytes = Vec::with_capacity(name.len() + 1);
            bytes.push(0);
            bytes.extend_from_slice(name);
            (
                Domain::UNIX,
                SockAddr::unix(std::ffi::OsStr::from_bytes(&bytes))?,
            )
        }
    })
}

/// A non-blocking, close-on-exec stream socket (socket2 sets close-on-exec), with
/// `TCP_NODELAY` on for TCP and, where send(2) lacks `MSG_NOSIGNAL`, `SO_NOSIGPIPE`.
fn new_socket(domain: Domain, unix: bool) -> io::Result<Socket> {
    let socket = Socket::new(domain, Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    if !unix {
        socket.set_tcp_nodelay(true)?;
    }
    #[cfg(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "tvos",
        target_os = "watchos"
    ))]
    socket.set_nosigpipe(true)?;
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(last: u8) -> Address {
        Address::from(([192, 0, 2, last], 80))
    }

    fn v6(last: u16) -> Address {
        Address::from(([0x2001, 0xdb8, 0, 0, 0, 0, 0, last], 80))
    }

    fn interleaved(addresses: Vec<Address>) -> Vec<Address> {
        interleave_families(addresses.into()).into()
    }

    #[test]
    fn families_alternate_from_the_first_address_family_each_in_its_order() {
        assert_eq!(
            interleaved(vec![v6(1), v6(2), v6(3), v4(1), v4(2)]),
            vec![v6(1), v4(1), v6(2), v4(2), v6(3)]
        );
        assert_eq!(
            interleaved(vec![v4(1), v6(1), v6(2), v6(3), v4(2)]),
            vec![v4(1), v6(1), v4(2), v6(2), v6(3)]
        );
        // A Unix socket is a family of its own, in turn with the others.
        let unix = Address::unix("/run/a.sock");
        assert_eq!(
            interleaved(vec![v4(1), v4(2), unix.clone(), v6(1)]),
            vec![v4(1), unix, v6(1), v4(2)]
        );
    }

    #[test]
    fn one_family_or_none_keeps_its_order() {
        assert_eq!(
            interleaved(vec![v4(3), v4(1), v4(2)]),
            vec![v4(3), v4(1), v4(2)]
        );
        assert_eq!(interleaved(vec![]), vec![]);
    }

    #[test]
    fn next_attempt_at_is_now_before_the_first_resume() {
        let c = Connect::new(vec![v4(1)]);
        assert!(c.next_attempt_at().unwrap() <= Instant::now());
        assert_eq!(Connect::new(Vec::new()).next_attempt_at(), None);
    }
}
