//! `SecureRouter`: an axum router that only takes annotated handlers and knows the
//! policy of every route.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::handler::Handler;
use axum::response::IntoResponse;
use axum::routing::Route;
use tower_layer::Layer;
use tower_service::Service;

use crate::context::Context;
use crate::description::SecurityDescription;
use crate::handler::SecureHandler;
use crate::inventory::{Inventory, RouteEntry};
use crate::routing::MethodRouter;
use crate::sanitize::SanitizeLayer;
use crate::security::Security;
use crate::setup_error::SetupError;

/// A router whose every route has a declared security policy.
///
/// It mirrors the parts of [`axum::Router`] that applications use. Every response it
/// sends, errors included, carries the security headers (`X-Content-Type-Options`,
/// `Cache-Control: no-store` unless the handler set its own, `Content-Security-Policy`,
/// `X-Frame-Options`, `Referrer-Policy`, `Cross-Origin-Resource-Policy`, and
/// `Strict-Transport-Security` when configured) and an `x-request-id`; every error body
/// is JSON (`{"error": "..."}`), including the 404 and 405 of unknown routes and methods;
/// any 5xx, a handler's `Err`, or a panic becomes
/// `500 {"error":"An unexpected error occurred","request_id":"…"}` with the detail logged
/// under that id.
///
/// ```no_run
/// use secure_endpoint::routing::get;
/// use secure_endpoint::{Claims, JwtAuthenticator, SecureRouter, Security, public, secure};
///
/// #[public]
/// async fn health() -> &'static str { "ok" }
///
/// #[secure(auth, role = "admin")]
/// async fn stats(claims: Claims) -> String { format!("hello {}", claims.sub) }
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let jwt = JwtAuthenticator::hmac(jsonwebtoken::Algorithm::HS256, [42u8; 32])?;
/// let app = SecureRouter::new()
///     .route("/health", get(health))
///     .route("/admin/stats", get(stats))
///     .with_security(Security::builder().authenticator(jwt).build()?);
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// secure_endpoint::serve(listener, app)?.await?;
/// # Ok(())
/// # }
/// ```
#[must_use]
pub struct SecureRouter<S = ()> {
    inner: Router<S>,
    routes: Vec<RouteEntry>,
    security: Option<Arc<Security>>,
    mock_connect_info: bool,
    /// Two routers joined with security settings of their own: the settings of one would
    /// silently not apply to the other's routes, so building refuses.
    conflict: Option<&'static str>,
}

impl<S> Default for SecureRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    fn default() -> Self {
        Self::new()
    }
}

/// Accepted by [`SecureRouter::route`]: only this crate's
/// [`MethodRouter`](crate::routing::MethodRouter).
#[diagnostic::on_unimplemented(
    message = "`SecureRouter::route` takes a `secure_endpoint::routing::MethodRouter`, not `{Self}`",
    label = "built with axum's routing functions, which do not check that handlers declare a policy",
    note = "use `secure_endpoint::routing::{{get, post, put, patch, delete, …}}` with handlers annotated `#[secure(...)]` or `#[public]`",
    note = "to serve a route without a policy on purpose, use `SecureRouter::route_unchecked`"
)]
pub trait IntoSecureRoute<S>: sealed::Sealed {
    #[doc(hidden)]
    fn into_method_router(self) -> MethodRouter<S>;
}

impl<S, R> IntoSecureRoute<S> for MethodRouter<R>
where
    S: SameState<R>,
{
    fn into_method_router(self) -> MethodRouter<S> {
        S::same(self)
    }
}

/// The router's state is the method router's. Its own trait, rather than
/// `MethodRouter<S>` in `route`'s signature, so that a route inferred for another state
/// is reported by this message: it happens when a handler loads a resource whose
/// `Resource::State` the router's state does not provide.
#[diagnostic::on_unimplemented(
    message = "this route is for the state `{R}`, but the router's state is `{Self}`",
    label = "a handler here needs `{R}` from the router's state `{Self}`",
    note = "when a handler loads a resource (`owner = \"…\"`) whose `Resource::State` is `{R}`, the router's state must provide it: implement `axum::extract::FromRef<{Self}> for {R}`"
)]
pub trait SameState<R>: Sized {
    #[doc(hidden)]
    fn same(router: MethodRouter<R>) -> MethodRouter<Self>;
}

impl<S> SameState<S> for S {
    fn same(router: MethodRouter<S>) -> MethodRouter<S> {
        router
    }
}

mod sealed {
    pub trait Sealed {}
    impl<S> Sealed for crate::routing::MethodRouter<S> {}
}

impl<S> SecureRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    /// An empty router.
    pub fn new() -> Self {
        SecureRouter {
            inner: Router::new(),
            routes: Vec::new(),
            security: None,
            mock_connect_info: false,
            conflict: None,
        }
    }

    /// The settings of two routers joined by `how`: either's, or a conflict when both
    /// have their own.
    fn join(&mut self, other: Option<Arc<Security>>, how: &'static str) {
        match (&self.security, other) {
            (Some(mine), Some(theirs)) if !Arc::ptr_eq(mine, &theirs) => {
                self.conflict.get_or_insert(how);
            }
            (None, Some(theirs)) => self.security = Some(theirs),
            _ => {}
        }
    }

    /// Routes `path` to the handlers of a [`MethodRouter`](crate::routing::MethodRouter)
    /// built with [`secure_endpoint::routing`](crate::routing).
    ///
    /// Panics, like axum, when `path` is invalid or already routed.
    pub fn route(mut self, path: &str, method_router: impl IntoSecureRoute<S>) -> Self {
        let method_router = method_router.into_method_router();
        self.routes.extend(
            method_router
                .endpoints
                .iter()
                .map(|endpoint| RouteEntry::declared(endpoint, path)),
        );
        self.inner = self.inner.route(path, method_router.inner);
        self
    }

    /// Serves `path` with a plain axum method router, enforcing nothing: the explicit
    /// opt-out for routes this crate cannot check (a metrics endpoint behind a network
    /// policy, a mounted third-party service). The inventory lists it as `UNCHECKED`
    /// with `reason`. The security headers and error sanitizing still apply.
    pub fn route_unchecked(
        mut self,
        path: &str,
        method_router: axum::routing::MethodRouter<S>,
        reason: &str,
    ) -> Self {
        self.routes.push(RouteEntry::unchecked(path, reason));
        self.inner = self.inner.route(path, method_router);
        self
    }

    /// Merges a plain [`axum::Router`], enforcing nothing on its routes: the explicit
    /// opt-out. The inventory lists it as one `UNCHECKED` entry with `reason`, since a
    /// plain router does not say which routes it holds.
    pub fn merge_unchecked(mut self, router: Router<S>, reason: &str) -> Self {
        self.routes.push(RouteEntry::unchecked("*", reason));
        self.inner = self.inner.merge(router);
        self
    }

    /// Nests another `SecureRouter` under `path`; its routes appear in the inventory with
    /// the prefix. Security settings given to the nested router are kept when this one
    /// has none; when both have their own, building the router is a [`SetupError`]
    /// (one router's settings would silently not apply to the other's routes): give
    /// the settings to the outer router only, and name per route what differs
    /// (`auth = "name"` for another authenticator).
    pub fn nest(mut self, path: &str, router: SecureRouter<S>) -> Self {
        let prefix = path.trim_end_matches('/');
        self.routes.extend(router.routes.into_iter().map(|mut r| {
            r.path = match r.path.as_str() {
                "*" => format!("{prefix}/*"),
                "/" => prefix.to_owned(),
                rest => format!("{prefix}{rest}"),
            };
            r
        }));
        self.join(router.security, "nest");
        self.conflict = self.conflict.or(router.conflict);
        self.inner = self.inner.nest(path, router.inner);
        self
    }

    /// Merges another `SecureRouter`'s routes into this one; security settings join as
    /// with [`nest`](Self::nest).
    pub fn merge(mut self, router: SecureRouter<S>) -> Self {
        self.routes.extend(router.routes);
        self.join(router.security, "merge");
        self.conflict = self.conflict.or(router.conflict);
        self.inner = self.inner.merge(router.inner);
        self
    }

    /// Answers requests no route matches with an annotated handler (by default, a JSON
    /// 404).
    pub fn fallback<H, T>(mut self, handler: H) -> Self
    where
        H: SecureHandler + Handler<T, S>,
        T: 'static,
    {
        self.routes.push(RouteEntry::fallback::<H>());
        self.inner = self.inner.fallback(handler);
        self
    }

    /// Applies a tower layer to every route, as [`axum::Router::layer`] does. The
    /// framework's own layer stays outermost, so responses of this layer also get the
    /// security headers and sanitizing.
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.inner = self.inner.layer(layer);
        self
    }

    /// The security settings the routes' policies use. A router given settings twice
    /// (here and by a nested router) is refused when it is built.
    pub fn with_security(mut self, security: Security) -> Self {
        if self.security.is_some() {
            self.conflict.get_or_insert("with_security");
        }
        self.security = Some(Arc::new(security));
        self
    }

    /// Provides the state, as [`axum::Router::with_state`] does.
    pub fn with_state<S2>(self, state: S) -> SecureRouter<S2> {
        SecureRouter {
            inner: self.inner.with_state(state),
            routes: self.routes,
            security: self.security,
            mock_connect_info: self.mock_connect_info,
            conflict: self.conflict,
        }
    }

    /// The revocations the router consults, for the scanner.
    pub(crate) fn revocations(&self) -> Option<Arc<crate::revocation::RevocationStore>> {
        self.security.as_ref()?.revocations.clone()
    }

    /// Puts `wrap`'s engine in front of the settings' permission engine (the scanner's
    /// recorder), with what `wrap` keeps of it; `None` when the settings have no engine
    /// or are shared with another router.
    pub(crate) fn wrap_permissions<T>(
        &mut self,
        wrap: impl FnOnce(crate::permission::Engine) -> (crate::permission::Engine, T),
    ) -> Option<T> {
        let security = Arc::get_mut(self.security.as_mut()?)?;
        let engine = security.permissions.take()?;
        let (wrapped, kept) = wrap(engine);
        security.permissions = Some(wrapped);
        Some(kept)
    }

    /// The application's own error body, for the scanner.
    pub(crate) fn error_body(&self) -> Option<Arc<dyn crate::rejection::ErrorBody>> {
        self.security.as_ref()?.error_body.clone()
    }

    /// Every route with its method, path and policy, and where each authenticator reads
    /// its credential.
    pub fn inventory(&self) -> Inventory {
        let described = self.security.as_deref().map(Security::description);
        Inventory::of(self.routes.clone(), described.as_ref())
    }

    /// The inventory of these routes served with the settings `described`, whatever
    /// settings the router has: a document of the service as it runs, built without its
    /// secrets ([`SecurityDescription`]).
    pub fn inventory_with(&self, described: &SecurityDescription) -> Inventory {
        Inventory::of(self.routes.clone(), Some(described))
    }

    /// Checks that every route's policy has the settings it needs, then builds the
    /// [`axum::Router`] to serve.
    ///
    /// A router that counts limits by client address needs the connection's address:
    /// serve it with [`serve`](crate::serve) or
    /// [`into_make_service_with_connect_info`](SecureRouter::into_make_service_with_connect_info)
    /// (or, in tests, give one with `with_mock_connect_info`, feature `testing`); here,
    /// without either, that is a [`SetupError`].
    ///
    /// A router without state (`SecureRouter<()>`) comes back with its routes already
    /// made into services, as `axum::serve` would make them: served in process with
    /// `tower::ServiceExt::oneshot`, it does not make each route again per request.
    pub fn try_into_router(self) -> Result<Router<S>, SetupError> {
        let connect_info = self.mock_connect_info;
        self.build(connect_info)
    }

    /// Gives every request the client address `addr`, as a server with connection info
    /// would: for serving the router in process (`tower::ServiceExt::oneshot`) in tests.
    ///
    /// Only with feature `testing`, which a test's `[dev-dependencies]` turns on and a
    /// production build never should: served for real with it, every client would be
    /// `addr` and share one rate-limit bucket, which the startup check on connection
    /// info exists to prevent. Without the feature the method does not exist.
    #[cfg(feature = "testing")]
    pub fn with_mock_connect_info(self, addr: std::net::SocketAddr) -> Self {
        self.mock_connect_info(addr)
    }

    /// [`with_mock_connect_info`](Self::with_mock_connect_info), for the scanner.
    pub(crate) fn mock_connect_info(mut self, addr: std::net::SocketAddr) -> Self {
        self.inner = self
            .inner
            .layer(axum::extract::connect_info::MockConnectInfo(addr));
        self.mock_connect_info = true;
        self
    }

    fn build(self, connect_info: bool) -> Result<Router<S>, SetupError> {
        if let Some(how) = self.conflict {
            return Err(SetupError::InvalidSetting {
                setting: how,
                reason: "two routers joined here each have security settings of their own; one's would silently not apply to the other's routes: give the settings to the outer router only, and choose another authenticator per route with `auth = \"name\"`".into(),
            });
        }
        let context = Context::build(self.security.as_deref(), &self.routes, connect_info)?;
        Ok(prepared(self.inner.layer(SanitizeLayer::new(context))))
    }

    /// Like [`try_into_router`](Self::try_into_router), panicking with the setup error's
    /// message; for start-up code where that ends the program.
    pub fn into_router(self) -> Router<S> {
        match self.try_into_router() {
            Ok(router) => router,
            Err(error) => panic!("{error}"),
        }
    }
}

/// A router without state, with every route turned into its service now rather than on
/// each request.
///
/// A `Router<()>` that is served by `oneshot` (in a test, in process) rather than by
/// `axum::serve` keeps each handler with its layers as a recipe and makes the service
/// again for every request: a clone of each layer and several allocations per request.
/// `axum::serve` and `into_make_service` avoid that by providing the state first; the
/// router built here has it done already, whichever way it is served. A router with
/// state of its own is returned as it is: its routes are made when its state is given.
fn prepared<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    let mut slot = Some(router);
    if let Some(stateless) = (&mut slot as &mut dyn std::any::Any).downcast_mut::<Option<Router>>()
    {
        *stateless = stateless.take().map(|router| router.with_state(()));
    }
    slot.expect("the router is put back in its slot")
}

impl SecureRouter<()> {
    /// Built as [`serve`](crate::serve) serves it: every request carries the client's
    /// address.
    pub(crate) fn build_for_serving(self) -> Result<Router, SetupError> {
        self.build(true)
    }

    /// The make-service to pass to `axum::serve`, as axum's `Router::into_make_service`.
    ///
    /// # Panics
    ///
    /// When a route lacks a setting it needs, with the [`SetupError`]'s message: the
    /// program stops before serving anything. [`try_into_make_service`](Self::try_into_make_service)
    /// returns the error instead. A router counting limits per client address needs
    /// [`into_make_service_with_connect_info`](Self::into_make_service_with_connect_info).
    pub fn into_make_service(self) -> axum::routing::IntoMakeService<Router> {
        match self.try_into_make_service() {
            Ok(service) => service,
            Err(error) => panic!("{error}"),
        }
    }

    /// [`into_make_service`](Self::into_make_service), returning the [`SetupError`].
    pub fn try_into_make_service(
        self,
    ) -> Result<axum::routing::IntoMakeService<Router>, SetupError> {
        let connect_info = self.mock_connect_info;
        Ok(self.build(connect_info)?.into_make_service())
    }

    /// The make-service to pass to `axum::serve`, with the client's address available
    /// to handlers as `ConnectInfo<C>`, as axum's method of the name.
    ///
    /// Limits counted per client address read `ConnectInfo<SocketAddr>`: with another
    /// `C` they are a [`SetupError`].
    ///
    /// # Panics
    ///
    /// When a route lacks a setting it needs, with the [`SetupError`]'s message, before
    /// serving anything; [`try_into_make_service_with_connect_info`](Self::try_into_make_service_with_connect_info)
    /// returns the error instead.
    pub fn into_make_service_with_connect_info<C: 'static>(
        self,
    ) -> axum::extract::connect_info::IntoMakeServiceWithConnectInfo<Router, C> {
        match self.try_into_make_service_with_connect_info() {
            Ok(service) => service,
            Err(error) => panic!("{error}"),
        }
    }

    /// [`into_make_service_with_connect_info`](Self::into_make_service_with_connect_info),
    /// returning the [`SetupError`].
    pub fn try_into_make_service_with_connect_info<C: 'static>(
        self,
    ) -> Result<axum::extract::connect_info::IntoMakeServiceWithConnectInfo<Router, C>, SetupError>
    {
        let addresses = std::any::TypeId::of::<C>()
            == std::any::TypeId::of::<std::net::SocketAddr>()
            || self.mock_connect_info;
        Ok(self
            .build(addresses)?
            .into_make_service_with_connect_info::<C>())
    }
}
