//! The blocking client: [`Client`] says where and how, [`Connection`] is one live
//! connection.
//!
//! A client keeps a small pool of idle connections, shared by its clones and threads:
//! a connection dropped when it could carry another request waits there, and the next
//! [`Client::connect`] takes it ([`Connection::is_reused`]) if it is still fit. An
//! idempotent request that finds a reused connection closed by the server goes again on a
//! new one. See [the pool](Client#the-pool) for the rules and the defaults
//! ([`DEFAULT_MAX_IDLE`], [`DEFAULT_IDLE_TIMEOUT`]).
//!
//! A request with `expect: 100-continue` sends its body after the `100 Continue`, or after
//! a short wait ([`Client::with_continue_wait`], 1 s by default) if none came; after a
//! `417 Expectation Failed` it goes again without the expectation
//! ([`Connection::request`]).
//!
//! ```no_run
//! use pollhttp::client::{Body, Client};
//! use pollhttp::io::Address;
//! use http::HeaderMap;
//! # fn main() -> Result<(), pollhttp::Error> {
//! let client = Client::new(Address::unix("/run/app.sock")).with_host("app");
//! let mut conn = client.connect()?;
//!
//! // degu's call: one request, its response, its body.
//! let mut response = conn.put("/doc", HeaderMap::new(), "some bytes")?;
//! println!("{} {}", response.status, response.reason);
//! let body = response.body.read_all()?;
//!
//! // dugong's calls: pipelined requests, then their responses in order.
//! conn.send_request(http::Method::GET, "/a", HeaderMap::new(), Body::empty())?;
//! conn.send_request(http::Method::GET, "/b", HeaderMap::new(), Body::empty())?;
//! while conn.response_pending() {
//!     let head = conn.read_response()?;
//!     let mut buf = [0u8; 65536];
//!     while conn.read_into(&mut buf)? > 0 {}
//! }
//! # Ok(()) }
//! ```

mod config;
mod connection;
mod pool;
mod response;

pub use crate::body::{Body, Chunk};
pub use config::{Client, DEFAULT_TIMEOUT};
pub use connection::Connection;
pub use pool::{DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_IDLE};
pub use response::{BodyReader, Head, Response};
