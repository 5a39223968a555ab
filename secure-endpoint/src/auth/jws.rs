//! A token in compact form (RFC 7515 §7.1): base64url segments split on dots. The one
//! reader of that format: a segment decoded on the stack when it fits (else on the
//! heap), the header's routing fields read ahead of verification, and the claims read
//! from a token that was already verified.
//!
//! Verifying a signature is not this module's business: that is `jwt.rs` (any key, with
//! jsonwebtoken) and `one_key.rs` (one HMAC key, on aws-lc).

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};

use super::AuthError;

/// Headers up to this many bytes are decoded on the stack.
pub(crate) const HEADER_BUFFER: usize = 512;

/// Claims up to this many bytes are decoded on the stack.
pub(crate) const CLAIMS_BUFFER: usize = 1024;

/// A segment that is not base64url.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotBase64;

/// `segment` decoded into `buffer` when it fits, else onto the heap.
pub(crate) fn decode<'b, const N: usize>(
    segment: &str,
    buffer: &'b mut [u8; N],
) -> Result<Cow<'b, [u8]>, NotBase64> {
    match URL_SAFE_NO_PAD.decode_slice(segment, buffer) {
        Ok(len) => Ok(Cow::Borrowed(&buffer[..len])),
        Err(base64::DecodeSliceError::OutputSliceTooSmall) => URL_SAFE_NO_PAD
            .decode(segment)
            .map(Cow::Owned)
            .map_err(|_| NotBase64),
        Err(base64::DecodeSliceError::DecodeError(_)) => Err(NotBase64),
    }
}

/// The header fields that route a token to its keys. jsonwebtoken's `decode` reads the
/// whole header again when it verifies; this read only chooses the keys, so it borrows
/// what it can and keeps short headers off the heap.
#[derive(Deserialize)]
pub(crate) struct Peek<'a> {
    pub(crate) alg: Algorithm,
    #[serde(borrow, default)]
    pub(crate) kid: Option<Cow<'a, str>>,
    /// Whether the header names `crit` at all: even `"crit": null` is refused (RFC 7515
    /// §4.1.11 allows only a list, and this verifier understands no extension).
    #[serde(default, deserialize_with = "present")]
    pub(crate) crit: bool,
}

fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}

/// The routing fields of `token`'s header, read before verification.
pub(crate) fn peek_header<'b>(
    token: &str,
    buffer: &'b mut [u8; HEADER_BUFFER],
) -> Result<Peek<'b>, AuthError> {
    let Some((encoded, _)) = token.split_once('.') else {
        return Err(AuthError::new("malformed token"));
    };
    let not_json = |_| AuthError::new("token header or claims are not the expected JSON");
    let header =
        decode(encoded, buffer).map_err(|NotBase64| AuthError::new("token is not base64url"))?;
    // serde's derive would read `["HS256"]` as a header with that `alg`: only an object is.
    if !is_object(&header) {
        return Err(AuthError::new(
            "token header or claims are not the expected JSON",
        ));
    }
    match header {
        Cow::Borrowed(header) => serde_json::from_slice(header).map_err(not_json),
        Cow::Owned(header) => {
            let peek: Peek<'_> = serde_json::from_slice(&header).map_err(not_json)?;
            Ok(Peek {
                alg: peek.alg,
                kid: peek.kid.map(|kid| Cow::Owned(kid.into_owned())),
                crit: peek.crit,
            })
        }
    }
}

/// Whether the token's header may carry `crit` (even `null`, which jsonwebtoken reads as
/// absent): its bytes hold `crit` anywhere, or an escape that could spell it. Such a
/// header, or one that does not decode, takes the path that reads the header itself.
pub(crate) fn may_name_crit(token: &str) -> bool {
    let mut buffer = [0u8; HEADER_BUFFER];
    let Some((encoded, _)) = token.split_once('.') else {
        return true;
    };
    match decode(encoded, &mut buffer) {
        Ok(header) => header.contains(&b'\\') || header.windows(4).any(|w| w == b"crit"),
        Err(NotBase64) => true,
    }
}

/// The claims of `token`, read as `T` without verifying: only to choose among verifiers,
/// or from a token already verified. `None` when the token has no second segment, or it
/// is not base64url JSON of that shape.
pub(crate) fn read_claims<T: DeserializeOwned>(token: &str) -> Option<T> {
    let claims = token.split('.').nth(1)?;
    let mut buffer = [0u8; CLAIMS_BUFFER];
    serde_json::from_slice(&decode(claims, &mut buffer).ok()?).ok()
}

/// Why a token's claims could not be read as an object of some shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unread {
    /// No second segment, or not base64url, or not JSON at all: not a JWT.
    NotJwt,
    /// JSON, but not an object, or not one of the shape asked for (a claim of another
    /// type, a claim given twice).
    NotTheShape,
}

/// The claims of `token` as `T`, only when they are a JSON object: read without
/// verifying, as [`read_claims`].
pub(crate) fn read_claims_object<T: DeserializeOwned>(token: &str) -> Result<T, Unread> {
    let claims = token.split('.').nth(1).ok_or(Unread::NotJwt)?;
    let mut buffer = [0u8; CLAIMS_BUFFER];
    let bytes = decode(claims, &mut buffer).map_err(|NotBase64| Unread::NotJwt)?;
    if !is_object(&bytes) {
        return match serde_json::from_slice::<IgnoredAny>(&bytes) {
            Ok(_) => Err(Unread::NotTheShape),
            Err(_) => Err(Unread::NotJwt),
        };
    }
    serde_json::from_slice(&bytes).map_err(|_| match serde_json::from_slice::<IgnoredAny>(&bytes) {
        Ok(_) => Unread::NotTheShape,
        Err(_) => Unread::NotJwt,
    })
}

/// Whether the claims segment of `token` holds a JSON object, as a verified token's
/// claims must (read once more: for paths that let jsonwebtoken parse the claims).
pub(crate) fn claims_are_an_object(token: &str) -> bool {
    let Some(claims) = token.split('.').nth(1) else {
        return false;
    };
    let mut buffer = [0u8; CLAIMS_BUFFER];
    decode(claims, &mut buffer).is_ok_and(|claims| is_object(&claims))
}

/// Whether a segment's JSON is an object (RFC 7515 and 7519 allow nothing else for the
/// header and the claims): its first byte after whitespace opens one.
pub(crate) fn is_object(json: &[u8]) -> bool {
    json.iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .is_some_and(|b| *b == b'{')
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use proptest::prelude::*;

    use super::{HEADER_BUFFER, NotBase64, decode, peek_header};

    #[test]
    fn segments_decode_on_the_stack_or_the_heap_alike() {
        let short = URL_SAFE_NO_PAD.encode(b"short");
        let long = URL_SAFE_NO_PAD.encode([7u8; 40]);
        let mut small = [0u8; 8];
        assert!(matches!(
            decode(&short, &mut small),
            Ok(std::borrow::Cow::Borrowed(b"short"))
        ));
        let on_heap = decode(&long, &mut small).unwrap();
        assert!(matches!(on_heap, std::borrow::Cow::Owned(_)));
        assert_eq!(&*on_heap, &[7u8; 40]);
        assert_eq!(decode("!!", &mut small), Err(NotBase64));
        assert_eq!(decode(&format!("{long}="), &mut small), Err(NotBase64));
    }

    fn header_json() -> impl Strategy<Value = serde_json::Value> {
        let alg = prop_oneof![
            Just("HS256"),
            Just("RS256"),
            Just("ES256"),
            Just("EdDSA"),
            Just("none"),
            Just("hs256")
        ];
        let kid = proptest::option::of("[ -~]{0,40}|.{0,8}");
        let padding = "[a-z]{0,300}";
        (alg, kid, padding, any::<bool>()).prop_map(|(alg, kid, padding, typ)| {
            let mut header = serde_json::json!({ "alg": alg });
            if let Some(kid) = kid {
                header["kid"] = serde_json::Value::String(kid);
            }
            if typ {
                header["typ"] = serde_json::Value::String("JWT".into());
            }
            if !padding.is_empty() {
                header["x5t"] = serde_json::Value::String(padding);
            }
            header
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// The read-ahead agrees with jsonwebtoken's own header parse on every header
        /// it accepts: the same algorithm and the same `kid`, on the stack or not.
        #[test]
        fn the_read_ahead_agrees_with_jsonwebtoken(header in header_json(), claims in "[a-zA-Z0-9_-]{0,40}") {
            let token = format!(
                "{}.{claims}.sig",
                URL_SAFE_NO_PAD.encode(header.to_string())
            );
            let mut buffer = [0u8; HEADER_BUFFER];
            let ours = peek_header(&token, &mut buffer);
            match jsonwebtoken::decode_header(&token) {
                Ok(theirs) => {
                    let ours = ours.expect("jsonwebtoken read a header the read-ahead refused");
                    prop_assert_eq!(ours.alg, theirs.alg);
                    prop_assert_eq!(ours.kid.as_deref(), theirs.kid.as_deref());
                }
                Err(_) => prop_assert!(ours.is_err(), "the read-ahead accepted what jsonwebtoken refused"),
            }
        }

        /// Anything at all is answered, never a panic.
        #[test]
        fn any_token_text_is_answered(token in ".{0,200}") {
            let mut buffer = [0u8; HEADER_BUFFER];
            let _ = peek_header(&token, &mut buffer);
        }
    }
}
