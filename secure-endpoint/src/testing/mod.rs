//! Helpers for testing services built with this crate: mint tokens the router's
//! configured key accepts (or, with another key, refuses), and scan a router for the
//! weaknesses its declared policies must not have.

mod scan;

pub use scan::{Finding, ScanReport, ScanSettings, scan, scan_router};

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value, json};

use crate::setup_error::SetupError;

/// Signs test tokens with a private key (or HMAC secret), filling in `iss`, `aud`, `iat`
/// (to the millisecond), `exp` and a `jti` of its own the way the verifier expects.
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
    algorithm: Algorithm,
    key: EncodingKey,
    kid: Option<String>,
    issuer: Option<String>,
    audience: Option<String>,
    lifetime_secs: u64,
}

impl std::fmt::Debug for TokenMint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenMint")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl TokenMint {
    fn new(algorithm: Algorithm, key: EncodingKey) -> Self {
        crate::auth::backend::select();
        TokenMint {
            algorithm,
            key,
            kid: None,
            issuer: None,
            audience: None,
            lifetime_secs: 3600,
        }
    }

    /// Signs with an HMAC secret.
    pub fn hmac(algorithm: Algorithm, secret: impl AsRef<[u8]>) -> Self {
        Self::new(algorithm, EncodingKey::from_secret(secret.as_ref()))
    }

    /// Signs with an RSA private key in PEM (RS* or PS*).
    pub fn rsa_pem(algorithm: Algorithm, pem: &[u8]) -> Result<Self, SetupError> {
        let key = EncodingKey::from_rsa_pem(pem).map_err(|e| SetupError::bad_key("rsa_pem", e))?;
        Ok(Self::new(algorithm, key))
    }

    /// Signs with an ECDSA private key in PKCS#8 PEM (ES256 or ES384).
    pub fn ec_pem(algorithm: Algorithm, pem: &[u8]) -> Result<Self, SetupError> {
        let key = EncodingKey::from_ec_pem(pem).map_err(|e| SetupError::bad_key("ec_pem", e))?;
        Ok(Self::new(algorithm, key))
    }

    /// Signs with an Ed25519 private key in PKCS#8 PEM (EdDSA).
    pub fn ed_pem(pem: &[u8]) -> Result<Self, SetupError> {
        let key = EncodingKey::from_ed_pem(pem).map_err(|e| SetupError::bad_key("ed_pem", e))?;
        Ok(Self::new(Algorithm::EdDSA, key))
    }

    /// Puts `kid` in the header.
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Adds `iss` to every token.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Adds `aud` to every token.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// A valid token for `sub` with `roles`, expiring in an hour.
    pub fn token(&self, sub: &str, roles: &[&str]) -> String {
        self.sign(&self.claims(sub, roles))
    }

    /// The claims [`token`](Self::token) would sign, to alter before [`sign`](Self::sign).
    pub fn claims(&self, sub: &str, roles: &[&str]) -> Value {
        let now = now();
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_millis() as u64;
        let mut claims = Map::new();
        claims.insert("sub".into(), json!(sub));
        claims.insert("roles".into(), json!(roles));
        // To the millisecond, as TokenIssuer writes it.
        claims.insert("iat".into(), json!(now_ms as f64 / 1000.0));
        claims.insert("exp".into(), json!(now + self.lifetime_secs));
        claims.insert(
            "jti".into(),
            json!(format!("mint-{now_ms}-{}", next_serial())),
        );
        if let Some(issuer) = &self.issuer {
            claims.insert("iss".into(), json!(issuer));
        }
        if let Some(audience) = &self.audience {
            claims.insert("aud".into(), json!(audience));
        }
        Value::Object(claims)
    }

    /// Signs `claims` exactly as given.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = self.kid.clone();
        jsonwebtoken::encode(&header, claims, &self.key).expect("claims are JSON and the key signs")
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
