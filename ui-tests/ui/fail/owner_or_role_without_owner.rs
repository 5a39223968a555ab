use secure_endpoint::secure;

#[secure(auth, owner_or_role = "admin")]
async fn delete_post() -> &'static str {
    "deleted"
}

fn main() {}
