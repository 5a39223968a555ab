//! A small blog API secured with secure-endpoint: the example service.
//!
//! `cargo run -p blog` serves it; see the workspace README for the routes and settings.

pub mod config;
pub mod db;
mod handlers;
pub mod passwords;
mod tokens;

use std::sync::Arc;

use axum::extract::FromRef;
use secure_endpoint::routing::get;
use secure_endpoint::{
    AuthZen, Cedar, Cors, Credential, JwtAuthenticator, Limiter, Revocations, SecureRouter,
    Security, SecurityBuilder, SecurityDescription, SessionCookie, SetupError, Standing,
    routing::delete, routing::post,
};

pub use config::{Config, ConfigError};
pub use db::{Db, Post};
pub use tokens::{ISSUER, TOKEN_LIFETIME};

/// The state every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// Signs login tokens.
    pub tokens: Arc<secure_endpoint::TokenIssuer>,
    /// Password hashing, on threads of its own.
    pub passwords: Arc<passwords::Passwords>,
    /// The cookie a browser front end's token travels in.
    pub cookie: SessionCookie,
}

impl FromRef<AppState> for Db {
    fn from_ref(state: &AppState) -> Self {
        state.db.clone()
    }
}

/// Why the service could not start.
#[derive(Debug)]
pub enum StartError {
    /// A setting was refused.
    Config(ConfigError),
    /// The security settings or a route's policy.
    Setup(SetupError),
    /// The database could not be opened or migrated.
    Database(sqlx::Error),
    /// The admin account could not be created.
    Admin(String),
    /// The metrics could not be served (`BLOG_METRICS_ADDR`).
    Metrics(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Config(e) => write!(f, "{e}"),
            StartError::Setup(e) => write!(f, "invalid security settings: {e}"),
            StartError::Database(e) => write!(f, "cannot open the database (DATABASE_URL): {e}"),
            StartError::Metrics(e) => {
                write!(f, "cannot serve the metrics (BLOG_METRICS_ADDR): {e}")
            }
            StartError::Admin(e) => write!(
                f,
                "cannot create the admin account (BLOG_ADMIN_PASSWORD): {e}"
            ),
        }
    }
}

impl std::error::Error for StartError {}

/// The account `BLOG_ADMIN_PASSWORD` creates.
pub const ADMIN_USERNAME: &str = "admin";

/// Failed authentications allowed per client address.
pub const FAILED_AUTH_LIMIT: &str = "20/m";

/// The secret device credentials are signed with, derived from the token secret under
/// a label of its own (HMAC-SHA256), so one setting holds both and neither key can be
/// taken for the other.
fn device_secret(jwt_secret: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    let mut key = [0u8; 64];
    if jwt_secret.len() > 64 {
        key[..32].copy_from_slice(&sha2::Sha256::digest(jwt_secret));
    } else {
        key[..jwt_secret.len()].copy_from_slice(jwt_secret);
    }
    let inner = sha2::Sha256::new()
        .chain_update(key.map(|b| b ^ 0x36))
        .chain_update(b"blog device credentials")
        .finalize();
    sha2::Sha256::new()
        .chain_update(key.map(|b| b ^ 0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// The blog's routes, without state or settings: what the inventory lists.
pub fn routes() -> SecureRouter<AppState> {
    SecureRouter::new()
        .route("/auth/register", post(handlers::register))
        .route("/auth/login", post(handlers::login))
        .route("/auth/logout", post(handlers::logout))
        .route("/auth/logout-all", post(handlers::logout_all))
        .route("/feed", get(handlers::feed))
        .route(
            "/posts",
            get(handlers::list_posts).post(handlers::create_post),
        )
        .route(
            "/posts/{id}",
            get(handlers::get_post)
                .put(handlers::update_post)
                .delete(handlers::delete_post),
        )
        .route("/posts/{id}/editors", post(handlers::add_editor))
        .route(
            "/posts/{id}/editors/{user_id}",
            delete(handlers::remove_editor),
        )
        .route("/me", get(handlers::me).delete(handlers::delete_me))
        .route("/me/posts", get(handlers::my_posts))
        .route("/users/{id}", get(handlers::get_user))
        .route("/admin/stats", get(handlers::stats))
}

/// Installs the Prometheus recorder (before the router is built: the routes' counters are
/// registered with it) and serves its page at `GET /metrics` on `addr`, a listener of its
/// own, never the public one. Returns the address it listens on.
pub async fn serve_metrics(addr: std::net::SocketAddr) -> Result<std::net::SocketAddr, StartError> {
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full("secure_endpoint_backend_seconds".into()),
            &[0.001, 0.005, 0.025, 0.1, 0.5, 2.5],
        )
        .and_then(|builder| builder.install_recorder())
        .map_err(|error| StartError::Metrics(error.to_string()))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|error| StartError::Metrics(format!("cannot listen on {addr}: {error}")))?;
    let bound = listener
        .local_addr()
        .map_err(|error| StartError::Metrics(error.to_string()))?;
    // A plain axum router: the page is for the operator's scraper on a private address;
    // everything but `GET /metrics` is 404.
    let page = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let handle = handle.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    handle.render(),
                )
            }
        }),
    );
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, page).await {
            tracing::error!(%error, "the metrics listener stopped");
        }
    });
    Ok(bound)
}

/// The browser front ends `BLOG_CORS_ORIGINS` allows, with credentials.
fn cors(config: &Config) -> Option<Cors> {
    (!config.cors_origins.is_empty()).then(|| Cors::origins(&config.cors_origins).credentials(true))
}

/// The security settings [`app`] builds for `config`, as the inventory reads them, built
/// without the secret, the database or Redis: what `blog routes --openapi` documents.
pub fn description(config: &Config) -> Result<SecurityDescription, StartError> {
    let mut described = SecurityDescription::new()
        .authenticator(Credential::Bearer)
        .session_cookie(&SessionCookie::new());
    if let Some(cors) = cors(config) {
        described = described.cors(&cors).map_err(StartError::Setup)?;
    }
    Ok(described)
}

/// Who may read, edit, delete and share a post: the Cedar policies of
/// `config.policy_dir`, or the remote decision point at `BLOG_AUTHZEN_URL`.
fn permissions(security: SecurityBuilder, config: &Config) -> Result<SecurityBuilder, StartError> {
    Ok(match &config.authzen_url {
        Some(url) => security.permissions(AuthZen::new(url).map_err(StartError::Setup)?),
        None => security.permissions(
            Cedar::from_files(
                config.policy_dir.join("blog.cedar"),
                config.policy_dir.join("blog.cedarschema"),
            )
            .map_err(StartError::Setup)?,
        ),
    })
}

/// The whole service for `config`: database opened and migrated, security settings
/// built, state attached.
pub async fn app(config: &Config) -> Result<(SecureRouter, AppState), StartError> {
    let db = Db::connect(&config.database_url)
        .await
        .map_err(StartError::Database)?;
    let jwt = JwtAuthenticator::hmac(secure_endpoint::Algorithm::HS256, &config.jwt_secret)
        .map_err(StartError::Setup)?
        .issuer(ISSUER)
        .audience(ISSUER);
    let (limiter, revocations) = match &config.redis_url {
        Some(url) => (
            Limiter::redis(url).map_err(StartError::Setup)?,
            Revocations::redis(url).map_err(StartError::Setup)?,
        ),
        None => (Limiter::memory(), Revocations::memory()),
    };
    // A cluster counts the limits, and keeps the revocations unless `REDIS_URL` names a
    // Redis of their own.
    let (limiter, revocations) = if config.redis_cluster_urls.is_empty() {
        (limiter, revocations)
    } else {
        let nodes = || config.redis_cluster_urls.iter().map(String::as_str);
        let revocations = match &config.redis_url {
            Some(_) => revocations,
            None => Revocations::redis_cluster(nodes()).map_err(StartError::Setup)?,
        };
        (
            Limiter::redis_cluster(nodes()).map_err(StartError::Setup)?,
            revocations,
        )
    };
    let accounts = db.clone();
    let cookie = SessionCookie::new();
    let mut security = permissions(Security::builder(), config)?;
    if let Some(cors) = cors(config) {
        security = security.cors(cors);
    }
    let security = security
        .authenticator(jwt)
        // Every role a route names, so a misspelled one stops the start.
        .roles(["admin"])
        .session_cookie(cookie.clone())
        .rate_limiter(limiter)
        .revocation(revocations.max_token_lifetime(TOKEN_LIFETIME))
        // A token acts only for the account it was issued to: one whose account is gone,
        // or was created after it (the id reused by a new account), is refused.
        .principal_check(move |id: String| {
            let accounts = accounts.clone();
            async move {
                let Ok(id) = id.parse::<i64>() else {
                    return Ok(Standing::Refused);
                };
                Ok(match accounts.account_created_at_ms(id).await? {
                    None => Standing::Refused,
                    Some(ms) => Standing::ActiveSince(
                        std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms as u64),
                    ),
                })
            }
        })
        .trusted_proxies(&config.trusted_proxies)
        .failed_auth_limit(FAILED_AUTH_LIMIT)
        .device_credentials(device_secret(&config.jwt_secret))
        .build()
        .map_err(StartError::Setup)?;
    let state = AppState {
        db,
        tokens: Arc::new(tokens::issuer(&config.jwt_secret).map_err(StartError::Setup)?),
        passwords: Arc::new(passwords::Passwords::new()),
        cookie,
    };
    if let Some(password) = &config.admin_password {
        let hash = state
            .passwords
            .hash(password.clone())
            .await
            .map_err(|e| StartError::Admin(e.to_string()))?;
        let created = state
            .db
            .create_user(ADMIN_USERNAME, &hash, &["admin".to_owned()])
            .await
            .map_err(StartError::Database)?;
        if created.is_err() {
            let existing = state
                .db
                .user_by_name(ADMIN_USERNAME)
                .await
                .map_err(StartError::Database)?;
            if !existing.is_some_and(|user| user.roles.iter().any(|r| r == "admin")) {
                return Err(StartError::Admin(format!(
                    "an account named `{ADMIN_USERNAME}` exists without the admin role: someone registered the name before it was reserved; delete or rename that account in DATABASE_URL, then start again"
                )));
            }
            tracing::info!("the admin account exists already; its password is unchanged");
        }
    }
    let router = routes().with_security(security).with_state(state.clone());
    Ok((router, state))
}
