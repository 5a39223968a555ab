//! What a verified token says about itself: its id, when it was issued and when it
//! expires; and which token a request presented, for whom. Revocation and the principal
//! check judge a token by these.

use serde::Deserialize;

use super::Caller;
use super::jws::read_claims;

/// The registered claims of a verified token that say which token it is and when it
/// lives: `jti`, `iat` and `exp`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TokenFacts {
    /// `jti`: the token's own id, by which one token is revoked.
    pub id: Option<String>,
    /// `iat` in milliseconds since the Unix epoch: a whole-second `iat` counts from the
    /// start of its second, a fractional one (as [`TokenIssuer`](crate::TokenIssuer)
    /// writes) to the millisecond.
    pub issued_at_ms: Option<u64>,
    /// `exp`, seconds since the Unix epoch.
    pub expires_at: Option<u64>,
}

impl TokenFacts {
    /// The facts of a JWT's claims, read without verifying: only for a token already
    /// verified. `None` when `token` is not a JWT.
    pub fn of_jwt(token: &str) -> Option<TokenFacts> {
        #[derive(Deserialize)]
        struct Registered {
            #[serde(default)]
            jti: Option<String>,
            #[serde(default)]
            iat: Option<f64>,
            #[serde(default)]
            exp: Option<f64>,
        }
        let registered: Registered = read_claims(token)?;
        let whole = |n: f64| (n.is_finite() && n >= 0.0).then_some(n);
        Some(TokenFacts {
            id: registered.jti,
            issued_at_ms: registered
                .iat
                .and_then(whole)
                .map(|iat| (iat * 1000.0).floor() as u64),
            expires_at: registered.exp.and_then(whole).map(|exp| exp as u64),
        })
    }
}

/// The token a request presented, as the authentication step read it: whose it is and
/// which token it is. Left in the request for the handler's `Revoker` where
/// revocation is configured.
#[derive(Clone)]
pub(crate) struct Presented {
    pub(crate) principal: Caller,
    pub(crate) facts: Option<TokenFacts>,
}

impl Presented {
    /// The id of the principal it names.
    pub(crate) fn principal_id(&self) -> &str {
        self.principal.id()
    }
}

impl std::fmt::Debug for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presented")
            .field("principal", &self.principal.id())
            .field("facts", &self.facts)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::TokenFacts;

    fn token(claims: &str) -> String {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            engine.encode(br#"{"alg":"HS256"}"#),
            engine.encode(claims)
        )
    }

    #[test]
    fn whole_and_fractional_issue_times() {
        let facts = TokenFacts::of_jwt(&token(r#"{"jti":"a","iat":100,"exp":200}"#)).unwrap();
        assert_eq!(facts.id.as_deref(), Some("a"));
        assert_eq!(facts.issued_at_ms, Some(100_000));
        assert_eq!(facts.expires_at, Some(200));
        let facts = TokenFacts::of_jwt(&token(r#"{"iat":100.25,"exp":200}"#)).unwrap();
        assert_eq!(facts.issued_at_ms, Some(100_250));
        assert_eq!(facts.id, None);
    }

    #[test]
    fn odd_claims_give_no_facts_rather_than_wrong_ones() {
        let facts = TokenFacts::of_jwt(&token(r#"{"iat":-5,"exp":1e400}"#));
        assert!(facts.is_none(), "1e400 is not a JSON number serde reads");
        let facts = TokenFacts::of_jwt(&token(r#"{"iat":-5}"#)).unwrap();
        assert_eq!(facts.issued_at_ms, None);
        assert!(TokenFacts::of_jwt("not-a-jwt").is_none());
        assert!(TokenFacts::of_jwt(&token(r#"{"iat":"100"}"#)).is_none());
    }
}
