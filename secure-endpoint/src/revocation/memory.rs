//! Revocations held in this process: revoked token ids until their `exp`, and per
//! principal the moment before which its tokens are revoked, until no token issued
//! before it can still be alive. Memory is bounded by time: what can no longer matter
//! is swept out as revocations are written.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::auth::TokenFacts;

/// How long past its `exp` a revoked token is remembered: the largest leeway a JWT
/// authenticator accepts, during which an expired token still verifies.
pub(crate) const EXPIRY_GRACE_MS: u64 = 300_000;

/// Sweeps happen at most this often.
const SWEEP_EVERY_MS: u64 = 60_000;

#[derive(Default)]
pub(crate) struct MemoryRevocations {
    state: RwLock<State>,
    /// Entries held: a store holding none answers without taking the lock.
    held: AtomicUsize,
}

#[derive(Default)]
struct State {
    /// Revoked token ids, with their `exp` in milliseconds.
    tokens: HashMap<String, u64>,
    /// Per principal id, the moment (milliseconds) before which its tokens are revoked.
    before: HashMap<String, u64>,
    last_sweep_ms: u64,
}

impl MemoryRevocations {
    /// Revokes the token `id`, which expires at `expires_at_ms`.
    pub(crate) fn revoke_token(&self, id: &str, expires_at_ms: u64, now_ms: u64, lifetime_ms: u64) {
        let mut state = self.state.write().expect("revocations lock");
        state.tokens.insert(id.to_owned(), expires_at_ms);
        self.swept(&mut state, now_ms, lifetime_ms);
    }

    /// Revokes every token of `principal` issued before `moment_ms`; a later moment
    /// already held stays.
    pub(crate) fn revoke_before(
        &self,
        principal: &str,
        moment_ms: u64,
        now_ms: u64,
        lifetime_ms: u64,
    ) {
        let mut state = self.state.write().expect("revocations lock");
        let held = state.before.entry(principal.to_owned()).or_insert(0);
        *held = (*held).max(moment_ms);
        self.swept(&mut state, now_ms, lifetime_ms);
    }

    /// Whether the token of `principal` described by `facts` is revoked.
    pub(crate) fn is_revoked(&self, principal: &str, facts: &TokenFacts) -> bool {
        if self.held.load(Ordering::Acquire) == 0 {
            return false;
        }
        let state = self.state.read().expect("revocations lock");
        facts
            .id
            .as_deref()
            .is_some_and(|id| state.tokens.contains_key(id))
            || state
                .before
                .get(principal)
                .is_some_and(|before| facts.issued_at_latest_ms().is_none_or(|iat| iat < *before))
    }

    /// Drops what can no longer matter, at most once a minute, and counts what is held.
    fn swept(&self, state: &mut State, now_ms: u64, lifetime_ms: u64) {
        if now_ms.saturating_sub(state.last_sweep_ms) >= SWEEP_EVERY_MS {
            state.last_sweep_ms = now_ms;
            state
                .tokens
                .retain(|_, expires| *expires + EXPIRY_GRACE_MS > now_ms);
            // A token issued before the moment expires at most a lifetime after it.
            state
                .before
                .retain(|_, moment| *moment + lifetime_ms + EXPIRY_GRACE_MS > now_ms);
        }
        self.held
            .store(state.tokens.len() + state.before.len(), Ordering::Release);
    }

    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3_600_000;

    fn facts(id: &str, iat_ms: u64) -> TokenFacts {
        TokenFacts::of_jwt(&crate::testing::TokenMint::hmac(jsonwebtoken::Algorithm::HS256, [1u8; 32]).sign(
            &serde_json::json!({"jti": id, "iat": iat_ms as f64 / 1000.0, "exp": iat_ms / 1000 + 3600}),
        ))
        .expect("a JWT")
    }

    #[test]
    fn one_token_and_everything_before_a_moment() {
        let store = MemoryRevocations::default();
        assert!(!store.is_revoked("alice", &facts("t1", 1_000)));
        store.revoke_token("t1", 10_000, 2_000, HOUR);
        assert!(store.is_revoked("alice", &facts("t1", 1_000)));
        assert!(!store.is_revoked("alice", &facts("t2", 1_000)));
        store.revoke_before("alice", 5_000, 5_000, HOUR);
        assert!(store.is_revoked("alice", &facts("t2", 4_999)));
        assert!(
            !store.is_revoked("alice", &facts("t3", 5_000)),
            "issued at the moment"
        );
        assert!(!store.is_revoked("bob", &facts("t4", 1_000)));
        store.revoke_before("alice", 3_000, 6_000, HOUR);
        assert!(
            store.is_revoked("alice", &facts("t2", 4_999)),
            "an earlier moment does not undo a later one"
        );
    }

    #[test]
    fn what_cannot_matter_any_more_is_forgotten() {
        let store = MemoryRevocations::default();
        store.revoke_token("old", 1_000, 1_000, HOUR);
        store.revoke_before("alice", 1_000, 1_000, HOUR);
        assert_eq!(store.held(), 2);
        // Past the expiry grace and a lifetime, the next write sweeps both.
        let later = 1_000 + HOUR + EXPIRY_GRACE_MS + 1;
        store.revoke_token("new", later + HOUR, later, HOUR);
        assert_eq!(store.held(), 1);
        assert!(store.is_revoked("x", &facts("new", later)));
    }
}
