//! The current `Date` for responses: the clock is read for each response (a coarse one,
//! see [`wall_clock`]), the text is formatted at most once a second per thread.

use std::cell::RefCell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::proto::HttpDate;

/// The last second formatted, and its text.
#[derive(Debug, Default)]
pub(crate) struct DateCache {
    last: Option<HttpDate>,
    /// The second since the epoch that `last` is right for: `None` when not known (before
    /// the epoch, or at the held maximum, where each time is looked at again).
    second: Option<u64>,
    /// How many times a date was formatted (for the tests).
    formatted: u64,
}

impl DateCache {
    const NEW: Self = Self {
        last: None,
        second: None,
        formatted: 0,
    };

    /// The date of `now`, formatted again only when its second differs from the last one.
    pub(crate) fn at(&mut self, now: SystemTime) -> HttpDate {
        let since = now.duration_since(UNIX_EPOCH).ok();
        let secs = since
            .map_or(0, |d| d.as_secs())
            .min(HttpDate::MAX_UNIX_SECS);
        // A second after the epoch and before the held maximum is all the same date.
        let second = since.map(|_| secs).filter(|&s| s < HttpDate::MAX_UNIX_SECS);
        if let Some(date) = self
            .last
            .filter(|_| second.is_some() && second == self.second)
        {
            return date;
        }
        self.second = second;
        match self.last {
            Some(date) if date.unix_secs() == secs => date,
            _ => {
                let date = HttpDate::from_unix_secs(secs);
                self.last = Some(date);
                self.formatted += 1;
                date
            }
        }
    }
}

thread_local! {
    static CACHE: RefCell<DateCache> = const { RefCell::new(DateCache::NEW) };
}

/// The date of `now`, from this thread's cache, and the second it is right for (as
/// [`wall_second`] gives it; `None`: not known, look again each time).
pub(crate) fn at(now: SystemTime) -> (HttpDate, Option<u64>) {
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        let date = cache.at(now);
        (date, cache.second)
    })
}

/// The current date, from this thread's cache.
#[cfg(test)]
pub(crate) fn now() -> HttpDate {
    at(wall_clock()).0
}

/// How far [`wall_clock`] may lag behind `SystemTime::now()`: one tick of the kernel's
/// clock at the lowest usual rate (100 Hz), with room to spare.
#[cfg(test)]
const COARSE_LAG: Duration = Duration::from_millis(50);

/// The wall clock, for dates. On Linux, the coarse clock (`CLOCK_REALTIME_COARSE`): the
/// vDSO reads it from memory in ~3 ns, where `SystemTime::now()` reads the TSC and costs
/// ~33 ns in a VM (measured here), once per response. It lags by at most one kernel tick
/// (1 to 10 ms), nothing for a date given in whole seconds.
pub(crate) fn wall_clock() -> SystemTime {
    since_epoch()
        .and_then(|d| UNIX_EPOCH.checked_add(d))
        // Before the epoch: the precise clock, which says it.
        .unwrap_or_else(SystemTime::now)
}

/// The second since the epoch that [`wall_clock`] is in (`None`: before the epoch),
/// without making a `SystemTime`: compared with the second a date is right for, once per
/// response.
pub(crate) fn wall_second() -> Option<u64> {
    since_epoch().map(|d| d.as_secs())
}

/// The time since the epoch by the clock dates use (`None`: before it, or a value no
/// clock gives).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn since_epoch() -> Option<Duration> {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
    match (u64::try_from(t.tv_sec), u32::try_from(t.tv_nsec)) {
        (Ok(secs), Ok(nanos)) if nanos < 1_000_000_000 => Some(Duration::new(secs, nanos)),
        _ => None,
    }
}

/// The time since the epoch by the clock dates use (`None`: before it).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn since_epoch() -> Option<Duration> {
    SystemTime::now().duration_since(UNIX_EPOCH).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatted_once_per_second() {
        let mut cache = DateCache::default();
        let base = UNIX_EPOCH + Duration::from_secs(784_111_777);
        for ms in (0..1000).step_by(7) {
            let date = cache.at(base + Duration::from_millis(ms));
            assert_eq!(date.as_str(), "Sun, 06 Nov 1994 08:49:37 GMT");
        }
        assert_eq!(cache.formatted, 1);
        let next = cache.at(base + Duration::from_millis(1000));
        assert_eq!(next.as_str(), "Sun, 06 Nov 1994 08:49:38 GMT");
        assert_eq!(cache.formatted, 2);
        // A clock set back is followed too.
        let back = cache.at(base - Duration::from_secs(3600));
        assert_eq!(back.as_str(), "Sun, 06 Nov 1994 07:49:37 GMT");
        assert_eq!(cache.formatted, 3);
        // Beyond year 9999 the date is held, and not formatted again each time.
        let far = UNIX_EPOCH + Duration::from_secs(600_000_000_000); // year 20,983
        cache.at(far);
        cache.at(far + Duration::from_secs(5));
        assert_eq!(cache.formatted, 4);
    }

    #[test]
    fn the_second_kept_is_the_second_of_the_date() {
        let mut cache = DateCache::default();
        let base = UNIX_EPOCH + Duration::from_millis(784_111_777_250);
        let date = cache.at(base);
        assert_eq!(date.as_str(), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(cache.second, Some(784_111_777));
        // From the second's first nanosecond to its last, the date kept; not before or after.
        let start = UNIX_EPOCH + Duration::from_secs(784_111_777);
        for t in [start, start + Duration::new(0, 999_999_999)] {
            assert_eq!(cache.at(t), date);
            assert_eq!(cache.formatted, 1);
        }
        assert_ne!(cache.at(start + Duration::from_secs(1)), date);
        assert_ne!(cache.at(start - Duration::from_nanos(1)), date);
        assert_eq!(cache.formatted, 3);
        // Before the epoch, none.
        cache.at(UNIX_EPOCH - Duration::from_secs(5));
        assert_eq!(cache.second, None);
    }

    #[test]
    fn the_second_given_is_the_second_of_the_date() {
        let base = UNIX_EPOCH + Duration::from_millis(784_111_777_250);
        let (date, second) = at(base);
        assert_eq!(date.as_str(), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(second, Some(784_111_777));
        // Its last nanosecond is the same second, the next one is not (formatted again).
        let last = UNIX_EPOCH + Duration::new(784_111_777, 999_999_999);
        assert_eq!(at(last), (date, second));
        let (next, next_second) = at(last + Duration::from_nanos(1));
        assert_eq!(next.as_str(), "Sun, 06 Nov 1994 08:49:38 GMT");
        assert_eq!(next_second, Some(784_111_778));
        // Before the epoch and at the held maximum, none: the clock is looked at each time.
        assert_eq!(at(UNIX_EPOCH - Duration::from_secs(5)).1, None);
        let far = UNIX_EPOCH + Duration::from_secs(HttpDate::MAX_UNIX_SECS + 10);
        assert_eq!(at(far).1, None);
        let held = UNIX_EPOCH + Duration::from_secs(HttpDate::MAX_UNIX_SECS);
        assert_eq!(at(held).1, None);
        let before_held = UNIX_EPOCH + Duration::from_secs(HttpDate::MAX_UNIX_SECS - 1);
        assert_eq!(at(before_held).1, Some(HttpDate::MAX_UNIX_SECS - 1));
    }

    #[test]
    fn the_wall_second_is_the_wall_clocks() {
        let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_secs();
        for _ in 0..1000 {
            let before = secs(wall_clock());
            let second = wall_second().expect("a clock after the epoch");
            let after = secs(wall_clock());
            assert!(
                before <= second && second <= after,
                "{before} {second} {after}"
            );
        }
    }

    #[test]
    fn now_is_the_current_second() {
        let before = HttpDate::from_system_time(SystemTime::now() - COARSE_LAG);
        let date = now();
        let after = HttpDate::from_system_time(SystemTime::now());
        assert!(before <= date && date <= after, "{before} {date} {after}");
    }

    #[test]
    fn the_wall_clock_is_the_precise_one_within_a_tick() {
        for _ in 0..1000 {
            let before = SystemTime::now();
            let coarse = wall_clock();
            let after = SystemTime::now();
            assert!(coarse <= after, "{coarse:?} after {after:?}");
            assert!(
                coarse + COARSE_LAG >= before,
                "{coarse:?} long before {before:?}"
            );
        }
    }
}
