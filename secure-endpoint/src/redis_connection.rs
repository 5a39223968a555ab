//! A Redis the shared backends talk to (feature `redis`): where it is (one server or a
//! cluster), the settings both the limiter and the revocations take (`prefix`,
//! `fail_closed`), the connection, the one record of whether it answers, and the
//! question both ask of it ("is this token revoked"), written once in Lua.
//!
//! What is asked of Redis, and what a backend does while it does not answer, is the
//! backends' business (`rate/redis.rs`, `revocation/redis.rs`), not this module's.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use crate::setup_error::SetupError;

/// How long Redis is not asked again after a failure.
pub(crate) const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// The Lua function both scripts call to ask whether a token is revoked: its id's key
/// exists (`token_key`, empty for a token without one), or it was issued (`issued_at`,
/// milliseconds) before its principal's "revoked before" moment (`before_key`).
macro_rules! revoked_lua {
    () => {
        r#"
local function revoked(token_key, before_key, issued_at)
  if token_key ~= '' and redis.call('EXISTS', token_key) == 1 then return true end
  local before = tonumber(redis.call('GET', before_key))
  return before ~= nil and tonumber(issued_at) < before
end
"#
    };
}
pub(crate) use revoked_lua;

/// The keys and the moment a revocation question is asked with: alone
/// (`revocation/redis.rs`), or riding on a limit's script in the same round trip.
#[derive(Debug, Clone)]
pub(crate) struct RevocationQuery {
    pub(crate) token_key: String,
    pub(crate) before_key: String,
    pub(crate) issued_at_ms: u64,
}

/// What the settings connect to: one Redis, or a Redis Cluster.
#[derive(Clone)]
enum Target {
    Single(redis::Client),
    Cluster(Box<redis::cluster::ClusterClient>),
}

/// A connection to one Redis (reconnecting by itself) or to a cluster (following
/// `MOVED` and `ASK`, and the slots' new masters after a failover).
#[derive(Clone)]
pub(crate) enum Connection {
    Single(ConnectionManager),
    Cluster(redis::cluster_async::ClusterConnection),
}

impl redis::aio::ConnectionLike for Connection {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Connection::Single(single) => single.req_packed_command(cmd),
            Connection::Cluster(cluster) => cluster.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Connection::Single(single) => single.req_packed_commands(pipeline, offset, count),
            Connection::Cluster(cluster) => cluster.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(single) => single.get_db(),
            Connection::Cluster(cluster) => cluster.get_db(),
        }
    }
}

/// A Redis and how to use it, shared by everything one `Limiter` or one `Revocations`
/// builds.
#[derive(Clone)]
pub(crate) struct RedisSettings {
    target: Target,
    /// The URL it was opened with: limits and revocations on the same one share a
    /// round trip.
    pub(crate) url: String,
    pub(crate) fail_closed: bool,
    /// The first part of every key: two services on one Redis never share a bucket.
    pub(crate) prefix: String,
    connection: Arc<OnceCell<Connection>>,
    /// Whether Redis answers, shared by everything on this connection.
    pub(crate) health: Arc<Health>,
}

impl RedisSettings {
    /// One Redis at `url`.
    pub(crate) fn new(url: &str) -> Result<Self, SetupError> {
        let client = redis::Client::open(url).map_err(|e| SetupError::InvalidSetting {
            setting: "redis url",
            reason: format!("{e}"),
        })?;
        Ok(RedisSettings::with_target(
            Target::Single(client),
            url.to_owned(),
        ))
    }

    /// A Redis Cluster reached through any of `nodes` (`redis://host:port`).
    pub(crate) fn cluster(nodes: &[&str]) -> Result<Self, SetupError> {
        if nodes.is_empty() {
            return Err(SetupError::InvalidSetting {
                setting: "redis cluster nodes",
                reason: "no node given: list at least one `redis://host:port` of the cluster"
                    .to_owned(),
            });
        }
        let client = redis::cluster::ClusterClient::builder(nodes.iter().copied())
            .connection_timeout(Duration::from_millis(500))
            .response_timeout(Duration::from_millis(500))
            .retries(1)
            .build()
            .map_err(|e| SetupError::InvalidSetting {
                setting: "redis cluster nodes",
                reason: format!("{e}"),
            })?;
        Ok(RedisSettings::with_target(
            Target::Cluster(Box::new(client)),
            format!("cluster:{}", nodes.join(",")),
        ))
    }

    fn with_target(target: Target, url: String) -> Self {
        RedisSettings {
            target,
            url,
            fail_closed: false,
            prefix: default_prefix(),
            connection: Arc::new(OnceCell::new()),
            health: Arc::new(Health::new()),
        }
    }

    /// Sets the first part of every key, checked by [`check_prefix`].
    pub(crate) fn set_prefix(&mut self, prefix: &str) -> Result<(), SetupError> {
        check_prefix(prefix)?;
        self.prefix = prefix.to_owned();
        Ok(())
    }

    /// Whether the keys of one script must share a slot.
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self.target, Target::Cluster(_))
    }

    /// The connection, opened on first use.
    pub(crate) async fn connection(&self) -> Result<Connection, redis::RedisError> {
        self.connection
            .get_or_try_init(|| async {
                match &self.target {
                    Target::Single(client) => {
                        let config = ConnectionManagerConfig::new()
                            .set_connection_timeout(Some(Duration::from_millis(500)))
                            .set_response_timeout(Some(Duration::from_millis(500)))
                            .set_number_of_retries(1);
                        ConnectionManager::new_with_config(client.clone(), config)
                            .await
                            .map(Connection::Single)
                    }
                    Target::Cluster(client) => {
                        client.get_async_connection().await.map(Connection::Cluster)
                    }
                }
            })
            .await
            .cloned()
    }
}

/// Checks a key prefix: 1 to 64 printable ASCII characters without spaces, braces
/// (Redis Cluster's hash tags) or `:` (the separator).
pub(crate) fn check_prefix(prefix: &str) -> Result<(), SetupError> {
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

/// The name of the running program (`blog` for `target/release/blog`): what names the
/// service when no prefix is set.
fn default_prefix() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|path| Some(path.file_stem()?.to_string_lossy().into_owned()))
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "secure-endpoint".to_owned())
}

/// What everything on one connection knows of Redis's health: after a failure it rests
/// for [`RETRY_AFTER_FAILURE`], then one request at a time asks whether it is back while
/// the others keep to the fallback, instead of all waiting on the same timeout.
pub(crate) struct Health {
    /// Milliseconds since `epoch` before which Redis is not tried again; 0 when up.
    down_until: AtomicU64,
    down_logged: AtomicBool,
    probing: AtomicBool,
    epoch: Instant,
}

/// Leave to ask Redis, given by [`Health::ask`]: a probe after a failure holds the one
/// prober's place until it is dropped.
pub(crate) struct Asking<'h> {
    probing: Option<&'h AtomicBool>,
}

impl Drop for Asking<'_> {
    fn drop(&mut self) {
        if let Some(probing) = self.probing {
            probing.store(false, Ordering::Release);
        }
    }
}

impl Health {
    fn new() -> Health {
        Health {
            down_until: AtomicU64::new(0),
            down_logged: AtomicBool::new(false),
            probing: AtomicBool::new(false),
            epoch: Instant::now(),
        }
    }

    /// Whether Redis is resting after a failure, as this instance last saw it.
    pub(crate) fn resting(&self) -> bool {
        (self.epoch.elapsed().as_millis() as u64) < self.down_until.load(Ordering::Relaxed)
    }

    /// Leave to ask Redis now: always while it answers; after a failure, once it has
    /// rested, to one caller at a time.
    pub(crate) fn ask(&self) -> Option<Asking<'_>> {
        let down_until = self.down_until.load(Ordering::Relaxed);
        if down_until == 0 {
            return Some(Asking { probing: None });
        }
        if (self.epoch.elapsed().as_millis() as u64) < down_until {
            return None;
        }
        self.probing
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| Asking {
                probing: Some(&self.probing),
            })
    }

    /// Redis answered. `true` when it had been logged down: the caller says it is back.
    pub(crate) fn answered(&self) -> bool {
        self.down_until.store(0, Ordering::Relaxed);
        self.down_logged.swap(false, Ordering::Relaxed)
    }

    /// Redis failed: it rests from now on. `true` when this is news: the caller logs it.
    pub(crate) fn failed(&self) -> bool {
        // The rest counts from the failure, not from the request: a timeout as long as
        // the rest would otherwise leave none.
        let failed_at = self.epoch.elapsed().as_millis() as u64;
        self.down_until.store(
            failed_at + RETRY_AFTER_FAILURE.as_millis() as u64,
            Ordering::Relaxed,
        );
        !self.down_logged.swap(true, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::{Health, RedisSettings};

    #[test]
    fn one_prober_at_a_time_after_a_failure() {
        let health = Health {
            epoch: std::time::Instant::now() - std::time::Duration::from_secs(10),
            ..Health::new()
        };
        let asking = health.ask();
        assert!(asking.is_some(), "up: everyone asks");
        assert!(health.ask().is_some());
        drop(asking);
        assert!(health.failed(), "the first failure is news");
        assert!(!health.failed(), "the second is not");
        assert!(health.resting());
        assert!(health.ask().is_none(), "resting: nobody asks");
        // Past the rest: one prober, until it is dropped.
        health
            .down_until
            .store(1, std::sync::atomic::Ordering::Relaxed);
        let probe = health.ask();
        assert!(probe.is_some());
        assert!(health.ask().is_none(), "a second prober waits");
        drop(probe);
        assert!(health.ask().is_some());
        assert!(health.answered(), "back after being logged down");
        assert!(!health.answered());
    }

    #[test]
    fn prefixes_that_would_break_keys_are_refused() {
        let mut settings = RedisSettings::new("redis://127.0.0.1:6379").unwrap();
        for bad in ["", "a b", "a:b", "a{b}", &"x".repeat(65)] {
            assert!(settings.set_prefix(bad).is_err(), "{bad:?}");
        }
        settings.set_prefix("blog-v2").unwrap();
        assert_eq!(settings.prefix, "blog-v2");
    }
}
