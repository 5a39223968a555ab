use secure_endpoint::secure;

#[secure(auth, rate_key = "cookie")]
async fn me() -> &'static str {
    "me"
}

fn main() {}
