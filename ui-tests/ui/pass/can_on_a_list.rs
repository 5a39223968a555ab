use secure_endpoint::routing::get;
use secure_endpoint::{Collection, Dialect, Columns, Error, NoQuery, Plan, Scope, SecureRouter, public};

#[derive(Clone)]
struct Db;

#[derive(serde::Serialize, secure_endpoint::Entity)]
struct Post {
    id: u64,
    author: String,
    draft: bool,
}

impl Collection for Post {
    type State = Db;
    type Query = NoQuery;

    async fn list(scope: Scope<'_>, _query: NoQuery, _db: &Db) -> Result<Vec<Self>, Error> {
        let columns = Columns::new().column("author", "author").column("draft", "draft");
        match scope.plan() {
            Some(Plan::Nothing) => Ok(Vec::new()),
            Some(plan) => {
                let condition = plan.sql(&columns, Dialect::Sqlite)?;
                let _ = (condition.sql, condition.params);
                Ok(Vec::new())
            }
            None => Ok(Vec::new()),
        }
    }
}

#[public(reason = "published posts", optional_auth, can = "read", on = "posts[]")]
async fn list(posts: Vec<Post>) -> String {
    posts.into_iter().map(|post| post.author).collect()
}

fn main() {
    let _app: SecureRouter<Db> = SecureRouter::new().route("/posts", get(list));
}
