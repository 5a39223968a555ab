use secure_endpoint::routing::get;
use secure_endpoint::{SecureRouter, public};

#[public]
async fn list() -> &'static str {
    "[]"
}

async fn create() -> &'static str {
    "created"
}

fn main() {
    let _app: SecureRouter = SecureRouter::new().route("/posts", get(list).post(create));
}
