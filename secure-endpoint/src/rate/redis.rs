//! The shared limit: the same GCRA as one Lua script in Redis (`batch.rs`), asked
//! once per request with every limit of the request and its revocation question, the
//! requests in flight together sharing one call.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::batch::{self, Batcher, Check, Failure};
use super::key::{FingerprintMap, Fingerprinter, LimitKey};
use super::limit::Rate;
use super::memory::{MemoryLimiter, in_memory};
use super::verdict::{Outcome, Verdict};
use crate::redis_connection::{Connection, RedisSettings, RevocationQuery};

/// Blocked keys remembered locally, at most.
const MAX_BLOCKED: usize = 100_000;

/// Takes back one counted request of each key (`ARGV[i]` its emission interval in
/// microseconds), keeping its TTL: the limits of a request in another slot of a cluster
/// refused it.
const REFUND: &str = r#"
for i = 1, #KEYS do
  local tat = tonumber(redis.call('GET', KEYS[i]))
  if tat ~= nil then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl > 0 then
      redis.call('SET', KEYS[i], tat - tonumber(ARGV[i]), 'PX', ttl)
    end
  end
end
return 0
"#;

/// Keys Redis refused, with the time until which they stay refused.
struct Blocked {
    keys: FingerprintMap<Instant>,
    last_sweep: Instant,
}

/// One limit counted in Redis.
pub(crate) struct RedisLimiter {
    settings: Arc<RedisSettings>,
    rate: Rate,
    prefix: String,
    emission_us: u64,
    /// Keys Redis refused, answered here until their retry time with no round trip.
    blocked: Mutex<Blocked>,
    fingerprints: Fingerprinter,
    /// Counts while Redis is unreachable.
    fallback: MemoryLimiter,
    /// The checks of this limit waiting for a call to Redis (one Redis, not a
    /// cluster): a request's checks go with its first limit's.
    batcher: Arc<Batcher>,
}

/// One limit of a request, as [`check_together`] asks it.
pub(crate) struct Ask<'a> {
    pub(crate) limiter: &'a RedisLimiter,
    pub(crate) key: LimitKey<'a>,
}

impl RedisLimiter {
    pub(crate) fn new(
        settings: Arc<RedisSettings>,
        rate: Rate,
        namespace: &str,
        max_keys: usize,
    ) -> Self {
        // The service, the route and the rate: another service, or the same route after
        // its rate changed, never shares the bucket.
        // Braces in a route's path (`/posts/{id}`) would be read as a cluster's hash tag.
        let namespace = namespace.replace('{', "(").replace('}', ")");
        let prefix = format!(
            "{}:rate:{namespace}:{}/{}ms:",
            settings.prefix,
            rate.count(),
            rate.period().as_millis()
        );
        RedisLimiter {
            settings,
            rate,
            prefix,
            emission_us: (rate.emission_interval().as_micros() as u64).max(1),
            blocked: Mutex::new(Blocked {
                keys: FingerprintMap::default(),
                last_sweep: Instant::now(),
            }),
            fingerprints: Fingerprinter::new(),
            fallback: MemoryLimiter::new(rate, max_keys),
            batcher: Arc::default(),
        }
    }

    pub(crate) fn rate(&self) -> Rate {
        self.rate
    }

    /// The Redis it counts in.
    pub(crate) fn url(&self) -> &str {
        &self.settings.url
    }

    /// Where it counts while Redis is unreachable.
    pub(crate) fn fallback(&self) -> &MemoryLimiter {
        &self.fallback
    }

    pub(crate) async fn check(&self, key: &LimitKey<'_>) -> Outcome {
        let ask = Ask {
            limiter: self,
            key: *key,
        };
        check_together(std::slice::from_ref(&ask), None)
            .await
            .outcome
    }

    /// Takes back one request counted on `key`: in Redis while it answers, else in this
    /// instance's own count, where the request was counted while Redis was down.
    pub(crate) async fn refund(&self, key: &LimitKey<'_>) {
        let keys = [key.to_string()];
        let ask = [Ask {
            limiter: self,
            key: *key,
        }];
        let refunded = match self.settings.health.ask() {
            Some(_asking) => match self.settings.connection().await {
                Ok(mut connection) => refund(&mut connection, &ask, &keys, &[0]).await,
                Err(error) => Err(error),
            },
            None => {
                self.fallback.refund(key);
                return;
            }
        };
        if let Err(error) = refunded {
            tracing::warn!(prefix = %self.settings.prefix, %error, "a refund of a limit could not reach Redis; it was given back in memory");
            self.fallback.refund(key);
        }
    }

    /// How long the key is known to stay refused, from what this instance remembers:
    /// no round trip.
    pub(crate) fn refusal(&self, key: &LimitKey<'_>) -> Option<Duration> {
        self.blocked_for(key).or_else(|| self.fallback.refusal(key))
    }

    fn blocked_for(&self, key: &LimitKey<'_>) -> Option<Duration> {
        let until = self
            .blocked
            .lock()
            .expect("blocked keys")
            .keys
            .get(&self.fingerprints.of(key))
            .copied()?;
        until
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    }

    fn remember_blocked(&self, key: &LimitKey<'_>, retry_after: Duration) {
        let mut blocked = self.blocked.lock().expect("blocked keys");
        let now = Instant::now();
        // Full: expired entries are swept at most once a second, not on every refusal.
        if blocked.keys.len() >= MAX_BLOCKED && now - blocked.last_sweep >= Duration::from_secs(1) {
            blocked.last_sweep = now;
            blocked.keys.retain(|_, until| *until > now);
        }
        if blocked.keys.len() < MAX_BLOCKED {
            let key = self.fingerprints.of(key);
            blocked.keys.insert(key, now + retry_after);
        }
    }
}

/// Every limit of `asks` (all on one Redis) checked in one script, with `query`'s
/// revocation asked in the same round trip. A key known to be refused is answered
/// here; with Redis unreachable the limits are counted in memory, or refused with 503
/// when the settings fail closed. `revoked` is `None` when Redis was not asked.
pub(crate) async fn check_together(asks: &[Ask<'_>], query: Option<&RevocationQuery>) -> Verdict {
    for (index, ask) in asks.iter().enumerate() {
        if let Some(retry_after) = ask.limiter.blocked_for(&ask.key) {
            return Verdict::refused(index, retry_after);
        }
    }
    let Some(first) = asks.first() else {
        return Verdict::allowed();
    };
    let settings = &*first.limiter.settings;
    let health = &*settings.health;
    let Some(asking) = health.ask() else {
        return without_redis(settings, asks);
    };
    let started = std::time::Instant::now();
    let answer = ask_redis(settings, asks, query).await;
    crate::metrics::backend_time("redis", "limit", started.elapsed());
    drop(asking);
    match answer {
        Ok(verdict) => {
            if health.answered() {
                tracing::info!(prefix = %settings.prefix, "Redis answers again: rate limits are shared again");
            }
            if let Outcome::Refused { retry_after } = verdict.outcome {
                let ask = &asks[verdict.refused_by];
                ask.limiter.remember_blocked(&ask.key, retry_after);
            }
            verdict
        }
        Err(error) => {
            if health.failed() {
                let what = if error.is_io_error()
                    || error.is_timeout()
                    || error.is_connection_dropped()
                    || error.is_connection_refusal()
                {
                    "Redis is unreachable"
                } else {
                    "Redis refused the limit's script"
                };
                tracing::warn!(
                    prefix = %settings.prefix,
                    error = %error,
                    fail_closed = settings.fail_closed,
                    "{what}: rate limits are {}",
                    if settings.fail_closed { "refusing with 503" } else { "counted in memory" }
                );
            }
            without_redis(settings, asks)
        }
    }
}

fn without_redis(settings: &RedisSettings, asks: &[Ask<'_>]) -> Verdict {
    crate::metrics::backend_fallback("redis");
    if settings.fail_closed {
        Verdict {
            outcome: Outcome::Unavailable,
            refused_by: 0,
            revoked: None,
            would_refuse: 0,
        }
    } else {
        in_memory(
            asks.len(),
            |i| asks[i].limiter.fallback(),
            |i| Some(asks[i].key),
        )
        .expect("every ask has its key")
    }
}

async fn ask_redis(
    settings: &RedisSettings,
    asks: &[Ask<'_>],
    query: Option<&RevocationQuery>,
) -> Result<Verdict, Failure> {
    let keys: Vec<String> = asks.iter().map(|ask| ask.key.to_string()).collect();
    let all: Vec<usize> = (0..asks.len()).collect();
    // One Redis: the request's check waits for the next call with the others in flight.
    if !settings.is_cluster() {
        let first = asks[0].limiter;
        let check = check_of(asks, &keys, &all, query);
        let answer = first.batcher.check(&first.settings, check).await?;
        return Ok(verdict(answer, &all, query.is_some()));
    }
    // A cluster: one script per client key (each key's buckets share a slot through its
    // hash tag).
    let mut connection = settings.connection().await?;
    if keys.iter().all(|key| *key == keys[0]) {
        return run_script(&mut connection, asks, &keys, &all, query).await;
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (index, key) in keys.iter().enumerate() {
        match groups.iter_mut().find(|group| keys[group[0]] == *key) {
            Some(group) => group.push(index),
            None => groups.push(vec![index]),
        }
    }
    for (done, group) in groups.iter().enumerate() {
        let verdict = run_script(&mut connection, asks, &keys, group, None).await?;
        if verdict.outcome != Outcome::Allowed {
            // The slots asked before counted this request: they take it back.
            for earlier in &groups[..done] {
                refund(&mut connection, asks, &keys, earlier).await?;
            }
            return Ok(verdict);
        }
    }
    Ok(Verdict::allowed())
}

/// The bucket of an ask: the limit's prefix, then its key as a hash tag, so that every
/// limit counted on one key lands in one slot of a cluster.
fn bucket(ask: &Ask<'_>, key: &str) -> String {
    format!("{}{{{key}}}", ask.limiter.prefix)
}

/// The check of the asks at `indexes`, with `query`'s revocation question.
fn check_of(
    asks: &[Ask<'_>],
    keys: &[String],
    indexes: &[usize],
    query: Option<&RevocationQuery>,
) -> Check {
    Check {
        limits: indexes
            .iter()
            .map(|&i| {
                let ask = &asks[i];
                (
                    bucket(ask, &keys[i]),
                    ask.limiter.emission_us,
                    u64::from(ask.limiter.rate.count()),
                )
            })
            .collect(),
        revocation: query.map(|query| {
            (
                query.token_key.clone(),
                query.before_key.clone(),
                query.issued_at_ms,
            )
        }),
    }
}

/// The verdict of a check's answer; a refusal names its index in the request's asks.
fn verdict(
    (answer, retry_us): batch::Answer,
    indexes: &[usize],
    asked_revocation: bool,
) -> Verdict {
    let revoked = asked_revocation.then_some(answer == -1);
    match answer {
        1.. => Verdict {
            revoked,
            ..Verdict::refused(
                indexes[(answer - 1) as usize],
                Duration::from_micros(retry_us.max(1) as u64),
            )
        },
        _ => Verdict {
            revoked,
            ..Verdict::allowed()
        },
    }
}

/// The GCRA script for the asks at `indexes` alone, in one call of its own.
async fn run_script(
    connection: &mut Connection,
    asks: &[Ask<'_>],
    keys: &[String],
    indexes: &[usize],
    query: Option<&RevocationQuery>,
) -> Result<Verdict, Failure> {
    let check = check_of(asks, keys, indexes, query);
    let answers = batch::run(connection, &[&check]).await?;
    Ok(verdict(answers[0], indexes, query.is_some()))
}

/// Gives back what the asks at `indexes` counted.
async fn refund(
    connection: &mut Connection,
    asks: &[Ask<'_>],
    keys: &[String],
    indexes: &[usize],
) -> Result<(), redis::RedisError> {
    static SCRIPT: std::sync::OnceLock<redis::Script> = std::sync::OnceLock::new();
    let script = SCRIPT.get_or_init(|| redis::Script::new(REFUND));
    if indexes.is_empty() {
        return Ok(());
    }
    let mut invocation = script.prepare_invoke();
    for &i in indexes {
        invocation
            .key(bucket(&asks[i], &keys[i]))
            .arg(asks[i].limiter.emission_us);
    }
    invocation.invoke_async::<i64>(connection).await?;
    Ok(())
}
