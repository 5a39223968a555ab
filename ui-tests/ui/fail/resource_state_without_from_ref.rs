//! The resource's state is part of the router's state, with no `FromRef` to reach it.

use secure_endpoint::routing::get;
use secure_endpoint::{Error, Resource, SecureRouter, secure};

#[derive(Clone)]
struct Db;

#[derive(Clone)]
struct AppState {
    db: Db,
}

struct Post {
    user_id: String,
}

impl Resource for Post {
    type Key = u64;
    type State = Db;

    async fn load(_id: u64, _db: &Db) -> Result<Option<Self>, Error> {
        Ok(Some(Post { user_id: "1".into() }))
    }
}

#[secure(auth, owner = "post.user_id")]
async fn read(post: Post) -> String {
    post.user_id
}

fn main() {
    let state = AppState { db: Db };
    let _ = &state.db;
    let _app = SecureRouter::<AppState>::new().route("/posts/{id}", get(read));
}
