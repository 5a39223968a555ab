use secure_endpoint::Guarded;
use serde::Serialize;

#[derive(Serialize, Guarded)]
struct Page<T> {
    items: Vec<T>,
    #[guarded(role = "admin")]
    total: u64,
}

fn main() {}
