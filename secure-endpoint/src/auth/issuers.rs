//! One authenticator for several token providers: each issuer with its own keys and
//! rules, the token sent to the one its `iss` names.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::jws::read_claims;
use super::jwt::JwtAuthenticator;
use super::{AuthError, Authenticator, TokenFacts};
use crate::principal::{Claims, Principal};
use crate::setup_error::SetupError;

/// Accepts the tokens of several issuers, each verified by its own [`JwtAuthenticator`]
/// (its keys, algorithms and audiences). A token goes to the authenticator whose
/// [`issuer`](JwtAuthenticator::issuer) its `iss` names, read before verification only
/// to choose; a token naming no issuer given here is refused. Every authenticator must
/// require an issuer, and no two the same one.
///
/// ```
/// use secure_endpoint::{Algorithm, Issuers, JwtAuthenticator, Security};
///
/// let staff = JwtAuthenticator::hmac(Algorithm::HS256, [1u8; 32])?
///     .issuer("https://staff.example")
///     .audiences(&["my-api", "my-api-v2"]);
/// let partners = JwtAuthenticator::hmac(Algorithm::HS256, [2u8; 32])?
///     .issuer("https://partners.example")
///     .audience("my-api");
/// let security = Security::builder()
///     .authenticator(Issuers::new().issuer(staff).issuer(partners))
///     .build()?;
/// # Ok::<(), secure_endpoint::SetupError>(())
/// ```
pub struct Issuers<C = Claims> {
    authenticators: Vec<JwtAuthenticator<C>>,
}

impl<C> std::fmt::Debug for Issuers<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.authenticators.iter().map(|a| a.required_issuer()))
            .finish()
    }
}

impl<C> Default for Issuers<C> {
    fn default() -> Self {
        Issuers {
            authenticators: Vec::new(),
        }
    }
}

impl<C> Issuers<C> {
    /// No issuer yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts the tokens `authenticator` verifies, for the issuer it requires.
    pub fn issuer(mut self, authenticator: JwtAuthenticator<C>) -> Self {
        self.authenticators.push(authenticator);
        self
    }

    /// The authenticator of the issuer `token` names.
    fn of(&self, token: &str) -> Result<&JwtAuthenticator<C>, AuthError> {
        #[derive(Deserialize)]
        struct Named {
            #[serde(default)]
            iss: Option<String>,
        }
        let named: Option<Named> = read_claims(token);
        let Some(issuer) = named.and_then(|n| n.iss) else {
            return Err(AuthError::new("the token names no issuer"));
        };
        self.authenticators
            .iter()
            .find(|a| a.required_issuer() == Some(issuer.as_str()))
            .ok_or_else(|| AuthError::new("the token's issuer is not one this service accepts"))
    }
}

impl<C> Authenticator for Issuers<C>
where
    C: Principal + DeserializeOwned,
{
    type Principal = C;

    async fn authenticate(&self, token: &str) -> Result<C, AuthError> {
        self.of(token)?.authenticate(token).await
    }

    fn authenticate_now(&self, token: &str) -> Option<Result<C, AuthError>> {
        match self.of(token) {
            Ok(authenticator) => authenticator.authenticate_now(token),
            Err(error) => Some(Err(error)),
        }
    }

    fn precheck(&self, token: &str) -> Result<(), AuthError> {
        self.of(token)?.precheck(token)
    }

    fn check_settings(&self) -> Result<(), SetupError> {
        if self.authenticators.is_empty() {
            return Err(SetupError::InvalidSetting {
                setting: "issuers",
                reason: "no issuer given: add one with `.issuer(…)`".into(),
            });
        }
        for (index, authenticator) in self.authenticators.iter().enumerate() {
            let Some(issuer) = authenticator.required_issuer() else {
                return Err(SetupError::InvalidSetting {
                    setting: "issuers",
                    reason: "each authenticator of Issuers must require its issuer with `.issuer(…)`: it is how a token finds its keys".into(),
                });
            };
            if self.authenticators[..index]
                .iter()
                .any(|other| other.required_issuer() == Some(issuer))
            {
                return Err(SetupError::InvalidSetting {
                    setting: "issuers",
                    reason: format!("the issuer {issuer:?} is given twice"),
                });
            }
            authenticator.check_settings()?;
        }
        Ok(())
    }

    fn token_facts(&self, token: &str) -> Option<TokenFacts> {
        TokenFacts::of_jwt(token)
    }
}
