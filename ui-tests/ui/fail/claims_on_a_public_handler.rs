use secure_endpoint::{Claims, public};

#[public]
async fn profile(claims: Claims) -> String {
    claims.sub
}

fn main() {}
