#[derive(secure_endpoint::Role)]
enum Role {
    Admin = 3,
    Editor(String),
    #[role(rename = "admin")]
    Boss,
    #[role(name = "x")]
    Other,
}

#[derive(secure_endpoint::Scope)]
struct Scope {
    name: String,
}

fn main() {}
