use secure_endpoint::public;

#[public(concurrency = 0)]
async fn login() -> &'static str {
    "token"
}

fn main() {}
