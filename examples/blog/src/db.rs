//! The SQLite database: users and posts.

use std::str::FromStr;

use secure_endpoint::{SqlCondition, SqlValue};
use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};

/// `SELECT` of a post's columns as [`post_from_row`] reads them, its editors gathered
/// from `post_editors`, followed by the rest of the query.
macro_rules! select_posts {
    ($($rest:literal),*) => {
        concat!(
            "SELECT id, title, content, tags, user_id, pinned, draft, \
             (SELECT group_concat(user_id) FROM post_editors WHERE post_editors.post_id = posts.id) \
             FROM posts ",
            $($rest),*
        )
    };
}

/// A connection pool to the blog's database.
#[derive(Clone, Debug)]
pub struct Db {
    pool: SqlitePool,
}

/// A stored user.
#[derive(Debug, Clone)]
pub struct User {
    /// The user's id.
    pub id: i64,
    /// The argon2 PHC string.
    pub password_hash: String,
    /// The user's roles.
    pub roles: Vec<String>,
}

/// A blog post as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Post {
    /// The post's id.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Its body.
    pub content: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// The author's user id.
    pub user_id: i64,
    /// Pinned by an admin.
    pub pinned: bool,
    /// A draft: read only by its author, its editors and admins.
    #[serde(default)]
    pub draft: bool,
    /// The users its author shares it with, who may read and edit it.
    #[serde(default)]
    pub editors: Vec<i64>,
}

/// An account as `GET /users/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The user's id.
    pub id: i64,
    /// Their name.
    pub username: String,
    /// Their email, when they gave one.
    pub email: Option<String>,
}

/// A username that is already registered.
#[derive(Debug)]
pub struct UsernameTaken;

impl Db {
    /// Opens (creating if needed) the database at `url` and applies the migrations.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let mut pool = SqlitePoolOptions::new();
        if in_memory {
            // Each connection to `:memory:` is its own database: keep exactly one, forever.
            pool = pool
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let pool = pool.connect_with(options).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Db { pool })
    }

    /// Inserts a user; `Ok(Err(UsernameTaken))` when the name exists.
    pub async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        roles: &[String],
    ) -> Result<Result<i64, UsernameTaken>, sqlx::Error> {
        self.create_account(username, password_hash, roles, None)
            .await
    }

    /// Inserts a user with an optional email; `Ok(Err(UsernameTaken))` when the name
    /// exists.
    pub async fn create_account(
        &self,
        username: &str,
        password_hash: &str,
        roles: &[String],
        email: Option<&str>,
    ) -> Result<Result<i64, UsernameTaken>, sqlx::Error> {
        let roles = serde_json::to_string(roles).expect("strings serialize");
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let inserted = sqlx::query(
            "INSERT INTO users (username, password_hash, roles, email, created_at_ms) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(username)
        .bind(password_hash)
        .bind(roles)
        .bind(email)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(inserted
            .map(|row| row.get::<i64, _>(0))
            .ok_or(UsernameTaken))
    }

    /// The user called `username`, whatever its case.
    pub async fn user_by_name(&self, username: &str) -> Result<Option<User>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT id, password_hash, roles FROM users WHERE username = ? COLLATE NOCASE",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(User {
                id: row.try_get(0)?,
                password_hash: row.try_get(1)?,
                roles: json_list(row.try_get(2)?)?,
            })
        })
        .transpose()
    }

    /// The account with `id`.
    pub async fn account(&self, id: i64) -> Result<Option<Account>, sqlx::Error> {
        let row = sqlx::query("SELECT id, username, email FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(Account {
                id: row.try_get(0)?,
                username: row.try_get(1)?,
                email: row.try_get(2)?,
            })
        })
        .transpose()
    }

    /// When the account `id` was created (milliseconds since the Unix epoch), or `None`
    /// when there is no such account.
    pub async fn account_created_at_ms(&self, id: i64) -> Result<Option<i64>, sqlx::Error> {
        let row = sqlx::query("SELECT created_at_ms FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| row.try_get(0)).transpose()
    }

    /// Deletes the account `id`, its posts and its places as an editor; whether it
    /// existed.
    pub async fn delete_account(&self, id: i64) -> Result<bool, sqlx::Error> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM post_editors WHERE user_id = ? \
             OR post_id IN (SELECT id FROM posts WHERE user_id = ?)",
        )
        .bind(id)
        .bind(id)
        .execute(&mut *transaction)
        .await?;
        sqlx::query("DELETE FROM posts WHERE user_id = ?")
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        let done = sqlx::query("DELETE FROM users WHERE id = ?")
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Inserts a post by `user_id` and returns it.
    pub async fn create_post(
        &self,
        user_id: i64,
        title: &str,
        content: &str,
        tags: &[String],
        pinned: bool,
        draft: bool,
    ) -> Result<Post, sqlx::Error> {
        let tags_json = serde_json::to_string(tags).expect("strings serialize");
        let id: i64 = sqlx::query(
            "INSERT INTO posts (title, content, tags, user_id, pinned, draft) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(title)
        .bind(content)
        .bind(tags_json)
        .bind(user_id)
        .bind(pinned)
        .bind(draft)
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?;
        Ok(Post {
            id,
            title: title.to_owned(),
            content: content.to_owned(),
            tags: tags.to_vec(),
            user_id,
            pinned,
            draft,
            editors: Vec::new(),
        })
    }

    /// At most `limit` posts whose id is above `after`, oldest first; only those of
    /// `user_id` when given, and only those `allowed` selects (a permission engine's
    /// plan, rendered for SQLite) when given.
    pub async fn posts(
        &self,
        user_id: Option<i64>,
        allowed: Option<&SqlCondition>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Post>, sqlx::Error> {
        let sql = format!(
            select_posts!("WHERE id > ? AND (? IS NULL OR user_id = ?) AND {} ORDER BY id LIMIT ?"),
            allowed.map_or("1 = 1", |condition| condition.sql.as_str())
        );
        // The condition's text is the columns of `post_columns` and placeholders; every
        // value in it is bound below.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after)
            .bind(user_id)
            .bind(user_id);
        for value in allowed
            .map(|condition| &condition.params[..])
            .unwrap_or(&[])
        {
            query = match value {
                SqlValue::Text(text) => query.bind(text.as_str()),
                SqlValue::Integer(n) => query.bind(*n),
                SqlValue::Bool(b) => query.bind(*b),
            };
        }
        let rows = query.bind(limit).fetch_all(&self.pool).await?;
        rows.into_iter().map(post_from_row).collect()
    }

    /// The `limit` newest published posts, newest first.
    pub async fn latest_posts(&self, limit: u32) -> Result<Vec<Post>, sqlx::Error> {
        let rows = sqlx::query(select_posts!("WHERE draft = 0 ORDER BY id DESC LIMIT ?"))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(post_from_row).collect()
    }

    /// The post with `id`.
    pub async fn post(&self, id: i64) -> Result<Option<Post>, sqlx::Error> {
        let row = sqlx::query(select_posts!("WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(post_from_row).transpose()
    }

    /// Replaces the title, content and tags of the post with `id`, and whether it is a
    /// draft when `draft` is given; `None` when it is gone.
    pub async fn update_post(
        &self,
        id: i64,
        title: &str,
        content: &str,
        tags: &[String],
        draft: Option<bool>,
    ) -> Result<Option<Post>, sqlx::Error> {
        let tags_json = serde_json::to_string(tags).expect("strings serialize");
        sqlx::query(
            "UPDATE posts SET title = ?, content = ?, tags = ?, draft = coalesce(?, draft) WHERE id = ?",
        )
        .bind(title)
        .bind(content)
        .bind(tags_json)
        .bind(draft)
        .bind(id)
            .execute(&self.pool)
            .await?;
        self.post(id).await
    }

    /// Deletes the post with `id` and its editors; whether it existed.
    pub async fn delete_post(&self, id: i64) -> Result<bool, sqlx::Error> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query("DELETE FROM post_editors WHERE post_id = ?")
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        let done = sqlx::query("DELETE FROM posts WHERE id = ?")
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Makes the user `user_id` an editor of the post `post_id`; `false` when there is
    /// no such user.
    pub async fn add_editor(&self, post_id: i64, user_id: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "INSERT OR IGNORE INTO post_editors (post_id, user_id) \
             SELECT ?, id FROM users WHERE id = ?",
        )
        .bind(post_id)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() > 0 {
            return Ok(true);
        }
        Ok(self.account_created_at_ms(user_id).await?.is_some())
    }

    /// Takes the user `user_id` off the post `post_id`'s editors; whether they were one.
    pub async fn remove_editor(&self, post_id: i64, user_id: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM post_editors WHERE post_id = ? AND user_id = ?")
            .bind(post_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// How many posts and users there are.
    pub async fn counts(&self) -> Result<(i64, i64), sqlx::Error> {
        let row = sqlx::query("SELECT (SELECT COUNT(*) FROM posts), (SELECT COUNT(*) FROM users)")
            .fetch_one(&self.pool)
            .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }
}

fn post_from_row(row: sqlx::sqlite::SqliteRow) -> Result<Post, sqlx::Error> {
    Ok(Post {
        id: row.try_get(0)?,
        title: row.try_get(1)?,
        content: row.try_get(2)?,
        tags: json_list(row.try_get(3)?)?,
        user_id: row.try_get(4)?,
        pinned: row.try_get(5)?,
        draft: row.try_get(6)?,
        editors: row
            .try_get::<Option<String>, _>(7)?
            .unwrap_or_default()
            .split(',')
            .filter(|id| !id.is_empty())
            .map(|id| id.parse().map_err(|e| sqlx::Error::Decode(Box::new(e))))
            .collect::<Result<_, _>>()?,
    })
}

fn json_list(text: String) -> Result<Vec<String>, sqlx::Error> {
    serde_json::from_str(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}
