//! What a limit counts on: the key borrowed from the request, and the keyed fingerprint
//! the stores hold instead of it.

use std::fmt;
use std::net::IpAddr;

/// One client's bucket, borrowed from the request: a check allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum LimitKey<'a> {
    Ip(IpAddr),
    User(&'a str),
    /// A field of the validated body, normalised by [`normalize_input`].
    Input(&'a str),
}

/// The key as a shared store names it. A body field is written as the first 128 bits of
/// its SHA-256 in hex: every instance names it alike, the store never holds what a
/// client typed, and a key stays short whatever the field's length.
impl fmt::Display for LimitKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitKey::Ip(ip) => write!(f, "ip:{ip}"),
            LimitKey::User(id) => write!(f, "user:{id}"),
            LimitKey::Input(text) => {
                use sha2::Digest;
                f.write_str("input:")?;
                let digest = sha2::Sha256::digest(text.as_bytes());
                digest[..16].iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }
    }
}

/// A key kept past the request's parts and body, to count a failure once the handler
/// has answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeptKey {
    Ip(IpAddr),
    User(String),
    Input(String),
}

impl KeptKey {
    pub(crate) fn keep(key: &LimitKey<'_>) -> KeptKey {
        match key {
            LimitKey::Ip(ip) => KeptKey::Ip(*ip),
            LimitKey::User(id) => KeptKey::User((*id).to_owned()),
            LimitKey::Input(text) => KeptKey::Input((*text).to_owned()),
        }
    }

    pub(crate) fn key(&self) -> LimitKey<'_> {
        match self {
            KeptKey::Ip(ip) => LimitKey::Ip(*ip),
            KeptKey::User(id) => LimitKey::User(id),
            KeptKey::Input(text) => LimitKey::Input(text),
        }
    }
}

/// A body field as a limit counts it: Unicode-normalised to NFKC (the
/// `unicode-normalization` crate), trimmed, and lower-cased, so that look-alike
/// spellings (`ＡＬＩＣＥ`, ` Alice`, `alice`) share one key.
pub(crate) fn normalize_input(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let composed: String = text.nfkc().collect();
    composed.trim().to_lowercase()
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

/// A body field a limit can count on (`key = "input.username"`): a string.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a string: a limit's `key` counts on a string field of the validated body",
    label = "this field is not a string",
    note = "name a `String` field of the body, e.g. `key = \"input.username\"`, or count on `\"ip\"` or `\"user\"`"
)]
pub trait LimitField {
    /// The text the key is made of, before it is normalised.
    fn limit_text(&self) -> &str;
}

impl LimitField for String {
    fn limit_text(&self) -> &str {
        self
    }
}

impl LimitField for str {
    fn limit_text(&self) -> &str {
        self
    }
}

impl LimitField for Box<str> {
    fn limit_text(&self) -> &str {
        self
    }
}

impl LimitField for std::borrow::Cow<'_, str> {
    fn limit_text(&self) -> &str {
        self
    }
}

/// The hasher of tables keyed by [`Fingerprint`]: the key is already a keyed hash.
#[cfg(feature = "redis")]
#[derive(Default, Clone, Copy)]
pub(crate) struct PassThrough(u64);

#[cfg(feature = "redis")]
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
#[cfg(feature = "redis")]
pub(crate) type FingerprintMap<V> =
    std::collections::HashMap<Fingerprint, V, std::hash::BuildHasherDefault<PassThrough>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alike_spellings_share_one_key() {
        for spelling in ["alice", " Alice ", "ALICE", "ａｌｉｃｅ", "\u{3000}Alice"] {
            assert_eq!(normalize_input(spelling), "alice", "{spelling:?}");
        }
        assert_ne!(normalize_input("alice"), normalize_input("alíce"));
        let stored = LimitKey::Input("alice").to_string();
        assert_eq!(stored.len(), "input:".len() + 32);
        assert!(!stored.contains("alice"));
    }
}
