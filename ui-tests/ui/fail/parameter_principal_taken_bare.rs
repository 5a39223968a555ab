use secure_endpoint::SecureRouter;
use secure_endpoint::routing::get;
use secure_endpoint::{Principal, secure};

#[derive(Clone, serde::Deserialize)]
struct User {
    sub: String,
    org: String,
}

impl Principal for User {
    fn id(&self) -> &str {
        &self.sub
    }
    fn has_role(&self, _role: &str) -> bool {
        false
    }
    fn tenant(&self) -> Option<&str> {
        Some(&self.org)
    }
}

#[secure(auth)]
async fn me(user: User) -> String {
    user.sub
}

fn main() {
    let _app: SecureRouter = SecureRouter::new().route("/me", get(me));
}
