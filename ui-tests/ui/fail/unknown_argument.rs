use secure_endpoint::secure;

#[secure(auth, rol = "admin")]
async fn stats() -> &'static str {
    "stats"
}

fn main() {}
