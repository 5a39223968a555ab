use secure_endpoint::secure;

#[secure(role = "admin")]
async fn stats() -> &'static str {
    "stats"
}

fn main() {}
