//! Authenticators only: the [`Authenticator`] trait, the pair that tries two, and the
//! built-in ones (JWT with configured keys or a JWKS, API keys). They judge a credential
//! the request step has already taken from the request; they know nothing of HTTP.

mod api_key;
pub(crate) mod backend;
mod facts;
mod issuer;
mod issuers;
mod jwks;
mod jws;
mod jwt;
mod key;
#[cfg(feature = "aws_lc_rs")]
mod one_key;

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use api_key::{ApiKeys, MIN_API_KEY_LEN};
pub(crate) use facts::Presented;
pub use facts::TokenFacts;
pub use issuer::{IssueError, IssuedToken, TokenIssuer};
pub use issuers::Issuers;
pub use jwks::{FetchKeys, Jwks};
pub use jwt::JwtAuthenticator;
pub use key::{Key, MIN_HMAC_SECRET_BYTES};

use crate::principal::{AnyPrincipal, Principal};
use crate::setup_error::SetupError;

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

    /// The cheap part of the verdict, without verifying a signature or waiting: an error
    /// when `token` cannot be one this authenticator accepts (it does not parse, or names
    /// a key it does not hold). A client address past the failed-authentication limit
    /// that sends such a token is refused without the full verification. The default
    /// finds nothing wrong.
    fn precheck(&self, token: &str) -> Result<(), AuthError> {
        let _ = token;
        Ok(())
    }

    /// Checks this authenticator's own settings when the security settings are built; a
    /// setting that cannot work stops the program there. The default has none to check.
    fn check_settings(&self) -> Result<(), SetupError> {
        Ok(())
    }

    /// Where the framework takes the credential from: `Authorization: Bearer` by default,
    /// or a header of its own ([`ApiKeys::header`]).
    fn credential(&self) -> Credential {
        Credential::Bearer
    }

    /// What the security lock records of this authenticator, as `(key, value)` lines:
    /// the issuers, audiences and algorithms it accepts, its leeway, where its keys come
    /// from: never a key or a secret. A change to one shows in review as a change to the
    /// lock (`issuer`, `audience` and `algorithm` added are weaker). None by default.
    fn describe(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// Which token `token` (already verified) is and when it lives, for revocation and
    /// the principal check. The JWT authenticator reads `jti`, `iat` and `exp`; the
    /// default knows none (an API key is revoked by taking it out of its set).
    fn token_facts(&self, token: &str) -> Option<TokenFacts> {
        let _ = token;
        None
    }
}

/// Where a request carries the credential an authenticator judges.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credential {
    /// One `Authorization: Bearer <token>` header (scheme case-insensitive).
    Bearer,
    /// One header of this name, holding the credential alone (`X-API-Key: …`).
    Header(http::HeaderName),
}

impl std::fmt::Display for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Bearer => f.write_str("Authorization: Bearer"),
            Credential::Header(name) => write!(f, "header {name}"),
        }
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

    fn precheck(&self, token: &str) -> Result<(), AuthError> {
        match self.0.precheck(token) {
            Ok(()) => Ok(()),
            Err(first) => self
                .1
                .precheck(token)
                .map_err(|second| both_refused(&first, &second)),
        }
    }

    fn check_settings(&self) -> Result<(), SetupError> {
        self.0.check_settings()?;
        self.1.check_settings()?;
        if self.0.credential() != self.1.credential() {
            return Err(SetupError::InvalidSetting {
                setting: "authenticator",
                reason: format!(
                    "a pair of authenticators reads one credential, but one reads {} and the other {}: give them names of their own and choose per route with `auth = \"name\"`",
                    self.0.credential(),
                    self.1.credential()
                ),
            });
        }
        Ok(())
    }

    fn credential(&self) -> Credential {
        self.0.credential()
    }

    fn describe(&self) -> Vec<(&'static str, String)> {
        let mut lines = self.0.describe();
        lines.extend(self.1.describe());
        lines
    }

    fn token_facts(&self, token: &str) -> Option<TokenFacts> {
        self.0
            .token_facts(token)
            .or_else(|| self.1.token_facts(token))
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

/// The caller a verified credential names, as the later steps ask about it.
pub(crate) type Caller = Arc<dyn AnyPrincipal>;

/// The type-erased authenticator a router holds. It knows the concrete principal type;
/// the caller it verifies is handed on as a [`Caller`], which the handler's extractors
/// see as that type again.
pub(crate) trait DynAuthenticator: Send + Sync {
    /// [`Authenticator::authenticate_now`].
    fn authenticate_now(&self, token: &str) -> Option<Result<Caller, AuthError>>;

    /// [`Authenticator::authenticate`].
    fn authenticate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Caller, AuthError>>;

    /// [`Authenticator::precheck`].
    fn precheck(&self, token: &str) -> Result<(), AuthError>;

    /// [`Authenticator::check_settings`].
    fn check_settings(&self) -> Result<(), SetupError>;

    /// [`Authenticator::credential`].
    fn credential(&self) -> Credential;

    /// [`Authenticator::describe`].
    fn describe(&self) -> Vec<(&'static str, String)>;

    /// [`Authenticator::token_facts`].
    fn token_facts(&self, token: &str) -> Option<TokenFacts>;

    /// The principal type it produces, and its name.
    fn principal_type(&self) -> (std::any::TypeId, &'static str);
}

impl<A: Authenticator> DynAuthenticator for A {
    fn authenticate_now(&self, token: &str) -> Option<Result<Caller, AuthError>> {
        Some(
            Authenticator::authenticate_now(self, token)?
                .map(|principal| Arc::new(principal) as Caller),
        )
    }

    fn authenticate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Caller, AuthError>> {
        Box::pin(async move {
            let principal = Authenticator::authenticate(self, token).await?;
            Ok(Arc::new(principal) as Caller)
        })
    }

    fn precheck(&self, token: &str) -> Result<(), AuthError> {
        Authenticator::precheck(self, token)
    }

    fn check_settings(&self) -> Result<(), SetupError> {
        Authenticator::check_settings(self)
    }

    fn credential(&self) -> Credential {
        Authenticator::credential(self)
    }

    fn describe(&self) -> Vec<(&'static str, String)> {
        Authenticator::describe(self)
    }

    fn token_facts(&self, token: &str) -> Option<TokenFacts> {
        Authenticator::token_facts(self, token)
    }

    fn principal_type(&self) -> (std::any::TypeId, &'static str) {
        (
            std::any::TypeId::of::<A::Principal>(),
            std::any::type_name::<A::Principal>(),
        )
    }
}

#[cfg(test)]
mod tests {
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

        use super::{ApiKeys, Authenticator, JwtAuthenticator};
        use crate::principal::Claims;
        use crate::testing::TokenMint;

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
