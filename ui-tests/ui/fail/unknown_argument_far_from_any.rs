use secure_endpoint::secure;

#[secure(auth, csrf_protection)]
async fn stats() -> &'static str {
    "stats"
}

fn main() {}
