//! The one-key path (`one_key.rs`) held to the general path on jsonwebtoken: for any
//! token a forger or a broken client could send, the same claims when one accepts, the
//! same refusal when one refuses. A child of `jwt.rs`, to compare with its general path.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;

/// The settings the one-key path is compared on: the plain default, an issuer and
/// audiences, two algorithms on a key with a `kid`.
fn authenticator(settings: usize) -> super::JwtAuthenticator {
    use jsonwebtoken::Algorithm;
    let key = super::Key::hmac(SECRET).unwrap();
    match settings {
        0 => super::JwtAuthenticator::new(&[Algorithm::HS256], key).unwrap(),
        1 => super::JwtAuthenticator::new(&[Algorithm::HS256], key)
            .unwrap()
            .issuer("https://issuer.example")
            .audiences(&["api", "old-api"]),
        _ => super::JwtAuthenticator::new(&[Algorithm::HS256, Algorithm::HS384], key.kid("k1"))
            .unwrap(),
    }
}

const SECRET: &[u8] = b"the one key's secret, thirty-two bytes or more";

/// A JSON value for a claim, or its absence, in the shapes tokens carry and the ones
/// they should not: `usual` (`None` for absent) three times in four.
fn claim(
    usual: Option<&'static str>,
    shapes: &'static [&'static str],
) -> impl Strategy<Value = Option<String>> {
    let other = proptest::option::of(proptest::sample::select(shapes).prop_map(str::to_owned));
    prop_oneof![3 => Just(usual.map(str::to_owned)), 1 => other]
}

/// `iss` or `aud`: absent, the accepted `usual`, or another shape, in equal parts.
fn named(
    usual: &'static str,
    shapes: &'static [&'static str],
) -> impl Strategy<Value = Option<String>> {
    let other = proptest::sample::select(shapes).prop_map(|s| Some(s.to_owned()));
    prop_oneof![Just(None), Just(Some(usual.to_owned())), other]
}

/// The claims as raw JSON text, so that a key may come twice.
fn claims_text() -> impl Strategy<Value = String> {
    let now = jsonwebtoken::get_current_timestamp();
    let times: Vec<String> = vec![
        (now + 1000).to_string(),
        (now - 1000).to_string(),
        (now - 10).to_string(),
        (now - 50).to_string(),
        (now + 20).to_string(),
        (now + 50).to_string(),
        format!("{}.4", now + 1000),
        format!("\"{}\"", now + 1000),
        "null".into(),
        "-5".into(),
        "1e300".into(),
        "[1]".into(),
        "{\"a\":1}".into(),
    ];
    let times: &'static [String] = Box::leak(times.into_boxed_slice());
    let later = Box::leak(times[0].clone().into_boxed_str());
    let time = |usual: Option<&'static str>| {
        let other = proptest::option::of(proptest::sample::select(times).prop_map(|t| t.clone()));
        prop_oneof![3 => Just(usual.map(str::to_owned)), 1 => other]
    };
    let names: &'static [&'static str] = &[
        "\"https://issuer.example\"",
        "\"api\"",
        "\"old-api\"",
        "\"other\"",
        "[\"api\",\"x\"]",
        "[\"x\"]",
        "[]",
        "[1,\"api\"]",
        "[\"https://issuer.example\",[\"deep\"]]",
        "5",
        "null",
        "{\"api\":1}",
        "\"ap\\u0069\"",
    ];
    (
        claim(Some("\"alice\""), &["\"b\\u00e9\"", "7", "null"]),
        time(Some(later)),
        proptest::option::of(proptest::sample::select(times).prop_map(|t| t.clone())),
        named("\"https://issuer.example\"", names),
        named("\"api\"", names),
        claim(None, &["[\"admin\"]", "[]", "\"admin\"", "[1]"]),
        proptest::option::of(0usize..5),
        any::<bool>(),
    )
        .prop_map(|(sub, exp, nbf, iss, aud, roles, twice, extra)| {
            let fields = [
                ("sub", sub),
                ("exp", exp),
                ("nbf", nbf),
                ("iss", iss),
                ("aud", aud),
                ("roles", roles),
            ];
            let mut parts: Vec<String> = fields
                .iter()
                .filter_map(|(name, value)| value.as_ref().map(|v| format!("\"{name}\":{v}")))
                .collect();
            if let Some(i) = twice
                && let Some(again) = parts.get(i % parts.len().max(1)).cloned()
            {
                parts.push(again);
            }
            if extra {
                parts.push("\"extra\":{\"nested\":[1,2,{\"x\":null}]}".into());
            }
            format!("{{{}}}", parts.join(","))
        })
        .prop_flat_map(|object| {
            // Claims that are not an object: the same values as an array, or a scalar.
            let array = format!("[{}]", object.trim_matches(|c| c == '{' || c == '}'));
            prop_oneof![
                12 => Just(object),
                1 => Just(array),
                1 => Just("[\"alice\",[],null,9999999999]".to_owned()),
                1 => Just("\"alice\"".to_owned()),
            ]
        })
}

fn header_text() -> impl Strategy<Value = String> {
    let alg = prop_oneof![
        3 => Just("HS256"),
        1 => proptest::sample::select(&["HS384", "HS512", "RS256", "none", "hs256"][..]),
    ];
    let kid = claim(None, &["\"k1\"", "\"k2\"", "7"]);
    let crit = claim(None, &["null", "[\"exp\"]"]);
    (alg, kid, crit, any::<bool>()).prop_map(|(alg, kid, crit, typ)| {
        let mut parts = vec![format!("\"alg\":\"{alg}\"")];
        if let Some(kid) = kid {
            parts.push(format!("\"kid\":{kid}"));
        }
        if let Some(crit) = crit {
            parts.push(format!("\"crit\":{crit}"));
        }
        if typ {
            parts.push("\"typ\":\"JWT\"".into());
        }
        format!("{{{}}}", parts.join(","))
    })
    .prop_flat_map(|object| {
        // A header that is not an object: `["HS256"]` and the like.
        let array = format!("[\"{}\"]", if object.contains("HS384") { "HS384" } else { "HS256" });
        prop_oneof![12 => Just(object), 1 => Just(array), 1 => Just(" [\"HS256\", null]".to_owned())]
    })
}

/// A token: its header and claims signed with the secret (or another), then perhaps
/// spoiled in one of the ways a forger or a broken client spoils one.
fn token(header: &str, claims: &str, spoil: usize) -> String {
    use aws_lc_rs::hmac;
    let alg = serde_json::from_str::<serde_json::Value>(header)
        .ok()
        .and_then(|h| h["alg"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let digest = if alg == "HS384" {
        hmac::HMAC_SHA384
    } else if alg == "HS512" {
        hmac::HMAC_SHA512
    } else {
        hmac::HMAC_SHA256
    };
    let secret: &[u8] = if spoil == 1 {
        b"another secret, also thirty-two bytes long"
    } else {
        SECRET
    };
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let tag = hmac::sign(&hmac::Key::new(digest, secret), message.as_bytes());
    let mut tag = URL_SAFE_NO_PAD.encode(tag.as_ref());
    match spoil {
        2 => tag.replace_range(0..1, if tag.starts_with('A') { "B" } else { "A" }),
        3 => tag.truncate(tag.len() - 4),
        4 => tag.push_str("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        5 => tag = "!!".into(),
        6 => tag.clear(),
        7 => return format!("{message}.{tag}.{tag}"),
        8 => return message,
        9 => return format!("{}.x{}.{tag}", message.split('.').next().unwrap(), &message[message.find('.').unwrap() + 1..]),
        _ => {}
    }
    format!("{message}.{tag}")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// The one-key path answers every token as the general path on jsonwebtoken
    /// does: the same claims when it accepts, the same description when it refuses.
    #[test]
    fn the_one_key_path_agrees_with_jsonwebtoken(
        settings in 0usize..3,
        header in header_text(),
        claims in claims_text(),
        spoil in prop_oneof![3 => Just(0usize), 1 => 1usize..10],
    ) {
        let jwt = authenticator(settings);
        let token = token(&header, &claims, spoil);
        let one_key = crate::auth::one_key::OneKey::of(&jwt.keys[0], &jwt.algorithms)
            .expect("an HMAC key has a keyed state");
        let ours = one_key.verify::<crate::principal::Claims>(&token, &jwt.keys[0], &jwt.by_family[0].1);
        let theirs = jwt.verdict_by_header(&token).expect("one key always answers");
        match (&ours, &theirs) {
            (Ok(ours), Ok(theirs)) => prop_assert_eq!(ours, theirs),
            (Err(ours), Err(theirs)) => prop_assert_eq!(ours.to_string(), theirs.to_string(), "{} {}", header, claims),
            _ => prop_assert!(false, "one path accepted and the other refused: {:?} against {:?}, header {} claims {}", ours.as_ref().err().map(ToString::to_string), theirs.as_ref().err().map(ToString::to_string), header, claims),
        }
    }
}
