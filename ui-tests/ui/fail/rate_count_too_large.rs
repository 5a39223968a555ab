use secure_endpoint::public;

#[public(rate = "99999999999/s")]
async fn login() -> &'static str {
    "token"
}

fn main() {}
