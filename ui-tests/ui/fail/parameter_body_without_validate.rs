use secure_endpoint::SecureRouter;
use secure_endpoint::routing::put;
use secure_endpoint::{Claims, secure};

#[derive(serde::Deserialize, validator::Validate)]
struct Edit {
    #[validate(length(min = 1, max = 100))]
    name: String,
}

#[secure(auth)]
async fn update_project(claims: Claims, edit: Edit) -> String {
    format!("{} renames to {}", claims.sub, edit.name)
}

fn main() {
    let _app: SecureRouter = SecureRouter::new().route("/projects/{id}", put(update_project));
}
