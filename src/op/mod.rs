//! Resumable operations: each one makes what progress it can without blocking, then
//! either finishes or says which descriptor to wait on, and for what.
//!
//! Every operation has the same shape: build it, then call `resume(&mut stream)` until it
//! returns [`Progress::Ready`](crate::Progress::Ready). In between it returns
//! [`Progress::Pending`](crate::Progress::Pending) with a [`PollNeeded`](crate::PollNeeded):
//! wait for that descriptor and interest in your own loop (or with
//! [`PollNeeded::wait`](crate::PollNeeded::wait)) and resume. Waking up early is harmless:
//! the operation asks again.
//!
//! An operation holds no borrow of the [`ClientStream`] between calls. So a send and a
//! read can be in progress on the same stream at once and resumed alternately: that is how
//! requests are pipelined from one thread, with no deadlock however many are in flight
//! (the sends fill the socket, the reads drain it).
//!
//! The operations have no timeouts: how long to wait for a descriptor is the caller's
//! choice. One has a deadline of its own: [`WaitContinue`] stops waiting for a
//! `100 Continue` at its [`deadline`](WaitContinue::deadline), so the caller must resume it
//! then even if the descriptor is not ready.
//!
//! | operation | does | `Ready` with |
//! |---|---|---|
//! | [`Connect`] | connects to the first address that accepts | the [`ClientStream`] |
//! | [`SendRequest`] | writes a request head (and an in-memory body) | `()` |
//! | [`WriteBody`] | writes request body bytes ([`RequestBody::Following`], [`RequestBody::Chunked`]) | `()` |
//! | [`FinishBody`] | ends a request body (chunked: with trailers) | `()` |
//! | [`Flush`] | writes requests queued with [`ClientStream::queue_request`] | `()` |
//! | [`WaitContinue`] | waits for the `100 Continue` of a request that asked for one, until a deadline | [`Continue`]: the 100, the deadline, or a final response |
//! | [`ReadResponse`] | reads a response head (a `100` only to a request waiting for it) | the [`ResponseHead`](crate::proto::ResponseHead) |
//! | [`ReadBody`] | reads body bytes into your buffer | the count, `0` at the end |
//! | [`ReadAll`] | reads the rest of the body | the bytes |
//! | [`Discard`] | reads the rest of the body and drops it | the count |
//! | [`CopyBody`] | writes the rest of the body to a file descriptor (splice(2) on Linux) | the count |
//!
//! The server side, on a [`ServerStream`] (for a server loop of your own; the embedded
//! [`Server`](crate::server::Server) does this for you):
//!
//! | operation | does | `Ready` with |
//! |---|---|---|
//! | [`ReadRequest`] | reads the next request head (dropping what is left of the previous body) | the [`RequestHead`](crate::proto::RequestHead), `None` when the client closed |
//! | [`ReadRequestBody`] | reads request body bytes (sending `100 Continue` first if asked) | the count, `0` at the end |
//! | [`SendResponse`] | writes a response with an in-memory body | `()` |
//! | [`FlushResponse`] | writes responses queued with [`ServerStream::queue_response`] | `()` |
//!
//! # Pipelining from your own loop
//!
//! ```no_run
//! use pollhttp::op::{ClientStream, Connect, Discard, Flush, ReadResponse};
//! use pollhttp::Progress;
//! use http::{HeaderMap, HeaderValue, Method};
//! use pollhttp::proto::BodyLength;
//! # fn main() -> Result<(), pollhttp::Error> {
//! let addresses = pollhttp::io::resolve("localhost", 8080)?; // blocks: the one step that does
//! let mut connect = Connect::new(addresses);
//! let mut stream = loop {
//!     match connect.resume()? {
//!         Progress::Ready(stream) => break stream,
//!         Progress::Pending(need) => { need.wait(None)?; }
//!     }
//! };
//! let mut headers = HeaderMap::new();
//! headers.insert("host", HeaderValue::from_static("localhost:8080"));
//! // Queue ten requests (no I/O), then let one Flush write them while the reads go on.
//! for i in 0..10 {
//!     stream.queue_request(&Method::GET, &format!("/d{i}.html"), &headers, BodyLength::None)?;
//! }
//! let mut flush = Some(Flush::new());
//! let (mut read, mut body) = (ReadResponse::new(), None::<Discard>);
//! let mut done = 0;
//! while done < 10 {
//!     let mut waits = Vec::new();
//!     if let Some(op) = &mut flush {
//!         match op.resume(&mut stream)? {
//!             Progress::Ready(()) => flush = None,
//!             Progress::Pending(need) => waits.push(need),
//!         }
//!     }
//!     let step = match &mut body {
//!         None => read.resume(&mut stream)?.map(|head| { println!("{}", head.status()); None }),
//!         Some(op) => op.resume(&mut stream)?.map(|_| { done += 1; Some(()) }),
//!     };
//!     match step {
//!         Progress::Ready(None) => body = Some(Discard::new()),
//!         Progress::Ready(Some(())) => { body = None; read = ReadResponse::new(); }
//!         Progress::Pending(need) => waits.push(need),
//!     }
//!     // Here your loop waits for any of `waits` (epoll, mio, poll(2)...). For brevity:
//!     if waits.len() == 2 { waits[1].wait(None)?; }
//! }
//! # Ok(()) }
//! ```
//!
//! The [`guide`](crate::guide) walks through it with mio and with poll(2).

mod connect;
mod copy;
pub(crate) mod date;
mod expect;
pub(crate) mod link;
mod read;
mod send;
pub(crate) mod server;
mod stream;

pub use connect::Connect;
pub use copy::CopyBody;
pub use expect::{Continue, WaitContinue, DEFAULT_CONTINUE_WAIT};
pub use read::{Discard, ReadAll, ReadBody, ReadResponse};
pub use send::{FinishBody, Flush, RequestBody, SendRequest, WriteBody};
pub use server::{FlushResponse, ReadRequest, ReadRequestBody, SendResponse, ServerStream};
pub use stream::ClientStream;
