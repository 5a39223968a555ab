use secure_endpoint::secure;

#[secure(auth, role)]
async fn stats() -> &'static str {
    "stats"
}

fn main() {}
