use secure_endpoint::{public, secure};

#[secure(auth)]
#[public]
async fn me() -> &'static str {
    "me"
}

fn main() {}
