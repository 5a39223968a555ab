//! The settings a router's policies need: the authenticator, the limiter, token and
//! body limits, proxies, headers.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;

use crate::auth::{Authenticator, DynAuthenticator};
use crate::client_addr::{Cidr, ForwardedHeader, Proxies};
use crate::cookie::SessionCookie;
use crate::cors::{Cors, CorsPolicy};
use crate::device::DeviceKey;
use crate::error::Error;
use crate::names::{Declared, check_list};
use crate::permission::{Engine, PermissionEngine};
use crate::rate::{Limiter, Rate};
use crate::rejection::ErrorBody;
use crate::revocation::{RevocationStore, Revocations};
use crate::setup_error::SetupError;
use crate::standing::{DEFAULT_PRINCIPAL_CACHE, PrincipalCheck, Standing};

/// The security settings of a [`SecureRouter`](crate::SecureRouter), given with
/// [`with_security`](crate::SecureRouter::with_security).
///
/// ```
/// use secure_endpoint::{JwtAuthenticator, Security};
/// use jsonwebtoken::Algorithm;
///
/// let jwt = JwtAuthenticator::hmac(Algorithm::HS256, b"a secret of at least thirty-two bytes")?
///     .issuer("blog")
///     .audience("blog");
/// let security = Security::builder().authenticator(jwt).build()?;
/// # Ok::<(), secure_endpoint::SetupError>(())
/// ```
pub struct Security {
    /// The authenticator of `auth` routes.
    pub(crate) authenticator: Option<Arc<dyn DynAuthenticator>>,
    /// The authenticators routes name with `auth = "name"`.
    pub(crate) named: Vec<(String, Arc<dyn DynAuthenticator>)>,
    pub(crate) max_token_bytes: usize,
    pub(crate) hsts: Option<HeaderValue>,
    pub(crate) hide_forbidden: bool,
    pub(crate) body_limit: Option<usize>,
    pub(crate) limiter: Option<Limiter>,
    pub(crate) proxies: Proxies,
    /// The application's own shape of error bodies.
    pub(crate) error_body: Option<Arc<dyn ErrorBody>>,
    pub(crate) failed_auth: Option<Rate>,
    pub(crate) revocations: Option<Arc<RevocationStore>>,
    pub(crate) principal_check: Option<Arc<PrincipalCheck>>,
    /// Where browser front ends' tokens travel, when they do.
    pub(crate) session_cookie: Option<SessionCookie>,
    pub(crate) cors: Option<CorsPolicy>,
    /// The service's own origin, for CSRF: else the request's `Host`.
    pub(crate) own_origin: Option<HeaderValue>,
    /// How a body field is turned into a limit's key (`key = "input.username"`).
    pub(crate) limit_key: Option<LimitKeyNormalizer>,
    /// Signs device credentials, for limits with `except = "device"`.
    pub(crate) devices: Option<Arc<DeviceKey>>,
    /// The role and scope names routes may give as strings.
    pub(crate) declared: Declared,
    /// The permission engine routes with `can` ask.
    pub(crate) permissions: Option<Engine>,
}

/// The application's spelling of a body field as a limit's key.
pub(crate) type LimitKeyNormalizer = Arc<dyn Fn(&str) -> String + Send + Sync>;

impl Security {
    /// The authenticator of a route: the one it names, or the default.
    pub(crate) fn authenticator_for(
        &self,
        name: Option<&str>,
    ) -> Option<&Arc<dyn DynAuthenticator>> {
        match name {
            None => self.authenticator.as_ref(),
            Some(name) => self
                .named
                .iter()
                .find(|(named, _)| named == name)
                .map(|(_, authenticator)| authenticator),
        }
    }

    /// Starts the settings; nothing is required until a route's policy needs it.
    pub fn builder() -> SecurityBuilder {
        SecurityBuilder {
            authenticator: None,
            named: Vec::new(),
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            hsts: None,
            hide_forbidden: false,
            body_limit: None,
            limiter: None,
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::XForwardedFor,
            failed_auth: None,
            error_body: None,
            revocations: None,
            principal_check: None,
            principal_cache: DEFAULT_PRINCIPAL_CACHE,
            session_cookie: None,
            cors: None,
            own_origin: None,
            limit_key: None,
            devices: None,
            declared: Declared::default(),
            permissions: None,
        }
    }
}

impl fmt::Debug for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Security")
            .field("authenticator", &self.authenticator.is_some())
            .field(
                "named",
                &self.named.iter().map(|(name, _)| name).collect::<Vec<_>>(),
            )
            .field("max_token_bytes", &self.max_token_bytes)
            .field("hsts", &self.hsts)
            .field("hide_forbidden", &self.hide_forbidden)
            .field("body_limit", &self.body_limit)
            .field("limiter", &self.limiter)
            .field("proxies", &self.proxies)
            .field("failed_auth", &self.failed_auth)
            .field("revocations", &self.revocations.is_some())
            .field("principal_check", &self.principal_check.is_some())
            .field("session_cookie", &self.session_cookie)
            .field("cors", &self.cors)
            .field("own_origin", &self.own_origin)
            .field("limit_key", &self.limit_key.is_some())
            .field("devices", &self.devices.is_some())
            .field("declared", &self.declared)
            .field(
                "permissions",
                &self.permissions.as_ref().map(|engine| engine.describe()),
            )
            .finish()
    }
}

/// Tokens longer than this are refused before any parsing.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Builds [`Security`]; every mistake is reported by [`build`](SecurityBuilder::build)
/// or earlier, naming the setting.
pub struct SecurityBuilder {
    authenticator: Option<Arc<dyn DynAuthenticator>>,
    named: Vec<(String, Arc<dyn DynAuthenticator>)>,
    max_token_bytes: usize,
    hsts: Option<(Duration, bool)>,
    hide_forbidden: bool,
    body_limit: Option<usize>,
    limiter: Option<Limiter>,
    trusted_proxies: Vec<String>,
    forwarded_header: ForwardedHeader,
    failed_auth: Option<String>,
    error_body: Option<Arc<dyn ErrorBody>>,
    revocations: Option<Revocations>,
    principal_check: Option<PrincipalCheckFn>,
    principal_cache: Duration,
    session_cookie: Option<SessionCookie>,
    cors: Option<Cors>,
    own_origin: Option<String>,
    limit_key: Option<LimitKeyNormalizer>,
    devices: Option<Vec<u8>>,
    declared: Declared,
    permissions: Option<Engine>,
}

/// The application's principal check, before the cache is built around it.
type PrincipalCheckFn = Box<dyn FnOnce(Duration) -> PrincipalCheck + Send>;

impl SecurityBuilder {
    /// The authenticator of routes declared with plain `auth`.
    pub fn authenticator<A: Authenticator>(mut self, authenticator: A) -> Self {
        self.authenticator = Some(Arc::new(authenticator));
        self
    }

    /// An authenticator routes choose by name, `#[secure(auth = "api_key")]`: only it
    /// judges their requests, and it judges no other route's. Plain `auth` routes keep
    /// the [`authenticator`](Self::authenticator).
    ///
    /// ```
    /// use secure_endpoint::{ApiKeys, Claims, JwtAuthenticator, Security};
    ///
    /// let jwt = JwtAuthenticator::hmac(secure_endpoint::Algorithm::HS256, [7u8; 32])?;
    /// let keys = ApiKeys::<Claims>::new().header("X-API-Key")?;
    /// let security = Security::builder()
    ///     .authenticator(jwt)
    ///     .named_authenticator("api_key", keys)
    ///     .build()?;
    /// # Ok::<(), secure_endpoint::SetupError>(())
    /// ```
    pub fn named_authenticator<A: Authenticator>(mut self, name: &str, authenticator: A) -> Self {
        self.named.push((name.to_owned(), Arc::new(authenticator)));
        self
    }

    /// The largest bearer token accepted, in bytes (default 8 KiB). Larger ones are
    /// refused with 401 before they are parsed.
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }

    /// Adds `Strict-Transport-Security: max-age=…` to every response; only for services
    /// reached over HTTPS.
    pub fn hsts(mut self, max_age: Duration, include_subdomains: bool) -> Self {
        self.hsts = Some((max_age, include_subdomains));
        self
    }

    /// Answers 404 instead of 403 when a principal asks for a resource it does not own
    /// (`owner`), so that callers cannot learn which ids exist. Off by default.
    pub fn hide_forbidden_resources(mut self, hide: bool) -> Self {
        self.hide_forbidden = hide;
        self
    }

    /// The largest JSON body `validate` reads, in bytes, for routes that set none of
    /// their own (default [`DEFAULT_BODY_LIMIT`](crate::DEFAULT_BODY_LIMIT), 64 KiB).
    /// Larger bodies are refused with 413.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = Some(bytes);
        self
    }

    /// Where `rate` limits (and the failed-authentication limit) are counted; required
    /// by any route with `rate`.
    pub fn rate_limiter(mut self, limiter: Limiter) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Proxies whose `Forwarded` / `X-Forwarded-For` is believed, as addresses or CIDR
    /// blocks (`"10.0.0.0/8"`, `"::1"`). From any other peer those headers are ignored.
    /// The client is the rightmost hop that is not a trusted proxy.
    pub fn trusted_proxies<I, T>(mut self, proxies: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        self.trusted_proxies = proxies.into_iter().map(|p| p.as_ref().to_owned()).collect();
        self
    }

    /// Which header the trusted proxies write (default `X-Forwarded-For`); the other is
    /// never read.
    pub fn forwarded_header(mut self, header: ForwardedHeader) -> Self {
        self.forwarded_header = header;
        self
    }

    /// Limits failed authentications per client address (`"20/m"`): past it, a request
    /// whose credential fails is answered 429 instead of 401. Needs a
    /// [`rate_limiter`](Self::rate_limiter).
    pub fn failed_auth_limit(mut self, rate: &str) -> Self {
        self.failed_auth = Some(rate.to_owned());
        self
    }

    /// Writes every error body the framework answers in the application's own shape,
    /// e.g. RFC 9457 problem details with [`ProblemJson`](crate::ProblemJson). The body
    /// is written from the status, the fixed message, a 400's details and a 500's
    /// request id only: no detail of a failure can reach it.
    pub fn error_body<E: ErrorBody>(mut self, writer: E) -> Self {
        self.error_body = Some(Arc::new(writer));
        self
    }

    /// Revokes tokens before they expire: one by its `jti`, or every token of a principal
    /// issued before a moment, through the [`Revoker`](crate::Revoker) extractor. A
    /// revoked token is answered 401 like any invalid one, on every `auth` route and on
    /// `optional_auth` routes that are sent it. See [`Revocations`] for what tokens must
    /// carry.
    ///
    /// ```
    /// use secure_endpoint::{Revocations, Security};
    ///
    /// let security = Security::builder().revocation(Revocations::memory()).build()?;
    /// # Ok::<(), secure_endpoint::SetupError>(())
    /// ```
    pub fn revocation(mut self, revocations: Revocations) -> Self {
        self.revocations = Some(revocations);
        self
    }

    /// The application's check that a verified principal is still served (its account
    /// exists, is not disabled, and is older than the token), asked with the principal's
    /// id after its credential verified. [`Standing::Refused`] is 401, as is a token
    /// issued before [`Standing::ActiveSince`]; an error is a generic 500. The answer is
    /// reused for [`principal_cache`](Self::principal_cache) (default 30 s); the
    /// [`Revoker`](crate::Revoker) drops one principal's at once. A refusal is not
    /// reused (an account registered for the id a moment later is served at once). At
    /// most 100,000 principals are held. Capture what the check needs (a database pool) in the
    /// closure.
    ///
    /// ```
    /// use secure_endpoint::{Security, Standing};
    ///
    /// let security = Security::builder()
    ///     .principal_check(|id: String| async move {
    ///         Ok(if id == "banned" { Standing::Refused } else { Standing::Active })
    ///     })
    ///     .build()?;
    /// # Ok::<(), secure_endpoint::SetupError>(())
    /// ```
    pub fn principal_check<F, Fut>(mut self, check: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Standing, Error>> + Send + 'static,
    {
        self.principal_check = Some(Box::new(move |ttl| PrincipalCheck::new(check, ttl)));
        self
    }

    /// How long a principal's [`principal_check`](Self::principal_check) answer is
    /// reused (default 30 s; zero asks on every request).
    pub fn principal_cache(mut self, ttl: Duration) -> Self {
        self.principal_cache = ttl;
        self
    }

    /// Accepts the token from a cookie as well as from `Authorization: Bearer`, for
    /// browser front ends: see [`SessionCookie`]. A request with both is judged by the
    /// bearer token; one whose token came from the cookie is checked for cross-site
    /// forgery on unsafe methods. A cookie that cannot hold a token (sent twice, too
    /// large, odd characters) is 401, as a malformed bearer token is.
    pub fn session_cookie(mut self, cookie: SessionCookie) -> Self {
        self.session_cookie = Some(cookie);
        self
    }

    /// Which origins browsers may call the service from: see [`Cors`].
    pub fn cors(mut self, cors: Cors) -> Self {
        self.cors = Some(cors);
        self
    }

    /// The service's own origin (`https://blog.example.com`), which a cookie request
    /// with an unsafe method may come from. Without it, an `Origin` matching the
    /// request's `Host` is the service's own; set it behind a proxy that rewrites `Host`.
    pub fn own_origin(mut self, origin: &str) -> Self {
        self.own_origin = Some(origin.to_owned());
        self
    }

    /// How a body field becomes a limit's key (`limit(key = "input.username")`): it must
    /// name one account exactly when the application's account lookup does, or every
    /// spelling the lookup takes for one name is a counter of its own. The default
    /// normalises to NFKC (the `unicode-normalization` crate), trims and lower-cases:
    /// right for a lookup that compares names case-insensitively. A database collation
    /// that also ignores accents or width needs the same folding here.
    ///
    /// ```
    /// use secure_endpoint::Security;
    ///
    /// // Accounts are looked up by their exact, case-sensitive name.
    /// let security = Security::builder()
    ///     .limit_key_normalizer(|name| name.to_owned())
    ///     .build()?;
    /// # Ok::<(), secure_endpoint::SetupError>(())
    /// ```
    pub fn limit_key_normalizer<F>(mut self, normalize: F) -> Self
    where
        F: Fn(&str) -> String + Send + Sync + 'static,
    {
        self.limit_key = Some(Arc::new(normalize));
        self
    }

    /// The secret device credentials are signed with (at least 32 bytes), for limits
    /// declared with `except = "device"`: a successful answer of such a route hands the
    /// client a device credential for the name it logged in as (a `__Host-device` cookie,
    /// `HttpOnly`, `Secure`, `SameSite=Strict`, and the same value in a
    /// `Device-Credential` header for clients without cookies), valid 90 days. An attempt
    /// presenting one for the name it logs in as (the cookie, or that header) counts on the
    /// device's own failure budget, so failures from elsewhere lock the name for everyone
    /// but its own devices. Give it a secret of its own, not the token key.
    ///
    /// ```
    /// use secure_endpoint::Security;
    ///
    /// let security = Security::builder()
    ///     .device_credentials(b"device credentials' own secret, 32+ bytes")
    ///     .build()?;
    /// # Ok::<(), secure_endpoint::SetupError>(())
    /// ```
    pub fn device_credentials(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.devices = Some(secret.as_ref().to_vec());
        self
    }

    /// The permission engine routes with `can = "…"` ask (DESIGN §16): `Cedar` in process
    /// (feature `cedar`), or any [`PermissionEngine`]. Every route's action
    /// (and its resource type) is checked against the engine when the router is built.
    pub fn permissions(mut self, engine: impl PermissionEngine) -> Self {
        self.permissions = Some(std::sync::Arc::new(engine));
        self
    }

    /// Declares every role routes may name as a string (`role = "admin"`), so that a
    /// misspelled one is an error when the router is built — naming the route, the name
    /// and the nearest declared one — rather than a role no one holds. Roles named as
    /// variants of a type (`role = Role::Admin`, [`Role`](macro@crate::Role)) are
    /// checked by rustc instead. Without a declaration, the router logs at start every
    /// role and scope its routes name.
    ///
    /// ```
    /// use secure_endpoint::{JwtAuthenticator, SecureRouter, Security, SetupError, routing::get, secure};
    /// use jsonwebtoken::Algorithm;
    ///
    /// #[secure(auth, role = "admn")]
    /// async fn stats() {}
    ///
    /// let jwt = JwtAuthenticator::hmac(Algorithm::HS256, b"a secret of at least thirty-two bytes")?;
    /// let security = Security::builder()
    ///     .authenticator(jwt)
    ///     .roles(["admin", "editor"])
    ///     .build()?;
    /// let built = SecureRouter::<()>::new()
    ///     .route("/stats", get(stats))
    ///     .with_security(security)
    ///     .try_into_router();
    /// let error = built.unwrap_err().to_string();
    /// assert!(error.contains("\"admn\""), "{error}");
    /// assert!(error.contains("did you mean \"admin\"?"), "{error}");
    /// # Ok::<(), SetupError>(())
    /// ```
    pub fn roles<I, T>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.declared.roles = Some(roles.into_iter().map(Into::into).collect());
        self
    }

    /// Declares every scope routes may name as a string (`scope = "posts:write"`), as
    /// [`roles`](Self::roles) does for roles.
    pub fn scopes<I, T>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.declared.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Checks the settings.
    pub fn build(self) -> Result<Security, SetupError> {
        for (setting, names) in [
            ("roles", &self.declared.roles),
            ("scopes", &self.declared.scopes),
        ] {
            if let Some(names) = names {
                check_list(names)
                    .map_err(|reason| SetupError::InvalidSetting { setting, reason })?;
            }
        }
        if let Some(cookie) = &self.session_cookie {
            cookie.check()?;
        }
        let own_origin = match &self.own_origin {
            None => None,
            Some(origin) => Some(
                Cors::origins([origin])
                    .build()
                    .map_err(|error| SetupError::InvalidSetting {
                        setting: "own_origin",
                        reason: error.to_string(),
                    })
                    .and_then(|_| {
                        HeaderValue::from_str(origin).map_err(|_| SetupError::InvalidSetting {
                            setting: "own_origin",
                            reason: format!("{origin:?} is not a header value"),
                        })
                    })?,
            ),
        };
        let cors = self.cors.clone().map(Cors::build).transpose()?;
        if let Some(authenticator) = &self.authenticator {
            authenticator.check_settings()?;
        }
        for (index, (name, authenticator)) in self.named.iter().enumerate() {
            let valid = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
            if !valid {
                return Err(SetupError::InvalidSetting {
                    setting: "named_authenticator",
                    reason: format!(
                        "{name:?}: a name is letters, digits, `_` and `-`, as `auth = \"name\"` writes it"
                    ),
                });
            }
            if self.named[..index].iter().any(|(other, _)| other == name) {
                return Err(SetupError::InvalidSetting {
                    setting: "named_authenticator",
                    reason: format!("two authenticators are named {name:?}"),
                });
            }
            authenticator.check_settings()?;
        }
        if self.body_limit == Some(0) {
            return Err(SetupError::InvalidSetting {
                setting: "body_limit",
                reason: "must be greater than zero".into(),
            });
        }
        let trusted_proxies = self
            .trusted_proxies
            .iter()
            .map(|p| p.parse::<Cidr>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| SetupError::InvalidSetting {
                setting: "trusted_proxies",
                reason,
            })?;
        let failed_auth = self
            .failed_auth
            .as_deref()
            .map(Rate::parse)
            .transpose()
            .map_err(|reason| SetupError::InvalidSetting {
                setting: "failed_auth_limit",
                reason,
            })?;
        if failed_auth.is_some() && self.limiter.is_none() {
            return Err(SetupError::InvalidSetting {
                setting: "failed_auth_limit",
                reason: "needs a rate_limiter to count in".into(),
            });
        }
        if self.max_token_bytes == 0 {
            return Err(SetupError::InvalidSetting {
                setting: "max_token_bytes",
                reason: "must be greater than zero".into(),
            });
        }
        let hsts = match self.hsts {
            None => None,
            Some((max_age, _)) if max_age.as_secs() == 0 => {
                return Err(SetupError::InvalidSetting {
                    setting: "hsts",
                    reason: "max-age must be at least one second".into(),
                });
            }
            Some((max_age, subdomains)) => {
                let value = if subdomains {
                    format!("max-age={}; includeSubDomains", max_age.as_secs())
                } else {
                    format!("max-age={}", max_age.as_secs())
                };
                Some(HeaderValue::from_str(&value).expect("digits are a valid header value"))
            }
        };
        Ok(Security {
            authenticator: self.authenticator,
            named: self.named,
            max_token_bytes: self.max_token_bytes,
            hsts,
            hide_forbidden: self.hide_forbidden,
            body_limit: self.body_limit,
            limiter: self.limiter,
            proxies: Proxies {
                trusted: trusted_proxies,
                header: self.forwarded_header,
            },
            failed_auth,
            error_body: self.error_body,
            revocations: self
                .revocations
                .as_ref()
                .map(Revocations::build)
                .transpose()?
                .map(Arc::new),
            principal_check: self
                .principal_check
                .map(|build| Arc::new(build(self.principal_cache))),
            session_cookie: self.session_cookie,
            cors,
            own_origin,
            limit_key: self.limit_key,
            devices: self
                .devices
                .as_deref()
                .map(DeviceKey::new)
                .transpose()?
                .map(Arc::new),
            declared: self.declared,
            permissions: self.permissions,
        })
    }
}
