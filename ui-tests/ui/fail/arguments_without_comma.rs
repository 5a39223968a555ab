use secure_endpoint::secure;

#[secure(auth role = "admin")]
async fn stats() -> &'static str {
    "stats"
}

fn main() {}
