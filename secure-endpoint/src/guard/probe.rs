//! The probes the expansion of `#[secure]` and `#[derive(Guarded)]` names: each asks,
//! where a type is known, whether it is [`Guarded`], by method resolution (a method on
//! the probe for guarded types, the same method on a reference to it for any other).
//! They decide nothing of their own: what a guarded value does is in the parent module.

use serde::Serialize;
use serde::ser::{Error as _, SerializeStruct, Serializer};
use serde_json::Value;

use super::filter::{self, FieldFor, ForViewer};
use super::respond::GuardedResponse;
use super::{Guarded, GuardedKey, Viewer};

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
