use secure_endpoint::secure;

#[secure(auth, role = "admin", auth)]
async fn stats() -> &'static str {
    "stats"
}

fn main() {}
