use secure_endpoint::public;

#[derive(serde::Deserialize)]
struct Login {
    username: String,
}

#[public(validate = Login)]
async fn login(input: Login) -> String {
    input.username
}

fn main() {}
