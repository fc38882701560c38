//! The sans-IO HTTP/1.1 core: bytes in, events out, for both roles.
//!
//! No sockets, no file descriptors, no clock: [`ClientConn`] and [`ServerConn`] take the
//! bytes you read with [`receive`](ServerConn::receive) (and end of input with
//! [`receive_eof`](ServerConn::receive_eof)), report what they mean with `next_event`, and
//! serialize what you send into a `Vec<u8>` you write out yourself. The one thing a server
//! needs from a clock, the `Date` of its responses, is given to it
//! ([`ServerConn::set_date`], formatted by [`HttpDate`]).
//!
//! Framing is strict, to the letter of RFC 9112 and the smuggling checklist: exactly one
//! way to read every accepted message, every ambiguous one refused with the status a
//! server should answer with ([`Error::status_hint`]).
//!
//! ```
//! use pollhttp::proto::{BodyLength, Event, ServerConn};
//! use http::{HeaderMap, StatusCode};
//!
//! let mut conn = ServerConn::new();
//! conn.receive(b"POST /echo HTTP/1.1\r\nHost: example\r\nContent-Length: 5\r\n\r\nhello").unwrap();
//! let Event::Request(req) = conn.next_event().unwrap() else { panic!() };
//! assert_eq!(req.target(), "/echo");
//! let mut body = Vec::new();
//! loop {
//!     match conn.next_event().unwrap() {
//!         Event::Data(d) => body.extend_from_slice(d),
//!         Event::End(_) => break,
//!         other => panic!("{other:?}"),
//!     }
//! }
//! assert_eq!(body, b"hello");
//!
//! let mut out = Vec::new();
//! conn.send_response(StatusCode::OK, None, &HeaderMap::new(), BodyLength::Known(5), &mut out).unwrap();
//! conn.send_data(&body, &mut out).unwrap();
//! conn.send_end(None, &mut out).unwrap();
//! assert_eq!(out, b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello");
//! ```

mod body;
mod buffer;
mod chars;
mod chunked;
mod client;
mod date;
mod error;
mod event;
mod framing;
mod head;
mod limits;
mod parse;
mod server;
mod write;

pub use body::ChunkExtension;
pub use client::ClientConn;
pub use date::HttpDate;
pub use error::Error;
pub use event::Event;
pub(crate) use framing::valid_host;
pub use framing::Framing;
pub use head::{Headers, RequestHead, ResponseHead};
pub use limits::Limits;
pub use server::ServerConn;

/// The length of a body we are about to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLength {
    /// No body. A request whose method expects one (POST, PUT, PATCH) still gets
    /// `content-length: 0`; a response gets `content-length: 0` where it may have a body.
    None,
    /// Exactly this many bytes, announced with Content-Length.
    Known(u64),
    /// Not known in advance: chunked, or for a response to an HTTP/1.0 client, delimited by
    /// closing the connection.
    Unknown,
}
