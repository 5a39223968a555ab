use secure_endpoint::secure;

#[secure]
async fn health() -> &'static str {
    "ok"
}

fn main() {}
