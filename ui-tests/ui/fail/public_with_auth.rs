use secure_endpoint::public;

#[public(auth)]
async fn health() -> &'static str {
    "ok"
}

fn main() {}
