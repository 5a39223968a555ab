use secure_endpoint::secure;

#[secure(auth, reason = "because")]
async fn me() -> &'static str {
    "me"
}

fn main() {}
