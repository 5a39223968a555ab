use secure_endpoint::public;

#[derive(serde::Deserialize, validator::Validate)]
struct Feedback {
    #[validate(length(max = 500))]
    text: String,
}

#[public]
async fn send_feedback(feedback: axum::extract::Json<Feedback>) -> String {
    feedback.0.text
}

fn main() {}
