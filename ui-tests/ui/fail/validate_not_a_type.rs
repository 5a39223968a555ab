use secure_endpoint::public;

#[public(validate = "Login")]
async fn login() -> &'static str {
    "token"
}

fn main() {}
