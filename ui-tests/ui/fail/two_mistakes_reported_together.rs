use secure_endpoint::secure;

#[secure(auth, rol = "admin", scope = "posts:write", scope = "posts:read")]
async fn stats() -> &'static str {
    "stats"
}

fn main() {}
