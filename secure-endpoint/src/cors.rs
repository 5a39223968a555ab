//! Cross-origin requests from browser front ends: the allow-list in the security
//! settings, checked when they are built; preflights answered by the outer layer before
//! any policy step, with the methods the route table has for the path; and the CORS
//! headers on every response to an allowed origin, errors included.
//!
//! This file decides; it writes no response. The outer layer (`sanitize.rs`) answers a
//! preflight as [`Preflight`] says, and finding a path's methods is the route table's
//! (`context.rs`).

use std::time::Duration;

use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, Method};

use crate::setup_error::SetupError;

/// Which origins may call the service from a browser, set with
/// [`SecurityBuilder::cors`](crate::SecurityBuilder::cors).
///
/// - Origins are exact (`https://app.example.com`, a port when not the default): no
///   paths, no wildcards inside them, never `null`. Any mistake is a [`SetupError`]
///   naming `cors` when the settings are built.
/// - With [`credentials`](Self::credentials), browsers send cookies and read the
///   answers; `*` ([`Cors::any_origin`]) cannot be combined with it.
/// - A preflight is answered before authentication and limits: 204 with the path's
///   methods, 405 for a method the path does not have, 404 for a path the router does not
///   have, 403 for an origin or a header outside the lists (and no CORS headers).
/// - Every answer to an allowed origin carries `Access-Control-Allow-Origin` with that
///   origin, `Access-Control-Expose-Headers` (by default `Retry-After`, `RateLimit`,
///   `RateLimit-Policy`, `WWW-Authenticate` and `x-request-id`, so that a front end can
///   read why it was refused) and `Vary: Origin`; other origins get no CORS headers.
///
/// ```
/// use secure_endpoint::{Cors, Security};
///
/// let cors = Cors::origins(["https://app.example.com"]).credentials(true);
/// let security = Security::builder().cors(cors).build()?;
/// # Ok::<(), secure_endpoint::SetupError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Cors {
    origins: Vec<String>,
    any_origin: bool,
    credentials: bool,
    expose: Vec<String>,
    allow_headers: Vec<String>,
    max_age: Duration,
}

/// Response headers a front end may read unless others are added.
pub const DEFAULT_EXPOSED_HEADERS: [&str; 5] = [
    "retry-after",
    "ratelimit",
    "ratelimit-policy",
    "www-authenticate",
    "x-request-id",
];

/// Request headers a front end may send unless others are added.
pub const DEFAULT_ALLOWED_HEADERS: [&str; 2] = ["authorization", "content-type"];

impl Cors {
    /// These exact origins.
    pub fn origins<I, T>(origins: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        Cors {
            origins: origins.into_iter().map(|o| o.as_ref().to_owned()).collect(),
            any_origin: false,
            credentials: false,
            expose: DEFAULT_EXPOSED_HEADERS.map(str::to_owned).to_vec(),
            allow_headers: DEFAULT_ALLOWED_HEADERS.map(str::to_owned).to_vec(),
            max_age: Duration::from_secs(600),
        }
    }

    /// Any origin (`Access-Control-Allow-Origin: *`): for a public API read without
    /// credentials only.
    pub fn any_origin() -> Self {
        Cors {
            any_origin: true,
            ..Self::origins(Vec::<String>::new())
        }
    }

    /// Whether browsers send credentials (cookies) and read the answers to them
    /// (default off).
    pub fn credentials(mut self, on: bool) -> Self {
        self.credentials = on;
        self
    }

    /// Another response header the front end may read, beside the defaults.
    pub fn expose_header(mut self, name: &str) -> Self {
        self.expose.push(name.to_ascii_lowercase());
        self
    }

    /// Another request header the front end may send, beside `Authorization` and
    /// `Content-Type`.
    pub fn allow_header(mut self, name: &str) -> Self {
        self.allow_headers.push(name.to_ascii_lowercase());
        self
    }

    /// How long a browser may reuse a preflight's answer (default 10 minutes, at most
    /// a day).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Checks the settings, as the built ones.
    pub(crate) fn build(self) -> Result<CorsPolicy, SetupError> {
        let invalid = |reason: String| SetupError::InvalidSetting {
            setting: "cors",
            reason,
        };
        if self.any_origin && self.credentials {
            return Err(invalid(
                "any origin (`*`) with credentials: browsers refuse it, and it would let every site act as the user; list each front end's origin, e.g. `Cors::origins([\"https://app.example.com\"]).credentials(true)`".into(),
            ));
        }
        if !self.any_origin && self.origins.is_empty() {
            return Err(invalid(
                "no origin listed: list at least one, e.g. `Cors::origins([\"https://app.example.com\"])`".into(),
            ));
        }
        let mut origins = Vec::with_capacity(self.origins.len());
        for origin in &self.origins {
            origins.push(
                HeaderValue::from_str(&checked_origin(origin, self.credentials).map_err(invalid)?)
                    .expect("checked"),
            );
        }
        for name in self.expose.iter().chain(&self.allow_headers) {
            HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid(format!("{name:?} is not a header name")))?;
        }
        if self.max_age > Duration::from_secs(86_400) {
            return Err(invalid("max_age of more than a day".into()));
        }
        Ok(CorsPolicy {
            origins,
            any_origin: self.any_origin,
            credentials: self.credentials,
            expose: HeaderValue::from_str(&self.expose.join(", ")).expect("checked names"),
            allow_headers: self.allow_headers,
            max_age: HeaderValue::from(self.max_age.as_secs()),
        })
    }
}

/// `origin`, as browsers write it, if it is one: `scheme://host[:port]`. A refusal says
/// what to write instead, a value that passes where one exists (`credentials` says
/// whether the origins may send them: no wildcard may then).
fn checked_origin(origin: &str, credentials: bool) -> Result<String, String> {
    if origin == "null" {
        return Err("the origin \"null\" is sent by sandboxed pages and files of any site; it cannot be trusted: leave it out".into());
    }
    if origin == "*" && !credentials {
        return Err("\"*\": origins are exact; for any origin write `Cors::any_origin()`".into());
    }
    if origin.contains('*') {
        return Err(format!(
            "{origin:?}: origins are exact, and no wildcard may send credentials (browsers refuse it, and any site could act as the user): list each front end's origin, e.g. `Cors::origins([\"https://app.example.com\"])`"
        ));
    }
    let (scheme, rest) = match origin.split_once("://") {
        Some(split) => split,
        None => {
            return Err(format!(
                "{origin:?} is not an origin: write scheme://host[:port], e.g. `https://{}`",
                origin.trim_matches('/').to_ascii_lowercase()
            ));
        }
    };
    let authority = rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(format!(
            "{origin:?}: the scheme must be https or http: write `https://{authority}`"
        ));
    }
    if rest.is_empty() || authority.is_empty() || authority.contains(' ') {
        return Err(format!(
            "{origin:?} is not an origin: write scheme://host[:port], e.g. `https://app.example.com`"
        ));
    }
    if rest.contains(['/', '?', '#', '@']) {
        return Err(format!(
            "{origin:?}: an origin has no path, query, user or trailing slash: write `{scheme}://{authority}`"
        ));
    }
    if rest.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(format!(
            "{origin:?}: browsers send origins in lower case: write `{scheme}://{authority}`"
        ));
    }
    Ok(origin.to_owned())
}

/// The checked settings, as the outer layer uses them.
#[derive(Debug, Clone)]
pub(crate) struct CorsPolicy {
    origins: Vec<HeaderValue>,
    any_origin: bool,
    credentials: bool,
    expose: HeaderValue,
    allow_headers: Vec<String>,
    max_age: HeaderValue,
}

impl CorsPolicy {
    /// The origins listed, as the inventory shows them (`*` for any).
    pub(crate) fn listed(&self) -> Vec<String> {
        if self.any_origin {
            return vec!["*".to_owned()];
        }
        self.origins
            .iter()
            .map(|o| String::from_utf8_lossy(o.as_bytes()).into_owned())
            .collect()
    }

    /// Whether the listed origins may send credentials.
    pub(crate) fn sends_credentials(&self) -> bool {
        self.credentials
    }

    /// Whether `origin` is on the list (for CSRF too).
    pub(crate) fn lists(&self, origin: &[u8]) -> bool {
        self.origins.iter().any(|o| o.as_bytes() == origin)
    }

    fn allows(&self, origin: &HeaderValue) -> bool {
        self.any_origin || self.lists(origin.as_bytes())
    }

    /// Adds the CORS headers of an answer to a request from `origin`.
    pub(crate) fn decorate(&self, headers: &mut HeaderMap, origin: Option<&HeaderValue>) {
        headers.append(header::VARY, HeaderValue::from_static("origin"));
        let Some(origin) = origin.filter(|o| self.allows(o)) else {
            return;
        };
        let allowed = if self.any_origin {
            HeaderValue::from_static("*")
        } else {
            origin.clone()
        };
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, self.expose.clone());
        if self.credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }

    /// The answer to a preflight for a path whose route has `methods` (`None`: no route).
    pub(crate) fn preflight(
        &self,
        request: &http::request::Parts,
        methods: Option<&[Method]>,
    ) -> Preflight {
        let origin = request.headers.get(header::ORIGIN);
        let Some(origin) = origin.filter(|o| self.allows(o)) else {
            return Preflight::Refused("a preflight from an origin that is not allowed");
        };
        let Some(methods) = methods else {
            return Preflight::NoRoute;
        };
        let wanted = request
            .headers
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok());
        let allow = methods
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        if !wanted.is_some_and(|m| methods.contains(&m)) {
            return Preflight::MethodNotAllowed(HeaderValue::from_str(&allow).ok());
        }
        let requested_headers = request
            .headers
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let unlisted = requested_headers
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .find(|h| !self.allow_headers.contains(h));
        if unlisted.is_some() {
            return Preflight::Refused(
                "a preflight asking for a request header that is not allowed",
            );
        }
        let mut headers = HeaderMap::new();
        self.decorate(&mut headers, Some(origin));
        if let Ok(allow) = HeaderValue::from_str(&allow) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, allow);
        }
        if let Ok(requested) = HeaderValue::from_str(requested_headers)
            && !requested_headers.is_empty()
        {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested);
        }
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
        headers.insert(
            header::VARY,
            HeaderValue::from_static(
                "origin, access-control-request-method, access-control-request-headers",
            ),
        );
        Preflight::Allowed(headers)
    }
}

/// What a preflight is answered.
#[derive(Debug)]
pub(crate) enum Preflight {
    /// 204 with these headers.
    Allowed(HeaderMap),
    /// 403 without CORS headers: an origin or a request header outside the lists.
    Refused(&'static str),
    /// 404: the router has no route for the path.
    NoRoute,
    /// 405, with the path's methods for `Allow` when they can be written.
    MethodNotAllowed(Option<HeaderValue>),
}

/// Whether `request` is a CORS preflight.
pub(crate) fn is_preflight(request: &http::request::Parts) -> bool {
    request.method == Method::OPTIONS
        && request.headers.contains_key(header::ORIGIN)
        && request
            .headers
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text a refusal says to write: between the last pair of backticks.
    fn suggested(error: &str) -> &str {
        let end = error.rfind('`').expect("a suggestion in backticks");
        let start = error[..end].rfind('`').expect("a suggestion in backticks") + 1;
        &error[start..end]
    }

    #[test]
    fn every_suggested_origin_is_accepted_where_it_was_suggested() {
        for (origin, credentials) in [
            ("https://app.example/", true),
            ("https://app.example/app", false),
            ("https://user@App.example", true),
            ("app.example", true),
            ("ftp://app.example", false),
            ("https://App.example", true),
            ("http://localhost:5173/", true),
        ] {
            let error = Cors::origins([origin])
                .credentials(credentials)
                .build()
                .unwrap_err()
                .to_string();
            let fix = suggested(&error);
            assert!(
                Cors::origins([fix])
                    .credentials(credentials)
                    .build()
                    .is_ok(),
                "{origin}: suggested {fix:?} in {error}"
            );
        }
        // The wildcard: `any_origin()` where it works, the origins listed where it does not.
        let error = Cors::origins(["*"]).build().unwrap_err().to_string();
        assert_eq!(suggested(&error), "Cors::any_origin()");
        assert!(Cors::any_origin().build().is_ok());
        for refused in [
            Cors::origins(["*"]).credentials(true),
            Cors::any_origin().credentials(true),
            Cors::origins(["https://*.example"]).credentials(true),
        ] {
            let error = refused.build().unwrap_err().to_string();
            assert!(!error.contains("any_origin()"), "{error}");
            assert!(error.contains("Cors::origins(["), "{error}");
            assert!(
                Cors::origins(["https://app.example.com"])
                    .credentials(true)
                    .build()
                    .is_ok()
            );
        }
    }

    #[test]
    fn refused_settings_name_the_setting() {
        for (cors, why) in [
            (Cors::any_origin().credentials(true), "credentials"),
            (Cors::origins(["https://app.example/"]), "trailing slash"),
            (Cors::origins(["https://app.example/app"]), "path"),
            (Cors::origins(["null"]), "null"),
            (Cors::origins(["*"]), "any_origin()"),
            (Cors::origins(["https://*.example"]), "exact"),
            (Cors::origins(["app.example"]), "scheme://host"),
            (Cors::origins(["ftp://app.example"]), "https or http"),
            (Cors::origins(["https://App.example"]), "lower case"),
            (Cors::origins(Vec::<String>::new()), "no origin"),
            (
                Cors::origins(["https://a.example"]).expose_header("bad header"),
                "header name",
            ),
            (
                Cors::origins(["https://a.example"]).max_age(Duration::from_secs(90_000)),
                "a day",
            ),
        ] {
            let error = cors.build().unwrap_err().to_string();
            assert!(
                error.contains("cors") && error.contains(why),
                "{why}: {error}"
            );
        }
        assert!(
            Cors::origins(["https://app.example", "http://localhost:5173"])
                .credentials(true)
                .build()
                .is_ok()
        );
        assert!(Cors::any_origin().build().is_ok());
    }
}
