//! Authentication: the [`Authenticator`] trait, bearer-token extraction, and the
//! built-in JWT verifier.

mod api_key;
mod jwks;
mod jwt;

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use http::HeaderMap;
use http::header::AUTHORIZATION;

pub use api_key::{ApiKeys, MIN_API_KEY_LEN};
pub use jwks::{FetchKeys, Jwks};
pub use jwt::{JwtAuthenticator, Key, MIN_HMAC_SECRET_BYTES};

use crate::{Policy, Principal};

/// Verifies a bearer token and produces the caller's [`Principal`].
///
/// The framework takes the token from exactly one `Authorization: Bearer` header (scheme
/// case-insensitive, size bounded by
/// [`SecurityBuilder::max_token_bytes`](crate::SecurityBuilder::max_token_bytes)) before
/// calling it; the authenticator only judges the token.
///
/// ```
/// use secure_endpoint::{AuthError, Authenticator, Claims};
///
/// /// Accepts one fixed token; for illustration only.
/// struct Fixed;
///
/// impl Authenticator for Fixed {
///     type Principal = Claims;
///
///     async fn authenticate(&self, token: &str) -> Result<Claims, AuthError> {
///         if token == "let-me-in" {
///             Ok(Claims { sub: "1".into(), roles: vec![], scope: None, exp: u64::MAX })
///         } else {
///             Err(AuthError::new("unknown token"))
///         }
///     }
/// }
/// ```
pub trait Authenticator: Send + Sync + 'static {
    /// The principal type handlers receive.
    type Principal: Principal;

    /// Verifies `token`. The error's reason is logged, never sent to the client.
    fn authenticate(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Self::Principal, AuthError>> + Send;

    /// Verifies `token` without waiting, when this authenticator can answer from memory;
    /// `None` when the answer needs I/O (fetching keys, asking a database), and the
    /// framework then awaits [`authenticate`](Self::authenticate).
    ///
    /// The default never answers here. Overriding it spares each request the boxed future
    /// the framework otherwise needs to await an authenticator it holds type-erased; the
    /// built-in verifiers do. Where both answer, they must agree.
    fn authenticate_now(&self, token: &str) -> Option<Result<Self::Principal, AuthError>> {
        let _ = token;
        None
    }
}

/// Two authenticators producing the same principal type: the first is tried, then the
/// second, so a route accepts either credential (a JWT or an API key, say).
///
/// ```
/// use secure_endpoint::{ApiKeys, Claims, JwtAuthenticator, Security};
///
/// let jwt = JwtAuthenticator::hmac(jsonwebtoken::Algorithm::HS256, [7u8; 32])?;
/// let keys = ApiKeys::<Claims>::new();
/// let security = Security::builder().authenticator((jwt, keys)).build()?;
/// # Ok::<(), secure_endpoint::SetupError>(())
/// ```
impl<A, B> Authenticator for (A, B)
where
    A: Authenticator,
    B: Authenticator<Principal = A::Principal>,
{
    type Principal = A::Principal;

    async fn authenticate(&self, token: &str) -> Result<Self::Principal, AuthError> {
        match self.0.authenticate(token).await {
            Ok(principal) => Ok(principal),
            Err(first) => self
                .1
                .authenticate(token)
                .await
                .map_err(|second| both_refused(&first, &second)),
        }
    }

    fn authenticate_now(&self, token: &str) -> Option<Result<Self::Principal, AuthError>> {
        match self.0.authenticate_now(token)? {
            Ok(principal) => Some(Ok(principal)),
            Err(first) => Some(
                self.1
                    .authenticate_now(token)?
                    .map_err(|second| both_refused(&first, &second)),
            ),
        }
    }
}

fn both_refused(first: &AuthError, second: &AuthError) -> AuthError {
    AuthError::new(format!("{first}; {second}"))
}

/// Why a credential was refused; for the log only.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthError {
    reason: Cow<'static, str>,
}

impl AuthError {
    /// A refusal with its reason.
    pub fn new(reason: impl Into<Cow<'static, str>>) -> Self {
        AuthError {
            reason: reason.into(),
        }
    }

    /// The reason, as logged.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Debug for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AuthError").field(&self.reason).finish()
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for AuthError {}

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The type-erased authenticator a router holds. It knows the concrete principal type,
/// so it leaves the principal in the request's extensions for the handler and answers
/// questions about it (its id, its roles and scopes) for the later policy steps.
pub(crate) trait DynAuthenticator: Send + Sync {
    /// [`Authenticator::authenticate_now`], the principal left in `extensions`.
    fn authenticate_now(
        &self,
        token: &str,
        extensions: &mut http::Extensions,
    ) -> Option<Result<(), AuthError>>;

    fn authenticate<'a>(
        &'a self,
        token: &'a str,
        extensions: &'a mut http::Extensions,
    ) -> BoxFuture<'a, Result<(), AuthError>>;

    /// Roles and scopes of the principal `authenticate` left, against the policy.
    fn authorize(&self, extensions: &http::Extensions, policy: &Policy) -> Result<(), String>;

    /// The id of that principal.
    fn principal_id<'a>(&self, extensions: &'a http::Extensions) -> Option<&'a str>;

    /// Whether that principal holds `role`.
    fn principal_has_role(&self, extensions: &http::Extensions, role: &str) -> bool;
}

impl<A: Authenticator> DynAuthenticator for A {
    fn authenticate_now(
        &self,
        token: &str,
        extensions: &mut http::Extensions,
    ) -> Option<Result<(), AuthError>> {
        Some(
            Authenticator::authenticate_now(self, token)?.map(|principal| {
                extensions.insert(principal);
            }),
        )
    }

    fn authenticate<'a>(
        &'a self,
        token: &'a str,
        extensions: &'a mut http::Extensions,
    ) -> BoxFuture<'a, Result<(), AuthError>> {
        Box::pin(async move {
            let principal = Authenticator::authenticate(self, token).await?;
            extensions.insert(principal);
            Ok(())
        })
    }

    fn authorize(&self, extensions: &http::Extensions, policy: &Policy) -> Result<(), String> {
        match extensions.get::<A::Principal>() {
            Some(principal) => check_roles_and_scopes(principal, policy),
            None => Err("no authenticated principal".into()),
        }
    }

    fn principal_id<'a>(&self, extensions: &'a http::Extensions) -> Option<&'a str> {
        extensions.get::<A::Principal>().map(Principal::id)
    }

    fn principal_has_role(&self, extensions: &http::Extensions, role: &str) -> bool {
        extensions
            .get::<A::Principal>()
            .is_some_and(|p| p.has_role(role))
    }
}

fn check_roles_and_scopes<P: Principal>(principal: &P, policy: &Policy) -> Result<(), String> {
    let roles = policy.roles();
    if !roles.is_empty() && !roles.iter().any(|role| principal.has_role(role)) {
        return Err(format!(
            "principal {:?} holds none of the roles {:?}",
            principal.id(),
            roles
        ));
    }
    if let Some(missing) = policy.scopes().iter().find(|s| !principal.has_scope(s)) {
        return Err(format!(
            "principal {:?} lacks scope {missing:?}",
            principal.id()
        ));
    }
    Ok(())
}

/// Why no token could be taken from the request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NoToken {
    /// Something token-like was presented (so the challenge says `invalid_token`).
    pub(crate) token_given: bool,
    pub(crate) reason: &'static str,
}

/// The token of the request's single `Authorization: Bearer` header.
/// The bytes of RFC 6750's b64token: letters, digits and `-._~+/=`.
const B64TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=');
        b += 1;
    }
    table
};

pub(crate) fn bearer_token(headers: &HeaderMap, max_bytes: usize) -> Result<&str, NoToken> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next().ok_or(NoToken {
        token_given: false,
        reason: "no Authorization header",
    })?;
    if values.next().is_some() {
        return Err(NoToken {
            token_given: true,
            reason: "more than one Authorization header",
        });
    }
    const SCHEME: &str = "bearer ";
    let bytes = value.as_bytes();
    if bytes.len() < SCHEME.len() || !bytes[..SCHEME.len()].eq_ignore_ascii_case(SCHEME.as_bytes())
    {
        return Err(NoToken {
            token_given: false,
            reason: "the Authorization header is not a Bearer credential",
        });
    }
    let token = &bytes[SCHEME.len()..];
    let token = token.trim_ascii();
    if token.is_empty() {
        return Err(NoToken {
            token_given: false,
            reason: "empty bearer token",
        });
    }
    if token.len() > max_bytes {
        return Err(NoToken {
            token_given: true,
            reason: "bearer token larger than max_token_bytes",
        });
    }
    // RFC 6750 b64token characters only; this also rules out anything non-ASCII.
    if !token.iter().all(|b| B64TOKEN[usize::from(*b)]) {
        return Err(NoToken {
            token_given: true,
            reason: "bearer token contains characters outside the b64token set",
        });
    }
    Ok(std::str::from_utf8(token).expect("checked to be ASCII"))
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderValue};

    use super::bearer_token;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append("authorization", HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            let h = headers(&[&format!("{scheme} abc.def.ghi")]);
            assert_eq!(bearer_token(&h, 100), Ok("abc.def.ghi"));
        }
    }

    #[test]
    fn two_authorization_headers_are_refused() {
        let h = headers(&["Bearer a.b.c", "Bearer a.b.c"]);
        let error = bearer_token(&h, 100).unwrap_err();
        assert!(error.token_given);
    }

    #[test]
    fn other_schemes_and_missing_header_give_no_token() {
        assert!(!bearer_token(&headers(&[]), 100).unwrap_err().token_given);
        assert!(
            !bearer_token(&headers(&["Basic dXNlcjpwYXNz"]), 100)
                .unwrap_err()
                .token_given
        );
        assert!(
            !bearer_token(&headers(&["Bearer "]), 100)
                .unwrap_err()
                .token_given
        );
    }

    #[test]
    fn oversized_and_odd_tokens_are_refused() {
        let long = format!("Bearer {}", "a".repeat(101));
        assert!(
            bearer_token(&headers(&[&long]), 100)
                .unwrap_err()
                .token_given
        );
        assert!(
            bearer_token(&headers(&["Bearer a b"]), 100)
                .unwrap_err()
                .token_given
        );
        assert!(
            bearer_token(&headers(&["Bearer a\"b"]), 100)
                .unwrap_err()
                .token_given
        );
    }

    /// Polls once; the verifiers below never wait.
    fn ready<F: std::future::Future>(future: F) -> F::Output {
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        match std::pin::pin!(future).poll(&mut context) {
            std::task::Poll::Ready(output) => output,
            std::task::Poll::Pending => panic!("waited"),
        }
    }

    #[test]
    fn answers_now_agree_with_answers_awaited() {
        use jsonwebtoken::Algorithm;

        use crate::testing::TokenMint;
        use crate::{ApiKeys, Authenticator, Claims, JwtAuthenticator};

        let secret = [7u8; 32];
        let jwt = JwtAuthenticator::hmac(Algorithm::HS256, secret).unwrap();
        let keys = ApiKeys::<Claims>::new()
            .key(
                "0123456789abcdef0123456789abcdef",
                Claims {
                    sub: "svc".into(),
                    roles: vec![],
                    scope: None,
                    exp: u64::MAX,
                },
            )
            .unwrap();
        let both = (
            JwtAuthenticator::hmac(Algorithm::HS256, secret).unwrap(),
            keys,
        );
        let tokens = [
            TokenMint::hmac(Algorithm::HS256, secret).token("7", &[]),
            TokenMint::hmac(Algorithm::HS256, [8u8; 32]).token("7", &[]),
            "0123456789abcdef0123456789abcdef".to_owned(),
            "not.a.token".to_owned(),
            "e30".to_owned(),
        ];
        for token in &tokens {
            let now = jwt.authenticate_now(token).expect("static keys answer now");
            assert_eq!(now, ready(jwt.authenticate(token)), "{token}");
            let now = both.authenticate_now(token).expect("both answer now");
            assert_eq!(now, ready(both.authenticate(token)), "{token}");
        }
        assert!(both.authenticate_now(&tokens[2]).unwrap().is_ok());
        assert!(jwt.authenticate_now(&tokens[1]).unwrap().is_err());
    }
}
