use secure_endpoint::{public, secure};

#[secure(can = "edit")]
async fn no_auth() {}

#[public(can = "read")]
async fn public_without_optional_auth() {}

#[secure(auth, on = "post")]
async fn on_without_can() {}

#[secure(auth, can = "edit", on = "article")]
async fn no_such_parameter() {}

#[secure(auth, can = "read", on = "posts[]")]
async fn no_such_list() {}

#[secure(auth, can = "read", on = "posts[]")]
async fn a_list_that_is_not_a_vec(posts: String) -> String {
    posts
}

#[secure(auth, owner = "posts[].user_id", can = "read", on = "post")]
async fn on_and_owner_disagree(posts: Vec<String>) -> usize {
    posts.len()
}

#[secure(auth, can = "edit now")]
async fn not_an_action() {}

fn main() {}
