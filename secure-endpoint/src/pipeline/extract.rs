//! Step 6: the handler's own extractors, in order. A rejection keeps its status and gets
//! the framework's JSON body: axum's plain-text rejections can quote the input, and are
//! not sent.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use http::request::Parts;

use super::admitted::refused_by_extractor;
use crate::audit::Route;
use crate::handler::SecureHandler;

/// Runs one parts extractor.
pub async fn from_parts<T, S, H>(parts: &mut Parts, state: &S) -> Result<T, Response>
where
    T: FromRequestParts<S>,
    S: Send + Sync,
    H: SecureHandler,
{
    match T::from_request_parts(parts, state).await {
        Ok(value) => Ok(value),
        Err(refusal) => Err(refused_by_extractor::<T>(
            &Route::of(H::NAME, parts),
            refusal.into_response(),
        )),
    }
}

/// Runs the last extractor, which may consume the body.
pub async fn from_request<T, S, M, H>(request: Request, state: &S) -> Result<T, Response>
where
    T: FromRequest<S, M>,
    S: Send + Sync,
    H: SecureHandler,
{
    let route = Route::of_request(H::NAME, &request);
    T::from_request(request, state)
        .await
        .map_err(|refusal| refused_by_extractor::<T>(&route, refusal.into_response()))
}

#[cfg(test)]
mod tests {
    use axum::extract::Path;
    use http::StatusCode;

    use crate::pipeline::harness::{empty, request, send};
    use crate::routing::get;
    use crate::{SecureRouter, public};

    #[public]
    async fn page(Path(number): Path<u32>) -> String {
        number.to_string()
    }

    #[tokio::test]
    async fn an_extractor_s_rejection_keeps_its_status_in_the_json_shape() {
        let router = SecureRouter::new().route("/pages/{number}", get(page));
        let answer = send(router, empty(request("GET", "/pages/canary"))).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert_eq!(answer.body, r#"{"error":"Bad request"}"#);
        assert_eq!(answer.headers["content-type"], "application/json");
    }
}
