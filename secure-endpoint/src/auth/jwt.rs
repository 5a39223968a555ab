//! JWT verification with jsonwebtoken: HMAC keys, an algorithm allow-list taken from
//! configuration (never from the token), `exp` required, issuer and audience required
//! when configured.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::de::DeserializeOwned;

use super::{AuthError, Authenticator};
use crate::{Claims, Principal, SetupError};

/// The shortest HMAC secret accepted, in bytes.
pub const MIN_HMAC_SECRET_BYTES: usize = 32;

/// Verifies JWTs signed with a configured key, producing principals of type `C`
/// ([`Claims`] by default).
///
/// - The accepted algorithms come from configuration; a token's `alg` only has to be
///   one of them (`none` never is).
/// - `exp` is required; `nbf` is checked when present; leeway is 30 s by default.
/// - With [`issuer`](Self::issuer) or [`audience`](Self::audience) set, the claim is
///   required and must match.
///
/// ```
/// use secure_endpoint::JwtAuthenticator;
/// use jsonwebtoken::Algorithm;
///
/// let jwt = JwtAuthenticator::hmac(Algorithm::HS256, [7u8; 32])?
///     .issuer("https://issuer.example")
///     .audience("my-api");
/// # Ok::<(), secure_endpoint::SetupError>(())
/// ```
pub struct JwtAuthenticator<C = Claims> {
    key: DecodingKey,
    validation: Validation,
    claims: PhantomData<fn() -> C>,
}

impl<C> fmt::Debug for JwtAuthenticator<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key is never printed.
        f.debug_struct("JwtAuthenticator")
            .field("algorithms", &self.validation.algorithms)
            .field("issuer", &self.validation.iss)
            .field("audience", &self.validation.aud)
            .field("leeway", &self.validation.leeway)
            .finish_non_exhaustive()
    }
}

const HMAC: [Algorithm; 3] = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];

impl JwtAuthenticator<Claims> {
    /// Verifies tokens signed with the HMAC `secret` using `algorithm` (HS256, HS384 or
    /// HS512). The secret must be at least 32 bytes.
    pub fn hmac(algorithm: Algorithm, secret: impl AsRef<[u8]>) -> Result<Self, SetupError> {
        let secret = secret.as_ref();
        if !HMAC.contains(&algorithm) {
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
        let mut validation = Validation::new(algorithm);
        validation.set_required_spec_claims(&["exp"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.leeway = 30;
        Ok(JwtAuthenticator {
            key: DecodingKey::from_secret(secret),
            validation,
            claims: PhantomData,
        })
    }
}

impl<C> JwtAuthenticator<C> {
    /// Produces principals of type `D` (your own claims type implementing
    /// [`Principal`]) instead of [`Claims`].
    ///
    /// ```
    /// # use secure_endpoint::{JwtAuthenticator, Principal};
    /// #[derive(Clone, serde::Deserialize)]
    /// struct Staff { sub: String, groups: Vec<String> }
    /// impl Principal for Staff {
    ///     fn id(&self) -> &str { &self.sub }
    ///     fn has_role(&self, role: &str) -> bool { self.groups.iter().any(|g| g == role) }
    /// }
    ///
    /// let jwt = JwtAuthenticator::hmac(jsonwebtoken::Algorithm::HS256, [7u8; 32])?.claims::<Staff>();
    /// # Ok::<(), secure_endpoint::SetupError>(())
    /// ```
    pub fn claims<D>(self) -> JwtAuthenticator<D> {
        JwtAuthenticator {
            key: self.key,
            validation: self.validation,
            claims: PhantomData,
        }
    }

    /// Replaces the accepted algorithms; each must suit the key (HMAC for an HMAC key).
    pub fn algorithms(mut self, algorithms: &[Algorithm]) -> Result<Self, SetupError> {
        if algorithms.is_empty() {
            return Err(SetupError::InvalidSetting {
                setting: "algorithms",
                reason: "at least one algorithm is required".into(),
            });
        }
        if let Some(other) = algorithms.iter().find(|a| !HMAC.contains(a)) {
            return Err(SetupError::InvalidSetting {
                setting: "algorithms",
                reason: format!("{other:?} cannot be verified with an HMAC key"),
            });
        }
        self.validation.algorithms = algorithms.to_vec();
        Ok(self)
    }

    /// Requires `iss` to equal `issuer`.
    pub fn issuer(mut self, issuer: &str) -> Self {
        self.validation.set_issuer(&[issuer]);
        self.require("iss");
        self
    }

    /// Requires `aud` to contain `audience`.
    pub fn audience(mut self, audience: &str) -> Self {
        self.validation.set_audience(&[audience]);
        self.validation.validate_aud = true;
        self.require("aud");
        self
    }

    /// Clock skew tolerated on `exp` and `nbf` (default 30 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.validation.leeway = leeway.as_secs();
        self
    }

    fn require(&mut self, claim: &str) {
        self.validation
            .required_spec_claims
            .insert(claim.to_owned());
    }
}

impl<C> Authenticator for JwtAuthenticator<C>
where
    C: Principal + DeserializeOwned,
{
    type Principal = C;

    async fn authenticate(&self, token: &str) -> Result<C, AuthError> {
        jsonwebtoken::decode::<C>(token, &self.key, &self.validation)
            .map(|data| data.claims)
            .map_err(|error| AuthError::new(describe(error.kind())))
    }
}

/// A fixed description per failure: jsonwebtoken's own messages may quote the token.
fn describe(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidToken => "malformed token",
        ErrorKind::InvalidSignature => "bad signature",
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            "algorithm not allowed for this key"
        }
        ErrorKind::MissingRequiredClaim(_) => "a required claim is missing",
        ErrorKind::ExpiredSignature => "token expired",
        ErrorKind::InvalidIssuer => "wrong issuer",
        ErrorKind::InvalidAudience => "wrong audience",
        ErrorKind::InvalidSubject => "wrong subject",
        ErrorKind::ImmatureSignature => "token not valid yet (nbf)",
        ErrorKind::InvalidClaimFormat(_) => "a claim has the wrong type",
        ErrorKind::Base64(_) => "token is not base64url",
        ErrorKind::Json(_) => "token header or claims are not the expected JSON",
        ErrorKind::Utf8(_) => "token is not UTF-8",
        _ => "token refused",
    }
}
