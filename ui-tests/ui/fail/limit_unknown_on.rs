use secure_endpoint::public;

#[public(limit(rate = "5/15m", on = "failures"))]
async fn login() -> &'static str {
    "token"
}

fn main() {}
