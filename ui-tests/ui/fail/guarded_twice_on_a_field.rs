use secure_endpoint::Guarded;
use serde::Serialize;

#[derive(Serialize, Guarded)]
struct Account {
    user_id: String,
    #[guarded(owner = "user_id")]
    #[guarded(role = "admin")]
    email: String,
}

fn main() {}
