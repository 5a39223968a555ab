//! Route gate: method routers that accept only annotated handlers.
//!
//! These mirror `axum::routing::{get, post, …}` but require
//! [`SecureHandler`], and return this crate's [`MethodRouter`],
//! which remembers each handler's policy for the inventory. It is the only thing
//! [`SecureRouter::route`](crate::SecureRouter::route) takes.
//!
//! ```
//! use secure_endpoint::routing::get;
//! use secure_endpoint::{Claims, SecureRouter, public, secure};
//!
//! #[public]
//! async fn list() -> &'static str { "[]" }
//!
//! #[secure(auth)]
//! async fn create(claims: Claims) -> String { claims.sub }
//!
//! let app: SecureRouter = SecureRouter::new().route("/posts", get(list).post(create));
//! ```

use axum::handler::Handler;
use axum::routing::MethodFilter;

use crate::handler::SecureHandler;
use crate::policy::Policy;

/// A set of handlers for one path, one per method, each with its declared policy.
pub struct MethodRouter<S = ()> {
    pub(crate) inner: axum::routing::MethodRouter<S>,
    pub(crate) endpoints: Vec<Endpoint>,
}

/// One method of a route and the handler that serves it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Endpoint {
    pub(crate) method: &'static str,
    pub(crate) handler: &'static str,
    pub(crate) policy: &'static Policy,
    /// Identifies the handler's entry in the router's context (a constant's address is
    /// not unique).
    pub(crate) handler_type: std::any::TypeId,
    /// The route's own body limit, set with [`MethodRouter::body_limit`].
    pub(crate) body_limit: Option<usize>,
    /// The principal types the handler takes.
    pub(crate) principals: fn() -> Vec<(std::any::TypeId, &'static str)>,
    /// The guarded fields of its body and answer.
    pub(crate) guards: crate::handler::Guards,
    /// The schemas of its inputs and answer.
    pub(crate) schemas: fn() -> crate::schema::Schemas,
}

macro_rules! gate {
    ($($method:ident => $filter:ident, $label:literal;)*) => {
        $(
            #[doc = concat!("Routes `", $label, "` requests to an annotated handler.")]
            ///
            /// The handler must carry `#[secure(...)]` or `#[public]`.
            pub fn $method<H, T, S>(handler: H) -> MethodRouter<S>
            where
                H: SecureHandler + Handler<T, S>,
                T: 'static,
                S: Clone + Send + Sync + 'static,
            {
                MethodRouter::new().on(MethodFilter::$filter, $label, handler)
            }
        )*

        impl<S> MethodRouter<S>
        where
            S: Clone + Send + Sync + 'static,
        {
            $(
                #[doc = concat!("Adds a handler for `", $label, "` requests.")]
                pub fn $method<H, T>(self, handler: H) -> Self
                where
                    H: SecureHandler + Handler<T, S>,
                    T: 'static,
                {
                    self.on(MethodFilter::$filter, $label, handler)
                }
            )*
        }
    };
}

gate! {
    get => GET, "GET";
    post => POST, "POST";
    put => PUT, "PUT";
    patch => PATCH, "PATCH";
    delete => DELETE, "DELETE";
    head => HEAD, "HEAD";
    options => OPTIONS, "OPTIONS";
}

/// Routes requests of every method to an annotated handler.
pub fn any<H, T, S>(handler: H) -> MethodRouter<S>
where
    H: SecureHandler + Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    let every = MethodFilter::GET
        .or(MethodFilter::POST)
        .or(MethodFilter::PUT)
        .or(MethodFilter::PATCH)
        .or(MethodFilter::DELETE)
        .or(MethodFilter::HEAD)
        .or(MethodFilter::OPTIONS)
        .or(MethodFilter::TRACE)
        .or(MethodFilter::CONNECT);
    MethodRouter::new().on(every, "ANY", handler)
}

impl<S> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    fn new() -> Self {
        MethodRouter {
            inner: axum::routing::MethodRouter::new(),
            endpoints: Vec::new(),
        }
    }

    fn on<H, T>(mut self, filter: MethodFilter, method: &'static str, handler: H) -> Self
    where
        H: SecureHandler + Handler<T, S>,
        T: 'static,
    {
        self.inner = self.inner.on(filter, handler);
        self.endpoints.push(Endpoint {
            method,
            handler: H::NAME,
            policy: H::POLICY,
            handler_type: std::any::TypeId::of::<H>(),
            body_limit: None,
            principals: H::requested_principals,
            guards: H::guarded_keys(),
            schemas: H::schemas,
        });
        self
    }
}

impl<S> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    /// The largest JSON body `validate` reads on the handlers added so far, in bytes,
    /// overriding [`SecurityBuilder::body_limit`](crate::SecurityBuilder::body_limit).
    /// Larger bodies are refused with 413.
    ///
    /// ```
    /// # use secure_endpoint::{public, routing::post};
    /// # #[derive(serde::Deserialize, validator::Validate)]
    /// # struct Upload { #[validate(length(max = 1_000_000))] data: String }
    /// #[public(validate = Upload)]
    /// async fn upload(file: Upload) -> String { file.data.len().to_string() }
    ///
    /// let route = post::<_, _, ()>(upload).body_limit(1024 * 1024);
    /// ```
    pub fn body_limit(mut self, bytes: usize) -> Self {
        for endpoint in &mut self.endpoints {
            endpoint.body_limit = Some(bytes);
        }
        self
    }
}

impl<S> std::fmt::Debug for MethodRouter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MethodRouter")
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}
