use secure_endpoint::Guarded;
use serde::{Serialize, Serializer};

fn masked<S: Serializer>(value: &str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&value[..1])
}

#[derive(Serialize, Guarded)]
struct Account {
    id: String,
    #[serde(serialize_with = "masked")]
    #[guarded(role = "admin")]
    email: String,
}

fn main() {}
