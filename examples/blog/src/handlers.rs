//! The blog's handlers, each with its declared policy.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use secure_endpoint::{Claims, Error, Resource, public, secure};
use serde::Deserialize;
use serde_json::{Value, json};
use validator::{Validate, ValidationError};

use crate::AppState;
use crate::db::{Db, Post};

/// Password hashing.
pub struct Accounts {
    /// Verified against when the username is unknown, so that both failures cost the
    /// same time.
    dummy_hash: String,
}

impl Accounts {
    pub(crate) fn new() -> Self {
        let dummy_hash = Argon2::default()
            .hash_password(b"not a password anyone has")
            .expect("argon2 with default parameters hashes")
            .to_string();
        Accounts { dummy_hash }
    }
}

/// `{username, password}` of register and login: username 3–32 of `[A-Za-z0-9_]`,
/// password 8–128 characters.
#[derive(Deserialize, Validate)]
pub struct Credentials {
    #[validate(length(min = 3, max = 32), custom(function = "username_characters"))]
    username: String,
    #[validate(length(min = 8, max = 128))]
    password: String,
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

/// `{title, content, tags?}` of `POST /posts` and `PUT /posts/{id}`: title 1–200
/// characters after trimming, content 1–50000, at most 10 tags of at most 50 characters.
#[derive(Deserialize, Validate)]
pub struct PostInput {
    #[validate(custom(function = "title_length"))]
    title: String,
    #[validate(length(min = 1, max = 50000))]
    content: String,
    #[serde(default)]
    #[validate(length(max = 10), custom(function = "tag_lengths"))]
    tags: Vec<String>,
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

pub(crate) async fn hash_password(password: String) -> Result<String, Error> {
    let hashed = tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
    })
    .await?;
    hashed.map_err(|e| Error::internal(format!("password hashing failed: {e}")))
}

async fn verify_password(password: String, hash: String) -> Result<bool, Error> {
    let verified = tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok()
    })
    .await?;
    Ok(verified)
}

/// `POST /auth/register`: creates an account.
#[public(reason = "anyone may create an account", validate = Credentials, rate = "5/60s")]
pub async fn register(
    State(state): State<AppState>,
    input: Credentials,
) -> Result<Response, Error> {
    let hash = hash_password(input.password).await?;
    match state.db.create_user(&input.username, &hash, &[]).await? {
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
/// password get the same answer, after the same work.
#[public(reason = "exchanges credentials for a token", validate = Credentials, rate = "5/60s")]
pub async fn login(State(state): State<AppState>, input: Credentials) -> Result<Response, Error> {
    let user = state.db.user_by_name(&input.username).await?;
    let hash = user.as_ref().map_or_else(
        || state.accounts.dummy_hash.clone(),
        |u| u.password_hash.clone(),
    );
    let verified = verify_password(input.password, hash).await?;
    match user {
        Some(user) if verified => {
            let token = state.tokens.issue(user.id, &user.roles)?;
            Ok(Json(json!({ "token": token })).into_response())
        }
        _ => Err(Error::client(
            StatusCode::UNAUTHORIZED,
            "Invalid username or password",
        )),
    }
}

/// `GET /posts`: every post.
#[public(reason = "posts are published")]
pub async fn list_posts(State(db): State<Db>) -> Result<Json<Vec<Post>>, Error> {
    Ok(Json(db.posts().await?))
}

/// `GET /posts/{id}`: one post.
#[public(reason = "posts are published")]
pub async fn get_post(State(db): State<Db>, Path(id): Path<i64>) -> Result<Json<Post>, Error> {
    match db.post(id).await? {
        Some(post) => Ok(Json(post)),
        None => Err(Error::client(StatusCode::NOT_FOUND, "Not found")),
    }
}

/// A post is loaded by the id in its path, for the routes that check its owner.
impl Resource for Post {
    type Key = i64;
    type State = Db;

    async fn load(id: i64, db: &Db) -> Result<Option<Self>, Error> {
        Ok(db.post(id).await?)
    }
}

/// `POST /posts`: the caller publishes a post.
#[secure(auth, validate = PostInput, rate = "10/10s")]
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
        .create_post(user_id, input.title.trim(), &input.content, &input.tags)
        .await?;
    Ok((StatusCode::CREATED, Json(post)))
}

/// `PUT /posts/{id}`: its author replaces a post. `user_id` is not an input field, so
/// a body carrying one is refused before it gets here.
#[secure(auth, owner = "post.user_id", validate = PostInput)]
pub async fn update_post(
    post: Post,
    State(db): State<Db>,
    input: PostInput,
) -> Result<Json<Post>, Error> {
    let updated = db
        .update_post(post.id, input.title.trim(), &input.content, &input.tags)
        .await?
        .ok_or_else(|| Error::client(StatusCode::NOT_FOUND, "Not found"))?;
    Ok(Json(updated))
}

/// `DELETE /posts/{id}`: its author, or an admin, deletes a post.
#[secure(auth, owner = "post.user_id", owner_or_role = "admin")]
pub async fn delete_post(post: Post, State(db): State<Db>) -> Result<Json<Value>, Error> {
    db.delete_post(post.id).await?;
    Ok(Json(json!({ "success": true })))
}

/// `GET /me`: who the token says the caller is.
#[secure(auth)]
pub async fn me(claims: Claims) -> Json<Value> {
    Json(json!({ "id": claims.sub, "roles": claims.roles }))
}

/// `GET /admin/stats`: how many posts and users there are.
#[secure(auth, role = "admin")]
pub async fn stats(State(db): State<Db>) -> Result<Json<Value>, Error> {
    let (posts, users) = db.counts().await?;
    Ok(Json(json!({ "posts": posts, "users": users })))
}
