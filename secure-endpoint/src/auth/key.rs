//! The keys that verify token signatures, configured or fetched: what the JWT verifier
//! and the JWKS share.

use std::fmt;

use jsonwebtoken::{Algorithm, DecodingKey};

use crate::setup_error::SetupError;

/// The shortest HMAC secret accepted, in bytes.
pub const MIN_HMAC_SECRET_BYTES: usize = 32;

/// A key that verifies signatures: an HMAC secret, or an RSA, ECDSA or EdDSA public key
/// from PEM or DER, optionally with the `kid` tokens name it by.
///
/// ```
/// use secure_endpoint::Key;
///
/// let current = Key::hmac([1u8; 32])?.kid("2026-11");
/// let previous = Key::hmac([2u8; 32])?.kid("2026-10");
/// # Ok::<(), secure_endpoint::SetupError>(())
/// ```
#[derive(Clone)]
pub struct Key {
    pub(crate) kid: Option<String>,
    pub(crate) algorithm: Option<Algorithm>,
    pub(crate) key: DecodingKey,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key material.
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("family", &self.key.family())
            .finish_non_exhaustive()
    }
}

impl Key {
    /// An HMAC secret (HS256/384/512); at least 32 bytes.
    pub fn hmac(secret: impl AsRef<[u8]>) -> Result<Key, SetupError> {
        let secret = secret.as_ref();
        if secret.len() < MIN_HMAC_SECRET_BYTES {
            return Err(SetupError::WeakSecret {
                setting: "secret",
                len: secret.len(),
                min: MIN_HMAC_SECRET_BYTES,
            });
        }
        Ok(Key::from_decoding(DecodingKey::from_secret(secret)))
    }

    /// An RSA public key in PEM (PKCS#1 or SPKI), for RS256/384/512 and PS256/384/512.
    pub fn rsa_pem(pem: &[u8]) -> Result<Key, SetupError> {
        DecodingKey::from_rsa_pem(pem)
            .map(Key::from_decoding)
            .map_err(|e| SetupError::bad_key("rsa_pem", e))
    }

    /// An RSA public key in PKCS#1 DER. Not parsed until the first token: a wrong
    /// DER is refused then (401, logged), not here.
    pub fn rsa_der(der: &[u8]) -> Key {
        Key::from_decoding(DecodingKey::from_rsa_der(der))
    }

    /// An ECDSA public key in PEM, for ES256 (P-256) or ES384 (P-384).
    pub fn ec_pem(pem: &[u8]) -> Result<Key, SetupError> {
        DecodingKey::from_ec_pem(pem)
            .map(Key::from_decoding)
            .map_err(|e| SetupError::bad_key("ec_pem", e))
    }

    /// An ECDSA public key as a DER-encoded curve point.
    pub fn ec_der(der: &[u8]) -> Key {
        Key::from_decoding(DecodingKey::from_ec_der(der))
    }

    /// An Ed25519 public key in PEM, for EdDSA.
    pub fn ed_pem(pem: &[u8]) -> Result<Key, SetupError> {
        DecodingKey::from_ed_pem(pem)
            .map(Key::from_decoding)
            .map_err(|e| SetupError::bad_key("ed_pem", e))
    }

    /// An Ed25519 public key as its 32 raw bytes.
    pub fn ed_der(der: &[u8]) -> Key {
        Key::from_decoding(DecodingKey::from_ed_der(der))
    }

    /// Names the key: a token whose header carries `kid` is verified only with the key
    /// of that id.
    pub fn kid(mut self, kid: impl Into<String>) -> Key {
        self.kid = Some(kid.into());
        self
    }

    pub(crate) fn from_decoding(key: DecodingKey) -> Key {
        super::backend::select();
        Key {
            kid: None,
            algorithm: None,
            key,
        }
    }

    /// Whether this key may verify a token with `alg` and `kid`.
    pub(crate) fn serves(&self, alg: Algorithm, kid: Option<&str>) -> bool {
        self.key.family() == alg.family()
            && self.algorithm.is_none_or(|only| only == alg)
            && kid.is_none_or(|kid| self.kid.as_deref() == Some(kid))
    }
}
