use secure_endpoint::public;

#[public(limit = "5/m")]
async fn search() -> &'static str {
    "results"
}

fn main() {}
