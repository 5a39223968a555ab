//! Keys from a JSON Web Key Set, fetched, cached and refreshed.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

use super::key::Key;
#[cfg(feature = "jwks")]
use crate::setup_error::SetupError;

/// Where a key set comes from: the built-in HTTPS fetcher (`Jwks::from_url`, with the feature `jwks`) or your
/// own. Any `Fn() -> impl Future<Output = Result<Vec<u8>, String>>` is one.
pub trait FetchKeys: Send + Sync + 'static {
    /// The key set document (`{"keys": [...]}`), or why it could not be had.
    fn fetch(&self) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + '_>>;
}

impl<F, Fut> FetchKeys for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<u8>, String>> + Send + 'static,
{
    fn fetch(&self) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + '_>> {
        Box::pin(self())
    }
}

/// A JWKS: the keys a token provider publishes, kept fresh without a restart.
///
/// - Nothing is fetched when the service starts, so it starts even when the provider is
///   down; the first token that needs a key triggers the fetch (requests get 401, with
///   the reason logged, until keys arrive).
/// - A token whose `kid` is unknown triggers a refresh, at most once per
///   [`cooldown`](Self::cooldown) (default 30 s), so junk `kid`s cannot hammer the
///   provider.
/// - Keys older than [`max_age`](Self::max_age) (default 5 min) are refreshed in the
///   background while they keep serving: rotation needs no restart.
/// - When a fetch fails, the keys already held keep serving.
/// - A key of a type this verifier does not know (or a symmetric `oct` key, or one marked
///   for encryption) is skipped; the rest of the set is used.
///
/// ```no_run
/// # #[cfg(feature = "jwks")] {
/// use secure_endpoint::{Jwks, JwtAuthenticator};
/// use jsonwebtoken::Algorithm;
///
/// let jwks = Jwks::from_url("https://login.example.com/.well-known/jwks.json")?;
/// let jwt = JwtAuthenticator::jwks(&[Algorithm::RS256], jwks)?.audience("my-api");
/// # }
/// # Ok::<(), secure_endpoint::SetupError>(())
/// ```
pub struct Jwks {
    fetcher: Box<dyn FetchKeys>,
    cooldown: Duration,
    max_age: Duration,
    state: RwLock<State>,
    /// One fetch at a time; waiters then find the fresh keys.
    refreshing: tokio::sync::Mutex<()>,
    /// A background refresh is under way.
    background: AtomicBool,
    /// The issuer whose discovery document names this set, for [`Jwks::discover`].
    issuer: Option<String>,
}

struct State {
    keys: Arc<Vec<Key>>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
}

impl fmt::Debug for Jwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.read().expect("jwks lock");
        f.debug_struct("Jwks")
            .field("keys", &state.keys.len())
            .field("cooldown", &self.cooldown)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl Jwks {
    /// A key set fetched by `fetcher`.
    pub fn from_fetcher(fetcher: impl FetchKeys) -> Self {
        Jwks {
            fetcher: Box::new(fetcher),
            cooldown: Duration::from_secs(30),
            max_age: Duration::from_secs(300),
            state: RwLock::new(State {
                keys: Arc::new(Vec::new()),
                fetched_at: None,
                last_attempt: None,
            }),
            refreshing: tokio::sync::Mutex::new(()),
            background: AtomicBool::new(false),
            issuer: None,
        }
    }

    /// The key set of the OpenID provider `issuer` (feature `jwks`): its discovery
    /// document (`ISSUER/.well-known/openid-configuration`) is read for `jwks_uri`, and
    /// the set fetched from there, with the caching and resilience described above. The
    /// document's `issuer` must equal `issuer` exactly, and both URLs must be `https://`
    /// (plain `http://` only on a loopback host). Every refresh reads the document again,
    /// so a provider that moves its keys is followed. A document that is malformed, names
    /// another issuer or no `jwks_uri` is a failed fetch: logged, and requests get 401
    /// until a good one arrives; the service starts regardless.
    ///
    /// The `jwks_uri` must be on the issuer's own origin (scheme, host and port): a
    /// document that names keys elsewhere is a failed fetch, so a document the service
    /// was pointed at cannot send it to fetch from any host (an internal one, say).
    /// A provider that serves its keys from another origin is allowed by name with
    /// [`discover_allowing`](Self::discover_allowing).
    ///
    /// A [`JwtAuthenticator::jwks`](crate::JwtAuthenticator::jwks) of a discovered set
    /// requires the discovered issuer; it still needs an
    /// [`audience`](crate::JwtAuthenticator::audience).
    ///
    /// ```no_run
    /// # #[cfg(feature = "jwks")] {
    /// use secure_endpoint::{Algorithm, Jwks, JwtAuthenticator};
    ///
    /// let jwks = Jwks::discover("https://login.example.com/realms/staff")?;
    /// let jwt = JwtAuthenticator::jwks(&[Algorithm::RS256], jwks)?.audience("my-api");
    /// # }
    /// # Ok::<(), secure_endpoint::SetupError>(())
    /// ```
    #[cfg(feature = "jwks")]
    pub fn discover(issuer: &str) -> Result<Self, SetupError> {
        Self::discover_allowing(issuer, &[])
    }

    /// [`discover`](Self::discover), for a provider whose `jwks_uri` is on another
    /// origin than its issuer: `key_origins` are the origins (`https://keys.example.com`)
    /// the keys may also come from, each checked as a URL is.
    ///
    /// ```no_run
    /// # #[cfg(feature = "jwks")] {
    /// use secure_endpoint::Jwks;
    ///
    /// let jwks = Jwks::discover_allowing(
    ///     "https://login.example.com/realms/staff",
    ///     &["https://keys.example.com"],
    /// )?;
    /// # }
    /// # Ok::<(), secure_endpoint::SetupError>(())
    /// ```
    #[cfg(feature = "jwks")]
    pub fn discover_allowing(issuer: &str, key_origins: &[&str]) -> Result<Self, SetupError> {
        let document_url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let document = HttpFetcher::new(&document_url)?;
        let mut origins = vec![document.url.origin()];
        for origin in key_origins {
            let url = checked_url(origin).map_err(|reason| SetupError::InvalidSetting {
                setting: "jwks key origins",
                reason,
            })?;
            origins.push(url.origin());
        }
        let expected = issuer.to_owned();
        let mut jwks = Self::from_fetcher(move || {
            let document = document.clone();
            let expected = expected.clone();
            let origins = origins.clone();
            async move {
                let body = document.get().await?;
                let jwks_uri = jwks_uri_of(&body, &expected)?;
                let keys = document
                    .at(&jwks_uri)
                    .map_err(|error| format!("the discovery document's jwks_uri: {error}"))?;
                if !origins.contains(&keys.url.origin()) {
                    return Err(format!(
                        "the discovery document's jwks_uri {jwks_uri:?} is not on the issuer's origin, nor on one the settings allow (`Jwks::discover_allowing`)"
                    ));
                }
                keys.get().await
            }
        });
        jwks.issuer = Some(issuer.to_owned());
        Ok(jwks)
    }

    /// The issuer this set was discovered for.
    pub(crate) fn discovered_issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// A key set fetched from `url` with GET. The URL must be `https://`, except on a
    /// loopback host (for tests and sidecars). Redirects are not followed; a response
    /// over 1 MiB or slower than 10 s is a failed fetch.
    #[cfg(feature = "jwks")]
    pub fn from_url(url: &str) -> Result<Self, SetupError> {
        let fetcher = HttpFetcher::new(url)?;
        Ok(Self::from_fetcher(move || {
            let fetcher = fetcher.clone();
            async move { fetcher.get().await }
        }))
    }

    /// The least time between two fetches (default 30 s).
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// How old keys may get before a background refresh (default 5 min).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Whether a key held now (without fetching) may verify a token with `alg` and `kid`.
    pub(crate) fn holds(&self, alg: Algorithm, kid: Option<&str>) -> bool {
        let state = self.state.read().expect("jwks lock");
        state.keys.iter().any(|k| k.serves(alg, kid))
    }

    /// The keys to try for a token naming `kid`, refreshing first when none could serve
    /// it, and in the background when they are old.
    pub(crate) async fn keys_for(self: &Arc<Self>, kid: Option<&str>) -> Arc<Vec<Key>> {
        let (keys, stale) = {
            let state = self.state.read().expect("jwks lock");
            let stale = state
                .fetched_at
                .is_some_and(|at| at.elapsed() >= self.max_age);
            (state.keys.clone(), stale)
        };
        let known = match kid {
            Some(kid) => keys.iter().any(|k| k.kid.as_deref() == Some(kid)),
            None => !keys.is_empty(),
        };
        if !known {
            if self.attempted_recently() {
                // An unknown kid within the cooldown: answered from the keys held, with
                // nothing spawned, unless a fetch is under way, whose keys it waits for.
                if self.refreshing.try_lock().is_ok() {
                    return keys;
                }
                drop(self.refreshing.lock().await);
            } else {
                self.refresh().await;
            }
            return self.state.read().expect("jwks lock").keys.clone();
        }
        // One background refresh at a time, however many requests find the keys old
        // (while the provider is down, they stay old).
        if stale
            && !self.attempted_recently()
            && tokio::runtime::Handle::try_current().is_ok()
            && !self.background.swap(true, Ordering::AcqRel)
        {
            let jwks = Arc::clone(self);
            tokio::spawn(async move {
                jwks.refresh().await;
                jwks.background.store(false, Ordering::Release);
            });
        }
        keys
    }

    /// Whether a fetch was attempted within the cooldown; under the read lock only.
    fn attempted_recently(&self) -> bool {
        let state = self.state.read().expect("jwks lock");
        state
            .last_attempt
            .is_some_and(|at| at.elapsed() < self.cooldown)
    }

    /// Fetches the set unless a fetch happened within the cooldown. One fetch at a time:
    /// who arrives during one waits for it and then finds the fresh keys. A failure keeps
    /// the keys already held.
    async fn refresh(&self) {
        let _one_at_a_time = self.refreshing.lock().await;
        if self.attempted_recently() {
            return;
        }
        self.state.write().expect("jwks lock").last_attempt = Some(Instant::now());
        let started = Instant::now();
        let fetched = self.fetcher.fetch().await;
        crate::metrics::backend_time("jwks", "fetch", started.elapsed());
        match fetched.and_then(|document| parse_key_set(&document)) {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "JWKS fetched");
                let mut state = self.state.write().expect("jwks lock");
                state.keys = Arc::new(keys);
                state.fetched_at = Some(Instant::now());
            }
            Err(reason) => {
                crate::metrics::backend_fallback("jwks");
                let held = self.state.read().expect("jwks lock").keys.len();
                tracing::warn!(reason, keys_kept = held, "JWKS fetch failed");
            }
        }
    }
}

/// The `jwks_uri` of an OpenID discovery document, which must name `issuer` as its own.
#[cfg(feature = "jwks")]
fn jwks_uri_of(document: &[u8], issuer: &str) -> Result<String, String> {
    #[derive(serde::Deserialize)]
    struct Discovery {
        issuer: Option<String>,
        jwks_uri: Option<String>,
    }
    let discovery: Discovery = serde_json::from_slice(document)
        .map_err(|e| format!("not an OpenID discovery document: {e}"))?;
    match discovery.issuer.as_deref() {
        Some(named) if named == issuer => {}
        Some(named) => {
            return Err(format!(
                "the discovery document names the issuer {named:?}, not {issuer:?}"
            ));
        }
        None => return Err("the discovery document names no issuer".into()),
    }
    discovery
        .jwks_uri
        .ok_or_else(|| "the discovery document has no jwks_uri".into())
}

/// The usable keys of a JWKS document; unknown or unsuitable keys are skipped.
pub(crate) fn parse_key_set(document: &[u8]) -> Result<Vec<Key>, String> {
    super::backend::select();
    #[derive(serde::Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let document: Document =
        serde_json::from_slice(document).map_err(|e| format!("not a JWKS document: {e}"))?;
    let mut keys = Vec::with_capacity(document.keys.len());
    for value in document.keys {
        let kid = value.get("kid").and_then(|k| k.as_str()).map(str::to_owned);
        let jwk: Jwk = match serde_json::from_value(value) {
            Ok(jwk) => jwk,
            Err(_) => {
                tracing::warn!(?kid, "JWKS key of an unknown type or shape skipped");
                continue;
            }
        };
        if let Some(reason) = unsuitable(&jwk) {
            tracing::warn!(?kid, reason, "JWKS key skipped");
            continue;
        }
        let algorithm = match &jwk.common.key_algorithm {
            None => None,
            Some(alg) => match alg.to_string().parse::<Algorithm>() {
                Ok(alg) => Some(alg),
                Err(_) => {
                    tracing::warn!(
                        ?kid,
                        "JWKS key for an algorithm that is not a signature skipped"
                    );
                    continue;
                }
            },
        };
        match DecodingKey::from_jwk(&jwk) {
            Ok(key) => keys.push(Key {
                kid: jwk.common.key_id.clone(),
                algorithm,
                key,
            }),
            Err(e) => tracing::warn!(?kid, error = %e, "JWKS key that cannot be used skipped"),
        }
    }
    Ok(keys)
}

fn unsuitable(jwk: &Jwk) -> Option<&'static str> {
    if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
        return Some("a symmetric key in a published set");
    }
    if matches!(jwk.algorithm, AlgorithmParameters::Other(_)) {
        return Some("unknown key type");
    }
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return Some("an encryption key");
    }
    None
}

/// `url`, parsed, if keys may come from it: `https://`, or `http://` on a loopback host.
#[cfg(feature = "jwks")]
fn checked_url(url: &str) -> Result<reqwest::Url, String> {
    crate::remote_url::secure_url(url, "keys")
}

#[cfg(feature = "jwks")]
#[derive(Clone)]
struct HttpFetcher {
    client: reqwest::Client,
    url: reqwest::Url,
}

#[cfg(feature = "jwks")]
impl HttpFetcher {
    const MAX_BYTES: usize = 1024 * 1024;

    fn new(url: &str) -> Result<Self, SetupError> {
        let invalid = |reason: String| SetupError::InvalidSetting {
            setting: "jwks url",
            reason,
        };
        let url = checked_url(url).map_err(invalid)?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| invalid(format!("cannot build the HTTP client: {e}")))?;
        Ok(HttpFetcher { client, url })
    }

    /// The same client, for another URL (held to the same rules).
    fn at(&self, url: &str) -> Result<Self, String> {
        Ok(HttpFetcher {
            client: self.client.clone(),
            url: checked_url(url)?,
        })
    }

    async fn get(&self) -> Result<Vec<u8>, String> {
        let mut response = self
            .client
            .get(self.url.clone())
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("the provider answered {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("reading the body failed: {e}"))?
        {
            if body.len() + chunk.len() > Self::MAX_BYTES {
                return Err("the key set is larger than 1 MiB".into());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}
