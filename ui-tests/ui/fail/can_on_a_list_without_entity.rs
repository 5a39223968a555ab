use secure_endpoint::routing::get;
use secure_endpoint::{Collection, Error, NoQuery, Scope, SecureRouter, public};

#[derive(Clone)]
struct Db;

struct Post {
    title: String,
}

impl Collection for Post {
    type State = Db;
    type Query = NoQuery;

    async fn list(_scope: Scope<'_>, _query: NoQuery, _db: &Db) -> Result<Vec<Self>, Error> {
        Ok(Vec::new())
    }
}

#[public(reason = "published posts", optional_auth, can = "read", on = "posts[]")]
async fn list(posts: Vec<Post>) -> String {
    posts.into_iter().map(|post| post.title).collect()
}

fn main() {
    let _app: SecureRouter<Db> = SecureRouter::new().route("/posts", get(list));
}
