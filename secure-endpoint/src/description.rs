//! What the inventory and the OpenAPI document read of the security settings, and
//! nothing that needs a secret: where each authenticator reads its credential, the
//! session cookie, what CORS allows, and whether the revocations fail closed.

use crate::auth::Credential;
use crate::cookie::SessionCookie;
use crate::cors::Cors;
use crate::security::Security;
use crate::setup_error::SetupError;

/// The security settings as the inventory and the OpenAPI document see them, without
/// keys or secrets: so that a document describing the service as it runs can be built
/// where its secrets are not (a CI job, a `routes --openapi` command), with
/// [`SecureRouter::inventory_with`](crate::SecureRouter::inventory_with).
///
/// [`Security::description`] gives the one of real settings; a test can hold the two
/// equal, so the hand-written one cannot drift.
///
/// ```
/// use secure_endpoint::{Credential, SecureRouter, SecurityDescription, SessionCookie, secure};
/// use secure_endpoint::routing::post;
///
/// #[secure(auth)]
/// async fn write() {}
///
/// let described = SecurityDescription::new()
///     .authenticator(Credential::Bearer)
///     .session_cookie(&SessionCookie::new());
/// let router: SecureRouter = SecureRouter::new().route("/notes", post(write));
/// let document = router.inventory_with(&described).openapi("notes", "1.0.0");
/// // A token from the cookie is checked for cross-site forgery: 403 is among the answers.
/// assert!(document["paths"]["/notes"]["post"]["responses"]["403"].is_object());
/// # Ok::<(), secure_endpoint::SetupError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityDescription {
    /// Each authenticator's name (`None` for the default) and the credential it reads.
    pub(crate) authenticators: Vec<(Option<String>, Credential)>,
    pub(crate) session_cookie: Option<String>,
    /// The origins CORS allows (`["*"]` for any) and whether they send credentials.
    pub(crate) cors: Option<(Vec<String>, bool)>,
    pub(crate) revocations_fail_closed: bool,
    /// The security lock's lines of the settings a hand-made description does not hold
    /// (the authenticators' issuers and algorithms, the proxies, the limits' backend…).
    pub(crate) settings: Vec<(&'static str, String)>,
}

impl SecurityDescription {
    /// No settings: no authenticator, no cookie, no CORS.
    pub fn new() -> Self {
        Self::default()
    }

    /// The authenticator of plain `auth` routes reads `credential`.
    pub fn authenticator(mut self, credential: Credential) -> Self {
        self.authenticators.retain(|(name, _)| name.is_some());
        self.authenticators.insert(0, (None, credential));
        self
    }

    /// The authenticator routes name with `auth = "name"` reads `credential`.
    pub fn named_authenticator(mut self, name: &str, credential: Credential) -> Self {
        self.authenticators
            .retain(|(named, _)| named.as_deref() != Some(name));
        self.authenticators
            .push((Some(name.to_owned()), credential));
        self
    }

    /// Tokens also travel in this cookie (and unsafe requests carrying one are checked
    /// for cross-site forgery).
    pub fn session_cookie(mut self, cookie: &SessionCookie) -> Self {
        self.session_cookie = Some(cookie.name().to_owned());
        self
    }

    /// Browser front ends are allowed as `cors` says; refused as the settings would
    /// refuse it.
    pub fn cors(mut self, cors: &Cors) -> Result<Self, SetupError> {
        let policy = cors.clone().build()?;
        self.cors = Some((policy.listed(), policy.sends_credentials()));
        Ok(self)
    }

    /// The revocations are shared and fail closed: an authenticated request is 503
    /// while their store does not answer.
    pub fn revocations_fail_closed(mut self, fail_closed: bool) -> Self {
        self.revocations_fail_closed = fail_closed;
        self
    }
}

impl Security {
    /// These settings as the inventory sees them: what
    /// [`SecurityDescription`] describes by hand.
    pub fn description(&self) -> SecurityDescription {
        let default = self.authenticator.iter().map(|a| (None, a.credential()));
        let named = self
            .named
            .iter()
            .map(|(name, a)| (Some(name.clone()), a.credential()));
        SecurityDescription {
            authenticators: default.chain(named).collect(),
            session_cookie: self.session_cookie.as_ref().map(|c| c.name().to_owned()),
            cors: self
                .cors
                .as_ref()
                .map(|cors| (cors.listed(), cors.sends_credentials())),
            revocations_fail_closed: self
                .revocations
                .as_deref()
                .is_some_and(|store| store.fails_closed()),
            settings: self.lock_lines(),
        }
    }

    /// What the security lock records of these settings beyond what a description holds.
    fn lock_lines(&self) -> Vec<(&'static str, String)> {
        let mut lines = Vec::new();
        let authenticators = self
            .authenticator
            .iter()
            .map(|a| ("default", a))
            .chain(self.named.iter().map(|(name, a)| (name.as_str(), a)));
        for (name, authenticator) in authenticators {
            for (key, value) in authenticator.describe() {
                lines.push((key, format!("{name}: {value}")));
            }
        }
        lines.push(("max-token-bytes", self.max_token_bytes.to_string()));
        for proxy in &self.proxies.trusted {
            lines.push(("trusted-proxy", proxy.to_string()));
        }
        if !self.proxies.trusted.is_empty() {
            lines.push(("forwarded-header", format!("{:?}", self.proxies.header)));
        }
        if let Some(rate) = self.failed_auth {
            lines.push(("failed-auth-limit", rate.to_string()));
        }
        if let Some(hsts) = &self.hsts {
            lines.push((
                "hsts",
                String::from_utf8_lossy(hsts.as_bytes()).replace(' ', ""),
            ));
        }
        lines.push(("hide-forbidden", self.hide_forbidden.to_string()));
        let body_limit = self.body_limit.unwrap_or(crate::input::DEFAULT_BODY_LIMIT);
        lines.push(("body-limit", body_limit.to_string()));
        if let Some(limiter) = &self.limiter {
            lines.push(("rate-limiter", limiter.backend_name().to_owned()));
        }
        if let Some(store) = &self.revocations {
            lines.push(("revocation", store.backend_name().to_owned()));
            let fails = if store.fails_closed() {
                "closed"
            } else {
                "open"
            };
            lines.push(("revocation-fails", fails.to_owned()));
            lines.push((
                "max-token-lifetime",
                format!("{}ms", store.max_lifetime_ms()),
            ));
        }
        if self.principal_check.is_some() {
            lines.push(("principal-check", "on".to_owned()));
        }
        if let Some(origin) = &self.own_origin {
            lines.push((
                "own-origin",
                String::from_utf8_lossy(origin.as_bytes()).into_owned(),
            ));
        }
        if let Some(roles) = &self.declared.roles {
            lines.push(("declared-roles", roles.join(" ")));
        }
        if let Some(scopes) = &self.declared.scopes {
            lines.push(("declared-scopes", scopes.join(" ")));
        }
        if self.devices.is_some() {
            lines.push(("device-credentials", "on".to_owned()));
        }
        if self.limit_key.is_some() {
            lines.push(("limit-key-normalizer", "custom".to_owned()));
        }
        if let Some(engine) = &self.permissions {
            lines.push(("permissions", engine.describe()));
        }
        lines
    }
}
