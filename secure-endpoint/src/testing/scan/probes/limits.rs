//! Step 2 attacked: a burst past a route's limit is 429 with `Retry-After`.

use axum::body::Body;
use http::{Request, StatusCode};

use crate::policy::Policy;

use super::super::scanner::{Scanner, next_address};

impl Scanner {
    pub(in crate::testing::scan) async fn burst(
        &mut self,
        label: &str,
        policy: &Policy,
        count: u32,
        request: &dyn Fn(Option<&str>) -> Request<Body>,
    ) {
        let sub = self
            .settings
            .principal
            .clone()
            .unwrap_or_else(|| format!("scan-burst-{}", next_address().ip()));
        let token = if policy.requires_auth() {
            match self.privileged_token(&sub, policy) {
                Some(token) => Some(token),
                None => return,
            }
        } else {
            None
        };
        let from = next_address();
        // Refills may land during the burst on fast limits: send up to twice the count.
        let attempts = count.min(10_000) * 2 + 1;
        let mut limited = None;
        for _ in 0..attempts {
            let Some(seen) = self
                .send(
                    label,
                    "burst past the limit",
                    request(token.as_deref()),
                    from,
                )
                .await
            else {
                return;
            };
            if seen.status == StatusCode::TOO_MANY_REQUESTS {
                limited = Some(seen);
                break;
            }
        }
        match limited {
            None => self.find(
                label,
                "burst past the limit",
                format!("{attempts} requests, none refused with 429"),
            ),
            Some(seen) if !seen.headers.contains_key("retry-after") => {
                self.find(label, "burst past the limit", "429 without Retry-After")
            }
            Some(_) => {}
        }
    }
}
