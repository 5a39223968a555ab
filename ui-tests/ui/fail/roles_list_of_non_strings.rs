use secure_endpoint::secure;

#[secure(auth, roles = [admin, editor])]
async fn stats() -> &'static str {
    "stats"
}

fn main() {}
