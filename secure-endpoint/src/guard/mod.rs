//! Fields only some callers may read or write: `#[derive(Guarded)]` with
//! `#[guarded(role = "admin")]` and `#[guarded(owner = "user_id")]` on its fields.
//!
//! - In a `validate` body, a field guarded by a role that the caller sends without the
//!   role is refused with 403 (the log names the field, the client does not). A field
//!   counts as sent when it is an `Option` holding a value; any other field is always
//!   sent, so guard optional fields.
//! - In a response, a field the caller may not read is left out (the key is absent, not
//!   `null`): a role guard shows it to holders of the role, an owner guard to the caller
//!   whose id equals the struct's owner field (or who holds the role named beside it).
//!   The handler returns `Json<T>` (or `Json<Vec<T>>`, `Json<Option<T>>`, in a `Result`
//!   or beside a status) as usual; the framework serializes it for the caller in one
//!   pass, leaving out what the caller may not read, nested guarded values included (a
//!   struct with a `#[serde(flatten)]` field goes through a `serde_json::Value`, since
//!   serde writes it as a map). A type that holds a guarded type must derive `Guarded`
//!   itself, and the handler must name its return type: behind `-> impl IntoResponse`,
//!   or inside a struct that does not derive `Guarded`, a value is serialized plainly
//!   (the scanner's `guarded::<T>()` setting checks every answer for such keys).
//!   `#[public]` handlers serialize for the anonymous caller, or with `optional_auth`
//!   for the caller the credential names. A handler whose last parameter consumes the
//!   request (a `FromRequest` extractor) serializes for the anonymous caller too.
//!
//! The derive reads serde's `rename` and `rename_all`, `skip_serializing_if`, `skip` and
//! `flatten`; container attributes that change the shape in ways it cannot follow
//! (`tag`, `untagged`, `content`, `transparent`, `into`, `remote`) and a guarded field
//! that is flattened or serialized with `serialize_with` are compile errors, not leaks.

mod filter;

use std::cell::Cell;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderValue};
use serde::Serialize;
use serde::ser::{Error as _, SerializeSeq as _, SerializeStruct, Serializer};
use serde_json::Value;

#[doc(hidden)]
pub use filter::{FieldFor, ForViewer};

use crate::error::Error;
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

/// A type with guarded fields; derived with `#[derive(secure_endpoint::Guarded)]`.
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

/// A field of any type, for the derive's generated code: its nested guarded fields when
/// it is [`Guarded`] ([`NestedGuarded`]), nothing otherwise ([`NestedPlain`]). The
/// choice is made where the type is known, by method resolution.
#[doc(hidden)]
pub struct Nested<'a, T: ?Sized>(pub &'a T);

#[doc(hidden)]
pub trait NestedGuarded {
    fn redact_nested(&self, value: &mut Value, viewer: &Viewer<'_>);
    fn write_nested(&self, viewer: &Viewer<'_>) -> Option<&'static str>;
    fn serialize_nested<S: SerializeStruct>(
        &self,
        key: &'static str,
        state: &mut S,
        viewer: &Viewer<'_>,
    ) -> Result<FieldFor, S::Error>;
}

impl<T: Guarded + ?Sized> NestedGuarded for Nested<'_, T> {
    fn redact_nested(&self, value: &mut Value, viewer: &Viewer<'_>) {
        self.0.redact(value, viewer);
    }

    fn write_nested(&self, viewer: &Viewer<'_>) -> Option<&'static str> {
        self.0.forbidden_write(viewer)
    }

    fn serialize_nested<S: SerializeStruct>(
        &self,
        key: &'static str,
        state: &mut S,
        viewer: &Viewer<'_>,
    ) -> Result<FieldFor, S::Error> {
        state.serialize_field(key, &ForViewer(self.0, viewer))?;
        Ok(FieldFor::Written)
    }
}

#[doc(hidden)]
pub trait NestedPlain {
    fn redact_nested(&self, value: &mut Value, viewer: &Viewer<'_>);
    fn write_nested(&self, viewer: &Viewer<'_>) -> Option<&'static str>;
    fn serialize_nested<S: SerializeStruct>(
        &self,
        key: &'static str,
        state: &mut S,
        viewer: &Viewer<'_>,
    ) -> Result<FieldFor, S::Error>;
}

impl<T: ?Sized> NestedPlain for &Nested<'_, T> {
    fn redact_nested(&self, _value: &mut Value, _viewer: &Viewer<'_>) {}

    fn write_nested(&self, _viewer: &Viewer<'_>) -> Option<&'static str> {
        None
    }

    fn serialize_nested<S: SerializeStruct>(
        &self,
        _key: &'static str,
        _state: &mut S,
        _viewer: &Viewer<'_>,
    ) -> Result<FieldFor, S::Error> {
        Ok(FieldFor::Plain)
    }
}

/// A derived [`Guarded`] type, serialized for a caller: field by field through
/// [`Guarded::field_for`] when it serializes as a struct, through a `Value` when it
/// flattens a field (serde then writes a map, whose keys arrive as values).
/// [`SerializeUnknown`] answers for a type that is not `Serialize` (a body only).
#[doc(hidden)]
pub struct SerializeProbe<'a, T: ?Sized>(pub &'a T);

#[doc(hidden)]
pub trait SerializeKnown {
    fn serialize_fields<S: Serializer>(
        &self,
        viewer: &Viewer<'_>,
        serializer: S,
    ) -> Result<S::Ok, S::Error>;
    fn serialize_through_value<S: Serializer>(
        &self,
        viewer: &Viewer<'_>,
        serializer: S,
    ) -> Result<S::Ok, S::Error>;
}

impl<T: Guarded + Serialize + ?Sized> SerializeKnown for SerializeProbe<'_, T> {
    fn serialize_fields<S: Serializer>(
        &self,
        viewer: &Viewer<'_>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        filter::serialize_struct_for(self.0, viewer, serializer)
    }

    fn serialize_through_value<S: Serializer>(
        &self,
        viewer: &Viewer<'_>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut value = serde_json::to_value(self.0).map_err(S::Error::custom)?;
        self.0.redact(&mut value, viewer);
        value.serialize(serializer)
    }
}

#[doc(hidden)]
pub trait SerializeUnknown {
    fn serialize_fields<S: Serializer>(
        &self,
        viewer: &Viewer<'_>,
        serializer: S,
    ) -> Result<S::Ok, S::Error>;
    fn serialize_through_value<S: Serializer>(
        &self,
        viewer: &Viewer<'_>,
        serializer: S,
    ) -> Result<S::Ok, S::Error>;
}

impl<T: ?Sized> SerializeUnknown for &SerializeProbe<'_, T> {
    fn serialize_fields<S: Serializer>(
        &self,
        _viewer: &Viewer<'_>,
        _serializer: S,
    ) -> Result<S::Ok, S::Error> {
        Err(S::Error::custom("a Guarded type that is not Serialize"))
    }

    fn serialize_through_value<S: Serializer>(
        &self,
        viewer: &Viewer<'_>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        self.serialize_fields(viewer, serializer)
    }
}

/// Whether a guarded field carries a value: an `Option` when it is `Some`, any other
/// field always.
#[doc(hidden)]
pub struct Field<'a, T: ?Sized>(pub &'a T);

#[doc(hidden)]
pub trait OptionalField {
    fn is_sent(&self) -> bool;
}

impl<T> OptionalField for Field<'_, Option<T>> {
    fn is_sent(&self) -> bool {
        self.0.is_some()
    }
}

#[doc(hidden)]
pub trait AnyField {
    fn is_sent(&self) -> bool;
}

impl<T: ?Sized> AnyField for &Field<'_, T> {
    fn is_sent(&self) -> bool {
        true
    }
}

/// The caller, kept for the answer of a handler whose last parameter consumes the
/// request (and with it the principal the request carried).
#[doc(hidden)]
pub struct Snapshot(Option<Box<dyn AnyPrincipal>>);

impl Snapshot {
    pub(crate) fn new(principal: Option<Box<dyn AnyPrincipal>>) -> Self {
        Snapshot(principal)
    }

    /// Nobody: the answer needs no caller.
    pub fn none() -> Self {
        Snapshot(None)
    }

    /// The caller it keeps.
    pub fn viewer(&self) -> Viewer<'_> {
        Viewer::of_principal(self.0.as_deref())
    }
}

/// Whether a handler's return type holds guarded values, decided where it is known:
/// [`ReturnGuarded`] when it does, [`ReturnPlain`] otherwise.
#[doc(hidden)]
pub struct ReturnProbe<R>(std::marker::PhantomData<R>);

impl<R> ReturnProbe<R> {
    pub fn new() -> Self {
        ReturnProbe(std::marker::PhantomData)
    }
}

impl<R> Default for ReturnProbe<R> {
    fn default() -> Self {
        Self::new()
    }
}

#[doc(hidden)]
pub trait ReturnGuarded {
    fn needs_viewer(&self) -> bool;
    fn keys(&self) -> &'static [GuardedKey];
}

impl<R: GuardedResponse> ReturnGuarded for ReturnProbe<R> {
    fn needs_viewer(&self) -> bool {
        true
    }

    fn keys(&self) -> &'static [GuardedKey] {
        R::KEYS
    }
}

#[doc(hidden)]
pub trait ReturnPlain {
    fn needs_viewer(&self) -> bool;
    fn keys(&self) -> &'static [GuardedKey];
}

impl<R> ReturnPlain for &ReturnProbe<R> {
    fn needs_viewer(&self) -> bool {
        false
    }

    fn keys(&self) -> &'static [GuardedKey] {
        &[]
    }
}

/// The guarded keys of a body type, decided where it is known.
#[doc(hidden)]
pub struct BodyProbe<T>(std::marker::PhantomData<T>);

impl<T> BodyProbe<T> {
    pub fn new() -> Self {
        BodyProbe(std::marker::PhantomData)
    }
}

impl<T> Default for BodyProbe<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[doc(hidden)]
pub trait BodyGuarded {
    fn keys(&self) -> &'static [GuardedKey];
}

impl<T: Guarded> BodyGuarded for BodyProbe<T> {
    fn keys(&self) -> &'static [GuardedKey] {
        T::KEYS
    }
}

#[doc(hidden)]
pub trait BodyPlain {
    fn keys(&self) -> &'static [GuardedKey];
}

impl<T> BodyPlain for &BodyProbe<T> {
    fn keys(&self) -> &'static [GuardedKey] {
        &[]
    }
}

/// Checked on a handler's return value: it must be a response.
#[doc(hidden)]
pub fn assert_response<R: IntoResponse>(_value: &R) {}

/// A response a handler returned that holds guarded values.
#[doc(hidden)]
pub trait GuardedResponse {
    /// The guarded keys of the values it holds.
    const KEYS: &'static [GuardedKey];

    fn into_response_for(self, viewer: &Viewer<'_>) -> Response;
}

impl<T: Guarded + Serialize> GuardedResponse for Json<T> {
    const KEYS: &'static [GuardedKey] = T::KEYS;

    fn into_response_for(self, viewer: &Viewer<'_>) -> Response {
        let mut body = Vec::with_capacity(128);
        match self
            .0
            .serialize_for(viewer, &mut serde_json::Serializer::new(&mut body))
        {
            Ok(()) => (
                [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                body,
            )
                .into_response(),
            Err(error) => Error::from(error).into_response(),
        }
    }
}

impl<T: GuardedResponse> GuardedResponse for (StatusCode, T) {
    const KEYS: &'static [GuardedKey] = T::KEYS;

    fn into_response_for(self, viewer: &Viewer<'_>) -> Response {
        let mut response = self.1.into_response_for(viewer);
        *response.status_mut() = self.0;
        response
    }
}

impl<T: GuardedResponse, E: IntoResponse> GuardedResponse for Result<T, E> {
    const KEYS: &'static [GuardedKey] = T::KEYS;

    fn into_response_for(self, viewer: &Viewer<'_>) -> Response {
        match self {
            Ok(value) => value.into_response_for(viewer),
            Err(error) => error.into_response(),
        }
    }
}

/// A handler's return value, turned into the response for its caller: through
/// [`GuardedResponse`] when it holds guarded values ([`RespondGuarded`]), plainly
/// otherwise ([`RespondPlain`]), chosen where the type is known.
#[doc(hidden)]
pub struct Respond<R>(Cell<Option<R>>);

impl<R> Respond<R> {
    pub fn new(value: R) -> Self {
        Respond(Cell::new(Some(value)))
    }

    fn take(&self) -> R {
        self.0.take().expect("a response is made once")
    }
}

#[doc(hidden)]
pub trait RespondGuarded {
    fn respond(&self, viewer: &Viewer<'_>) -> Response;
}

impl<R: GuardedResponse> RespondGuarded for Respond<R> {
    fn respond(&self, viewer: &Viewer<'_>) -> Response {
        self.take().into_response_for(viewer)
    }
}

#[doc(hidden)]
pub trait RespondPlain {
    fn respond(&self, viewer: &Viewer<'_>) -> Response;
}

impl<R: IntoResponse> RespondPlain for &Respond<R> {
    fn respond(&self, _viewer: &Viewer<'_>) -> Response {
        self.take().into_response()
    }
}
