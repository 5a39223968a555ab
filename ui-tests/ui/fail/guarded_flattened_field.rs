use secure_endpoint::Guarded;
use serde::Serialize;

#[derive(Serialize)]
struct Contact {
    email: String,
}

#[derive(Serialize, Guarded)]
struct Account {
    id: String,
    #[serde(flatten)]
    #[guarded(role = "admin")]
    contact: Contact,
}

fn main() {}
