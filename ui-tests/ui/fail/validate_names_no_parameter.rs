use secure_endpoint::public;

#[derive(serde::Deserialize, validator::Validate)]
struct Login {
    username: String,
}

#[public(validate = Login)]
async fn login() -> &'static str {
    "token"
}

fn main() {}
