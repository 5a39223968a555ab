use secure_endpoint::public;

#[public(concurrency = "8")]
async fn login() -> &'static str {
    "token"
}

fn main() {}
