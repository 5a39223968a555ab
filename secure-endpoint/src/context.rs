//! What a router enforces with, built once when it is served: the security settings, and
//! one entry per route (its limiter and its body limit). The startup checks live here:
//! a route whose policy needs a setting that was not given stops the program before it
//! serves, naming the route. A request reaches its route's entry one way, through the
//! context the outer layer hands it ([`crate::pipeline`]).

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::Arc;

use crate::auth::{Credential, DynAuthenticator};
use crate::input::DEFAULT_BODY_LIMIT;
use crate::inventory::{RouteEntry, RoutePolicy};
use crate::rate::{Armed, Counts, Limit, Limiter, RateKey, RouteLimiter, RouteLimits};
use crate::security::Security;
use crate::setup_error::SetupError;

/// The settings and every route's entry.
pub(crate) struct Context {
    security: Option<Arc<Security>>,
    routes: Vec<RouteContext>,
    /// The entries of each annotated handler, by its type: one per path it is routed on.
    by_handler: HashMap<TypeId, Vec<usize>>,
    /// Failed authentications per client address.
    failed_auth: Option<RouteLimiter>,
    /// Every route's method and path pattern, for CORS preflights.
    route_methods: Vec<(http::Method, String)>,
}

/// What one route (one handler on one path) enforces with.
pub(crate) struct RouteContext {
    path: String,
    /// The authenticator of an `auth` route, and where it reads the credential.
    authenticator: Option<(Arc<dyn DynAuthenticator>, Credential)>,
    limits: Option<RouteLimits>,
    body_limit: usize,
    /// The permits of `concurrency`, one per request the handler may serve at once.
    permits: Option<Arc<tokio::sync::Semaphore>>,
}

impl RouteContext {
    /// The authenticator of an `auth` route, and where it reads the credential.
    pub(crate) fn authenticator(&self) -> Option<(&dyn DynAuthenticator, &Credential)> {
        self.authenticator
            .as_ref()
            .map(|(authenticator, credential)| (&**authenticator, credential))
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
}

const NEEDS_CONNECT_INFO: &str = "the client address (it counts a limit per address), but the router is not served with connection info: serve it with `secure_endpoint::serve` or `into_make_service_with_connect_info::<SocketAddr>()`";

/// What the framework's layer gives each request, as one extension: the request's id and
/// the router's context.
#[derive(Clone)]
pub(crate) struct RequestContext {
    pub(crate) id: crate::request_id::RequestId,
    pub(crate) context: Arc<Context>,
}

impl Context {
    /// Checks that every route's policy has the settings it needs, and builds each
    /// route's entry. `connect_info` says whether requests will carry the client's
    /// address.
    pub(crate) fn build(
        security: Option<Arc<Security>>,
        routes: &[RouteEntry],
        connect_info: bool,
    ) -> Result<Context, SetupError> {
        let settings = security.as_deref();
        let limiter = settings.and_then(|s| s.limiter.as_ref());
        let default_body_limit = settings
            .and_then(|s| s.body_limit)
            .unwrap_or(DEFAULT_BODY_LIMIT);
        let mut context = Context {
            security: None,
            routes: Vec::new(),
            by_handler: HashMap::new(),
            failed_auth: None,
            route_methods: routes.iter().flat_map(route_methods).collect(),
        };
        let mut has_auth_route = false;
        let mut groups = Groups::new();
        for route in routes {
            let RoutePolicy::Declared(policy) = route.policy else {
                continue;
            };
            let label = format!("{} {}", route.method, route.path);
            let authenticator = if policy.requires_auth() || policy.allows_optional_auth() {
                has_auth_route = true;
                let authenticator = settings
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
            if !policy.limits().is_empty() && limiter.is_none() {
                return Err(SetupError::Missing {
                    route: label,
                    needs: "a rate limiter (for `rate`): `Security::builder().rate_limiter(Limiter::memory())`",
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
                body_limit: route.body_limit.unwrap_or(default_body_limit),
                permits: policy
                    .concurrency()
                    .map(|n| Arc::new(tokio::sync::Semaphore::new(n as usize))),
            });
        }
        context.failed_auth = match (settings.and_then(|s| s.failed_auth), limiter) {
            (Some(rate), Some(limiter)) if has_auth_route => {
                if !connect_info {
                    return Err(SetupError::Missing {
                        route: "(failed authentications)".to_owned(),
                        needs: NEEDS_CONNECT_INFO,
                    });
                }
                Some(limiter.build(rate, "failed-auth"))
            }
            _ => None,
        };
        context.security = security;
        Ok(context)
    }

    /// The security settings, when the router was given some.
    pub(crate) fn security(&self) -> Option<&Security> {
        self.security.as_deref()
    }

    /// The same, shared.
    pub(crate) fn security_arc(&self) -> Option<Arc<Security>> {
        self.security.clone()
    }

    /// The limit of failed authentications per client address, when configured.
    pub(crate) fn failed_auth(&self) -> Option<&RouteLimiter> {
        self.failed_auth.as_ref()
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

    /// The methods the route table has for `path`, if any route matches it.
    pub(crate) fn methods_of(&self, path: &str) -> Option<Vec<http::Method>> {
        crate::cors::methods_of(&self.route_methods, path)
    }

    /// The body limit of requests outside any route's entry.
    pub(crate) fn default_body_limit(&self) -> usize {
        self.security()
            .and_then(|s| s.body_limit)
            .unwrap_or(DEFAULT_BODY_LIMIT)
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
fn route_methods(route: &RouteEntry) -> Vec<(http::Method, String)> {
    use http::Method;
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
