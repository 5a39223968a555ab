//! The blog's handlers, each with its declared policy.

use std::collections::HashSet;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use secure_endpoint::{Claims, Error, Resource, public, secure};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::db::{Db, Post};

/// Password hashing and who becomes an admin.
pub struct Accounts {
    admins: HashSet<String>,
    /// Verified against when the username is unknown, so that both failures cost the
    /// same time.
    dummy_hash: String,
}

impl Accounts {
    pub(crate) fn new(admins: HashSet<String>) -> Self {
        let dummy_hash = Argon2::default()
            .hash_password(b"not a password anyone has")
            .expect("argon2 with default parameters hashes")
            .to_string();
        Accounts { admins, dummy_hash }
    }
}

/// `{username, password}` of register and login.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    username: String,
    password: String,
}

impl Credentials {
    /// The rules of registration: username 3–32 of `[A-Za-z0-9_]`, password 8–128
    /// characters. Field names and rule codes only, never the values.
    fn problems(&self) -> Option<Value> {
        let mut details = serde_json::Map::new();
        let name_len = self.username.chars().count();
        if !(3..=32).contains(&name_len) {
            details.insert("username".into(), json!(["length"]));
        } else if !self
            .username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            details.insert("username".into(), json!(["pattern"]));
        }
        if !(8..=128).contains(&self.password.chars().count()) {
            details.insert("password".into(), json!(["length"]));
        }
        (!details.is_empty()).then_some(Value::Object(details))
    }
}

fn invalid_input(details: Value) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": "Invalid input", "details": details })),
    )
        .into_response()
}

async fn hash_password(password: String) -> Result<String, Error> {
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
#[public(reason = "anyone may create an account")]
pub async fn register(
    State(state): State<AppState>,
    Json(input): Json<Credentials>,
) -> Result<Response, Error> {
    if let Some(details) = input.problems() {
        return Ok(invalid_input(details));
    }
    let roles: Vec<String> = if state.accounts.admins.contains(&input.username) {
        vec!["admin".into()]
    } else {
        Vec::new()
    };
    let hash = hash_password(input.password).await?;
    match state.db.create_user(&input.username, &hash, &roles).await? {
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
#[public(reason = "exchanges credentials for a token")]
pub async fn login(
    State(state): State<AppState>,
    Json(input): Json<Credentials>,
) -> Result<Response, Error> {
    if let Some(details) = input.problems() {
        return Ok(invalid_input(details));
    }
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
