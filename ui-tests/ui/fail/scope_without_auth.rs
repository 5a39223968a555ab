use secure_endpoint::secure;

#[secure(scopes = ["posts:write"])]
async fn publish() -> &'static str {
    "published"
}

fn main() {}
