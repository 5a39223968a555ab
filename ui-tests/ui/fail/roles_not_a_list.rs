use secure_endpoint::secure;

#[secure(auth, roles = "admin")]
async fn stats() -> &'static str {
    "stats"
}

fn main() {}
