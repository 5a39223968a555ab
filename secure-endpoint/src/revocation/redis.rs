//! Revocations in Redis or a Redis Cluster, shared by every instance: a revoked token id
//! is a key that lives until the token's `exp`; a principal's "revoked before" moment is
//! a key that lives a token lifetime. Both keys of one principal carry one hash tag, so
//! on a cluster they live in one slot. Every write is kept in this process too, so that while Redis
//! is unreachable this instance still refuses what it revoked, and what could not be
//! written is written once Redis answers again.

use std::sync::{Arc, Mutex};

use crate::redis_connection::{RedisSettings, RevocationQuery, revoked_lua};

/// Whether a token is revoked: `KEYS[1]` the token id's key (empty when the token has
/// no id), `KEYS[2]` the principal's moment, `ARGV[1]` the token's `iat` in ms.
const CHECK: &str = concat!(
    revoked_lua!(),
    "if revoked(KEYS[1], KEYS[2], ARGV[1]) then return 1 end\nreturn 0\n"
);

/// Moves a principal's moment forward, never back: `ARGV[1]` the moment in ms,
/// `ARGV[2]` how long to keep it.
const REVOKE_BEFORE: &str = r#"
local held = tonumber(redis.call('GET', KEYS[1]))
if held == nil or held < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1
"#;

/// The hash tag of a principal's keys: both keys of one principal share a slot of a
/// cluster, so the one script that asks about a token touches one slot. The id is
/// fingerprinted (128 bits of SHA-256, in hex): an id holding a brace cannot cut the tag
/// short.
fn tag(principal: &str) -> String {
    use sha2::Digest;
    use std::fmt::Write;
    let digest = sha2::Sha256::digest(principal.as_bytes());
    let mut tag = String::with_capacity(36);
    tag.push_str("{p:");
    for byte in &digest[..16] {
        let _ = write!(tag, "{byte:02x}");
    }
    tag.push('}');
    tag
}

/// A revocation to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Write {
    /// The token id's key, kept this many milliseconds.
    Token { key: String, ttl_ms: u64 },
    /// The principal's key, its moment, kept this many milliseconds.
    Before {
        key: String,
        moment_ms: u64,
        ttl_ms: u64,
    },
}

pub(crate) struct RedisRevocations {
    pub(crate) settings: Arc<RedisSettings>,
    check: redis::Script,
    revoke_before: redis::Script,
    /// Writes Redis has not taken yet, oldest first.
    pending: Mutex<Vec<Write>>,
}

impl RedisRevocations {
    pub(crate) fn new(settings: Arc<RedisSettings>) -> Self {
        RedisRevocations {
            settings,
            check: redis::Script::new(CHECK),
            revoke_before: redis::Script::new(REVOKE_BEFORE),
            pending: Mutex::new(Vec::new()),
        }
    }

    /// The key of the token `id` of `principal` (empty for a token without one).
    pub(crate) fn token_key(&self, principal: &str, id: Option<&str>) -> String {
        id.map_or_else(String::new, |id| {
            format!(
                "{}:revoked:{}:token:{id}",
                self.settings.prefix,
                tag(principal)
            )
        })
    }

    /// The key of `principal`'s "revoked before" moment.
    pub(crate) fn before_key(&self, principal: &str) -> String {
        format!("{}:revoked:{}:before", self.settings.prefix, tag(principal))
    }

    /// Whether Redis is a cluster: a question then never rides on a limit's script,
    /// whose keys are in the client's slot, not the principal's.
    pub(crate) fn is_cluster(&self) -> bool {
        self.settings.is_cluster()
    }

    /// Whether Redis is known to be down, as this instance last saw it.
    pub(crate) fn resting(&self) -> bool {
        self.settings.health.resting()
    }

    /// Asks Redis whether the token is revoked; `None` when it cannot be asked: resting
    /// after a failure, or another request is already asking whether it is back.
    pub(crate) async fn is_revoked(&self, query: &RevocationQuery) -> Option<bool> {
        let asking = self.settings.health.ask()?;
        let ask = || async {
            let mut connection = self.settings.connection().await?;
            self.check
                .key(&query.token_key)
                .key(&query.before_key)
                .arg(query.issued_at_ms)
                .invoke_async::<i64>(&mut connection)
                .await
        };
        // A connection Redis dropped (a restart) is reconnected and asked once more,
        // rather than the answer falling back while Redis is there.
        let started = std::time::Instant::now();
        let answer = match ask().await {
            Err(error) if error.is_connection_dropped() || error.is_io_error() => ask().await,
            answer => answer,
        };
        crate::metrics::backend_time("redis", "revocation", started.elapsed());
        drop(asking);
        match answer {
            Ok(revoked) => {
                self.answered();
                Some(revoked == 1)
            }
            Err(error) => {
                self.failed(&error);
                None
            }
        }
    }

    /// Writes `write`, with whatever earlier writes are still pending; kept pending when
    /// Redis cannot take it.
    pub(crate) async fn write(&self, write: Write) {
        self.pending
            .lock()
            .expect("pending revocations")
            .push(write);
        if !self.resting() {
            self.flush().await;
        }
    }

    /// Redis answered: what is pending is written now.
    pub(crate) fn answered(&self) {
        if self.settings.health.answered() {
            tracing::info!("Redis answers again: revocations are shared again");
        }
    }

    /// Writes the pending revocations in order; stops at the first failure, keeping it
    /// and the rest.
    pub(crate) async fn flush(&self) {
        loop {
            let Some(next) = self
                .pending
                .lock()
                .expect("pending revocations")
                .first()
                .cloned()
            else {
                return;
            };
            let written: Result<(), redis::RedisError> = async {
                let mut connection = self.settings.connection().await?;
                match &next {
                    Write::Token { key, ttl_ms } => {
                        redis::cmd("SET")
                            .arg(key)
                            .arg(1)
                            .arg("PX")
                            .arg((*ttl_ms).max(1))
                            .query_async::<()>(&mut connection)
                            .await
                    }
                    Write::Before {
                        key,
                        moment_ms,
                        ttl_ms,
                    } => self
                        .revoke_before
                        .key(key)
                        .arg(*moment_ms)
                        .arg((*ttl_ms).max(1))
                        .invoke_async::<i64>(&mut connection)
                        .await
                        .map(|_| ()),
                }
            }
            .await;
            match written {
                Ok(()) => {
                    self.answered();
                    let mut pending = self.pending.lock().expect("pending revocations");
                    if pending.first() == Some(&next) {
                        pending.remove(0);
                    }
                }
                Err(error) => {
                    self.failed(&error);
                    return;
                }
            }
        }
    }

    /// Whether revocations wait to be written.
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.lock().expect("pending revocations").is_empty()
    }

    pub(crate) fn failed(&self, error: &redis::RedisError) {
        crate::metrics::backend_fallback("redis");
        if self.settings.health.failed() {
            tracing::warn!(
                error = %error,
                fail_closed = self.settings.fail_closed,
                "Redis is unreachable: revocations are {}; what is revoked meanwhile is written once it answers",
                if self.settings.fail_closed {
                    "refusing with 503"
                } else {
                    "checked against this instance's own"
                }
            );
        }
    }
}
