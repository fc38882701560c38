//! Drops what a handler's response body left behind (its reader, its chunk iterator) on a
//! thread of its own: their `Drop` is user code, which may block (waiting for a child
//! process, closing a database cursor), and an event loop must never wait for it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Sender};
use std::sync::OnceLock;
use std::thread;

type Doomed = Box<dyn Send>;

/// The reaper's queue, once its thread has started (`None`: it could not start).
static REAPER: OnceLock<Option<Sender<Doomed>>> = OnceLock::new();

/// Drops `value` on the reaper thread, started at the first call; here if it cannot
/// start. The reaper drops values in the order they come, so one whose `Drop` blocks
/// delays the ones after it, never a connection.
pub(crate) fn drop_off_loop(value: impl Send + 'static) {
    let reaper = REAPER.get_or_init(|| {
        let (queue, doomed) = channel::<Doomed>();
        let started = thread::Builder::new()
            .name("pollhttp-reaper".into())
            .spawn(move || {
                for value in doomed {
                    drop_catching(value);
                }
            });
        match started {
            Ok(_) => Some(queue),
            Err(e) => {
                log::warn!("cannot start the thread that drops response bodies: {e}");
                None
            }
        }
    });
    let value: Doomed = Box::new(value);
    if let Some(queue) = reaper {
        // The thread never ends while the queue lives: a send cannot fail but by a bug.
        if let Err(returned) = queue.send(value) {
            drop(returned.0);
        }
    }
}

/// Drops `value` here; a `Drop` that panics is logged, and does not end the thread (a
/// loop's, or the reaper's with the values after it).
pub(crate) fn drop_catching(value: impl Send) {
    if catch_unwind(AssertUnwindSafe(move || drop(value))).is_err() {
        log::warn!("a response body's code panicked as it was dropped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Tells, when dropped, on which thread, after blocking for a while.
    struct SlowDrop(Sender<(String, Instant)>);

    impl Drop for SlowDrop {
        fn drop(&mut self) {
            thread::sleep(Duration::from_millis(200));
            let name = thread::current().name().unwrap_or("").to_owned();
            let _ = self.0.send((name, Instant::now()));
        }
    }

    #[test]
    fn values_are_dropped_on_the_reaper_thread_without_waiting_for_them() {
        let (told, tells) = channel();
        let start = Instant::now();
        drop_off_loop(SlowDrop(told.clone()));
        drop_off_loop(SlowDrop(told));
        assert!(
            start.elapsed() < Duration::from_millis(100),
            "the caller waited"
        );
        let (first, _) = tells.recv_timeout(Duration::from_secs(5)).expect("dropped");
        let (second, at) = tells.recv_timeout(Duration::from_secs(5)).expect("dropped");
        assert_eq!(
            (first.as_str(), second.as_str()),
            ("pollhttp-reaper", "pollhttp-reaper")
        );
        assert!(
            at - start >= Duration::from_millis(400),
            "dropped one after the other"
        );
    }

    #[test]
    fn a_drop_that_panics_does_not_stop_the_reaper() {
        struct Panics;
        impl Drop for Panics {
            fn drop(&mut self) {
                panic!("a Drop that panics, on purpose");
            }
        }
        drop_off_loop(Panics);
        let (told, tells) = channel();
        drop_off_loop(SlowDrop(told));
        let (name, _) = tells.recv_timeout(Duration::from_secs(5)).expect("dropped");
        assert_eq!(name, "pollhttp-reaper");
    }
}
