use axum::Json;
use secure_endpoint::{Claims, secure};

#[derive(serde::Deserialize)]
struct CreatePost {
    title: String,
}

#[secure(auth)]
async fn create_post(_claims: Claims, Json(input): Json<CreatePost>) -> String {
    input.title
}

fn main() {}
