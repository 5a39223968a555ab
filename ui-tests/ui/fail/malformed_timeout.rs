use secure_endpoint::public;

#[public(timeout = "5")]
async fn report() -> &'static str {
    "report"
}

fn main() {}
