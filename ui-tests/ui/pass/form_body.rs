//! `validate` on a `Form<T>` parameter reads a form body.

use axum::Form;
use secure_endpoint::routing::post;
use secure_endpoint::{SecureRouter, public};

#[derive(serde::Deserialize, validator::Validate)]
struct Login {
    #[validate(length(min = 3))]
    username: String,
    #[validate(length(min = 8))]
    password: String,
}

#[public(validate = Login)]
async fn login(Form(form): Form<Login>) -> String {
    format!("{} {}", form.username, form.password.len())
}

fn main() {
    let _app: SecureRouter = SecureRouter::new().route("/login", post(login));
}
