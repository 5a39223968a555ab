use axum::Json as Body;
use secure_endpoint::public;

#[derive(serde::Deserialize, validator::Validate)]
struct Feedback {
    #[validate(length(max = 500))]
    text: String,
}

#[public]
async fn send_feedback(Body(feedback): Body<Feedback>) -> String {
    feedback.text
}

fn main() {}
