#[derive(serde::Serialize, secure_endpoint::Entity)]
struct NoId {
    author: String,
}

#[derive(serde::Serialize, secure_endpoint::Entity)]
#[entity(kind = "Post")]
struct Twice {
    #[entity(id)]
    id: u64,
    #[entity(id)]
    slug: String,
}

#[derive(serde::Serialize, secure_endpoint::Entity)]
enum NotAStruct {
    One,
}

fn main() {}
