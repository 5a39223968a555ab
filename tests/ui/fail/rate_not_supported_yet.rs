use secure_endpoint::secure;

#[secure(auth, rate = "10/10s")]
async fn me() -> &'static str {
    "me"
}

fn main() {}
