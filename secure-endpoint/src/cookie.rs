//! The token carried in a cookie, for browser front ends: the cookie read from a request,
//! and the `Set-Cookie` values that set and clear it.

use http::HeaderValue;
use http::header::COOKIE;

use crate::setup_error::SetupError;

/// The cookie a browser front end's token travels in, set with
/// [`SecurityBuilder::session_cookie`](crate::SecurityBuilder::session_cookie).
///
/// Routes read the token from `Authorization: Bearer` first and from this cookie when
/// the request has no `Authorization` header. A request whose credential came from the
/// cookie is checked for cross-site forgery on unsafe methods (DESIGN §13). The cookie
/// is set `HttpOnly; Secure; SameSite=Lax; Path=/`, with `Max-Age` until the token's
/// `exp`; its default name `__Host-session` makes the browser refuse it from anything
/// but this host over HTTPS (`localhost` counts as secure).
///
/// ```
/// use secure_endpoint::{SessionCookie, Security};
///
/// let cookie = SessionCookie::new();
/// let security = Security::builder().session_cookie(cookie.clone()).build()?;
/// // In the login handler, beside the token in the body:
/// let set = cookie.set("header.claims.signature", secure_endpoint::testing::now() + 3600);
/// assert!(set.to_str().unwrap().starts_with("__Host-session=header.claims.signature; Max-Age="));
/// # Ok::<(), secure_endpoint::SetupError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCookie {
    name: String,
}

/// The cookie's name unless another is given.
pub const DEFAULT_SESSION_COOKIE: &str = "__Host-session";

impl Default for SessionCookie {
    fn default() -> Self {
        SessionCookie {
            name: DEFAULT_SESSION_COOKIE.to_owned(),
        }
    }
}

impl SessionCookie {
    /// The cookie `__Host-session`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Another name: letters, digits and `-_.`, checked when the settings are built.
    pub fn named(name: &str) -> Self {
        SessionCookie {
            name: name.to_owned(),
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `Set-Cookie` value that hands the browser `token`, kept until `expires_at`
    /// (seconds since the Unix epoch, the token's `exp`).
    pub fn set(&self, token: &str, expires_at: u64) -> HeaderValue {
        let max_age = expires_at.saturating_sub(crate::clock::unix_now_ms() / 1000);
        let value = format!(
            "{}={token}; Max-Age={max_age}; Path=/; Secure; HttpOnly; SameSite=Lax",
            self.name
        );
        // A token that cannot be a header value would not verify either: the cookie
        // is cleared instead of panicking.
        HeaderValue::from_str(&value).unwrap_or_else(|_| self.clear())
    }

    /// The `Set-Cookie` value that makes the browser drop the cookie (logout).
    pub fn clear(&self) -> HeaderValue {
        HeaderValue::from_str(&format!(
            "{}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax",
            self.name
        ))
        .expect("a checked name is a valid header value")
    }

    pub(crate) fn check(&self) -> Result<(), SetupError> {
        let fine = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if fine {
            Ok(())
        } else {
            Err(SetupError::InvalidSetting {
                setting: "session_cookie",
                reason: format!(
                    "{:?}: a cookie name is 1 to 64 letters, digits, `-`, `_` and `.`",
                    self.name
                ),
            })
        }
    }

    /// The token in the request's cookie: `Ok(None)` when no cookie of this name came,
    /// an error when one came that cannot be a token (or two did).
    pub(crate) fn read<'h>(
        &self,
        headers: &'h http::HeaderMap,
        max_bytes: usize,
    ) -> Result<Option<&'h str>, &'static str> {
        let mut found = None;
        for header in headers.get_all(COOKIE) {
            // Read as bytes: another cookie's value may hold any byte a browser sends
            // (UTF-8 set by a sibling subdomain, say), and is none of this reader's
            // business. Only this cookie's own value must be a token.
            for pair in header.as_bytes().split(|b| *b == b';') {
                let pair = pair.trim_ascii();
                let Some(at) = pair.iter().position(|b| *b == b'=') else {
                    continue;
                };
                let (name, value) = (pair[..at].trim_ascii(), &pair[at + 1..]);
                if name != self.name.as_bytes() {
                    continue;
                }
                if found.is_some() {
                    // Two cookies of the name (one planted by a sibling host, say):
                    // neither is trusted.
                    return Err("the session cookie is sent twice");
                }
                let value = value.trim_ascii();
                let value = value
                    .strip_prefix(b"\"")
                    .and_then(|v| v.strip_suffix(b"\""))
                    .unwrap_or(value);
                if value.is_empty() {
                    return Err("an empty session cookie");
                }
                if value.len() > max_bytes {
                    return Err("a session cookie larger than max_token_bytes");
                }
                if !value
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(b))
                {
                    return Err("a session cookie with characters outside the b64token set");
                }
                found = Some(std::str::from_utf8(value).expect("checked to be ASCII"));
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderValue};

    use super::SessionCookie;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append("cookie", HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    #[test]
    fn the_token_is_found_among_other_cookies() {
        let cookie = SessionCookie::new();
        let h = headers(&[b"theme=dark; __Host-session=a.b.c; lang=en"]);
        assert_eq!(cookie.read(&h, 100), Ok(Some("a.b.c")));
        assert_eq!(cookie.read(&headers(&[b"theme=dark"]), 100), Ok(None));
        assert_eq!(
            cookie.read(&headers(&[b"garbage without pairs"]), 100),
            Ok(None)
        );
    }

    #[test]
    fn odd_cookies_are_refused_not_guessed_at() {
        let cookie = SessionCookie::new();
        for bad in [
            &b"__Host-session=a.b.c; __Host-session=d.e.f"[..],
            b"__Host-session=",
            b"__Host-session=a b",
            b"__Host-session=\xff",
        ] {
            assert!(cookie.read(&headers(&[bad]), 100).is_err(), "{bad:?}");
        }
        let long = format!("__Host-session={}", "a".repeat(101));
        assert!(cookie.read(&headers(&[long.as_bytes()]), 100).is_err());
        let split = headers(&[b"__Host-session=a.b.c", b"__Host-session=x.y.z"]);
        assert!(cookie.read(&split, 100).is_err(), "two Cookie headers");
    }

    #[test]
    fn another_cookie_s_bytes_are_none_of_its_business() {
        let cookie = SessionCookie::new();
        for header in [
            &b"x=\xc3\xa9; __Host-session=a.b.c"[..],
            b"__Host-session=a.b.c; theme=\xff\xfe",
            b"caf\xc3\xa9=1;__Host-session=\"a.b.c\"",
        ] {
            assert_eq!(
                cookie.read(&headers(&[header]), 100),
                Ok(Some("a.b.c")),
                "{header:?}"
            );
        }
        assert_eq!(cookie.read(&headers(&[b"x=\xc3\xa9"]), 100), Ok(None));
    }

    #[test]
    fn names_are_checked() {
        assert!(SessionCookie::new().check().is_ok());
        assert!(SessionCookie::named("sid").check().is_ok());
        for bad in ["", "a b", "a;b", "a=b"] {
            assert!(SessionCookie::named(bad).check().is_err(), "{bad:?}");
        }
    }
}
