use secure_endpoint::secure;

#[secure(auth, "admin")]
async fn stats() -> &'static str {
    "stats"
}

fn main() {}
