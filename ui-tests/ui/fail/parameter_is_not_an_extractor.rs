use secure_endpoint::SecureRouter;
use secure_endpoint::routing::get;
use secure_endpoint::{Claims, secure};

struct NotAnExtractor;

#[secure(auth)]
async fn me(claims: Claims, _config: NotAnExtractor) -> String {
    claims.sub
}

fn main() {
    let _app: SecureRouter = SecureRouter::new().route("/me", get(me));
}
