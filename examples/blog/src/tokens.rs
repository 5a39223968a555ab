//! Login tokens: HS256, issuer and audience `blog`, claims `sub`, `exp`, `iat`, `roles`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

/// The `iss` and `aud` of every token.
pub const ISSUER: &str = "blog";

/// How long a login token is valid.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// Signs login tokens with the service's secret.
pub struct TokenIssuer {
    key: EncodingKey,
}

#[derive(Serialize)]
struct TokenClaims<'a> {
    sub: String,
    iss: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
    roles: &'a [String],
}

impl TokenIssuer {
    /// An issuer for `secret` (already checked to be long enough).
    pub fn new(secret: &[u8]) -> Self {
        TokenIssuer {
            key: EncodingKey::from_secret(secret),
        }
    }

    /// A token for user `id` with `roles`.
    pub fn issue(&self, id: i64, roles: &[String]) -> Result<String, jsonwebtoken::errors::Error> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_secs();
        let claims = TokenClaims {
            sub: id.to_string(),
            iss: ISSUER,
            aud: ISSUER,
            iat: now,
            exp: now + TOKEN_LIFETIME.as_secs(),
            roles,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
    }
}
