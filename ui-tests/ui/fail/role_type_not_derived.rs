use secure_endpoint::secure;

enum Plan {
    Free,
}

#[secure(auth, role = Plan::Free)]
async fn stats() {}

fn main() {}
