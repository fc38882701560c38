//! A guide to driving connections: blocking, from a mio loop, over raw poll(2), or many at
//! once through a [`Fetcher`](crate::pipeline::Fetcher).
//!
//! Everything that touches a socket in pollhttp is a resumable operation (see
//! [`op`](crate::op)). The three ways to use the client differ only in who waits.
//!
//! # 1. Blocking
//!
//! [`Client`](crate::client::Client) and [`Connection`](crate::client::Connection) wait
//! for you, in poll(2) on the connection's one descriptor, at most the client's timeout
//! each time:
//!
//! ```no_run
//! use pollhttp::client::Client;
//! # fn main() -> Result<(), pollhttp::Error> {
//! let mut conn = Client::resolving("localhost", 8080).connect()?;
//! let mut response = conn.get("/d1.html", Default::default())?;
//! let body = response.body.read_all()?;
//! # Ok(()) }
//! ```
//!
//! A blocking call is [`blocking::run`](crate::blocking::run) around an operation; you
//! can do the same with any operation, on a stream of your own.
//!
//! A large body bound for a file (or a pipe, a socket, `/dev/null`) need not pass through
//! your memory: [`BodyReader::copy_to`](crate::client::BodyReader::copy_to) (the operation
//! [`CopyBody`](crate::op::CopyBody)) moves it with splice(2) on Linux over clear text, and
//! copies it through a 512 KiB buffer otherwise. It is the one operation that may wait on a
//! descriptor other than the connection's: a full non-blocking destination, for writable.
//!
//! # 2. Your own event loop (mio, epoll)
//!
//! An operation's `resume` does all it can without blocking, then returns
//! [`Progress::Pending`](crate::Progress::Pending) with what it waits for. Register the
//! stream once ([`ClientStream`](crate::op::ClientStream) is a mio `Source`) for both
//! directions, edge-triggered, and after each wake-up resume every operation in progress
//! until each is pending again: edge triggering reports only changes, and an operation
//! that returned `Pending` has read or written until the socket said `WouldBlock`, which
//! is what edge triggering needs.
//!
//! ```no_run
//! use mio::{Events, Interest, Poll, Token};
//! use pollhttp::op::{Connect, Discard, Flush, ReadResponse};
//! use pollhttp::proto::BodyLength;
//! use pollhttp::Progress;
//! use http::{HeaderMap, HeaderValue, Method};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let addresses = pollhttp::io::resolve("localhost", 8080)?; // the one blocking step
//! let mut connect = Connect::new(addresses);
//! let mut stream = pollhttp::blocking::run(None, || connect.resume())?;
//!
//! let mut poll = Poll::new()?;
//! poll.registry().register(&mut stream, Token(0), Interest::READABLE | Interest::WRITABLE)?;
//! let mut events = Events::with_capacity(8);
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("host", HeaderValue::from_static("localhost:8080"));
//! // Pipelining: queue many requests (no I/O); a Flush writes them in few writes.
//! for i in 1..=1000 {
//!     stream.queue_request(&Method::GET, &format!("/d{}.html", i % 100 + 1), &headers, BodyLength::None)?;
//! }
//! let mut flush = Some(Flush::new());
//! let mut read = ReadResponse::new();
//! let mut body: Option<Discard> = None;
//! let mut done = 0;
//! while done < 1000 {
//!     // The send operation and the read operation, resumed alternately on one stream.
//!     if let Some(op) = &mut flush {
//!         if let Progress::Ready(()) = op.resume(&mut stream)? {
//!             flush = None;
//!         }
//!     }
//!     loop {
//!         if let Some(op) = &mut body {
//!             match op.resume(&mut stream)? {
//!                 Progress::Ready(_) => { body = None; done += 1; read = ReadResponse::new(); }
//!                 Progress::Pending(_) => break,
//!             }
//!         }
//!         match read.resume(&mut stream)? {
//!             Progress::Ready(head) => {
//!                 assert_eq!(head.status(), 200);
//!                 body = Some(Discard::new());
//!             }
//!             Progress::Pending(_) => break,
//!         }
//!     }
//!     if done < 1000 {
//!         poll.poll(&mut events, None)?;
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! This is the loop on one connection. For many requests over connections that servers
//! close, to one origin or many, use a [`Fetcher`](crate::pipeline::Fetcher) (section 4):
//! the `crawl` example drives one from mio.
//!
//! Points to keep in mind:
//!
//! - **Ops hold no borrow** of the stream between calls, so several can be in progress on
//!   one stream. Only one *send* and one *read* at a time make sense (bytes go out and
//!   come in in order).
//! - **Spurious wake-ups are harmless**: resuming an operation that cannot progress
//!   returns `Pending` again.
//! - **A read writes too**: while requests are queued and unwritten, a read operation
//!   writes them before it reads and asks for writable as well as readable. It cannot
//!   wait for a response to a request still in our own buffer.
//! - **Deadlock**: a client that only sends fills the socket, then the server's responses
//!   fill the other direction and the server stops reading. Keep a read operation going
//!   while you send, as above; then any number of requests can be in flight.
//! - **Errors are sticky**: an error ends the stream; every operation after it returns
//!   the same error. [`Error::is_temporary`](crate::Error::is_temporary) says whether a new
//!   connection may do better.
//!
//! # 3. Raw poll(2), select, or anything else
//!
//! [`PollNeeded`](crate::PollNeeded) is a plain descriptor and an
//! [`Interest`](crate::Interest): hand them to whatever waits. When two operations are
//! pending on the same stream, wait for the union of their interests:
//!
//! ```no_run
//! use pollhttp::{PollNeeded, Progress};
//! # fn f(send: Progress<()>, read: Progress<()>) -> std::io::Result<()> {
//! let mut wait: Option<PollNeeded> = None;
//! for step in [send, read] {
//!     if let Progress::Pending(need) = step {
//!         wait = Some(match wait {
//!             Some(w) => PollNeeded { fd: w.fd, interest: w.interest | need.interest },
//!             None => need,
//!         });
//!     }
//! }
//! if let Some(need) = wait {
//!     need.wait(None)?; // poll(2) on that one descriptor
//! }
//! # Ok(()) }
//! ```
//!
//! [`wait_any`](crate::wait_any) waits on several descriptors at once. The `select_loop`
//! example is the pipelined crawl written this way, over a
//! [`Fetcher`](crate::pipeline::Fetcher), with nothing but poll(2).
//!
//! # 4. Many requests, many connections: the `Fetcher`
//!
//! A [`Fetcher`](crate::pipeline::Fetcher) keeps requests flowing to any number of origins
//! over connections that come and go: servers close them (request caps, timeouts,
//! HTTP/1.0), and it opens new ones and sends the unanswered requests again. It uses one
//! descriptor per connection plus the resolver's, so it tells you which to follow, in the
//! form your poller wants:
//!
//! - **poll(2), select** (level-triggered): each turn, wait for
//!   [`wants`](crate::pipeline::Fetcher::wants), every descriptor with what it waits for
//!   now, then [`mark_ready`](crate::pipeline::Fetcher::mark_ready) those that are.
//! - **mio, epoll with `EPOLLET`** (edge-triggered): before each wait apply
//!   [`take_changes`](crate::pipeline::Fetcher::take_changes), registering each added
//!   descriptor once for readable and writable and deregistering each removed one; the
//!   fetcher drives a connection until it would block, as edge triggering needs. A removed
//!   descriptor stays open until the next `resume` (but for a failed connect's, and the one
//!   a connect racing several addresses waited on, closed already), and a number used again
//!   is added after its removal, so the deregistration cannot hit a new socket that took
//!   its number.
//!
//! Either way, wait at most [`timeout`](crate::pipeline::Fetcher::timeout) (deadlines for
//! connects, lookups and responses, and back-offs, are the fetcher's), then
//! [`resume`](crate::pipeline::Fetcher::resume) and take what finished:
//!
//! ```no_run
//! use mio::unix::SourceFd;
//! use pollhttp::pipeline::{Change, Config, Fetcher, Request};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut fetcher = Fetcher::new(Config::default());
//! fetcher.submit_url("http://localhost:8080/d1.html", Request::get("/"), 1)?;
//! let mut poll = mio::Poll::new()?;
//! let mut events = mio::Events::with_capacity(64);
//! fetcher.resume();
//! loop {
//!     // Before the check: a request can finish without a wait.
//!     while let Some(done) = fetcher.next_completed() {
//!         println!("{}: {:?}", done.tag, done.result.map(|r| r.status()));
//!     }
//!     if fetcher.unfinished() == 0 {
//!         break;
//!     }
//!     for change in fetcher.take_changes() {
//!         let both = mio::Interest::READABLE | mio::Interest::WRITABLE;
//!         match change {
//!             Change::Added(fd) => poll.registry().register(&mut SourceFd(&fd), mio::Token(fd as usize), both)?,
//!             Change::Removed(fd) => { let _ = poll.registry().deregister(&mut SourceFd(&fd)); }
//!         }
//!     }
//!     poll.poll(&mut events, fetcher.timeout())?;
//!     for event in &events {
//!         fetcher.mark_ready(event.token().0 as std::os::fd::RawFd);
//!     }
//!     fetcher.resume();
//! }
//! # Ok(()) }
//! ```
//!
//! # TLS
//!
//! TLS is another link under the same operations: connect with
//! [`op::Connect::tls`](crate::op::Connect::tls) (or
//! [`Client::with_tls`](crate::client::Client::with_tls)) and drive everything else as
//! above. One difference matters to an event loop: a TLS read may first have to *send*
//! records, and a write may first have to *receive*, so a `PollNeeded` can ask for the
//! direction opposite to the operation's. Registering for both directions (as above), or
//! waiting for exactly what each `PollNeeded` says, covers it.
//!
//! ```no_run
//! use pollhttp::op::Connect;
//! use pollhttp::tls::ClientTls;
//! # fn main() -> Result<(), pollhttp::Error> {
//! let tls = ClientTls::builder().ca_file("ca.pem").build()?;
//! let mut connect = Connect::new(pollhttp::io::resolve("localhost", 8443)?).tls(tls, "localhost");
//! let stream = pollhttp::blocking::run(None, || connect.resume())?; // TCP, then the handshake
//! println!("{:?}", stream.tls_info());
//! # Ok(()) }
//! ```
