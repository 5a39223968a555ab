//! The blog's handlers, each with its declared policy.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use secure_endpoint::{
    Claims, Columns, Dialect, Entity, Error, Plan, Resource, Revoker, public, secure,
};
use serde::Deserialize;
use serde_json::{Value, json};
use validator::{Validate, ValidationError};

use crate::AppState;
use crate::db::{Db, Post};

/// `{username, password}` of register and login: username 3–32 of `[A-Za-z0-9_]`,
/// password 8–128 characters.
#[derive(Deserialize, Validate, schemars::JsonSchema)]
pub struct Credentials {
    #[validate(length(min = 3, max = 32), custom(function = "username_characters"))]
    #[schemars(pattern(r"^[A-Za-z0-9_]+$"))]
    username: String,
    #[validate(length(min = 8, max = 128))]
    password: String,
}

/// `{username, password, email?}` of register: the credentials, and an email shown
/// only to its owner and to admins.
#[derive(Deserialize, Validate, schemars::JsonSchema)]
pub struct Registration {
    #[validate(length(min = 3, max = 32), custom(function = "username_characters"))]
    #[schemars(pattern(r"^[A-Za-z0-9_]+$"))]
    username: String,
    #[validate(length(min = 8, max = 128))]
    password: String,
    #[serde(default)]
    #[validate(email, length(max = 254))]
    email: Option<String>,
}

fn username_characters(username: &str) -> Result<(), ValidationError> {
    if username
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        Ok(())
    } else {
        Err(ValidationError::new("pattern"))
    }
}

/// `{title, content, tags?, pinned?}` of `POST /posts` and `PUT /posts/{id}`: title
/// 1–200 characters after trimming, content 1–50000, at most 10 tags of at most 50
/// characters; `pinned` only from an admin (anyone else sending it gets 403).
#[derive(Deserialize, Validate, secure_endpoint::Guarded, schemars::JsonSchema)]
pub struct PostInput {
    #[validate(custom(function = "title_length"))]
    #[schemars(length(min = 1, max = 200))]
    title: String,
    #[validate(length(min = 1, max = 50000))]
    content: String,
    #[serde(default)]
    #[validate(length(max = 10), custom(function = "tag_lengths"))]
    #[schemars(inner(length(max = 50)))]
    tags: Vec<String>,
    #[serde(default)]
    #[guarded(role = "admin")]
    pinned: Option<bool>,
    /// A draft is read only by its author, its editors and admins. Default: published
    /// (on `PUT`: unchanged).
    #[serde(default)]
    draft: Option<bool>,
}

/// `{user_id}` of `POST /posts/{id}/editors`: the id as register answers it.
#[derive(Deserialize, Validate, schemars::JsonSchema)]
pub struct EditorInput {
    #[validate(range(min = 1))]
    user_id: i64,
}

fn title_length(title: &str) -> Result<(), ValidationError> {
    let length = title.trim().chars().count();
    if (1..=200).contains(&length) {
        Ok(())
    } else {
        Err(ValidationError::new("length"))
    }
}

fn tag_lengths(tags: &[String]) -> Result<(), ValidationError> {
    if tags.iter().all(|tag| tag.chars().count() <= 50) {
        Ok(())
    } else {
        Err(ValidationError::new("tag_length"))
    }
}

/// `POST /auth/register`: creates an account. The name `admin` (in any case) is the
/// operator's, and answered like any taken name.
///
/// A taken name is 409: a registration has to say so, which tells whoever asks that
/// the name exists. That is limited like every attempt (per address, and login counts
/// failures per name), and names are not secrets.
///
/// At most eight registrations hash a password at once (each takes about 19 MiB for
/// argon2); more wait a second, then get 503.
#[public(
    reason = "anyone may create an account",
    validate = Registration,
    rate = "5/60s",
    concurrency = 8
)]
pub async fn register(
    State(state): State<AppState>,
    input: Registration,
) -> Result<Response, Error> {
    if input.username.eq_ignore_ascii_case(crate::ADMIN_USERNAME) {
        return Err(Error::client(
            StatusCode::CONFLICT,
            "Username already taken",
        ));
    }
    let hash = state.passwords.hash(input.password).await?;
    let created = state
        .db
        .create_account(&input.username, &hash, &[], input.email.as_deref())
        .await?;
    match created {
        Ok(id) => Ok((
            StatusCode::CREATED,
            Json(json!({ "id": id, "username": input.username })),
        )
            .into_response()),
        Err(_taken) => Err(Error::client(
            StatusCode::CONFLICT,
            "Username already taken",
        )),
    }
}

/// `POST /auth/login`: exchanges credentials for a token. Unknown user and wrong
/// password get the same answer, after the same work. At most eight logins verify a
/// password at once; more wait a second, then get 503.
///
/// Two limits: five attempts a minute per address, and five failed attempts per account
/// name in fifteen minutes from any number of addresses (password spraying, credential
/// stuffing). Once a name is over, every login for it is 429 before its password is
/// checked, the right one included, until the limit admits again: except from a device
/// that logged in as that name before. A successful login hands the device a credential
/// (the `__Host-device` cookie, and a `Device-Credential` header), and an attempt that
/// presents it counts on that device's own budget of five, so failures from elsewhere
/// do not lock the account's own browser out.
#[public(
    reason = "exchanges credentials for a token",
    validate = Credentials,
    rate = "5/60s",
    limit(rate = "5/15m", key = "input.username", on = "failure", except = "device"),
    concurrency = 8
)]
pub async fn login(State(state): State<AppState>, input: Credentials) -> Result<Response, Error> {
    let user = state.db.user_by_name(&input.username).await?;
    let hash = user.as_ref().map_or_else(
        || state.passwords.dummy_hash().to_owned(),
        |u| u.password_hash.clone(),
    );
    let verified = state.passwords.verify(input.password, hash).await?;
    match user {
        Some(user) if verified => {
            let issued = state
                .tokens
                .issue(&user.id.to_string(), &json!({ "roles": user.roles }))?;
            // The token in the body for API clients, in the session cookie for browsers.
            let cookie = state.cookie.set(&issued.token, issued.expires_at);
            Ok((
                [(header::SET_COOKIE, cookie)],
                Json(json!({ "token": issued.token })),
            )
                .into_response())
        }
        _ => Err(Error::client(
            StatusCode::UNAUTHORIZED,
            "Invalid username or password",
        )),
    }
}

/// `?limit=&after=` of `GET /posts`: at most `limit` posts (1–50, default 10) whose id
/// is above `after` (default: from the first). A public page is kept small: a post may
/// hold 50,000 characters, and anyone may ask.
#[derive(Deserialize, Validate, schemars::JsonSchema)]
pub struct Page {
    #[validate(range(min = 1, max = 50))]
    limit: Option<u32>,
    #[validate(range(min = 0))]
    after: Option<i64>,
}

/// Posts per page when the query gives no `limit`.
pub const DEFAULT_PAGE: u32 = 10;

/// `GET /posts`: a page of the posts the caller may read (published ones, and the drafts
/// they write, edit or, as an admin, oversee), oldest first; the next page starts after
/// the last id. With a session cookie or a token, or anonymous.
#[public(
    reason = "published posts are public; drafts only to those the policies name",
    optional_auth,
    can = "read",
    on = "posts[]",
    // Tried on real traffic before it refuses anyone: counted, never refused.
    limit(rate = "60/m", key = "ip", mode = "report")
)]
pub async fn list_posts(posts: Vec<Post>) -> Json<Vec<Post>> {
    Json(posts)
}

/// What the permission engine's policies read of a post: its author's id, whether it is
/// a draft, and its editors' ids (as strings, the principal's id being one).
impl Entity for Post {
    const TYPE: &'static str = "Post";

    fn entity_id(&self) -> String {
        self.id.to_string()
    }

    fn attributes(&self) -> serde_json::Map<String, Value> {
        let mut attributes = serde_json::Map::new();
        attributes.insert("author".into(), json!(self.user_id.to_string()));
        attributes.insert("draft".into(), json!(self.draft));
        let editors: Vec<String> = self.editors.iter().map(i64::to_string).collect();
        attributes.insert("editors".into(), json!(editors));
        attributes
    }
}

/// Where each attribute the policies read lives in the posts table, for the engine's
/// plan rendered as SQL.
fn post_columns() -> Columns {
    Columns::new()
        .column("author", "CAST(posts.user_id AS TEXT)")
        .column("draft", "posts.draft")
        .set(
            "editors",
            "SELECT CAST(post_editors.user_id AS TEXT) FROM post_editors WHERE post_editors.post_id = posts.id",
        )
}

/// Posts are listed for the caller: on `GET /me/posts` the framework hands the loader
/// the caller's id, on `GET /posts` the permission engine's plan, which the query
/// applies; it checks every post the loader returns either way.
impl secure_endpoint::Collection for Post {
    type State = Db;
    type Query = Page;

    async fn list(
        scope: secure_endpoint::Scope<'_>,
        page: Page,
        db: &Db,
    ) -> Result<Vec<Self>, Error> {
        let owner = match scope.owner() {
            Some(owner) => Some(
                owner
                    .parse::<i64>()
                    .map_err(|_| Error::internal("a principal id is not a user id"))?,
            ),
            None => None,
        };
        let allowed = match scope.plan() {
            Some(Plan::Nothing) => return Ok(Vec::new()),
            Some(plan) => Some(plan.sql(&post_columns(), Dialect::Sqlite)?),
            None => None,
        };
        let limit = page.limit.unwrap_or(DEFAULT_PAGE).min(scope.limit() as u32);
        Ok(db
            .posts(owner, allowed.as_ref(), page.after.unwrap_or(0), limit)
            .await?)
    }
}

/// `GET /me/posts`: the caller's own posts, a page at a time.
#[secure(auth, owner = "posts[].user_id")]
pub async fn my_posts(posts: Vec<Post>) -> Json<Vec<Post>> {
    Json(posts)
}

/// An account as anyone may see it, its email only to the account itself and to admins.
#[derive(serde::Serialize, secure_endpoint::Guarded, schemars::JsonSchema)]
pub struct AccountView {
    id: i64,
    username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[guarded(owner = "id", role = "admin")]
    email: Option<String>,
}

/// `GET /users/{id}`: an account; with a credential, the caller's own view of it. Ids
/// are sequential, so the lookups are limited (per caller, else per address): walking
/// every account to list its names takes time.
#[public(
    reason = "accounts are public, their email is not",
    optional_auth,
    rate = "30/m"
)]
pub async fn get_user(
    State(db): State<Db>,
    Path(id): Path<i64>,
) -> Result<Json<AccountView>, Error> {
    match db.account(id).await? {
        Some(account) => Ok(Json(AccountView {
            id: account.id,
            username: account.username,
            email: account.email,
        })),
        None => Err(Error::client(StatusCode::NOT_FOUND, "Not found")),
    }
}

/// `GET /posts/{id}`: one post; a draft the caller may not read is 404, as a missing
/// post.
#[public(
    reason = "published posts are public; drafts only to those the policies name",
    optional_auth,
    can = "read",
    on = "post"
)]
pub async fn get_post(post: Post) -> Json<Post> {
    Json(post)
}

/// The `{id}` of a post's path (`/posts/{id}`, `/posts/{id}/editors/{user_id}`).
#[derive(Deserialize, schemars::JsonSchema)]
pub struct PostPath {
    id: i64,
}

/// A post is loaded by the id in its path, for the routes that ask about it.
impl Resource for Post {
    type Key = PostPath;
    type State = Db;

    async fn load(path: PostPath, db: &Db) -> Result<Option<Self>, Error> {
        Ok(db.post(path.id).await?)
    }
}

/// `POST /posts`: the caller publishes a post: ten in a burst (one a second sustained),
/// and two hundred a day.
#[secure(auth, validate = PostInput, rate = ["10/10s", "200/d"])]
pub async fn create_post(
    claims: Claims,
    State(db): State<Db>,
    input: PostInput,
) -> Result<(StatusCode, Json<Post>), Error> {
    let user_id: i64 = claims
        .sub
        .parse()
        .map_err(|_| Error::internal("a token's sub is not a user id"))?;
    let post = db
        .create_post(
            user_id,
            input.title.trim(),
            &input.content,
            &input.tags,
            input.pinned.unwrap_or(false),
            input.draft.unwrap_or(false),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(post)))
}

/// `PUT /posts/{id}`: its author or one of its editors replaces a post. `user_id` is
/// not an input field, so a body carrying one is refused before it gets here.
#[secure(auth, can = "edit", on = "post", validate = PostInput)]
pub async fn update_post(
    post: Post,
    State(db): State<Db>,
    input: PostInput,
) -> Result<Json<Post>, Error> {
    let updated = db
        .update_post(
            post.id,
            input.title.trim(),
            &input.content,
            &input.tags,
            input.draft,
        )
        .await?
        .ok_or_else(|| Error::client(StatusCode::NOT_FOUND, "Not found"))?;
    Ok(Json(updated))
}

/// `DELETE /posts/{id}`: its author, or an admin, deletes a post; its editors may not.
#[secure(auth, can = "delete", on = "post")]
pub async fn delete_post(post: Post, State(db): State<Db>) -> Result<Json<Value>, Error> {
    db.delete_post(post.id).await?;
    Ok(Json(json!({ "success": true })))
}

/// `POST /posts/{id}/editors`: the author shares a post with another user, who may then
/// read and edit it; 404 for an unknown user.
#[secure(auth, can = "share", on = "post", validate = EditorInput)]
pub async fn add_editor(
    post: Post,
    State(db): State<Db>,
    input: EditorInput,
) -> Result<(StatusCode, Json<Value>), Error> {
    if !db.add_editor(post.id, input.user_id).await? {
        return Err(Error::client(StatusCode::NOT_FOUND, "Not found"));
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({ "post": post.id, "editor": input.user_id })),
    ))
}

/// The `{user_id}` of `/posts/{id}/editors/{user_id}`.
#[derive(Deserialize, schemars::JsonSchema)]
pub struct EditorPath {
    user_id: i64,
}

/// `DELETE /posts/{id}/editors/{user_id}`: the author takes an editor off a post; they
/// lose access at once.
#[secure(auth, can = "share", on = "post")]
pub async fn remove_editor(
    post: Post,
    State(db): State<Db>,
    Path(editor): Path<EditorPath>,
) -> Result<Json<Value>, Error> {
    if !db.remove_editor(post.id, editor.user_id).await? {
        return Err(Error::client(StatusCode::NOT_FOUND, "Not found"));
    }
    Ok(Json(json!({ "success": true })))
}

/// `GET /me`: who the token says the caller is.
#[secure(auth)]
pub async fn me(claims: Claims) -> Json<Value> {
    Json(json!({ "id": claims.sub, "roles": claims.roles }))
}

/// `POST /auth/logout`: the token of this request stops working, and the session cookie
/// is cleared; the caller's other tokens keep working.
#[secure(auth)]
pub async fn logout(State(state): State<AppState>, revoker: Revoker) -> Result<Response, Error> {
    revoker.revoke_this_token().await?;
    Ok(signed_out(&state))
}

/// `POST /auth/logout-all`: every token issued to the caller until now stops working;
/// one issued afterwards works.
#[secure(auth)]
pub async fn logout_all(
    State(state): State<AppState>,
    claims: Claims,
    revoker: Revoker,
) -> Response {
    revoker.revoke_all_tokens_of(&claims.sub).await;
    signed_out(&state)
}

/// 204, the session cookie cleared.
fn signed_out(state: &AppState) -> Response {
    (
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, state.cookie.clear())],
    )
        .into_response()
}

/// `DELETE /me`: deletes the caller's account and posts; its tokens stop working at
/// once.
#[secure(auth)]
pub async fn delete_me(
    claims: Claims,
    revoker: Revoker,
    State(state): State<AppState>,
) -> Result<Response, Error> {
    let user_id: i64 = claims
        .sub
        .parse()
        .map_err(|_| Error::internal("a token's sub is not a user id"))?;
    state.db.delete_account(user_id).await?;
    revoker.revoke_all_tokens_of(&claims.sub).await;
    Ok(signed_out(&state))
}

/// `GET /feed`: the latest posts, and who is reading them: `viewer` is the caller's id
/// with a valid token, `null` without one (a bad token is 401).
#[public(
    reason = "the feed is published; a reader may say who they are",
    optional_auth
)]
pub async fn feed(viewer: Option<Claims>, State(db): State<Db>) -> Result<Json<Value>, Error> {
    let posts = db.latest_posts(DEFAULT_PAGE).await?;
    Ok(Json(json!({
        "viewer": viewer.map(|claims| claims.sub),
        "posts": posts,
    })))
}

/// `GET /admin/stats`: how many posts and users there are.
#[secure(auth, role = "admin")]
pub async fn stats(State(db): State<Db>) -> Result<Json<Value>, Error> {
    let (posts, users) = db.counts().await?;
    Ok(Json(json!({ "posts": posts, "users": users })))
}
