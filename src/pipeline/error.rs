//! [`FetchError`]: why a request sent through a pipeline has no response.

use std::fmt;

use crate::error::Error;

/// Why a request has no response, after whatever attempts were made.
///
/// Every variant but [`Invalid`](Self::Invalid) is the network's or the server's doing;
/// `Invalid` is the caller's. Each attempt's error is kept, oldest first
/// ([`errors`](Self::errors)).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum FetchError {
    /// The host name could not be resolved (not tried again: the answer is kept for the
    /// length of the pipeline).
    Resolve(Error),
    /// Every attempt failed for a reason worth trying again (the connection was refused,
    /// closed, reset or cut the response short, or no response came in time), and there
    /// are no attempts left.
    AttemptsExhausted {
        /// Each attempt's error, oldest first.
        errors: Vec<Error>,
    },
    /// No connection could be opened: refused, unreachable, timed out (each attempt
    /// backed off longer), or refused for good (a TLS certificate that does not verify).
    Connect {
        /// Each attempt's error, oldest first.
        errors: Vec<Error>,
    },
    /// The connection ended before the response came, and the request may not be sent
    /// twice (its method is not idempotent and the caller did not mark it repeatable).
    NotRepeatable {
        /// Each attempt's error, oldest first (the last ended it).
        errors: Vec<Error>,
        /// Whether the server may have processed it. Always true as things are: a request
        /// behind an announced close is sent again rather than failed, and one still in
        /// our buffer when its connection failed counts as written (the pipeline does not
        /// count the bytes each request got out).
        may_have_been_processed: bool,
    },
    /// The response was unusable (a protocol error, an unsupported response, a body over
    /// the limit, a TLS failure): asking again would get the same, so it was not.
    BadResponse {
        /// Each attempt's error, oldest first (the last is the bad response).
        errors: Vec<Error>,
    },
    /// Not sent (again): the server completed no response on several connections in a
    /// row, each of which failed a request never tried before, so the requests still
    /// waiting failed without a try of their own (see the [module](super) docs).
    NotSent {
        /// Each try's error, oldest first (none if it was never sent), then why it was not
        /// sent.
        errors: Vec<Error>,
    },
    /// The request could not be sent as given (a header or target HTTP does not allow):
    /// the caller's mistake.
    Invalid(Error),
}

impl FetchError {
    /// Each attempt's error, oldest first.
    pub fn errors(&self) -> &[Error] {
        match self {
            Self::Resolve(e) | Self::Invalid(e) => std::slice::from_ref(e),
            Self::AttemptsExhausted { errors }
            | Self::Connect { errors }
            | Self::NotRepeatable { errors, .. }
            | Self::BadResponse { errors }
            | Self::NotSent { errors } => errors,
        }
    }

    /// The last attempt's error.
    pub fn last(&self) -> Option<&Error> {
        self.errors().last()
    }

    /// Whether the caller is at fault (a request HTTP does not allow).
    pub fn is_caller_error(&self) -> bool {
        matches!(self, Self::Invalid(_))
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last = |errors: &[Error]| {
            errors
                .last()
                .map_or_else(|| "no attempt".to_owned(), ToString::to_string)
        };
        match self {
            Self::Resolve(e) => e.fmt(f),
            Self::Invalid(e) => write!(f, "invalid request: {e}"),
            Self::Connect { errors } if errors.len() > 1 => {
                write!(f, "{} (after {})", last(errors), attempts(errors.len()))
            }
            Self::Connect { errors } => f.write_str(&last(errors)),
            Self::AttemptsExhausted { errors } => {
                write!(f, "{} (after {})", last(errors), attempts(errors.len()))
            }
            // The last error says why it was not sent; those before it are its tries.
            Self::NotSent { errors } if errors.len() > 1 => {
                write!(f, "{} (after {})", last(errors), attempts(errors.len() - 1))
            }
            Self::NotSent { errors } => f.write_str(&last(errors)),
            Self::NotRepeatable {
                errors,
                may_have_been_processed,
            } => {
                let processed = if *may_have_been_processed {
                    "the server may have processed it"
                } else {
                    "the server did not process it"
                };
                write!(
                    f,
                    "{} (not sent again: not idempotent, and {processed})",
                    last(errors)
                )
            }
            Self::BadResponse { errors } => write!(f, "{}", last(errors)),
        }
    }
}

/// "1 attempt", "3 attempts".
fn attempts(n: usize) -> String {
    if n == 1 {
        "1 attempt".to_owned()
    } else {
        format!("{n} attempts")
    }
}

impl std::error::Error for FetchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.last().map(|e| e as _)
    }
}
