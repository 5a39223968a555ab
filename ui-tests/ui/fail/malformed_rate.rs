use secure_endpoint::public;

#[public(rate = "10/10w")]
async fn login() -> &'static str {
    "token"
}

fn main() {}
