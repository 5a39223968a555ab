//! Object-level authorization: loading the resource a route names, and comparing its
//! owner with the caller.

use std::future::Future;

use serde::de::DeserializeOwned;

use crate::Error;

/// A resource a handler receives already loaded and checked, with
/// `#[secure(auth, owner = "param.field")]`.
///
/// Its key is taken from the path (as `Path<Self::Key>` would extract it) and it is
/// loaded from the router's state `S`. `Ok(None)` answers 404; an error answers the
/// generic 500 (the error is logged).
///
/// ```
/// use axum::extract::{FromRef, Path};
/// use secure_endpoint::{Claims, Error, Resource, secure};
///
/// #[derive(Clone)]
/// struct Db;
///
/// struct Note { id: u64, user_id: String, text: String }
///
/// impl<S: Send + Sync> Resource<S> for Note
/// where
///     Db: FromRef<S>,
/// {
///     type Key = u64;
///
///     async fn load(id: u64, state: &S) -> Result<Option<Self>, Error> {
///         let _db = Db::from_ref(state);
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
pub trait Resource<S>: Sized + Send + 'static {
    /// What identifies it in the path, e.g. `i64` for `/posts/{id}`.
    type Key: DeserializeOwned + Send + 'static;

    /// Loads the resource, `None` when it does not exist.
    fn load(key: Self::Key, state: &S) -> impl Future<Output = Result<Option<Self>, Error>> + Send;
}

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
