use secure_endpoint::public;

#[public(limit(rate = "5/m", key = "address"), limit(rate = "5/m", key = "input."))]
async fn search() -> &'static str {
    "results"
}

fn main() {}
