//! One authenticator for several token providers: each issuer with its own keys and
//! rules, the token sent to the one its `iss` names; and what each issuer is believed
//! about. Subjects of different issuers never meet by accident: the principal's id
//! carries its issuer, and roles, scopes and tenants are read only from issuers trusted
//! with them.

use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

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
/// Issuers do not share subjects by accident. The first issuer given is the service's
/// own: its `sub` is the principal's id, and its tokens' other claims (roles, scopes, a
/// tenant) are believed. Every other issuer added with [`issuer`](Self::issuer) has a
/// namespace of its own: its `sub` becomes `ISSUER#SUB` before the principal is built, so
/// its `"sub": "1"` is never the first issuer's user 1, and the principal is built from
/// its registered claims alone (`iss`, `sub`, `aud`, `exp`, `nbf`, `iat`, `jti`): no
/// roles, scopes or tenant of its own making. Ownership, tenants, limits, revocation and
/// the principal check all see that id. Where an issuer is to be believed further, say so:
/// [`trusted_issuer`](Self::trusted_issuer) keeps its own namespace and believes its
/// other claims; [`shared_issuer`](Self::shared_issuer) declares that it issues for the
/// first issuer's own accounts (a second key set of the same provider, say).
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
    issuers: Vec<Issuer>,
    claims: PhantomData<fn() -> C>,
}

/// One issuer, and what it is believed about.
struct Issuer {
    /// Verifies the issuer's tokens into their claims as they are.
    verifier: JwtAuthenticator<RawClaims>,
    /// Its subjects are the first issuer's own: no namespace.
    shares_subjects: bool,
    /// Its claims beyond the registered ones are believed.
    trusted: bool,
}

/// The claims of a verified token, before they become the principal.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub(crate) struct RawClaims(Map<String, Value>);

impl Principal for RawClaims {
    fn id(&self) -> &str {
        self.0.get("sub").and_then(Value::as_str).unwrap_or("")
    }

    fn has_role(&self, _role: &str) -> bool {
        false
    }
}

/// The claims every issuer is believed about: who, for whom, and when.
const REGISTERED: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

impl<C> std::fmt::Debug for Issuers<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.issuers.iter().map(|i| i.verifier.required_issuer()))
            .finish()
    }
}

impl<C> Default for Issuers<C> {
    fn default() -> Self {
        Issuers {
            issuers: Vec::new(),
            claims: PhantomData,
        }
    }
}

impl<C> Issuers<C> {
    /// No issuer yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts the tokens `authenticator` verifies, for the issuer it requires. The first
    /// issuer is the service's own; any later one has a namespace of its own and is
    /// believed about identity only.
    pub fn issuer(self, authenticator: JwtAuthenticator<C>) -> Self {
        let first = self.issuers.is_empty();
        self.with(authenticator, first, first)
    }

    /// Accepts the tokens of an issuer with a namespace of its own whose roles, scopes and
    /// tenant claims are believed.
    pub fn trusted_issuer(self, authenticator: JwtAuthenticator<C>) -> Self {
        let first = self.issuers.is_empty();
        self.with(authenticator, first, true)
    }

    /// Accepts the tokens of an issuer that issues for the first issuer's own accounts:
    /// its `sub` is the same principal's, and its claims are believed as the first's are.
    pub fn shared_issuer(self, authenticator: JwtAuthenticator<C>) -> Self {
        self.with(authenticator, true, true)
    }

    fn with(mut self, authenticator: JwtAuthenticator<C>, shares: bool, trusted: bool) -> Self {
        self.issuers.push(Issuer {
            verifier: authenticator.claims::<RawClaims>(),
            shares_subjects: shares,
            trusted,
        });
        self
    }

    /// The issuer `token` names.
    fn of(&self, token: &str) -> Result<&Issuer, AuthError> {
        #[derive(Deserialize)]
        struct Named {
            #[serde(default)]
            iss: Option<String>,
        }
        let named: Option<Named> = read_claims(token);
        let Some(issuer) = named.and_then(|n| n.iss) else {
            return Err(AuthError::new("the token names no issuer"));
        };
        self.issuers
            .iter()
            .find(|i| i.verifier.required_issuer() == Some(issuer.as_str()))
            .ok_or_else(|| AuthError::new("the token's issuer is not one this service accepts"))
    }
}

impl Issuer {
    /// The principal of verified `claims`: its subject in the issuer's namespace, its
    /// other claims only where the issuer is believed about them.
    fn principal<C: DeserializeOwned>(
        &self,
        RawClaims(mut claims): RawClaims,
    ) -> Result<C, AuthError> {
        if !self.trusted {
            claims.retain(|name, _| REGISTERED.contains(&name.as_str()));
        }
        if !self.shares_subjects
            && let Some(issuer) = self.verifier.required_issuer()
            && let Some(Value::String(sub)) = claims.get_mut("sub")
        {
            *sub = format!("{issuer}#{sub}");
        }
        serde_json::from_value(Value::Object(claims)).map_err(|_| {
            AuthError::new("the token's claims do not make a principal of this service")
        })
    }
}

impl<C> Authenticator for Issuers<C>
where
    C: Principal + DeserializeOwned,
{
    type Principal = C;

    async fn authenticate(&self, token: &str) -> Result<C, AuthError> {
        let issuer = self.of(token)?;
        issuer.principal(issuer.verifier.authenticate(token).await?)
    }

    fn authenticate_now(&self, token: &str) -> Option<Result<C, AuthError>> {
        match self.of(token) {
            Ok(issuer) => Some(
                issuer
                    .verifier
                    .authenticate_now(token)?
                    .and_then(|claims| issuer.principal(claims)),
            ),
            Err(error) => Some(Err(error)),
        }
    }

    fn precheck(&self, token: &str) -> Result<(), AuthError> {
        self.of(token)?.verifier.precheck(token)
    }

    fn describe(&self) -> Vec<(&'static str, String)> {
        let mut lines = Vec::new();
        for issuer in &self.issuers {
            let name = issuer.verifier.required_issuer().unwrap_or("?");
            for (key, value) in Authenticator::describe(&issuer.verifier) {
                if key == "issuer" {
                    let belief = match (issuer.trusted, issuer.shares_subjects) {
                        (true, true) => " trusted shared-subjects",
                        (true, false) => " trusted",
                        (false, true) => " shared-subjects",
                        (false, false) => "",
                    };
                    lines.push((key, format!("{value}{belief}")));
                } else {
                    lines.push((key, format!("{name}: {value}")));
                }
            }
        }
        lines
    }

    fn check_settings(&self) -> Result<(), SetupError> {
        if self.issuers.is_empty() {
            return Err(SetupError::InvalidSetting {
                setting: "issuers",
                reason: "no issuer given: add one with `.issuer(…)`".into(),
            });
        }
        for (index, issuer) in self.issuers.iter().enumerate() {
            let Some(name) = issuer.verifier.required_issuer() else {
                return Err(SetupError::InvalidSetting {
                    setting: "issuers",
                    reason: "each authenticator of Issuers must require its issuer with `.issuer(…)`: it is how a token finds its keys".into(),
                });
            };
            if name.contains('#') {
                return Err(SetupError::InvalidSetting {
                    setting: "issuers",
                    reason: format!(
                        "the issuer {name:?} holds `#`, which separates an issuer from its subject in a principal's id"
                    ),
                });
            }
            if self.issuers[..index]
                .iter()
                .any(|other| other.verifier.required_issuer() == Some(name))
            {
                return Err(SetupError::InvalidSetting {
                    setting: "issuers",
                    reason: format!("the issuer {name:?} is given twice"),
                });
            }
            issuer.verifier.check_settings()?;
        }
        Ok(())
    }

    fn token_facts(&self, token: &str) -> Option<TokenFacts> {
        TokenFacts::of_jwt(token)
    }
}
