//! Waiting for `100 Continue`, for a while: RFC 9110 §10.1.1 lets a client that asked for
//! it send the body anyway, and asks it not to wait for an indefinite period.

use std::time::{Duration, Instant};

use super::read::ReadResponse;
use super::stream::ClientStream;
use crate::error::Error;
use crate::proto::ResponseHead;
use crate::Progress;

/// How long a client waits for `100 Continue` before it sends the request body anyway, by
/// default: 1 second, as curl (`CURLOPT_EXPECT_100_TIMEOUT_MS`), Go's `DefaultTransport`
/// (`ExpectContinueTimeout`) and .NET (`Expect100ContinueTimeout`) do. A server that
/// honours the expectation answers within a round trip, far less than that; one that
/// ignores it (or an HTTP/1.0 intermediary, which cannot forward a 100) costs the request
/// one second, not a failure.
pub const DEFAULT_CONTINUE_WAIT: Duration = Duration::from_secs(1);

/// What [`WaitContinue`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Continue {
    /// The server sent `100 Continue`: write the body.
    Received,
    /// Nothing came before the deadline: write the body anyway (RFC 9110 §10.1.1). A 100
    /// that comes later is skipped, like any other informational response.
    Elapsed,
    /// A final response came instead (or a 101 accepting an offered upgrade), as
    /// [`ReadResponse`] returns it: its body, if any, comes next. No byte of the request
    /// body was sent. If the response closes the connection, the body cannot be sent any
    /// more; otherwise the server reads it, so the caller may still send it to keep the
    /// connection, or drop the stream (see [`ReadResponse`]). A `417 Expectation Failed`
    /// means the server (or an intermediary) does not do expectations: RFC 9110 §10.1.1
    /// asks the client to repeat the request without one.
    Final(ResponseHead),
}

/// Waits for the `100 Continue` of a request sent with
/// [`expect_continue`](super::SendRequest::expect_continue), until a deadline: then the
/// body may be written without it.
///
/// Build it once the request head is written (the wait starts when it is made), and resume
/// it like any operation; but never wait for its [`PollNeeded`](crate::PollNeeded) past
/// [`deadline`](Self::deadline): resume it then, and it returns
/// [`Continue::Elapsed`]. A 100 or a final response that comes first ends the wait.
/// (The blocking calls do this with [`blocking::run_until`](crate::blocking::run_until).)
///
/// After [`Continue::Received`] or [`Continue::Elapsed`], write the body with
/// [`WriteBody`](super::WriteBody) and [`FinishBody`](super::FinishBody), then read the
/// final response with [`ReadResponse`].
///
/// ```no_run
/// use pollhttp::op::{ClientStream, Continue, WaitContinue, DEFAULT_CONTINUE_WAIT};
/// use pollhttp::Progress;
/// use std::time::Instant;
/// # fn f(stream: &mut ClientStream) -> Result<(), pollhttp::Error> {
/// let mut wait = WaitContinue::new(DEFAULT_CONTINUE_WAIT);
/// let outcome = loop {
///     match wait.resume(stream)? {
///         Progress::Ready(outcome) => break outcome,
///         Progress::Pending(need) => {
///             let left = wait.deadline().saturating_duration_since(Instant::now());
///             need.wait(Some(left))?;
///         }
///     }
/// };
/// match outcome {
///     Continue::Received | Continue::Elapsed => { /* WriteBody, FinishBody, ReadResponse */ }
///     Continue::Final(head) => println!("refused: {}", head.status()),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct WaitContinue {
    read: ReadResponse,
    deadline: Instant,
}

impl WaitContinue {
    /// Waits at most `wait` from now ([`DEFAULT_CONTINUE_WAIT`] is the usual choice; zero:
    /// look once at what already arrived, then send).
    pub fn new(wait: Duration) -> Self {
        let now = Instant::now();
        Self::until(
            now.checked_add(wait)
                .unwrap_or(now + Duration::from_secs(86400 * 365)),
        )
    }

    /// Waits until `deadline`.
    pub fn until(deadline: Instant) -> Self {
        Self {
            read: ReadResponse::new(),
            deadline,
        }
    }

    /// When the wait ends: resume the operation then at the latest.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Makes progress: `Ready` with what came, or with [`Continue::Elapsed`] once the
    /// deadline has passed. A request that does not wait for a 100 (none asked, the 100
    /// already read, other responses due first) is a caller error.
    pub fn resume(&mut self, stream: &mut ClientStream) -> Result<Progress<Continue>, Error> {
        stream.check_read()?;
        if !stream.conn().waiting_for_continue() || stream.responses_pending() != 1 {
            return Err(Error::local(
                "no request waits for 100 Continue as the next response",
            ));
        }
        if stream.may_send_body() {
            // Given up already.
            return Ok(Progress::Ready(Continue::Elapsed));
        }
        match self.read.resume(stream)? {
            Progress::Ready(head) if head.status() == 100 => {
                Ok(Progress::Ready(Continue::Received))
            }
            Progress::Ready(head) => Ok(Progress::Ready(Continue::Final(head))),
            Progress::Pending(need) => {
                if Instant::now() < self.deadline {
                    return Ok(Progress::Pending(need));
                }
                log::debug!("client stream: no 100 Continue in time: sending the body anyway");
                stream.waive_continue();
                Ok(Progress::Ready(Continue::Elapsed))
            }
        }
    }
}
