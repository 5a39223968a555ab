//! `concurrency = N`: at most N requests of the route run their handler at once. One
//! more waits for a permit, briefly (up to [`QUEUE_WAIT`]), and is then answered 503:
//! a burst of expensive requests (password hashing, reports) queues a little and is
//! refused rather than taking all the memory or every core.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use tokio::sync::OwnedSemaphorePermit;

use super::Admitted;
use crate::audit::{self, Step};
use crate::handler::SecureHandler;
use crate::rejection::Rejection;

/// How long a request waits for one of the route's permits before it is refused.
pub const QUEUE_WAIT: Duration = Duration::from_secs(1);

/// One of the route's permits, held while the handler runs; `None` on a route without
/// `concurrency` (or served outside a `SecureRouter`, which has no permits to give).
pub async fn admit<H: SecureHandler>(
    admitted: &Admitted,
) -> Result<Option<OwnedSemaphorePermit>, Response> {
    let Some(permits) = admitted.route().and_then(|r| r.permits()) else {
        return Ok(None);
    };
    let permit = match permits.clone().try_acquire_owned() {
        Ok(permit) => Ok(permit),
        Err(_) => tokio::time::timeout(QUEUE_WAIT, permits.clone().acquire_owned())
            .await
            .map_err(|_elapsed| ())
            .and_then(|acquired| acquired.map_err(|_closed| ())),
    };
    match permit {
        Ok(permit) => Ok(Some(permit)),
        Err(()) => {
            audit::deny(
                admitted.audit_route(),
                Step::Concurrency,
                "every permit of the route is taken and none came free in time",
            );
            Err(Rejection::Unavailable.into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use http::StatusCode;
    use tokio::sync::Notify;

    use crate::pipeline::harness::{answer, built, empty, request};
    use crate::routing::get;
    use crate::{SecureRouter, public};

    static RELEASE: std::sync::LazyLock<Arc<Notify>> = std::sync::LazyLock::new(Default::default);

    #[public(concurrency = 1)]
    async fn report() -> &'static str {
        RELEASE.notified().await;
        "report"
    }

    #[tokio::test]
    async fn one_more_than_the_permits_waits_then_is_503() {
        let app = built(SecureRouter::new().route("/report", get(report)));
        let first = tokio::spawn(answer(app.clone(), empty(request("GET", "/report"))));
        tokio::task::yield_now().await;
        let second = answer(app.clone(), empty(request("GET", "/report"))).await;
        assert_eq!(second.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(second.body, r#"{"error":"Service unavailable"}"#);
        RELEASE.notify_one();
        assert_eq!(first.await.unwrap().status, StatusCode::OK);
    }
}
