//! Login tokens: HS256, issuer and audience `blog`, claims `sub`, `iat`, `exp`, `jti` and
//! `roles`, signed by the framework's `TokenIssuer` with the service's secret.

use std::time::Duration;

use secure_endpoint::{Algorithm, SetupError, TokenIssuer};

/// The `iss` and `aud` of every token.
pub const ISSUER: &str = "blog";

/// How long a login token is valid.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// The issuer of the blog's tokens for `secret` (at least 32 bytes).
pub fn issuer(secret: &[u8]) -> Result<TokenIssuer, SetupError> {
    Ok(TokenIssuer::hmac(Algorithm::HS256, secret)?
        .issuer(ISSUER)
        .audience(ISSUER)
        .lifetime(TOKEN_LIFETIME))
}
