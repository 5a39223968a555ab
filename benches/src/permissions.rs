//! The permission check's cost: `PUT /posts/{id}` on one loaded post, its author checked
//! with `owner = "post.author"` or asked of the embedded Cedar engine with the blog's
//! policies (`can = "edit", on = "post"`); everything else the same (token, body, limit,
//! answer).

use secure_endpoint::routing::put;
use secure_endpoint::{Cedar, Claims, Error, Resource, SecureRouter, Security, secure};

use crate::{CreatePost, Created, USER, created};

/// The blog's Cedar policies and schema, read when the router is built.
const POLICIES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/blog/policies/blog.cedar"
);
const SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/blog/policies/blog.cedarschema"
);

/// A post as the blog's policies read it.
#[derive(Clone, serde::Serialize, secure_endpoint::Entity)]
pub struct Post {
    id: u64,
    author: String,
    draft: bool,
    editors: Vec<String>,
}

impl Resource for Post {
    type Key = u64;
    type State = ();

    async fn load(id: u64, _state: &()) -> Result<Option<Self>, Error> {
        Ok(Some(Post { id, ..post() }))
    }
}

#[secure(auth, owner = "post.author", validate = CreatePost, rate = "1000000000/s")]
async fn edit_as_owner(claims: Claims, post: Post, input: CreatePost) -> Created {
    std::hint::black_box((claims, post, input));
    created()
}

#[secure(auth, can = "edit", on = "post", validate = CreatePost, rate = "1000000000/s")]
async fn edit_as_permitted(claims: Claims, post: Post, input: CreatePost) -> Created {
    std::hint::black_box((claims, post, input));
    created()
}

/// The embedded engine on the blog's policies.
pub fn cedar() -> Cedar {
    Cedar::from_files(POLICIES, SCHEMA).expect("the blog's policies")
}

/// The post every request loads, as the engine is asked about it.
pub fn post() -> Post {
    Post {
        id: 1,
        author: USER.to_owned(),
        draft: true,
        editors: vec!["7".to_owned(), "8".to_owned()],
    }
}

/// `PUT /owner/posts/{id}` with `owner`, and `PUT /can/posts/{id}` with `can`, on the
/// benchmark's HS256 settings and the blog's Cedar policies.
pub fn router() -> axum::Router {
    let security: Security = Security::builder()
        .authenticator(
            secure_endpoint::JwtAuthenticator::hmac(jsonwebtoken::Algorithm::HS256, crate::SECRET)
                .expect("a long secret"),
        )
        .rate_limiter(secure_endpoint::Limiter::memory())
        .permissions(cedar())
        .build()
        .expect("complete settings");
    SecureRouter::new()
        .route("/owner/posts/{id}", put(edit_as_owner))
        .route("/can/posts/{id}", put(edit_as_permitted))
        .with_security(security)
        .try_into_router()
        .expect("complete settings")
}
