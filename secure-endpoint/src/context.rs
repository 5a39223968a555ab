//! What a router enforces with, built once when it is served: one entry per route, each
//! carrying every setting its steps read (its authenticator and where the credential
//! travels, its limits, its body limit, its permits, and the router-wide settings), and
//! the route table's methods for CORS preflights. The startup checks live here: a route
//! whose policy needs a setting that was not given stops the program before it serves,
//! naming the route.
//!
//! A request reaches its route's entry one way, through the context the outer layer
//! hands it ([`RequestContext`]); no request step reads [`Security`] itself. Running
//! the steps is `pipeline/`'s business, not this module's.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::Arc;

use http::{HeaderValue, Method};

use crate::auth::{Caller, Credential, DynAuthenticator};
use crate::client_addr::Proxies;
use crate::cookie::SessionCookie;
use crate::cors::CorsPolicy;
use crate::device::DeviceKey;
use crate::input::DEFAULT_BODY_LIMIT;
use crate::inventory::{RouteEntry, RoutePolicy};
use crate::metrics::RouteMetrics;
use crate::names::NamesInUse;
use crate::permission::{Engine, PermissionEngine};
use crate::rate::{Armed, Counts, Limit, Limiter, RateKey, RouteLimiter, RouteLimits};
use crate::rejection::ErrorBody;
use crate::request_id::RequestId;
use crate::revocation::RevocationStore;
use crate::security::{DEFAULT_MAX_TOKEN_BYTES, LimitKeyNormalizer, Security};
use crate::setup_error::SetupError;
use crate::standing::PrincipalCheck;

/// Every route's entry, and what the outer layer and the handler-side extractors read.
pub(crate) struct Context {
    routes: Vec<RouteContext>,
    /// The entries of each annotated handler, by its type: one per path it is routed on.
    by_handler: HashMap<TypeId, Vec<usize>>,
    /// Every route's method and path pattern, for CORS preflights.
    route_methods: Vec<(Method, String)>,
    settings: Arc<Settings>,
}

/// The router-wide settings requests read, taken once from [`Security`] when the router
/// is built (the defaults when it has none).
pub(crate) struct Settings {
    session_cookie: Option<SessionCookie>,
    max_token_bytes: usize,
    proxies: Proxies,
    revocations: Option<Arc<RevocationStore>>,
    principal_check: Option<Arc<PrincipalCheck>>,
    hide_forbidden: bool,
    own_origin: Option<HeaderValue>,
    cors: Option<CorsPolicy>,
    /// Failed authentications per client address.
    failed_auth: Option<RouteLimiter>,
    hsts: Option<HeaderValue>,
    error_body: Option<Arc<dyn ErrorBody>>,
    /// The body limit of requests outside any route's entry.
    body_limit: usize,
    /// The application's spelling of a body field as a limit's key, when it gives one.
    limit_key: Option<LimitKeyNormalizer>,
    /// Signs device credentials, when the settings give a secret for them.
    devices: Option<Arc<DeviceKey>>,
    /// The permission engine, for `can`.
    permissions: Option<Engine>,
}

impl Settings {
    fn of(security: Option<&Security>) -> Settings {
        match security {
            None => Settings {
                session_cookie: None,
                max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
                proxies: Proxies::default(),
                revocations: None,
                principal_check: None,
                hide_forbidden: false,
                own_origin: None,
                cors: None,
                failed_auth: None,
                hsts: None,
                error_body: None,
                body_limit: DEFAULT_BODY_LIMIT,
                limit_key: None,
                devices: None,
                permissions: None,
            },
            Some(security) => Settings {
                session_cookie: security.session_cookie.clone(),
                max_token_bytes: security.max_token_bytes,
                proxies: security.proxies.clone(),
                revocations: security.revocations.clone(),
                principal_check: security.principal_check.clone(),
                hide_forbidden: security.hide_forbidden,
                own_origin: security.own_origin.clone(),
                cors: security.cors.clone(),
                failed_auth: None,
                hsts: security.hsts.clone(),
                error_body: security.error_body.clone(),
                body_limit: security.body_limit.unwrap_or(DEFAULT_BODY_LIMIT),
                limit_key: security.limit_key.clone(),
                devices: security.devices.clone(),
                permissions: security.permissions.clone(),
            },
        }
    }
}

/// What one route (one handler on one path) enforces with: everything its steps read.
pub(crate) struct RouteContext {
    path: String,
    /// The authenticator of an `auth` or `optional_auth` route, and where it reads the
    /// credential.
    authenticator: Option<(Arc<dyn DynAuthenticator>, Credential)>,
    limits: Option<RouteLimits>,
    body_limit: usize,
    /// The permits of `concurrency`, one per request the handler may serve at once.
    permits: Option<Arc<tokio::sync::Semaphore>>,
    settings: Arc<Settings>,
    /// The route's counters (DESIGN §18).
    metrics: Arc<RouteMetrics>,
}

impl RouteContext {
    /// The authenticator of an `auth` route, and where it reads the credential.
    pub(crate) fn authenticator(&self) -> Option<(&dyn DynAuthenticator, &Credential)> {
        self.authenticator
            .as_ref()
            .map(|(authenticator, credential)| (&**authenticator, credential))
    }

    /// The route's counters.
    pub(crate) fn metrics(&self) -> Arc<RouteMetrics> {
        Arc::clone(&self.metrics)
    }

    /// The route's limits, when its policy has any.
    pub(crate) fn limits(&self) -> Option<&RouteLimits> {
        self.limits.as_ref()
    }

    /// The largest body `validate` reads on this route.
    pub(crate) fn body_limit(&self) -> usize {
        self.body_limit
    }

    /// The permits of `concurrency`, when the route has it.
    pub(crate) fn permits(&self) -> Option<&Arc<tokio::sync::Semaphore>> {
        self.permits.as_ref()
    }

    /// The cookie a browser's token may travel in, when the settings accept one.
    pub(crate) fn session_cookie(&self) -> Option<&SessionCookie> {
        self.settings.session_cookie.as_ref()
    }

    /// The longest credential read.
    pub(crate) fn max_token_bytes(&self) -> usize {
        self.settings.max_token_bytes
    }

    /// Whose forwarding header is believed, to find the client's address.
    pub(crate) fn proxies(&self) -> &Proxies {
        &self.settings.proxies
    }

    /// The limit of failed authentications per client address, when configured.
    pub(crate) fn failed_auth(&self) -> Option<&RouteLimiter> {
        self.settings.failed_auth.as_ref()
    }

    /// The revocations a token is checked against, when configured.
    pub(crate) fn revocations(&self) -> Option<&RevocationStore> {
        self.settings.revocations.as_deref()
    }

    /// The application's check that a principal is still served, when configured.
    pub(crate) fn principal_check(&self) -> Option<&PrincipalCheck> {
        self.settings.principal_check.as_deref()
    }

    /// Whether someone else's resource is answered 404 rather than 403.
    pub(crate) fn hides_forbidden(&self) -> bool {
        self.settings.hide_forbidden
    }

    /// The service's own origin, when configured (else the request's `Host` is).
    pub(crate) fn own_origin(&self) -> Option<&HeaderValue> {
        self.settings.own_origin.as_ref()
    }

    /// A body field as the route's limits count it: the application's spelling, or the
    /// default one.
    pub(crate) fn limit_key(&self, field: &str) -> String {
        match &self.settings.limit_key {
            Some(normalize) => normalize(field),
            None => crate::rate::normalize_input(field),
        }
    }

    /// The permission engine, for `can`.
    pub(crate) fn permissions(&self) -> Option<&dyn PermissionEngine> {
        self.settings.permissions.as_deref()
    }

    /// The key device credentials are signed with, when the settings give one.
    pub(crate) fn devices(&self) -> Option<&DeviceKey> {
        self.settings.devices.as_deref()
    }

    /// Whether the CORS settings list `origin`.
    pub(crate) fn cors_lists(&self, origin: &[u8]) -> bool {
        self.settings
            .cors
            .as_ref()
            .is_some_and(|cors| cors.lists(origin))
    }
}

const NEEDS_CONNECT_INFO: &str = "the client address (it counts a limit per address), but the router is not served with connection info: serve it with `secure_endpoint::serve` or `into_make_service_with_connect_info::<SocketAddr>()`";

/// What the framework's layer gives each request, as one extension: the request's id,
/// the router's context, and once the authentication step verified one, the caller.
/// Only this crate writes it, so a principal some other layer inserted (a tracing layer
/// decoding tokens without verifying them) is never handed to a handler.
#[derive(Clone)]
pub(crate) struct RequestContext {
    pub(crate) id: RequestId,
    pub(crate) context: Arc<Context>,
    pub(crate) caller: Option<Caller>,
}

impl Context {
    /// Checks that every route's policy has the settings it needs, and builds each
    /// route's entry. `connect_info` says whether requests will carry the client's
    /// address.
    pub(crate) fn build(
        security: Option<&Security>,
        routes: &[RouteEntry],
        connect_info: bool,
    ) -> Result<Context, SetupError> {
        let limiter = security.and_then(|s| s.limiter.as_ref());
        let mut settings = Settings::of(security);
        let has_auth_route = routes.iter().any(|route| {
            matches!(route.policy, RoutePolicy::Declared(policy)
                if policy.requires_auth() || policy.allows_optional_auth())
        });
        let failed_auth = security.and_then(|s| s.failed_auth).zip(limiter);
        if has_auth_route && let Some((rate, limiter)) = failed_auth {
            settings.failed_auth = Some(limiter.build(rate, "failed-auth"));
        }
        let settings = Arc::new(settings);
        let mut context = Context {
            routes: Vec::new(),
            by_handler: HashMap::new(),
            route_methods: routes.iter().flat_map(route_methods).collect(),
            settings: Arc::clone(&settings),
        };
        crate::metrics::describe();
        let mut groups = Groups::new();
        let mut names = NamesInUse::new(security.map(|s| &s.declared));
        for route in routes {
            let RoutePolicy::Declared(policy) = route.policy else {
                continue;
            };
            let label = format!("{} {}", route.method, route.path);
            let guarded_roles = route.guards.body.iter().chain(route.guards.response);
            names.check(policy, guarded_roles.filter_map(|key| key.role), &label)?;
            let authenticator = if policy.requires_auth() || policy.allows_optional_auth() {
                let authenticator = security
                    .and_then(|s| s.authenticator_for(policy.authenticator()))
                    .ok_or_else(|| match policy.authenticator() {
                        Some(name) => SetupError::UnknownAuthenticator {
                            route: label.clone(),
                            name: name.to_owned(),
                        },
                        None => SetupError::Missing {
                            route: label.clone(),
                            needs: "an authenticator (for `auth`)",
                        },
                    })?;
                let (produced, produced_name) = authenticator.principal_type();
                for (wanted, wanted_name) in (route.principals)() {
                    if wanted != produced {
                        return Err(SetupError::PrincipalMismatch {
                            route: label,
                            handler: route.handler.unwrap_or("?"),
                            wanted: wanted_name,
                            produced: produced_name,
                        });
                    }
                }
                let credential = authenticator.credential();
                Some((Arc::clone(authenticator), credential))
            } else {
                None
            };
            if let Some((action, on)) = policy.permission() {
                let Some(engine) = settings.permissions.as_deref() else {
                    return Err(SetupError::Missing {
                        route: label,
                        needs: "a permission engine (for `can`): `Security::builder().permissions(Cedar::new(policies, schema)?)`",
                    });
                };
                crate::permission::check_route(engine, &label, action, on)?;
            }
            if policy.limits().len() > 64 {
                return Err(SetupError::InvalidSetting {
                    setting: "limit",
                    reason: format!("route `{label}` has more than 64 limits"),
                });
            }
            if !policy.limits().is_empty() && limiter.is_none() {
                return Err(SetupError::Missing {
                    route: label,
                    needs: "a rate limiter (for `rate`): `Security::builder().rate_limiter(Limiter::memory())`",
                });
            }
            if policy.limits().iter().any(|limit| limit.excepts_devices())
                && settings.devices.is_none()
            {
                return Err(SetupError::Missing {
                    route: label,
                    needs: "a secret for device credentials (for `except = \"device\"`): `Security::builder().device_credentials(secret)`",
                });
            }
            if policy
                .limits()
                .iter()
                .any(|limit| matches!(limit.key(), RateKey::Ip | RateKey::Caller))
                && !connect_info
            {
                return Err(SetupError::Missing {
                    route: label,
                    needs: NEEDS_CONNECT_INFO,
                });
            }
            let Some(handler) = route.handler_type else {
                continue;
            };
            // One entry per route (path): the same handler on two paths counts twice.
            let entries = context.by_handler.entry(handler).or_default();
            if entries
                .iter()
                .any(|&index| context.routes[index].path == route.path)
            {
                continue;
            }
            entries.push(context.routes.len());
            context.routes.push(RouteContext {
                path: route.path.clone(),
                authenticator,
                limits: match limiter {
                    Some(limiter) if !policy.limits().is_empty() => {
                        Some(arm(policy.limits(), limiter, &label, &mut groups)?)
                    }
                    _ => None,
                },
                body_limit: route.body_limit.unwrap_or(settings.body_limit),
                permits: policy
                    .concurrency()
                    .map(|n| Arc::new(tokio::sync::Semaphore::new(n as usize))),
                settings: Arc::clone(&settings),
                metrics: Arc::new(RouteMetrics::new(
                    label.clone(),
                    policy.limits().iter().map(Limit::name).collect(),
                )),
            });
        }
        names.log_when_undeclared();
        if settings.failed_auth.is_some() && !connect_info {
            return Err(SetupError::Missing {
                route: "(failed authentications)".to_owned(),
                needs: NEEDS_CONNECT_INFO,
            });
        }
        Ok(context)
    }

    /// The index of the entry of `handler` routed on `path` (the matched path, absent for
    /// the fallback): the only entry when the handler is routed once.
    pub(crate) fn route_index(&self, handler: TypeId, path: Option<&str>) -> Option<usize> {
        match self.by_handler.get(&handler)?.as_slice() {
            [only] => Some(*only),
            entries => entries
                .iter()
                .copied()
                .find(|&index| Some(self.routes[index].path.as_str()) == path),
        }
    }

    /// The entry at `index`, as [`route_index`](Self::route_index) found it.
    pub(crate) fn route(&self, index: usize) -> &RouteContext {
        &self.routes[index]
    }

    /// The body limit of requests outside any route's entry.
    pub(crate) fn default_body_limit(&self) -> usize {
        self.settings.body_limit
    }

    /// The CORS settings, for the outer layer.
    pub(crate) fn cors(&self) -> Option<&CorsPolicy> {
        self.settings.cors.as_ref()
    }

    /// `Strict-Transport-Security`, when configured.
    pub(crate) fn hsts(&self) -> Option<&HeaderValue> {
        self.settings.hsts.as_ref()
    }

    /// The application's own shape of error bodies, when configured.
    pub(crate) fn error_body(&self) -> Option<&Arc<dyn ErrorBody>> {
        self.settings.error_body.as_ref()
    }

    /// The revocations, for the [`Revoker`](crate::Revoker).
    pub(crate) fn revocations(&self) -> Option<&Arc<RevocationStore>> {
        self.settings.revocations.as_ref()
    }

    /// The principal check, for the [`Revoker`](crate::Revoker).
    pub(crate) fn principal_check(&self) -> Option<&Arc<PrincipalCheck>> {
        self.settings.principal_check.as_ref()
    }

    /// The methods the route table has for `path`, if any route's pattern matches it
    /// (`{name}` matches one segment, `{*name}` the rest).
    pub(crate) fn methods_of(&self, path: &str) -> Option<Vec<Method>> {
        methods_of(&self.route_methods, path)
    }
}

/// The limiters of every group, by name, with the limit and the route that declared it
/// first.
type Groups = HashMap<&'static str, (Limit, String, Arc<RouteLimiter>)>;

/// A limiter for each of a route's limits: its own, or its group's. Every route naming
/// a group must declare the same limit there; a difference stops the program, naming
/// both routes.
fn arm(
    declared: &'static [Limit],
    limiter: &Limiter,
    route: &str,
    groups: &mut Groups,
) -> Result<RouteLimits, SetupError> {
    let mut armed = Vec::with_capacity(declared.len());
    for limit in declared {
        let counter = match limit.group() {
            Some(group) => match groups.get(group) {
                Some((first, _, counter)) if first == limit => Arc::clone(counter),
                Some((first, first_route, _)) => {
                    return Err(SetupError::InvalidSetting {
                        setting: "limit(group)",
                        reason: format!(
                            "the routes of group {group:?} declare different limits: {first_route} has `{first}`, {route} has `{limit}`; every route of a group declares the same rate, key and `on`"
                        ),
                    });
                }
                None => {
                    let counter = Arc::new(limiter.build(limit.rate(), &format!("group:{group}")));
                    groups.insert(group, (*limit, route.to_owned(), Arc::clone(&counter)));
                    counter
                }
            },
            None => {
                let namespace = match limit.counts() {
                    Counts::Any => route.to_owned(),
                    Counts::Failure => format!("{route}:failures"),
                };
                Arc::new(limiter.build(limit.rate(), &namespace))
            }
        };
        armed.push(Armed {
            limit: *limit,
            limiter: counter,
        });
    }
    Ok(RouteLimits::new(declared, armed))
}

/// The methods a route answers, with its pattern: every common one for `ANY` (or a
/// route whose methods the router cannot see).
fn route_methods(route: &RouteEntry) -> Vec<(Method, String)> {
    let methods = match route.method.as_str() {
        "ANY" | "*" => vec![
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ],
        method => Method::from_bytes(method.as_bytes()).into_iter().collect(),
    };
    methods
        .into_iter()
        .map(|method| (method, route.path.clone()))
        .collect()
}

/// The methods of the routes whose pattern matches `path`, from the route table's
/// `(method, pattern)` rows.
fn methods_of(routes: &[(Method, String)], path: &str) -> Option<Vec<Method>> {
    let mut methods: Vec<Method> = routes
        .iter()
        .filter(|(_, pattern)| matches(pattern, path))
        .map(|(method, _)| method.clone())
        .collect();
    if methods.is_empty() {
        return None;
    }
    if methods.contains(&Method::GET) && !methods.contains(&Method::HEAD) {
        methods.push(Method::HEAD);
    }
    methods.dedup();
    Some(methods)
}

fn matches(pattern: &str, path: &str) -> bool {
    let mut pattern = pattern.split('/');
    let mut path = path.split('/');
    loop {
        match (pattern.next(), path.next()) {
            (None, None) => return true,
            (Some(p), _) if p.starts_with("{*") => return true,
            (Some(p), Some(s)) if p.starts_with('{') && p.ends_with('}') && !s.is_empty() => {}
            (Some(p), Some(s)) if p == s => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::methods_of;

    #[test]
    fn paths_find_their_route_methods() {
        let routes = vec![
            (Method::GET, "/posts".to_owned()),
            (Method::POST, "/posts".to_owned()),
            (Method::PUT, "/posts/{id}".to_owned()),
            (Method::GET, "/files/{*rest}".to_owned()),
        ];
        assert_eq!(
            methods_of(&routes, "/posts"),
            Some(vec![Method::GET, Method::POST, Method::HEAD])
        );
        assert_eq!(methods_of(&routes, "/posts/7"), Some(vec![Method::PUT]));
        assert_eq!(methods_of(&routes, "/posts/"), None);
        assert_eq!(methods_of(&routes, "/posts/7/x"), None);
        assert!(methods_of(&routes, "/files/a/b").is_some());
        assert_eq!(methods_of(&routes, "/nowhere"), None);
    }
}
