//! [`Spin`]: whether a loop polls for a while before it sleeps.
//!
//! Going to sleep in `epoll_wait` and being woken costs both sides: the thread that sends
//! the next request pays for the wake-up, and on a virtual machine a halted CPU is woken
//! through the hypervisor. A loop that is kept busy (a pipelining client, a crowd of them)
//! is often asleep for only a few microseconds between events, and pays that cost each
//! time. So after a wait that was short, the next wait first polls without blocking, for
//! at most the spin time, and sleeps only if nothing came (the guest "halt polling" of
//! Linux, and Go's spinning scheduler threads, do the same). Between polls the loop yields
//! its CPU: a client or another loop on the same CPU runs at once instead of waiting for
//! the spin to end (without that, two spinning loops beside wrk on two CPUs lost 18% of
//! wrk's rate at 50 connections; with it they gain). After a longer wait the loop sleeps
//! at once: a server at light or moderate load spends little or nothing on spinning.

use std::time::Duration;

/// The default spin: 20 µs, long enough to cover one turn of a busy pipelining client on
/// loopback (BENCHMARKS.md), short against the gaps of a moderate load.
pub(crate) const DEFAULT_SPIN: Duration = Duration::from_micros(20);

/// The spin a server gets by default: [`DEFAULT_SPIN`], or none on a machine with one
/// CPU, where a spinning loop would only keep its clients from running.
pub(crate) fn default_spin(cpus: usize) -> Duration {
    if cpus > 1 {
        DEFAULT_SPIN
    } else {
        Duration::ZERO
    }
}

/// What one loop knows of its recent waits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spin {
    limit: Duration,
    /// The last wait that could sleep ended with events within `limit`.
    hot: bool,
    /// Time spent in waits that found nothing since the last that found events: a wait
    /// that the loop's tick cut short is one gap with the wait after it.
    quiet: Duration,
}

impl Spin {
    /// At most `limit` of polling before each sleep; zero never spins.
    pub(crate) fn new(limit: Duration) -> Self {
        Self {
            limit,
            hot: false,
            quiet: Duration::ZERO,
        }
    }

    /// How long the next wait polls before it sleeps.
    pub(crate) fn budget(&self) -> Duration {
        if self.hot {
            self.limit
        } else {
            Duration::ZERO
        }
    }

    /// A wait that could have slept took `took` (its spin and its sleep together), and
    /// `found` events or not. Waits that could not sleep (work was queued) say nothing
    /// about the gaps between events, and are not reported.
    pub(crate) fn waited(&mut self, took: Duration, found: bool) {
        if found {
            self.hot = self.quiet + took < self.limit;
            self.quiet = Duration::ZERO;
        } else {
            self.hot = false;
            self.quiet = self.quiet.saturating_add(took);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: Duration = Duration::from_micros(1);

    #[test]
    fn a_loop_starts_cold_and_spins_only_after_a_short_wait() {
        let mut spin = Spin::new(20 * US);
        assert_eq!(spin.budget(), Duration::ZERO);
        spin.waited(5 * US, true);
        assert_eq!(spin.budget(), 20 * US);
        // Still short: stays hot.
        spin.waited(19 * US, true);
        assert_eq!(spin.budget(), 20 * US);
    }

    #[test]
    fn a_long_wait_or_a_wait_that_found_nothing_stops_the_spinning() {
        let mut spin = Spin::new(20 * US);
        spin.waited(US, true);
        spin.waited(20 * US, true);
        assert_eq!(spin.budget(), Duration::ZERO, "a wait as long as the limit");
        spin.waited(US, true);
        spin.waited(US, false);
        assert_eq!(spin.budget(), Duration::ZERO, "a wait that timed out");
        // Cold again after a long wait, even one that found events.
        spin.waited(Duration::from_millis(3), true);
        assert_eq!(spin.budget(), Duration::ZERO);
    }

    #[test]
    fn a_gap_cut_in_two_by_a_timeout_counts_whole() {
        let mut spin = Spin::new(20 * US);
        spin.waited(US, true);
        // A long gap that the loop's tick split: 95 µs with nothing, then 5 µs.
        spin.waited(95 * US, false);
        spin.waited(5 * US, true);
        assert_eq!(spin.budget(), Duration::ZERO);
        // The next gap is counted from zero.
        spin.waited(5 * US, true);
        assert_eq!(spin.budget(), 20 * US);
    }

    #[test]
    fn a_zero_limit_never_spins() {
        let mut spin = Spin::new(Duration::ZERO);
        for took in [Duration::ZERO, US, 100 * US] {
            spin.waited(took, true);
            assert_eq!(spin.budget(), Duration::ZERO);
        }
    }

    #[test]
    fn one_cpu_gets_no_spin_by_default() {
        assert_eq!(default_spin(1), Duration::ZERO);
        assert_eq!(default_spin(2), DEFAULT_SPIN);
        assert_eq!(default_spin(64), DEFAULT_SPIN);
    }
}
