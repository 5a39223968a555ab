//! Helpers for testing services built with this crate: mint tokens the router's
//! configured key accepts (or, with another key, refuses), and scan a router for the
//! weaknesses its declared policies must not have.

mod lock;
mod scan;

pub use lock::{LOCK_ENV, assert_security_lock};
pub use scan::{Finding, ScanReport, ScanSettings, scan, scan_router};

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::Algorithm;
use serde_json::{Map, Value, json};

use crate::auth::TokenIssuer;
use crate::setup_error::SetupError;

/// Signs test tokens with a private key (or HMAC secret), filling in `iss`, `aud`, `iat`
/// (to the millisecond), `exp` and a `jti` of its own the way the verifier expects: a
/// [`TokenIssuer`] without its minimum secret length, and with
/// roles and hand-made claims.
///
/// ```
/// use secure_endpoint::testing::TokenMint;
/// use jsonwebtoken::Algorithm;
///
/// let mint = TokenMint::hmac(Algorithm::HS256, [7u8; 32]).issuer("blog").audience("blog");
/// let token = mint.token("42", &["admin"]);
/// assert_eq!(token.split('.').count(), 3);
/// ```
#[derive(Clone)]
pub struct TokenMint {
    issuer: TokenIssuer,
}

impl std::fmt::Debug for TokenMint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenMint")
            .field("issuer", &self.issuer)
            .finish()
    }
}

impl TokenMint {
    /// Signs with an HMAC secret.
    pub fn hmac(algorithm: Algorithm, secret: impl AsRef<[u8]>) -> Self {
        TokenMint {
            issuer: TokenIssuer::hmac_unchecked(algorithm, secret.as_ref()),
        }
    }

    /// Signs with an RSA private key in PEM (RS* or PS*).
    pub fn rsa_pem(algorithm: Algorithm, pem: &[u8]) -> Result<Self, SetupError> {
        Ok(TokenMint {
            issuer: TokenIssuer::rsa_pem(algorithm, pem)?,
        })
    }

    /// Signs with an ECDSA private key in PKCS#8 PEM (ES256 or ES384).
    pub fn ec_pem(algorithm: Algorithm, pem: &[u8]) -> Result<Self, SetupError> {
        Ok(TokenMint {
            issuer: TokenIssuer::ec_pem(algorithm, pem)?,
        })
    }

    /// Signs with an Ed25519 private key in PKCS#8 PEM (EdDSA).
    pub fn ed_pem(pem: &[u8]) -> Result<Self, SetupError> {
        Ok(TokenMint {
            issuer: TokenIssuer::ed_pem(pem)?,
        })
    }

    /// Puts `kid` in the header.
    pub fn kid(self, kid: impl Into<String>) -> Self {
        TokenMint {
            issuer: self.issuer.kid(kid),
        }
    }

    /// Adds `iss` to every token.
    pub fn issuer(self, issuer: impl Into<String>) -> Self {
        TokenMint {
            issuer: self.issuer.issuer(&issuer.into()),
        }
    }

    /// Adds `aud` to every token.
    pub fn audience(self, audience: impl Into<String>) -> Self {
        TokenMint {
            issuer: self.issuer.audience(&audience.into()),
        }
    }

    /// A valid token for `sub` with `roles`, expiring in an hour.
    pub fn token(&self, sub: &str, roles: &[&str]) -> String {
        self.sign(&self.claims(sub, roles))
    }

    /// The claims [`token`](Self::token) would sign, to alter before [`sign`](Self::sign).
    pub fn claims(&self, sub: &str, roles: &[&str]) -> Value {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("the clock is after 1970");
        let mut claims = Map::new();
        claims.insert("roles".into(), json!(roles));
        let jti = format!("mint-{}-{}", now.as_millis(), next_serial());
        self.issuer.register(&mut claims, sub, now, jti);
        Value::Object(claims)
    }

    /// Signs `claims` exactly as given.
    pub fn sign(&self, claims: &Value) -> String {
        self.issuer
            .sign(claims)
            .expect("claims are JSON and the key signs")
    }
}

/// A number no other token of this process had.
fn next_serial() -> u64 {
    static SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Seconds since the Unix epoch, for building `exp`, `nbf` and `iat`.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}
