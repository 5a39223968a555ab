//! The pipeline's steps one at a time, for the criterion benchmarks in `benches/`. Not
//! part of the API.

use std::net::IpAddr;

use crate::client_addr::limit_key;
use crate::input::{Details, ValidInput};
use crate::rate::{LimitKey, MemoryLimiter, Outcome, Rate};

/// One in-memory limit, as a route with `rate = "…"` holds it.
pub struct MemoryLimit(MemoryLimiter);

impl MemoryLimit {
    /// A limit of `rate` (`"10/10s"`) holding at most `max_keys` clients.
    ///
    /// # Panics
    /// When `rate` does not parse.
    pub fn new(rate: &str, max_keys: usize) -> Self {
        let rate = Rate::parse(rate).unwrap_or_else(|error| panic!("{error}"));
        MemoryLimit(MemoryLimiter::new(rate, max_keys))
    }

    /// One check keyed on a principal id, as `rate_key = user` does; true when admitted.
    pub fn check_user(&self, id: &str) -> bool {
        self.0.check(&LimitKey::User(id)) == Outcome::Allowed
    }

    /// One check keyed on a client address (IPv6 by /64); true when admitted.
    pub fn check_ip(&self, ip: IpAddr) -> bool {
        self.0.check(&LimitKey::Ip(limit_key(ip))) == Outcome::Allowed
    }
}

/// Step 5 on bytes already read: parse strictly, then validate.
pub fn parse_json<T: ValidInput>(bytes: &[u8]) -> Result<T, Details> {
    crate::input::parse_json(bytes)
}

/// A handler's `Json<T>` answer for `principal` (anonymous when `None`), as the
/// framework writes it when `T` is `Guarded`.
pub fn guarded_json<T: crate::guard::Guarded + serde::Serialize>(
    value: T,
    principal: Option<&crate::principal::Claims>,
) -> axum::response::Response {
    use crate::guard::GuardedResponse as _;
    let principal = principal.map(|p| p as &dyn crate::principal::AnyPrincipal);
    axum::Json(value).into_response_for(&crate::guard::Viewer::of_principal(principal))
}

/// Revocations held in memory, as a router with `Revocations::memory()` holds them.
pub struct MemoryRevocations(crate::revocation::RevocationStore);

impl MemoryRevocations {
    /// A store holding `tokens` revoked token ids (`revoked-0`, …) and as many principals
    /// (`user-0`, …) with every token issued before now revoked.
    ///
    /// # Panics
    /// Never: the settings are fixed.
    pub fn holding(tokens: usize) -> Self {
        let store = crate::revocation::Revocations::memory()
            .build()
            .expect("fixed settings");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            for n in 0..tokens {
                store
                    .revoke_token(
                        &format!("user-{n}"),
                        &format!("revoked-{n}"),
                        u64::MAX / 2000,
                    )
                    .await;
                store.revoke_all(&format!("user-{n}")).await;
            }
        });
        MemoryRevocations(store)
    }

    /// Whether the token `jti` of `principal`, issued at `issued_at_ms`, is revoked: the
    /// check of step 1c.
    pub fn is_revoked(&self, principal: &str, facts: &crate::auth::TokenFacts) -> bool {
        self.0.memory_verdict(principal, facts)
    }
}

/// The facts step 1c judges, read from a verified token.
pub fn token_facts(token: &str) -> Option<crate::auth::TokenFacts> {
    crate::auth::TokenFacts::of_jwt(token)
}
