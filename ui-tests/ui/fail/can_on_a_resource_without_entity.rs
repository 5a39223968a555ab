use secure_endpoint::routing::put;
use secure_endpoint::{Error, Resource, SecureRouter, secure};

#[derive(Clone)]
struct Db;

struct Post {
    author: String,
}

impl Resource for Post {
    type Key = u64;
    type State = Db;

    async fn load(_id: u64, _db: &Db) -> Result<Option<Self>, Error> {
        Ok(None)
    }
}

#[secure(auth, can = "edit", on = "post")]
async fn edit(post: Post) -> String {
    post.author
}

fn main() {
    let _app: SecureRouter<Db> = SecureRouter::new().route("/posts/{id}", put(edit));
}
