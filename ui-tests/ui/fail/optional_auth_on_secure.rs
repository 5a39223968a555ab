use secure_endpoint::secure;

#[secure(auth, optional_auth)]
async fn profile() -> &'static str {
    "profile"
}

fn main() {}
