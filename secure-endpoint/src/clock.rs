//! The one wall clock: milliseconds since the Unix epoch, for what is compared with a
//! token's `iat` and `exp` or written into one. Durations between two moments of this
//! process use [`std::time::Instant`] instead, which is not this module's business.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch; 0 for a clock set before 1970.
pub(crate) fn unix_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}
