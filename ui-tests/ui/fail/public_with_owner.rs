use secure_endpoint::public;

#[public(owner = "post.user_id")]
async fn read_post() -> &'static str {
    "post"
}

fn main() {}
