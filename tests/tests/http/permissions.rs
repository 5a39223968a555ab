//! `can`/`on` over HTTP on the Cedar engine: shared posts with editors, drafts only their
//! readers learn of, and the mistakes of a policy file stopped at start.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use jsonwebtoken::Algorithm;
use reqwest::StatusCode;
use secure_endpoint::routing::{delete, get, put};
use secure_endpoint::testing::TokenMint;
use secure_endpoint::{
    Cedar, Claims, Collection, DecisionFuture, DecisionsFuture, Entity, Error, JwtAuthenticator,
    ListQuestion, NoQuery, PermissionEngine, PlanFuture, Question, Resource, Scope, SecureRouter,
    Security, SetupError, public, secure,
};
use secure_endpoint_tests::{SECRET, serve};

const SCHEMA: &str = r#"
entity User { id: String, roles: Set<String> };
entity Post { author: String, draft: Bool, editors: Set<String> };
entity Route;
action read, edit, delete, share appliesTo { principal: User, resource: Post };
action view_stats appliesTo { principal: User, resource: Route };
"#;

const POLICIES: &str = r#"
@id("published posts are read by anyone")
permit (principal, action == Action::"read", resource) when { !resource.draft };
@id("authors and editors read and edit")
permit (principal, action in [Action::"read", Action::"edit"], resource)
when { resource.author == principal.id || resource.editors.contains(principal.id) };
@id("authors delete and share")
permit (principal, action in [Action::"delete", Action::"share"], resource)
when { resource.author == principal.id };
@id("admins read and delete")
permit (principal, action in [Action::"read", Action::"delete"], resource)
when { principal.roles.contains("admin") };
@id("admins view the stats")
permit (principal, action == Action::"view_stats", resource == Route::"GET /stats")
when { principal.roles.contains("admin") };
"#;

/// A post as the policies read it (shared with the remote decision point's tests).
#[derive(Clone, serde::Serialize, secure_endpoint::Entity)]
pub(crate) struct Post {
    pub(crate) id: u64,
    pub(crate) author: String,
    pub(crate) draft: bool,
    pub(crate) editors: Vec<String>,
}

#[derive(Clone, Default)]
pub(crate) struct Posts(pub(crate) Arc<RwLock<HashMap<u64, Post>>>);

impl Resource for Post {
    type Key = u64;
    type State = Posts;

    async fn load(id: u64, posts: &Posts) -> Result<Option<Self>, Error> {
        Ok(posts.0.read().unwrap().get(&id).cloned())
    }
}

#[public(optional_auth, can = "read", on = "post")]
pub(crate) async fn show(post: Post) -> String {
    format!("post {}", post.id)
}

#[secure(auth, can = "edit", on = "post")]
pub(crate) async fn edit(editor: Claims, post: Post) -> String {
    format!("{} edits {}", editor.sub, post.id)
}

#[secure(auth, can = "delete", on = "post")]
async fn remove(post: Post) -> String {
    format!("deleted {}", post.id)
}

/// Lists what the plan admits, as a query would.
impl Collection for Post {
    type State = Posts;
    type Query = NoQuery;

    async fn list(scope: Scope<'_>, _query: NoQuery, posts: &Posts) -> Result<Vec<Post>, Error> {
        let plan = scope.plan().expect("a `can` list has a plan");
        let mut posts: Vec<Post> = posts
            .0
            .read()
            .unwrap()
            .values()
            .filter(|post| plan.admits(&post.attributes()))
            .cloned()
            .collect();
        posts.sort_by_key(|post| post.id);
        Ok(posts)
    }
}

/// Ignores the plan: a loader with a bug.
#[derive(Clone, serde::Serialize, secure_endpoint::Entity)]
#[entity(type = "Post")]
struct Leaky {
    id: u64,
    author: String,
    draft: bool,
    editors: Vec<String>,
}

impl Collection for Leaky {
    type State = Posts;
    type Query = NoQuery;

    async fn list(_scope: Scope<'_>, _query: NoQuery, posts: &Posts) -> Result<Vec<Leaky>, Error> {
        let posts = posts.0.read().unwrap();
        let mut all: Vec<Leaky> = posts
            .values()
            .map(|post| Leaky {
                id: post.id,
                author: post.author.clone(),
                draft: post.draft,
                editors: post.editors.clone(),
            })
            .collect();
        all.sort_by_key(|post| post.id);
        Ok(all)
    }
}

#[public(optional_auth, can = "read", on = "posts[]")]
async fn list(posts: Vec<Post>) -> String {
    let ids: Vec<String> = posts.iter().map(|post| post.id.to_string()).collect();
    ids.join(",")
}

#[public(optional_auth, can = "read", on = "posts[]")]
async fn leaky(posts: Vec<Leaky>) -> String {
    let drafts: Vec<String> = posts
        .iter()
        .map(|post| format!("{}:{}", post.id, post.draft))
        .collect();
    drafts.join(",")
}

#[secure(auth, can = "view_stats")]
async fn stats() -> &'static str {
    "stats"
}

/// Post `id`, by alice, with the editor ed.
pub(crate) fn post(id: u64, draft: bool) -> Post {
    Post {
        id,
        author: "alice".into(),
        draft,
        editors: vec!["ed".into()],
    }
}

/// Post 1 is published, post 2 a draft.
pub(crate) fn posts() -> Posts {
    let posts = Posts::default();
    posts
        .0
        .write()
        .unwrap()
        .extend([(1, post(1, false)), (2, post(2, true))]);
    posts
}

fn router(posts: Posts, cedar: Cedar) -> SecureRouter {
    let security = Security::builder()
        .authenticator(JwtAuthenticator::hmac(Algorithm::HS256, SECRET).unwrap())
        .permissions(cedar)
        .build()
        .unwrap();
    SecureRouter::new()
        .route("/posts/{id}", get(show).put(edit).delete(remove))
        .route("/stats", get(stats))
        .route("/posts", get(list))
        .route("/leaky", get(leaky))
        .with_security(security)
        .with_state(posts)
}

/// `method path` as `who` (a subject and its roles), or anonymous: the status and body.
pub(crate) async fn status(
    base: &str,
    method: reqwest::Method,
    path: &str,
    who: Option<(&str, &[&str])>,
) -> (StatusCode, String) {
    let mut request = reqwest::Client::new().request(method, format!("{base}{path}"));
    if let Some((sub, roles)) = who {
        request = request.bearer_auth(TokenMint::hmac(Algorithm::HS256, SECRET).token(sub, roles));
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn editors_edit_but_only_authors_and_admins_delete() {
    let base = serve(router(posts(), Cedar::new(POLICIES, SCHEMA).unwrap())).await;
    use reqwest::Method;
    let ed = Some(("ed", &[][..]));
    assert_eq!(
        status(&base, Method::PUT, "/posts/2", ed).await,
        (StatusCode::OK, "ed edits 2".into())
    );
    // An editor may read the post, so deleting it is 403, not 404.
    assert_eq!(
        status(&base, Method::DELETE, "/posts/2", ed).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(&base, Method::DELETE, "/posts/2", Some(("alice", &[])))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        status(
            &base,
            Method::DELETE,
            "/posts/1",
            Some(("root", &["admin"]))
        )
        .await
        .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_draft_is_404_to_whoever_may_not_read_it_and_a_published_post_403() {
    let base = serve(router(posts(), Cedar::new(POLICIES, SCHEMA).unwrap())).await;
    use reqwest::Method;
    let mallory = Some(("mallory", &[][..]));
    // Someone else's published post: they may read it, so editing it is 403.
    let (code, body) = status(&base, Method::PUT, "/posts/1", mallory).await;
    assert_eq!(
        (code, body.as_str()),
        (StatusCode::FORBIDDEN, r#"{"error":"Forbidden"}"#)
    );
    // A draft they may not read: 404, as a missing post, for every action.
    for method in [Method::PUT, Method::DELETE, Method::GET] {
        let (code, body) = status(&base, method.clone(), "/posts/2", mallory).await;
        assert_eq!(
            (code, body.as_str()),
            (StatusCode::NOT_FOUND, r#"{"error":"Not found"}"#),
            "{method}"
        );
    }
    // Anonymous readers see published posts, not drafts.
    assert_eq!(
        status(&base, Method::GET, "/posts/1", None).await,
        (StatusCode::OK, "post 1".into())
    );
    assert_eq!(
        status(&base, Method::GET, "/posts/2", None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(&base, Method::GET, "/posts/9", None).await.0,
        StatusCode::NOT_FOUND
    );
    // A forged token is refused before the engine is asked.
    let forged = reqwest::Client::new()
        .get(format!("{base}/posts/1"))
        .bearer_auth("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_removed_editor_loses_access_at_once() {
    let state = posts();
    let base = serve(router(state.clone(), Cedar::new(POLICIES, SCHEMA).unwrap())).await;
    use reqwest::Method;
    let ed = Some(("ed", &[][..]));
    assert_eq!(
        status(&base, Method::PUT, "/posts/2", ed).await.0,
        StatusCode::OK
    );
    state
        .0
        .write()
        .unwrap()
        .get_mut(&2)
        .unwrap()
        .editors
        .clear();
    assert_eq!(
        status(&base, Method::PUT, "/posts/2", ed).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn can_without_on_asks_about_the_route() {
    let base = serve(router(posts(), Cedar::new(POLICIES, SCHEMA).unwrap())).await;
    use reqwest::Method;
    assert_eq!(
        status(&base, Method::GET, "/stats", Some(("root", &["admin"])))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        status(&base, Method::GET, "/stats", Some(("ed", &[])))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}

#[test]
fn a_policy_that_does_not_type_check_stops_the_start_naming_its_position() {
    let policies = "permit (principal, action == Action::\"read\", resource)\nwhen { resource.autor == principal.id };";
    let error = Cedar::new(policies, SCHEMA)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        error.starts_with("invalid setting `permissions`: policies:2:"),
        "{error}"
    );
    assert!(
        error.contains("autor") && error.contains("author"),
        "{error}"
    );
    let error = Cedar::new("permit (principal, action, resource", SCHEMA)
        .err()
        .expect("refused")
        .to_string();
    assert!(error.contains("policies:1:"), "{error}");
}

#[test]
fn a_route_asking_an_action_the_schema_lacks_stops_the_router() {
    #[secure(auth, can = "edt", on = "post")]
    async fn typo(post: Post) -> String {
        post.author
    }
    let security = Security::builder()
        .authenticator(JwtAuthenticator::hmac(Algorithm::HS256, SECRET).unwrap())
        .permissions(Cedar::new(POLICIES, SCHEMA).unwrap())
        .build()
        .unwrap();
    let error = SecureRouter::new()
        .route("/posts/{id}", put(typo))
        .with_security(security)
        .with_state::<()>(posts())
        .try_into_router()
        .expect_err("refused");
    let message = error.to_string();
    assert!(
        message.contains("PUT /posts/{id}")
            && message.contains("\"edt\"")
            && message.contains("did you mean \"edit\"?"),
        "{message}"
    );
    // Without an engine at all, the route names what it needs.
    let security = Security::builder()
        .authenticator(JwtAuthenticator::hmac(Algorithm::HS256, SECRET).unwrap())
        .build()
        .unwrap();
    let error = SecureRouter::new()
        .route("/posts/{id}", delete(remove))
        .with_security(security)
        .with_state::<()>(posts())
        .try_into_router()
        .expect_err("refused");
    assert!(matches!(error, SetupError::Missing { .. }), "{error}");
}

#[test]
fn the_policy_shows_the_permission() {
    use secure_endpoint::SecureHandler;
    let policy = <edit as SecureHandler>::POLICY;
    assert_eq!(policy.permission(), Some(("edit", Some("Post"))));
    assert_eq!(policy.to_string(), "auth, can edit on Post");
}

#[tokio::test]
async fn a_list_holds_what_each_caller_may_read() {
    let base = serve(router(posts(), Cedar::new(POLICIES, SCHEMA).unwrap())).await;
    use reqwest::Method;
    for (who, expected) in [
        (None, "1"),
        (Some(("mallory", &[][..])), "1"),
        (Some(("alice", &[][..])), "1,2"),
        (Some(("ed", &[][..])), "1,2"),
        (Some(("root", &["admin"][..])), "1,2"),
    ] {
        assert_eq!(
            status(&base, Method::GET, "/posts", who).await,
            (StatusCode::OK, expected.to_owned()),
            "{who:?}"
        );
    }
}

#[tokio::test]
async fn a_loader_that_ignores_the_plan_fails_closed() {
    let base = serve(router(posts(), Cedar::new(POLICIES, SCHEMA).unwrap())).await;
    use reqwest::Method;
    for who in [None, Some(("mallory", &[][..]))] {
        let (code, body) = status(&base, Method::GET, "/leaky", who).await;
        assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR, "{who:?}");
        assert!(
            body.starts_with(r#"{"error":"An unexpected error occurred","request_id":""#)
                && !body.contains("true")
                && !body.contains("alice"),
            "{body}"
        );
    }
    // The author may read every post: what the loader returned is theirs to see.
    assert_eq!(
        status(&base, Method::GET, "/leaky", Some(("alice", &[]))).await,
        (StatusCode::OK, "1:false,2:true".to_owned())
    );
}

/// Cedar, counting the calls made to it.
struct Counted {
    cedar: Cedar,
    calls: Arc<AtomicUsize>,
}

impl PermissionEngine for Counted {
    fn decide<'a>(&'a self, question: &'a Question<'a>) -> DecisionFuture<'a> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.cedar.decide(question)
    }

    fn decide_all<'a>(&'a self, questions: &'a [Question<'a>]) -> DecisionsFuture<'a> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.cedar.decide_all(questions)
    }

    fn plan<'a>(&'a self, question: &'a ListQuestion<'a>) -> PlanFuture<'a> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.cedar.plan(question)
    }
}

#[tokio::test]
async fn a_list_asks_the_engine_twice_whatever_its_length() {
    let state = posts();
    for id in 3..=40 {
        state.0.write().unwrap().insert(
            id,
            Post {
                id,
                author: "alice".into(),
                draft: false,
                editors: vec![],
            },
        );
    }
    let calls = Arc::new(AtomicUsize::new(0));
    let security = Security::builder()
        .authenticator(JwtAuthenticator::hmac(Algorithm::HS256, SECRET).unwrap())
        .permissions(Counted {
            cedar: Cedar::new(POLICIES, SCHEMA).unwrap(),
            calls: Arc::clone(&calls),
        })
        .build()
        .unwrap();
    let app = SecureRouter::new()
        .route("/posts", get(list))
        .with_security(security)
        .with_state(state);
    let base = serve(app).await;
    let (code, body) = status(&base, reqwest::Method::GET, "/posts", None).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body.split(',').count(), 39);
    // One plan, one batch of 39 decisions.
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
