//! Device credentials (OWASP's device cookies): a signed note that a device once logged
//! in as an account name. A limit of failed logins declared with `except = "device"`
//! counts an attempt that presents one for the name it logs in as on that device's own
//! budget, so failures from elsewhere lock the name for everyone but its own devices.
//!
//! The note is `v1.DEVICE.EXPIRES.TAG`: a random device id, its expiry in Unix seconds,
//! and an HMAC-SHA256 over both and a fingerprint of the name, keyed with the settings'
//! device secret. It names no account in clear. Issuing it after a successful login and
//! reading it before the limits are asked is the request's business (`pipeline/`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::clock::unix_now_ms;
use crate::setup_error::SetupError;

/// The cookie a browser presents its device credential in.
pub(crate) const DEVICE_COOKIE: &str = "__Host-device";

/// The header a client without cookies presents it in, and is handed it in.
pub(crate) const DEVICE_HEADER: &str = "device-credential";

/// How long a device credential is valid.
pub(crate) const DEVICE_LIFETIME_SECS: u64 = 90 * 24 * 3600;

/// The shortest device secret accepted.
const MIN_SECRET_BYTES: usize = 32;

/// The key device credentials are signed with.
pub(crate) struct DeviceKey {
    key: [u8; 64],
}

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("DeviceKey").finish_non_exhaustive()
    }
}

impl DeviceKey {
    /// The key of `secret`, at least 32 bytes.
    pub(crate) fn new(secret: &[u8]) -> Result<DeviceKey, SetupError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(SetupError::WeakSecret {
                setting: "device_credentials",
                len: secret.len(),
                min: MIN_SECRET_BYTES,
            });
        }
        // HMAC's key block: a longer key is hashed first (RFC 2104).
        let mut key = [0u8; 64];
        if secret.len() > key.len() {
            key[..32].copy_from_slice(&Sha256::digest(secret));
        } else {
            key[..secret.len()].copy_from_slice(secret);
        }
        Ok(DeviceKey { key })
    }

    /// A credential for a device that just logged in as `name` (as the limit counts it).
    pub(crate) fn issue(&self, name: &str) -> String {
        let mut device = [0u8; 16];
        if getrandom::fill(&mut device).is_err() {
            // No randomness: a credential anyone could predict is worse than none.
            return String::new();
        }
        let device: String = device.iter().map(|b| format!("{b:02x}")).collect();
        let expires = unix_now_ms() / 1000 + DEVICE_LIFETIME_SECS;
        let tag = URL_SAFE_NO_PAD.encode(self.tag(&device, expires, name));
        format!("v1.{device}.{expires}.{tag}")
    }

    /// The device `credential` names, when it is this key's, unexpired, and issued for
    /// `name`.
    pub(crate) fn device_of<'c>(&self, credential: &'c str, name: &str) -> Option<&'c str> {
        let mut parts = credential.split('.');
        let (Some("v1"), Some(device), Some(expires), Some(tag), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let valid_device = device.len() == 32 && device.bytes().all(|b| b.is_ascii_hexdigit());
        let expires: u64 = expires.parse().ok()?;
        let mut given = [0u8; 32];
        let given = match URL_SAFE_NO_PAD.decode_slice(tag, &mut given) {
            Ok(32) => given,
            _ => return None,
        };
        let expected = self.tag(device, expires, name);
        let matches: bool = expected.ct_eq(&given).into();
        (matches && valid_device && expires > unix_now_ms() / 1000).then_some(device)
    }

    /// HMAC-SHA256 over the device, its expiry and the name's fingerprint.
    fn tag(&self, device: &str, expires: u64, name: &str) -> [u8; 32] {
        let name = Sha256::digest(name.as_bytes());
        let mut inner = Sha256::new();
        inner.update(self.key.map(|b| b ^ 0x36));
        inner.update(b"v1.");
        inner.update(device.as_bytes());
        inner.update(b".");
        inner.update(expires.to_string().as_bytes());
        inner.update(b".");
        inner.update(name);
        let mut outer = Sha256::new();
        outer.update(self.key.map(|b| b ^ 0x5c));
        outer.update(inner.finalize());
        outer.finalize().into()
    }
}

/// The device credential a request presents: the `Device-Credential` header, else the
/// device cookie.
pub(crate) fn presented(headers: &http::HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get(DEVICE_HEADER) {
        return value.to_str().ok();
    }
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .flat_map(|header| header.as_bytes().split(|b| *b == b';'))
        .find_map(|pair| {
            let pair = pair.trim_ascii();
            let value = pair
                .strip_prefix(DEVICE_COOKIE.as_bytes())?
                .strip_prefix(b"=")?;
            std::str::from_utf8(value.trim_ascii()).ok()
        })
}

/// The `Set-Cookie` value that hands a browser its device credential.
pub(crate) fn set_cookie(credential: &str) -> String {
    format!(
        "{DEVICE_COOKIE}={credential}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={DEVICE_LIFETIME_SECS}"
    )
}

#[cfg(test)]
mod tests {
    use super::DeviceKey;

    #[test]
    fn a_credential_is_good_for_its_name_with_its_key_only() {
        let key = DeviceKey::new(&[7u8; 32]).unwrap();
        let credential = key.issue("alice");
        let device = key.device_of(&credential, "alice").expect("its own name");
        assert_eq!(device.len(), 32);
        assert!(key.device_of(&credential, "bob").is_none(), "another name");
        let other = DeviceKey::new(&[8u8; 32]).unwrap();
        assert!(
            other.device_of(&credential, "alice").is_none(),
            "another key"
        );
        let mut forged = credential.clone();
        forged.replace_range(3..4, if &credential[3..4] == "a" { "b" } else { "a" });
        assert!(
            key.device_of(&forged, "alice").is_none(),
            "another device id"
        );
        for junk in [
            "",
            "v1",
            "v1.x.1.y",
            "v2.00.1.AA",
            &format!("{credential}.x"),
        ] {
            assert!(key.device_of(junk, "alice").is_none(), "{junk:?}");
        }
        assert_ne!(key.issue("alice"), credential, "each device its own");
        assert!(DeviceKey::new(&[1u8; 31]).is_err());
    }
}
