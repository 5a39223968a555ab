use secure_endpoint::secure;

#[secure(auth = true)]
async fn me() -> &'static str {
    "me"
}

fn main() {}
