use secure_endpoint::public;

#[public(limit(rate = "5/15m", key = "input.username"))]
async fn login() -> &'static str {
    "token"
}

fn main() {}
