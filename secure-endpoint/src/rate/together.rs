//! Every limit of one request, checked at once: each must admit, and a request one of
//! them refuses spends nothing on the others. In memory the limits are asked in turn
//! and those already counted are refunded when a later one refuses (GCRA refunds are
//! exact); in Redis one script asks them all and counts only when all admit.

use std::sync::Arc;
use std::time::Duration;

use super::key::{KeptKey, LimitKey};
use super::memory::MemoryLimiter;
use super::{Counts, Limit, Outcome, RouteLimiter};

/// How a limit takes part in a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// An admitted request is counted.
    Count,
    /// The limit is only asked: a limit of failures, counted once the handler answers.
    Peek,
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
}

impl Verdict {
    pub(crate) fn allowed() -> Verdict {
        Verdict {
            outcome: Outcome::Allowed,
            refused_by: 0,
            revoked: None,
        }
    }

    pub(crate) fn refused(refused_by: usize, retry_after: Duration) -> Verdict {
        Verdict {
            outcome: Outcome::Refused { retry_after },
            refused_by,
            revoked: None,
        }
    }
}

/// The in-memory check of `n` limits: the limits only asked go first (nothing to take
/// back when they refuse), then the counted ones in turn, each refunded when a later one
/// refuses. `None` when a limit has no key.
pub(crate) fn in_memory<'k, 'l>(
    n: usize,
    limiter: impl Fn(usize) -> &'l MemoryLimiter,
    key: impl Fn(usize) -> Option<LimitKey<'k>>,
    mode: impl Fn(usize) -> Mode,
) -> Option<Verdict> {
    for i in (0..n).filter(|&i| mode(i) == Mode::Peek) {
        if let Some(retry_after) = limiter(i).refusal(&key(i)?) {
            return Some(Verdict::refused(i, retry_after));
        }
    }
    for i in (0..n).filter(|&i| mode(i) == Mode::Count) {
        if let Outcome::Refused { retry_after } = limiter(i).check(&key(i)?) {
            for j in (0..i).filter(|&j| mode(j) == Mode::Count) {
                limiter(j).refund(&key(j)?);
            }
            return Some(Verdict::refused(i, retry_after));
        }
    }
    Some(Verdict::allowed())
}

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
            .any(|armed| matches!(armed.limit.key(), super::RateKey::Input(_)))
    }

    /// The Redis the limits count in, if they do.
    pub(crate) fn redis_url(&self) -> Option<&str> {
        self.armed.first()?.limiter.redis_url()
    }

    fn mode(&self, index: usize) -> Mode {
        match self.armed[index].limit.counts() {
            Counts::Any => Mode::Count,
            Counts::Failure => Mode::Peek,
        }
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
        #[cfg(feature = "redis")] query: Option<&crate::revocation::redis::RevocationQuery>,
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
                        mode: self.mode(i),
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
        Ok(in_memory(n, memory, &key, |i| self.mode(i)).expect("every limit has its key"))
    }

    /// Counts a failure on each limit of failures, with the keys kept before the
    /// handler ran.
    pub(crate) async fn count_failures(&self, kept: &[(usize, KeptKey)]) {
        for (index, key) in kept {
            // Over the limit already: the failure adds nothing the limit does not know.
            let _ = self.armed[*index].limiter.check(&key.key()).await;
        }
    }
}
