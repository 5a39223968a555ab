//! Fields only some callers may read or write: `#[derive(Guarded)]` with
//! `#[guarded(role = "admin")]` and `#[guarded(owner = "user_id")]` on its fields.
//!
//! - In a `validate` body, a field guarded by a role that the caller sends without the
//!   role is refused with 403 (the log names the field, the client does not), whether an
//!   owner is named beside the role or not (the body's owner field is the writer's own
//!   input and cannot authorise a write), and at any depth: inside a `Vec`, an `Option`,
//!   a map's values, an array, a generic struct, and inside a guarded field the writer
//!   may write. A field counts as sent when it is an `Option` holding a value; any other
//!   field is always sent, so guard optional fields.
//! - In a response, a field the caller may not read is left out (the key is absent, not
//!   `null`): a role guard shows it to holders of the role, an owner guard to the caller
//!   whose id equals the struct's owner field (or who holds the role named beside it).
//!   The handler returns `Json<T>` as usual, `T` a guarded struct or a `Vec`,
//!   `VecDeque`, `Option`, `Box`, array, `HashMap` or `BTreeMap` of one (the map's
//!   values), or a generic struct deriving `Guarded` over one (`Page<T>`), in a `Result`,
//!   beside a status or headers (`([(LOCATION, url)], Json(value))`); the framework
//!   serializes it for the caller in one pass, leaving out what the caller may not read,
//!   nested guarded values included (a struct with a `#[serde(flatten)]` field goes
//!   through a `serde_json::Value`, since serde writes it as a map). A type that holds a
//!   guarded type must derive `Guarded` itself, and the handler must name its return
//!   type: behind `-> impl IntoResponse`, in an enum, a tuple of values, or a struct that
//!   does not derive `Guarded`, a value is serialized plainly (the scanner's
//!   `guarded::<T>()` setting checks every answer for such keys). The derive refuses
//!   enums at compile time. `#[public]` handlers serialize for the anonymous caller, or
//!   with `optional_auth` for the caller the credential names. A handler whose last
//!   parameter consumes the request (a `FromRequest` extractor) serializes for the
//!   anonymous caller too.
//!
//! The derive reads serde's `rename` and `rename_all`, `skip_serializing_if`, `skip` and
//! `flatten`; container attributes that change the shape in ways it cannot follow
//! (`tag`, `untagged`, `content`, `transparent`, `into`, `remote`) and a guarded field
//! that is flattened or serialized with `serialize_with` are compile errors, not leaks.
//!
//! This file says who may read or write a field; [`filter`] writes a value for one caller
//! in one pass, `probe` holds the method-resolution probes the expansion names, and
//! `respond` turns a handler's answer into the response for its caller. Deciding whether
//! a write is refused, and answering the refusal, is the request's `fields` step.

mod filter;
mod probe;
mod respond;

use serde::Serializer;
use serde::ser::{Error as _, SerializeSeq as _, SerializeStruct};
use serde_json::Value;

#[doc(hidden)]
pub use filter::{FieldFor, ForViewer};
#[doc(hidden)]
pub use probe::{
    AnyField, BodyGuarded, BodyPlain, BodyProbe, Field, Nested, NestedGuarded, NestedPlain,
    OptionalField, ReturnGuarded, ReturnPlain, ReturnProbe, SerializeKnown, SerializeProbe,
    SerializeUnknown,
};
#[doc(hidden)]
pub use respond::{
    GuardedResponse, Respond, RespondGuarded, RespondPlain, Snapshot, assert_response,
};

use crate::principal::AnyPrincipal;

/// Who a value is serialized for, or who wrote a body.
#[derive(Clone, Copy, Default)]
pub struct Viewer<'a> {
    principal: Option<&'a dyn AnyPrincipal>,
}

impl std::fmt::Debug for Viewer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Viewer").field("id", &self.id()).finish()
    }
}

impl<'a> Viewer<'a> {
    /// A caller without a verified principal.
    pub fn anonymous() -> Self {
        Viewer { principal: None }
    }

    pub(crate) fn of_principal(principal: Option<&'a dyn AnyPrincipal>) -> Self {
        Viewer { principal }
    }

    /// The caller's id, when verified.
    pub fn id(&self) -> Option<&str> {
        self.principal.map(AnyPrincipal::id)
    }

    /// Whether the caller is verified and holds `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.principal.is_some_and(|p| p.has_role(role))
    }

    /// Whether the caller is verified and `owner` is its id.
    pub fn owns(&self, owner: &dyn crate::resource::OwnerId) -> bool {
        self.id().is_some_and(|id| owner.is_owned_by(id))
    }
}

/// A type with guarded fields, derived with `#[derive(Guarded)]`.
///
/// `#[guarded(role = "…")]` names a role as a string, declared in the settings like the
/// attributes' ([`SecurityBuilder::roles`](crate::SecurityBuilder::roles): an undeclared
/// one stops the router at start); `#[guarded(owner = "field")]` names the field holding
/// the owner's id. Where the type is read or answered, the framework applies it with no
/// call of yours:
/// - as a handler's `validate` body: a guarded field sent by a caller who may not write
///   it is 403 before the handler runs;
/// - as a handler's answer, `Json<T>` (also `Json<Vec<T>>`, maps, `Option`, inside a
///   `Result` or beside a status code or headers): the field is left out of the JSON for
///   a caller who may not read it.
///
/// ```
/// use secure_endpoint::Guarded;
///
/// #[derive(serde::Serialize, serde::Deserialize, Guarded)]
/// struct Profile {
///     id: u64,
///     name: String,
///     // Shown to the profile's own user and to admins only.
///     #[guarded(owner = "id", role = "admin")]
///     email: Option<String>,
///     // Written by admins only.
///     #[guarded(role = "admin")]
///     verified: Option<bool>,
/// }
/// ```
pub trait Guarded {
    /// The guarded fields of the type itself, by their serialized key: what the scanner
    /// checks a response never shows to a caller who may not read them.
    const KEYS: &'static [GuardedKey] = &[];

    /// Leaves out of `value` (this value, serialized) the fields `viewer` may not read.
    fn redact(&self, value: &mut Value, viewer: &Viewer<'_>);

    /// The first field this value carries that `viewer` may not write.
    fn forbidden_write(&self, viewer: &Viewer<'_>) -> Option<&'static str>;

    /// Serializes this value for `viewer`, leaving out what it may not read, in one pass.
    /// The derive implements it; a hand-written `Guarded` without it fails its answers
    /// (a generic 500) rather than send them unfiltered.
    #[doc(hidden)]
    fn serialize_for<S: Serializer>(
        &self,
        viewer: &Viewer<'_>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let _ = (viewer, serializer);
        Err(S::Error::custom(
            "this Guarded type does not serialize for a caller: derive Guarded",
        ))
    }

    /// One of this struct's fields, as it is serialized for `viewer`.
    #[doc(hidden)]
    fn field_for<S: SerializeStruct>(
        &self,
        key: &'static str,
        state: &mut S,
        viewer: &Viewer<'_>,
    ) -> Result<FieldFor, S::Error> {
        let _ = (key, state, viewer);
        Ok(FieldFor::Plain)
    }
}

/// One guarded field: its key in the serialized object and who may read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct GuardedKey {
    /// The key, as serialized (`rename` applied).
    pub key: &'static str,
    /// The role that may read (and write) it.
    pub role: Option<&'static str>,
    /// The field naming the owner who may read it.
    pub owner: Option<&'static str>,
}

impl<T: Guarded> Guarded for Vec<T> {
    const KEYS: &'static [GuardedKey] = T::KEYS;

    fn redact(&self, value: &mut Value, viewer: &Viewer<'_>) {
        if let Value::Array(items) = value {
            for (item, value) in self.iter().zip(items) {
                item.redact(value, viewer);
            }
        }
    }

    fn forbidden_write(&self, viewer: &Viewer<'_>) -> Option<&'static str> {
        self.iter().find_map(|item| item.forbidden_write(viewer))
    }

    fn serialize_for<S: Serializer>(
        &self,
        viewer: &Viewer<'_>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for item in self {
            seq.serialize_element(&ForViewer(item, viewer))?;
        }
        seq.end()
    }
}

impl<T: Guarded> Guarded for Option<T> {
    const KEYS: &'static [GuardedKey] = T::KEYS;

    fn redact(&self, value: &mut Value, viewer: &Viewer<'_>) {
        if let Some(item) = self {
            item.redact(value, viewer);
        }
    }

    fn forbidden_write(&self, viewer: &Viewer<'_>) -> Option<&'static str> {
        self.as_ref().and_then(|item| item.forbidden_write(viewer))
    }

    fn serialize_for<S: Serializer>(
        &self,
        viewer: &Viewer<'_>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match self {
            Some(item) => serializer.serialize_some(&ForViewer(item, viewer)),
            None => serializer.serialize_none(),
        }
    }
}

impl<T: Guarded> Guarded for Box<T> {
    const KEYS: &'static [GuardedKey] = T::KEYS;

    fn redact(&self, value: &mut Value, viewer: &Viewer<'_>) {
        (**self).redact(value, viewer);
    }

    fn forbidden_write(&self, viewer: &Viewer<'_>) -> Option<&'static str> {
        (**self).forbidden_write(viewer)
    }

    fn serialize_for<S: Serializer>(
        &self,
        viewer: &Viewer<'_>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        (**self).serialize_for(viewer, serializer)
    }
}

/// A guarded value behind a shared pointer is the value's.
macro_rules! guarded_through {
    ($($pointer:ty),*) => {$(
        impl<T: Guarded> Guarded for $pointer {
            const KEYS: &'static [GuardedKey] = T::KEYS;

            fn redact(&self, value: &mut Value, viewer: &Viewer<'_>) {
                (**self).redact(value, viewer);
            }

            fn forbidden_write(&self, viewer: &Viewer<'_>) -> Option<&'static str> {
                (**self).forbidden_write(viewer)
            }

            fn serialize_for<S: Serializer>(
                &self,
                viewer: &Viewer<'_>,
                serializer: S,
            ) -> Result<S::Ok, S::Error> {
                (**self).serialize_for(viewer, serializer)
            }
        }
    )*};
}

guarded_through!(std::rc::Rc<T>, std::sync::Arc<T>);

/// A sequence of guarded values, each written for the viewer.
macro_rules! guarded_sequence {
    ($($sequence:ty => [$($generic:tt)*]),*) => {$(
        impl<T: Guarded, $($generic)*> Guarded for $sequence {
            const KEYS: &'static [GuardedKey] = T::KEYS;

            fn redact(&self, value: &mut Value, viewer: &Viewer<'_>) {
                if let Value::Array(items) = value {
                    for (item, value) in self.iter().zip(items) {
                        item.redact(value, viewer);
                    }
                }
            }

            fn forbidden_write(&self, viewer: &Viewer<'_>) -> Option<&'static str> {
                self.iter().find_map(|item| item.forbidden_write(viewer))
            }

            fn serialize_for<S: Serializer>(
                &self,
                viewer: &Viewer<'_>,
                serializer: S,
            ) -> Result<S::Ok, S::Error> {
                let mut seq = serializer.serialize_seq(Some(self.len()))?;
                for item in self.iter() {
                    seq.serialize_element(&ForViewer(item, viewer))?;
                }
                seq.end()
            }
        }
    )*};
}

guarded_sequence!(
    std::collections::VecDeque<T> => [],
    [T; N] => [const N: usize]
);

/// A map whose values are guarded, each written for the viewer under its own key.
macro_rules! guarded_map {
    ($($map:ident => [$($bound:tt)*]),*) => {$(
        impl<K, V> Guarded for std::collections::$map<K, V>
        where
            K: serde::Serialize + $($bound)*,
            V: Guarded,
        {
            const KEYS: &'static [GuardedKey] = V::KEYS;

            fn redact(&self, value: &mut Value, viewer: &Viewer<'_>) {
                let Value::Object(object) = value else { return };
                for (key, item) in self {
                    // serde_json writes a map's keys as strings.
                    let key = match serde_json::to_value(key) {
                        Ok(Value::String(key)) => key,
                        Ok(other) => other.to_string(),
                        Err(_) => continue,
                    };
                    if let Some(value) = object.get_mut(&key) {
                        item.redact(value, viewer);
                    }
                }
            }

            fn forbidden_write(&self, viewer: &Viewer<'_>) -> Option<&'static str> {
                self.values().find_map(|item| item.forbidden_write(viewer))
            }

            fn serialize_for<S: Serializer>(
                &self,
                viewer: &Viewer<'_>,
                serializer: S,
            ) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap as _;
                let mut map = serializer.serialize_map(Some(self.len()))?;
                for (key, item) in self {
                    map.serialize_entry(key, &ForViewer(item, viewer))?;
                }
                map.end()
            }
        }
    )*};
}

guarded_map!(HashMap => [], BTreeMap => []);
