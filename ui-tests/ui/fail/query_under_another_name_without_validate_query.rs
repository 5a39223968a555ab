use axum::extract::Query as Search;
use secure_endpoint::public;

#[derive(serde::Deserialize, validator::Validate)]
struct Filter {
    #[validate(length(max = 50))]
    q: String,
}

#[public]
async fn search(Search(filter): Search<Filter>) -> String {
    filter.q
}

fn main() {}
