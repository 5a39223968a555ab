use secure_endpoint::secure;

#[secure(auth)]
fn me() -> &'static str {
    "me"
}

fn main() {}
