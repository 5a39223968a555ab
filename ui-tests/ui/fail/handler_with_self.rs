use secure_endpoint::public;

#[public]
async fn health(self) -> &'static str {
    "ok"
}

fn main() {}
