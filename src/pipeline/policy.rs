//! The retry rules, and what a pipeline learns of a server's habits: no sockets, no clock.
//!
//! Everything a [`Pipeline`](super::Pipeline) decides when a connection ends is decided
//! here, from plain facts (how it ended, how many requests were sent and answered on it), so
//! the rules can be tested without a socket.

use std::time::{Duration, Instant};

use http::Method;

/// Whether a method is idempotent (RFC 9110 §9.2.2): sending it twice has the effect of
/// sending it once, so a request that got no response may be sent again.
///
/// ```
/// use http::Method;
/// use pollhttp::pipeline::is_idempotent;
/// assert!(is_idempotent(&Method::GET) && is_idempotent(&Method::PUT));
/// assert!(!is_idempotent(&Method::POST) && !is_idempotent(&Method::PATCH));
/// ```
pub fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// How a connection ended while responses were still due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// A response asked to close (`Connection: close`, or HTTP/1.0 without keep-alive):
    /// the server processed nothing after it (RFC 9112 §9.6).
    Announced,
    /// The server closed (end of file) or reset the connection unannounced.
    Closed,
    /// The response at the front was cut short: its head (or some of its body) arrived,
    /// then the connection ended.
    CutShort,
    /// The response at the front did not come within the request timeout.
    TimedOut,
    /// The response at the front was unusable (a protocol error, a body over the limit,
    /// TLS): the connection cannot go on, and sending the request again would not help.
    Broken,
    /// What came after other responses was no response head: perhaps bytes an earlier
    /// response left behind (a body longer than its length said, or sent to a HEAD or with
    /// a 204), which pipelining made the next one's. Sent again, it may be answered.
    Garbled,
}

/// What a connection's life showed, when it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConnectionEnd {
    pub(crate) ending: Ending,
    /// Requests written (or queued to be written) on the connection.
    pub(crate) sent: u64,
    /// Responses received complete on it.
    pub(crate) answered: u64,
}

/// The longest wait before reconnecting to a server that refuses or resets.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// The first wait.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// What a pipeline has learnt of one server: how many requests it takes on a connection,
/// whether it pipelines, and whether to wait before connecting again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Habits {
    /// The most requests to send on one connection: the server closes after this many.
    /// `None` until a connection ended early.
    pub(crate) requests_per_connection: Option<u64>,
    /// The server mishandles pipelining: one request in flight at a time.
    pub(crate) no_pipelining: bool,
    /// The server answers slower than a deep pipeline's requests can wait: at most this
    /// many in flight. `None` until a response was late after others.
    pub(crate) max_depth: Option<usize>,
    /// The server frames some responses wrong (bytes left after an answer became the next
    /// one's head): one request per connection, which ends with it.
    pub(crate) misframes: bool,
    /// Connections refused, reset or failed in a row (0 once one works).
    pub(crate) failures_in_a_row: u32,
    /// Connections in a row that ended (unannounced) with requests sent and nothing
    /// answered, since the last response.
    pub(crate) unanswered_in_a_row: u32,
    /// The server's `Keep-Alive: max=N` is its total per connection (Node.js), not what is
    /// left (Apache).
    pub(crate) max_is_total: bool,
}

impl Default for Habits {
    fn default() -> Self {
        Self::new()
    }
}

impl Habits {
    pub(crate) fn new() -> Self {
        Self {
            requests_per_connection: None,
            no_pipelining: false,
            max_depth: None,
            misframes: false,
            failures_in_a_row: 0,
            unanswered_in_a_row: 0,
            max_is_total: false,
        }
    }

    /// The requests to keep in flight on one connection, given the configured depth.
    /// The most requests to send on one connection (`None`: no cap known).
    pub(crate) fn cap(&self) -> Option<u64> {
        if self.misframes {
            Some(1)
        } else {
            self.requests_per_connection
        }
    }

    pub(crate) fn depth(&self, configured: usize) -> usize {
        if self.no_pipelining || self.misframes {
            1
        } else {
            configured.max(1).min(self.max_depth.unwrap_or(usize::MAX))
        }
    }

    /// Learns from a connection that ended with requests unanswered.
    ///
    /// - Closed after answering some: the server closes after that many (a request cap),
    ///   so no more than that many are sent on the next connections. A higher count seen
    ///   later wins: a connection can end early for other reasons (a reset that loses the
    ///   last responses, an error that closes), and a cap too low only costs connections,
    ///   while one too high costs attempts.
    /// - Closed with nothing answered though several requests were sent, or answered only
    ///   the first of several and then closed unannounced or went silent, or gave an
    ///   unusable response after good ones: the server mishandles pipelining (or frames
    ///   some responses wrong), so one request at a time from now on.
    /// - A response late after others: the server answers slower than the back of a deep
    ///   pipeline can wait, so at most half as many in flight as it answered on that
    ///   connection.
    /// - Closed or reset unannounced: back off before the next connection.
    pub(crate) fn connection_ended(&mut self, end: ConnectionEnd) {
        let unanswered = end.sent.saturating_sub(end.answered);
        if unanswered == 0 {
            return;
        }
        match end.ending {
            Ending::Announced | Ending::Closed if end.answered > 0 => {
                self.requests_per_connection = Some(match self.requests_per_connection {
                    Some(cap) => cap.max(end.answered),
                    None => end.answered,
                });
            }
            _ => {}
        }
        let several = end.sent > 1;
        let refuses_pipelining = match end.ending {
            Ending::Closed | Ending::CutShort => several && end.answered <= 1,
            Ending::TimedOut => several && end.answered == 1,
            // Bytes an earlier response may have left behind: only pipelining makes them
            // another request's response.
            Ending::Garbled => true,
            Ending::Announced | Ending::Broken => false,
        };
        if refuses_pipelining {
            self.no_pipelining = true;
        }
        if end.ending == Ending::Garbled {
            // One request at a time is not enough: what a response leaves behind may come
            // after the next request went out (waitress writes a HEAD's body after its
            // head), and be read as its answer. A connection per request ends with it.
            self.misframes = true;
        }
        if end.ending == Ending::TimedOut && several && end.answered > 1 {
            // A response came late after others: the server answers in turn, slower than
            // the requests at the back of the pipeline can wait, and each such timeout
            // costs all of them a try. Half of what it answered on the connection, then.
            let depth = usize::try_from(end.answered / 2)
                .unwrap_or(usize::MAX)
                .max(1);
            self.max_depth = Some(self.max_depth.map_or(depth, |d| d.min(depth)));
        }
        if end.ending == Ending::Closed && end.answered == 0 {
            self.failures_in_a_row = self.failures_in_a_row.saturating_add(1);
        } else {
            self.failures_in_a_row = 0;
        }
        if end.answered == 0 && end.ending != Ending::Announced {
            self.unanswered_in_a_row = self.unanswered_in_a_row.saturating_add(1);
        }
    }

    /// A server announced its cap (`Keep-Alive: max=N`). Apache says how many more requests
    /// it takes, counting down: the connection's total is the responses so far, this one
    /// included, plus N. Node.js says its total, the same N on every response: once a
    /// connection has shown the same N twice (`total`), N is the total, on every
    /// connection from then on, their first responses included. The server's word
    /// replaces what was guessed.
    pub(crate) fn announced_max(&mut self, answered: u64, max: u64, total: bool) {
        self.max_is_total |= total;
        let cap = if self.max_is_total {
            max
        } else {
            answered.saturating_add(max)
        };
        self.requests_per_connection = Some(cap.max(1));
    }

    /// A connection could not be opened (refused, unreachable, timed out).
    pub(crate) fn connect_failed(&mut self) {
        self.failures_in_a_row = self.failures_in_a_row.saturating_add(1);
    }

    /// A response came: the server works, the back-off is over. (Opening a connection
    /// is not enough: a server may accept and then reset every connection.)
    pub(crate) fn responded(&mut self) {
        self.failures_in_a_row = 0;
        self.unanswered_in_a_row = 0;
    }

    /// How long to wait before the next connection: nothing after a success, then 100 ms,
    /// doubling with each failure in a row, at most 5 s.
    pub(crate) fn backoff(&self) -> Duration {
        match self.failures_in_a_row {
            0 => Duration::ZERO,
            n => FIRST_BACKOFF
                .saturating_mul(1u32 << (n - 1).min(16))
                .min(MAX_BACKOFF),
        }
    }
}

/// How many connections the fetcher keeps open at once, found the way TCP finds its
/// window: it starts at [`Window::INITIAL`], grows by one for each window's worth of
/// connections that got their first response, up to the cap (slowly: each step past a
/// server's limit costs requests a try), and halves (to no less than [`Window::FLOOR`]) when
/// a connection is dropped: closed or reset before any response, the sign of a server (or
/// a middlebox) past its own limit on connections, which closes what comes past it at
/// once (nginx past its `worker_connections`). Halving is once per
/// [`Window::CALM`] at most, so a burst of drops from one overload counts once.
///
/// Why: a list over thousands of names may reach a few servers, each past its limit if
/// every name opens a connection at once; their drops cost each request its attempts in a
/// second or two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Window {
    size: usize,
    cap: usize,
    /// Connections answered since it last grew.
    answered: usize,
    /// When it last halved.
    halved_at: Option<Instant>,
}

impl Window {
    /// The first size: below the connection limits of common servers' defaults (nginx's
    /// 512 a worker), and plenty for most lists.
    pub(crate) const INITIAL: usize = 256;
    /// It never halves below this.
    pub(crate) const FLOOR: usize = 16;
    /// The shortest time between two halvings.
    pub(crate) const CALM: Duration = Duration::from_millis(100);

    /// A window under `cap` (the most connections, as the descriptors allow) that starts
    /// at no less than `at_least` (the connections one origin may have).
    pub(crate) fn new(cap: usize, at_least: usize) -> Self {
        let cap = cap.max(1);
        Self {
            size: Self::INITIAL.max(at_least).min(cap),
            cap,
            answered: 0,
            halved_at: None,
        }
    }

    /// Connections that may be open at once now.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// A connection got its first response.
    pub(crate) fn answered(&mut self) {
        self.answered += 1;
        if self.answered >= self.size {
            self.answered = 0;
            self.size = (self.size + 1).min(self.cap);
        }
    }

    /// A connection was closed or reset before any response, at `now`.
    pub(crate) fn dropped(&mut self, now: Instant) {
        if self
            .halved_at
            .is_some_and(|t| now.saturating_duration_since(t) < Self::CALM)
        {
            return;
        }
        self.halved_at = Some(now);
        self.size = (self.size / 2).max(Self::FLOOR).min(self.cap);
    }
}

/// The requests to keep in flight on a connection that may carry at most `cap`: below the
/// cap by an eighth, so the connection goes on writing in batches for the last part of its
/// allowance instead of writing all of it at once.
///
/// Why: with nginx's default cap (1000) under the default depth (1024), a connection that
/// wrote its whole allowance in one go then only read, and the server's responses came one
/// TCP segment and one wake-up each (~100,000 reads for 100,000 responses where an uncapped
/// connection needed ~1,500; 0.61 of the uncapped rate). Caps of 8 or less are left whole:
/// those servers take a handful per connection and a round trip costs more there.
pub(crate) fn depth_under_cap(depth: usize, cap: Option<u64>) -> usize {
    let depth = depth.max(1);
    match cap {
        Some(cap) if cap > 8 => {
            let below = cap - cap / 8;
            depth.min(usize::try_from(below).unwrap_or(usize::MAX))
        }
        _ => depth,
    }
}

/// What to do with one request that a connection's end left without its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Send it again on another connection.
    Retry,
    /// Give up: it has used all its attempts.
    Exhausted,
    /// Give up: it may not be sent twice, and the server may have processed it.
    NotRepeatable,
    /// Give up: the response was unusable, and another attempt would get the same.
    Broken,
}

/// The verdict for a request left unanswered when its connection ended.
///
/// - `tries`: the times it was tried (sent, or waited for a connection that failed), this
///   one included; every try left unanswered counts, whoever was at fault, so a request is
///   never sent more than `max_attempts` times.
/// - `repeatable`: its method is idempotent, or the caller said it may be sent twice.
/// - `behind_close`: an earlier response on the connection (or the head of the one at the
///   front) announced the close, so the server did not process this request (RFC 9112
///   §9.6): it may be sent again whatever its method.
/// - `front`: it is the request whose response failed; the others were only behind it.
pub(crate) fn verdict(
    ending: Ending,
    tries: u32,
    max_attempts: u32,
    repeatable: bool,
    behind_close: bool,
    front: bool,
) -> Verdict {
    if ending == Ending::Broken && front {
        return Verdict::Broken;
    }
    if !repeatable && !behind_close {
        return Verdict::NotRepeatable;
    }
    if tries >= max_attempts {
        return Verdict::Exhausted;
    }
    Verdict::Retry
}

/// The `max` parameter of a `Keep-Alive` header field (`timeout=5, max=100`): how many
/// more requests the server takes on the connection. `None` when absent or malformed.
pub(crate) fn keep_alive_max(value: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(value).ok()?;
    text.split(',').find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("max") {
            return None;
        }
        value.trim().trim_matches('"').parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(ending: Ending, sent: u64, answered: u64) -> ConnectionEnd {
        ConnectionEnd {
            ending,
            sent,
            answered,
        }
    }

    #[test]
    fn a_request_cap_is_learnt_from_an_announced_close() {
        let mut habits = Habits::new();
        habits.connection_ended(end(Ending::Announced, 1024, 1000));
        assert_eq!(habits.requests_per_connection, Some(1000));
        assert!(!habits.no_pipelining);
        assert_eq!(habits.backoff(), Duration::ZERO);
        // A lower count seen later (a connection that ended early) does not lower it; a
        // higher one raises it.
        habits.connection_ended(end(Ending::Announced, 1000, 100));
        assert_eq!(habits.requests_per_connection, Some(1000));
        habits.connection_ended(end(Ending::Closed, 2000, 1500));
        assert_eq!(habits.requests_per_connection, Some(1500));
    }

    #[test]
    fn a_request_cap_is_learnt_from_an_unannounced_close_and_backs_off_nothing_answered() {
        let mut habits = Habits::new();
        habits.connection_ended(end(Ending::Closed, 64, 10));
        assert_eq!(habits.requests_per_connection, Some(10));
        assert_eq!(habits.backoff(), Duration::ZERO);
    }

    #[test]
    fn a_late_response_after_others_limits_the_depth() {
        let mut habits = Habits::new();
        habits.connection_ended(end(Ending::TimedOut, 64, 20));
        assert_eq!(habits.depth(64), 10);
        assert_eq!(habits.depth(4), 4);
        // Only ever lower.
        habits.connection_ended(end(Ending::TimedOut, 64, 40));
        assert_eq!(habits.depth(64), 10);
        habits.connection_ended(end(Ending::TimedOut, 10, 3));
        assert_eq!(habits.depth(64), 1);
        // Late first: nothing learnt of the depth (the server may be down, or that request
        // slow).
        let mut habits = Habits::new();
        habits.connection_ended(end(Ending::TimedOut, 64, 0));
        assert_eq!(habits.depth(64), 64);
    }

    #[test]
    fn http_1_0_servers_get_one_request_per_connection() {
        // One answer, announced close (HTTP/1.0 without keep-alive).
        let mut habits = Habits::new();
        habits.connection_ended(end(Ending::Announced, 64, 1));
        assert_eq!(habits.requests_per_connection, Some(1));
        assert!(!habits.no_pipelining);
    }

    #[test]
    fn connections_that_answer_nothing_are_counted_until_a_response() {
        let mut habits = Habits::new();
        habits.connection_ended(end(Ending::TimedOut, 64, 0));
        habits.connection_ended(end(Ending::Closed, 1, 0));
        habits.connection_ended(end(Ending::CutShort, 1, 0));
        assert_eq!(habits.unanswered_in_a_row, 3);
        // An announced close, or one that answered some, is no failure of the server's.
        habits.connection_ended(end(Ending::Announced, 5, 0));
        habits.connection_ended(end(Ending::Closed, 5, 2));
        assert_eq!(habits.unanswered_in_a_row, 3);
        habits.responded();
        assert_eq!(habits.unanswered_in_a_row, 0);
    }

    #[test]
    fn a_connection_that_ends_with_everything_answered_teaches_nothing() {
        let mut habits = Habits::new();
        habits.connection_ended(end(Ending::Closed, 5, 5));
        habits.connection_ended(end(Ending::Announced, 7, 7));
        assert_eq!(habits, Habits::new());
    }

    #[test]
    fn signs_of_a_server_that_mishandles_pipelining() {
        for (ending, sent, answered, expected) in [
            // Closes with nothing answered though several were sent.
            (Ending::Closed, 2, 0, true),
            (Ending::CutShort, 10, 0, true),
            // Answers only the first, then closes unannounced or goes silent.
            (Ending::Closed, 10, 1, true),
            (Ending::TimedOut, 10, 1, true),
            (Ending::CutShort, 3, 1, true),
            // One request alone tells nothing about pipelining.
            (Ending::Closed, 1, 0, false),
            (Ending::TimedOut, 1, 0, false),
            // A silent server is not a pipelining problem.
            (Ending::TimedOut, 10, 0, false),
            // An announced close after one answer is HTTP/1.0 or a cap of 1.
            (Ending::Announced, 10, 1, false),
            // Several answered: the server pipelines.
            (Ending::Closed, 10, 2, false),
            (Ending::Broken, 10, 0, false),
        ] {
            let mut habits = Habits::new();
            habits.connection_ended(end(ending, sent, answered));
            assert_eq!(
                habits.no_pipelining, expected,
                "{ending:?} sent {sent} answered {answered}"
            );
            assert_eq!(habits.depth(64), if expected { 1 } else { 64 });
        }
    }

    #[test]
    fn refused_or_reset_connections_back_off_doubling_to_a_bound() {
        let mut habits = Habits::new();
        let mut waits = Vec::new();
        for _ in 0..8 {
            habits.connect_failed();
            waits.push(habits.backoff().as_millis());
        }
        assert_eq!(waits, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        habits.responded();
        assert_eq!(habits.backoff(), Duration::ZERO);
        // A reset with nothing answered counts as a failure too.
        habits.connection_ended(end(Ending::Closed, 1, 0));
        assert_eq!(habits.backoff(), Duration::from_millis(100));
        // One with answers does not.
        habits.connection_ended(end(Ending::Closed, 10, 3));
        assert_eq!(habits.backoff(), Duration::ZERO);
    }

    #[test]
    fn many_failures_do_not_overflow() {
        let mut habits = Habits::new();
        for _ in 0..100_000 {
            habits.connect_failed();
        }
        assert_eq!(habits.backoff(), MAX_BACKOFF);
    }

    #[test]
    fn a_capped_connection_keeps_its_depth_below_the_cap() {
        for (depth, cap, expected) in [
            // No cap known, or a depth well under it: the configured depth.
            (1024, None, 1024),
            (64, Some(1000), 64),
            (1024, Some(100_000), 1024),
            // nginx's default cap under the default depth: 875 in flight, 125 written later.
            (1024, Some(1000), 875),
            (900, Some(1000), 875),
            // Apache's default (100).
            (1024, Some(100), 88),
            // Small caps are left whole.
            (1024, Some(8), 1024),
            (3, Some(5), 3),
            (1024, Some(1), 1024),
            (1, Some(9), 1),
            (0, None, 1),
            (2048, Some(u64::MAX), 2048),
        ] {
            assert_eq!(
                depth_under_cap(depth, cap),
                expected,
                "depth {depth} cap {cap:?}"
            );
        }
    }

    #[test]
    fn keep_alive_max_sets_the_cap() {
        let mut habits = Habits::new();
        // Apache's first response: 99 more after this one.
        habits.announced_max(1, 99, false);
        assert_eq!(habits.requests_per_connection, Some(100));
        habits.announced_max(3, 7, false);
        assert_eq!(habits.requests_per_connection, Some(10));
        habits.announced_max(0, 0, false);
        assert_eq!(habits.requests_per_connection, Some(1));
        assert!(!habits.max_is_total);
    }

    #[test]
    fn a_keep_alive_max_said_twice_alike_is_the_total() {
        let mut habits = Habits::new();
        // Node.js's first response of a connection: read as what is left.
        habits.announced_max(1, 100, false);
        assert_eq!(habits.requests_per_connection, Some(101));
        // Its second, with the same max: the total.
        habits.announced_max(2, 100, true);
        assert_eq!(habits.requests_per_connection, Some(100));
        // And so from then on, on the first response of the next connections too.
        habits.announced_max(1, 100, false);
        assert_eq!(habits.requests_per_connection, Some(100));
        habits.announced_max(40, 100, false);
        assert_eq!(habits.requests_per_connection, Some(100));
    }

    #[test]
    fn keep_alive_header_values() {
        for (value, expected) in [
            (&b"timeout=5, max=100"[..], Some(100)),
            (b"max=7", Some(7)),
            (b"MAX = 3 ,timeout=1", Some(3)),
            (b"max=\"12\"", Some(12)),
            (b"timeout=5", None),
            (b"max=", None),
            (b"max=-1", None),
            (b"max=99999999999999999999999", None),
            (b"\xff", None),
            (b"", None),
        ] {
            assert_eq!(keep_alive_max(value), expected, "{value:?}");
        }
    }

    #[test]
    fn verdicts() {
        use Ending::{Announced, Closed, CutShort, Garbled, TimedOut};
        use Verdict::{Exhausted, NotRepeatable, Retry};
        // (ending, tries, repeatable, behind_close, front) -> verdict, with at most 2
        // attempts.
        for (ending, tries, repeatable, behind, front, expected) in [
            (Closed, 1, true, false, true, Retry),
            (Closed, 1, true, false, false, Retry),
            (Closed, 2, true, false, false, Exhausted),
            (Closed, 2, true, false, true, Exhausted),
            (TimedOut, 1, true, false, true, Retry),
            (TimedOut, 2, true, false, true, Exhausted),
            (CutShort, 1, true, false, true, Retry),
            (CutShort, 2, true, false, false, Exhausted),
            // Not idempotent: never sent twice when it may have been processed...
            (Closed, 1, false, false, true, NotRepeatable),
            (TimedOut, 1, false, false, true, NotRepeatable),
            (CutShort, 1, false, false, false, NotRepeatable),
            // ...but a request behind an announced close was not processed: it is sent
            // again, if it has a try left.
            (Announced, 1, false, true, false, Retry),
            (Announced, 1, true, true, false, Retry),
            (Announced, 2, true, true, false, Exhausted),
            (CutShort, 1, true, true, false, Retry),
            // A broken response is not asked for again; those behind it are.
            (Ending::Broken, 1, true, false, true, Verdict::Broken),
            (Ending::Broken, 1, true, false, false, Retry),
            (Ending::Broken, 2, true, false, false, Exhausted),
            (Ending::Broken, 1, false, false, false, NotRepeatable),
            // No response head after good ones: asked for again (alone).
            (Garbled, 1, true, false, true, Retry),
            (Garbled, 2, true, false, true, Exhausted),
            (Garbled, 1, false, false, true, NotRepeatable),
        ] {
            assert_eq!(
                verdict(ending, tries, 2, repeatable, behind, front),
                expected,
                "{ending:?} try {tries} repeatable {repeatable} behind {behind} front {front}"
            );
        }
        // With the default of 3.
        assert_eq!(verdict(Closed, 2, 3, true, false, true), Retry);
        assert_eq!(verdict(Closed, 3, 3, true, false, true), Exhausted);
    }

    #[test]
    fn no_response_head_after_good_ones_ends_pipelining_and_reuse() {
        let mut habits = Habits::new();
        // An unusable response: the server's answer to that request, nothing learnt.
        habits.connection_ended(end(Ending::Broken, 8, 0));
        habits.connection_ended(end(Ending::Broken, 8, 3));
        assert!(!habits.no_pipelining && !habits.misframes);
        assert_eq!(habits.cap(), None);
        habits.connection_ended(end(Ending::Garbled, 8, 1));
        assert!(habits.no_pipelining);
        assert_eq!(habits.depth(64), 1);
        assert_eq!(habits.cap(), Some(1));
        // Whatever the server announces or other connections show after.
        habits.announced_max(1, 99, false);
        habits.connection_ended(end(Ending::Closed, 10, 5));
        assert_eq!(habits.cap(), Some(1));
    }

    #[test]
    fn the_connection_window_grows_with_answers_and_halves_on_drops_once_a_calm() {
        let t0 = Instant::now();
        let mut window = Window::new(16_384, 2);
        assert_eq!(window.size(), Window::INITIAL);
        // One more for each window's worth of answers.
        for _ in 0..255 {
            window.answered();
        }
        assert_eq!(window.size(), 256);
        window.answered();
        assert_eq!(window.size(), 257);
        for _ in 0..257 + 258 {
            window.answered();
        }
        assert_eq!(window.size(), 259);
        // A burst of drops: one halving.
        window.dropped(t0);
        window.dropped(t0 + Duration::from_millis(10));
        window.dropped(t0 + Window::CALM - Duration::from_millis(1));
        assert_eq!(window.size(), 129);
        // Another after the calm.
        window.dropped(t0 + Window::CALM);
        assert_eq!(window.size(), 64);
        // Never below the floor.
        for k in 2..20u32 {
            window.dropped(t0 + Window::CALM * k);
        }
        assert_eq!(window.size(), Window::FLOOR);
        // Nor above the cap, which may come down.
        let mut small = Window::new(100, 1);
        assert_eq!(small.size(), 100);
        for _ in 0..1000 {
            small.answered();
        }
        assert_eq!(small.size(), 100);
        small.dropped(t0);
        assert_eq!(small.size(), 50);
        assert_eq!(Window::new(0, 1).size(), 1);
        // One origin's many connections start whole.
        assert_eq!(Window::new(16_384, 1000).size(), 1000);
    }
}
