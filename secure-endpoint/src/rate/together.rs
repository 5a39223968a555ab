//! Every limit of one request, checked at once: each must admit, and a request one of
//! them refuses spends nothing on the others. In memory the limits are asked in turn
//! and those already counted are refunded when a later one refuses (GCRA refunds are
//! exact); in Redis one script asks them all and counts only when all admit.
//!
//! Limits that only report (`mode = "report"`) are asked apart, each on its own, once
//! the enforced ones admitted: the request passes whatever they answer, so each counts
//! as it would alone, and one that would refuse is named in the verdict.

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
    /// The indices of the limits that refuse, and of those that only report.
    enforced: Vec<usize>,
    reported: Vec<usize>,
}

impl RouteLimits {
    pub(crate) fn new(declared: &'static [Limit], armed: Vec<Armed>) -> RouteLimits {
        let (reported, enforced): (Vec<usize>, Vec<usize>) =
            (0..armed.len()).partition(|&i| armed[i].limit.reports());
        RouteLimits {
            armed,
            declared,
            enforced,
            reported,
        }
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
        self.enforced.iter().find_map(|&i| {
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
        if let Some(missing) = (0..self.armed.len()).find(|&i| key(i).is_none()) {
            return Err(missing);
        }
        let mut verdict = if self.enforced.is_empty() {
            Verdict::allowed()
        } else {
            self.together(
                &self.enforced,
                &key,
                #[cfg(feature = "redis")]
                query,
            )
            .await
        };
        if verdict.outcome == super::verdict::Outcome::Allowed {
            for &i in &self.reported {
                let alone = self
                    .together(
                        std::slice::from_ref(&i),
                        &key,
                        #[cfg(feature = "redis")]
                        None,
                    )
                    .await;
                if let super::verdict::Outcome::Refused { .. } = alone.outcome {
                    verdict.would_refuse |= 1 << i;
                }
            }
        }
        Ok(verdict)
    }

    /// The limits at `indices` checked together; the verdict names a limit by its index
    /// in the route.
    async fn together<'k>(
        &self,
        indices: &[usize],
        key: &impl Fn(usize) -> Option<LimitKey<'k>>,
        #[cfg(feature = "redis")] query: Option<&crate::redis_connection::RevocationQuery>,
    ) -> Verdict {
        let n = indices.len();
        // Without the `redis` feature only the memory answers, and nothing breaks out.
        #[cfg_attr(not(feature = "redis"), allow(unused_labels))]
        let mut verdict = 'verdict: {
            #[cfg(feature = "redis")]
            {
                let asks: Option<Vec<super::redis::Ask<'_>>> = indices
                    .iter()
                    .map(|&i| match &*self.armed[i].limiter {
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
                    break 'verdict super::redis::check_together(&asks, query).await;
                }
            }
            let memory = |j: usize| match &*self.armed[indices[j]].limiter {
                RouteLimiter::Memory(memory) => memory,
                #[cfg(feature = "redis")]
                RouteLimiter::Redis(redis) => redis.fallback(),
            };
            in_memory(n, memory, |j| key(indices[j])).expect("every limit has its key")
        };
        verdict.refused_by = indices.get(verdict.refused_by).copied().unwrap_or(0);
        verdict
    }

    /// Gives back what the limits of failures counted before the handler ran, with the
    /// keys kept then: its answer was not a failure.
    pub(crate) async fn refund(&self, kept: &[(usize, KeptKey)]) {
        for (index, key) in kept {
            self.armed[*index].limiter.refund(&key.key()).await;
        }
    }
}
