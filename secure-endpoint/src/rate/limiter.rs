//! The backend the settings choose ([`Limiter`]: in memory, or Redis), and one limit of
//! it for one route or group ([`RouteLimiter`]).

use std::fmt;
#[cfg(feature = "redis")]
use std::sync::Arc;
use std::time::Duration;

use super::key::LimitKey;
use super::limit::Rate;
use super::memory::MemoryLimiter;
use super::verdict::Outcome;
#[cfg(feature = "redis")]
use crate::redis_connection::RedisSettings;

/// Where limits are counted: in this process, or in Redis shared by every instance.
///
/// ```
/// use secure_endpoint::{Limiter, Security};
///
/// let security = Security::builder().rate_limiter(Limiter::memory()).build()?;
/// # Ok::<(), secure_endpoint::SetupError>(())
/// ```
#[derive(Clone)]
pub struct Limiter {
    pub(crate) backend: Backend,
    pub(crate) max_keys: usize,
}

#[derive(Clone)]
pub(crate) enum Backend {
    Memory,
    #[cfg(feature = "redis")]
    Redis(Arc<RedisSettings>),
}

impl Limiter {
    /// Where the limits are counted: `memory`, or `redis` (shared).
    pub(crate) fn backend_name(&self) -> &'static str {
        match &self.backend {
            Backend::Memory => "memory",
            #[cfg(feature = "redis")]
            Backend::Redis(_) => "redis",
        }
    }
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match &self.backend {
            Backend::Memory => "memory",
            #[cfg(feature = "redis")]
            Backend::Redis(_) => "redis",
        };
        f.debug_struct("Limiter")
            .field("backend", &backend)
            .field("max_keys", &self.max_keys)
            .finish()
    }
}

/// The most keys one in-memory limit holds, by default.
pub const DEFAULT_MAX_KEYS: usize = 1_000_000;

impl Limiter {
    /// Counts in this process, with governor's GCRA. Idle keys are evicted and at most
    /// [`max_keys`](Self::max_keys) are held per limit; a new client beyond that, when
    /// no idle key can make room, is refused (429) rather than tracked.
    pub fn memory() -> Self {
        Limiter {
            backend: Backend::Memory,
            max_keys: DEFAULT_MAX_KEYS,
        }
    }

    /// Counts in Redis at `url` (feature `redis`), shared by every instance: one Lua
    /// script, at most one round trip per check, the time taken from Redis. Checks that
    /// arrive while a call is under way wait and go together in the next call, each
    /// answered as it would have been alone, so requests in flight share round trips;
    /// a key Redis refused is answered in process until its retry time. While Redis is
    /// unreachable the limits are counted in memory (and that is logged), unless
    /// [`fail_closed`](Self::fail_closed) asks for 503.
    #[cfg(feature = "redis")]
    pub fn redis(url: &str) -> Result<Self, crate::setup_error::SetupError> {
        Ok(Limiter {
            backend: Backend::Redis(Arc::new(RedisSettings::new(url)?)),
            max_keys: DEFAULT_MAX_KEYS,
        })
    }

    /// Counts in a Redis Cluster (feature `redis`) reached through any of `nodes`
    /// (`redis://host:port`; the others are discovered), with the same script as
    /// [`redis`](Self::redis). Every bucket's key carries its client key as a hash tag
    /// (`PREFIX:rate:ROUTE:RATE:{ip:203.0.113.7}`), so the limits a request counts on one
    /// key live in one slot and are checked in one `EVALSHA`. A request whose limits
    /// count on different keys (the address and a body field) runs one script per key,
    /// and the slots already counted are refunded when a later one refuses. redis-rs's
    /// cluster client follows `MOVED` and `ASK` and finds a slot's new master after a
    /// failover; while a slot cannot be reached, its limits are counted in memory (or
    /// refused with 503 under [`fail_closed`](Self::fail_closed)) and shared again once
    /// it answers. Revocations go on the cluster with
    /// [`Revocations::redis_cluster`](crate::Revocations::redis_cluster).
    ///
    /// ```
    /// use secure_endpoint::Limiter;
    ///
    /// let limiter = Limiter::redis_cluster(["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"])?;
    /// assert!(Limiter::redis_cluster(Vec::<&str>::new()).is_err());
    /// # Ok::<(), secure_endpoint::SetupError>(())
    /// ```
    #[cfg(feature = "redis")]
    pub fn redis_cluster<'a>(
        nodes: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, crate::setup_error::SetupError> {
        let nodes: Vec<&str> = nodes.into_iter().collect();
        Ok(Limiter {
            backend: Backend::Redis(Arc::new(RedisSettings::cluster(&nodes)?)),
            max_keys: DEFAULT_MAX_KEYS,
        })
    }

    /// The first part of every Redis key (default: the running program's name), so that
    /// two services sharing one Redis never share a bucket. Keys are
    /// `PREFIX:rate:ROUTE:RATE:{KEY}` (a group's limits are named `group:NAME` in place
    /// of the route): the route's rate is in the key too, so a rate changed
    /// by a deploy starts a fresh bucket instead of inheriting a stricter one. Every key
    /// carries a TTL; give Redis `maxmemory-policy volatile-ttl` (or `volatile-lru`) so a
    /// flood of keys evicts old buckets instead of failing writes.
    ///
    /// 1 to 64 printable ASCII characters without spaces, `:`, `{` or `}`; anything else
    /// is a [`SetupError`](crate::SetupError).
    #[cfg(feature = "redis")]
    pub fn prefix(mut self, prefix: &str) -> Result<Self, crate::setup_error::SetupError> {
        match &mut self.backend {
            Backend::Redis(settings) => Arc::make_mut(settings).set_prefix(prefix)?,
            Backend::Memory => crate::redis_connection::check_prefix(prefix)?,
        }
        Ok(self)
    }

    /// With Redis unreachable, refuse with 503 instead of counting in memory.
    #[cfg(feature = "redis")]
    pub fn fail_closed(mut self) -> Self {
        if let Backend::Redis(settings) = &mut self.backend {
            Arc::make_mut(settings).fail_closed = true;
        }
        self
    }

    /// The most keys an in-memory limit holds (default 1,000,000).
    pub fn max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys;
        self
    }

    /// A limit of this backend for `rate`, its keys namespaced by `namespace`.
    pub(crate) fn build(&self, rate: Rate, namespace: &str) -> RouteLimiter {
        #[cfg(not(feature = "redis"))]
        let _ = namespace;
        match &self.backend {
            Backend::Memory => RouteLimiter::Memory(MemoryLimiter::new(rate, self.max_keys)),
            #[cfg(feature = "redis")]
            Backend::Redis(settings) => RouteLimiter::Redis(Box::new(
                super::redis::RedisLimiter::new(settings.clone(), rate, namespace, self.max_keys),
            )),
        }
    }
}

/// The limiter of one route (or of failed authentications).
pub(crate) enum RouteLimiter {
    Memory(MemoryLimiter),
    #[cfg(feature = "redis")]
    Redis(Box<super::redis::RedisLimiter>),
}

impl RouteLimiter {
    pub(crate) async fn check(&self, key: &LimitKey<'_>) -> Outcome {
        match self {
            RouteLimiter::Memory(memory) => memory.check(key),
            #[cfg(feature = "redis")]
            RouteLimiter::Redis(redis) => redis.check(key).await,
        }
    }

    /// Takes back one request counted on `key`.
    pub(crate) async fn refund(&self, key: &LimitKey<'_>) {
        match self {
            RouteLimiter::Memory(memory) => memory.refund(key),
            #[cfg(feature = "redis")]
            RouteLimiter::Redis(redis) => redis.refund(key).await,
        }
    }

    /// How long a check of `key` now would stay refused, as far as this instance can
    /// tell without counting or a round trip.
    pub(crate) fn refusal(&self, key: &LimitKey<'_>) -> Option<Duration> {
        match self {
            RouteLimiter::Memory(memory) => memory.refusal(key),
            #[cfg(feature = "redis")]
            RouteLimiter::Redis(redis) => redis.refusal(key),
        }
    }

    /// The Redis this limit counts in, if it does.
    pub(crate) fn redis_url(&self) -> Option<&str> {
        match self {
            RouteLimiter::Memory(_) => None,
            #[cfg(feature = "redis")]
            RouteLimiter::Redis(redis) => Some(redis.url()),
        }
    }

    pub(crate) fn rate(&self) -> Rate {
        match self {
            RouteLimiter::Memory(memory) => memory.rate(),
            #[cfg(feature = "redis")]
            RouteLimiter::Redis(redis) => redis.rate(),
        }
    }
}
