//! Issuing tokens the router's JWT authenticator accepts, for a login route.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, AlgorithmFamily, EncodingKey, Header};
use serde::Serialize;
use serde_json::{Map, Value};

use super::key::MIN_HMAC_SECRET_BYTES;
use crate::setup_error::SetupError;

/// Signs login tokens with the service's key: `sub`, `iat`, `exp`, a random `jti`, and
/// `iss` and `aud` when set, beside the claims the application adds (`roles`, say).
///
/// ```
/// use secure_endpoint::{Algorithm, JwtAuthenticator, Security, TokenIssuer};
///
/// let secret = b"a secret of at least thirty-two bytes";
/// let issuer = TokenIssuer::hmac(Algorithm::HS256, secret)?
///     .issuer("blog")
///     .audience("blog")
///     .lifetime(std::time::Duration::from_secs(3600));
/// let token = issuer.issue("42", &serde_json::json!({ "roles": ["admin"] }))?;
/// assert_eq!(token.token.split('.').count(), 3);
///
/// // The authenticator that accepts them.
/// let jwt = JwtAuthenticator::hmac(Algorithm::HS256, secret)?.issuer("blog").audience("blog");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct TokenIssuer {
    algorithm: Algorithm,
    key: EncodingKey,
    kid: Option<String>,
    issuer: Option<String>,
    audience: Option<String>,
    lifetime: Duration,
}

impl fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key.
        f.debug_struct("TokenIssuer")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

/// A token just issued, with what a revocation or a cookie needs to know of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The signed token.
    pub token: String,
    /// Its `jti`: 32 hexadecimal digits, from 128 random bits.
    pub jti: String,
    /// Its `iat`, whole seconds since the Unix epoch (the token holds it to the
    /// millisecond, as a fraction).
    pub issued_at: u64,
    /// Its `exp`, seconds since the Unix epoch.
    pub expires_at: u64,
}

/// Why a token could not be issued.
#[derive(Debug)]
pub struct IssueError(String);

impl fmt::Display for IssueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot issue a token: {}", self.0)
    }
}

impl std::error::Error for IssueError {}

impl TokenIssuer {
    fn new(algorithm: Algorithm, key: EncodingKey) -> Self {
        super::backend::select();
        TokenIssuer {
            algorithm,
            key,
            kid: None,
            issuer: None,
            audience: None,
            lifetime: Duration::from_secs(3600),
        }
    }

    /// Signs with the HMAC `secret` using `algorithm` (HS256, HS384 or HS512); the
    /// secret must be at least 32 bytes.
    pub fn hmac(algorithm: Algorithm, secret: impl AsRef<[u8]>) -> Result<Self, SetupError> {
        let secret = secret.as_ref();
        if algorithm.family() != AlgorithmFamily::Hmac {
            return Err(SetupError::InvalidSetting {
                setting: "algorithm",
                reason: format!(
                    "{algorithm:?} is not an HMAC algorithm; use HS256, HS384 or HS512"
                ),
            });
        }
        if secret.len() < MIN_HMAC_SECRET_BYTES {
            return Err(SetupError::WeakSecret {
                setting: "secret",
                len: secret.len(),
                min: MIN_HMAC_SECRET_BYTES,
            });
        }
        Ok(Self::new(algorithm, EncodingKey::from_secret(secret)))
    }

    /// Signs with an HMAC `secret` of any length: for test tokens only (the minimum is
    /// the verifier's and the issuer's business, not a test's).
    pub(crate) fn hmac_unchecked(algorithm: Algorithm, secret: &[u8]) -> Self {
        Self::new(algorithm, EncodingKey::from_secret(secret))
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

    /// Puts `kid` in every header.
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Sets `iss`.
    pub fn issuer(mut self, issuer: &str) -> Self {
        self.issuer = Some(issuer.to_owned());
        self
    }

    /// Sets `aud`.
    pub fn audience(mut self, audience: &str) -> Self {
        self.audience = Some(audience.to_owned());
        self
    }

    /// How long a token is valid (default an hour).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// A token for `sub`, with the fields of `claims` (a struct or a JSON object) beside
    /// the registered ones, which it cannot override.
    pub fn issue(&self, sub: &str, claims: &impl Serialize) -> Result<IssuedToken, IssueError> {
        let mut object = match serde_json::to_value(claims) {
            Ok(Value::Object(object)) => object,
            Ok(Value::Null) => Map::new(),
            Ok(_) => return Err(IssueError("the claims are not an object".into())),
            Err(error) => return Err(IssueError(format!("the claims do not serialize: {error}"))),
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| IssueError("the clock is before 1970".into()))?;
        let jti = random_id().map_err(|e| IssueError(format!("no randomness: {e}")))?;
        let (issued_at, expires_at) = self.register(&mut object, sub, now, jti.clone());
        let token = self
            .sign(&Value::Object(object))
            .map_err(|e| IssueError(format!("signing failed: {e}")))?;
        Ok(IssuedToken {
            token,
            jti,
            issued_at,
            expires_at,
        })
    }

    /// Writes the registered claims into `object`, over any of the same name: `sub`,
    /// `iat` (to the millisecond, as NumericDate allows: a revocation of every token
    /// issued before a moment then spares one issued just after it in the same second),
    /// `exp`, `jti`, and `iss` and `aud` when set. Returns `iat` and `exp` in seconds.
    pub(crate) fn register(
        &self,
        object: &mut Map<String, Value>,
        sub: &str,
        now: Duration,
        jti: String,
    ) -> (u64, u64) {
        let issued_at = now.as_secs();
        let issued_at_ms = now.as_millis() as u64;
        let expires_at = issued_at.saturating_add(self.lifetime.as_secs().max(1));
        object.insert("sub".into(), Value::from(sub));
        object.insert("iat".into(), Value::from(issued_at_ms as f64 / 1000.0));
        object.insert("exp".into(), Value::from(expires_at));
        object.insert("jti".into(), Value::from(jti));
        if let Some(issuer) = &self.issuer {
            object.insert("iss".into(), Value::from(issuer.clone()));
        }
        if let Some(audience) = &self.audience {
            object.insert("aud".into(), Value::from(audience.clone()));
        }
        (issued_at, expires_at)
    }

    /// Signs `claims` exactly as given, with the header's `alg` and `kid`.
    pub(crate) fn sign(&self, claims: &Value) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(self.algorithm);
        header.kid = self.kid.clone();
        jsonwebtoken::encode(&header, claims, &self.key)
    }
}

/// 128 bits from the operating system, as 32 hexadecimal digits.
fn random_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
