//! The declared security policy of one handler.

use std::fmt;

use serde::Serialize;

use crate::rate::Limit;

/// What the route a policy is served on adds to its refusals.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Served {
    /// The handler's body has fields guarded by a role: sending one without it is 403.
    pub(crate) body_guarded: bool,
    /// The credential may come from the session cookie and the method is unsafe: a
    /// cross-site request is 403.
    pub(crate) csrf_checked: bool,
    /// The revocations are shared and fail closed: while their store does not answer,
    /// an authenticated request is 503.
    pub(crate) revocations_fail_closed: bool,
}

/// What a handler's attribute declared: who may call it and what is checked first.
///
/// A `Policy` is built by the `#[secure]` and `#[public]` attributes at compile time and
/// read back through [`SecureHandler::POLICY`](crate::SecureHandler::POLICY) and the
/// router's [`inventory`](crate::SecureRouter::inventory).
///
/// ```
/// use secure_endpoint::{SecureHandler, secure};
///
/// #[secure(auth, role = "admin")]
/// async fn stats() -> &'static str {
///     "ok"
/// }
///
/// let policy = <stats as SecureHandler>::POLICY;
/// assert!(policy.requires_auth());
/// assert_eq!(policy.roles(), ["admin"]);
/// assert_eq!(policy.to_string(), "auth, role admin");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Policy {
    access: Access,
    auth: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    optional_auth: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    authenticator: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<&'static str>,
    roles: &'static [&'static str],
    scopes: &'static [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner_or_role: Option<&'static str>,
    #[serde(skip_serializing_if = "<[Limit]>::is_empty")]
    limits: &'static [Limit],
    #[serde(skip_serializing_if = "Option::is_none")]
    validate: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    validate_query: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    concurrency: Option<u32>,
    /// `can = "…"`: the action the permission engine is asked about.
    #[serde(skip_serializing_if = "Option::is_none")]
    can: Option<&'static str>,
    /// With `on`: the type of the resource it is asked about.
    #[serde(skip_serializing_if = "Option::is_none")]
    on: Option<&'static str>,
    /// `on = "items[]"`: the engine is asked about a list.
    on_list: bool,
    /// Which names rustc checked (typed roles and scopes): the settings' declared names
    /// need not list them.
    #[serde(skip)]
    typed: Typed,
}

/// Which of a policy's names are variants of a type (`role = Role::Admin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Typed {
    roles: bool,
    scopes: bool,
    owner_or_role: bool,
}

/// Whether the handler was declared `#[secure]` or `#[public]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// `#[secure(...)]`.
    Secure,
    /// `#[public]`: a deliberate exception anyone may call.
    Public,
}

impl Policy {
    #[doc(hidden)]
    pub const fn secure() -> Self {
        Self::new(Access::Secure)
    }

    #[doc(hidden)]
    pub const fn public() -> Self {
        Self::new(Access::Public)
    }

    const fn new(access: Access) -> Self {
        Policy {
            access,
            auth: false,
            optional_auth: false,
            authenticator: None,
            tenant: None,
            roles: &[],
            scopes: &[],
            owner: None,
            owner_or_role: None,
            limits: &[],
            validate: None,
            validate_query: None,
            reason: None,
            timeout_ms: None,
            concurrency: None,
            can: None,
            on: None,
            on_list: false,
            typed: Typed {
                roles: false,
                scopes: false,
                owner_or_role: false,
            },
        }
    }

    #[doc(hidden)]
    pub const fn require_auth(mut self) -> Self {
        self.auth = true;
        self
    }

    /// `optional_auth`: a credential is verified when one is given.
    #[doc(hidden)]
    pub const fn allow_optional_auth(mut self) -> Self {
        self.optional_auth = true;
        self
    }

    /// `tenant = "post.org_id"` or `"posts[].org_id"`.
    #[doc(hidden)]
    pub const fn with_tenant(mut self, path: &'static str) -> Self {
        self.tenant = Some(path);
        self
    }

    /// `auth = "name"`: the route's authenticator, by name.
    #[doc(hidden)]
    pub const fn via(mut self, authenticator: &'static str) -> Self {
        self.authenticator = Some(authenticator);
        self
    }

    #[doc(hidden)]
    pub const fn any_role(mut self, roles: &'static [&'static str]) -> Self {
        self.roles = roles;
        self
    }

    #[doc(hidden)]
    pub const fn all_scopes(mut self, scopes: &'static [&'static str]) -> Self {
        self.scopes = scopes;
        self
    }

    /// `can = "edit"`, with `on`'s resource type when it names one.
    #[doc(hidden)]
    pub const fn with_permission(mut self, action: &'static str, on: Option<&'static str>) -> Self {
        self.can = Some(action);
        self.on = on;
        self
    }

    /// `on = "items[]"`: the permission is asked about a list.
    #[doc(hidden)]
    pub const fn permission_on_list(mut self) -> Self {
        self.on_list = true;
        self
    }

    /// Whether `can` is asked about a list (`on = "posts[]"`): the loader receives the
    /// engine's plan, and every item it returns is asked about.
    pub const fn permission_on_list_items(&self) -> bool {
        self.on_list
    }

    /// The action the permission engine is asked about (`can`), and the type of the
    /// resource it is asked on (`on`; `None`: the route itself).
    pub const fn permission(&self) -> Option<(&'static str, Option<&'static str>)> {
        match self.can {
            Some(action) => Some((action, self.on)),
            None => None,
        }
    }

    /// The roles were named as variants of a type (`roles = [Role::Admin]`).
    #[doc(hidden)]
    pub const fn roles_typed(mut self) -> Self {
        self.typed.roles = true;
        self
    }

    /// The scopes were named as variants of a type.
    #[doc(hidden)]
    pub const fn scopes_typed(mut self) -> Self {
        self.typed.scopes = true;
        self
    }

    /// The `owner_or_role` was named as a variant of a type.
    #[doc(hidden)]
    pub const fn owner_or_role_typed(mut self) -> Self {
        self.typed.owner_or_role = true;
        self
    }

    /// The role and scope names given as strings, which the settings' declared names
    /// must list: `("role", name)` or `("scope", name)`.
    pub(crate) fn string_names(&self) -> impl Iterator<Item = (&'static str, &'static str)> {
        let roles = if self.typed.roles { &[] } else { self.roles };
        let scopes = if self.typed.scopes { &[] } else { self.scopes };
        let owner_or_role = self.owner_or_role.filter(|_| !self.typed.owner_or_role);
        roles
            .iter()
            .copied()
            .chain(owner_or_role)
            .map(|name| ("role", name))
            .chain(scopes.iter().map(|name| ("scope", *name)))
    }

    #[doc(hidden)]
    pub const fn with_owner(mut self, path: &'static str) -> Self {
        self.owner = Some(path);
        self
    }

    #[doc(hidden)]
    pub const fn with_owner_or_role(mut self, role: &'static str) -> Self {
        self.owner_or_role = Some(role);
        self
    }

    /// `rate`, `rate = [...]` and every `limit(...)`, in the order written.
    #[doc(hidden)]
    pub const fn with_limits(mut self, limits: &'static [Limit]) -> Self {
        self.limits = limits;
        self
    }

    #[doc(hidden)]
    pub const fn with_validate(mut self, type_name: &'static str) -> Self {
        self.validate = Some(type_name);
        self
    }

    #[doc(hidden)]
    pub const fn with_validate_query(mut self, type_name: &'static str) -> Self {
        self.validate_query = Some(type_name);
        self
    }

    #[doc(hidden)]
    pub const fn reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }

    #[doc(hidden)]
    pub const fn with_timeout(mut self, ms: u64) -> Self {
        self.timeout_ms = Some(ms);
        self
    }

    #[doc(hidden)]
    pub const fn with_concurrency(mut self, at_once: u32) -> Self {
        self.concurrency = Some(at_once);
        self
    }

    /// How long the handler may run before its future is dropped and the request
    /// answered 503 (`timeout`).
    pub const fn timeout(&self) -> Option<std::time::Duration> {
        match self.timeout_ms {
            Some(ms) => Some(std::time::Duration::from_millis(ms)),
            None => None,
        }
    }

    /// How many requests of the route the handler serves at once (`concurrency`).
    pub const fn concurrency(&self) -> Option<u32> {
        self.concurrency
    }

    /// `#[secure]` or `#[public]`.
    pub const fn access(&self) -> Access {
        self.access
    }

    /// A verified principal is required (`auth`).
    pub const fn requires_auth(&self) -> bool {
        self.auth
    }

    /// A credential is verified when one is given, and none is required
    /// (`#[public(optional_auth)]`).
    pub const fn allows_optional_auth(&self) -> bool {
        self.optional_auth
    }

    /// `"param.field"` or `"param[].field"` of `tenant`: the field that must equal the
    /// principal's tenant.
    pub const fn tenant(&self) -> Option<&'static str> {
        self.tenant
    }

    /// The authenticator the route names (`auth = "api_key"`); `None` for the default.
    pub const fn authenticator(&self) -> Option<&'static str> {
        self.authenticator
    }

    /// The principal must hold at least one of these roles (`role`/`roles`); empty when
    /// no role is required.
    pub const fn roles(&self) -> &'static [&'static str] {
        self.roles
    }

    /// The principal must hold every one of these scopes (`scope`/`scopes`).
    pub const fn scopes(&self) -> &'static [&'static str] {
        self.scopes
    }

    /// `"param.field"` of `owner`: the resource parameter and the field holding its
    /// owner's id.
    pub const fn owner(&self) -> Option<&'static str> {
        self.owner
    }

    /// The role that passes the ownership check (`owner_or_role`).
    pub const fn owner_or_role(&self) -> Option<&'static str> {
        self.owner_or_role
    }

    /// The route's limits (`rate`, `rate = [...]`, `limit(...)`), in the order written:
    /// each must admit a request.
    pub const fn limits(&self) -> &'static [Limit] {
        self.limits
    }

    /// Whether the route has a limit that counts only failures (`on = "failure"`).
    pub fn counts_failures(&self) -> bool {
        self.limits
            .iter()
            .any(|limit| limit.counts() == crate::rate::Counts::Failure)
    }

    /// The type the JSON body is validated into (`validate`), as written.
    pub const fn validated_body(&self) -> Option<&'static str> {
        self.validate
    }

    /// The type the query string is validated into (`validate_query`), as written.
    pub const fn validated_query(&self) -> Option<&'static str> {
        self.validate_query
    }

    /// The statuses this policy can answer on its own, before or around the handler, in
    /// ascending order, on a route served as `served` says: the one list the OpenAPI
    /// document and the scanner read.
    pub(crate) fn refusals(&self, served: Served) -> Vec<http::StatusCode> {
        use http::StatusCode;
        let one_resource = |binding: Option<&str>| binding.is_some_and(|b| !b.contains("[]"));
        let body = self.validate.is_some();
        // A limit that only reports never answers 429.
        let enforced_limits = self.limits.iter().any(|limit| !limit.reports());
        [
            (
                StatusCode::BAD_REQUEST,
                body || self.validate_query.is_some(),
            ),
            (
                StatusCode::UNAUTHORIZED,
                self.requires_auth() || self.allows_optional_auth(),
            ),
            (
                StatusCode::FORBIDDEN,
                !self.roles.is_empty()
                    || !self.scopes.is_empty()
                    || self.owner.is_some()
                    || self.tenant.is_some()
                    || self.can.is_some()
                    || served.body_guarded
                    || served.csrf_checked,
            ),
            (
                StatusCode::NOT_FOUND,
                one_resource(self.owner) || one_resource(self.tenant) || self.on.is_some(),
            ),
            // The server's body timeout (`serve`): a body still trickling in.
            (StatusCode::REQUEST_TIMEOUT, body),
            (StatusCode::PAYLOAD_TOO_LARGE, body),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, body),
            // Over a limit of the route's, or (where a credential is read) too many failed
            // authentications from the address, when the settings limit them.
            (
                StatusCode::TOO_MANY_REQUESTS,
                enforced_limits || self.requires_auth() || self.allows_optional_auth(),
            ),
            (StatusCode::INTERNAL_SERVER_ERROR, true),
            // A shared limiter down and failing closed, the handler's permits all taken
            // (`concurrency`), its time run out (`timeout`), or the revocations down and
            // failing closed.
            (
                StatusCode::SERVICE_UNAVAILABLE,
                !self.limits.is_empty()
                    || self.concurrency.is_some()
                    || self.timeout_ms.is_some()
                    || self.can.is_some()
                    || ((self.requires_auth() || self.allows_optional_auth())
                        && served.revocations_fail_closed),
            ),
        ]
        .into_iter()
        .filter_map(|(status, answered)| answered.then_some(status))
        .collect()
    }

    /// Why a `#[public]` handler is public, when the attribute says.
    pub const fn public_reason(&self) -> Option<&'static str> {
        self.reason
    }
}

/// The compact form used by the inventory table: `auth, role admin, scopes a b`.
impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if self.access == Access::Public {
            parts.push(match self.reason {
                Some(reason) => format!("public ({reason})"),
                None => "public".to_owned(),
            });
        }
        match (self.auth, self.optional_auth, self.authenticator) {
            (true, _, Some(name)) => parts.push(format!("auth via {name}")),
            (true, _, None) => parts.push("auth".to_owned()),
            (false, true, Some(name)) => parts.push(format!("optional auth via {name}")),
            (false, true, None) => parts.push("optional auth".to_owned()),
            (false, false, _) => {}
        }
        if !self.roles.is_empty() {
            let label = if self.roles.len() == 1 {
                "role"
            } else {
                "any role of"
            };
            parts.push(format!("{label} {}", self.roles.join(" ")));
        }
        if !self.scopes.is_empty() {
            let label = if self.scopes.len() == 1 {
                "scope"
            } else {
                "all scopes"
            };
            parts.push(format!("{label} {}", self.scopes.join(" ")));
        }
        if let Some(owner) = self.owner {
            parts.push(format!("owner {owner}"));
        }
        if let Some(role) = self.owner_or_role {
            parts.push(format!("or role {role}"));
        }
        if let Some(tenant) = self.tenant {
            parts.push(format!("tenant {tenant}"));
        }
        if let Some(action) = self.can {
            match self.on {
                Some(on) if self.on_list => parts.push(format!("can {action} on {on}[]")),
                Some(on) => parts.push(format!("can {action} on {on}")),
                None => parts.push(format!("can {action}")),
            }
        }
        for limit in self.limits {
            parts.push(limit.to_string());
        }
        if let Some(body) = self.validate {
            parts.push(format!("validate {body}"));
        }
        if let Some(query) = self.validate_query {
            parts.push(format!("validate_query {query}"));
        }
        if let Some(ms) = self.timeout_ms {
            parts.push(format!("timeout {ms}ms"));
        }
        if let Some(at_once) = self.concurrency {
            parts.push(format!("concurrency {at_once}"));
        }
        f.write_str(&parts.join(", "))
    }
}
