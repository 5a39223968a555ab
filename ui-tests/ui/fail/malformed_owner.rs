use secure_endpoint::secure;

#[secure(auth, owner = "post")]
async fn delete_post() -> &'static str {
    "deleted"
}

fn main() {}
