//! `timeout = "5s"`: the handler's future is dropped when the time elapses, and the
//! request is answered 503 with the usual JSON body. Work the handler handed elsewhere
//! (a `spawn_blocking` task) is not stopped by it.

use std::future::Future;

use axum::response::{IntoResponse, Response};

use super::Admitted;
use crate::audit::{self, Step};
use crate::handler::SecureHandler;
use crate::rejection::Rejection;

/// Runs the handler's future within `H`'s timeout.
pub async fn within_timeout<H, F>(admitted: &Admitted, handler: F) -> Response
where
    H: SecureHandler,
    F: Future<Output = Response>,
{
    let Some(limit) = H::POLICY.timeout() else {
        return handler.await;
    };
    match tokio::time::timeout(limit, handler).await {
        Ok(response) => response,
        Err(_elapsed) => {
            audit::deny(
                admitted.audit_route(),
                Step::Timeout,
                "the handler ran past its timeout and was dropped",
            );
            Rejection::Unavailable.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use crate::pipeline::harness::{empty, request, send};
    use crate::routing::get;
    use crate::{SecureRouter, public};

    #[public(timeout = "50ms")]
    async fn slow() -> &'static str {
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        "late"
    }

    #[tokio::test]
    async fn a_handler_past_its_timeout_is_dropped_and_answered_503() {
        let router = SecureRouter::new().route("/slow", get(slow));
        let answer = send(router, empty(request("GET", "/slow"))).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer.body, r#"{"error":"Service unavailable"}"#);
    }
}
