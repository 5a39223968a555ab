//! Rate limiting: one GCRA, in memory (governor) or in Redis, keyed by principal or
//! client address.
//!
//! `"10/10s"` admits a burst of 10, then one request per second sustained (the period
//! divided by the count): a client that waits a second gets one more request, not ten.

pub(crate) mod memory;
#[cfg(feature = "redis")]
mod redis;

use std::fmt;
use std::net::IpAddr;
#[cfg(feature = "redis")]
use std::sync::Arc;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use serde::Serialize;

use crate::rejection::{Finished, json_response};

pub(crate) use memory::MemoryLimiter;

/// A limit: `count` requests per `period`, GCRA-shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rate {
    count: u32,
    period_ms: u64,
}

impl Rate {
    #[doc(hidden)]
    pub const fn new(count: u32, period_ms: u64) -> Self {
        Rate { count, period_ms }
    }

    /// The burst: how many requests are admitted at once.
    pub const fn count(&self) -> u32 {
        self.count
    }

    /// The window in which `count` requests replenish.
    pub const fn period(&self) -> Duration {
        Duration::from_millis(self.period_ms)
    }

    /// Time between two sustained requests: `period / count`.
    pub fn emission_interval(&self) -> Duration {
        Duration::from_nanos(
            (u128::from(self.period_ms) * 1_000_000 / u128::from(self.count)).max(1) as u64,
        )
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.period_ms;
        let (n, unit) = [
            (86_400_000, "d"),
            (3_600_000, "h"),
            (60_000, "m"),
            (1_000, "s"),
        ]
        .into_iter()
        .find(|(unit_ms, _)| ms.is_multiple_of(*unit_ms))
        .map_or((ms, "ms"), |(unit_ms, unit)| (ms / unit_ms, unit));
        if n == 1 {
            write!(f, "{}/{unit}", self.count)
        } else {
            write!(f, "{}/{n}{unit}", self.count)
        }
    }
}

/// Parses `COUNT/PERIOD` as the attribute does (`secure-endpoint-macros/src/attr.rs`),
/// for limits given in settings.
pub(crate) fn parse_rate(text: &str) -> Result<Rate, String> {
    let (count, period) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} is not COUNT/PERIOD, e.g. \"20/m\""))?;
    let count: u32 = count
        .trim()
        .parse()
        .ok()
        .filter(|c| *c > 0)
        .ok_or_else(|| format!("{text:?}: the count must be a whole number of at least 1"))?;
    let period = period.trim();
    let digits = period.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = period.split_at(digits);
    let number: u64 = if number.is_empty() {
        1
    } else {
        number
            .parse()
            .map_err(|_| format!("{text:?}: the period is too long"))?
    };
    let unit_ms = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => {
            return Err(format!(
                "{text:?}: the period's unit must be ms, s, m, h or d"
            ));
        }
    };
    let period_ms = number
        .checked_mul(unit_ms)
        .filter(|ms| *ms > 0 && ms.checked_mul(1_000_000).is_some())
        .ok_or_else(|| format!("{text:?}: the period must be longer than zero"))?;
    Ok(Rate::new(count, period_ms))
}

/// What a limit is counted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RateKey {
    /// The client address (IPv6 by /64).
    Ip,
    /// The verified principal.
    User,
}

impl fmt::Display for RateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RateKey::Ip => "ip",
            RateKey::User => "user",
        })
    }
}

/// One client's bucket, borrowed from the request: a check allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum LimitKey<'a> {
    Ip(IpAddr),
    User(&'a str),
}

impl fmt::Display for LimitKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitKey::Ip(ip) => write!(f, "ip:{ip}"),
            LimitKey::User(id) => write!(f, "user:{id}"),
        }
    }
}

/// A key as the in-memory stores hold it: 128 bits of a hash keyed with a secret of
/// this process. A stored key takes 16 bytes whatever the principal id's length, and a
/// client cannot pick two ids that collide without those secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fingerprint(u128);

impl Fingerprint {
    /// The top bits, independent of those the table itself uses: which shard holds it.
    pub(crate) fn shard(self, shards: usize) -> usize {
        ((self.0 >> 64) as usize) % shards
    }
}

impl std::hash::Hash for Fingerprint {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.0 as u64);
    }
}

/// Turns keys into [`Fingerprint`]s with its own secret key: the two halves are the keyed
/// hash of the key under two domain tags.
pub(crate) struct Fingerprinter {
    secret: std::collections::hash_map::RandomState,
}

impl Fingerprinter {
    pub(crate) fn new() -> Self {
        Fingerprinter {
            secret: std::collections::hash_map::RandomState::new(),
        }
    }

    pub(crate) fn of(&self, key: &LimitKey<'_>) -> Fingerprint {
        use std::hash::BuildHasher;
        let high = u128::from(self.secret.hash_one((0u8, key)));
        let low = u128::from(self.secret.hash_one((1u8, key)));
        Fingerprint((high << 64) | low)
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

/// The answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Allowed,
    /// Refused; the next request may pass after this long.
    Refused {
        retry_after: Duration,
    },
    /// The shared store is down and the settings say to fail closed.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Unavailable,
}

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
    Redis(Arc<redis::RedisSettings>),
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
    /// script, one round trip per check, the time taken from Redis. While Redis is
    /// unreachable the limits are counted in memory (and that is logged), unless
    /// [`fail_closed`](Self::fail_closed) asks for 503.
    #[cfg(feature = "redis")]
    pub fn redis(url: &str) -> Result<Self, crate::SetupError> {
        Ok(Limiter {
            backend: Backend::Redis(Arc::new(redis::RedisSettings::new(url)?)),
            max_keys: DEFAULT_MAX_KEYS,
        })
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
        let _ = namespace;
        match &self.backend {
            Backend::Memory => RouteLimiter::Memory(MemoryLimiter::new(rate, self.max_keys)),
            #[cfg(feature = "redis")]
            Backend::Redis(settings) => RouteLimiter::Redis(Box::new(redis::RedisLimiter::new(
                settings.clone(),
                rate,
                namespace,
                self.max_keys,
            ))),
        }
    }
}

/// The limiter of one route (or of failed authentications).
pub(crate) enum RouteLimiter {
    Memory(MemoryLimiter),
    #[cfg(feature = "redis")]
    Redis(Box<redis::RedisLimiter>),
}

impl RouteLimiter {
    pub(crate) async fn check(&self, key: &LimitKey<'_>) -> Outcome {
        match self {
            RouteLimiter::Memory(memory) => memory.check(key),
            #[cfg(feature = "redis")]
            RouteLimiter::Redis(redis) => redis.check(key).await,
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

/// 429 with `Retry-After` (whole seconds, rounded up), `RateLimit-Policy` and
/// `RateLimit` (IETF draft: limit, remaining, reset) and the JSON body.
pub(crate) fn too_many_requests(rate: Rate, retry_after: Duration) -> Response {
    let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let mut response = json_response(
        StatusCode::TOO_MANY_REQUESTS,
        Bytes::from_static(br#"{"error":"Too many requests"}"#),
    );
    let headers = response.headers_mut();
    headers.reserve(3);
    headers.insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
    headers.insert(
        HeaderName::from_static("ratelimit-policy"),
        formatted(format_args!(
            "{};w={}",
            rate.count(),
            rate.period().as_secs().max(1)
        )),
    );
    headers.insert(
        HeaderName::from_static("ratelimit"),
        formatted(format_args!(
            "limit={}, remaining=0, reset={seconds}",
            rate.count()
        )),
    );
    // A 4xx with a body is passed through by the outer layer as it is: no marker needed.
    response
}

/// A header value of digits and punctuation, formatted on the stack: a refusal under a
/// flood costs one allocation per header, the value's own.
fn formatted(args: fmt::Arguments<'_>) -> HeaderValue {
    use std::io::Write;
    let mut buffer = [0u8; 96];
    let mut cursor = std::io::Cursor::new(&mut buffer[..]);
    cursor
        .write_fmt(args)
        .expect("two numbers and a few words fit in 96 bytes");
    let len = cursor.position() as usize;
    HeaderValue::from_bytes(&buffer[..len]).expect("digits and punctuation")
}

/// 503 when the shared limiter is down and the settings fail closed.
pub(crate) fn unavailable() -> Response {
    let mut response = json_response(
        StatusCode::SERVICE_UNAVAILABLE,
        Bytes::from_static(br#"{"error":"Service unavailable"}"#),
    );
    response.extensions_mut().insert(Finished);
    response.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_print() {
        assert_eq!(parse_rate("20/m").unwrap(), Rate::new(20, 60_000));
        assert_eq!(parse_rate("10/10s").unwrap().to_string(), "10/10s");
        assert_eq!(parse_rate("5/90s").unwrap().to_string(), "5/90s");
        assert_eq!(
            Rate::new(10, 10_000).emission_interval(),
            Duration::from_secs(1)
        );
        for bad in ["", "0/s", "5/0s", "5/w", "x/s", "5"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }
}
