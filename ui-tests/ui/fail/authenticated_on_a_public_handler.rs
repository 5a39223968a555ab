use secure_endpoint::{Authenticated, Claims, public};

#[public]
async fn profile(Authenticated(claims): Authenticated<Claims>) -> String {
    claims.sub
}

fn main() {}
