//! JWT verification with jsonwebtoken.
//!
//! The accepted algorithms come from configuration, never from the token; `kid` only
//! selects among configured keys; `jku`, `x5u` and an embedded `jwk` are never followed
//! or trusted (the key always comes from configuration or the configured JWKS); a `crit`
//! header is refused, since this verifier understands no extension.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, AlgorithmFamily, Validation};
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};

use super::jwks::Jwks;
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
    /// set from [`Jwks::discover`] sets the [`issuer`](Self::issuer) to the one it was
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
        let mut buffer = [0u8; PEEK_BUFFER];
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
        let mut buffer = [0u8; PEEK_BUFFER];
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
        let mut buffer = [0u8; PEEK_BUFFER];
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

/// The header fields that route a token to its keys. jsonwebtoken's `decode` reads the
/// whole header again when it verifies; this read only chooses the keys, so it borrows
/// what it can and keeps short headers off the heap.
#[derive(Deserialize)]
pub(super) struct Peek<'a> {
    pub(super) alg: Algorithm,
    #[serde(borrow, default)]
    pub(super) kid: Option<Cow<'a, str>>,
    /// Whether the header names `crit` at all: even `"crit": null` is refused (RFC 7515
    /// §4.1.11 allows only a list, and this verifier understands no extension).
    #[serde(default, deserialize_with = "present")]
    pub(super) crit: bool,
}

fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}

/// Whether the token's header may carry `crit` (even `null`, which jsonwebtoken reads as
/// absent): its bytes hold `crit` anywhere, or an escape that could spell it. Such a
/// header, or one that does not decode, takes the path that reads the header itself.
fn may_name_crit(token: &str) -> bool {
    let mut buffer = [0u8; PEEK_BUFFER];
    let Some((encoded, _)) = token.split_once('.') else {
        return true;
    };
    match URL_SAFE_NO_PAD.decode_slice(encoded, &mut buffer) {
        Ok(len) => {
            let header = &buffer[..len];
            header.contains(&b'\\') || header.windows(4).any(|w| w == b"crit")
        }
        Err(_) => true,
    }
}

/// Headers up to this many bytes are decoded on the stack.
pub(super) const PEEK_BUFFER: usize = 512;

pub(super) fn peek_header<'b>(
    token: &str,
    buffer: &'b mut [u8; PEEK_BUFFER],
) -> Result<Peek<'b>, AuthError> {
    let Some((encoded, _)) = token.split_once('.') else {
        return Err(AuthError::new("malformed token"));
    };
    let not_base64 = |_| AuthError::new("token is not base64url");
    let not_json = |_| AuthError::new("token header or claims are not the expected JSON");
    match URL_SAFE_NO_PAD.decode_slice(encoded, buffer) {
        Ok(len) => serde_json::from_slice(&buffer[..len]).map_err(not_json),
        Err(base64::DecodeSliceError::OutputSliceTooSmall) => {
            let decoded = URL_SAFE_NO_PAD.decode(encoded).map_err(not_base64)?;
            let header: Peek<'_> = serde_json::from_slice(&decoded).map_err(not_json)?;
            Ok(Peek {
                alg: header.alg,
                kid: header.kid.map(|kid| Cow::Owned(kid.into_owned())),
                crit: header.crit,
            })
        }
        Err(base64::DecodeSliceError::DecodeError(error)) => Err(not_base64(error)),
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

#[cfg(test)]
mod properties {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use proptest::prelude::*;

    use super::{PEEK_BUFFER, peek_header};

    fn header_json() -> impl Strategy<Value = serde_json::Value> {
        let alg = prop_oneof![
            Just("HS256"),
            Just("RS256"),
            Just("ES256"),
            Just("EdDSA"),
            Just("none"),
            Just("hs256")
        ];
        let kid = proptest::option::of("[ -~]{0,40}|.{0,8}");
        let padding = "[a-z]{0,300}";
        (alg, kid, padding, any::<bool>()).prop_map(|(alg, kid, padding, typ)| {
            let mut header = serde_json::json!({ "alg": alg });
            if let Some(kid) = kid {
                header["kid"] = serde_json::Value::String(kid);
            }
            if typ {
                header["typ"] = serde_json::Value::String("JWT".into());
            }
            if !padding.is_empty() {
                header["x5t"] = serde_json::Value::String(padding);
            }
            header
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// The read-ahead agrees with jsonwebtoken's own header parse on every header
        /// it accepts: the same algorithm and the same `kid`, on the stack or not.
        #[test]
        fn the_read_ahead_agrees_with_jsonwebtoken(header in header_json(), claims in "[a-zA-Z0-9_-]{0,40}") {
            let token = format!(
                "{}.{claims}.sig",
                URL_SAFE_NO_PAD.encode(header.to_string())
            );
            let mut buffer = [0u8; PEEK_BUFFER];
            let ours = peek_header(&token, &mut buffer);
            match jsonwebtoken::decode_header(&token) {
                Ok(theirs) => {
                    let ours = ours.expect("jsonwebtoken read a header the read-ahead refused");
                    prop_assert_eq!(ours.alg, theirs.alg);
                    prop_assert_eq!(ours.kid.as_deref(), theirs.kid.as_deref());
                }
                Err(_) => prop_assert!(ours.is_err(), "the read-ahead accepted what jsonwebtoken refused"),
            }
        }

        /// Anything at all is answered, never a panic.
        #[test]
        fn any_token_text_is_answered(token in ".{0,200}") {
            let mut buffer = [0u8; PEEK_BUFFER];
            let _ = peek_header(&token, &mut buffer);
        }
    }

    /// The settings the one-key path is compared on: the plain default, an issuer and
    /// audiences, two algorithms on a key with a `kid`.
    #[cfg(feature = "aws_lc_rs")]
    fn authenticator(settings: usize) -> super::JwtAuthenticator {
        use jsonwebtoken::Algorithm;
        let key = super::Key::hmac(SECRET).unwrap();
        match settings {
            0 => super::JwtAuthenticator::new(&[Algorithm::HS256], key).unwrap(),
            1 => super::JwtAuthenticator::new(&[Algorithm::HS256], key)
                .unwrap()
                .issuer("https://issuer.example")
                .audiences(&["api", "old-api"]),
            _ => super::JwtAuthenticator::new(&[Algorithm::HS256, Algorithm::HS384], key.kid("k1"))
                .unwrap(),
        }
    }

    #[cfg(feature = "aws_lc_rs")]
    const SECRET: &[u8] = b"the one key's secret, thirty-two bytes or more";

    /// A JSON value for a claim, or its absence, in the shapes tokens carry and the ones
    /// they should not: `usual` (`None` for absent) three times in four.
    #[cfg(feature = "aws_lc_rs")]
    fn claim(
        usual: Option<&'static str>,
        shapes: &'static [&'static str],
    ) -> impl Strategy<Value = Option<String>> {
        let other = proptest::option::of(proptest::sample::select(shapes).prop_map(str::to_owned));
        prop_oneof![3 => Just(usual.map(str::to_owned)), 1 => other]
    }

    /// `iss` or `aud`: absent, the accepted `usual`, or another shape, in equal parts.
    #[cfg(feature = "aws_lc_rs")]
    fn named(
        usual: &'static str,
        shapes: &'static [&'static str],
    ) -> impl Strategy<Value = Option<String>> {
        let other = proptest::sample::select(shapes).prop_map(|s| Some(s.to_owned()));
        prop_oneof![Just(None), Just(Some(usual.to_owned())), other]
    }

    /// The claims as raw JSON text, so that a key may come twice.
    #[cfg(feature = "aws_lc_rs")]
    fn claims_text() -> impl Strategy<Value = String> {
        let now = jsonwebtoken::get_current_timestamp();
        let times: Vec<String> = vec![
            (now + 1000).to_string(),
            (now - 1000).to_string(),
            (now - 10).to_string(),
            (now - 50).to_string(),
            (now + 20).to_string(),
            (now + 50).to_string(),
            format!("{}.4", now + 1000),
            format!("\"{}\"", now + 1000),
            "null".into(),
            "-5".into(),
            "1e300".into(),
            "[1]".into(),
            "{\"a\":1}".into(),
        ];
        let times: &'static [String] = Box::leak(times.into_boxed_slice());
        let later = Box::leak(times[0].clone().into_boxed_str());
        let time = |usual: Option<&'static str>| {
            let other =
                proptest::option::of(proptest::sample::select(times).prop_map(|t| t.clone()));
            prop_oneof![3 => Just(usual.map(str::to_owned)), 1 => other]
        };
        let names: &'static [&'static str] = &[
            "\"https://issuer.example\"",
            "\"api\"",
            "\"old-api\"",
            "\"other\"",
            "[\"api\",\"x\"]",
            "[\"x\"]",
            "[]",
            "[1,\"api\"]",
            "[\"https://issuer.example\",[\"deep\"]]",
            "5",
            "null",
            "{\"api\":1}",
            "\"ap\\u0069\"",
        ];
        (
            claim(Some("\"alice\""), &["\"b\\u00e9\"", "7", "null"]),
            time(Some(later)),
            proptest::option::of(proptest::sample::select(times).prop_map(|t| t.clone())),
            named("\"https://issuer.example\"", names),
            named("\"api\"", names),
            claim(None, &["[\"admin\"]", "[]", "\"admin\"", "[1]"]),
            proptest::option::of(0usize..5),
            any::<bool>(),
        )
            .prop_map(|(sub, exp, nbf, iss, aud, roles, twice, extra)| {
                let fields = [
                    ("sub", sub),
                    ("exp", exp),
                    ("nbf", nbf),
                    ("iss", iss),
                    ("aud", aud),
                    ("roles", roles),
                ];
                let mut parts: Vec<String> = fields
                    .iter()
                    .filter_map(|(name, value)| value.as_ref().map(|v| format!("\"{name}\":{v}")))
                    .collect();
                if let Some(i) = twice
                    && let Some(again) = parts.get(i % parts.len().max(1)).cloned()
                {
                    parts.push(again);
                }
                if extra {
                    parts.push("\"extra\":{\"nested\":[1,2,{\"x\":null}]}".into());
                }
                format!("{{{}}}", parts.join(","))
            })
    }

    #[cfg(feature = "aws_lc_rs")]
    fn header_text() -> impl Strategy<Value = String> {
        let alg = prop_oneof![
            3 => Just("HS256"),
            1 => proptest::sample::select(&["HS384", "HS512", "RS256", "none", "hs256"][..]),
        ];
        let kid = claim(None, &["\"k1\"", "\"k2\"", "7"]);
        let crit = claim(None, &["null", "[\"exp\"]"]);
        (alg, kid, crit, any::<bool>()).prop_map(|(alg, kid, crit, typ)| {
            let mut parts = vec![format!("\"alg\":\"{alg}\"")];
            if let Some(kid) = kid {
                parts.push(format!("\"kid\":{kid}"));
            }
            if let Some(crit) = crit {
                parts.push(format!("\"crit\":{crit}"));
            }
            if typ {
                parts.push("\"typ\":\"JWT\"".into());
            }
            format!("{{{}}}", parts.join(","))
        })
    }

    /// A token: its header and claims signed with the secret (or another), then perhaps
    /// spoiled in one of the ways a forger or a broken client spoils one.
    #[cfg(feature = "aws_lc_rs")]
    fn token(header: &str, claims: &str, spoil: usize) -> String {
        use aws_lc_rs::hmac;
        let alg = serde_json::from_str::<serde_json::Value>(header)
            .ok()
            .and_then(|h| h["alg"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let digest = if alg == "HS384" {
            hmac::HMAC_SHA384
        } else if alg == "HS512" {
            hmac::HMAC_SHA512
        } else {
            hmac::HMAC_SHA256
        };
        let secret: &[u8] = if spoil == 1 {
            b"another secret, also thirty-two bytes long"
        } else {
            SECRET
        };
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let tag = hmac::sign(&hmac::Key::new(digest, secret), message.as_bytes());
        let mut tag = URL_SAFE_NO_PAD.encode(tag.as_ref());
        match spoil {
            2 => tag.replace_range(0..1, if tag.starts_with('A') { "B" } else { "A" }),
            3 => tag.truncate(tag.len() - 4),
            4 => tag.push_str("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            5 => tag = "!!".into(),
            6 => tag.clear(),
            7 => return format!("{message}.{tag}.{tag}"),
            8 => return message,
            9 => return format!("{}.x{}.{tag}", message.split('.').next().unwrap(), &message[message.find('.').unwrap() + 1..]),
            _ => {}
        }
        format!("{message}.{tag}")
    }

    #[cfg(feature = "aws_lc_rs")]
    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// The one-key path answers every token as the general path on jsonwebtoken
        /// does: the same claims when it accepts, the same description when it refuses.
        #[test]
        fn the_one_key_path_agrees_with_jsonwebtoken(
            settings in 0usize..3,
            header in header_text(),
            claims in claims_text(),
            spoil in prop_oneof![3 => Just(0usize), 1 => 1usize..10],
        ) {
            let jwt = authenticator(settings);
            let token = token(&header, &claims, spoil);
            let one_key = super::super::one_key::OneKey::of(&jwt.keys[0], &jwt.algorithms)
                .expect("an HMAC key has a keyed state");
            let ours = one_key.verify::<crate::Claims>(&token, &jwt.keys[0], &jwt.by_family[0].1);
            let theirs = jwt.verdict_by_header(&token).expect("one key always answers");
            match (&ours, &theirs) {
                (Ok(ours), Ok(theirs)) => prop_assert_eq!(ours, theirs),
                (Err(ours), Err(theirs)) => prop_assert_eq!(ours.to_string(), theirs.to_string(), "{} {}", header, claims),
                _ => prop_assert!(false, "one path accepted and the other refused: {:?} against {:?}, header {} claims {}", ours.as_ref().err().map(ToString::to_string), theirs.as_ref().err().map(ToString::to_string), header, claims),
            }
        }
    }
}
