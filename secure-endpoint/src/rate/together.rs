//! Every limit of one request, checked at once: each must admit, and a request one of
//! them refuses spends nothing on the others. In memory the limits are asked in turn
//! and those already counted are refunded when a later one refuses (GCRA refunds are
//! exact); in Redis one script asks them all and counts only when all admit.

use std::sync::Arc;
use std::time::Duration;

use super::key::{KeptKey, LimitKey};
use super::limit::{Limit, RateKey};
use super::limiter::RouteLimiter;
use super::memory::in_memory;
use super::verdict::Verdict;

/// A limit of a route with the limiter that counts it: its own, or its group's, shared
/// with every route of the group.
pub(crate) struct Armed {
    pub(crate) limit: Limit,
    pub(crate) limiter: Arc<RouteLimiter>,
}

/// The limits of one route, all on one backend.
pub(crate) struct RouteLimits {
    armed: Vec<Armed>,
    /// The declared limits, as the 429's headers list them.
    declared: &'static [Limit],
}

impl RouteLimits {
    pub(crate) fn new(declared: &'static [Limit], armed: Vec<Armed>) -> RouteLimits {
        RouteLimits { armed, declared }
    }

    pub(crate) fn declared(&self) -> &'static [Limit] {
        self.declared
    }

    pub(crate) fn limit(&self, index: usize) -> &Limit {
        &self.armed[index].limit
    }

    pub(crate) fn len(&self) -> usize {
        self.armed.len()
    }

    /// Whether a limit counts on a body field: the limits are then checked once the
    /// body is read.
    pub(crate) fn has_input(&self) -> bool {
        self.armed
            .iter()
            .any(|armed| matches!(armed.limit.key(), RateKey::Input(_)))
    }

    /// The Redis the limits count in, if they do.
    pub(crate) fn redis_url(&self) -> Option<&str> {
        self.armed.first()?.limiter.redis_url()
    }

    /// A limit that is known to refuse its key now, from what this instance holds: no
    /// counting, no round trip. Limits without a key yet (a body field) are skipped.
    pub(crate) fn known_refusal<'k>(
        &self,
        key: impl Fn(usize) -> Option<LimitKey<'k>>,
    ) -> Option<(usize, Duration)> {
        (0..self.armed.len()).find_map(|i| {
            let refusal = self.armed[i].limiter.refusal(&key(i)?)?;
            Some((i, refusal))
        })
    }

    /// Every limit, with the key `key` gives it, checked together, and `query`'s
    /// revocation asked in the same round trip when the limits are in Redis. `Err` names
    /// a limit that has no key.
    pub(crate) async fn check<'k>(
        &self,
        key: impl Fn(usize) -> Option<LimitKey<'k>>,
        #[cfg(feature = "redis")] query: Option<&crate::redis_connection::RevocationQuery>,
    ) -> Result<Verdict, usize> {
        let n = self.armed.len();
        if let Some(missing) = (0..n).find(|&i| key(i).is_none()) {
            return Err(missing);
        }
        #[cfg(feature = "redis")]
        {
            let asks: Option<Vec<super::redis::Ask<'_>>> = (0..n)
                .map(|i| match &*self.armed[i].limiter {
                    RouteLimiter::Redis(limiter) => Some(super::redis::Ask {
                        limiter,
                        key: key(i)?,
                    }),
                    RouteLimiter::Memory(_) => None,
                })
                .collect();
            if let Some(asks) = asks
                && !asks.is_empty()
            {
                return Ok(super::redis::check_together(&asks, query).await);
            }
        }
        let memory = |i: usize| match &*self.armed[i].limiter {
            RouteLimiter::Memory(memory) => memory,
            #[cfg(feature = "redis")]
            RouteLimiter::Redis(redis) => redis.fallback(),
        };
        Ok(in_memory(n, memory, &key).expect("every limit has its key"))
    }

    /// Gives back what the limits of failures counted before the handler ran, with the
    /// keys kept then: its answer was not a failure.
    pub(crate) async fn refund(&self, kept: &[(usize, KeptKey)]) {
        for (index, key) in kept {
            self.armed[*index].limiter.refund(&key.key()).await;
        }
    }
}
