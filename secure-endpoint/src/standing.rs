//! Whether a verified principal is still one the application serves: the application's
//! own check (an account deleted, disabled, or created after the token was issued),
//! cached per principal for a while so that a busy caller costs one lookup per interval.
//! The request step that consults it is [`crate::pipeline::standing`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::auth::BoxFuture;
use crate::error::Error;

/// What the application says of a principal, answering
/// [`SecurityBuilder::principal_check`](crate::SecurityBuilder::principal_check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Served.
    Active,
    /// Served, for tokens issued from this moment on: the account's creation (an older
    /// token was issued to an earlier holder of the same id) or its last password
    /// change. A token without `iat` is then refused.
    ActiveSince(SystemTime),
    /// Not served (deleted, disabled): 401, as for any invalid credential.
    Refused,
}

/// How long a principal's standing is reused, by default.
pub const DEFAULT_PRINCIPAL_CACHE: Duration = Duration::from_secs(30);

/// Principals whose standing is held at most.
const MAX_CACHED: usize = 100_000;

type Check = dyn Fn(String) -> BoxFuture<'static, Result<Standing, Error>> + Send + Sync;

/// The application's check and what it answered lately.
pub(crate) struct PrincipalCheck {
    check: Arc<Check>,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Standing, Instant)>>,
}

impl PrincipalCheck {
    pub(crate) fn new<F, Fut>(check: F, ttl: Duration) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Standing, Error>> + Send + 'static,
    {
        PrincipalCheck {
            check: Arc::new(move |id| Box::pin(check(id))),
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The standing of `id`: from the cache while fresh, else asked.
    pub(crate) async fn standing(&self, id: &str) -> Result<Standing, Error> {
        if let Some((standing, at)) = self.cache.lock().expect("principal cache").get(id)
            && at.elapsed() < self.ttl
        {
            return Ok(*standing);
        }
        let started = Instant::now();
        let asked = (self.check)(id.to_owned()).await;
        crate::metrics::backend_time("principal_check", "check", started.elapsed());
        let standing =
            asked.inspect_err(|_| crate::metrics::backend_fallback("principal_check"))?;
        // A refusal is not kept: an account created for the id a moment later (a new
        // registration) is served on its first request.
        if standing == Standing::Refused {
            return Ok(standing);
        }
        let mut cache = self.cache.lock().expect("principal cache");
        if cache.len() >= MAX_CACHED {
            let ttl = self.ttl;
            cache.retain(|_, (_, at)| at.elapsed() < ttl);
        }
        // Full of fresh entries: this one is asked again next time rather than held.
        if cache.len() < MAX_CACHED || cache.contains_key(id) {
            cache.insert(id.to_owned(), (standing, Instant::now()));
        }
        Ok(standing)
    }

    /// Drops `id`'s cached standing: its next request asks the application again.
    pub(crate) fn forget(&self, id: &str) {
        self.cache.lock().expect("principal cache").remove(id);
    }
}

/// Why a token of a principal in `standing` is refused, if it is: `issued_at_ms` is the
/// token's `iat`, when it has one.
pub(crate) fn refusal(standing: Standing, issued_at_ms: Option<u64>) -> Option<&'static str> {
    match standing {
        Standing::Active => None,
        Standing::Refused => Some("the application no longer serves this principal"),
        Standing::ActiveSince(since) => {
            let since_ms = since
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            match issued_at_ms {
                None => Some("the principal is served since a moment, and the token has no iat"),
                Some(iat) if iat < since_ms => {
                    Some("the token was issued before the principal's account (or its last change)")
                }
                Some(_) => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn ready<F: Future>(future: F) -> F::Output {
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        match std::pin::pin!(future).poll(&mut context) {
            std::task::Poll::Ready(output) => output,
            std::task::Poll::Pending => panic!("waited"),
        }
    }

    #[test]
    fn asked_once_per_interval_and_again_once_forgotten() {
        let asked = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&asked);
        let check = PrincipalCheck::new(
            move |id: String| {
                counter.fetch_add(1, Ordering::Relaxed);
                async move {
                    Ok(if id == "gone" {
                        Standing::Refused
                    } else {
                        Standing::Active
                    })
                }
            },
            Duration::from_secs(60),
        );
        for _ in 0..5 {
            assert_eq!(ready(check.standing("alice")).unwrap(), Standing::Active);
        }
        assert_eq!(asked.load(Ordering::Relaxed), 1);
        check.forget("alice");
        ready(check.standing("alice")).unwrap();
        assert_eq!(asked.load(Ordering::Relaxed), 2);
        assert_eq!(ready(check.standing("gone")).unwrap(), Standing::Refused);
        ready(check.standing("gone")).unwrap();
        assert_eq!(asked.load(Ordering::Relaxed), 4, "a refusal is asked again");
    }

    #[test]
    fn a_token_older_than_the_account_is_refused() {
        let since = UNIX_EPOCH + Duration::from_millis(5_000);
        assert!(refusal(Standing::ActiveSince(since), Some(4_999)).is_some());
        assert!(refusal(Standing::ActiveSince(since), Some(5_000)).is_none());
        assert!(refusal(Standing::ActiveSince(since), None).is_some());
        assert!(refusal(Standing::Refused, Some(9_999)).is_some());
        assert!(refusal(Standing::Active, None).is_none());
    }
}
