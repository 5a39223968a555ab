use secure_endpoint::public;

#[public(limit(rate = "1/s", rate = "2/s"))]
async fn search() -> &'static str {
    "results"
}

fn main() {}
