//! What a verified token says about itself: its id, when it was issued and when it
//! expires; and which token a request presented, for whom. Revocation and the principal
//! check judge a token by these.

use serde::Deserialize;
use serde_json::Value;

use super::Caller;
use super::jws::{Unread, read_claims_object};

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
    /// Whether `iat` was written in whole seconds, as most identity providers write it:
    /// the token was then issued at some moment of that second.
    pub issued_at_whole_second: bool,
    /// `exp`, seconds since the Unix epoch.
    pub expires_at: Option<u64>,
    /// `jti`, `iat` or `exp` is there but cannot be read (another type, a negative or
    /// unbounded number, or given twice): a token a revocation store cannot judge.
    pub unreadable: bool,
}

impl TokenFacts {
    /// The facts of a JWT's claims, read without verifying: only for a token already
    /// verified. `None` when `token` is not a JWT whose claims are a JSON object.
    pub fn of_jwt(token: &str) -> Option<TokenFacts> {
        #[derive(Deserialize)]
        struct Registered {
            #[serde(default)]
            jti: Option<Value>,
            #[serde(default)]
            iat: Option<Value>,
            #[serde(default)]
            exp: Option<Value>,
        }
        let registered = match read_claims_object::<Registered>(token) {
            Ok(registered) => registered,
            Err(Unread::NotJwt) => return None,
            // Not an object, or a registered claim given twice.
            Err(Unread::NotTheShape) => return Some(TokenFacts::unreadable()),
        };
        let mut unreadable = false;
        let mut number = |value: Option<Value>| match value {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_f64().filter(|n| *n >= 0.0) {
                Some(n) => Some(n),
                None => {
                    unreadable = true;
                    None
                }
            },
            Some(_) => {
                unreadable = true;
                None
            }
        };
        let iat = number(registered.iat);
        let exp = number(registered.exp);
        let id = match registered.jti {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) => Some(id),
            Some(_) => {
                unreadable = true;
                None
            }
        };
        Some(TokenFacts {
            id,
            issued_at_ms: iat.map(|iat| (iat * 1000.0).floor() as u64),
            issued_at_whole_second: iat.is_some_and(|iat| iat.fract() == 0.0),
            expires_at: exp.map(|exp| exp as u64),
            unreadable,
        })
    }

    fn unreadable() -> TokenFacts {
        TokenFacts {
            id: None,
            issued_at_ms: None,
            issued_at_whole_second: false,
            expires_at: None,
            unreadable: true,
        }
    }

    /// The latest moment the token may have been issued, in milliseconds: the end of
    /// `iat`'s second when it was written in whole seconds. A moment is compared with
    /// this ("issued before the logout", "issued before the account"), so a token is
    /// refused for it only when it was surely issued before: at the token's precision.
    pub fn issued_at_latest_ms(&self) -> Option<u64> {
        let precision = if self.issued_at_whole_second { 999 } else { 0 };
        self.issued_at_ms.map(|ms| ms.saturating_add(precision))
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
    fn claims_of_another_type_or_given_twice_are_unreadable_facts() {
        for claims in [
            r#"{"jti":7,"iat":100,"exp":200}"#,
            r#"{"iat":"100","exp":200}"#,
            r#"{"iat":-5,"exp":200}"#,
            r#"{"jti":"a","jti":"b","iat":100,"exp":200}"#,
            r#"{"iat":100,"iat":99,"exp":200}"#,
            r#"["a",100,200]"#,
        ] {
            let facts = TokenFacts::of_jwt(&token(claims)).expect(claims);
            assert!(facts.unreadable, "{claims}");
        }
        let plain = TokenFacts::of_jwt(&token(r#"{"jti":"a","iat":100,"exp":200}"#)).unwrap();
        assert!(!plain.unreadable);
        assert!(TokenFacts::of_jwt("not-a-jwt").is_none());
        assert!(TokenFacts::of_jwt("e30.bm90IGpzb24.sig").is_none());
    }

    #[test]
    fn a_whole_second_iat_may_have_been_issued_until_the_end_of_its_second() {
        let whole = TokenFacts::of_jwt(&token(r#"{"iat":100,"exp":200}"#)).unwrap();
        assert!(whole.issued_at_whole_second);
        assert_eq!(whole.issued_at_latest_ms(), Some(100_999));
        let precise = TokenFacts::of_jwt(&token(r#"{"iat":100.25,"exp":200}"#)).unwrap();
        assert_eq!(precise.issued_at_latest_ms(), Some(100_250));
    }
}
