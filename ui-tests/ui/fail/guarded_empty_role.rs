use secure_endpoint::Guarded;
use serde::Serialize;

#[derive(Serialize, Guarded)]
struct Post {
    title: String,
    #[guarded(role = " ")]
    pinned: bool,
}

fn main() {}
