use secure_endpoint::secure;

struct Post {
    user_id: i64,
}

#[secure(auth, owner = "post.user_id")]
async fn delete_post(post: Post) -> String {
    post.user_id.to_string()
}

fn main() {}
