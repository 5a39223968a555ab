//! The scanner's engine: the tokens it signs, how it sends a probe and reads the answer,
//! what every answer must be (security headers, the framework's error bodies, nothing
//! leaked by a 5xx), and the route dispatch that chooses which probes apply. The probes
//! themselves, one file per request step they attack, are in `probes/`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use super::report::{Finding, ScanReport};
use super::settings::ScanSettings;
use crate::guard::GuardedKey;
use crate::inventory::{Inventory, RouteEntry, RoutePolicy};
use crate::policy::Policy;
use crate::rejection::{self, ErrorBody, ErrorInfo};
use crate::revocation::RevocationStore;
use crate::sanitize::{DEFAULT_CACHE_CONTROL, SECURITY_HEADERS};

pub(super) struct Scanner {
    pub(super) settings: ScanSettings,
    pub(super) report: ScanReport,
    pub(super) router: Option<Router>,
    /// The application's own error body, when its settings have one.
    pub(super) error_body: Option<Arc<dyn ErrorBody>>,
    /// The router's revocations, when its settings have them: a token revoked there must
    /// be refused on every `auth` route.
    pub(super) revocations: Option<Arc<RevocationStore>>,
    /// What the router says of itself: its authenticators' cookies, its CORS settings.
    pub(super) inventory: Inventory,
    /// The tenant of the route being probed, when the settings give one.
    pub(super) route_tenant: Option<String>,
    /// What the router's permission engine answered, when its settings have one.
    pub(super) permits: Option<Arc<super::probes::Recorder>>,
    /// The refusals the route being probed lists ([`Policy::refusals`]): every refusal
    /// a probe sees must be one of them.
    pub(super) documented: Vec<StatusCode>,
}

/// A response as the scanner reads it.
pub(super) struct Seen {
    pub(super) status: StatusCode,
    pub(super) headers: http::HeaderMap,
    pub(super) body: String,
    /// The request was a HEAD: no body to judge.
    pub(super) head: bool,
}

/// Each probe comes from an address of its own (198.18.0.0/15, set aside for tests), so
/// one probe's limits do not answer another's.
pub(super) fn next_address() -> SocketAddr {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + (n & 0x1_ffff));
    SocketAddr::new(IpAddr::V4(ip), 40000)
}

impl Scanner {
    pub(in crate::testing::scan) fn find(
        &mut self,
        route: &str,
        case: &str,
        detail: impl Into<String>,
    ) {
        self.report.findings.push(Finding {
            route: route.to_owned(),
            case: case.to_owned(),
            detail: detail.into(),
        });
    }

    /// A token for `sub` with `roles` (and no scope), in the route's tenant.
    pub(in crate::testing::scan) fn token(&self, sub: &str, roles: &[&str]) -> Option<String> {
        let mint = self.settings.mint.as_ref()?;
        let mut claims = mint.claims(sub, roles);
        self.put_in_tenant(&mut claims, None);
        Some(mint.sign(&claims))
    }

    /// A token holding the roles and every scope of `policy`, so that only the step
    /// under test can refuse it.
    pub(in crate::testing::scan) fn privileged_token(
        &self,
        sub: &str,
        policy: &Policy,
    ) -> Option<String> {
        self.token_in_tenant(sub, policy, None)
    }

    /// The served principal's id, or `invented`.
    pub(in crate::testing::scan) fn principal_or(&self, invented: &str) -> String {
        self.settings
            .principal
            .clone()
            .unwrap_or_else(|| invented.to_owned())
    }

    /// The second principal's id.
    pub(in crate::testing::scan) fn intruder(&self) -> String {
        self.settings
            .intruder
            .clone()
            .unwrap_or_else(|| "scan-intruder".to_owned())
    }

    /// A token holding the roles and scopes of `policy`, in `tenant` (or in the tenant of
    /// the route's fixture, when one is given and `tenant` is not).
    pub(in crate::testing::scan) fn token_in_tenant(
        &self,
        sub: &str,
        policy: &Policy,
        tenant: Option<&str>,
    ) -> Option<String> {
        let claims = self.claims_in_tenant(sub, policy, tenant)?;
        Some(self.settings.mint.as_ref()?.sign(&claims))
    }

    /// The claims [`token_in_tenant`](Self::token_in_tenant) signs.
    pub(in crate::testing::scan) fn claims_in_tenant(
        &self,
        sub: &str,
        policy: &Policy,
        tenant: Option<&str>,
    ) -> Option<Value> {
        let mint = self.settings.mint.as_ref()?;
        let mut claims = mint.claims(sub, policy.roles());
        if !policy.scopes().is_empty() {
            claims["scope"] = Value::String(policy.scopes().join(" "));
        }
        self.put_in_tenant(&mut claims, tenant);
        Some(claims)
    }

    /// Writes the tenant claim into `claims`, when the settings name one: `tenant`, else
    /// the route's fixture's, else the first fixture's. A principal type that requires its
    /// tenant then reads every token the scanner signs, not only the tenant probes'.
    fn put_in_tenant(&self, claims: &mut Value, tenant: Option<&str>) {
        let Some(claim) = &self.settings.tenant_claim else {
            return;
        };
        let tenant = tenant
            .or(self.route_tenant.as_deref())
            .or_else(|| self.settings.tenants.values().next().map(String::as_str))
            .unwrap_or("scan-tenant");
        claims[claim.as_str()] = Value::String(tenant.to_owned());
    }

    pub(in crate::testing::scan) async fn send(
        &mut self,
        label: &str,
        case: &str,
        request: Request<Body>,
        from: SocketAddr,
    ) -> Option<Seen> {
        let mut request = request;
        let head = request.method() == Method::HEAD;
        request.extensions_mut().insert(ConnectInfo(from));
        let router = self.router.clone()?;
        self.report.requests += 1;
        *self.report.cases.entry(case.to_owned()).or_default() += 1;
        let response = match router.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let (parts, body) = response.into_parts();
        let bytes = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let seen = Seen {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            head,
        };
        self.check_every_response(label, case, &seen);
        Some(seen)
    }

    pub(in crate::testing::scan) fn check_every_response(
        &mut self,
        label: &str,
        case: &str,
        seen: &Seen,
    ) {
        for (name, value) in SECURITY_HEADERS.into_iter().chain([DEFAULT_CACHE_CONTROL]) {
            let present = seen.headers.get(name).and_then(|v| v.to_str().ok());
            // A handler may set its own Cache-Control; it must still be there.
            let ok = if name == DEFAULT_CACHE_CONTROL.0 {
                present.is_some()
            } else {
                present == Some(value)
            };
            if !ok {
                self.find(
                    label,
                    case,
                    format!("header {name} is {present:?}, want {value:?}"),
                );
            }
        }
        // A refusal a handler or an extractor wrote in its own words may quote the
        // input: every 4xx body must be the framework's shape, `{"error": …}` (400s
        // may add `details`), or the application's own error body. HEAD answers have
        // no body.
        if seen.status.is_client_error() && !seen.head {
            let shaped = match &self.error_body {
                Some(writer) => {
                    let content_type = seen
                        .headers
                        .get("content-type")
                        .and_then(|v| v.to_str().ok());
                    content_type == Some(writer.content_type())
                        && (seen.status == StatusCode::BAD_REQUEST
                            || seen.body.as_bytes() == self.refusal_body(seen.status).as_slice())
                }
                None => serde_json::from_str::<Value>(&seen.body)
                    .ok()
                    .is_some_and(|body| {
                        body.as_object().is_some_and(|o| {
                            o.get("error").is_some_and(Value::is_string)
                                && o.keys().all(|k| k == "error" || k == "details")
                        })
                    }),
            };
            if !shaped {
                self.find(
                    label,
                    case,
                    format!(
                        "a {} body is not the framework's error body: {:.200}",
                        seen.status, seen.body
                    ),
                );
            }
        }
        if seen.status.is_server_error() {
            let id = seen
                .headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok());
            let generic = match (&self.error_body, id) {
                (Some(writer), Some(id)) => {
                    seen.body.as_bytes()
                        == writer
                            .write(&ErrorInfo {
                                status: StatusCode::INTERNAL_SERVER_ERROR,
                                message: "An unexpected error occurred",
                                details: None,
                                request_id: Some(id),
                            })
                            .as_slice()
                }
                (Some(_), None) => false,
                (None, _) => serde_json::from_str::<Value>(&seen.body)
                    .ok()
                    .is_some_and(|body| {
                        body.as_object().is_some_and(|o| {
                            o.len() == 2
                                && o.get("request_id").is_some_and(Value::is_string)
                                && o.get("error").and_then(Value::as_str)
                                    == Some("An unexpected error occurred")
                        })
                    }),
            };
            if !generic {
                self.find(
                    label,
                    case,
                    format!(
                        "a {} response leaks its body: {:.200}",
                        seen.status, seen.body
                    ),
                );
            }
        }
    }

    /// The body the framework answers `status` with: its own JSON, or the application's.
    pub(in crate::testing::scan) fn refusal_body(&self, status: StatusCode) -> Vec<u8> {
        match &self.error_body {
            Some(writer) => writer.write(&ErrorInfo {
                status,
                message: rejection::message(status),
                details: None,
                request_id: None,
            }),
            None => rejection::fixed_body(status).to_vec(),
        }
    }

    pub(in crate::testing::scan) fn expect(
        &mut self,
        label: &str,
        case: &str,
        seen: Option<Seen>,
        allowed: &[StatusCode],
        body_of: Option<StatusCode>,
    ) {
        let Some(seen) = seen else { return };
        let body =
            body_of.map(|status| String::from_utf8_lossy(&self.refusal_body(status)).into_owned());
        if !allowed.contains(&seen.status) {
            self.find(
                label,
                case,
                format!(
                    "answered {}, want {:?}",
                    seen.status,
                    allowed.iter().map(|s| s.as_u16()).collect::<Vec<_>>()
                ),
            );
        } else if (seen.status.is_client_error() || seen.status.is_server_error())
            && !self.documented.contains(&seen.status)
        {
            // A refusal the policy enforces but does not list: its documents (the
            // OpenAPI answers) would not say it.
            self.find(
                label,
                case,
                format!(
                    "answered {}, which the route's policy does not list among its refusals {:?}",
                    seen.status,
                    self.documented
                        .iter()
                        .map(|s| s.as_u16())
                        .collect::<Vec<_>>()
                ),
            );
        } else if let Some(body) = body
            && seen.body != body
        {
            let body = &body;
            self.find(label, case, format!("body {:.200}, want {body}", seen.body));
        }
    }

    pub(in crate::testing::scan) async fn route(&mut self, route: &RouteEntry) {
        let label = format!("{} {}", route.method, route.path);
        let policy = match route.policy {
            RoutePolicy::Unchecked { ref reason } => {
                self.find(
                    &label,
                    "unchecked route",
                    format!("served without a declared policy ({reason})"),
                );
                // Still answered through the router: headers and 5xx bodies are checked.
                if route.path != "*" {
                    let path = self.concrete_path(&route.path);
                    let request = Request::get(path.as_str())
                        .body(Body::empty())
                        .expect("a valid request");
                    self.send(&label, "unchecked route", request, next_address())
                        .await;
                }
                return;
            }
            RoutePolicy::Declared(policy) => policy,
        };
        // The fallback answers every path no route matches: probed at one.
        let fallback = route.path == "(fallback)";
        let Some(method) = probe_method(&route.method, fallback) else {
            return;
        };
        self.documented = policy.refusals(self.inventory.served(route, &method));
        self.route_tenant = self.settings.tenants.get(&route.path).cloned();
        let path = if fallback {
            "/no-route-answers-this-scanner-path".to_owned()
        } else {
            self.concrete_path(&route.path)
        };
        let request = |token: Option<&str>| {
            let mut builder = Request::builder().method(method.clone()).uri(path.as_str());
            if let Some(token) = token {
                builder = builder.header("authorization", format!("Bearer {token}"));
            }
            builder.body(Body::empty()).expect("a valid request")
        };

        if !policy.requires_auth() {
            // Anyone may call it: one plain request, for what every response must be.
            self.send(&label, "plain request", request(None), next_address())
                .await;
        }
        if policy.requires_auth() {
            self.authentication(&label, policy, &request).await;
            // axum answers HEAD with the GET handler: the same policy applies.
            if method == Method::GET {
                let head = Request::head(path.as_str())
                    .body(Body::empty())
                    .expect("a valid request");
                let seen = self
                    .send(&label, "HEAD without a token", head, next_address())
                    .await;
                self.expect(
                    &label,
                    "HEAD without a token",
                    seen,
                    &[StatusCode::UNAUTHORIZED],
                    None,
                );
            }
        }
        if policy.requires_auth()
            && (!policy.roles().is_empty() || !policy.scopes().is_empty())
            && let Some(token) = self.token(&self.intruder(), &[])
        {
            let seen = self
                .send(
                    &label,
                    "valid token lacking the role or scope",
                    request(Some(&token)),
                    next_address(),
                )
                .await;
            self.expect(
                &label,
                "valid token lacking the role or scope",
                seen,
                &[StatusCode::FORBIDDEN],
                Some(StatusCode::FORBIDDEN),
            );
        }
        if policy.owner().is_some_and(|owner| !owner.contains("[]"))
            && self.settings.owners.contains_key(&route.path)
            && let Some(token) = self.privileged_token(&self.intruder(), policy)
        {
            let seen = self
                .send(
                    &label,
                    "another principal's resource",
                    request(Some(&token)),
                    next_address(),
                )
                .await;
            self.expect(
                &label,
                "another principal's resource",
                seen,
                &[StatusCode::FORBIDDEN, StatusCode::NOT_FOUND],
                None,
            );
        }
        // A route whose fixture names a tenant is held to it, whatever its policy says:
        // a route that lost its `tenant` check is found so.
        if policy.requires_auth()
            && (policy.owner().is_some()
                || policy.tenant().is_some()
                || self.route_tenant.is_some())
        {
            self.beyond_one_object(&label, route, policy, &request)
                .await;
        }
        self.permissions(&label, policy, &request).await;
        self.browsers(&label, policy, &method, &path).await;
        if method == Method::GET {
            let mut keys: Vec<GuardedKey> = route.guards.response.to_vec();
            keys.extend_from_slice(&self.settings.guarded);
            if !keys.is_empty() {
                self.guarded_fields(&label, policy, &keys, &request).await;
            }
        }
        if policy.validated_body().is_some() {
            self.bodies(&label, policy, route, &method, &path).await;
        }
        // The smallest limit that counts every request is burst past; a route with a
        // limit on a body field counts only valid bodies, which the scanner cannot write.
        // A limit that only reports never refuses: nothing to burst past.
        let counted = policy
            .limits()
            .iter()
            .filter(|limit| limit.counts() == crate::rate::Counts::Any && !limit.reports())
            .map(|limit| limit.rate().count())
            .min();
        let on_input = policy
            .limits()
            .iter()
            .any(|limit| matches!(limit.key(), crate::rate::RateKey::Input(_)));
        if let Some(count) = counted
            && !on_input
        {
            self.burst(&label, policy, count, &request).await;
        }
    }

    pub(in crate::testing::scan) fn concrete_path(&self, pattern: &str) -> String {
        if let Some(concrete) = self.settings.paths.get(pattern) {
            return concrete.clone();
        }
        pattern
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "1"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    }
}

fn probe_method(method: &str, fallback: bool) -> Option<Method> {
    match method {
        "ANY" => Some(Method::GET),
        "*" if fallback => Some(Method::GET),
        "*" => None,
        other => Method::from_bytes(other.as_bytes()).ok(),
    }
}
