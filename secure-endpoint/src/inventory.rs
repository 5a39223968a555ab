//! The list of every route a router serves, with its policy.

use std::fmt;

use serde::Serialize;

use crate::auth::Credential;
use crate::description::SecurityDescription;
use crate::handler::{Guards, SecureHandler};
use crate::policy::{Policy, Served};
use crate::routing::Endpoint;
use crate::schema::Schemas;

/// Every route of a [`SecureRouter`](crate::SecureRouter): method, path and policy.
///
/// It prints as a table and serializes to JSON.
///
/// ```
/// use secure_endpoint::routing::get;
/// use secure_endpoint::{SecureRouter, public};
///
/// #[public(reason = "health checks")]
/// async fn health() -> &'static str { "ok" }
///
/// let app: SecureRouter = SecureRouter::new().route("/health", get(health));
/// let inventory = app.inventory();
/// assert_eq!(inventory.routes().len(), 1);
/// assert!(inventory.to_string().contains("GET     /health  health   public (health checks)"));
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct Inventory {
    routes: Vec<RouteEntry>,
    /// Where each authenticator of the settings reads its credential: `None` names the
    /// default one (plain `auth`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authenticators: Vec<AuthenticatorEntry>,
    /// What browser front ends are allowed, when the settings allow any.
    #[serde(skip_serializing_if = "Option::is_none")]
    browsers: Option<BrowserEntry>,
    /// The revocations are shared and fail closed (503 while they do not answer).
    #[serde(skip)]
    revocations_fail_closed: bool,
    /// The security lock's lines of the settings beyond the above.
    #[serde(skip)]
    settings: Vec<(&'static str, String)>,
}

/// The settings for browser front ends: the cookie the token may travel in, and the
/// origins CORS allows.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BrowserEntry {
    /// The session cookie's name; requests whose token came from it are checked for
    /// cross-site forgery on unsafe methods.
    pub session_cookie: Option<String>,
    /// The origins CORS allows (`["*"]` for any).
    pub cors_origins: Vec<String>,
    /// Whether those origins may send credentials.
    pub cors_credentials: bool,
}

/// One authenticator of the settings and the credential it reads.
#[derive(Debug, Clone, Serialize)]
pub struct AuthenticatorEntry {
    /// Its name (`auth = "name"`), or `None` for the default.
    pub name: Option<String>,
    /// Where it reads the credential, e.g. `Authorization: Bearer` or `header x-api-key`.
    pub credential: String,
    /// The header it reads, when not `Authorization: Bearer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// The cookie it also reads the token from, when the settings have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
}

/// One method of one path.
#[derive(Debug, Clone, Serialize)]
pub struct RouteEntry {
    /// `GET`, `POST`, …, `ANY`, or `*` for routes whose methods the router cannot see.
    pub method: String,
    /// The path as routed, with nesting prefixes applied.
    pub path: String,
    /// The handler's name, when the route has an annotated handler.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler: Option<&'static str>,
    /// What the route enforces.
    pub policy: RoutePolicy,
    /// The guarded fields of the handler's body and answer.
    #[serde(skip_serializing_if = "Guards::is_empty")]
    pub guards: Guards,
    #[serde(skip)]
    pub(crate) handler_type: Option<std::any::TypeId>,
    /// The route's own body limit, when it sets one.
    #[serde(skip)]
    pub(crate) body_limit: Option<usize>,
    /// The principal types the handler takes.
    #[serde(skip)]
    pub(crate) principals: fn() -> Vec<(std::any::TypeId, &'static str)>,
    /// The schemas of the handler's inputs and answer, for the OpenAPI document.
    #[serde(skip)]
    pub(crate) schemas: fn() -> crate::schema::Schemas,
}

/// The policy of one route.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum RoutePolicy {
    /// Declared with `#[secure]` or `#[public]`.
    Declared(&'static Policy),
    /// Added through an explicit opt-out: nothing is enforced by this crate.
    Unchecked {
        /// Why the route is served without a declared policy.
        reason: String,
    },
}

impl RouteEntry {
    /// The row of an annotated handler routed on `path`.
    pub(crate) fn declared(endpoint: &Endpoint, path: &str) -> RouteEntry {
        RouteEntry {
            method: endpoint.method.to_owned(),
            path: path.to_owned(),
            handler: Some(endpoint.handler),
            policy: RoutePolicy::Declared(endpoint.policy),
            handler_type: Some(endpoint.handler_type),
            body_limit: endpoint.body_limit,
            principals: endpoint.principals,
            guards: endpoint.guards,
            schemas: endpoint.schemas,
        }
    }

    /// The row of the router's fallback, handler `H`.
    pub(crate) fn fallback<H: SecureHandler>() -> RouteEntry {
        RouteEntry {
            method: "*".to_owned(),
            path: "(fallback)".to_owned(),
            handler: Some(H::NAME),
            policy: RoutePolicy::Declared(H::POLICY),
            handler_type: Some(std::any::TypeId::of::<H>()),
            body_limit: None,
            principals: H::requested_principals,
            guards: H::guarded_keys(),
            schemas: H::schemas,
        }
    }

    /// The row of an explicit opt-out: `path` served without a declared policy.
    pub(crate) fn unchecked(path: &str, reason: &str) -> RouteEntry {
        RouteEntry {
            method: "*".to_owned(),
            path: path.to_owned(),
            handler: None,
            policy: RoutePolicy::Unchecked {
                reason: reason.to_owned(),
            },
            handler_type: None,
            body_limit: None,
            principals: Vec::new,
            guards: Guards::default(),
            schemas: Schemas::default,
        }
    }
}

impl Inventory {
    /// What serving `route` with `method` adds to its policy's refusals.
    pub(crate) fn served(&self, route: &RouteEntry, method: &http::Method) -> Served {
        let RoutePolicy::Declared(policy) = route.policy else {
            return Served::default();
        };
        let cookie = self
            .authenticator(policy.authenticator())
            .is_some_and(|a| a.cookie.is_some());
        let authenticates = policy.requires_auth() || policy.allows_optional_auth();
        let safe = matches!(
            *method,
            http::Method::GET | http::Method::HEAD | http::Method::OPTIONS | http::Method::TRACE
        );
        Served {
            body_guarded: !route.guards.body.is_empty(),
            csrf_checked: cookie && authenticates && !safe,
            revocations_fail_closed: self.revocations_fail_closed,
        }
    }

    /// The inventory of `routes` served with the settings `described`: every route, and
    /// where each authenticator of the settings reads its credential.
    pub(crate) fn of(routes: Vec<RouteEntry>, described: Option<&SecurityDescription>) -> Self {
        let cookie = described.and_then(|d| d.session_cookie.clone());
        let authenticators = described
            .map(|d| d.authenticators.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|(name, credential)| AuthenticatorEntry {
                name: name.clone(),
                header: match credential {
                    Credential::Header(header) => Some(header.to_string()),
                    Credential::Bearer => None,
                },
                cookie: match credential {
                    Credential::Bearer => cookie.clone(),
                    Credential::Header(_) => None,
                },
                credential: credential.to_string(),
            })
            .collect();
        let browsers = described.and_then(|d| {
            (d.session_cookie.is_some() || d.cors.is_some()).then(|| BrowserEntry {
                session_cookie: cookie.clone(),
                cors_origins: d.cors.as_ref().map(|c| c.0.clone()).unwrap_or_default(),
                cors_credentials: d.cors.as_ref().is_some_and(|c| c.1),
            })
        });
        Inventory {
            routes,
            authenticators,
            browsers,
            revocations_fail_closed: described.is_some_and(|d| d.revocations_fail_closed),
            settings: described.map(|d| d.settings.clone()).unwrap_or_default(),
        }
    }

    /// The settings for browser front ends, when there are any.
    pub fn browsers(&self) -> Option<&BrowserEntry> {
        self.browsers.as_ref()
    }

    /// The routes, in the order they were added.
    pub fn routes(&self) -> &[RouteEntry] {
        &self.routes
    }

    /// The authenticators of the settings and the credential each reads.
    pub fn authenticators(&self) -> &[AuthenticatorEntry] {
        &self.authenticators
    }

    /// The authenticator a route with `name` (`auth = "name"`, or `None`) uses.
    pub(crate) fn authenticator(&self, name: Option<&str>) -> Option<&AuthenticatorEntry> {
        self.authenticators
            .iter()
            .find(|a| a.name.as_deref() == name)
    }

    /// The lock's lines of the settings beyond the authenticators and the browsers'.
    pub(crate) fn settings_lines(&self) -> &[(&'static str, String)] {
        &self.settings
    }

    /// The inventory as a JSON value.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("the inventory is plain data")
    }
}

impl fmt::Display for RoutePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoutePolicy::Declared(policy) => write!(f, "{policy}"),
            RoutePolicy::Unchecked { reason } => write!(f, "UNCHECKED ({reason})"),
        }
    }
}

/// A table with the columns METHOD, PATH, HANDLER, POLICY.
impl fmt::Display for Inventory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<[String; 4]> = self
            .routes
            .iter()
            .map(|r| {
                [
                    r.method.clone(),
                    r.path.clone(),
                    r.handler.unwrap_or("-").to_owned(),
                    match (r.guards.body, r.guards.response) {
                        ([], []) => r.policy.to_string(),
                        (body, response) => {
                            let names = |keys: &[crate::guard::GuardedKey]| {
                                keys.iter().map(|k| k.key).collect::<Vec<_>>().join(" ")
                            };
                            let mut text = r.policy.to_string();
                            if !body.is_empty() {
                                text.push_str(&format!(", guarded body {}", names(body)));
                            }
                            if !response.is_empty() {
                                text.push_str(&format!(", guarded answer {}", names(response)));
                            }
                            text
                        }
                    },
                ]
            })
            .collect();
        let header = ["METHOD", "PATH", "HANDLER", "POLICY"].map(str::to_owned);
        let mut widths = header.clone().map(|h| h.len());
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        for row in std::iter::once(&header).chain(&rows) {
            let line = format!(
                "{:<w0$}  {:<w1$}  {:<w2$}  {}",
                row[0],
                row[1],
                row[2],
                row[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
            );
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}
