use secure_endpoint::Guarded;
use serde::Serialize;

#[derive(Serialize, Guarded)]
enum Account {
    Person { email: String },
}

fn main() {}
