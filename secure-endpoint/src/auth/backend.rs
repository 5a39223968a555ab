//! Which library computes JWT signatures: aws-lc (feature `aws_lc_rs`, the default:
//! faster HMAC, RSA and ECDSA, and no `rsa` crate in the tree) or the RustCrypto crates
//! (feature `rust_crypto`, for targets where aws-lc does not build).
//!
//! With aws-lc, jsonwebtoken is given a provider of ours, installed once before any key
//! is used: aws-lc's own, except that an HMAC verifier is not built from the secret for
//! every token. jsonwebtoken's verifier runs HMAC's key schedule (the padded key's two
//! SHA-256 blocks) on each `decode`; ours keeps the keyed state aws-lc's
//! `hmac::Key::new` builds, once per secret, and verifies each token with
//! `hmac::verify` on it. Everything else (RSA, ECDSA, EdDSA, signing, JWK parsing) is
//! aws-lc's provider unchanged. An application that installed a provider of its own
//! keeps it.
//!
//! jsonwebtoken picks its backend from its features; with both enabled it would pick
//! none and panic at the first signature, so the aws-lc one is installed here then too.

#[cfg(not(any(feature = "aws_lc_rs", feature = "rust_crypto")))]
compile_error!(
    "secure-endpoint verifies JWTs with a crypto backend: enable its feature `aws_lc_rs` (the default) or `rust_crypto`"
);

/// Installs the provider; called wherever a key is made.
pub(crate) fn select() {
    #[cfg(feature = "aws_lc_rs")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // Already installed (by the application itself): its choice stands.
            let _ = keyed::provider().install_default();
        });
    }
}

/// The keyed HMAC state of `secret` for `algorithm`, built once and kept; `None` for an
/// algorithm that is not HMAC.
#[cfg(feature = "aws_lc_rs")]
pub(crate) fn hmac_state(
    algorithm: jsonwebtoken::Algorithm,
    secret: &[u8],
) -> Option<std::sync::Arc<aws_lc_rs::hmac::Key>> {
    keyed::digest(algorithm).map(|digest| keyed::keyed(algorithm, secret, digest))
}

#[cfg(feature = "aws_lc_rs")]
mod keyed {
    use std::sync::{Arc, LazyLock, RwLock};

    use aws_lc_rs::hmac;
    use jsonwebtoken::crypto::{CryptoProvider, JwtVerifier, aws_lc};
    use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};

    /// The most secrets whose keyed state is kept; beyond, a verifier is built per token
    /// as jsonwebtoken does.
    const MAX_KEYS: usize = 32;

    struct Entry {
        algorithm: Algorithm,
        secret: Vec<u8>,
        key: Arc<hmac::Key>,
    }

    static KEYS: RwLock<Vec<Entry>> = RwLock::new(Vec::new());

    static PROVIDER: LazyLock<CryptoProvider> = LazyLock::new(|| CryptoProvider {
        verifier_factory: verifier,
        ..aws_lc::DEFAULT_PROVIDER.clone()
    });

    pub(super) fn provider() -> &'static CryptoProvider {
        &PROVIDER
    }

    pub(super) fn digest(algorithm: Algorithm) -> Option<hmac::Algorithm> {
        match algorithm {
            Algorithm::HS256 => Some(hmac::HMAC_SHA256),
            Algorithm::HS384 => Some(hmac::HMAC_SHA384),
            Algorithm::HS512 => Some(hmac::HMAC_SHA512),
            _ => None,
        }
    }

    /// The keyed state of `secret` for `algorithm`: the one kept, or built and kept.
    pub(super) fn keyed(
        algorithm: Algorithm,
        secret: &[u8],
        digest: hmac::Algorithm,
    ) -> Arc<hmac::Key> {
        let kept = KEYS.read().ok().and_then(|keys| {
            keys.iter()
                .find(|e| e.algorithm == algorithm && e.secret == secret)
                .map(|e| Arc::clone(&e.key))
        });
        if let Some(key) = kept {
            return key;
        }
        let key = Arc::new(hmac::Key::new(digest, secret));
        if let Ok(mut keys) = KEYS.write()
            && keys.len() < MAX_KEYS
            && !keys
                .iter()
                .any(|e| e.algorithm == algorithm && e.secret == secret)
        {
            keys.push(Entry {
                algorithm,
                secret: secret.to_vec(),
                key: Arc::clone(&key),
            });
        }
        key
    }

    fn verifier(
        algorithm: &Algorithm,
        key: &DecodingKey,
    ) -> jsonwebtoken::errors::Result<Box<dyn JwtVerifier>> {
        if let Some(digest) = digest(*algorithm)
            && key.family() == AlgorithmFamily::Hmac
            && let Ok(secret) = key.try_get_as_bytes()
        {
            return Ok(Box::new(Keyed {
                algorithm: *algorithm,
                key: keyed(*algorithm, secret, digest),
            }));
        }
        (aws_lc::DEFAULT_PROVIDER.verifier_factory)(algorithm, key)
    }

    /// An HMAC verifier on a kept keyed state.
    struct Keyed {
        algorithm: Algorithm,
        key: Arc<hmac::Key>,
    }

    impl signature::Verifier<Vec<u8>> for Keyed {
        fn verify(&self, message: &[u8], tag: &Vec<u8>) -> Result<(), signature::Error> {
            hmac::verify(&self.key, message, tag).map_err(signature::Error::from_source)
        }
    }

    impl JwtVerifier for Keyed {
        fn algorithm(&self) -> Algorithm {
            self.algorithm
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_kept_state_verifies_as_aws_lc_does_and_refuses_what_it_refuses() {
            let secret = b"a secret of at least thirty-two bytes";
            let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), b"message");
            let key = DecodingKey::from_secret(secret);
            for _ in 0..2 {
                let ours = verifier(&Algorithm::HS256, &key).unwrap();
                assert!(ours.verify(b"message", &tag.as_ref().to_vec()).is_ok());
                assert!(ours.verify(b"massage", &tag.as_ref().to_vec()).is_err());
                let mut forged = tag.as_ref().to_vec();
                forged[0] ^= 1;
                assert!(ours.verify(b"message", &forged).is_err());
            }
            // Another secret is never answered with the kept state of the first.
            let other = DecodingKey::from_secret(b"another secret, thirty-two bytes long");
            let theirs = verifier(&Algorithm::HS256, &other).unwrap();
            assert!(theirs.verify(b"message", &tag.as_ref().to_vec()).is_err());
            // Another algorithm on the same secret is a state of its own.
            let wide = verifier(&Algorithm::HS512, &key).unwrap();
            assert!(wide.verify(b"message", &tag.as_ref().to_vec()).is_err());
        }
    }
}
