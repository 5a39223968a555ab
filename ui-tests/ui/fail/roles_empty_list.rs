use secure_endpoint::secure;

#[secure(auth, roles = [])]
async fn stats() -> &'static str {
    "stats"
}

fn main() {}
