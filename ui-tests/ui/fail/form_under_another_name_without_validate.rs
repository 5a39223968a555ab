use axum::Form as Posted;
use secure_endpoint::public;

#[derive(serde::Deserialize, validator::Validate)]
struct Feedback {
    #[validate(length(max = 500))]
    text: String,
}

#[public]
async fn send_feedback(Posted(feedback): Posted<Feedback>) -> String {
    feedback.text
}

fn main() {}
