//! Settings from the environment. A bad value stops the program at start with a message
//! that names the setting.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The blog's settings.
#[derive(Clone)]
pub struct Config {
    /// `BLOG_ADDR`, default `127.0.0.1:3000`.
    pub addr: SocketAddr,
    /// `DATABASE_URL`: an SQLite URL or file path; default an in-memory database.
    pub database_url: String,
    /// `JWT_SECRET`, at least 32 bytes; generated at random when unset.
    pub jwt_secret: Vec<u8>,
    /// Whether `jwt_secret` was generated (tokens then die with the process).
    pub jwt_secret_generated: bool,
    /// `REDIS_URL`: share rate limits through this Redis; in memory when unset.
    pub redis_url: Option<String>,
    /// `REDIS_CLUSTER_URLS`: comma-separated `redis://host:port` nodes of a Redis
    /// Cluster the rate limits are counted in (revocations then stay at `REDIS_URL`, or
    /// in memory).
    pub redis_cluster_urls: Vec<String>,
    /// `BLOG_TRUSTED_PROXIES`: comma-separated addresses or CIDR blocks whose
    /// `X-Forwarded-For` is believed. Default none.
    pub trusted_proxies: Vec<String>,
    /// `BLOG_CORS_ORIGINS`: comma-separated origins (`https://app.example.com`) whose
    /// pages may call the blog from a browser, with credentials. Default none.
    pub cors_origins: Vec<String>,
    /// `BLOG_ADMIN_PASSWORD`: when set (8–128 characters), the account `admin` with the
    /// `admin` role is created at start with this password. Default: no admin account.
    /// (Roles are never granted through the public registration.)
    pub admin_password: Option<String>,
    /// `BLOG_METRICS_ADDR`: where `/metrics` is served (Prometheus's text format), on a
    /// listener of its own, never the public one. Default: no metrics.
    pub metrics_addr: Option<SocketAddr>,
    /// `BLOG_POLICY_DIR`: the directory of the Cedar policies (`blog.cedar`) and their
    /// schema (`blog.cedarschema`) that decide who may read, edit, delete and share a
    /// post. Default: the blog's own `policies/`.
    pub policy_dir: PathBuf,
    /// `BLOG_AUTHZEN_URL`: a remote decision point (OpenID AuthZEN, with Cerbos's plan
    /// API) that decides instead of the Cedar policies, e.g. `http://127.0.0.1:3592`.
    /// Default: the Cedar policies, in process.
    pub authzen_url: Option<String>,
}

/// The blog's own policies, next to its sources.
pub fn default_policy_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/policies"))
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("database_url", &self.database_url)
            .field("jwt_secret", &"<redacted>")
            .field("jwt_secret_generated", &self.jwt_secret_generated)
            .field("redis_url", &self.redis_url.as_ref().map(|_| "<set>"))
            .field("redis_cluster_urls", &self.redis_cluster_urls.len())
            .field("trusted_proxies", &self.trusted_proxies)
            .field("cors_origins", &self.cors_origins)
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "<redacted>"),
            )
            .field("metrics_addr", &self.metrics_addr)
            .field("policy_dir", &self.policy_dir)
            .field("authzen_url", &self.authzen_url)
            .finish()
    }
}

/// The in-memory database used when `DATABASE_URL` is unset.
pub const IN_MEMORY: &str = "sqlite::memory:";

/// A setting that cannot be used.
#[derive(Debug)]
pub struct ConfigError {
    /// The environment variable.
    pub setting: &'static str,
    /// Why its value was refused.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid setting {}: {}", self.setting, self.reason)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup` (the environment, or a test's map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let addr = match lookup("BLOG_ADDR") {
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
            Some(text) => text.parse().map_err(|_| ConfigError {
                setting: "BLOG_ADDR",
                reason: format!("{text:?} is not an address like 127.0.0.1:3000"),
            })?,
        };
        let database_url = match lookup("DATABASE_URL") {
            None => IN_MEMORY.to_owned(),
            Some(text) if text.trim().is_empty() => {
                return Err(ConfigError {
                    setting: "DATABASE_URL",
                    reason: "is empty; unset it for an in-memory database".into(),
                });
            }
            Some(text) => text,
        };
        let (jwt_secret, jwt_secret_generated) = match lookup("JWT_SECRET") {
            Some(secret) if secret.len() < 32 => {
                return Err(ConfigError {
                    setting: "JWT_SECRET",
                    reason: format!(
                        "is {} bytes long; it must be at least 32 bytes",
                        secret.len()
                    ),
                });
            }
            Some(secret) => (secret.into_bytes(), false),
            None => {
                let mut secret = vec![0u8; 32];
                getrandom::fill(&mut secret).map_err(|e| ConfigError {
                    setting: "JWT_SECRET",
                    reason: format!("unset, and no random secret could be generated: {e}"),
                })?;
                (secret, true)
            }
        };
        let redis_url = match lookup("REDIS_URL") {
            Some(url) if url.trim().is_empty() => None,
            Some(url) if !url.starts_with("redis://") && !url.starts_with("rediss://") => {
                return Err(ConfigError {
                    setting: "REDIS_URL",
                    reason: "must start with redis:// or rediss://".into(),
                });
            }
            other => other,
        };
        let redis_cluster_urls: Vec<String> = lookup("REDIS_CLUSTER_URLS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect();
        if let Some(bad) = redis_cluster_urls
            .iter()
            .find(|u| !u.starts_with("redis://") && !u.starts_with("rediss://"))
        {
            return Err(ConfigError {
                setting: "REDIS_CLUSTER_URLS",
                reason: format!("{bad:?}: every node must start with redis:// or rediss://"),
            });
        }
        let trusted_proxies: Vec<String> = lookup("BLOG_TRUSTED_PROXIES")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        for proxy in &trusted_proxies {
            let (address, prefix) = proxy.split_once('/').unwrap_or((proxy, "0"));
            if address.parse::<std::net::IpAddr>().is_err() || prefix.parse::<u8>().is_err() {
                return Err(ConfigError {
                    setting: "BLOG_TRUSTED_PROXIES",
                    reason: format!("{proxy:?} is not an address or CIDR block like 10.0.0.0/8"),
                });
            }
        }
        let cors_origins: Vec<String> = lookup("BLOG_CORS_ORIGINS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect();
        if !cors_origins.is_empty() {
            secure_endpoint::Security::builder()
                .cors(secure_endpoint::Cors::origins(&cors_origins).credentials(true))
                .build()
                .map_err(|error| ConfigError {
                    setting: "BLOG_CORS_ORIGINS",
                    reason: error.to_string(),
                })?;
        }
        let metrics_addr = match lookup("BLOG_METRICS_ADDR").filter(|a| !a.trim().is_empty()) {
            None => None,
            Some(addr) => Some(addr.trim().parse::<SocketAddr>().map_err(|_| ConfigError {
                setting: "BLOG_METRICS_ADDR",
                reason: format!("{addr:?} is not an address and port like 127.0.0.1:9000"),
            })?),
        };
        let policy_dir = match lookup("BLOG_POLICY_DIR").filter(|d| !d.trim().is_empty()) {
            None => default_policy_dir(),
            Some(dir) => PathBuf::from(dir),
        };
        let authzen_url = match lookup("BLOG_AUTHZEN_URL").filter(|u| !u.trim().is_empty()) {
            Some(url) if !url.starts_with("http://") && !url.starts_with("https://") => {
                return Err(ConfigError {
                    setting: "BLOG_AUTHZEN_URL",
                    reason: format!("{url:?} must start with http:// or https://"),
                });
            }
            other => other,
        };
        let admin_password = match lookup("BLOG_ADMIN_PASSWORD") {
            Some(password) if !(8..=128).contains(&password.chars().count()) => {
                return Err(ConfigError {
                    setting: "BLOG_ADMIN_PASSWORD",
                    reason: "must be 8 to 128 characters".into(),
                });
            }
            other => other,
        };
        Ok(Config {
            addr,
            database_url,
            jwt_secret,
            jwt_secret_generated,
            redis_url,
            redis_cluster_urls,
            trusted_proxies,
            cors_origins,
            admin_password,
            metrics_addr,
            policy_dir,
            authzen_url,
        })
    }

    /// What is allowed but probably a mistake, one sentence each naming the setting:
    /// logged as warnings at start.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if !self.jwt_secret_generated && secret_bits(&self.jwt_secret) < 128.0 {
            warnings.push(
                "JWT_SECRET looks guessable (few distinct characters for its length): anyone holding one token can try to recover it offline and forge admin tokens; use `openssl rand -base64 48`".to_owned(),
            );
        }
        for proxy in &self.trusted_proxies {
            if proxy.ends_with("/0") {
                warnings.push(format!(
                    "BLOG_TRUSTED_PROXIES contains {proxy:?}, which trusts every peer: any client can then choose its address in X-Forwarded-For and escape every limit"
                ));
            }
        }
        warnings
    }

    /// Settings for tests: in-memory database, a fixed secret, an ephemeral port, an
    /// admin account.
    pub fn for_tests(jwt_secret: &[u8], admin_password: &str) -> Self {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: IN_MEMORY.to_owned(),
            jwt_secret: jwt_secret.to_vec(),
            jwt_secret_generated: false,
            redis_url: None,
            redis_cluster_urls: Vec::new(),
            trusted_proxies: Vec::new(),
            cors_origins: Vec::new(),
            admin_password: Some(admin_password.to_owned()),
            metrics_addr: None,
            policy_dir: default_policy_dir(),
            authzen_url: None,
        }
    }
}

/// At most this many bits of entropy: the length times the bits of the alphabet the
/// secret draws from, as far as its distinct bytes tell. An upper bound: a guessable
/// phrase can still pass it, a random one never fails it.
fn secret_bits(secret: &[u8]) -> f64 {
    let mut seen = [false; 256];
    for byte in secret {
        seen[usize::from(*byte)] = true;
    }
    let distinct = seen.iter().filter(|s| **s).count().max(1);
    secret.len() as f64 * (distinct as f64).log2()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_need_no_settings() {
        let c = config(&[]).unwrap();
        assert_eq!(c.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.database_url, IN_MEMORY);
        assert!(c.jwt_secret_generated);
        assert_eq!(c.jwt_secret.len(), 32);
    }

    #[test]
    fn a_short_secret_names_the_setting() {
        let error = config(&[("JWT_SECRET", "short")]).unwrap_err();
        assert_eq!(error.setting, "JWT_SECRET");
        assert!(error.to_string().contains("at least 32 bytes"));
    }

    #[test]
    fn a_bad_address_names_the_setting() {
        let error = config(&[("BLOG_ADDR", "localhost")]).unwrap_err();
        assert_eq!(error.setting, "BLOG_ADDR");
    }

    #[test]
    fn bad_cors_origins_name_their_setting() {
        for bad in ["https://app.example/", "null", "*", "app.example"] {
            let error = config(&[("BLOG_CORS_ORIGINS", bad)]).unwrap_err();
            assert_eq!(error.setting, "BLOG_CORS_ORIGINS", "{bad}");
        }
        let c = config(&[(
            "BLOG_CORS_ORIGINS",
            "https://app.example, http://localhost:5173",
        )])
        .unwrap();
        assert_eq!(
            c.cors_origins,
            ["https://app.example", "http://localhost:5173"]
        );
    }

    #[test]
    fn cluster_nodes_are_listed_and_a_bad_one_names_the_setting() {
        let c = config(&[(
            "REDIS_CLUSTER_URLS",
            "redis://10.0.0.1:7000, redis://10.0.0.2:7000,",
        )])
        .unwrap();
        assert_eq!(
            c.redis_cluster_urls,
            ["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"]
        );
        let error = config(&[("REDIS_CLUSTER_URLS", "redis://a:1,10.0.0.2:7000")]).unwrap_err();
        assert_eq!(error.setting, "REDIS_CLUSTER_URLS");
        assert!(error.to_string().contains("10.0.0.2:7000"));
    }

    #[test]
    fn bad_proxies_and_redis_urls_name_their_setting() {
        let error = config(&[("BLOG_TRUSTED_PROXIES", "10.0.0.0/8, nonsense")]).unwrap_err();
        assert_eq!(error.setting, "BLOG_TRUSTED_PROXIES");
        let error = config(&[("REDIS_URL", "localhost:6379")]).unwrap_err();
        assert_eq!(error.setting, "REDIS_URL");
        let c = config(&[("BLOG_TRUSTED_PROXIES", "10.0.0.0/8,::1")]).unwrap();
        assert_eq!(c.trusted_proxies, ["10.0.0.0/8", "::1"]);
    }

    #[test]
    fn a_guessable_secret_and_a_trust_everyone_proxy_are_warned_about() {
        let weak = config(&[("JWT_SECRET", "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb")]).unwrap();
        let warnings = weak.warnings();
        assert!(
            warnings.iter().any(|w| w.starts_with("JWT_SECRET")),
            "{warnings:?}"
        );
        let strong = config(&[(
            "JWT_SECRET",
            "q2v9XkA0Jm7ZtR4bN1sLc8WfHd6GyPe3UoTiKj5VxMwBhQzYnCr=",
        )])
        .unwrap();
        assert!(strong.warnings().is_empty(), "{:?}", strong.warnings());
        let open = config(&[("BLOG_TRUSTED_PROXIES", "10.0.0.0/8,0.0.0.0/0")]).unwrap();
        assert!(
            open.warnings()
                .iter()
                .any(|w| w.starts_with("BLOG_TRUSTED_PROXIES") && w.contains("0.0.0.0/0"))
        );
    }

    #[test]
    fn the_secret_is_not_printed() {
        let c = config(&[("JWT_SECRET", "0123456789abcdef0123456789abcdef")]).unwrap();
        assert!(!format!("{c:?}").contains("0123456789abcdef"));
    }
}
