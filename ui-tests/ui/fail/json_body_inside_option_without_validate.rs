use axum::Json;
use secure_endpoint::public;

#[derive(serde::Deserialize)]
struct Feedback {
    text: String,
}

#[public]
async fn feedback(input: Option<Json<Feedback>>) -> String {
    input.map(|Json(f)| f.text).unwrap_or_default()
}

fn main() {}
