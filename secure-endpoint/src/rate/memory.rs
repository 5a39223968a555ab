//! The in-memory limit: governor's GCRA over a bounded, sharded store of our own.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::StateInformationMiddleware;
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::{Quota, RateLimiter};

use super::key::{Fingerprint, Fingerprinter, LimitKey};
use super::limit::Rate;
use super::verdict::{Outcome, Verdict};

const SHARDS: usize = 64;

/// The slots a key may sit in: its set.
const WAYS: usize = 8;

/// One key and its theoretical arrival time: 24 bytes, nothing else per key.
#[derive(Clone, Copy, Default)]
struct Slot {
    high: u64,
    low: u64,
    /// Nanoseconds on the limit's clock; the key is idle once it has passed.
    arrival: u64,
}

impl Slot {
    fn is_empty(&self) -> bool {
        self.high == 0 && self.low == 0
    }
}

/// Keys and their theoretical arrival times, in shards of sets of [`WAYS`] slots, with a
/// ceiling.
///
/// A key whose arrival time has passed is indistinguishable from a new one, so its slot
/// can be taken: that is how idle keys are evicted, with no sweep. A shard grows (its
/// sets doubled) when a new key finds its set full of keys still counting, up to the
/// ceiling; there, the key of the set that would go idle soonest makes room. A new client
/// is never refused because the store is full (one address block flooding a route with
/// distinct keys cannot deny it to everyone else), and the store never holds more than
/// its ceiling. The key evicted starts afresh when it returns, so a flood beyond the
/// ceiling makes the limit forgetful, never stricter.
pub(crate) struct BoundedStore {
    shards: Vec<Mutex<Vec<Slot>>>,
    /// The most sets one shard grows to.
    max_sets: usize,
    /// How many slots hold a key.
    occupied: AtomicUsize,
}

/// The keys every limiter of the process holds in memory, for the
/// `secure_endpoint_limiter_keys` gauge.
static KEYS_IN_MEMORY: AtomicUsize = AtomicUsize::new(0);

impl Drop for BoundedStore {
    fn drop(&mut self) {
        let held = self.occupied.load(Ordering::Relaxed);
        let total = KEYS_IN_MEMORY.fetch_sub(held, Ordering::Relaxed) - held;
        crate::metrics::memory_limiter_keys(total);
    }
}

impl BoundedStore {
    /// `gained` more slots hold a key (fewer when negative): the gauge follows.
    fn keys_changed(&self, gained: isize) {
        let total = if gained >= 0 {
            self.occupied.fetch_add(gained as usize, Ordering::Relaxed);
            KEYS_IN_MEMORY.fetch_add(gained as usize, Ordering::Relaxed) + gained as usize
        } else {
            let lost = gained.unsigned_abs();
            self.occupied.fetch_sub(lost, Ordering::Relaxed);
            KEYS_IN_MEMORY.fetch_sub(lost, Ordering::Relaxed) - lost
        };
        crate::metrics::memory_limiter_keys(total);
    }

    fn new(max_keys: usize) -> Self {
        BoundedStore {
            occupied: AtomicUsize::new(0),
            shards: (0..SHARDS)
                .map(|_| Mutex::new(vec![Slot::default(); WAYS]))
                .collect(),
            // Rounded down to whole sets: never more than `max_keys`, but at least one set
            // per shard.
            max_sets: (max_keys / (SHARDS * WAYS)).max(1),
        }
    }

    /// The bytes the shards' slots occupy.
    #[cfg(test)]
    fn table_bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().expect("limiter shard").capacity() * std::mem::size_of::<Slot>())
            .sum()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let shard = s.lock().expect("limiter shard");
                shard.iter().filter(|slot| !slot.is_empty()).count()
            })
            .sum()
    }
}

/// Doubles a shard's sets (up to `max_sets`) and puts every key in its new set.
fn grow(slots: &mut Vec<Slot>, max_sets: usize) {
    let sets = (slots.len() / WAYS * 2).min(max_sets);
    let mut grown = vec![Slot::default(); sets * WAYS];
    for slot in slots.iter().filter(|slot| !slot.is_empty()) {
        let set = (slot.low as usize) % sets;
        let ways = &mut grown[set * WAYS..(set + 1) * WAYS];
        let free = ways
            .iter_mut()
            .min_by_key(|way| (!way.is_empty(), way.arrival));
        if let Some(way) = free
            && (way.is_empty() || way.arrival < slot.arrival)
        {
            *way = *slot;
        }
    }
    *slots = grown;
}

impl BoundedStore {
    /// The arrival time held for a key, without counting anything.
    fn peek(&self, fingerprint: Fingerprint) -> Option<u64> {
        let (high, low) = fingerprint.halves();
        let slots = self.shards[fingerprint.shard(SHARDS)]
            .lock()
            .expect("limiter shard");
        let sets = slots.len() / WAYS;
        let set = (low as usize) % sets;
        slots[set * WAYS..(set + 1) * WAYS]
            .iter()
            .find(|s| s.high == high && s.low == low)
            .map(|s| s.arrival)
    }

    /// Takes back one admitted request of a key: its arrival time moves back by one
    /// emission interval. GCRA's state after `max(tat, now) + T` and then `- T` decides
    /// every later request as `max(tat, now)` does, so a refund is exact, and it commutes
    /// with the other requests counted meanwhile.
    fn refund(&self, fingerprint: Fingerprint, emission: u64) {
        let (high, low) = fingerprint.halves();
        let mut slots = self.shards[fingerprint.shard(SHARDS)]
            .lock()
            .expect("limiter shard");
        let sets = slots.len() / WAYS;
        let set = (low as usize) % sets;
        if let Some(slot) = slots[set * WAYS..(set + 1) * WAYS]
            .iter_mut()
            .find(|s| s.high == high && s.low == low)
        {
            slot.arrival = slot.arrival.saturating_sub(emission);
        }
    }
}

/// What governor hands the store for one check: the key's fingerprint, and the time of
/// the check, by which the store tells idle slots.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Probe {
    fingerprint: Fingerprint,
    now: u64,
}

/// The store as governor holds it, shared with the limit that counts it.
pub(crate) struct SharedStore(Arc<BoundedStore>);

impl StateStore for SharedStore {
    type Key = Probe;

    fn measure_and_replace<T, F, E>(&self, probe: &Probe, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let store = &self.0;
        let (high, low) = probe.fingerprint.halves();
        let mut slots = store.shards[probe.fingerprint.shard(SHARDS)]
            .lock()
            .expect("limiter shard");
        loop {
            let sets = slots.len() / WAYS;
            let set = (low as usize) % sets;
            let ways = &mut slots[set * WAYS..(set + 1) * WAYS];
            if let Some(slot) = ways.iter_mut().find(|s| s.high == high && s.low == low) {
                let (outcome, next) = f(Some(Nanos::from(slot.arrival)))?;
                slot.arrival = next.as_u64();
                return Ok(outcome);
            }
            let free = ways
                .iter_mut()
                .find(|s| s.is_empty() || s.arrival <= probe.now);
            let slot = match free {
                Some(slot) => slot,
                None if sets < store.max_sets => {
                    let before = slots.iter().filter(|slot| !slot.is_empty()).count();
                    grow(&mut slots, store.max_sets);
                    let after = slots.iter().filter(|slot| !slot.is_empty()).count();
                    if after != before {
                        store.keys_changed(after as isize - before as isize);
                    }
                    continue;
                }
                None => ways
                    .iter_mut()
                    .min_by_key(|s| s.arrival)
                    .expect("a set has ways"),
            };
            let (outcome, next) = f(None)?;
            if slot.is_empty() {
                store.keys_changed(1);
            }
            *slot = Slot {
                high,
                low,
                arrival: next.as_u64(),
            };
            return Ok(outcome);
        }
    }
}

type Gcra = RateLimiter<Probe, SharedStore, DefaultClock, StateInformationMiddleware>;

/// One limit counted in this process.
pub(crate) struct MemoryLimiter {
    rate: Rate,
    limiter: Gcra,
    /// The store governor counts in, looked at without counting.
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
        let store = Arc::new(BoundedStore::new(max_keys));
        let clock = DefaultClock::default();
        let start = clock.now();
        let limiter: Gcra = RateLimiter::new(quota, SharedStore(Arc::clone(&store)), clock.clone());
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
        let now = self.clock.now();
        let probe = Probe {
            fingerprint: self.fingerprints.of(key),
            now: now.duration_since(self.start).as_u64(),
        };
        match self.limiter.check_key(&probe) {
            Ok(_snapshot) => Outcome::Allowed,
            Err(not_until) => Outcome::Refused {
                retry_after: not_until.wait_time_from(now),
            },
        }
    }

    /// How long until a check of `key` would be admitted, when one now would be
    /// refused; counts nothing.
    pub(crate) fn refusal(&self, key: &LimitKey<'_>) -> Option<std::time::Duration> {
        let now = self.clock.now().duration_since(self.start).as_u64();
        let arrival = self.store.peek(self.fingerprints.of(key))?;
        let emission = self.rate.emission_interval().as_nanos() as u64;
        let tolerance = emission.saturating_mul(u64::from(self.rate.count() - 1));
        let ahead = arrival.saturating_sub(now);
        (ahead > tolerance).then(|| std::time::Duration::from_nanos(ahead - tolerance))
    }

    /// Takes back one request of `key` that [`check`](Self::check) admitted.
    pub(crate) fn refund(&self, key: &LimitKey<'_>) {
        self.store.refund(
            self.fingerprints.of(key),
            self.rate.emission_interval().as_nanos() as u64,
        );
    }

    /// How many keys are held.
    #[cfg(test)]
    fn keys(&self) -> usize {
        self.store.len()
    }
}

/// The in-memory check of `n` limits: each counted in turn, and those already counted
/// refunded when a later one refuses. `None` when a limit has no key.
pub(crate) fn in_memory<'k, 'l>(
    n: usize,
    limiter: impl Fn(usize) -> &'l MemoryLimiter,
    key: impl Fn(usize) -> Option<LimitKey<'k>>,
) -> Option<Verdict> {
    for i in 0..n {
        if let Outcome::Refused { retry_after } = limiter(i).check(&key(i)?) {
            for j in 0..i {
                limiter(j).refund(&key(j)?);
            }
            return Some(Verdict::refused(i, retry_after));
        }
    }
    Some(Verdict::allowed())
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
    fn a_refund_gives_back_exactly_one_request() {
        let limiter = MemoryLimiter::new(Rate::new(3, 60_000), 100);
        let key = ip(7);
        for _ in 0..3 {
            assert_eq!(limiter.check(&key), Outcome::Allowed);
        }
        assert!(limiter.refusal(&key).is_some());
        limiter.refund(&key);
        assert_eq!(limiter.refusal(&key), None);
        assert_eq!(limiter.check(&key), Outcome::Allowed);
        assert!(matches!(limiter.check(&key), Outcome::Refused { .. }));
        // A key never counted has nothing to give back.
        limiter.refund(&ip(8));
        assert_eq!(limiter.keys(), 1);
    }

    #[test]
    fn a_flood_of_a_million_distinct_addresses_stays_under_the_ceiling() {
        const CEILING: usize = 100_000;
        // One request an hour: no key goes idle during the flood.
        let limiter = MemoryLimiter::new(Rate::new(1, 3_600_000), CEILING);
        let mut refused = 0;
        for n in 0..1_000_000u32 {
            if limiter.check(&ip(n)) != Outcome::Allowed {
                refused += 1;
            }
        }
        let held = limiter.keys();
        assert!(held <= CEILING, "{held} keys held");
        assert_eq!(refused, 0, "a full store refuses no newcomer");
        let per_key = limiter.store.table_bytes() / held;
        println!(
            "{held} keys held in {} bytes: {per_key} bytes per key",
            limiter.store.table_bytes()
        );
        assert!(per_key < 64, "{per_key} bytes per key");
    }

    #[test]
    fn two_limits_per_route_under_a_million_addresses_stay_under_64_bytes_per_key() {
        use crate::rate::memory::in_memory;
        const CEILING: usize = 100_000;
        let limits = [
            MemoryLimiter::new(Rate::new(10, 10_000), CEILING),
            MemoryLimiter::new(Rate::new(200, 86_400_000), CEILING),
        ];
        for n in 0..1_000_000u32 {
            let verdict =
                in_memory(2, |i| &limits[i], |_| Some(ip(n))).expect("every limit has its key");
            assert_eq!(verdict.outcome, Outcome::Allowed);
        }
        let held = limits.iter().map(MemoryLimiter::keys).max().unwrap();
        let bytes: usize = limits.iter().map(|l| l.store.table_bytes()).sum();
        assert!(held <= CEILING, "{held} keys held");
        let per_key = bytes / held;
        println!("two limits: {held} keys held in {bytes} bytes: {per_key} bytes per key");
        assert!(per_key < 64, "{per_key} bytes per key");
    }

    #[test]
    fn a_full_store_makes_room_for_newcomers() {
        const CEILING: usize = SHARDS * WAYS * 2;
        // One request per second: the keys stay busy for a second, long enough for the
        // first round below even on a loaded machine.
        let limiter = MemoryLimiter::new(Rate::new(1, 1_000), CEILING);
        let newcomers = |from: u32| {
            (from..from + CEILING as u32 * 4)
                .filter(|n| limiter.check(&ip(*n)) == Outcome::Allowed)
                .count()
        };
        // Four times the ceiling, all still counting: every newcomer is admitted, each
        // in the place of a key that was, and the store stays at its ceiling.
        assert_eq!(newcomers(0), CEILING * 4);
        assert!(limiter.keys() <= CEILING, "{} keys", limiter.keys());
        std::thread::sleep(Duration::from_millis(1_100));
        // Every earlier key is idle now: their slots are taken without eviction.
        assert_eq!(newcomers(100_000), CEILING * 4);
        assert!(limiter.keys() <= CEILING);
    }
}
