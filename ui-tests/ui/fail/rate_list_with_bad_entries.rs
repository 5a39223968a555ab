use secure_endpoint::public;

#[public(rate = ["10/s", "5/w", "0/m"])]
async fn search() -> &'static str {
    "results"
}

fn main() {}
