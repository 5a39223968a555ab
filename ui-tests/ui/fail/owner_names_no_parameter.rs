use secure_endpoint::{Error, Resource, secure};

struct Post {
    user_id: i64,
}

impl Resource for Post {
    type Key = i64;
    type State = ();

    async fn load(_id: i64, _state: &()) -> Result<Option<Self>, Error> {
        Ok(None)
    }
}

#[secure(auth, owner = "article.user_id")]
async fn delete_post(post: Post) -> String {
    post.user_id.to_string()
}

fn main() {}
