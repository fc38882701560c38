//! [`Eagerness`]: whether a loop's handlers are stood in for as they are called, decided
//! by the watchdog from what it sees at each tick (no clock of its own: it is given one).
//!
//! A handler that blocks holds up its loop until the watchdog notices it, a tick or two.
//! One such handler now and then costs its neighbours that much once; a crowd of them
//! (hundreds of clients of a 2 ms database call) costs every other connection that much
//! per handler, one after another: 75 ms a request behind 256 clients of `/sleep/2`. While
//! the loop's handlers block lately, another thread takes the loop as each is called
//! instead, and nobody waits for a tick. That costs a hand-off between threads a call (a
//! few microseconds), which handlers that return at once must not pay: the calls are timed
//! meanwhile, and the loop goes back to calling its handlers itself as soon as most return
//! at once, or none has blocked for a while.

use std::time::{Duration, Instant};

/// How long handlers are stood in for eagerly after the last sign that they block (the
/// watchdog saw one block, or a call was slow); and how close together the watchdog's
/// first two sightings must be.
pub(crate) const EAGER: Duration = Duration::from_millis(100);
/// A handler call that took this long, and blocked or computed for as long, held its
/// loop: its neighbours would have waited as long, far longer than handing the loop to
/// another thread takes.
pub(crate) const SLOW_CALL: Duration = Duration::from_micros(200);
/// After it starts, eagerness ends once this many calls have returned with none slow: a
/// guess of the watchdog's (a fast call it happened to see running on two ticks, on a
/// busy machine) costs that many hand-offs, not [`SLOW_SHARE`].
pub(crate) const FIRST_JUDGEMENT: u64 = 8;
/// While handlers are stood in for eagerly, at least one call in this many must be slow,
/// judged each time this many have returned: else they mostly return at once, and the
/// hand-offs cost more than the rare slow call holds up the loop (a trickle of slow
/// requests among fast ones).
pub(crate) const SLOW_SHARE: u64 = 64;

/// One loop's eagerness, kept by the watchdog.
#[derive(Debug, Default)]
pub(crate) struct Eagerness {
    /// While eager: until when, unless a handler is seen blocking again.
    until: Option<Instant>,
    /// When the watchdog last saw a handler block while the loop was not eager: eagerness
    /// starts at the second sighting within [`EAGER`]. One handler held up by a busy
    /// machine (a thread waiting for a CPU) is seen once; a crowd of blocking ones, again
    /// within a tick or two.
    seen_blocking: Option<Instant>,
    /// The loop's counts of eager calls returned, all and slow, at the last tick.
    seen: (u64, u64),
    /// Eager calls returned, all and slow, since the share was last judged.
    returned: u64,
    slow: u64,
    /// A share has been judged since eagerness started: later ones are of [`SLOW_SHARE`]
    /// calls, the first of [`FIRST_JUDGEMENT`].
    judged: bool,
}

/// Whether a handler call that took `elapsed` was slow: it took [`SLOW_CALL`] or longer,
/// and its thread blocked meanwhile (more voluntary context switches) or computed for that
/// long, by `before` and `after`, its thread's usage (switches, CPU time) when it started
/// and returned. A call merely kept waiting for a CPU (a busy machine, or the thread that
/// just took the loop over running first) did not hold its loop by itself. Without the
/// usage, the time alone.
pub(crate) fn is_slow(
    elapsed: Duration,
    before: Option<(u64, Duration)>,
    after: Option<(u64, Duration)>,
) -> bool {
    if elapsed < SLOW_CALL {
        return false;
    }
    match (before, after) {
        (Some((switches, cpu)), Some((switches_after, cpu_after))) => {
            switches_after > switches || cpu_after.saturating_sub(cpu) >= SLOW_CALL
        }
        _ => true,
    }
}

impl Eagerness {
    /// One tick at `now`: `blocks`, the watchdog saw a handler block that no thread stood in
    /// for; `counts`, the loop's eager calls returned so far, all and slow. Returns the
    /// loop's new setting if it changes.
    pub(crate) fn tick(&mut self, now: Instant, blocks: bool, counts: (u64, u64)) -> Option<bool> {
        let returned = counts.0.wrapping_sub(self.seen.0);
        let slow = counts.1.wrapping_sub(self.seen.1);
        self.seen = counts;
        let Some(until) = self.until else {
            if !blocks {
                return None;
            }
            let again = self
                .seen_blocking
                .is_some_and(|seen| now.saturating_duration_since(seen) < EAGER);
            self.seen_blocking = Some(now);
            if !again {
                return None;
            }
            self.until = Some(now + EAGER);
            (self.returned, self.slow, self.judged) = (0, 0, false);
            return Some(true);
        };
        self.returned += returned;
        self.slow += slow;
        let mut blocking = blocks || slow > 0;
        let share = if self.judged {
            SLOW_SHARE
        } else {
            FIRST_JUDGEMENT
        };
        if self.returned >= share {
            if self.slow == 0 || self.slow.saturating_mul(SLOW_SHARE) < self.returned {
                return self.end();
            }
            blocking = true;
            (self.returned, self.slow, self.judged) = (0, 0, true);
        }
        if blocking {
            self.until = Some(now + EAGER);
            None
        } else if now >= until {
            self.end()
        } else {
            None
        }
    }

    fn end(&mut self) -> Option<bool> {
        self.until = None;
        Some(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Ticks every millisecond from `start`, what the watchdog sees at tick `i` given by
    /// `step(i)` (a handler seen blocking, the loop's counts); the setting after each.
    fn run(
        eagerness: &mut Eagerness,
        start: Instant,
        ticks: u32,
        mut step: impl FnMut(u32) -> (bool, (u64, u64)),
    ) -> Vec<bool> {
        let mut eager = eagerness.until.is_some();
        (0..ticks)
            .map(|i| {
                let (blocks, counts) = step(i);
                if let Some(now) = eagerness.tick(start + MS * i, blocks, counts) {
                    eager = now;
                }
                eager
            })
            .collect()
    }

    /// Makes `e` eager at `t`: a handler seen blocking a millisecond before and at `t`.
    fn start(e: &mut Eagerness, t: Instant) {
        assert_eq!(e.tick(t - MS, true, (0, 0)), None);
        assert_eq!(e.tick(t, true, (0, 0)), Some(true));
    }

    #[test]
    fn a_loop_is_eager_once_handlers_are_seen_blocking_twice_in_a_while() {
        let mut e = Eagerness::default();
        let t = Instant::now();
        assert_eq!(e.tick(t, false, (0, 0)), None);
        assert_eq!(e.tick(t + MS, true, (0, 0)), None);
        assert_eq!(e.tick(t + 2 * MS, false, (0, 0)), None);
        assert_eq!(e.tick(t + 3 * MS, true, (0, 0)), Some(true));
        // Seen blocking again: no change.
        assert_eq!(e.tick(t + 4 * MS, true, (0, 0)), None);
    }

    #[test]
    fn handlers_seen_blocking_once_in_a_while_do_not_make_it_eager() {
        let mut e = Eagerness::default();
        let t = Instant::now();
        for i in 0..10 {
            assert_eq!(e.tick(t + EAGER * i, true, (0, 0)), None);
        }
    }

    #[test]
    fn with_no_calls_eagerness_ends_after_its_time() {
        let mut e = Eagerness::default();
        let t = Instant::now();
        start(&mut e, t);
        assert_eq!(e.tick(t + EAGER - MS, false, (0, 0)), None);
        assert_eq!(e.tick(t + EAGER, false, (0, 0)), Some(false));
    }

    #[test]
    fn slow_calls_keep_it_eager() {
        let mut e = Eagerness::default();
        let t = Instant::now();
        start(&mut e, t);
        // Every call slow, ten a tick, for ten times the eager time.
        let ticks = 10 * EAGER.as_millis() as u32;
        let settings = run(&mut e, t + MS, ticks, |i| {
            let n = 10 * u64::from(i + 1);
            (false, (n, n))
        });
        assert!(settings.iter().all(|&eager| eager));
        // One slow call now and then, with few calls: still eager.
        let t = t + MS * (ticks + 1);
        let base = 10 * u64::from(ticks);
        let settings = run(&mut e, t, ticks, |i| {
            let n = base + u64::from(i / 50);
            (false, (n, n))
        });
        assert!(settings.iter().all(|&eager| eager));
    }

    #[test]
    fn calls_that_mostly_return_at_once_end_it_at_once() {
        let mut e = Eagerness::default();
        let t = Instant::now();
        start(&mut e, t);
        // The first eight all slow: kept.
        assert_eq!(e.tick(t + MS, false, (8, 8)), None);
        // Then 32 calls a tick, one slow in every 100: over once 64 have returned, well
        // before the eager time.
        let settings = run(&mut e, t + 2 * MS, 10, |i| {
            let n = 32 * u64::from(i + 1);
            (false, (8 + n, 8 + n / 100))
        });
        assert_eq!(
            settings,
            [true, false, false, false, false, false, false, false, false, false]
        );
    }

    #[test]
    fn a_wrong_guess_costs_the_first_judgement_only() {
        let mut e = Eagerness::default();
        let t = Instant::now();
        start(&mut e, t);
        // Five fast calls a tick: over once eight have returned, none slow.
        let settings = run(&mut e, t + MS, 4, |i| (false, (5 * u64::from(i + 1), 0)));
        assert_eq!(settings, [true, false, false, false]);
    }

    #[test]
    fn a_call_kept_waiting_for_a_cpu_is_not_slow() {
        let long = SLOW_CALL * 5;
        let at = |switches, cpu_us| Some((switches, Duration::from_micros(cpu_us)));
        // Blocked: a voluntary switch.
        assert!(is_slow(long, at(10, 0), at(11, 5)));
        // Computed for as long.
        assert!(is_slow(long, at(10, 0), at(10, 200)));
        // Neither: preempted, or waiting for a CPU.
        assert!(!is_slow(long, at(10, 0), at(10, 50)));
        // Short, whatever it did.
        assert!(!is_slow(SLOW_CALL / 2, at(10, 0), at(12, 100)));
        // No usage: the time alone.
        assert!(is_slow(long, None, None));
        assert!(is_slow(long, at(1, 0), None));
    }

    #[test]
    fn one_slow_call_in_the_share_keeps_it_eager() {
        let mut e = Eagerness::default();
        let t = Instant::now();
        start(&mut e, t);
        // 64 calls a tick, two slow: judged at each tick, and kept.
        let settings = run(&mut e, t + MS, 300, |i| {
            let n = u64::from(i + 1);
            (false, (64 * n, 2 * n))
        });
        assert!(settings.iter().all(|&eager| eager));
    }

    #[test]
    fn the_counts_may_wrap() {
        let mut e = Eagerness::default();
        let t = Instant::now();
        let near = u64::MAX - 10;
        e.tick(t, true, (near, near));
        e.tick(t + MS, true, (near, near));
        // 100 calls returned across the wrap, all slow.
        assert_eq!(
            e.tick(
                t + 2 * MS,
                false,
                (near.wrapping_add(100), near.wrapping_add(100))
            ),
            None
        );
        assert_eq!(e.tick(t + 2 * MS + EAGER - MS, false, (89, 89)), None);
    }
}
