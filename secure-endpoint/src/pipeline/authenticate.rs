//! Step 1, `auth`: the credential taken from the request's single
//! `Authorization: Bearer` header, verified by the router's authenticator. A failure
//! counts against the client address when the settings limit failed authentications;
//! past that limit the answer is 429 instead of 401.
//!
//! A valid credential from an address past that limit is still served, on purpose:
//! tokens and API keys cannot be guessed, and refusing them would let anyone lock out a
//! shared address (a NAT, an office). What such an address no longer gets is
//! verification of tokens that cannot be valid: one that does not parse or names a key
//! the authenticator does not hold ([`Authenticator::precheck`]) is answered 429 at once,
//! without the signature check or a key-set refresh.
//!
//! [`Authenticator::precheck`]: crate::Authenticator::precheck

use http::HeaderMap;
use http::header::AUTHORIZATION;
use http::request::Parts;

use super::Admitted;
use super::csrf::FromCookie;
use crate::audit::{self, Route, Step};
use crate::auth::{AuthError, Credential, DynAuthenticator};
use crate::cookie::SessionCookie;
use crate::rate::{Limit, LimitKey, Outcome};
use crate::rejection::Rejection;
use crate::revoker::Presented;

pub(crate) async fn authenticate(
    route: &Route,
    admitted: &Admitted,
    authenticator: &dyn DynAuthenticator,
    credential: &Credential,
    parts: &mut Parts,
) -> Result<(), Rejection> {
    let Some(context) = admitted.context() else {
        return Err(Rejection::Internal);
    };
    let Some(security) = context.security() else {
        return Err(Rejection::Internal);
    };
    // Computed only where a failed-authentication limit needs it.
    let client = |parts: &Parts| security.proxies.client_key(parts).map(LimitKey::Ip);
    let mut from_cookie = false;
    let presented = match credential {
        Credential::Bearer => match &security.session_cookie {
            // The bearer token wins; the cookie is read only when there is none.
            Some(cookie) if !parts.headers.contains_key(AUTHORIZATION) => {
                match cookie.read(&parts.headers, security.max_token_bytes) {
                    Ok(Some(token)) => {
                        from_cookie = true;
                        Ok(token)
                    }
                    Ok(None) => bearer_token(&parts.headers, security.max_token_bytes),
                    Err(reason) => Err(NoToken {
                        token_given: true,
                        reason,
                    }),
                }
            }
            _ => bearer_token(&parts.headers, security.max_token_bytes),
        },
        Credential::Header(name) => {
            header_credential(&parts.headers, name, security.max_token_bytes)
        }
    };
    let (reason, token_given) = match presented {
        Ok(token) => {
            if let Some(limiter) = context.failed_auth()
                && let Some(key) = client(parts)
                && limiter.refusal(&key).is_some()
                && let Err(error) = authenticator.precheck(token)
                && let Outcome::Refused { retry_after } = limiter.check(&key).await
            {
                audit::deny(route, Step::Authenticate, error.reason());
                audit::deny(
                    route,
                    Step::Authenticate,
                    "too many failed authentications from this address; refused before verification",
                );
                return Err(Rejection::TooManyRequests {
                    limits: &[],
                    refused: Limit::failed_authentications(limiter.rate()),
                    retry_after,
                });
            }
            match verify(authenticator, token, &mut parts.extensions).await {
                Ok(()) => {
                    audit::allow(route, Step::Authenticate, "the credential was verified");
                    if from_cookie {
                        parts.extensions.insert(FromCookie);
                    }
                    // Which token it is, for the revocation and principal checks next.
                    if (security.revocations.is_some() || security.principal_check.is_some())
                        && let Some(principal) = authenticator.principal(&parts.extensions)
                    {
                        let presented = Presented {
                            principal: principal.id().to_owned(),
                            facts: authenticator.token_facts(token),
                        };
                        parts.extensions.insert(presented);
                    }
                    return Ok(());
                }
                Err(error) => (error.reason().to_owned(), true),
            }
        }
        Err(no_token) => (no_token.reason.to_owned(), no_token.token_given),
    };
    audit::deny(route, Step::Authenticate, &reason);
    if token_given
        && let Some(limiter) = context.failed_auth()
        && let Some(key) = client(parts)
        && let Outcome::Refused { retry_after } = limiter.check(&key).await
    {
        audit::deny(
            route,
            Step::Authenticate,
            "too many failed authentications from this address",
        );
        return Err(Rejection::TooManyRequests {
            limits: &[],
            refused: Limit::failed_authentications(limiter.rate()),
            retry_after,
        });
    }
    Err(Rejection::Unauthorized { token_given })
}

/// The authenticator's verdict: from memory when it can answer so, else awaited.
async fn verify(
    authenticator: &dyn DynAuthenticator,
    token: &str,
    extensions: &mut http::Extensions,
) -> Result<(), AuthError> {
    match authenticator.authenticate_now(token, extensions) {
        Some(verdict) => verdict,
        None => authenticator.authenticate(token, extensions).await,
    }
}

/// Whether the request carries anything in the place the credential is read from: an
/// `Authorization` header (or the session cookie, when one is configured), or the
/// authenticator's own header.
pub(crate) fn presented(
    headers: &HeaderMap,
    credential: &Credential,
    cookie: Option<&SessionCookie>,
) -> bool {
    match credential {
        Credential::Bearer => {
            headers.contains_key(AUTHORIZATION)
                || cookie
                    .is_some_and(|cookie| !matches!(cookie.read(headers, usize::MAX), Ok(None)))
        }
        Credential::Header(name) => headers.contains_key(name),
    }
}

/// Why no token could be taken from the request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NoToken {
    /// Something token-like was presented (so the challenge says `invalid_token`).
    pub(crate) token_given: bool,
    pub(crate) reason: &'static str,
}

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

/// The token of the request's single `Authorization: Bearer` header: the scheme
/// case-insensitive, the token trimmed, at most `max_bytes` long and made of b64token
/// characters only.
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

/// The credential of the request's single header `name`, trimmed: at most `max_bytes`
/// of visible ASCII.
pub(crate) fn header_credential<'h>(
    headers: &'h HeaderMap,
    name: &http::HeaderName,
    max_bytes: usize,
) -> Result<&'h str, NoToken> {
    let mut values = headers.get_all(name).iter();
    let value = values.next().ok_or(NoToken {
        token_given: false,
        reason: "no credential header",
    })?;
    if values.next().is_some() {
        return Err(NoToken {
            token_given: true,
            reason: "more than one credential header",
        });
    }
    let credential = value.as_bytes().trim_ascii();
    if credential.is_empty() {
        return Err(NoToken {
            token_given: false,
            reason: "empty credential header",
        });
    }
    if credential.len() > max_bytes {
        return Err(NoToken {
            token_given: true,
            reason: "credential larger than max_token_bytes",
        });
    }
    if !credential.iter().all(|b| b.is_ascii_graphic()) {
        return Err(NoToken {
            token_given: true,
            reason: "credential contains characters outside visible ASCII",
        });
    }
    Ok(std::str::from_utf8(credential).expect("checked to be ASCII"))
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
}

#[cfg(test)]
mod properties {
    use http::{HeaderMap, HeaderValue};
    use proptest::prelude::*;

    use super::bearer_token;

    /// Bytes a header value may hold: visible ASCII, space, tab and obs-text.
    fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![Just(b'\t'), 0x20u8..=0x7e, 0x80u8..=0xff],
            0..120,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Whatever the header holds, the reader answers, and what it accepts is a
        /// bounded b64token that stood after the scheme.
        #[test]
        fn any_authorization_header_is_answered(
            scheme in prop_oneof![Just("Bearer "), Just("bearer "), Just("Basic "), Just("")],
            rest in header_bytes(),
            max in 1usize..64,
        ) {
            let mut value = scheme.as_bytes().to_vec();
            value.extend_from_slice(&rest);
            let mut headers = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_bytes(&value) {
                headers.insert("authorization", value);
            }
            if let Ok(token) = bearer_token(&headers, max) {
                prop_assert!(!token.is_empty() && token.len() <= max);
                prop_assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b)));
                prop_assert!(scheme.eq_ignore_ascii_case("bearer "));
                let text = String::from_utf8_lossy(&rest);
                prop_assert_eq!(text.trim_matches(|c| c == ' ' || c == '\t'), token);
            }
        }
    }
}
