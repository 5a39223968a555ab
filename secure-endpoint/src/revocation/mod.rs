//! Revocation: tokens that were valid when issued and are not any more. One token by its
//! `jti` (logout), or every token of a principal issued before a moment (logout
//! everywhere, a changed password, a deleted account), in this process or in Redis
//! shared by every instance. The request step that consults it is
//! [`crate::pipeline::revocation`]; handlers revoke through [`Revoker`](crate::Revoker).

mod memory;
#[cfg(feature = "redis")]
pub(crate) mod redis;

use std::fmt;
#[cfg(feature = "redis")]
use std::sync::Arc;
use std::time::Duration;

use crate::auth::TokenFacts;
use crate::clock::unix_now_ms;
#[cfg(feature = "redis")]
use crate::redis_connection::{RedisSettings, RevocationQuery};
use crate::setup_error::SetupError;
use memory::MemoryRevocations;

/// The longest a token may live on a route where revocation is configured, by default.
pub const DEFAULT_MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Where revocations are kept: in this process, or in Redis shared by every instance.
/// Set with [`SecurityBuilder::revocation`](crate::SecurityBuilder::revocation).
///
/// Where revocation is configured, every verified JWT must carry `iat`, and live (from
/// `iat` to `exp`) at most [`max_token_lifetime`](Self::max_token_lifetime): a
/// principal's "revoked before" moment is kept that long, so a token living longer would
/// outlive its revocation. A token without `iat`, or living longer, is refused with 401.
/// A token without `jti` can only be revoked with all of its principal's tokens. API
/// keys are not revoked here: take them out of their [`ApiKeys`](crate::ApiKeys).
///
/// ```
/// use secure_endpoint::{Revocations, Security};
///
/// let security = Security::builder().revocation(Revocations::memory()).build()?;
/// # Ok::<(), secure_endpoint::SetupError>(())
/// ```
#[derive(Clone)]
pub struct Revocations {
    backend: Backend,
    max_lifetime: Duration,
}

#[derive(Clone)]
enum Backend {
    Memory,
    #[cfg(feature = "redis")]
    Redis(Arc<RedisSettings>),
}

impl fmt::Debug for Revocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match &self.backend {
            Backend::Memory => "memory",
            #[cfg(feature = "redis")]
            Backend::Redis(_) => "redis",
        };
        f.debug_struct("Revocations")
            .field("backend", &backend)
            .field("max_token_lifetime", &self.max_lifetime)
            .finish()
    }
}

impl Revocations {
    /// Kept in this process: a revocation is seen by this instance only.
    pub fn memory() -> Self {
        Revocations {
            backend: Backend::Memory,
            max_lifetime: DEFAULT_MAX_TOKEN_LIFETIME,
        }
    }

    /// Kept in Redis at `url` (feature `redis`): every instance sees a revocation on its
    /// next request. When the router's limits are counted in the same Redis, a request's
    /// revocation check and its limit check are one round trip. While Redis is
    /// unreachable, each instance checks against the revocations it made itself (and logs
    /// it), unless [`fail_closed`](Self::fail_closed) asks for 503; what is revoked
    /// meanwhile is written once Redis answers again.
    #[cfg(feature = "redis")]
    pub fn redis(url: &str) -> Result<Self, SetupError> {
        Ok(Revocations {
            backend: Backend::Redis(Arc::new(RedisSettings::new(url)?)),
            max_lifetime: DEFAULT_MAX_TOKEN_LIFETIME,
        })
    }

    /// Kept in a Redis Cluster reached through any of `nodes` (feature `redis`), as
    /// [`Limiter::redis_cluster`](crate::Limiter::redis_cluster): every instance sees a
    /// revocation on its next request, and an outage is met as with
    /// [`redis`](Self::redis). One principal's keys share a slot; the revocation is asked
    /// in a round trip of its own, since a request's limits count in the client's slot.
    ///
    /// ```
    /// use secure_endpoint::Revocations;
    ///
    /// let revocations = Revocations::redis_cluster(["redis://10.0.0.1:7000"])?;
    /// assert!(Revocations::redis_cluster(Vec::<&str>::new()).is_err());
    /// # Ok::<(), secure_endpoint::SetupError>(())
    /// ```
    #[cfg(feature = "redis")]
    pub fn redis_cluster<'a>(nodes: impl IntoIterator<Item = &'a str>) -> Result<Self, SetupError> {
        let nodes: Vec<&str> = nodes.into_iter().collect();
        Ok(Revocations {
            backend: Backend::Redis(Arc::new(RedisSettings::cluster(&nodes)?)),
            max_lifetime: DEFAULT_MAX_TOKEN_LIFETIME,
        })
    }

    /// The first part of every Redis key (default: the running program's name), as
    /// [`Limiter::prefix`](crate::Limiter::prefix): keys are
    /// `PREFIX:revoked:{p:FINGERPRINT}:token:JTI` and `PREFIX:revoked:{p:FINGERPRINT}:before`,
    /// the fingerprint 128 bits of the principal id's SHA-256 (a hash tag: one principal's
    /// keys share a slot of a cluster).
    #[cfg(feature = "redis")]
    pub fn prefix(mut self, prefix: &str) -> Result<Self, SetupError> {
        match &mut self.backend {
            Backend::Redis(settings) => Arc::make_mut(settings).set_prefix(prefix)?,
            Backend::Memory => crate::redis_connection::check_prefix(prefix)?,
        }
        Ok(self)
    }

    /// With Redis unreachable, refuse authenticated requests with 503 instead of checking
    /// them against this instance's own revocations.
    #[cfg(feature = "redis")]
    pub fn fail_closed(mut self) -> Self {
        if let Backend::Redis(settings) = &mut self.backend {
            Arc::make_mut(settings).fail_closed = true;
        }
        self
    }

    /// The longest a token may live, from `iat` to `exp` (default 24 hours): longer
    /// ones are refused where revocation is configured.
    pub fn max_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_lifetime = lifetime;
        self
    }

    pub(crate) fn build(&self) -> Result<RevocationStore, SetupError> {
        if self.max_lifetime < Duration::from_secs(1) {
            return Err(SetupError::InvalidSetting {
                setting: "max_token_lifetime",
                reason: "must be at least one second".into(),
            });
        }
        Ok(RevocationStore {
            memory: MemoryRevocations::default(),
            #[cfg(feature = "redis")]
            redis: match &self.backend {
                Backend::Memory => None,
                Backend::Redis(settings) => {
                    Some(redis::RedisRevocations::new(Arc::clone(settings)))
                }
            },
            max_lifetime_ms: self.max_lifetime.as_millis() as u64,
        })
    }
}

/// The revocations a router consults and its handlers write.
pub(crate) struct RevocationStore {
    /// Every revocation this instance made; with Redis, the answer while it is down.
    memory: MemoryRevocations,
    #[cfg(feature = "redis")]
    redis: Option<redis::RedisRevocations>,
    max_lifetime_ms: u64,
}

/// A token's standing with the revocations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Valid,
    Revoked,
    /// The shared store cannot be asked and the settings fail closed.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Unavailable,
}

impl RevocationStore {
    /// Why a verified token cannot be judged here, if it cannot: its `jti`, `iat` or
    /// `exp` unreadable, no `iat`, an `iat` in the future (a token issued later than
    /// now would escape every "revoked before" moment until then), or a life longer
    /// than the revocations are kept.
    pub(crate) fn inadmissible(&self, facts: Option<&TokenFacts>) -> Option<&'static str> {
        let Some(facts) = facts else {
            // Not a token this store revokes (an API key): nothing to judge.
            return None;
        };
        if facts.unreadable {
            return Some(
                "the token's jti, iat or exp cannot be read (another type, or given twice), which revocation needs",
            );
        }
        let Some(issued_at_ms) = facts.issued_at_ms else {
            return Some("the token has no iat, which revocation needs");
        };
        let expires_at_ms = facts
            .expires_at
            .map_or(u64::MAX, |exp| exp.saturating_mul(1000));
        if expires_at_ms.saturating_sub(issued_at_ms) > self.max_lifetime_ms {
            return Some("the token lives longer than the revocations' max_token_lifetime");
        }
        // The largest leeway an authenticator accepts is the clocks' tolerance here too.
        if issued_at_ms > unix_now_ms().saturating_add(memory::EXPIRY_GRACE_MS) {
            return Some("the token's iat is in the future, beyond any leeway");
        }
        None
    }

    /// Whether the token `facts` describes, of `principal`, is revoked.
    pub(crate) async fn verdict(&self, principal: &str, facts: &TokenFacts) -> Verdict {
        #[cfg(feature = "redis")]
        if let Some(redis) = &self.redis {
            if let Some(revoked) = redis.is_revoked(&self.query(redis, principal, facts)).await {
                if redis.has_pending() {
                    redis.flush().await;
                }
                return if revoked {
                    Verdict::Revoked
                } else {
                    Verdict::Valid
                };
            }
            if redis.settings.fail_closed {
                return Verdict::Unavailable;
            }
        }
        if self.memory.is_revoked(principal, facts) {
            Verdict::Revoked
        } else {
            Verdict::Valid
        }
    }

    /// The question for the limit's script, when this store is the Redis at `url` and
    /// can be asked now.
    #[cfg(feature = "redis")]
    pub(crate) fn query_on(
        &self,
        url: &str,
        principal: &str,
        facts: &TokenFacts,
    ) -> Option<RevocationQuery> {
        let redis = self.redis.as_ref()?;
        (redis.settings.url == url
            && !redis.is_cluster()
            && !redis.resting()
            && !redis.has_pending())
        .then(|| self.query(redis, principal, facts))
    }

    /// The shared store's answer came with the limit's: recorded as its own would be.
    #[cfg(feature = "redis")]
    pub(crate) fn answered_with_limit(&self) {
        if let Some(redis) = &self.redis {
            redis.answered();
        }
    }

    #[cfg(feature = "redis")]
    fn query(
        &self,
        redis: &redis::RedisRevocations,
        principal: &str,
        facts: &TokenFacts,
    ) -> RevocationQuery {
        RevocationQuery {
            token_key: redis.token_key(principal, facts.id.as_deref()),
            before_key: redis.before_key(principal),
            issued_at_ms: facts.issued_at_latest_ms().unwrap_or(0),
        }
    }

    /// Revokes the token `id` of `principal`, which expires at `expires_at` (seconds).
    /// (The principal places the shared entry; the memory's entry needs only the id.)
    #[cfg_attr(not(feature = "redis"), allow(unused_variables))]
    pub(crate) async fn revoke_token(&self, principal: &str, id: &str, expires_at: u64) {
        let now = unix_now_ms();
        let expires_at_ms = expires_at.saturating_mul(1000);
        self.memory
            .revoke_token(id, expires_at_ms, now, self.max_lifetime_ms);
        #[cfg(feature = "redis")]
        if let Some(redis) = &self.redis {
            let ttl_ms = (expires_at_ms + memory::EXPIRY_GRACE_MS).saturating_sub(now);
            redis
                .write(redis::Write::Token {
                    key: redis.token_key(principal, Some(id)),
                    ttl_ms,
                })
                .await;
        }
    }

    /// Revokes every token of `principal` issued before now.
    pub(crate) async fn revoke_all(&self, principal: &str) {
        let now = unix_now_ms();
        self.memory
            .revoke_before(principal, now, now, self.max_lifetime_ms);
        #[cfg(feature = "redis")]
        if let Some(redis) = &self.redis {
            redis
                .write(redis::Write::Before {
                    key: redis.before_key(principal),
                    moment_ms: now,
                    ttl_ms: self.max_lifetime_ms + memory::EXPIRY_GRACE_MS,
                })
                .await;
        }
    }

    /// Where the revocations are kept: `memory`, or `redis` (shared).
    pub(crate) fn backend_name(&self) -> &'static str {
        #[cfg(feature = "redis")]
        if self.redis.is_some() {
            return "redis";
        }
        "memory"
    }

    /// The longest a token may live, in milliseconds.
    pub(crate) fn max_lifetime_ms(&self) -> u64 {
        self.max_lifetime_ms
    }

    /// Whether a request is refused (503) while the shared store does not answer.
    pub(crate) fn fails_closed(&self) -> bool {
        #[cfg(feature = "redis")]
        if let Some(redis) = &self.redis {
            return redis.settings.fail_closed;
        }
        false
    }

    /// The memory check alone, for the benchmarks.
    pub(crate) fn memory_verdict(&self, principal: &str, facts: &TokenFacts) -> bool {
        self.memory.is_revoked(principal, facts)
    }
}
