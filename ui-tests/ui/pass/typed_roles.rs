use secure_endpoint::{Claims, SecureHandler, secure};

#[derive(secure_endpoint::Role)]
enum Role {
    Admin,
    SuperUser,
}

#[derive(secure_endpoint::Scope)]
enum Scope {
    #[scope(rename = "posts:write")]
    PostsWrite,
}

mod roles {
    #[derive(secure_endpoint::Role)]
    pub enum Staff {
        Moderator,
    }
}

#[secure(auth, roles = [Role::Admin, Role::SuperUser], scopes = [Scope::PostsWrite])]
async fn publish(claims: Claims) -> String {
    claims.sub
}

#[secure(auth, role = roles::Staff::Moderator)]
async fn moderate() {}

fn main() {
    assert_eq!(<publish as SecureHandler>::POLICY.roles(), ["admin", "super_user"]);
    assert_eq!(<publish as SecureHandler>::POLICY.scopes(), ["posts:write"]);
    assert_eq!(<moderate as SecureHandler>::POLICY.roles(), ["moderator"]);
}
