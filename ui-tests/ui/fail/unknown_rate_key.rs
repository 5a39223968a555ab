use secure_endpoint::secure;

#[secure(auth, rate = "10/10s", rate_key = "cookie")]
async fn me() -> &'static str {
    "me"
}

fn main() {}
