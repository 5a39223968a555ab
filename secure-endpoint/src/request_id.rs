//! The id of one request: in the 500 body, the `x-request-id` response header and every
//! log line about the request. Handing it to a handler is `extractors.rs`'s business.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// The id given to one request: in the 500 body, the `x-request-id` response header and
/// every log line about the request.
///
/// Handlers can take it as an argument to log under it; outside a `SecureRouter` it is
/// refused with a 500, the detail in the log.
///
/// ```
/// use secure_endpoint::{RequestId, public};
///
/// #[public]
/// async fn ping(id: RequestId) -> String {
///     tracing::info!(request_id = %id, "ping");
///     "pong".to_owned()
/// }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(u64);

impl RequestId {
    /// The next id: a keyed pseudo-random function (SipHash, the key drawn from the
    /// operating system once per process) of a counter. Distinct requests get distinct
    /// inputs, so ids repeat only by a 64-bit collision; without the key, no id tells
    /// anything about another or about how many requests came between.
    pub(crate) fn next() -> Self {
        use std::hash::BuildHasher;
        static KEY: std::sync::OnceLock<std::collections::hash_map::RandomState> =
            std::sync::OnceLock::new();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let key = KEY.get_or_init(std::collections::hash_map::RandomState::new);
        RequestId(key.hash_one(COUNTER.fetch_add(1, Ordering::Relaxed)))
    }
}

impl RequestId {
    /// Sixteen lowercase hex digits, without the formatting machinery.
    pub(crate) fn hex(self) -> [u8; 16] {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 16];
        for (i, digit) in out.iter_mut().enumerate() {
            *digit = DIGITS[((self.0 >> (60 - 4 * i)) & 0xf) as usize];
        }
        out
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.hex();
        f.write_str(std::str::from_utf8(&hex).expect("hex digits are ASCII"))
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::RequestId;

    #[test]
    fn request_ids_print_as_sixteen_hex_digits() {
        assert_eq!(RequestId(0).to_string(), "0000000000000000");
        assert_eq!(
            RequestId(0x0123_4567_89ab_cdef).to_string(),
            "0123456789abcdef"
        );
        assert_eq!(
            RequestId(u64::MAX).to_string(),
            format!("{:016x}", u64::MAX)
        );
    }
}
