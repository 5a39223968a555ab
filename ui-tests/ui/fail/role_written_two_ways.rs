use secure_endpoint::secure;

#[derive(secure_endpoint::Role)]
enum Role {
    Admin,
}

#[secure(auth, roles = [Role::Admin, "editor"])]
async fn publish() {}

#[secure(auth, role = Admin)]
async fn stats() {}

fn main() {}
