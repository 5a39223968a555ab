//! `validate` and `validate_query`, with the parameter as `T` or wrapped, anywhere in
//! the signature, beside other extractors and an owned resource.

use axum::Json;
use axum::extract::{Query, State};
use secure_endpoint::routing::{get, post, put};
use secure_endpoint::{Claims, Error, Resource, SecureRouter, public, secure};
use serde::Deserialize;
use validator::Validate;

#[derive(Clone)]
struct Db;

#[derive(Deserialize, Validate)]
struct Input {
    #[validate(length(min = 1))]
    title: String,
}

#[derive(Deserialize, Validate)]
struct Filter {
    #[validate(range(max = 100))]
    limit: u32,
}

struct Doc {
    owner: String,
}

impl Resource for Doc {
    type Key = u64;
    type State = Db;

    async fn load(_id: u64, _db: &Db) -> Result<Option<Self>, Error> {
        Ok(None)
    }
}

#[public(validate = Input)]
async fn plain(input: Input) -> String {
    input.title
}

#[public(validate = Input, reason = "open form")]
async fn wrapped(Json(input): Json<Input>, State(_db): State<Db>) -> String {
    input.title
}

#[public(validate_query = Filter)]
async fn search(Query(filter): Query<Filter>) -> String {
    filter.limit.to_string()
}

#[secure(auth, validate = Input, validate_query = Filter)]
async fn both(input: Input, claims: Claims, filter: Filter) -> String {
    format!("{} {} {}", input.title, claims.sub, filter.limit)
}

#[secure(auth, owner = "doc.owner", validate = Input)]
async fn edit(input: Input, doc: Doc, State(_db): State<Db>) -> String {
    format!("{} {}", input.title, doc.owner)
}

fn main() {
    let _app: SecureRouter = SecureRouter::new()
        .route("/plain", post(plain).body_limit(1024))
        .route("/wrapped", post(wrapped))
        .route("/search", get(search))
        .route("/both", post(both))
        .route("/docs/{id}", put(edit))
        .with_state(Db);
}
