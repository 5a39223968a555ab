//! The scanner: every route of a router attacked, in process, as its policy says it must
//! resist. What it is told ([`ScanSettings`]) and what it found ([`ScanReport`]) are
//! beside this file; the engine is `scanner.rs`, the probes `probes/`, one per step.

mod probes;
mod report;
mod scanner;
mod settings;

pub use report::{Finding, ScanReport};
pub use settings::ScanSettings;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::Request;

use crate::inventory::Inventory;
use crate::rejection::ErrorBody;
use crate::revocation::RevocationStore;
use crate::router::SecureRouter;
use scanner::{Scanner, next_address};

/// Attacks every route of `router`, in process, as its declared policy says it must
/// resist, and reports what got through.
///
/// For each route: without a token and with bad ones (junk, `alg: none`, another key,
/// expired) on `auth` routes (401, same body); a valid token lacking the role or scope
/// (403); another principal's resource where an owner fixture is given (403/404); on a
/// `can` route, the intruder with every role it asks for (a 2xx only where the
/// permission engine permitted it, as the scanner sees through a recorder it puts in
/// front of the engine); a
/// wrong content type, an oversized and an invalid body on `validate` routes (415, 413,
/// 400); a burst past the limit on `rate` routes (429 with `Retry-After`). Every
/// response must carry the security headers, and a 5xx only the generic body. Routes
/// served through the unchecked opt-out are reported as such.
///
/// ```no_run
/// # async fn run(app: secure_endpoint::SecureRouter) {
/// use secure_endpoint::testing::{ScanSettings, scan};
///
/// scan(app, ScanSettings::new()).await.assert_clean();
/// # }
/// ```
pub async fn scan(mut router: SecureRouter, settings: ScanSettings) -> ScanReport {
    let inventory = router.inventory();
    let error_body = router.error_body();
    let revocations = router.revocations();
    let permits = router.wrap_permissions(|engine| {
        let recorder = probes::Recorder::new(engine);
        (
            Arc::new(probes::Recording(Arc::clone(&recorder))) as _,
            recorder,
        )
    });
    let built = router
        .mock_connect_info(SocketAddr::from(([192, 0, 2, 1], 40000)))
        .try_into_router();
    match built {
        Ok(app) => scan_with(app, &inventory, settings, error_body, revocations, permits).await,
        Err(error) => {
            let mut report = ScanReport::default();
            report.findings.push(Finding {
                route: "(router)".to_owned(),
                case: "setup".to_owned(),
                detail: error.to_string(),
            });
            report
        }
    }
}

/// Like [`scan`], for the application as it is served: the `axum::Router` built from a
/// [`SecureRouter`] (give it connection info, e.g. with `with_mock_connect_info` of
/// feature `testing`, when it limits by address), with anything added to it afterwards. `inventory` is the secure router's;
/// the paths added outside it are named in
/// [`ScanSettings::outside_the_inventory`].
pub async fn scan_router(app: Router, inventory: &Inventory, settings: ScanSettings) -> ScanReport {
    let error_body = settings.error_body.clone();
    scan_with(app, inventory, settings, error_body, None, None).await
}

async fn scan_with(
    app: Router,
    inventory: &Inventory,
    settings: ScanSettings,
    error_body: Option<Arc<dyn ErrorBody>>,
    revocations: Option<Arc<RevocationStore>>,
    permits: Option<Arc<probes::Recorder>>,
) -> ScanReport {
    let outside = settings.outside.clone();
    let mut scanner = Scanner {
        settings,
        report: ScanReport::default(),
        router: Some(app),
        error_body,
        revocations,
        permits,
        inventory: inventory.clone(),
        documented: Vec::new(),
        route_tenant: None,
    };
    for route in inventory.routes() {
        scanner.report.routes += 1;
        scanner.route(route).await;
    }
    for path in outside {
        scanner.report.routes += 1;
        let label = format!("GET {path}");
        let request = Request::get(path.as_str())
            .body(Body::empty())
            .expect("a valid request");
        scanner
            .send(&label, "outside the inventory", request, next_address())
            .await;
    }
    scanner.report
}
