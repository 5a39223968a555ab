use secure_endpoint::Guarded;
use serde::Serialize;

#[derive(Serialize, Guarded)]
#[serde(tag = "kind")]
struct Account {
    id: String,
    #[guarded(role = "admin")]
    email: String,
}

fn main() {}
