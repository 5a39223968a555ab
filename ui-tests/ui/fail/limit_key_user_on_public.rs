use secure_endpoint::public;

#[public(optional_auth, limit(rate = "5/m", key = "user"))]
async fn feed() -> &'static str {
    "feed"
}

fn main() {}
