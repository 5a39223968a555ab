//! Step 6: the handler's own extractors, in order. A rejection keeps its status and gets
//! the framework's JSON body: axum's plain-text rejections can quote the input, and are
//! not sent.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use http::request::Parts;

use crate::audit::{self, Route, Step};
use crate::handler::SecureHandler;
use crate::rejection::{self, Finished};

/// Runs one parts extractor.
pub async fn from_parts<T, S, H>(parts: &mut Parts, state: &S) -> Result<T, Response>
where
    T: FromRequestParts<S>,
    S: Send + Sync,
    H: SecureHandler,
{
    match T::from_request_parts(parts, state).await {
        Ok(value) => Ok(value),
        Err(refusal) => Err(reshaped::<T>(
            &Route::of::<H>(parts),
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
    let route = Route::of_request::<H>(&request);
    T::from_request(request, state)
        .await
        .map_err(|refusal| reshaped::<T>(&route, refusal.into_response()))
}

/// A rejection in the framework's shape. 5xx are left for the outer layer, and a
/// response already in the framework's shape (the principal extractors' 401) is kept.
fn reshaped<T>(route: &Route, response: Response) -> Response {
    if response.extensions().get::<Finished>().is_some() || response.status().is_server_error() {
        return response;
    }
    audit::deny_with(
        route,
        Step::Extract,
        "request refused by an extractor",
        &format_args!(
            "extractor {} answered {}",
            std::any::type_name::<T>(),
            response.status().as_u16()
        ),
    );
    rejection::reshape(response)
}
