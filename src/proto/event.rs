//! What the core reports about incoming bytes.

use super::head::{Headers, RequestHead, ResponseHead};

/// One step of the peer's side of the conversation, from `next_event`.
///
/// `Data` borrows from the connection's receive buffer: copy it out (or drop it) before the
/// next call.
#[non_exhaustive]
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A request head (server role).
    Request(RequestHead),
    /// A 1xx response head (client role). A 101 that accepts an offered upgrade is followed
    /// by `Switched`.
    Informational(ResponseHead),
    /// A final response head (client role).
    Response(ResponseHead),
    /// Body bytes. One chunk or one read may come as several `Data` events.
    Data(&'a [u8]),
    /// The message is complete; the trailer fields of a chunked body, else empty.
    End(Headers),
    /// The connection now speaks another protocol (Upgrade accepted, or CONNECT's 2xx);
    /// `take_trailing` gives the bytes that followed.
    Switched,
    /// The peer closed its side cleanly, between messages.
    Closed,
    /// Nothing more can be decoded from what has been received: give more bytes (or EOF).
    NeedData,
    /// Server role: the current request is complete and the next one (if any bytes of it
    /// are buffered) waits until the response is finished. Stop reading the socket.
    Paused,
}
