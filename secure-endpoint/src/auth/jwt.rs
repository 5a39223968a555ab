//! JWT verification with jsonwebtoken.
//!
//! The accepted algorithms come from configuration, never from the token; `kid` only
//! selects among configured keys; `jku`, `x5u` and an embedded `jwk` are never followed
//! or trusted (the key always comes from configuration or the configured JWKS); a `crit`
//! header is refused, since this verifier understands no extension.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, AlgorithmFamily, Validation};
use serde::de::DeserializeOwned;

use super::jwks::Jwks;
use super::jws::{HEADER_BUFFER, claims_are_an_object, may_name_crit, peek_header};
use super::key::Key;
use super::{AuthError, Authenticator};
use crate::principal::{Claims, Principal};
use crate::setup_error::SetupError;

/// Verifies JWTs, producing principals of type `C` ([`Claims`] by default).
///
/// - The accepted algorithms are configured; a token's `alg` only has to be one of them,
///   and the key that verifies it must be of that algorithm's family (`none` is never
///   accepted; an HMAC token never meets an RSA key).
/// - `exp` is required and must be a number; `nbf` is checked when present; leeway is
///   30 s by default.
/// - With [`issuer`](Self::issuer) or [`audience`](Self::audience) set, the claim is
///   required, not merely checked when present.
/// - Keys are configured ([`Key`]) or fetched from a JWKS URL ([`Jwks`]).
///
/// ```
/// use secure_endpoint::{JwtAuthenticator, Key};
/// use jsonwebtoken::Algorithm;
///
/// let jwt = JwtAuthenticator::new(&[Algorithm::HS256], Key::hmac([7u8; 32])?)?
///     .issuer("https://issuer.example")
///     .audience("my-api");
/// # Ok::<(), secure_endpoint::SetupError>(())
/// ```
pub struct JwtAuthenticator<C = Claims> {
    algorithms: Vec<Algorithm>,
    keys: Vec<Key>,
    jwks: Option<Arc<Jwks>>,
    /// The validation rules with every configured algorithm, before the split per family.
    template: Validation,
    /// One validation per key family, holding only that family's algorithms: jsonwebtoken
    /// refuses a validation that mixes families with a key of one family.
    by_family: Vec<(AlgorithmFamily, Validation)>,
    /// The opt-outs of a JWKS authenticator's issuer and audience requirement.
    any_issuer: bool,
    any_audience: bool,
    /// The keyed HMAC state of the one key, made at the first token: see `one_key`.
    #[cfg(feature = "aws_lc_rs")]
    one_key: std::sync::OnceLock<Option<super::one_key::OneKey>>,
    claims: PhantomData<fn() -> C>,
}

impl<C> fmt::Debug for JwtAuthenticator<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthenticator")
            .field("algorithms", &self.algorithms)
            .field("keys", &self.keys)
            .field("jwks", &self.jwks.is_some())
            .field("issuer", &self.template.iss)
            .field("audience", &self.template.aud)
            .field("leeway", &self.template.leeway)
            .finish_non_exhaustive()
    }
}

impl JwtAuthenticator<Claims> {
    /// Verifies tokens signed with `key` using one of `algorithms`.
    pub fn new(algorithms: &[Algorithm], key: Key) -> Result<Self, SetupError> {
        Self::empty(algorithms)?.key(key)
    }

    /// Verifies tokens signed with the HMAC `secret` using `algorithm` (HS256, HS384 or
    /// HS512). The secret must be at least 32 bytes.
    pub fn hmac(algorithm: Algorithm, secret: impl AsRef<[u8]>) -> Result<Self, SetupError> {
        if algorithm.family() != AlgorithmFamily::Hmac {
            return Err(SetupError::InvalidSetting {
                setting: "algorithm",
                reason: format!(
                    "{algorithm:?} is not an HMAC algorithm; use HS256, HS384 or HS512"
                ),
            });
        }
        Self::new(&[algorithm], Key::hmac(secret)?)
    }

    /// Verifies tokens with the keys of a JWKS, fetched and refreshed as [`Jwks`]
    /// describes. HMAC algorithms are refused: a published key set holds public keys. A
    /// set from `Jwks::discover` (feature `jwks`) sets the [`issuer`](Self::issuer) to the one it was
    /// discovered for.
    pub fn jwks(algorithms: &[Algorithm], jwks: Jwks) -> Result<Self, SetupError> {
        if algorithms
            .iter()
            .any(|a| a.family() == AlgorithmFamily::Hmac)
        {
            return Err(SetupError::InvalidSetting {
                setting: "algorithms",
                reason: "a JWKS publishes public keys; HMAC algorithms cannot be verified with one"
                    .into(),
            });
        }
        let mut jwt = Self::empty(algorithms)?;
        let discovered = jwks.discovered_issuer().map(str::to_owned);
        jwt.jwks = Some(Arc::new(jwks));
        // A key set found by discovery belongs to its issuer: its tokens must name it.
        Ok(match discovered {
            Some(issuer) => jwt.issuer(&issuer),
            None => jwt,
        })
    }

    fn empty(algorithms: &[Algorithm]) -> Result<Self, SetupError> {
        let first = *algorithms
            .first()
            .ok_or_else(|| SetupError::InvalidSetting {
                setting: "algorithms",
                reason: "at least one algorithm is required".into(),
            })?;
        let mut template = Validation::new(first);
        template.algorithms = algorithms.to_vec();
        template.set_required_spec_claims(&["exp"]);
        template.validate_exp = true;
        template.validate_nbf = true;
        // On even without a configured audience: a token that carries an `aud` is then
        // refused (RFC 7519 §4.1.3), not accepted for whatever audience it names.
        template.validate_aud = true;
        template.leeway = 30;
        let mut jwt = JwtAuthenticator {
            algorithms: algorithms.to_vec(),
            keys: Vec::new(),
            jwks: None,
            template,
            by_family: Vec::new(),
            any_issuer: false,
            any_audience: false,
            #[cfg(feature = "aws_lc_rs")]
            one_key: std::sync::OnceLock::new(),
            claims: PhantomData,
        };
        jwt.rebuild();
        Ok(jwt)
    }
}

impl<C> JwtAuthenticator<C> {
    /// Adds another key (several keys of one family are told apart by `kid`).
    pub fn key(mut self, key: Key) -> Result<Self, SetupError> {
        let family = key.key.family();
        if !self.algorithms.iter().any(|a| a.family() == family) {
            return Err(SetupError::InvalidSetting {
                setting: "key",
                reason: format!(
                    "a {family:?} key can verify none of the configured algorithms {:?}",
                    self.algorithms
                ),
            });
        }
        if key.kid.is_some() && self.keys.iter().any(|k| k.kid == key.kid) {
            return Err(SetupError::InvalidSetting {
                setting: "key",
                reason: format!("two keys share the kid {:?}", key.kid.unwrap_or_default()),
            });
        }
        self.keys.push(key);
        Ok(self)
    }

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
            algorithms: self.algorithms,
            keys: self.keys,
            jwks: self.jwks,
            template: self.template,
            by_family: self.by_family,
            any_issuer: self.any_issuer,
            any_audience: self.any_audience,
            #[cfg(feature = "aws_lc_rs")]
            one_key: std::sync::OnceLock::new(),
            claims: PhantomData,
        }
    }

    /// Requires `iss` to equal `issuer`.
    pub fn issuer(mut self, issuer: &str) -> Self {
        self.template.set_issuer(&[issuer]);
        self.template.required_spec_claims.insert("iss".to_owned());
        self.rebuild();
        self
    }

    /// Requires `aud` to contain `audience`.
    pub fn audience(self, audience: &str) -> Self {
        self.audiences(&[audience])
    }

    /// Requires `aud` to contain one of `audiences`: one service answering to several
    /// names (an old and a new one during a rename, say).
    pub fn audiences(mut self, audiences: &[&str]) -> Self {
        self.template.set_audience(audiences);
        self.template.validate_aud = true;
        self.template.required_spec_claims.insert("aud".to_owned());
        self.rebuild();
        self
    }

    /// The issuer this authenticator requires, when one is set.
    pub(crate) fn required_issuer(&self) -> Option<&str> {
        self.template
            .iss
            .as_ref()
            .and_then(|issuers| issuers.iter().next())
            .map(String::as_str)
    }

    /// Accepts tokens of any issuer on a JWKS authenticator, which otherwise must be given
    /// [`issuer`](Self::issuer): only for a provider whose tokens carry no `iss`. Every
    /// key of the set then vouches for any principal.
    pub fn dangerously_accept_any_issuer(mut self) -> Self {
        self.any_issuer = true;
        self
    }

    /// Accepts tokens issued to any audience on a JWKS authenticator, which otherwise must
    /// be given [`audience`](Self::audience): only for a provider whose tokens carry no
    /// `aud`. A token the provider issued to another application is then accepted here,
    /// so think twice: with a shared provider that is anyone's token.
    pub fn dangerously_accept_any_audience(mut self) -> Self {
        self.any_audience = true;
        self.template.validate_aud = false;
        self.rebuild();
        self
    }

    /// Clock skew tolerated on `exp` and `nbf` (default 30 s, at most 5 minutes: a larger
    /// one is a [`SetupError`] when the settings are built).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.template.leeway = leeway.as_secs();
        self.rebuild();
        self
    }

    fn rebuild(&mut self) {
        let mut by_family: Vec<(AlgorithmFamily, Validation)> = Vec::new();
        for alg in &self.algorithms {
            let family = alg.family();
            match by_family.iter_mut().find(|(f, _)| *f == family) {
                Some((_, validation)) => validation.algorithms.push(*alg),
                None => {
                    let mut validation = self.template.clone();
                    validation.algorithms = vec![*alg];
                    by_family.push((family, validation));
                }
            }
        }
        self.by_family = by_family;
    }

    fn verify(&self, token: &str, keys: &[Key], alg: Algorithm, kid: Option<&str>) -> Verdict<C>
    where
        C: DeserializeOwned,
    {
        let Some((_, validation)) = self.by_family.iter().find(|(f, _)| *f == alg.family()) else {
            return Verdict::Refused(AuthError::new("algorithm not allowed"));
        };
        let mut tried = false;
        for key in keys.iter().filter(|k| k.serves(alg, kid)) {
            tried = true;
            match jsonwebtoken::decode::<C>(token, &key.key, validation) {
                Ok(_) if !claims_are_an_object(token) => {
                    return Verdict::Refused(AuthError::new(
                        "token header or claims are not the expected JSON",
                    ));
                }
                Ok(data) => return Verdict::Accepted(data.claims),
                // Another key of the family may have signed it: a bad signature, or a key
                // that cannot verify this token at all (an EC key of another curve).
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::InvalidSignature
                            | ErrorKind::InvalidKeyFormat
                            | ErrorKind::InvalidEcdsaKey
                            | ErrorKind::InvalidRsaKey(_)
                    ) => {}
                Err(e) => return Verdict::Refused(AuthError::new(describe(e.kind()))),
            }
        }
        if tried {
            Verdict::Refused(AuthError::new("bad signature"))
        } else {
            Verdict::NoKey
        }
    }
}

enum Verdict<C> {
    Accepted(C),
    Refused(AuthError),
    /// No configured key has this token's `kid` (or family).
    NoKey,
}

impl<C> JwtAuthenticator<C>
where
    C: Principal + DeserializeOwned,
{
    /// The verdict of the keys held in memory; `None` when only the JWKS can tell.
    fn verdict_in_memory(&self, token: &str) -> Option<Result<C, AuthError>> {
        if let ([key], [(_, validation)], None) =
            (self.keys.as_slice(), self.by_family.as_slice(), &self.jwks)
        {
            #[cfg(feature = "aws_lc_rs")]
            if let Some(one_key) = self
                .one_key
                .get_or_init(|| super::one_key::OneKey::of(key, &self.algorithms))
            {
                return Some(one_key.verify(token, key, validation));
            }
            if !may_name_crit(token) {
                return Some(self.verify_with_the_only_key(token, key, validation));
            }
        }
        self.verdict_by_header(token)
    }

    /// The verdict of the general path: the header read first, then the keys it names
    /// tried with jsonwebtoken.
    fn verdict_by_header(&self, token: &str) -> Option<Result<C, AuthError>> {
        let mut buffer = [0u8; HEADER_BUFFER];
        let header = match peek_header(token, &mut buffer) {
            Ok(header) => header,
            Err(error) => return Some(Err(error)),
        };
        if header.crit {
            return Some(Err(AuthError::new(
                "token has a crit header this verifier does not understand",
            )));
        }
        if !self.algorithms.contains(&header.alg) {
            return Some(Err(AuthError::new("algorithm not allowed")));
        }
        match self.verify(token, &self.keys, header.alg, header.kid.as_deref()) {
            Verdict::Accepted(claims) => Some(Ok(claims)),
            Verdict::Refused(error) => Some(Err(error)),
            Verdict::NoKey if self.jwks.is_none() => Some(Err(AuthError::new(
                "no configured key matches the token's kid and algorithm",
            ))),
            Verdict::NoKey => None,
        }
    }
}

impl<C> JwtAuthenticator<C>
where
    C: Principal + DeserializeOwned,
{
    /// With one key and no JWKS there is nothing to choose: the token goes straight to
    /// jsonwebtoken, which reads its header once (refusing an algorithm outside the
    /// key's family's allowed ones), and what that header says is checked afterwards,
    /// before the claims are accepted: a `crit` header, or a `kid` or algorithm the key
    /// does not serve, is refused as the general path refuses it.
    fn verify_with_the_only_key(
        &self,
        token: &str,
        key: &Key,
        validation: &Validation,
    ) -> Result<C, AuthError> {
        match jsonwebtoken::decode::<C>(token, &key.key, validation) {
            Ok(data) => {
                let header = &data.header;
                if header.crit.is_some() {
                    Err(AuthError::new(
                        "token has a crit header this verifier does not understand",
                    ))
                } else if !key.serves(header.alg, header.kid.as_deref()) {
                    Err(AuthError::new(
                        "no configured key matches the token's kid and algorithm",
                    ))
                } else if !claims_are_an_object(token) {
                    Err(AuthError::new(
                        "token header or claims are not the expected JSON",
                    ))
                } else {
                    Ok(data.claims)
                }
            }
            Err(e) => Err(AuthError::new(match e.kind() {
                ErrorKind::InvalidSignature
                | ErrorKind::InvalidKeyFormat
                | ErrorKind::InvalidEcdsaKey
                | ErrorKind::InvalidRsaKey(_) => "bad signature",
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    "algorithm not allowed"
                }
                kind => describe(kind),
            })),
        }
    }
}

impl<C> Authenticator for JwtAuthenticator<C>
where
    C: Principal + DeserializeOwned,
{
    type Principal = C;

    async fn authenticate(&self, token: &str) -> Result<C, AuthError> {
        if let Some(verdict) = self.verdict_in_memory(token) {
            return verdict;
        }
        // Only the JWKS can tell: the header was valid and no configured key serves it.
        let mut buffer = [0u8; HEADER_BUFFER];
        let header = peek_header(token, &mut buffer)?;
        let kid = header.kid.as_deref();
        let Some(jwks) = &self.jwks else {
            return Err(AuthError::new(
                "no configured key matches the token's kid and algorithm",
            ));
        };
        let keys = jwks.keys_for(kid).await;
        match self.verify(token, &keys, header.alg, kid) {
            Verdict::Accepted(claims) => Ok(claims),
            Verdict::Refused(error) => Err(error),
            Verdict::NoKey => Err(AuthError::new(if keys.is_empty() {
                "no keys available from the JWKS yet"
            } else {
                "no JWKS key matches the token's kid and algorithm"
            })),
        }
    }

    fn authenticate_now(&self, token: &str) -> Option<Result<C, AuthError>> {
        self.verdict_in_memory(token)
    }

    fn precheck(&self, token: &str) -> Result<(), AuthError> {
        let mut buffer = [0u8; HEADER_BUFFER];
        let header = peek_header(token, &mut buffer)?;
        if header.crit {
            return Err(AuthError::new("token has a crit header"));
        }
        if !self.algorithms.contains(&header.alg) {
            return Err(AuthError::new("algorithm not allowed"));
        }
        let kid = header.kid.as_deref();
        let held = self.keys.iter().any(|k| k.serves(header.alg, kid))
            || self
                .jwks
                .as_ref()
                .is_some_and(|jwks| jwks.holds(header.alg, kid));
        if held {
            Ok(())
        } else {
            Err(AuthError::new(
                "no key held for the token's kid and algorithm",
            ))
        }
    }

    fn token_facts(&self, token: &str) -> Option<super::TokenFacts> {
        super::TokenFacts::of_jwt(token)
    }

    fn describe(&self) -> Vec<(&'static str, String)> {
        let mut lines: Vec<(&'static str, String)> = self
            .algorithms
            .iter()
            .map(|alg| ("algorithm", format!("{alg:?}")))
            .collect();
        match &self.template.iss {
            Some(issuers) => lines.extend(issuers.iter().map(|i| ("issuer", i.clone()))),
            None => lines.push(("issuer", "any".to_owned())),
        }
        match (&self.template.aud, self.template.validate_aud) {
            (Some(audiences), true) => {
                lines.extend(audiences.iter().map(|a| ("audience", a.clone())))
            }
            _ => lines.push(("audience", "any".to_owned())),
        }
        lines.push(("leeway", format!("{}s", self.template.leeway)));
        let mut keys = format!("{} configured", self.keys.len());
        if self.jwks.is_some() {
            keys.push_str(" and a key set");
        }
        lines.push(("keys", keys));
        lines
    }

    fn check_settings(&self) -> Result<(), SetupError> {
        if self.template.leeway > MAX_LEEWAY_SECS {
            return Err(SetupError::InvalidSetting {
                setting: "leeway",
                reason: format!(
                    "{} s is more than the {MAX_LEEWAY_SECS} s a clock can reasonably be off",
                    self.template.leeway
                ),
            });
        }
        if self.jwks.is_some() {
            if self.template.iss.is_none() && !self.any_issuer {
                return Err(SetupError::InvalidSetting {
                    setting: "issuer",
                    reason: "a JWKS authenticator needs `.issuer(…)`: without it a token any key of the set signed is accepted; `.dangerously_accept_any_issuer()` says so on purpose".into(),
                });
            }
            if self.template.aud.is_none() && !self.any_audience {
                return Err(SetupError::InvalidSetting {
                    setting: "audience",
                    reason: "a JWKS authenticator needs `.audience(…)`: without it a token the provider issued to any other application is accepted; `.dangerously_accept_any_audience()` says so on purpose".into(),
                });
            }
            if self.any_issuer || self.any_audience {
                tracing::warn!(
                    any_issuer = self.any_issuer,
                    any_audience = self.any_audience,
                    "a JWKS authenticator accepts tokens without checking their issuer or audience"
                );
            }
        }
        Ok(())
    }
}

/// The largest leeway accepted, in seconds.
const MAX_LEEWAY_SECS: u64 = 300;

/// A fixed description per failure: jsonwebtoken's own messages may quote the token.
fn describe(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidToken => "malformed token",
        ErrorKind::InvalidSignature => "bad signature",
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            "algorithm not allowed for this key"
        }
        ErrorKind::InvalidKeyFormat => "the configured key cannot verify this token",
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

#[cfg(all(test, feature = "aws_lc_rs"))]
#[path = "tests/one_key_agrees.rs"]
mod one_key_agrees;
