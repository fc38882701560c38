//! Blocking: a loop over a resumable operation, waiting in poll(2) between steps.
//!
//! This is all the blocking [`Client`](crate::client::Client) does: every blocking call is
//! [`run`] around the same operations an event loop drives.

use std::time::{Duration, Instant};

use crate::error::Error;
use crate::{PollNeeded, Progress};

/// Resumes an operation until it is ready, waiting in poll(2) for what it needs between
/// steps. Each wait may last `timeout` (`None`: no limit); a longer one is
/// [`Error::Timeout`] (the operation can be resumed again later).
///
/// ```no_run
/// use pollhttp::op::{ClientStream, ReadResponse};
/// # fn f(stream: &mut ClientStream) -> Result<(), pollhttp::Error> {
/// let mut read = ReadResponse::new();
/// let head = pollhttp::blocking::run(Some(std::time::Duration::from_secs(5)), || read.resume(stream))?;
/// # Ok(()) }
/// ```
pub fn run<T>(
    timeout: Option<Duration>,
    resume: impl FnMut() -> Result<Progress<T>, Error>,
) -> Result<T, Error> {
    drive(timeout, None, resume)
}

/// As [`run`], for an operation with a deadline of its own ([`WaitContinue`]): no wait
/// lasts past `deadline`, so the operation is resumed then, ready or not. A wait cut short
/// by the deadline is not a timeout; one of `timeout` that passes before it is
/// [`Error::Timeout`]. Past the deadline, waits last `timeout` again.
///
/// [`WaitContinue`]: crate::op::WaitContinue
///
/// ```no_run
/// use pollhttp::op::{ClientStream, WaitContinue, DEFAULT_CONTINUE_WAIT};
/// # fn f(stream: &mut ClientStream) -> Result<(), pollhttp::Error> {
/// let mut wait = WaitContinue::new(DEFAULT_CONTINUE_WAIT);
/// let deadline = wait.deadline();
/// let outcome = pollhttp::blocking::run_until(None, deadline, || wait.resume(stream))?;
/// # Ok(()) }
/// ```
pub fn run_until<T>(
    timeout: Option<Duration>,
    deadline: Instant,
    resume: impl FnMut() -> Result<Progress<T>, Error>,
) -> Result<T, Error> {
    drive(timeout, Some(deadline), resume)
}

/// The loop of [`run`] and [`run_until`].
fn drive<T>(
    timeout: Option<Duration>,
    deadline: Option<Instant>,
    mut resume: impl FnMut() -> Result<Progress<T>, Error>,
) -> Result<T, Error> {
    loop {
        match resume()? {
            Progress::Ready(value) => return Ok(value),
            Progress::Pending(need) => wait(&need, timeout, deadline)?,
        }
    }
}

/// Waits for `need` at most `timeout`, or less to end at `deadline` (which is then no
/// timeout; one already past is ignored). [`Error::Timeout`] when `timeout` passed first
/// with nothing ready.
pub(crate) fn wait(
    need: &PollNeeded,
    timeout: Option<Duration>,
    deadline: Option<Instant>,
) -> Result<(), Error> {
    let left = deadline
        .map(|d| d.saturating_duration_since(Instant::now()))
        .filter(|left| !left.is_zero() && timeout.map_or(true, |t| *left < t));
    if !need.wait(left.or(timeout))? && left.is_none() {
        return Err(Error::Timeout);
    }
    Ok(())
}
