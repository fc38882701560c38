//! Blocking: a loop over a resumable operation, waiting in poll(2) between steps.
//!
//! This is all the blocking [`Client`](crate::client::Client) does: every blocking call is
//! [`run`] around the same operations an event loop drives.

use std::time::Duration;

use crate::error::Error;
use crate::Progress;

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
    mut resume: impl FnMut() -> Result<Progress<T>, Error>,
) -> Result<T, Error> {
    loop {
        match resume()? {
            Progress::Ready(value) => return Ok(value),
            Progress::Pending(need) => {
                if !need.wait(timeout)? {
                    return Err(Error::Timeout);
                }
            }
        }
    }
}
