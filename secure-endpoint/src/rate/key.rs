//! What a limit counts on: the key borrowed from the request, and the keyed fingerprint
//! the stores hold instead of it.

use std::fmt;
use std::net::IpAddr;

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

    /// The two halves, the high one never zero (an all-zero slot is an empty one). Its
    /// top bit is set for that, which changes neither the shard (a power of two's
    /// remainder) nor the low half a table picks a set by.
    pub(crate) fn halves(self) -> (u64, u64) {
        (((self.0 >> 64) as u64) | (1 << 63), self.0 as u64)
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
