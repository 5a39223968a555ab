use secure_endpoint::{Error, Resource, secure};

struct Post {
    user_id: String,
}

impl Resource for Post {
    type Key = i64;
    type State = ();

    async fn load(_id: i64, _state: &()) -> Result<Option<Self>, Error> {
        Ok(None)
    }
}

#[secure(auth, owner = "post[].user_id")]
async fn my_posts(post: Post) -> String {
    post.user_id
}

fn main() {}
