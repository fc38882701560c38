//! The embedded server: plain handler functions on the same resumable I/O as the client.
//!
//! A handler is `Fn(&mut Session, Request) -> Response` (degu's RGI in Rust terms), a plain
//! function that may block. No client can hold a thread or stall other connections:
//!
//! - **Event loops.** Each worker (one per CPU by default) is an event loop over its own
//!   mio poller and the connections an acceptor thread dealt it, each driven by the op
//!   layer's [`ServerStream`](crate::op::ServerStream). Heads, bodies and responses move
//!   there without waiting: an idle connection costs no thread and no buffer, and a slow
//!   client only waits in the poller.
//! - **Request bodies** are received by the loop: a body is read ahead of its handler
//!   (whole, or its first 64 KiB, then as the handler reads, at most 64 KiB ahead), so the
//!   handler's [`RequestBody`] reads never wait on the network in the loop's place.
//! - **Responses** are written by the loop as the client takes them. A reader or chunk
//!   body is produced as the socket drains, a piece at a time (one read of at most 64 KiB,
//!   or one chunk), by its code running like a handler, with the loop released: a body
//!   that blocks (a pipe, a slow query, a stream of events) delays only its own
//!   connection. What was produced goes out before the next piece is asked for. Dropping
//!   the body's reader or chunks is its code too (a `Drop` may wait for a child process or
//!   close a cursor): done the same way once it has given its last piece, and on a thread
//!   of its own when its client went away first.
//! - **Deadlines and rates.** The head timeout (408) runs from a head's first byte; a
//!   request's head and body must arrive within [`Server::request_timeout`]; request bodies
//!   and responses must keep up a minimum rate ([`MinDataRate`], Kestrel's 240 B/s after
//!   5 s by default) or the connection is closed; idle connections close after the idle
//!   timeout. A client cut off while a response waits for it is reset rather than closed
//!   (`SO_LINGER` 0): the response bytes still queued in the kernel are dropped, not sent
//!   on to it a few at a time after the close.
//! - **Turns.** A streamed response body goes out a piece at a time (64 KiB from a reader
//!   or from a body in memory longer than 64 KiB, or one chunk), and after eight pieces
//!   the loop's other ready connections get their turn: a client that takes a long body
//!   as fast as it is written does not hold the loop. A long body in memory is written
//!   from where it is, not copied first.
//! - **Blocking handlers.** A handler runs on its loop's thread with the loop released, so
//!   one that returns at once costs no thread hand-off. One that blocks (it waits for its
//!   body, sleeps, calls a database) is noticed, at once when it waits for its body or by a
//!   watchdog within a few milliseconds, and another thread takes the loop over; when the
//!   handler returns, its thread takes the loop back. While the loop's handlers block
//!   lately (a crowd of clients of a slow database call), another thread takes the loop as
//!   each handler is called, so nobody waits for the watchdog either; as soon as most
//!   calls return at once again (within 0.2 ms, or blocking nowhere), or none has blocked
//!   for 0.1 s, the loop calls its handlers itself again. Threads that stood in wait 10 s,
//!   spares, for the next loop that needs one. After a second with no handler running,
//!   the watchdog sleeps until one starts: an idle server wakes only for its timers, a few
//!   times a second. A blocking handler delays only its own connection's responses, which
//!   stay in order. At most [`Server::max_blocked_handlers`] handlers are
//!   blocked at once; past that, handlers are called in turn as blocked ones return (none
//!   is refused or lost, but one whose client has left by its turn is not called), while
//!   the loop goes on reading, writing and timing out its connections. A handler waiting
//!   for its body is always stood in for, up to [`Server::max_body_waits`] of them, past
//!   which its read fails at once: with no thread on its loop, nothing would bring the
//!   body in. A response body's code (a reader, chunks) that blocks is stood in for within
//!   the same number, so a response under way goes on while the handlers' budget is full;
//!   past both, it waits its turn ahead of new handlers.
//!
//! ```no_run
//! use pollhttp::server::{Response, Server};
//! use http::StatusCode;
//! # fn main() -> std::io::Result<()> {
//! let server = Server::bind("127.0.0.1:8080".parse::<std::net::SocketAddr>().unwrap(), |_session, request| {
//!     match request.path() {
//!         "/" => Response::text(StatusCode::OK, "Hello, world!"),
//!         _ => Response::text(StatusCode::NOT_FOUND, "not found"),
//!     }
//! })?;
//! server.serve_forever()
//! # }
//! ```
//!
//! Protocol errors get their status (400, 413, 414, 431, 501, 505) and the connection is
//! closed; a head that does not arrive in time gets 408, and so does a short body that
//! stops coming before its handler was called; a handler that panics gives 500, that
//! connection closes, and the server goes on. The server relays no tunnel and switches to
//! no other protocol: a handler's 2xx to a CONNECT, or its 101, is answered 500 (logged),
//! and the connection goes on as after any refused switch.
//!
//! Every final response carries a `Date` (RFC 9110 §6.6.1; a handler's own `date` is
//! kept), formatted at most once a second on each thread. Connections persist as RFC 9112
//! §9.3 says: HTTP/1.1 unless either side says `Connection: close`, HTTP/1.0 when the
//! request asks for `keep-alive` and the response has a length (the response then says
//! `connection: keep-alive`; a body of unknown length ends with the close).

mod config;
mod conn;
mod eager;
mod feed;
mod group;
mod listener;
mod pool;
mod reaper;
mod request;
mod response;
mod session;
mod socket_file;
mod spin;

use std::io;
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

pub use crate::body::{Body, Chunk};
pub use config::{Handler, MinDataRate, OnConnect};
pub use request::{Request, RequestBody};
pub use response::Response;
pub use session::{Credentials, Session};

use crate::io::Address;
use crate::proto::Limits;
use crate::tls::ServerTls;
use config::Config;
use listener::Listener;

/// A server: where it listens, its handler, and its settings (builder methods). Run it with
/// [`serve_forever`](Self::serve_forever), or in the background with
/// [`start`](Self::start).
#[derive(Debug)]
pub struct Server {
    listener: Listener,
    config: Config,
}

impl Server {
    /// A server on `address`: TCP (IPv4, or IPv6 with its scope id), a Unix socket path,
    /// or a Linux abstract name ([`Address::unix`]`("@name")`). It listens with the
    /// system's maximum backlog (`net.core.somaxconn` on Linux), so that a burst of
    /// connects waits in the kernel's queue while the acceptor catches up.
    ///
    /// # A Unix socket path
    ///
    /// The socket file bound here belongs to the server: it is removed when the server
    /// stops (its [`RunningServer`] is shut down or dropped, or the `Server` is dropped, or
    /// [`serve_forever`](Self::serve_forever) returns), if the path still names that very
    /// socket (same device and inode as right after the bind), so a successor's socket
    /// bound there meanwhile is left alone. A process that is killed leaves its file
    /// behind, so binding deals with what it finds at the path:
    ///
    /// - a socket no one listens on (a connect to it is refused) is stale: it is removed
    ///   and the path bound again;
    /// - a socket a server listens on is left, and the bind fails with
    ///   [`io::ErrorKind::AddrInUse`] naming the path;
    /// - anything else (a regular file, a directory, a symbolic link) is left, and the bind
    ///   fails with [`io::ErrorKind::AddrInUse`] saying what is there.
    ///
    /// An empty path is refused with [`io::ErrorKind::InvalidInput`] (Linux would bind an
    /// abstract socket with a name of its own choosing). Abstract names have no file: they
    /// go with the socket.
    pub fn bind(
        address: impl Into<Address>,
        handler: impl for<'c> Fn(&mut Session, Request<'c>) -> Response + Send + Sync + 'static,
    ) -> io::Result<Self> {
        Ok(Self::with_listener(
            Listener::bind(&address.into())?,
            Arc::new(handler),
        ))
    }

    /// A server on a TCP listener you bound yourself. Its listen backlog stays yours:
    /// `std::net::TcpListener::bind` listens with 128, which a burst of connects can
    /// overflow (each client dropped waits a second to try again); [`Server::bind`] asks
    /// for the system's maximum, and `socket2::Socket::listen` lets you choose.
    pub fn from_tcp_listener(
        listener: std::net::TcpListener,
        handler: impl for<'c> Fn(&mut Session, Request<'c>) -> Response + Send + Sync + 'static,
    ) -> io::Result<Self> {
        Ok(Self::with_listener(
            Listener::from_tcp(listener)?,
            Arc::new(handler),
        ))
    }

    /// A server on a Unix listener you bound yourself (or were handed, by systemd's socket
    /// activation say). Its socket file stays yours: the server does not remove it.
    pub fn from_unix_listener(
        listener: std::os::unix::net::UnixListener,
        handler: impl for<'c> Fn(&mut Session, Request<'c>) -> Response + Send + Sync + 'static,
    ) -> io::Result<Self> {
        Ok(Self::with_listener(
            Listener::from_unix(listener)?,
            Arc::new(handler),
        ))
    }

    fn with_listener(listener: Listener, handler: Arc<Handler>) -> Self {
        let cpus = thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            listener,
            config: Config {
                handler,
                on_connect: None,
                tls: None,
                limits: Limits::server(),
                idle_timeout: config::IDLE_TIMEOUT,
                head_timeout: config::HEAD_TIMEOUT,
                body_timeout: config::BODY_TIMEOUT,
                request_timeout: config::REQUEST_TIMEOUT,
                min_request_body_rate: Some(config::MIN_DATA_RATE),
                min_response_rate: Some(config::MIN_DATA_RATE),
                max_blocked_handlers: config::MAX_BLOCKED_HANDLERS,
                max_body_waits: config::MAX_BODY_WAITS,
                max_connections: None,
                max_requests: None,
                workers: cpus,
                spin: spin::default_spin(cpus),
            },
        }
    }

    /// Speaks TLS with this configuration; the verified client certificate is in
    /// [`Session::client_certificate`].
    pub fn tls(mut self, tls: ServerTls) -> Self {
        self.config.tls = Some(tls);
        self
    }

    /// Calls `hook` for each new connection (after the TLS handshake), before any request;
    /// `false` closes it, and so does a hook that panics. It runs like a handler, with the
    /// loop released: a hook that blocks (a lookup of the peer, a query) delays only its
    /// own connection.
    pub fn on_connect(
        mut self,
        hook: impl Fn(&mut Session) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.config.on_connect = Some(Arc::new(hook));
        self
    }

    /// Worker event loops (default: the number of CPUs). Handlers that block do not count
    /// against them: see [`max_blocked_handlers`](Self::max_blocked_handlers).
    pub fn workers(mut self, n: usize) -> Self {
        self.config.workers = n.max(1);
        self
    }

    /// The most connections open at once; more are closed on accept. Without a cap set
    /// here, the server raises the process's soft limit on open files (`RLIMIT_NOFILE`,
    /// `ulimit -n`) when it starts, up to 18,724 or the hard limit if that is lower (as
    /// Go's runtime does), and caps connections at seven eighths of the soft limit, at
    /// most 16,384: 16,384 under the usual hard limits, 896 where the hard limit is 1,024.
    /// The eighth left over keeps room for the descriptors everything else needs (files
    /// the handlers open, their own connections) however many clients are connected.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.config.max_connections = Some(n.max(1));
        self
    }

    /// The most requests on one connection (default: no limit); the last response closes it.
    pub fn max_requests(mut self, n: u64) -> Self {
        self.config.max_requests = Some(n.max(1));
        self
    }

    /// How long a connection may sit idle between requests (default 60 s).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// How long a request head (or the TLS handshake) may take to arrive (default 10 s);
    /// then 408 and close.
    pub fn head_timeout(mut self, timeout: Duration) -> Self {
        self.config.head_timeout = timeout;
        self
    }

    /// How long each wait for request body bytes, or for the client to take response
    /// bytes, may last (default 30 s); then the connection closes (408 first if the
    /// handler was not called yet). The rates and the request deadline bound the whole.
    ///
    /// On Linux, a client taking a response counts as taking while its kernel acknowledges
    /// bytes (`SIOCOUTQ`), not only when the socket becomes writable again: a send buffer
    /// of megabytes is writable again only once a third of it is free, which a client
    /// reading tens of KiB/s takes minutes to free. The response is reset when the client
    /// took nothing for this long; or, once it has shown a step of acknowledgements after
    /// a pause (its kernel acknowledges what it read in steps, a 64 KiB segment over
    /// loopback), for as long as such a step takes at the minimum response rate, if that
    /// is longer.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.config.body_timeout = timeout;
        self
    }

    /// The most time a request's head and body may take to arrive, from its first byte
    /// (default 300 s); then the connection closes (408 if nothing of the request was
    /// answered yet). Bounds a client that sends just fast enough to pass the rates.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout = timeout;
        self
    }

    /// The least rate at which a client must send a request body (default 240 B/s after
    /// a 5 s grace, as Kestrel); `None`: no minimum. Time the handler spends not reading
    /// the body does not count against the client.
    pub fn min_request_body_rate(mut self, rate: Option<MinDataRate>) -> Self {
        self.config.min_request_body_rate = rate;
        self
    }

    /// The least rate at which a client must take a response (default 240 B/s after a
    /// 5 s grace, as Kestrel); `None`: no minimum. Time the handler's body takes to
    /// produce bytes does not count against the client. As Kestrel, each wait for the
    /// client must see it take what was queued when the wait began within the grace, or
    /// the time those bytes take at the rate. And on average over the wait: after the
    /// [`body_timeout`](Self::body_timeout) (how long it may take nothing at all), each
    /// byte it takes buys the time it takes at the rate, so a client taking a trickle
    /// below the rate is cut off soon after the body timeout (at 100 B/s against 240 B/s,
    /// 30 s: after 51 s), not after the minutes its queued bytes would take. On Linux,
    /// what the client took is what its kernel acknowledged, and a wait also counts the
    /// bytes written but not yet acknowledged ahead of the queue, up to one step of
    /// acknowledgements (64 KiB, or a larger step the client has shown).
    pub fn min_response_rate(mut self, rate: Option<MinDataRate>) -> Self {
        self.config.min_response_rate = rate;
        self
    }

    /// How many handlers may be blocked at once (default 512). A handler that blocks
    /// delays only its own connection: its worker's other connections move on in a thread
    /// of their own. While this many are blocked, handlers and
    /// `on_connect` hooks are called in turn as blocked ones return; none is refused or
    /// lost, and the loop goes on meanwhile with its connections' reads, writes and
    /// deadlines. One whose client has left by its turn (closed its side of the
    /// connection, or reset it) is dropped, not called: HTTP/1.1 has no other way to call
    /// a request off, and hyper and nginx drop such requests too. A handler waiting for its request body, and a response body's code,
    /// get a thread past this number: see [`max_body_waits`](Self::max_body_waits).
    ///
    /// `0` gives no thread to a blocked handler: handlers are always called at once, and
    /// one that blocks holds up its worker's loop until it returns.
    pub fn max_blocked_handlers(mut self, n: usize) -> Self {
        self.config.max_blocked_handlers = n;
        self
    }

    /// How many handlers may wait for their request body at once beyond the blocked ones
    /// (default 1024). Only its event loop can bring a body in, so a handler that waits for
    /// it gets a thread to stand in on its loop, and the client's rates and deadlines bound
    /// the wait. Such a handler is not counted in
    /// [`max_blocked_handlers`](Self::max_blocked_handlers) until it returns, so slow
    /// uploads do not hold back other requests. Past this number, or when the system refuses a thread, the handler's read
    /// fails at once (an [`io::ErrorKind::Other`] error saying why) rather than wait with
    /// no thread on its loop, which would stop the loop for good; the connection closes
    /// after the handler's response.
    ///
    /// Responses under way share these threads: a response body's code (a reader, a chunk
    /// iterator) runs while the blocked handlers fill their budget, and one that blocks is
    /// stood in for within this number. Past it, body code waits its turn, ahead of new
    /// handlers.
    pub fn max_body_waits(mut self, n: usize) -> Self {
        self.config.max_body_waits = n;
        self
    }

    /// How long an event loop that is kept busy polls for more before it sleeps (default
    /// 20 µs, none on a machine with one CPU; zero turns it off). After a wait that ended
    /// within this time, the next wait polls without blocking, yielding the CPU between
    /// polls, for up to this long, and only then sleeps. A busy loop is then not put to
    /// sleep and woken again every few microseconds, which costs its clients (and, on a
    /// virtual machine, the hypervisor) more than the polls. After a longer wait the loop
    /// sleeps at once. Measured in BENCHMARKS.md: 5 to 10% more requests a second under
    /// wrk pipelining 16 deep, and at most 6% of a CPU more under moderate loads.
    pub fn spin_before_sleep(mut self, spin: Duration) -> Self {
        self.config.spin = spin;
        self
    }

    /// Limits on requests (head size 16 KiB, 100 fields, optional body size...).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.config.limits = limits;
        self
    }

    /// The address the server listens on (with the port chosen, if it was 0).
    pub fn local_address(&self) -> io::Result<Address> {
        self.listener.local_address()
    }

    /// Serves on this thread until the process ends.
    pub fn serve_forever(self) -> io::Result<()> {
        pool::run(self.listener, self.config, |_| {})
    }

    /// Serves on a thread of its own; the handle gives the address and stops the server
    /// (degu's `start_server`).
    pub fn start(self) -> io::Result<RunningServer> {
        let address = self.listener.local_address()?;
        let (tx, rx) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("pollhttp-server".into())
            .spawn(move || {
                pool::run(self.listener, self.config, move |control| {
                    let _ = tx.send(control);
                })
            })?;
        let control = rx
            .recv()
            .map_err(|_| io::Error::other("the server thread failed to start"))?;
        Ok(RunningServer {
            address,
            control,
            thread: Some(thread),
        })
    }
}

/// A server running in the background. Dropping it stops the server, as
/// [`shutdown`](Self::shutdown) does.
#[derive(Debug)]
pub struct RunningServer {
    address: Address,
    control: Arc<pool::Control>,
    thread: Option<thread::JoinHandle<io::Result<()>>>,
}

impl RunningServer {
    /// Where it listens.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// Stops gracefully: no new connections, idle ones closed, requests in progress
    /// answered; returns when all are closed. A Unix socket file the server bound by path
    /// is removed as it stops accepting (see [`Server::bind`]).
    pub fn shutdown(mut self) -> io::Result<()> {
        self.stop()
    }

    fn stop(&mut self) -> io::Result<()> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        self.control.stop()?;
        thread
            .join()
            .map_err(|_| io::Error::other("the server thread panicked"))?
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
