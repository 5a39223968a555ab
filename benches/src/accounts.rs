//! A page of 20 accounts, as an API answers it: plain, guarded, and guarded with a
//! flattened field, for the cost of a `Guarded` answer beside axum's `Json`.

use secure_endpoint::{Claims, Guarded};
use serde::Serialize;

/// An account with no guards.
#[derive(Clone, Serialize)]
pub struct PlainAccount {
    id: String,
    name: String,
    bio: String,
    email: Option<String>,
    followers: u64,
}

/// The same account, its email shown only to its owner and to admins.
#[derive(Clone, Serialize, Guarded)]
pub struct GuardedAccount {
    id: String,
    name: String,
    bio: String,
    #[guarded(owner = "id", role = "admin")]
    email: Option<String>,
    followers: u64,
}

/// The same again with its counters flattened in: serde writes it as a map, which is
/// filtered through a `serde_json::Value`.
#[derive(Clone, Serialize, Guarded)]
pub struct FlattenedAccount {
    id: String,
    name: String,
    bio: String,
    #[guarded(owner = "id", role = "admin")]
    email: Option<String>,
    #[serde(flatten)]
    counters: Counters,
}

/// What [`FlattenedAccount`] flattens.
#[derive(Clone, Serialize)]
pub struct Counters {
    followers: u64,
}

/// The page, plain.
pub fn plain_page() -> Vec<PlainAccount> {
    (0..20)
        .map(|i| PlainAccount {
            id: format!("user-{i}"),
            name: format!("User number {i}"),
            bio: "Writes about Rust, HTTP and the security of both.".into(),
            email: Some(format!("user-{i}@example.com")),
            followers: 1000 + i,
        })
        .collect()
}

/// The page, guarded.
pub fn guarded_page() -> Vec<GuardedAccount> {
    plain_page()
        .into_iter()
        .map(|a| GuardedAccount {
            id: a.id,
            name: a.name,
            bio: a.bio,
            email: a.email,
            followers: a.followers,
        })
        .collect()
}

/// The page, guarded, with a flattened field.
pub fn flattened_page() -> Vec<FlattenedAccount> {
    plain_page()
        .into_iter()
        .map(|a| FlattenedAccount {
            id: a.id,
            name: a.name,
            bio: a.bio,
            email: a.email,
            counters: Counters {
                followers: a.followers,
            },
        })
        .collect()
}

/// The owner of the fourth account on the page.
pub fn owner() -> Claims {
    Claims {
        sub: "user-3".into(),
        roles: Vec::new(),
        scope: None,
        exp: u64::MAX,
    }
}

/// An admin, who reads every email: the answer holds the same bytes as the plain one.
pub fn admin() -> Claims {
    Claims {
        sub: "root".into(),
        roles: vec!["admin".into()],
        scope: None,
        exp: u64::MAX,
    }
}
