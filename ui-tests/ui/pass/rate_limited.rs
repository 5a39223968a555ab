//! `rate` and `rate_key` in their forms.

use secure_endpoint::routing::{get, post};
use secure_endpoint::{Claims, Limiter, RateKey, SecureHandler, SecureRouter, Security, public, secure};

#[public(rate = "5/60s")]
async fn login() -> &'static str {
    "token"
}

#[public(rate = "100/m", rate_key = "ip")]
async fn search() -> &'static str {
    "[]"
}

#[secure(auth, rate = "10/10s")]
async fn create(claims: Claims) -> String {
    claims.sub
}

#[secure(auth, role = "admin", rate = "1/250ms", rate_key = "ip")]
async fn purge() -> &'static str {
    "purged"
}

#[secure(auth, rate = "3/2d", rate_key = "user")]
async fn export() -> &'static str {
    "export"
}

fn main() {
    let limit = <create as SecureHandler>::POLICY.limits()[0];
    let rate = limit.rate();
    assert_eq!((rate.count(), rate.period().as_secs(), limit.key()), (10, 10, RateKey::User));
    assert_eq!(<login as SecureHandler>::POLICY.limits()[0].key(), RateKey::Ip);
    assert_eq!(<purge as SecureHandler>::POLICY.limits()[0].key(), RateKey::Ip);
    let security = Security::builder().rate_limiter(Limiter::memory()).build().unwrap();
    let _app: SecureRouter = SecureRouter::new()
        .route("/login", post(login))
        .route("/search", get(search))
        .route("/posts", post(create))
        .route("/purge", post(purge))
        .route("/export", get(export))
        .with_security(security);
}
