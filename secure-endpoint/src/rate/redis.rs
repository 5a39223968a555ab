//! The shared limit: the same GCRA as one Lua script in Redis.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use super::key::{Fingerprint, Fingerprinter, LimitKey};
use super::memory::MemoryLimiter;
use super::{Outcome, Rate};
use crate::revocation::redis::RevocationQuery;
use crate::setup_error::SetupError;

/// GCRA with the time taken from Redis (`TIME`), so instances with skewed clocks agree.
/// The stored value is the theoretical arrival time in microseconds (exact in Lua's
/// doubles for centuries); every write carries a TTL of the time until the key is idle
/// again.
///
/// Returns `{allowed, retry_after_us}`.
const GCRA: &str = r#"
-- Before Redis 5, a script that reads TIME may only write with effects replication;
-- from Redis 7 on this is a no-op.
if redis.replicate_commands then redis.replicate_commands() end
local emission = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then
  tat = now
end
local tolerance = emission * (burst - 1)
if tat - now > tolerance then
  return {0, tat - now - tolerance}
end
local next_tat = tat + emission
redis.call('SET', KEYS[1], next_tat, 'PX', math.max(math.ceil((next_tat - now) / 1000), 1))
return {1, 0}
"#;

/// [`GCRA`] asked together with a token's revocation (`KEYS[2]` the token id's key,
/// empty for a token without one; `KEYS[3]` its principal's "revoked before" moment;
/// `ARGV[3]` the token's `iat` in ms): a revoked token is not counted.
///
/// Returns `{allowed, retry_after_us, revoked}`.
const GCRA_WITH_REVOCATION: &str = r#"
if redis.replicate_commands then redis.replicate_commands() end
if KEYS[2] ~= '' and redis.call('EXISTS', KEYS[2]) == 1 then return {1, 0, 1} end
local before = tonumber(redis.call('GET', KEYS[3]))
if before ~= nil and tonumber(ARGV[3]) < before then return {1, 0, 1} end
local emission = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then
  tat = now
end
local tolerance = emission * (burst - 1)
if tat - now > tolerance then
  return {0, tat - now - tolerance, 0}
end
local next_tat = tat + emission
redis.call('SET', KEYS[1], next_tat, 'PX', math.max(math.ceil((next_tat - now) / 1000), 1))
return {1, 0, 0}
"#;

/// How long Redis is not asked again after a failure.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// Blocked keys remembered locally, at most.
const MAX_BLOCKED: usize = 100_000;

/// The connection settings shared by every limit of a router.
#[derive(Clone)]
pub(crate) struct RedisSettings {
    client: redis::Client,
    /// The URL it was opened with: limits and revocations on the same one share a
    /// round trip.
    pub(crate) url: String,
    pub(crate) fail_closed: bool,
    /// The first part of every key: two services on one Redis never share a bucket.
    pub(crate) prefix: String,
    connection: std::sync::Arc<OnceCell<ConnectionManager>>,
}

impl RedisSettings {
    pub(crate) fn new(url: &str) -> Result<Self, SetupError> {
        let client = redis::Client::open(url).map_err(|e| SetupError::InvalidSetting {
            setting: "redis url",
            reason: format!("{e}"),
        })?;
        Ok(RedisSettings {
            client,
            url: url.to_owned(),
            fail_closed: false,
            prefix: default_prefix(),
            connection: std::sync::Arc::new(OnceCell::new()),
        })
    }

    pub(crate) async fn connection(&self) -> Result<ConnectionManager, redis::RedisError> {
        self.connection
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_millis(500)))
                    .set_response_timeout(Some(Duration::from_millis(500)))
                    .set_number_of_retries(1);
                ConnectionManager::new_with_config(self.client.clone(), config).await
            })
            .await
            .cloned()
    }
}

/// The hasher of tables keyed by [`Fingerprint`]: the key is already a keyed hash.
#[derive(Default, Clone, Copy)]
pub(crate) struct PassThrough(u64);

impl std::hash::Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `Fingerprint`; anything else is folded in.
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A table keyed by fingerprints.
pub(crate) type FingerprintMap<V> =
    std::collections::HashMap<Fingerprint, V, std::hash::BuildHasherDefault<PassThrough>>;

/// The name of the running program (`blog` for `target/release/blog`): what names the
/// service when no prefix is set.
fn default_prefix() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|path| Some(path.file_stem()?.to_string_lossy().into_owned()))
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "secure-endpoint".to_owned())
}

/// Checks a key prefix: printable ASCII without spaces, braces (Redis Cluster's hash
/// tags) or `:` (the separator), 1 to 64 characters.
pub(crate) fn valid_prefix(prefix: &str) -> Result<(), SetupError> {
    let fine = (1..=64).contains(&prefix.len())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'{' | b'}' | b':'));
    if fine {
        Ok(())
    } else {
        Err(SetupError::InvalidSetting {
            setting: "redis prefix",
            reason: format!(
                "{prefix:?}: 1 to 64 printable ASCII characters without spaces, `:`, `{{` or `}}`"
            ),
        })
    }
}

/// Keys Redis refused, with the time until which they stay refused.
struct Blocked {
    keys: FingerprintMap<Instant>,
    last_sweep: Instant,
}

pub(crate) struct RedisLimiter {
    settings: std::sync::Arc<RedisSettings>,
    rate: Rate,
    prefix: String,
    script: redis::Script,
    with_revocation: redis::Script,
    emission_us: u64,
    /// Keys Redis refused, answered here until their retry time with no round trip.
    blocked: Mutex<Blocked>,
    fingerprints: Fingerprinter,
    /// Counts while Redis is unreachable.
    fallback: MemoryLimiter,
    /// Milliseconds since `epoch` before which Redis is not tried again.
    down_until: AtomicU64,
    down_logged: AtomicBool,
    /// After a failure, one request at a time asks Redis whether it is back; the others
    /// keep counting in memory meanwhile instead of all waiting on the same timeout.
    probing: AtomicBool,
    epoch: Instant,
}

impl RedisLimiter {
    pub(crate) fn new(
        settings: std::sync::Arc<RedisSettings>,
        rate: Rate,
        namespace: &str,
        max_keys: usize,
    ) -> Self {
        // The service, the route and the rate: another service, or the same route after
        // its rate changed, never shares the bucket.
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
            script: redis::Script::new(GCRA),
            with_revocation: redis::Script::new(GCRA_WITH_REVOCATION),
            emission_us: (rate.emission_interval().as_micros() as u64).max(1),
            blocked: Mutex::new(Blocked {
                keys: FingerprintMap::default(),
                last_sweep: Instant::now(),
            }),
            fingerprints: Fingerprinter::new(),
            fallback: MemoryLimiter::new(rate, max_keys),
            down_until: AtomicU64::new(0),
            down_logged: AtomicBool::new(false),
            probing: AtomicBool::new(false),
            epoch: Instant::now(),
        }
    }

    pub(crate) fn rate(&self) -> Rate {
        self.rate
    }

    /// The Redis it counts in.
    pub(crate) fn url(&self) -> &str {
        &self.settings.url
    }

    pub(crate) async fn check(&self, key: &LimitKey<'_>) -> Outcome {
        self.check_with_revocation(key, None).await.0
    }

    /// The check, with `query`'s revocation asked in the same round trip: the second
    /// answer is `None` when Redis was not asked (a key known to be over, Redis down).
    pub(crate) async fn check_with_revocation(
        &self,
        key: &LimitKey<'_>,
        query: Option<&RevocationQuery>,
    ) -> (Outcome, Option<bool>) {
        if let Some(until) = self
            .blocked
            .lock()
            .expect("blocked keys")
            .keys
            .get(&self.fingerprints.of(key))
            .copied()
        {
            let now = Instant::now();
            if until > now {
                return (
                    Outcome::Refused {
                        retry_after: until - now,
                    },
                    None,
                );
            }
        }
        let elapsed = self.epoch.elapsed().as_millis() as u64;
        let down_until = self.down_until.load(Ordering::Relaxed);
        if elapsed < down_until {
            return (self.without_redis(key), None);
        }
        let probe = down_until > 0;
        if probe
            && self
                .probing
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
        {
            return (self.without_redis(key), None);
        }
        let answer = self.ask_redis(key, query).await;
        if probe {
            self.probing.store(false, Ordering::Release);
        }
        match answer {
            Ok((decision, revoked)) => {
                self.down_until.store(0, Ordering::Relaxed);
                if self.down_logged.swap(false, Ordering::Relaxed) {
                    tracing::info!(prefix = %self.prefix, "Redis answers again: rate limits are shared again");
                }
                if let Outcome::Refused { retry_after } = decision {
                    self.remember_blocked(key, retry_after);
                }
                (decision, revoked)
            }
            Err(error) => {
                // The pause counts from the failure, not from the request: a timeout
                // as long as the pause would otherwise leave none.
                let failed_at = self.epoch.elapsed().as_millis() as u64;
                self.down_until.store(
                    failed_at + RETRY_AFTER_FAILURE.as_millis() as u64,
                    Ordering::Relaxed,
                );
                if !self.down_logged.swap(true, Ordering::Relaxed) {
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
                        prefix = %self.prefix,
                        error = %error,
                        fail_closed = self.settings.fail_closed,
                        "{what}: rate limits are {}",
                        if self.settings.fail_closed { "refusing with 503" } else { "counted in memory" }
                    );
                }
                (self.without_redis(key), None)
            }
        }
    }

    /// Whether the key is known to be refused, from what this instance remembers: no
    /// round trip.
    pub(crate) fn would_refuse(&self, key: &LimitKey<'_>) -> bool {
        let blocked = self.blocked.lock().expect("blocked keys");
        blocked
            .keys
            .get(&self.fingerprints.of(key))
            .is_some_and(|until| *until > Instant::now())
            || self.fallback.would_refuse(key)
    }

    fn without_redis(&self, key: &LimitKey<'_>) -> Outcome {
        if self.settings.fail_closed {
            Outcome::Unavailable
        } else {
            self.fallback.check(key)
        }
    }

    async fn ask_redis(
        &self,
        key: &LimitKey<'_>,
        query: Option<&RevocationQuery>,
    ) -> Result<(Outcome, Option<bool>), redis::RedisError> {
        let mut connection = self.settings.connection().await?;
        let bucket = format!("{}{key}", self.prefix);
        let (allowed, retry_us, revoked) = match query {
            None => {
                let (allowed, retry_us): (i64, i64) = self
                    .script
                    .key(bucket)
                    .arg(self.emission_us)
                    .arg(self.rate.count())
                    .invoke_async(&mut connection)
                    .await?;
                (allowed, retry_us, None)
            }
            Some(query) => {
                let (allowed, retry_us, revoked): (i64, i64, i64) = self
                    .with_revocation
                    .key(bucket)
                    .key(&query.token_key)
                    .key(&query.before_key)
                    .arg(self.emission_us)
                    .arg(self.rate.count())
                    .arg(query.issued_at_ms)
                    .invoke_async(&mut connection)
                    .await?;
                (allowed, retry_us, Some(revoked == 1))
            }
        };
        let outcome = if allowed == 1 {
            Outcome::Allowed
        } else {
            Outcome::Refused {
                retry_after: Duration::from_micros(retry_us.max(1) as u64),
            }
        };
        Ok((outcome, revoked))
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
