//! Pipelines that survive real servers: requests to one origin or many, kept flowing over
//! reconnecting pipelined connections, driven from your own loop.
//!
//! A [`Fetcher`] takes requests for any number of origins; a [`Pipeline`] is the same held
//! to one. Both are resumable like the [operations](crate::op): they never block, say which
//! descriptors to wait on (one per connection, plus the resolver's) and when the next
//! deadline falls, and hand back each finished request with your tag
//! ([`Completed`]).
//!
//! # When a connection ends
//!
//! Servers close persistent connections all the time: a cap on requests per connection
//! (nginx 1,000, Debian's Apache 100), idle timeouts, HTTP/1.0, restarts. A connection ends
//! with an announced close (`Connection: close`, or HTTP/1.0 without keep-alive), an end of
//! file or a reset, a response cut short, or a response that does not come within
//! [`Config::request_timeout`]. The requests it leaves without a response are then
//! (RFC 9112 §9.3.2):
//!
//! - **sent again** on a new connection when their method is idempotent (RFC 9110 §9.2.2,
//!   [`is_idempotent`]), or the caller marked them [repeatable](Request::repeatable), or
//!   they were behind an announced close (the server processed nothing after it: RFC 9112
//!   §9.6);
//! - **failed** otherwise, with [`FetchError::NotRepeatable`], which says the server may
//!   have processed them. Nothing is pipelined behind such a request: it waits for the
//!   requests ahead and goes alone.
//!
//! A connection that ended any other way than by an announced close has *failed*
//! (RFC 9112 §9.3.2: not "explicitly closed by the server in its last complete
//! response"). The first request it left to send again may be what made the server fail,
//! and its error response could be lost again behind others on a connection closed early;
//! so it goes alone: nothing is pipelined behind it (on the new connection, or on one
//! already open) until its response has come, and then the connection goes back to its
//! depth. With more than one connection per origin the same holds for each connection
//! established after the failure: it sends one request, and the rest after its response,
//! until one of them has answered. After an announced close nothing is held back: the next
//! connection pipelines at once.
//!
//! ## Attempts
//!
//! A request's attempts are its tries: each time it is sent, and each connection that
//! fails to open while it waits (a failed lookup counts as one). Every try left
//! unanswered counts, whoever was at fault: the request whose response was cut short,
//! broken or late, and those only behind it in the pipeline, or behind a response (or the
//! head of one) carrying `Connection: close` (RFC 9112 §9.6), which the server did not
//! process. So a request is sent at most [`Config::max_attempts`] times (3), whatever the
//! server does; what the pipeline learns of a server (below) keeps the requests behind
//! a close from being sent to be thrown away more than once. Not every close comes after
//! a count: Apache closes after each 500 or 503, so that a request could be behind one
//! try after try. A request sent back from behind a close whose next try is its last goes
//! alone (nothing ahead of it on its connection, nothing behind it until its answer), and
//! the server processes it. [`FetchError::errors`] keeps
//! each try's error, and [`Completed::attempts`] counts the tries, the one that succeeded
//! included. A response that is unusable (a protocol error, a body over the limit) fails
//! its request without another try when it was the first on its connection; after other
//! responses it may be what one of them left behind (a body longer than its length said,
//! or sent to a HEAD), so the request is sent again, alone, and the server gets one
//! request at a time from then on.
//!
//! RFC 9110 §9.2.2 says a client SHOULD NOT automatically retry a failed automatic retry;
//! with the default of 3 an idempotent request may be sent a third time. That is
//! deliberate: servers that close silently after a number of requests, or whose idle
//! timeout races a new request, fail a connection without the request being at fault, and
//! a crawl of many origins meets them; only idempotent requests (or ones the caller marked
//! repeatable) are ever sent again. Set `max_attempts` to 2 to keep to the RFC's one retry.
//!
//! # What a pipeline learns of a server
//!
//! - **A request cap.** A server that closed after answering N requests gets at most N
//!   per connection from then on, so nothing is written only to be thrown away; a
//!   `Keep-Alive: max=N` header sets it at once, before anything more is written on that
//!   connection: N more after this response (Apache, counting down), or N in all once a
//!   connection has said the same N twice (Node.js, with `maxRequestsPerSocket`). A
//!   connection with a cap above 8 keeps at most seven eighths of it in flight, so it goes
//!   on writing in batches rather than all at once. The last request the cap allows
//!   carries `Connection: close` (RFC 9112 §9.6), pipelined with the others. A connection
//!   that reaches the cap is closed and another opened. A later connection that ends with
//!   more answered raises the cap; one that ends with fewer (a reset can lose the last
//!   responses) does not lower it: a cap too low costs connections, one too high costs
//!   attempts.
//! - **No pipelining.** A server that closes with nothing answered though several requests
//!   were sent, or answers only the first of several, or gives an unusable response after
//!   good ones on a connection, gets one request at a time. (Bytes that come with no
//!   request outstanding, such as the rest of a body sent to a HEAD, end the connection
//!   before the next request is written on it.)
//! - **Back-off.** A connection refused, or closed or reset before any answer, delays the
//!   next one: 100 ms, doubling, at most 5 s. A connection that opens ends the back-off.
//!   A connection races the origin's addresses ([`Config::attempt_delay`], RFC 8305: the
//!   next one tried 250 ms after the last started, or as soon as one fails), starting
//!   with the address that last connected; it fails when every address has failed or
//!   [`Config::connect_timeout`] is over, and then, if no other connection to the origin
//!   is open, that is a try for each waiting request.
//! - **A failing server.** When a request never tried before fails alone on a connection
//!   that completed no response, right after another such connection, the server is
//!   failing, not one request: each waiting request is charged an attempt without a try,
//!   and fails with [`FetchError::NotSent`] once its tries and charges reach
//!   [`Config::max_attempts`]. A server that swallows requests (or closes on every one)
//!   fails a list in a few timeouts, not one request per connection and timeout.
//!
//! A connection with nothing left to send is closed at once rather than kept idle: a
//! pipeline never sends on a connection a server may be closing for idleness.
//!
//! # How many connections at once
//!
//! Besides [`Config::connections`] per origin, two limits keep a list over many names from
//! flooding a server: at most [`Config::max_connections_per_address`] (32) connections to
//! one server address at once, whatever the names for it (virtual hosts); and a window
//! over all origins that starts at 256 connections, grows by one for each window's worth
//! of connections answered, and halves when connections are dropped before any response
//! (a server past its own limit, as nginx past its `worker_connections`, closes what comes
//! over it at once), within the cap on descriptors below. 6,000 and 20,000 names for
//! one nginx with its default 512 `worker_connections`: every URL answered the first
//! time, where most failed within two seconds before.
//!
//! # Descriptors
//!
//! All origins together open at most [`Config::max_connections`] connections at once: by
//! default seven eighths of the process's limit on open files (896 under the common soft
//! limit of 1,024), leaving at least 32 descriptors for lookups and the rest (32
//! connections under a limit of 64). A list over thousands of hosts would otherwise run
//! out of descriptors, and each connect would fail with EMFILE. Origins past the cap wait, in turn, for a
//! connection to close. If a connect fails with EMFILE all the same (other code holds the
//! descriptors), the cap comes down to what the fetcher holds, and the origin waits too:
//! a request is never charged for a shortage of this process's.
//!
//! # Driving it
//!
//! See [`Fetcher`]: a poll(2) loop follows [`Fetcher::wants`], an edge-triggered mio or
//! epoll loop applies [`Fetcher::take_changes`]. The `crawl` example (mio) and the
//! `select_loop` example (poll(2)) drive the same fetcher.

mod config;
mod conn;
mod error;
mod fetcher;
mod origin;
mod origin_pipeline;
mod policy;
mod request;
mod watch;

pub use config::Config;
pub use error::FetchError;
pub use fetcher::{Fetcher, Pipeline};
pub use origin::{Origin, UrlError};
pub use origin_pipeline::Stats;
pub use policy::is_idempotent;
pub use request::{BodyMode, Completed, Request, Response, DEFAULT_BODY_LIMIT};
pub use watch::Change;
