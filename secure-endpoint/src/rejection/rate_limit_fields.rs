//! The 429's rate-limit fields: `Retry-After`, and `RateLimit-Policy` and `RateLimit` of
//! draft-ietf-httpapi-ratelimit-headers-09, added to the framework's 429 body. Which
//! limit refused is the limit step's business; this module only writes the fields.

use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;
use bytes::Bytes;
use http::header::RETRY_AFTER;
use http::{HeaderName, HeaderValue};

use crate::rate::Limit;

/// 429 with `Retry-After` (whole seconds, rounded up, of the limit that refused), and
/// the fields of draft-ietf-httpapi-ratelimit-headers-09: `RateLimit-Policy` lists every
/// limit of the route as a named quota policy (`"10/10s-ip";q=10;w=10`), and
/// `RateLimit` gives the refusing one's service limit (`"10/10s-ip";r=0;t=3`).
///
/// What does not change between refusals of one route is written once and kept (see
/// [`Written`]); per refusal only the seconds are written.
pub(super) fn too_many_requests(
    mut response: Response,
    limits: &[Limit],
    refused: &Limit,
    retry_after: Duration,
) -> Response {
    let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let listed = if limits.is_empty() {
        std::slice::from_ref(refused)
    } else {
        limits
    };
    let headers = response.headers_mut();
    headers.reserve(3);
    // The seconds, written once: `Retry-After`'s value, and the end of `RateLimit`'s.
    let retry_after = HeaderValue::from(seconds);
    let written = Written::of(listed, refused);
    if let Some(policy) = written.policy {
        headers.insert(RATELIMIT_POLICY, policy);
    }
    if let Some(prefix) = written.service_prefix {
        let digits = retry_after.as_bytes();
        let mut value = Vec::with_capacity(prefix.len() + digits.len());
        value.extend_from_slice(&prefix);
        value.extend_from_slice(digits);
        if let Ok(value) = HeaderValue::from_maybe_shared(Bytes::from(value)) {
            headers.insert(RATELIMIT, value);
        }
    }
    headers.insert(RETRY_AFTER, retry_after);
    response
}

const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// The parts of a 429's rate-limit fields that depend only on the route's limits and the
/// one that refused: `RateLimit-Policy`'s whole value, and `RateLimit`'s up to the
/// seconds. Kept per (limits, refusing limit), up to [`Written::KEPT`] of them; past
/// that, written for each refusal.
#[derive(Clone)]
struct Written {
    policy: Option<HeaderValue>,
    service_prefix: Option<Arc<[u8]>>,
}

impl Written {
    const KEPT: usize = 256;

    fn of(listed: &[Limit], refused: &Limit) -> Written {
        type Kept = Vec<(Vec<Limit>, Limit, Written)>;
        static KEPT: std::sync::RwLock<Kept> = std::sync::RwLock::new(Vec::new());
        if let Ok(kept) = KEPT.read()
            && let Some((_, _, written)) = kept
                .iter()
                .find(|(limits, limit, _)| limits.as_slice() == listed && limit == refused)
        {
            return written.clone();
        }
        let written = Written::write(listed, refused);
        if let Ok(mut kept) = KEPT.write()
            && kept.len() < Self::KEPT
            && !kept
                .iter()
                .any(|(limits, limit, _)| limits.as_slice() == listed && limit == refused)
        {
            kept.push((listed.to_vec(), *refused, written.clone()));
        }
        written
    }

    fn write(listed: &[Limit], refused: &Limit) -> Written {
        use std::fmt::Write;
        let mut policy = String::new();
        for limit in listed {
            if !policy.is_empty() {
                policy.push_str(", ");
            }
            let _ = write!(
                policy,
                "\"{}\";q={};w={}",
                limit.name(),
                limit.rate().count(),
                limit.rate().period().as_secs().max(1)
            );
        }
        let prefix = format!("\"{}\";r=0;t=", refused.name());
        Written {
            policy: HeaderValue::try_from(policy).ok(),
            // A name a header cannot carry leaves the field out, as the policy's does.
            service_prefix: HeaderValue::from_str(&prefix)
                .ok()
                .map(|_| Arc::from(prefix.into_bytes())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_rate_limit_fields_are_the_ones_written_afresh() {
        use crate::rate::{Counts, RateKey};
        let limits = [
            Limit::new(10, 10_000, RateKey::Ip, Counts::Any, None),
            Limit::new(200, 86_400_000, RateKey::Ip, Counts::Any, None),
        ];
        for refused in &limits {
            for _ in 0..2 {
                let response = too_many_requests(
                    Response::default(),
                    &limits,
                    refused,
                    Duration::from_millis(2_500),
                );
                let headers = response.headers();
                assert_eq!(headers[RETRY_AFTER], "3");
                assert_eq!(
                    headers[RATELIMIT_POLICY],
                    "\"10/10s-ip\";q=10;w=10, \"200/d-ip\";q=200;w=86400"
                );
                assert_eq!(
                    headers[RATELIMIT],
                    format!("\"{}\";r=0;t=3", refused.name()).as_str()
                );
            }
        }
    }
}
