//! Object-level authorization: loading the resource a route names, and comparing its
//! owner with the caller.

use std::future::Future;

use serde::de::DeserializeOwned;

use crate::error::Error;

/// A resource a handler receives already loaded and checked, with
/// `#[secure(auth, owner = "param.field")]`.
///
/// Its key is taken from the path (as `Path<Self::Key>` would extract it) and it is
/// loaded from [`State`](Resource::State), which the router's state provides through
/// [`FromRef`](axum::extract::FromRef) (a state always provides itself). `Ok(None)`
/// answers 404; an error answers the generic 500 (the error is logged).
///
/// ```
/// use secure_endpoint::{Error, Resource, secure};
///
/// #[derive(Clone)]
/// struct Db;
///
/// struct Note { id: u64, user_id: String, text: String }
///
/// impl Resource for Note {
///     type Key = u64;
///     type State = Db;
///
///     async fn load(id: u64, _db: &Db) -> Result<Option<Self>, Error> {
///         Ok((id == 1).then(|| Note { id, user_id: "alice".into(), text: "hi".into() }))
///     }
/// }
///
/// // Only the note's owner gets here; anyone else gets 403, a missing note 404.
/// #[secure(auth, owner = "note.user_id")]
/// async fn read_note(note: Note) -> String {
///     note.text
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a resource `owner` can load",
    label = "the parameter `owner` names must implement `secure_endpoint::Resource`",
    note = "implement `secure_endpoint::Resource` for `{Self}`: its key type (from the path), its state type, and how to load it"
)]
pub trait Resource: Sized + Send + 'static {
    /// What identifies it in the path, e.g. `i64` for `/posts/{id}`.
    type Key: DeserializeOwned + Send + 'static;

    /// What it is loaded from: the router's state or a part of it.
    type State: Send + Sync + 'static;

    /// Loads the resource, `None` when it does not exist.
    fn load(
        key: Self::Key,
        state: &Self::State,
    ) -> impl Future<Output = Result<Option<Self>, Error>> + Send;
}

/// A [`Resource`] that can be loaded from the router state `S`; what the expansion of
/// `owner` requires of the parameter's type. (No supertrait: the bound then stays
/// generic, and a type that is not a `Resource` is reported once, on the type.)
#[doc(hidden)]
pub trait LoadableFrom<S>: Sized {
    /// The resource's key.
    type Key: DeserializeOwned + Send + 'static;

    /// Loads it from the router state.
    fn load_from(
        key: Self::Key,
        state: &S,
    ) -> impl Future<Output = Result<Option<Self>, Error>> + Send;
}

impl<R, S> LoadableFrom<S> for R
where
    R: Resource,
    R::State: axum::extract::FromRef<S>,
    S: Sync,
{
    type Key = R::Key;

    async fn load_from(key: Self::Key, state: &S) -> Result<Option<Self>, Error> {
        let source: R::State = axum::extract::FromRef::from_ref(state);
        R::load(key, &source).await
    }
}

/// Checked where the handler is defined, on the parameter's type.
#[doc(hidden)]
pub const fn assert_resource<R: Resource>() {}

/// Items a handler receives as a list already filtered to the caller, with
/// `#[secure(auth, owner = "posts[].user_id")]` (and `tenant = "posts[].org_id"`) and a
/// parameter `posts: Vec<Post>`: implemented by the item type.
///
/// [`list`](Collection::list) loads the items of the [`Scope`] it is given: whose they
/// are (the caller's, or everyone's when the caller holds the route's `owner_or_role`),
/// which tenant's, and how many at most. The framework then checks every item before the
/// handler runs: an item outside the scope, or more items than the page holds, is a bug
/// in the loader, and the request fails closed (the generic 500, the loader named in
/// the log) rather than hand someone else's item over.
///
/// ```
/// use secure_endpoint::{Collection, Error, Scope, secure};
///
/// #[derive(Clone)]
/// struct Db;
///
/// struct Note { user_id: String, text: String }
///
/// #[derive(serde::Deserialize, validator::Validate)]
/// struct Page {
///     #[validate(range(min = 1, max = 50))]
///     limit: Option<usize>,
/// }
///
/// impl Collection for Note {
///     type State = Db;
///     type Query = Page;
///     const MAX_PAGE: usize = 50;
///
///     async fn list(scope: Scope<'_>, page: Page, _db: &Db) -> Result<Vec<Self>, Error> {
///         // SELECT … WHERE user_id = ? LIMIT ?, with scope.owner() and the page size.
///         let limit = page.limit.unwrap_or(scope.limit()).min(scope.limit());
///         let notes = vec![Note { user_id: "alice".into(), text: "hi".into() }];
///         Ok(notes
///             .into_iter()
///             .filter(|n| scope.owner().is_none_or(|owner| n.user_id == owner))
///             .take(limit)
///             .collect())
///     }
/// }
///
/// #[secure(auth, owner = "notes[].user_id")]
/// async fn my_notes(notes: Vec<Note>) -> String {
///     notes.iter().map(|n| n.text.as_str()).collect::<Vec<_>>().join("\n")
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a collection `owner = \"…[].…\"` can load",
    label = "the items of the list `owner` names must implement `secure_endpoint::Collection`",
    note = "implement `secure_endpoint::Collection` for `{Self}`: its state type, its query type (or `NoQuery`), and how to list a scope's items"
)]
pub trait Collection: Sized + Send + 'static {
    /// What the items are loaded from: the router's state or a part of it.
    type State: Send + Sync + 'static;

    /// The query string's filters and paging, validated like `validate_query`
    /// ([`NoQuery`] for none: then any query parameter is refused).
    type Query: crate::input::ValidInput;

    /// The most items one request may receive (default 100).
    const MAX_PAGE: usize = 100;

    /// The items of `scope`.
    fn list(
        scope: Scope<'_>,
        query: Self::Query,
        state: &Self::State,
    ) -> impl Future<Output = Result<Vec<Self>, Error>> + Send;
}

/// Whose items a [`Collection`] lists.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub(crate) owner: Option<&'a str>,
    pub(crate) tenant: Option<&'a str>,
    pub(crate) limit: usize,
    pub(crate) plan: Option<&'a crate::permission::Plan>,
}

impl Scope<'_> {
    /// The owner whose items to list, or `None` for everyone's (the caller holds the
    /// route's `owner_or_role`, or the route has no `owner`).
    pub fn owner(&self) -> Option<&str> {
        self.owner
    }

    /// The tenant whose items to list, on a route with `tenant`.
    pub fn tenant(&self) -> Option<&str> {
        self.tenant
    }

    /// The most items to return.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// On a `can = "…", on = "items[]"` route, the permission engine's plan: which
    /// items the caller may take the action on, to apply in the query
    /// ([`Plan::sql`](crate::permission::Plan::sql) renders it as a SQL condition). Every item
    /// returned is checked with the engine again, and one it denies fails the request
    /// closed. `None` on a route without `can`.
    pub fn plan(&self) -> Option<&crate::permission::Plan> {
        self.plan
    }
}

/// The query of a [`Collection`] without filters: no query parameter is accepted.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize, validator::Validate)]
#[serde(deny_unknown_fields)]
pub struct NoQuery {}

/// A [`Collection`] that can be listed from the router state `S`.
#[doc(hidden)]
pub trait ListableFrom<S>: Sized {
    /// The collection's query.
    type Query: crate::input::ValidInput;
    /// The page size cap.
    const MAX_PAGE: usize;

    /// Lists it from the router state.
    fn list_from(
        scope: Scope<'_>,
        query: Self::Query,
        state: &S,
    ) -> impl Future<Output = Result<Vec<Self>, Error>> + Send;
}

impl<C, S> ListableFrom<S> for C
where
    C: Collection,
    C::State: axum::extract::FromRef<S>,
    S: Sync,
{
    type Query = C::Query;
    const MAX_PAGE: usize = C::MAX_PAGE;

    async fn list_from(
        scope: Scope<'_>,
        query: Self::Query,
        state: &S,
    ) -> Result<Vec<Self>, Error> {
        let source: C::State = axum::extract::FromRef::from_ref(state);
        C::list(scope, query, &source).await
    }
}

/// Checked where the handler is defined, on the list's item type.
#[doc(hidden)]
pub const fn assert_collection<C: Collection>() {}

/// A field that can hold a resource owner's id, compared with the principal's
/// [`id`](crate::Principal::id).
///
/// Integers compare with an id that parses as the same number (a JWT `sub` is a string),
/// strings compare exactly, `Option` is owned by nobody when `None`. Implement it for
/// your own id type.
///
/// ```
/// use secure_endpoint::OwnerId;
///
/// struct UserId(u64);
///
/// impl OwnerId for UserId {
///     fn is_owned_by(&self, principal_id: &str) -> bool {
///         self.0.is_owned_by(principal_id)
///     }
/// }
/// assert!(UserId(7).is_owned_by("7"));
/// assert!(!UserId(7).is_owned_by("07x"));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be compared with the principal's id",
    label = "the `owner` field must hold the owner's id",
    note = "point `owner` at a field of an integer or string type, or implement `secure_endpoint::OwnerId` for `{Self}`"
)]
pub trait OwnerId {
    /// Whether the principal with id `principal_id` owns the resource.
    fn is_owned_by(&self, principal_id: &str) -> bool;
}

macro_rules! integer_owner_ids {
    ($($ty:ty)*) => {
        $(
            impl OwnerId for $ty {
                fn is_owned_by(&self, principal_id: &str) -> bool {
                    canonical_integer(principal_id)
                        && principal_id.parse::<$ty>().is_ok_and(|id| id == *self)
                }
            }
        )*
    };
}

/// Only the one decimal spelling of a number names its owner: `"7"`, not `"07"` or `"+7"`,
/// which an issuer with string ids may give to another principal.
fn canonical_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && text != "-0"
}

integer_owner_ids!(i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize);

impl OwnerId for str {
    fn is_owned_by(&self, principal_id: &str) -> bool {
        self == principal_id
    }
}

impl OwnerId for String {
    fn is_owned_by(&self, principal_id: &str) -> bool {
        self.as_str() == principal_id
    }
}

impl<T: OwnerId + ?Sized> OwnerId for &T {
    fn is_owned_by(&self, principal_id: &str) -> bool {
        (**self).is_owned_by(principal_id)
    }
}

impl<T: OwnerId> OwnerId for Option<T> {
    fn is_owned_by(&self, principal_id: &str) -> bool {
        self.as_ref().is_some_and(|id| id.is_owned_by(principal_id))
    }
}

#[cfg(test)]
mod tests {
    use super::OwnerId;

    #[test]
    fn integers_match_only_their_exact_decimal_form() {
        assert!(42i64.is_owned_by("42"));
        assert!(!42i64.is_owned_by("43"));
        assert!(!42i64.is_owned_by("+42"));
        assert!(!42i64.is_owned_by("042"));
        assert!(0u32.is_owned_by("0"));
        assert!(!0i32.is_owned_by("-0"));
        assert!((-5i32).is_owned_by("-5"));
        assert!(!42i64.is_owned_by("42 "));
        assert!(!42u8.is_owned_by("298"));
        assert!(!1i64.is_owned_by(""));
    }

    #[test]
    fn strings_and_options() {
        assert!(String::from("alice").is_owned_by("alice"));
        assert!(!String::from("alice").is_owned_by("Alice"));
        assert!(Some(5u32).is_owned_by("5"));
        assert!(!None::<u32>.is_owned_by("5"));
    }
}
