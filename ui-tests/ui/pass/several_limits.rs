//! `rate` lists, `limit(...)` with every key, `on` and `group`, on both attributes.

use secure_endpoint::{Claims, Counts, RateKey, SecureHandler, public, secure};

#[derive(serde::Deserialize, validator::Validate)]
struct Login {
    username: String,
    password: String,
}

#[public(
    validate = Login,
    rate = "5/60s",
    limit(rate = "5/15m", key = "input.username", on = "failure"),
)]
async fn login(input: Login) -> String {
    input.password
}

#[secure(auth, rate = ["10/10s", "200/d"], limit(rate = "100/m", group = "writes"))]
async fn create(claims: Claims) -> String {
    claims.sub
}

#[secure(auth, limit(rate = "100/m", key = "user", on = "any", group = "writes"), limit(rate = "1000/h", key = "ip"))]
async fn update(claims: Claims) -> String {
    claims.sub
}

#[public(optional_auth, rate = ["2/s", "50/m"])]
async fn feed(claims: Option<Claims>) -> String {
    claims.map(|c| c.sub).unwrap_or_default()
}

fn main() {
    let limits = <login as SecureHandler>::POLICY.limits();
    assert_eq!(limits[0].key(), RateKey::Ip);
    assert_eq!(limits[1].key(), RateKey::Input("input.username"));
    assert_eq!(limits[1].counts(), Counts::Failure);
    let limits = <create as SecureHandler>::POLICY.limits();
    assert_eq!(limits.len(), 3);
    assert!(limits.iter().all(|l| l.key() == RateKey::User));
    assert_eq!(limits[2].group(), Some("writes"));
    assert_eq!(<update as SecureHandler>::POLICY.limits()[1].key(), RateKey::Ip);
    assert!(<feed as SecureHandler>::POLICY.limits().iter().all(|l| l.key() == RateKey::Caller));
}
