use secure_endpoint::public;

#[derive(serde::Deserialize, validator::Validate)]
struct Filter {
    limit: u32,
}

#[public(validate_query = Filter)]
async fn search() -> &'static str {
    "[]"
}

fn main() {}
