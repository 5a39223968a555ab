//! Declarative endpoint security for [axum](https://docs.rs/axum) 0.8.
//!
//! Each handler states its policy in one attribute, and the router refuses handlers
//! that state none:
//!
//! ```
//! use secure_endpoint::routing::get;
//! use secure_endpoint::{Claims, Error, SecureRouter, public, secure};
//!
//! /// Anyone may read the front page.
//! #[public(reason = "the front page")]
//! async fn home() -> &'static str {
//!     "welcome"
//! }
//!
//! /// Only a verified caller with the `admin` role gets here.
//! #[secure(auth, role = "admin")]
//! async fn stats(admin: Claims) -> Result<String, Error> {
//!     Ok(format!("hello, {}", admin.sub))
//! }
//!
//! let app: SecureRouter = SecureRouter::new()
//!     .route("/", get(home))
//!     .route("/admin/stats", get(stats));
//! println!("{}", app.inventory());
//! ```
//!
//! # What a request goes through
//!
//! 1. **Authentication** (`auth`): one `Authorization: Bearer` header, verified by the
//!    router's [`Authenticator`]. Failure is `401 {"error":"Unauthorized"}` with
//!    `WWW-Authenticate: Bearer` (`error="invalid_token"` when a token was given); the
//!    reason goes to the log.
//! 2. **Rate limits** (`rate = "10/10s"`, `rate = ["10/s", "1000/d"]`, `rate_key`,
//!    `limit(...)`): GCRA, a burst of `count` then one request per `period / count`,
//!    counted per principal on `auth` routes and per client address otherwise (or on
//!    the key a `limit` names), in memory or in Redis ([`Limiter`]). Every limit of the
//!    route must admit, and a request one refuses spends nothing on the others. Over a
//!    limit: `429 {"error":"Too many requests"}` with the `Retry-After` of the limit that
//!    refused (whole seconds, rounded up) and the fields of
//!    [draft-ietf-httpapi-ratelimit-headers-09](https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/09/):
//!    `RateLimit-Policy` names every limit of the route (`"10/10s-ip";q=10;w=10,
//!    "1000/d-ip";q=1000;w=86400`) and `RateLimit` the one that refused
//!    (`"10/10s-ip";r=0;t=1`). The headers are sent on the 429 only: an admitted request
//!    costs no header formatting. Failed authentications are limited per client address
//!    too ([`SecurityBuilder::failed_auth_limit`], named `failed-auth`).
//!
//!    A limit on a field of the body (`key = "input.username"`) is checked, with the
//!    route's other limits, once the body is validated: a malformed body is 400 without
//!    counting, and before the body is read only what this instance already knows to be
//!    over is refused. A limit of failures (`on = "failure"`) takes its slot before the
//!    handler runs and gives it back when the handler's answer is not 401 or 403: of any
//!    number of attempts sent at once, at most the limit's count reach the handler in
//!    one window, and the rest are 429 without reaching it.
//! 3. **Roles and scopes** (`role`, `roles`, `scope`, `scopes`): at least one of the
//!    roles, every one of the scopes; `403 {"error":"Forbidden"}` otherwise.
//! 4. **Resource and ownership** (`owner = "post.user_id"`): the parameter `post` is
//!    loaded through its [`Resource`] implementation (key from the path). Missing:
//!    `404 {"error":"Not found"}`; not the principal's ([`OwnerId`] compares the field with
//!    [`Principal::id`]): 403, or 404 with
//!    [`hide_forbidden_resources`](SecurityBuilder::hide_forbidden_resources).
//!    `owner_or_role = "admin"` lets that role pass. The loaded value is handed to the
//!    handler; it is not loaded twice.
//!
//!    **Permissions** (`can = "edit", on = "post"`): the loaded resource (an [`Entity`])
//!    is asked about of the settings' [`PermissionEngine`] ([`SecurityBuilder::permissions`]:
//!    `Cedar` in process with feature `cedar`, `AuthZen` for a remote decision point
//!    with feature `authzen`, or your own). Denied: 403, or 404 when the caller may not
//!    `read` it either; an engine that does not answer: 503. A list (`on = "posts[]"`)
//!    is loaded with the engine's [`Plan`] in [`Scope::plan`] (rendered as SQL by
//!    [`Plan::sql`]), then every item is asked about in one batch: one the engine denies
//!    fails the request closed (500). Decided here, where the contract is silent: an
//!    anonymous caller is the empty id with no roles (`AuthZen` sends it as the
//!    principal `anonymous` with the single role `anonymous`, since Cerbos refuses an
//!    empty id); an engine's plan that no [`Filter`] can state exactly is an error, never
//!    a condition dropped.
//! 5. **Input** (`validate = T`, `validate_query = T`): the JSON body must be declared
//!    `application/json` (or `application/*+json`), else 415; larger than its limit
//!    (64 KiB unless [`MethodRouter::body_limit`](routing::MethodRouter::body_limit) or
//!    [`SecurityBuilder::body_limit`] says otherwise), 413. Malformed JSON, a wrong type,
//!    a missing field, a field `T` does not declare (at any depth, through
//!    `#[serde(flatten)]` too, without `deny_unknown_fields`) or a failed `validator`
//!    rule is `400 {"error":"Invalid input","details":{"<path>":["<code>"]}}`: paths and
//!    codes only, never a submitted value. The query string is held to the same rules.
//!    Both are read before the handler's other extractors run: an extractor with side
//!    effects never sees a request whose input is refused.
//! 6. **The handler's other extractors**, in order. Their rejections keep their status and get
//!    the JSON shape (`{"error":"Bad request"}`); axum's text, which can quote the input,
//!    is not sent.
//! 7. **The handler**, within its limits when the attribute sets them: `concurrency = 8`
//!    lets that many requests of the route run at once (one more waits up to a second for
//!    a permit, then gets `503 {"error":"Service unavailable"}`), and `timeout = "5s"`
//!    drops the handler's future when it elapses and answers the same 503.
//! 8. **Sanitizing**: a 5xx of any origin, an [`Error`] returned with `?`, or a panic
//!    becomes `500 {"error":"An unexpected error occurred","request_id":"…"}`; the detail
//!    is logged with `tracing` under that request id. 4xx responses the handler builds
//!    on purpose pass through.
//!
//! Every allow and deny decision is a `tracing` event with target [`AUDIT_TARGET`],
//! carrying the route, the step and the reason.
//!
//! # The attribute arguments
//!
//! Every argument of [`macro@secure`] and [`macro@public`], and which of the two takes it:
//!
#![doc = include_str!("../docs/arguments.md")]
//!
//! A `Json<T>` parameter without `validate` is a compile error: an unvalidated body is a
//! missing protection. Rate strings are parsed at compile time; a zero count or period is
//! a compile error.
//!
//! # Knowing what is enforced
//!
//! [`SecureRouter::inventory`] lists every route with its policy (a table, JSON, or the
//! security part of an OpenAPI 3.1 document with [`Inventory::openapi`]; built from a
//! [`SecurityDescription`] where the secrets are not at hand), the security lock
//! ([`Inventory::lock`], held by [`testing::assert_security_lock`]: a change fails with
//! each line marked weaker, stronger or neutral), who may call what
//! ([`Inventory::matrix`]), and
//! [`testing::scan`] attacks every route in process as its policy says it must resist.
//!
//! # Decisions this crate makes where axum leaves a choice
//!
//! - `#[secure]` without `auth` is a compile error: it would protect nothing that
//!   `#[public]` does not say more plainly.
//! - The handler's name becomes a unit struct implementing axum's `Handler`, so the
//!   annotated function cannot be called directly; the policy is enforced inside that
//!   `Handler`, so even a handler smuggled into a plain axum router is checked (and
//!   refuses with 500 when it finds no security settings, rather than admitting).
//! - A handler's own `Cache-Control` is kept; every other security header is set.
//! - Authentication accepts JWTs ([`JwtAuthenticator`]: HMAC, RSA, RSA-PSS, ECDSA and
//!   EdDSA keys from PEM or DER, or a [`Jwks`]), API keys ([`ApiKeys`]), or both on one
//!   route (a pair of authenticators is tried in order).
//! - An owner id compares with the principal's id only in its one canonical spelling:
//!   owner `7` is not principal `"07"`.
//! - Unknown fields are found by walking the parsed JSON: a field the type ignores is
//!   unknown; a value a flattened struct captures is probed (replaced by two unrelated
//!   values; if the type accepts both, nothing reads it). A catch-all field typed
//!   `serde_json::Value` therefore accepts no keys under `validate`: declare the fields.
//!   Errors are reported with serde's field names for the shape and `validator`'s
//!   (Rust) field names for rules; externally tagged enums are read without looking
//!   inside their variants for unknown fields.
//! - In a query string a key given twice is a list, and a key given once fills a list
//!   of one.
//! - Limits count per route (path): a handler routed on two paths has a limit on each.
//! - Trusted proxies write one forwarding header ([`ForwardedHeader`], default
//!   `X-Forwarded-For`); the other header is never read, since a proxy passes it through
//!   as the client sent it.
//! - The principal reaches handlers as [`Claims`] or [`Authenticated<P>`]; a handler
//!   that asks for it on a route without `auth` gets 401.
//! - A body taken as raw `String` or `Bytes` is the handler's: it has no structure to
//!   validate, so the attribute refuses only the extractors that parse one (`Json`,
//!   `Form`, `Query`) without `validate`. The body limit still applies to what
//!   `validate` reads; a raw body is bounded by axum's own default limit.
//! - Header fields a verifier does not use (`typ`, `x5t`, …) are not checked: they are
//!   under the signature, so only the key's holder writes them. An `iss` given as a list
//!   is read as jsonwebtoken reads it. `iat` is required, and one in the future refused,
//!   where the settings revoke tokens ([`Revocations`]): without revocation nothing
//!   compares a moment with it.
//! - Finding unknown keys under `#[serde(flatten)]` probes at most 32 captured values of a
//!   body, each twice (two unrelated values in its place): a bounded cost per request,
//!   and a body with more is refused (`too_complex`) rather than half-checked.

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// Where things live, in layers that import only downward: leaves (`setup_error`,
// `request_id`, `clock`, `body_timeout`, `client_addr`, `cookie`, `error`,
// `redis_connection`); backends that know nothing of HTTP responses (`input/`, `rate/`,
// `auth/`, `revocation/`, `standing`, `principal`, `policy`, `resource`, `cors`,
// `guard/`); refusals and the audit log (`rejection/`, the one writer of error bodies,
// and `audit`, the one writer of audit events); the route table built once (`handler`,
// `schema`, `routing`, `security`, `inventory`, `context`); the request (`pipeline/`,
// one file per step, `extractors`, `revoker`, `sanitize`); the doors (`router`,
// `serve`, `openapi`, `testing/`). Internal code imports modules by path, never the
// names re-exported below.

// The attributes' expansion names `::secure_endpoint::…`: this lets the crate's own
// tests use them.
extern crate self as secure_endpoint;

mod audit;
mod auth;
mod body_timeout;
mod client_addr;
mod clock;
mod context;
mod cookie;
mod cors;
mod description;
mod device;
mod error;
mod extractors;
mod guard;
mod handler;
mod input;
mod inventory;
mod lock;
mod matrix;
mod metrics;
mod names;
mod openapi;
mod parameter;
mod permission;
mod pipeline;
mod policy;
mod principal;
mod rate;
#[cfg(feature = "redis")]
mod redis_connection;
mod rejection;
#[cfg(any(feature = "jwks", feature = "authzen"))]
mod remote_url;
mod request_id;
mod resource;
mod revocation;
mod revoker;
mod router;
mod sanitize;
mod schema;
mod security;
mod serve;
mod setup_error;
mod standing;
mod write_deadline;

pub mod routing;
pub mod testing;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

#[doc(hidden)]
#[path = "bench.rs"]
pub mod __bench;

/// The README's examples, compiled with the doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

pub use audit::AUDIT_TARGET;
pub use auth::{
    ApiKeys, AuthError, Authenticator, Credential, FetchKeys, IssueError, IssuedToken, Issuers,
    Jwks, JwtAuthenticator, Key, MIN_API_KEY_LEN, MIN_HMAC_SECRET_BYTES, TokenFacts, TokenIssuer,
};
pub use client_addr::ForwardedHeader;
pub use cookie::{DEFAULT_SESSION_COOKIE, SessionCookie};
pub use cors::{Cors, DEFAULT_ALLOWED_HEADERS, DEFAULT_EXPOSED_HEADERS};
pub use description::SecurityDescription;
pub use error::Error;
pub use guard::{Guarded, GuardedKey, Viewer};
pub use handler::{Guards, SecureHandler};
pub use input::{DEFAULT_BODY_LIMIT, Details, ValidInput};
pub use inventory::{AuthenticatorEntry, BrowserEntry, Inventory, RouteEntry, RoutePolicy};
/// The signature algorithms, re-exported from jsonwebtoken so that this crate and the
/// application name the same type whatever jsonwebtoken version the application adds.
pub use jsonwebtoken::Algorithm;
pub use lock::Direction;
pub use matrix::Matrix;
pub use names::{RoleNames, ScopeNames};
pub use openapi::BEARER_SCHEME;
#[cfg(feature = "authzen")]
pub use permission::AuthZen;
#[cfg(feature = "cedar")]
pub use permission::Cedar;
pub use permission::{
    Columns, Decision, DecisionFuture, DecisionsFuture, Dialect, EngineError, Entity, Filter,
    ListQuestion, Object, PermissionEngine, Plan, PlanFuture, Question, SqlCondition, SqlError,
    SqlValue, Subject,
};
pub use policy::{Access, Policy};
pub use principal::{Authenticated, Claims, Principal};
pub use rate::{Counts, DEFAULT_MAX_KEYS, Limit, LimitField, Limiter, Rate, RateKey};
pub use rejection::{ErrorBody, ErrorInfo, ProblemJson, Rejection};
pub use request_id::RequestId;
pub use resource::{Collection, NoQuery, OwnerId, Resource, Scope};
pub use revocation::{DEFAULT_MAX_TOKEN_LIFETIME, Revocations};
pub use revoker::Revoker;
pub use router::{IntoSecureRoute, SameState, SecureRouter};
pub use schema::Schemas;
/// Derives [`Guarded`](trait@Guarded) on a struct whose fields carry
/// `#[guarded(role = "…")]`, `#[guarded(owner = "field")]` or both: who may read and
/// write each field, applied to the handler's validated body and answer. See the
/// [trait](trait@Guarded) for what is applied where.
pub use secure_endpoint_macros::Guarded;

/// Derives [`RoleNames`] on an enum whose unit variants are the roles tokens carry, so
/// that a route names a role as `role = Role::Admin` and a misspelled one is rustc's
/// error on its token.
///
/// A variant's name is its own in snake case (`SuperUser` is `"super_user"`), or
/// `#[role(rename = "...")]`. Variants take no fields and no explicit values.
///
/// ```
/// use secure_endpoint::{Claims, secure};
///
/// #[derive(secure_endpoint::Role)]
/// enum Role {
///     Admin,
///     Editor,
/// }
///
/// #[secure(auth, roles = [Role::Admin, Role::Editor])]
/// async fn publish(editor: Claims) -> String {
///     editor.sub
/// }
/// ```
///
/// ```compile_fail
/// # use secure_endpoint::secure;
/// # #[derive(secure_endpoint::Role)]
/// # enum Role { Admin }
/// #[secure(auth, role = Role::Admn)] // error: no variant named `Admn`
/// async fn stats() {}
/// ```
pub use secure_endpoint_macros::Role;

/// Derives [`ScopeNames`] on an enum whose unit variants are the OAuth scopes tokens
/// carry: `scope = Scope::PostsWrite`, as [`Role`](macro@Role) does for roles
/// (`#[scope(rename = "posts:write")]` for a name that is not a Rust identifier).
///
/// ```
/// use secure_endpoint::secure;
///
/// #[derive(secure_endpoint::Scope)]
/// enum Scope {
///     #[scope(rename = "posts:write")]
///     PostsWrite,
/// }
///
/// #[secure(auth, scope = Scope::PostsWrite)]
/// async fn write() {}
/// ```
pub use secure_endpoint_macros::Scope;

/// Derives [`Entity`](trait@Entity) for a struct that also derives `serde::Serialize`:
/// the type's name is the struct's (or `#[entity(type = "…")]`), the id the field marked
/// `#[entity(id)]` (or named `id`), the attributes the struct as serde serializes it.
///
/// ```
/// use secure_endpoint::Entity;
///
/// #[derive(serde::Serialize, secure_endpoint::Entity)]
/// struct Post {
///     id: u64,
///     author: String,
///     draft: bool,
/// }
///
/// let post = Post { id: 7, author: "ada".into(), draft: true };
/// assert_eq!(Post::TYPE, "Post");
/// assert_eq!(post.entity_id(), "7");
/// assert_eq!(post.attributes()["author"], "ada");
/// ```
pub use secure_endpoint_macros::Entity;
pub use security::{DEFAULT_MAX_TOKEN_BYTES, Security, SecurityBuilder};
pub use serve::{
    DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_CONNECTIONS_PER_ADDRESS, DEFAULT_WRITE_TIMEOUT, Serve, serve,
};
pub use setup_error::SetupError;
pub use standing::{DEFAULT_PRINCIPAL_CACHE, Standing};

/// Declares the security policy of a handler: `#[secure(auth, …)]`.
///
/// The handler becomes a unit struct of the same name that only
/// [`routing::get`] and its siblings route; the policy runs before the handler's body, in
/// the order of the [crate docs](crate#what-a-request-goes-through). Every argument (the
/// rows marked `#[public]` belong to [`macro@public`]):
///
#[doc = include_str!("../docs/arguments.md")]
///
/// ```
/// use secure_endpoint::{Claims, Error, Resource, secure};
/// # #[derive(Clone)] struct Db;
/// # struct Post { user_id: String }
/// # impl Resource for Post {
/// #     type Key = u64;
/// #     type State = Db;
/// #     async fn load(_id: u64, _db: &Db) -> Result<Option<Self>, Error> { Ok(None) }
/// # }
///
/// #[derive(serde::Deserialize, validator::Validate)]
/// struct Edit {
///     #[validate(length(min = 1, max = 200))]
///     title: String,
/// }
///
/// #[secure(auth, roles = ["admin", "editor"], scope = "posts:write")]
/// async fn publish(editor: Claims) -> String {
///     editor.sub
/// }
///
/// #[secure(auth, owner = "post.user_id", owner_or_role = "admin", validate = Edit, rate = "10/10s")]
/// async fn edit(post: Post, change: Edit) -> String {
///     format!("{} now reads {}", post.user_id, change.title)
/// }
///
/// #[secure(auth = "api_key", role = "deployer", timeout = "30s", concurrency = 1)]
/// async fn deploy(robot: Claims) -> String {
///     robot.sub
/// }
/// ```
///
/// Mistakes are compile errors on the offending token:
///
/// ```compile_fail
/// # use secure_endpoint::secure;
/// #[secure(role = "admin")] // error: `role` requires `auth`
/// async fn stats() {}
/// ```
///
/// ```compile_fail
/// # use secure_endpoint::secure;
/// #[derive(serde::Deserialize)]
/// struct Note { text: String }
///
/// #[secure(auth)] // error: a JSON body read without `validate`
/// async fn note(axum::Json(note): axum::Json<Note>) -> String { note.text }
/// ```
pub use secure_endpoint_macros::secure;

/// Marks a handler as deliberately public: `#[public]`, optionally with limits and
/// validation.
///
/// It takes no authentication argument (`auth`, `role`, `scope`, `owner`, `tenant`: use
/// [`macro@secure`]); with `optional_auth` it verifies a credential when one is given.
/// Every argument (the rows marked `#[secure]` are [`macro@secure`]'s):
///
#[doc = include_str!("../docs/arguments.md")]
///
/// ```
/// use secure_endpoint::public;
///
/// #[derive(serde::Deserialize, validator::Validate)]
/// struct Login {
///     #[validate(length(min = 3, max = 32))]
///     username: String,
///     #[validate(length(min = 8, max = 128))]
///     password: String,
/// }
///
/// #[public(reason = "load balancer health checks")]
/// async fn health() -> &'static str {
///     "ok"
/// }
///
/// #[public(reason = "exchanges credentials for a token", validate = Login, rate = "5/60s", concurrency = 8, timeout = "10s")]
/// async fn login(credentials: Login) -> String {
///     credentials.username
/// }
/// ```
///
/// It takes no authentication arguments:
///
/// ```compile_fail
/// # use secure_endpoint::public;
/// #[public(auth)] // error: `#[public]` does not take `auth`
/// async fn health() {}
/// ```
pub use secure_endpoint_macros::public;
