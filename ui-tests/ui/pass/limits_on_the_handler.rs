//! `timeout` and `concurrency` on both attributes.

use secure_endpoint::routing::{get, post};
use secure_endpoint::{Claims, SecureRouter, public, secure};

#[public(timeout = "250ms", concurrency = 8, reason = "a slow report")]
async fn report() -> &'static str {
    "report"
}

#[secure(auth, timeout = "5s", concurrency = 2)]
async fn export(claims: Claims) -> String {
    claims.sub
}

fn main() {
    let _app: SecureRouter = SecureRouter::new()
        .route("/report", get(report))
        .route("/export", post(export));
}
