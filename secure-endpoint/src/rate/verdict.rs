//! What a check answers: for one limit ([`Outcome`]), and for every limit of a request
//! together ([`Verdict`]).

use std::time::Duration;

/// The answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Allowed,
    /// Refused; the next request may pass after this long.
    Refused {
        retry_after: Duration,
    },
    /// The shared store is down and the settings say to fail closed.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Unavailable,
}

/// The answer for every limit of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub(crate) outcome: Outcome,
    /// The limit that refused, when one did.
    pub(crate) refused_by: usize,
    /// Whether the token asked about in the same round trip is revoked: `None` when
    /// the shared store was not asked.
    pub(crate) revoked: Option<bool>,
    /// The limits that only report and would have refused, one bit per index.
    pub(crate) would_refuse: u64,
}

impl Verdict {
    pub(crate) fn allowed() -> Verdict {
        Verdict {
            outcome: Outcome::Allowed,
            refused_by: 0,
            revoked: None,
            would_refuse: 0,
        }
    }

    pub(crate) fn refused(refused_by: usize, retry_after: Duration) -> Verdict {
        Verdict {
            outcome: Outcome::Refused { retry_after },
            refused_by,
            revoked: None,
            would_refuse: 0,
        }
    }
}
