use secure_endpoint::SecureRouter;

async fn list_users() -> &'static str {
    "everyone"
}

fn main() {
    let _app: SecureRouter = SecureRouter::new().route("/users", axum::routing::get(list_users));
}
