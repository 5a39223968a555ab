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
