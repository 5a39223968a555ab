use secure_endpoint::secure;

#[secure(auth, rate_key = "ip")]
async fn me() -> &'static str {
    "me"
}

fn main() {}
