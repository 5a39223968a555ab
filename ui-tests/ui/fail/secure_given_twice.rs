use secure_endpoint::secure;

#[secure(auth)]
#[secure(auth)]
async fn me() -> &'static str {
    "me"
}

fn main() {}
