use secure_endpoint::public;

#[derive(serde::Deserialize, validator::Validate)]
struct Login {
    username: String,
    password: String,
}

#[public(validate = Login, limit(rate = "5/15m", key = "input.username", on = "failure", except = "devices"))]
async fn login(input: Login) -> String {
    input.password
}

fn main() {}
