use secure_endpoint::public;

#[public(rate = "5/60s", rate_key = "user")]
async fn login() -> &'static str {
    "token"
}

fn main() {}
