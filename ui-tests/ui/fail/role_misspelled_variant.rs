use secure_endpoint::secure;

#[derive(secure_endpoint::Role)]
enum Role {
    Admin,
    Editor,
}

#[secure(auth, role = Role::Admn)]
async fn stats() {}

#[secure(auth, roles = [Role::Editor, Role::Editr])]
async fn publish() {}

fn main() {}
