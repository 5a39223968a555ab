//! A handler whose attribute has a mistake, routed as usual: the only error is the
//! attribute's, not also the route gate's "not annotated" one.

use secure_endpoint::routing::get;
use secure_endpoint::{SecureRouter, secure};

#[secure(auth, rol = "admin")]
async fn stats() -> &'static str {
    "stats"
}

fn main() {
    let _app: SecureRouter = SecureRouter::new().route("/admin/stats", get(stats));
}
