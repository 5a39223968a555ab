//! API keys: stored as SHA-256 hashes, compared in constant time.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{AuthError, Authenticator, Credential};
use crate::principal::Principal;
use crate::setup_error::SetupError;

/// Authenticates API keys, from `Authorization: Bearer <api key>` or a header of their
/// own ([`header`](Self::header)), against a set of keys, each standing for a principal.
///
/// Only the SHA-256 of each key is held, and a presented key is compared with every
/// stored hash in constant time, so neither a memory dump nor response timing reveals a
/// key. Keys must be at least 32 characters (generate them at random; a hash of a
/// guessable key protects nothing).
///
/// ```
/// use secure_endpoint::{ApiKeys, Claims};
///
/// let robot = Claims { sub: "ci-bot".into(), roles: vec!["deployer".into()], scope: None, exp: u64::MAX };
/// let keys = ApiKeys::new()
///     .key("k2VqzL0wP7Yc3nRt9XbH4sJm6AeQ1uDf", robot.clone())?
///     // or from configuration, already hashed:
///     .hashed("5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8", robot)?;
/// # Ok::<(), secure_endpoint::SetupError>(())
/// ```
pub struct ApiKeys<P> {
    keys: Vec<([u8; 32], P)>,
    credential: Credential,
}

/// The shortest API key accepted, in characters.
pub const MIN_API_KEY_LEN: usize = 32;

impl<P> Default for ApiKeys<P> {
    fn default() -> Self {
        ApiKeys {
            keys: Vec::new(),
            credential: Credential::Bearer,
        }
    }
}

impl<P> fmt::Debug for ApiKeys<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeys")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl<P: Principal> ApiKeys<P> {
    /// No keys yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the key from the header `name` (`"X-API-Key"`) instead of
    /// `Authorization: Bearer`.
    ///
    /// ```
    /// use secure_endpoint::{ApiKeys, Claims};
    ///
    /// let keys = ApiKeys::<Claims>::new().header("X-API-Key")?;
    /// # Ok::<(), secure_endpoint::SetupError>(())
    /// ```
    pub fn header(mut self, name: &str) -> Result<Self, SetupError> {
        let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            SetupError::InvalidSetting {
                setting: "api key header",
                reason: format!("{name:?} is not a header name"),
            }
        })?;
        if name == http::header::AUTHORIZATION || name == http::header::COOKIE {
            return Err(SetupError::InvalidSetting {
                setting: "api key header",
                reason: format!(
                    "{name} carries other credentials; keep the default (Bearer) or name a header of its own"
                ),
            });
        }
        self.credential = Credential::Header(name);
        Ok(self)
    }

    /// Accepts `key` for `principal`; only its hash is kept.
    pub fn key(mut self, key: &str, principal: P) -> Result<Self, SetupError> {
        if key.len() < MIN_API_KEY_LEN {
            return Err(SetupError::WeakSecret {
                setting: "api key",
                len: key.len(),
                min: MIN_API_KEY_LEN,
            });
        }
        self.keys
            .push((Sha256::digest(key.as_bytes()).into(), principal));
        Ok(self)
    }

    /// Accepts the key whose SHA-256 is `sha256_hex` (64 hex digits) for `principal`.
    pub fn hashed(mut self, sha256_hex: &str, principal: P) -> Result<Self, SetupError> {
        let invalid = || SetupError::InvalidSetting {
            setting: "api key hash",
            reason: "must be a SHA-256 as 64 hexadecimal digits".into(),
        };
        let hex = sha256_hex.as_bytes();
        if hex.len() != 64 {
            return Err(invalid());
        }
        let mut hash = [0u8; 32];
        for (byte, pair) in hash.iter_mut().zip(hex.chunks_exact(2)) {
            let text = std::str::from_utf8(pair).map_err(|_| invalid())?;
            *byte = u8::from_str_radix(text, 16).map_err(|_| invalid())?;
        }
        self.keys.push((hash, principal));
        Ok(self)
    }
}

impl<P: Principal> Authenticator for ApiKeys<P> {
    type Principal = P;

    async fn authenticate(&self, token: &str) -> Result<P, AuthError> {
        self.verify(token)
    }

    fn authenticate_now(&self, token: &str) -> Option<Result<P, AuthError>> {
        Some(self.verify(token))
    }

    fn credential(&self) -> Credential {
        self.credential.clone()
    }
}

impl<P: Principal> ApiKeys<P> {
    fn verify(&self, token: &str) -> Result<P, AuthError> {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        // Every stored hash is compared, whatever matched, so the time taken does not
        // depend on which key (if any) it was.
        let mut found = None;
        for (index, (hash, _)) in self.keys.iter().enumerate() {
            if bool::from(hash.ct_eq(&presented)) {
                found = Some(index);
            }
        }
        match found {
            Some(index) => Ok(self.keys[index].1.clone()),
            None => Err(AuthError::new("unknown API key")),
        }
    }
}
