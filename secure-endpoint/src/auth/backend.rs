//! Which library computes JWT signatures: aws-lc (feature `aws_lc_rs`, the default:
//! faster HMAC, RSA and ECDSA, and no `rsa` crate in the tree) or the RustCrypto crates
//! (feature `rust_crypto`, for targets where aws-lc does not build). jsonwebtoken picks
//! its backend from its features; with both enabled it would pick none and panic at the
//! first signature, so aws-lc is installed here before any key is used.

#[cfg(not(any(feature = "aws_lc_rs", feature = "rust_crypto")))]
compile_error!(
    "secure-endpoint verifies JWTs with a crypto backend: enable its feature `aws_lc_rs` (the default) or `rust_crypto`"
);

/// Makes sure jsonwebtoken has exactly one backend; called wherever a key is made.
pub(crate) fn select() {
    #[cfg(all(feature = "aws_lc_rs", feature = "rust_crypto"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // Already installed (by the application itself): its choice stands.
            let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        });
    }
}
