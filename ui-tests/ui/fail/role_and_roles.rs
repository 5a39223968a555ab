use secure_endpoint::secure;

#[secure(auth, role = "admin", roles = ["editor"])]
async fn stats() -> &'static str {
    "stats"
}

fn main() {}
