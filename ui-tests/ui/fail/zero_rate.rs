use secure_endpoint::public;

#[public(rate = "0/10s")]
async fn login() -> &'static str {
    "token"
}

fn main() {}
