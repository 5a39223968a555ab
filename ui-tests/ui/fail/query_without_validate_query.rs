use axum::extract::Query;
use secure_endpoint::{Claims, secure};

#[derive(serde::Deserialize, validator::Validate)]
struct Filter {
    #[validate(length(max = 50))]
    q: String,
}

#[secure(auth)]
async fn search(claims: Claims, Query(filter): Query<Filter>) -> String {
    format!("{} {}", claims.sub, filter.q)
}

fn main() {}
