use secure_endpoint::public;

#[derive(serde::Deserialize, validator::Validate)]
struct Login {
    username: String,
    password: String,
}

#[public(validate = Login, limit(rate = "5/15m", key = "ip", on = "failure", except = "device"))]
async fn login(input: Login) -> String {
    input.username
}

#[public(validate = Login, limit(rate = "5/15m", key = "input.username", except = "device"))]
async fn register(input: Login) -> String {
    input.password
}

fn main() {}
