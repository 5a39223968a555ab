//! Rate limiting: one GCRA, in memory (governor) or in Redis, keyed by principal,
//! client address or a field of the validated body; several limits per route, checked
//! together.
//!
//! `"10/10s"` admits a burst of 10, then one request per second sustained (the period
//! divided by the count): a client that waits a second gets one more request, not ten.
//!
//! What a policy declares is [`limit`]; what a check answers, [`verdict`]; the backend the
//! settings choose and one limit of it, [`limiter`]; one route's limits checked together,
//! `together`, above the two stores (`memory`, `redis`, whose requests in flight share
//! their calls to Redis in `batch`). Which key a request counts on,
//! and what its refusal looks like, is the request's limit step, not this module.

#[cfg(feature = "redis")]
mod batch;
mod key;
mod limit;
mod limiter;
pub(crate) mod memory;
#[cfg(feature = "redis")]
pub(crate) mod redis;
mod together;
mod verdict;

pub use key::LimitField;
pub(crate) use key::{KeptKey, LimitKey, normalize_input};
pub use limit::{Counts, Limit, Rate, RateKey};
pub(crate) use limiter::RouteLimiter;
pub use limiter::{DEFAULT_MAX_KEYS, Limiter};
pub(crate) use memory::MemoryLimiter;
pub(crate) use together::{Armed, RouteLimits};
pub(crate) use verdict::Outcome;
