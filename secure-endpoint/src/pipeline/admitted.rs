//! A request the first steps admitted, and what the later steps share: the route's
//! entry (every setting a step reads), the route as audit events name it, the caller
//! (verified once, held once), and the keys of the route's limits of failures. Found once per request by
//! [`enforce`](super::enforce); the steps read it, and only the authentication and limit
//! steps write to it.

use std::sync::Arc;

use axum::extract::MatchedPath;
use axum::response::Response;
use http::request::Parts;

use crate::audit::{self, Route, Step};
use crate::auth::Caller;
use crate::context::{Context, RequestContext, RouteContext};
use crate::handler::SecureHandler;
use crate::input::DEFAULT_BODY_LIMIT;
use crate::principal::AnyPrincipal;
use crate::rate::KeptKey;
use crate::rejection::{self, Finished};

/// A request the first steps admitted, with what the later steps need.
pub struct Admitted {
    /// The router's context, absent when the handler is served outside a `SecureRouter`.
    context: Option<Arc<Context>>,
    /// This route's entry in it, absent for a handler outside the route table.
    route: Option<usize>,
    audit_route: Route,
    caller: Option<Caller>,
    /// The keys of the route's limits of failures, to count the handler's 401 or 403.
    failure_keys: Vec<(usize, KeptKey)>,
    /// The name logging in on a route whose limit spares its devices.
    device_login: Option<DeviceLogin>,
}

/// A login on a route whose limit of failures spares the name's own devices.
pub(crate) struct DeviceLogin {
    /// The name, as the limit counts it.
    pub(crate) name: String,
    /// Whether the request presented a device credential for it.
    pub(crate) known: bool,
}

impl Admitted {
    /// The context and route entry of handler `H` serving `parts`.
    pub(super) fn find<H: SecureHandler>(parts: &Parts) -> Admitted {
        let context = parts
            .extensions
            .get::<RequestContext>()
            .map(|request| Arc::clone(&request.context));
        let route = context.as_deref().and_then(|context| {
            let path = parts
                .extensions
                .get::<MatchedPath>()
                .map(MatchedPath::as_str);
            context.route_index(std::any::TypeId::of::<H>(), path)
        });
        let mut audit_route = Route::of(H::NAME, parts);
        if let (Some(context), Some(index)) = (context.as_deref(), route) {
            audit_route.count_in(context.route(index).metrics());
        }
        Admitted {
            context,
            route,
            audit_route,
            caller: None,
            failure_keys: Vec::new(),
            device_login: None,
        }
    }

    /// The route, as audit events name it.
    pub(crate) fn audit_route(&self) -> &Route {
        &self.audit_route
    }

    /// The route's entry: every setting its steps read.
    pub(crate) fn route(&self) -> Option<&RouteContext> {
        Some(self.context.as_deref()?.route(self.route?))
    }

    /// Whether the handler is served by a `SecureRouter` at all.
    pub(super) fn in_router(&self) -> bool {
        self.context.is_some()
    }

    /// The verified caller, once the authentication step admitted one.
    pub(crate) fn caller(&self) -> Option<&dyn AnyPrincipal> {
        self.caller.as_deref()
    }

    /// The same caller, shared past the request.
    pub(crate) fn shared_caller(&self) -> Option<Caller> {
        self.caller.clone()
    }

    /// The authentication step admitted `caller`.
    pub(super) fn admit_caller(&mut self, caller: Caller) {
        self.caller = Some(caller);
    }

    /// The largest body `validate` reads: the route's own, else (a handler outside the
    /// route table) the router's, else the default.
    pub(crate) fn body_limit(&self) -> usize {
        match (self.route(), self.context.as_deref()) {
            (Some(route), _) => route.body_limit(),
            (None, Some(context)) => context.default_body_limit(),
            (None, None) => DEFAULT_BODY_LIMIT,
        }
    }

    pub(super) fn keep_failure_keys(&mut self, keys: Vec<(usize, KeptKey)>) {
        self.failure_keys = keys;
    }

    pub(super) fn failure_keys(&self) -> &[(usize, KeptKey)] {
        &self.failure_keys
    }

    pub(super) fn keep_device_login(&mut self, login: Option<DeviceLogin>) {
        self.device_login = login;
    }

    pub(super) fn device_login(&self) -> Option<&DeviceLogin> {
        self.device_login.as_ref()
    }
}

/// An extractor's rejection in the framework's shape, for every step that runs one. 5xx
/// are left for the outer layer, and a response already in the framework's shape (the
/// principal extractors' 401) is kept.
pub(super) fn refused_by_extractor<T>(route: &Route, response: Response) -> Response {
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

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use crate::pipeline::harness::{bearer, empty, request, send, settings, token};
    use crate::{Claims, SecureRouter, secure};

    #[secure(auth)]
    async fn me(claims: Claims) -> String {
        claims.sub
    }

    #[tokio::test]
    async fn a_handler_outside_the_route_table_refuses_rather_than_admits() {
        // Routed through the explicit opt-out with axum's own routing: the router has no
        // entry for it, so it has nothing to enforce its policy with.
        let router = SecureRouter::new()
            .route_unchecked("/me", axum::routing::get(me), "smuggled")
            .with_security(settings().build().unwrap());
        let answer = send(
            router,
            empty(bearer(request("GET", "/me"), &token("7", &[]))),
        )
        .await;
        assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            answer
                .body
                .starts_with(r#"{"error":"An unexpected error occurred","request_id":""#),
            "{}",
            answer.body
        );
    }
}
