use secure_endpoint::public;

#[public(limit(key = "ip", group = "reads"))]
async fn search() -> &'static str {
    "results"
}

fn main() {}
