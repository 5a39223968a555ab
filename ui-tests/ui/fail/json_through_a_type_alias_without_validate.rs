use secure_endpoint::public;

type Payload<T> = axum::Json<T>;

#[derive(serde::Deserialize, validator::Validate)]
struct Feedback {
    #[validate(length(max = 500))]
    text: String,
}

#[public]
async fn send_feedback(feedback: Payload<Feedback>) -> String {
    feedback.0.text
}

fn main() {}
