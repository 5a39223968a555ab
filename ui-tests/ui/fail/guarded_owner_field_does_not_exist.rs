use secure_endpoint::Guarded;
use serde::Serialize;

#[derive(Serialize, Guarded)]
struct Account {
    id: String,
    #[guarded(owner = "user_id", role = "admin")]
    email: String,
}

fn main() {}
