//! The in-memory limit: governor's GCRA over a bounded, sharded key store.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::StateInformationMiddleware;
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::{Quota, RateLimiter};

use super::key::{Fingerprint, FingerprintMap, Fingerprinter, LimitKey};
use super::{Outcome, Rate};

const SHARDS: usize = 64;

/// Keys and their theoretical arrival times, in shards, with a ceiling.
///
/// A key whose arrival time has passed is indistinguishable from a new one, so it can be
/// dropped: that is how idle keys are evicted. When a shard is full even after dropping
/// them, a new key is not admitted.
pub(crate) struct BoundedStore {
    shards: Vec<Mutex<FingerprintMap<u64>>>,
    max_per_shard: usize,
    /// Nanoseconds of the limit's emission interval: a new key's arrival time is "now"
    /// plus this, which dates the entries that are idle.
    emission: u64,
    /// Last sweep per shard, in the store's nanoseconds, so a full shard is swept at most
    /// once per emission interval, not on every request of a flood.
    last_sweep: Vec<AtomicU64>,
}

impl BoundedStore {
    fn new(max_keys: usize, emission: u64) -> Self {
        BoundedStore {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(FingerprintMap::default()))
                .collect(),
            max_per_shard: max_keys.div_ceil(SHARDS).max(1),
            emission,
            last_sweep: (0..SHARDS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Whether `key` may be tracked: it is, or its shard has room (after dropping idle
    /// keys, at most once per emission interval).
    fn admits(&self, key: &Fingerprint, now: u64) -> bool {
        let index = key.shard(SHARDS);
        let mut shard = self.shards[index].lock().expect("limiter shard");
        if shard.len() < self.max_per_shard || shard.contains_key(key) {
            return true;
        }
        let last = self.last_sweep[index].load(Ordering::Relaxed);
        if now.saturating_sub(last) >= self.emission.max(1_000_000) {
            self.last_sweep[index].store(now, Ordering::Relaxed);
            shard.retain(|_, arrival| *arrival > now);
        }
        shard.len() < self.max_per_shard
    }

    /// The bytes the shards' tables occupy (entries and control bytes, by capacity).
    #[cfg(test)]
    fn table_bytes(&self) -> usize {
        let entry = std::mem::size_of::<(Fingerprint, u64)>() + 1;
        self.shards
            .iter()
            .map(|s| s.lock().expect("limiter shard").capacity() * entry)
            .sum()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().expect("limiter shard").len())
            .sum()
    }
}

/// The store as governor holds it, shared with the limit that sweeps and counts it.
pub(crate) struct SharedStore(Arc<BoundedStore>);

impl StateStore for SharedStore {
    type Key = Fingerprint;

    fn measure_and_replace<T, F, E>(&self, key: &Fingerprint, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let store = &self.0;
        let mut shard = store.shards[key.shard(SHARDS)]
            .lock()
            .expect("limiter shard");
        let current = shard.get(key).copied().map(Nanos::from);
        let (outcome, next) = f(current)?;
        match shard.get_mut(key) {
            Some(arrival) => *arrival = next.as_u64(),
            None => {
                shard.insert(*key, next.as_u64());
            }
        }
        Ok(outcome)
    }
}

type Gcra = RateLimiter<Fingerprint, SharedStore, DefaultClock, StateInformationMiddleware>;

/// One limit counted in this process.
pub(crate) struct MemoryLimiter {
    rate: Rate,
    limiter: Gcra,
    store: Arc<BoundedStore>,
    fingerprints: Fingerprinter,
    clock: DefaultClock,
    start: <DefaultClock as Clock>::Instant,
}

impl MemoryLimiter {
    pub(crate) fn new(rate: Rate, max_keys: usize) -> Self {
        let emission = rate.emission_interval();
        let burst = NonZeroU32::new(rate.count()).expect("a rate's count is at least 1");
        let quota = Quota::with_period(emission)
            .expect("the emission interval is at least a nanosecond")
            .allow_burst(burst);
        let store = Arc::new(BoundedStore::new(max_keys, emission.as_nanos() as u64));
        let clock = DefaultClock::default();
        let start = clock.now();
        let limiter: Gcra = RateLimiter::new(quota, SharedStore(store.clone()), clock.clone());
        MemoryLimiter {
            rate,
            limiter,
            store,
            fingerprints: Fingerprinter::new(),
            clock,
            start,
        }
    }

    pub(crate) fn rate(&self) -> Rate {
        self.rate
    }

    pub(crate) fn check(&self, key: &LimitKey<'_>) -> Outcome {
        let key = &self.fingerprints.of(key);
        let now = self.clock.now();
        let since_start = now.duration_since(self.start).as_u64();
        if !self.store.admits(key, since_start) {
            return Outcome::Refused {
                retry_after: self.rate.emission_interval(),
            };
        }
        match self.limiter.check_key(key) {
            Ok(_snapshot) => Outcome::Allowed,
            Err(not_until) => Outcome::Refused {
                retry_after: not_until.wait_time_from(now),
            },
        }
    }

    /// How many keys are held.
    #[cfg(test)]
    fn keys(&self) -> usize {
        self.store.len()
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::Duration;

    use super::*;

    fn ip(n: u32) -> LimitKey<'static> {
        LimitKey::Ip(IpAddr::V4(Ipv4Addr::from(n)))
    }

    #[test]
    fn a_burst_then_one_per_emission_interval() {
        let limiter = MemoryLimiter::new(Rate::new(3, 300), 100);
        let key = ip(1);
        let decisions: Vec<bool> = (0..4)
            .map(|_| limiter.check(&key) == Outcome::Allowed)
            .collect();
        assert_eq!(decisions, [true, true, true, false]);
        std::thread::sleep(Duration::from_millis(110));
        assert_eq!(limiter.check(&key), Outcome::Allowed);
        assert!(matches!(limiter.check(&key), Outcome::Refused { .. }));
    }

    #[test]
    fn a_flood_of_a_million_distinct_addresses_stays_under_the_ceiling() {
        const CEILING: usize = 100_000;
        let limiter = MemoryLimiter::new(Rate::new(10, 10_000), CEILING);
        let mut refused = 0;
        for n in 0..1_000_000u32 {
            if limiter.check(&ip(n)) != Outcome::Allowed {
                refused += 1;
            }
        }
        let held = limiter.keys();
        assert!(held <= CEILING + SHARDS, "{held} keys held");
        assert!(refused > 0, "untracked newcomers are refused");
        let per_key = limiter.store.table_bytes() / held;
        eprintln!(
            "{held} keys held in {} bytes: {per_key} bytes per key",
            limiter.store.table_bytes()
        );
        assert!(per_key < 64, "{per_key} bytes per key");
    }

    #[test]
    fn idle_keys_are_evicted_to_make_room() {
        // One request per second: the keys stay busy for a second, long enough for the
        // first check below even on a loaded machine.
        let limiter = MemoryLimiter::new(Rate::new(1, 1_000), SHARDS);
        for n in 0..(SHARDS as u32 * 16) {
            limiter.check(&ip(n));
        }
        let newcomers = |from: u32| {
            (from..from + SHARDS as u32 * 16)
                .filter(|n| limiter.check(&ip(*n)) == Outcome::Allowed)
                .count()
        };
        // Full of keys still counting: newcomers are refused.
        assert_eq!(newcomers(10_000), 0);
        std::thread::sleep(Duration::from_millis(1_100));
        // Every earlier key is idle now: newcomers find room.
        let admitted = newcomers(20_000);
        assert!(admitted > SHARDS / 2, "only {admitted} admitted");
        assert!(limiter.keys() <= SHARDS * 2);
    }
}
