//! Where the credential is read, once per request: the single `Authorization: Bearer`
//! header (scheme case-insensitive, a bounded b64token), the session cookie when the
//! settings accept one and no `Authorization` header came, or the authenticator's own
//! header. What was sent is handed to the authentication step, which judges it; this
//! step judges nothing but the shape.

use http::HeaderMap;
use http::header::AUTHORIZATION;

use crate::auth::Credential;
use crate::context::RouteContext;

/// What the request sent in the place its route reads the credential from.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Sent<'h> {
    /// Nothing there: anonymous on an `optional_auth` route, 401 (without
    /// `invalid_token`) on an `auth` one.
    Nothing(&'static str),
    /// A token of the right shape, and whether it came from the session cookie.
    Token { token: &'h str, from_cookie: bool },
    /// Something that cannot be a token: 401.
    Unreadable(NoToken),
}

/// What the request sent for `credential`, read once, within the route's limits.
pub(crate) fn read<'h>(
    route: &RouteContext,
    credential: &Credential,
    headers: &'h HeaderMap,
) -> Sent<'h> {
    let max_bytes = route.max_token_bytes();
    let taken = match credential {
        // The bearer token wins; the cookie is read only when there is none.
        Credential::Bearer if !headers.contains_key(AUTHORIZATION) => {
            return match route.session_cookie().map(|c| c.read(headers, max_bytes)) {
                Some(Ok(Some(token))) => Sent::Token {
                    token,
                    from_cookie: true,
                },
                Some(Err(reason)) => Sent::Unreadable(NoToken {
                    token_given: true,
                    reason,
                }),
                None | Some(Ok(None)) => Sent::Nothing("no Authorization header"),
            };
        }
        Credential::Bearer => bearer_token(headers, max_bytes),
        Credential::Header(name) if !headers.contains_key(name) => {
            return Sent::Nothing("no credential header");
        }
        Credential::Header(name) => header_credential(headers, name, max_bytes),
    };
    match taken {
        Ok(token) => Sent::Token {
            token,
            from_cookie: false,
        },
        Err(no_token) => Sent::Unreadable(no_token),
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
fn bearer_token(headers: &HeaderMap, max_bytes: usize) -> Result<&str, NoToken> {
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
fn header_credential<'h>(
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

#[cfg(test)]
mod through_the_router {
    use http::StatusCode;

    use crate::cookie::SessionCookie;
    use crate::pipeline::harness::{bearer, empty, request, send, settings, token};
    use crate::routing::get;
    use crate::{Claims, SecureRouter, secure};

    #[secure(auth)]
    async fn me(claims: Claims) -> String {
        claims.sub
    }

    fn router() -> SecureRouter {
        SecureRouter::new().route("/me", get(me)).with_security(
            settings()
                .session_cookie(SessionCookie::new())
                .build()
                .unwrap(),
        )
    }

    #[tokio::test]
    async fn the_bearer_token_is_judged_when_a_cookie_comes_too() {
        let answer = send(
            router(),
            empty(
                bearer(request("GET", "/me"), &token("7", &[]))
                    .header("cookie", "__Host-session=forged.token.value"),
            ),
        )
        .await;
        assert_eq!((answer.status, answer.body.as_str()), (StatusCode::OK, "7"));
    }

    #[tokio::test]
    async fn the_cookie_is_read_when_no_bearer_token_comes() {
        let cookie = format!("theme=dark; __Host-session={}", token("8", &[]));
        let answer = send(
            router(),
            empty(request("GET", "/me").header("cookie", cookie)),
        )
        .await;
        assert_eq!((answer.status, answer.body.as_str()), (StatusCode::OK, "8"));
    }

    #[tokio::test]
    async fn another_cookie_s_odd_bytes_neither_hide_nor_spoil_the_session() {
        let cookie = format!("x=caf\u{e9}; __Host-session={}", token("8", &[]));
        let with_cookie = request("GET", "/me").header(
            "cookie",
            http::HeaderValue::from_bytes(cookie.as_bytes()).unwrap(),
        );
        let answer = send(router(), empty(with_cookie)).await;
        assert_eq!((answer.status, answer.body.as_str()), (StatusCode::OK, "8"));
        // Only the odd cookie: no credential at all, not an invalid one.
        let odd_only = request("GET", "/me").header(
            "cookie",
            http::HeaderValue::from_bytes("x=caf\u{e9}".as_bytes()).unwrap(),
        );
        let answer = send(router(), empty(odd_only)).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.headers["www-authenticate"], "Bearer");
    }

    #[tokio::test]
    async fn what_cannot_be_a_token_is_refused_as_an_invalid_one() {
        for (header, value) in [
            ("authorization", "Bearer a b"),
            ("authorization", "Bearer a\"b"),
            ("cookie", "__Host-session=a; __Host-session=b"),
        ] {
            let answer = send(router(), empty(request("GET", "/me").header(header, value))).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{value}");
            assert_eq!(
                answer.headers["www-authenticate"],
                r#"Bearer error="invalid_token""#
            );
            assert_eq!(answer.body, r#"{"error":"Unauthorized"}"#);
        }
    }

    #[tokio::test]
    async fn another_scheme_or_nothing_is_a_plain_challenge() {
        for value in [Some("Basic dXNlcjpwYXNz"), None] {
            let mut builder = request("GET", "/me");
            if let Some(value) = value {
                builder = builder.header("authorization", value);
            }
            let answer = send(router(), empty(builder)).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
            assert_eq!(answer.headers["www-authenticate"], "Bearer");
        }
    }
}
