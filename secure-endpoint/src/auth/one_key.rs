//! One HMAC key and no JWKS, on aws-lc: the token is read once.
//!
//! jsonwebtoken's `decode` reads the header twice (once to choose the verifier, once
//! to verify), decodes every part onto the heap, boxes a verifier, and parses the
//! claims twice (for the caller's type, then for the registered claims): about 15,000
//! instructions of a 23,000-instruction verification of an HS256 token, the HMAC
//! itself being the other 8,000. With a single HMAC key there is nothing to choose, so
//! this path reads the header once on the stack, verifies the tag with aws-lc's
//! `hmac::verify` on the keyed state kept for the secret, parses the caller's claims,
//! and reads the registered ones in a borrowed pass: 16,000 instructions in all.
//!
//! What it accepts and refuses is the general path's, rule for rule and in the same
//! order: the header as the general path reads it (`crit` refused even as `null`, the
//! `alg` one of the configured ones, the key serving its `alg` and `kid`), then the
//! token split and its parts decoded as jsonwebtoken does, then the registered claims
//! judged from the same [`Validation`] with jsonwebtoken's arithmetic. A property test
//! holds its verdicts, claims and refusal descriptions to those of the general path.
//! One difference is left, on purpose: header fields this verifier does not use (`typ`,
//! `x5t`, …) are not type-checked, as jsonwebtoken's `Header` checks them. They are
//! under the signature, so only the secret's holder can write them.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use aws_lc_rs::hmac;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, IgnoredAny, Visitor};

use super::AuthError;
use super::jws::{self, CLAIMS_BUFFER, HEADER_BUFFER, NotBase64, peek_header};
use super::key::Key;

/// The keyed HMAC state of the one key, for each algorithm it may verify.
pub(crate) struct OneKey {
    states: Vec<(Algorithm, Arc<hmac::Key>)>,
}

/// The longest tag: HMAC-SHA-512's.
const LONGEST_TAG: usize = 64;

impl OneKey {
    /// The states of `key` for `algorithms`; `None` when it is not an HMAC secret.
    pub(crate) fn of(key: &Key, algorithms: &[Algorithm]) -> Option<OneKey> {
        let secret = key.key.try_get_as_bytes().ok()?;
        let states: Vec<_> = algorithms
            .iter()
            .filter_map(|&algorithm| {
                super::backend::hmac_state(algorithm, secret).map(|state| (algorithm, state))
            })
            .collect();
        (!states.is_empty()).then_some(OneKey { states })
    }

    /// The claims of `token`, verified with `key` and judged by `validation`.
    pub(crate) fn verify<C: DeserializeOwned>(
        &self,
        token: &str,
        key: &Key,
        validation: &Validation,
    ) -> Result<C, AuthError> {
        let malformed = || AuthError::new("malformed token");
        let not_base64 = || AuthError::new("token is not base64url");
        let not_json = |_| AuthError::new("token header or claims are not the expected JSON");
        // The header first, judged as the general path judges it.
        let mut header_buffer = [0u8; HEADER_BUFFER];
        let header = peek_header(token, &mut header_buffer)?;
        if header.crit {
            return Err(AuthError::new(
                "token has a crit header this verifier does not understand",
            ));
        }
        if !validation.algorithms.contains(&header.alg) {
            return Err(AuthError::new("algorithm not allowed"));
        }
        if !key.serves(header.alg, header.kid.as_deref()) {
            return Err(AuthError::new(
                "no configured key matches the token's kid and algorithm",
            ));
        }
        let Some((_, state)) = self.states.iter().find(|(alg, _)| *alg == header.alg) else {
            return Err(AuthError::new("algorithm not allowed"));
        };
        // Then the token as jsonwebtoken splits it: the tag after the last dot, the
        // claims before it, and a header holding no dot.
        let (message, signature) = token.rsplit_once('.').ok_or_else(malformed)?;
        let (header_part, payload) = message.rsplit_once('.').ok_or_else(malformed)?;
        if header_part.contains('.') {
            return Err(not_base64());
        }
        let mut tag = [0u8; LONGEST_TAG];
        let tag = match jws::decode(signature, &mut tag).map_err(|NotBase64| not_base64())? {
            Cow::Borrowed(tag) => tag,
            // Longer than any tag: it cannot be this one.
            Cow::Owned(_) => return Err(AuthError::new("bad signature")),
        };
        hmac::verify(state, message.as_bytes(), tag)
            .map_err(|_| AuthError::new("bad signature"))?;
        let mut claims_buffer = [0u8; CLAIMS_BUFFER];
        let claims = jws::decode(payload, &mut claims_buffer).map_err(|NotBase64| not_base64())?;
        // serde's derives would read an array of the right values as claims: only an
        // object is.
        if !jws::is_object(&claims) {
            return Err(AuthError::new(
                "token header or claims are not the expected JSON",
            ));
        }
        let principal: C = serde_json::from_slice(&claims).map_err(not_json)?;
        let registered: Registered<'_> = serde_json::from_slice(&claims).map_err(not_json)?;
        registered.judge(validation)?;
        Ok(principal)
    }
}

/// The registered claims a [`Validation`] judges, each as jsonwebtoken reads it: absent
/// (or `null`), unreadable as its type, or read.
#[derive(Deserialize)]
struct Registered<'a> {
    #[serde(default, deserialize_with = "numeric")]
    exp: Read<u64>,
    #[serde(default, deserialize_with = "numeric")]
    nbf: Read<u64>,
    #[serde(borrow, default, deserialize_with = "text")]
    sub: Read<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "names")]
    iss: Read<Vec<Cow<'a, str>>>,
    #[serde(borrow, default, deserialize_with = "names")]
    aud: Read<Vec<Cow<'a, str>>>,
}

#[derive(Default)]
enum Read<T> {
    Value(T),
    Unreadable,
    #[default]
    Absent,
}

impl<T> Read<T> {
    fn is_read(&self) -> bool {
        matches!(self, Read::Value(_))
    }
}

impl Registered<'_> {
    /// jsonwebtoken's rules, in its order, with its descriptions.
    fn judge(&self, validation: &Validation) -> Result<(), AuthError> {
        for claim in &validation.required_spec_claims {
            let present = match claim.as_str() {
                "exp" => self.exp.is_read(),
                "nbf" => self.nbf.is_read(),
                "sub" => self.sub.is_read(),
                "iss" => self.iss.is_read(),
                "aud" => self.aud.is_read(),
                _ => continue,
            };
            if !present {
                return Err(AuthError::new("a required claim is missing"));
            }
        }
        if validation.validate_exp || validation.validate_nbf {
            let now = jsonwebtoken::get_current_timestamp();
            let wrong_type = || AuthError::new("a claim has the wrong type");
            if validation.validate_exp && matches!(self.exp, Read::Unreadable) {
                return Err(wrong_type());
            }
            if validation.validate_nbf && matches!(self.nbf, Read::Unreadable) {
                return Err(wrong_type());
            }
            let early = validation.reject_tokens_expiring_in_less_than;
            if let Read::Value(exp) = self.exp {
                if exp < early {
                    return Err(AuthError::new("malformed token"));
                }
                if validation.validate_exp && exp - early < now.saturating_sub(validation.leeway) {
                    return Err(AuthError::new("token expired"));
                }
            }
            if let Read::Value(nbf) = self.nbf
                && validation.validate_nbf
                && nbf > now.saturating_add(validation.leeway)
            {
                return Err(AuthError::new("token not valid yet (nbf)"));
            }
        }
        if let (Read::Value(sub), Some(required)) = (&self.sub, validation.sub.as_deref())
            && sub != required
        {
            return Err(AuthError::new("wrong subject"));
        }
        if let (Read::Value(issuers), Some(accepted)) = (&self.iss, &validation.iss)
            && !issuers.iter().any(|iss| accepted.contains(&**iss))
        {
            return Err(AuthError::new("wrong issuer"));
        }
        if !validation.validate_aud {
            return Ok(());
        }
        match (&self.aud, &validation.aud) {
            // A token for a named audience, where none is configured, is for someone else.
            (Read::Value(_), None) => Err(AuthError::new("wrong audience")),
            (Read::Value(audiences), Some(accepted))
                if !audiences.iter().any(|aud| accepted.contains(&**aud)) =>
            {
                Err(AuthError::new("wrong audience"))
            }
            _ => Ok(()),
        }
    }
}

/// A NumericDate as jsonwebtoken reads one: a whole number, or a finite non-negative
/// fraction below `u64::MAX`, rounded; `null` or anything else is unreadable.
fn numeric<'de, D: de::Deserializer<'de>>(deserializer: D) -> Result<Read<u64>, D::Error> {
    struct Numeric;
    impl Visitor<'_> for Numeric {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a NumericDate")
        }
        fn visit_u64<E: de::Error>(self, value: u64) -> Result<u64, E> {
            Ok(value)
        }
        fn visit_f64<E: de::Error>(self, value: f64) -> Result<u64, E> {
            if value.is_finite() && value >= 0.0 && value < u64::MAX as f64 {
                Ok(value.round() as u64)
            } else {
                Err(E::custom("a NumericDate must be representable as a u64"))
            }
        }
    }
    Ok(match deserializer.deserialize_any(Numeric) {
        Ok(value) => Read::Value(value),
        Err(_) => Read::Unreadable,
    })
}

/// A string claim; `null` is absent, another type unreadable.
fn text<'de, D: de::Deserializer<'de>>(deserializer: D) -> Result<Read<Cow<'de, str>>, D::Error> {
    Ok(match Option::<Borrowed<'de>>::deserialize(deserializer) {
        Ok(Some(Borrowed(text))) => Read::Value(text),
        Ok(None) => Read::Absent,
        Err(_) => Read::Unreadable,
    })
}

/// `iss` or `aud`: one string, or an array of strings; `null` is absent, anything else
/// (a number, an array holding one) unreadable. A value of another shape is read to its
/// end, so that the claims after it are read as jsonwebtoken reads them.
fn names<'de, D: de::Deserializer<'de>>(
    deserializer: D,
) -> Result<Read<Vec<Cow<'de, str>>>, D::Error> {
    Ok(match Shape::deserialize(deserializer)? {
        Shape::Null => Read::Absent,
        Shape::Name(name) => Read::Value(vec![name]),
        Shape::Names(names) => Read::Value(names),
        Shape::Other => Read::Unreadable,
    })
}

/// What a JSON value is, as far as a list of names cares; read to its end whatever it is.
enum Shape<'a> {
    Null,
    Name(Cow<'a, str>),
    /// An array of strings only.
    Names(Vec<Cow<'a, str>>),
    Other,
}

impl<'de> Deserialize<'de> for Shape<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Any;
        impl<'de> Visitor<'de> for Any {
            type Value = Shape<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Shape::Null)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Shape::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Shape::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Shape::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Shape::Other)
            }
            fn visit_borrowed_str<E: de::Error>(self, name: &'de str) -> Result<Self::Value, E> {
                Ok(Shape::Name(Cow::Borrowed(name)))
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
                Ok(Shape::Name(Cow::Owned(name.to_owned())))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut names = Some(Vec::new());
                while let Some(element) = seq.next_element::<Shape<'de>>()? {
                    match (element, &mut names) {
                        (Shape::Name(name), Some(names)) => names.push(name),
                        _ => names = None,
                    }
                }
                Ok(names.map_or(Shape::Other, Shape::Names))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Shape::Other)
            }
        }
        deserializer.deserialize_any(Any)
    }
}

/// A string, borrowed from the claims where it has no escapes.
struct Borrowed<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Borrowed<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl<'de> Visitor<'de> for Text {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(text))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(text.to_owned()))
            }
        }
        deserializer.deserialize_str(Text).map(Borrowed)
    }
}
