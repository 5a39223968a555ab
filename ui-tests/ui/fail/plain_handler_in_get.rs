use secure_endpoint::SecureRouter;
use secure_endpoint::routing::get;

async fn list_users() -> &'static str {
    "everyone"
}

fn main() {
    let _app: SecureRouter = SecureRouter::new().route("/users", get(list_users));
}
