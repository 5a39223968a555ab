use secure_endpoint::public;

#[public(limit(rate = "5/m", keys = "ip"), limit(rate = "5/m", window = "1h"))]
async fn search() -> &'static str {
    "results"
}

fn main() {}
