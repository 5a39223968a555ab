//! The shared limit: the same GCRA as one Lua script in Redis.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use super::key::{FingerprintMap, Fingerprinter, LimitKey};
use super::memory::MemoryLimiter;
use super::{Outcome, Rate};
use crate::setup_error::SetupError;

/// GCRA with the time taken from Redis (`TIME`), so instances with skewed clocks agree.
/// The stored value is the theoretical arrival time in microseconds (exact in Lua's
/// doubles for centuries); every write carries a TTL of the time until the key is idle
/// again.
///
/// Returns `{allowed, retry_after_us}`.
const GCRA: &str = r#"
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

/// How long Redis is not asked again after a failure.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// Blocked keys remembered locally, at most.
const MAX_BLOCKED: usize = 100_000;

/// The connection settings shared by every limit of a router.
#[derive(Clone)]
pub(crate) struct RedisSettings {
    client: redis::Client,
    pub(crate) fail_closed: bool,
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
            fail_closed: false,
            connection: std::sync::Arc::new(OnceCell::new()),
        })
    }

    async fn connection(&self) -> Result<ConnectionManager, redis::RedisError> {
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
    emission_us: u64,
    /// Keys Redis refused, answered here until their retry time with no round trip.
    blocked: Mutex<Blocked>,
    fingerprints: Fingerprinter,
    /// Counts while Redis is unreachable.
    fallback: MemoryLimiter,
    /// Milliseconds since `epoch` before which Redis is not tried again.
    down_until: AtomicU64,
    down_logged: AtomicBool,
    epoch: Instant,
}

impl RedisLimiter {
    pub(crate) fn new(
        settings: std::sync::Arc<RedisSettings>,
        rate: Rate,
        namespace: &str,
        max_keys: usize,
    ) -> Self {
        RedisLimiter {
            settings,
            rate,
            prefix: format!("secure-endpoint:rate:{namespace}:"),
            script: redis::Script::new(GCRA),
            emission_us: (rate.emission_interval().as_micros() as u64).max(1),
            blocked: Mutex::new(Blocked {
                keys: FingerprintMap::default(),
                last_sweep: Instant::now(),
            }),
            fingerprints: Fingerprinter::new(),
            fallback: MemoryLimiter::new(rate, max_keys),
            down_until: AtomicU64::new(0),
            down_logged: AtomicBool::new(false),
            epoch: Instant::now(),
        }
    }

    pub(crate) fn rate(&self) -> Rate {
        self.rate
    }

    pub(crate) async fn check(&self, key: &LimitKey<'_>) -> Outcome {
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
                return Outcome::Refused {
                    retry_after: until - now,
                };
            }
        }
        let elapsed = self.epoch.elapsed().as_millis() as u64;
        if elapsed < self.down_until.load(Ordering::Relaxed) {
            return self.without_redis(key);
        }
        match self.ask_redis(key).await {
            Ok(decision) => {
                if self.down_logged.swap(false, Ordering::Relaxed) {
                    tracing::info!(prefix = %self.prefix, "Redis answers again: rate limits are shared again");
                }
                if let Outcome::Refused { retry_after } = decision {
                    self.remember_blocked(key, retry_after);
                }
                decision
            }
            Err(error) => {
                self.down_until.store(
                    elapsed + RETRY_AFTER_FAILURE.as_millis() as u64,
                    Ordering::Relaxed,
                );
                if !self.down_logged.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        prefix = %self.prefix,
                        error = %error,
                        fail_closed = self.settings.fail_closed,
                        "Redis is unreachable: rate limits are {}",
                        if self.settings.fail_closed { "refusing with 503" } else { "counted in memory" }
                    );
                }
                self.without_redis(key)
            }
        }
    }

    fn without_redis(&self, key: &LimitKey<'_>) -> Outcome {
        if self.settings.fail_closed {
            Outcome::Unavailable
        } else {
            self.fallback.check(key)
        }
    }

    async fn ask_redis(&self, key: &LimitKey<'_>) -> Result<Outcome, redis::RedisError> {
        let mut connection = self.settings.connection().await?;
        let (allowed, retry_us): (i64, i64) = self
            .script
            .key(format!("{}{key}", self.prefix))
            .arg(self.emission_us)
            .arg(self.rate.count())
            .invoke_async(&mut connection)
            .await?;
        Ok(if allowed == 1 {
            Outcome::Allowed
        } else {
            Outcome::Refused {
                retry_after: Duration::from_micros(retry_us.max(1) as u64),
            }
        })
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
