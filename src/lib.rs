//! pollhttp: HTTP/1.1 connections for your own event loop.
//!
//! pollhttp is built in layers, each using only the one below it:
//!
//! ```text
//! client / server      Client, Connection; Server, handlers, sessions
//! pipeline             reconnecting pipelines to one origin or many (Fetcher), resumable
//! blocking             loops over the resumable operations
//! op                   resumable operations yielding PollNeeded
//! io / tls             TCP and Unix sockets (io::Connect, Transport), name resolution
//!                      off the loop (io::Resolve, io::Resolver); TLS with rustls
//! proto                the sans-IO HTTP/1.1 core
//! ```
//!
//! The [`guide`] shows the three ways to drive a connection: blocking, from a mio loop,
//! and over raw poll(2).
//!
//! [`proto`] is complete on its own: it turns received bytes into events and what you
//! send into bytes, for either role, with no sockets, no file descriptors and no clock. It
//! pipelines (client), serializes exchanges (server), handles `Expect: 100-continue`,
//! keep-alive and close, protocol switches, and refuses every ambiguous framing with the
//! status a server should answer.
//!
//! # Driving the core
//!
//! A loop around [`proto::ServerConn`] (the client side is the mirror image):
//!
//! 1. read from the socket into [`receive_space`](proto::ServerConn::receive_space) and
//!    [`receive_commit`](proto::ServerConn::receive_commit) what was read (or hand a
//!    slice to [`receive`](proto::ServerConn::receive)); on end of file call
//!    [`receive_eof`](proto::ServerConn::receive_eof);
//! 2. call [`next_event`](proto::ServerConn::next_event) until it returns
//!    [`NeedData`](proto::Event::NeedData) (read more) or [`Paused`](proto::Event::Paused)
//!    (answer first: stop reading so pipelined requests stay in the socket);
//! 3. answer with `send_response`, `send_data` and `send_end`, which append bytes to a
//!    `Vec<u8>` you write out (an origin server gives the core the current second first,
//!    with [`set_date`](proto::ServerConn::set_date), so that responses carry `Date`);
//! 4. on an [`Err`](proto::Error) from `next_event`, send the status it suggests
//!    ([`status_hint`](proto::Error::status_hint)) if no response has started, then close;
//!    close too when [`must_close`](proto::ServerConn::must_close) says so.

pub mod blocking;
mod body;
pub mod client;
mod error;
pub mod guide;
pub mod io;
pub mod op;
pub mod pipeline;
mod poll;
pub mod proto;
pub mod server;
mod sys;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;

pub use body::{Body, Chunk};
pub use error::Error;
pub use poll::{wait_any, Interest, PollNeeded, Progress};
