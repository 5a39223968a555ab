//! A guarded value serialized for one caller in one pass: the value's own `Serialize`
//! runs into a serializer that leaves out, as each field goes by, the ones the caller may
//! not read, and hands nested guarded values the same caller. Nothing is built in
//! between; a shape other than a struct, where a struct's fields were expected, fails
//! the answer (a generic 500) instead of passing unfiltered.

use serde::Serialize;
use serde::ser::{self, Impossible, SerializeStruct, Serializer};

use super::{Guarded, Viewer};

/// What a guarded struct made of one of its fields for the caller.
#[doc(hidden)]
pub enum FieldFor {
    /// Not guarded, not holding a guarded value: written as it is.
    Plain,
    /// The caller may not read it: left out.
    Hidden,
    /// A guarded value nested in it, already written for the caller.
    Written,
}

/// `value`, serialized for `viewer`: what a nested guarded field is written as.
#[doc(hidden)]
pub struct ForViewer<'a, T: ?Sized>(pub &'a T, pub &'a Viewer<'a>);

impl<T: Guarded + ?Sized> Serialize for ForViewer<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_for(self.1, serializer)
    }
}

/// Serializes `value` through its `Serialize` impl, filtering its fields for `viewer`.
pub(super) fn serialize_struct_for<T, S>(
    value: &T,
    viewer: &Viewer<'_>,
    serializer: S,
) -> Result<S::Ok, S::Error>
where
    T: Guarded + Serialize + ?Sized,
    S: Serializer,
{
    value.serialize(Filter {
        inner: serializer,
        owner: value,
        viewer,
    })
}

const NOT_A_STRUCT: &str =
    "a Guarded type serialized as something other than a struct: its fields could not be filtered";

/// The serializer a guarded struct is written into.
struct Filter<'a, S, T: ?Sized> {
    inner: S,
    owner: &'a T,
    viewer: &'a Viewer<'a>,
}

/// The struct being written, field by field.
struct FilterStruct<'a, S, T: ?Sized> {
    inner: S,
    owner: &'a T,
    viewer: &'a Viewer<'a>,
}

impl<S: SerializeStruct, T: Guarded + ?Sized> SerializeStruct for FilterStruct<'_, S, T> {
    type Ok = S::Ok;
    type Error = S::Error;

    fn serialize_field<V: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &V,
    ) -> Result<(), S::Error> {
        match self.owner.field_for(key, &mut self.inner, self.viewer)? {
            FieldFor::Plain => self.inner.serialize_field(key, value),
            FieldFor::Hidden => self.inner.skip_field(key),
            FieldFor::Written => Ok(()),
        }
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), S::Error> {
        self.inner.skip_field(key)
    }

    fn end(self) -> Result<S::Ok, S::Error> {
        self.inner.end()
    }
}

fn refuse<E: ser::Error, R>() -> Result<R, E> {
    Err(E::custom(NOT_A_STRUCT))
}

impl<'a, S: Serializer, T: Guarded + ?Sized> Serializer for Filter<'a, S, T> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Impossible<S::Ok, S::Error>;
    type SerializeTuple = Impossible<S::Ok, S::Error>;
    type SerializeTupleStruct = Impossible<S::Ok, S::Error>;
    type SerializeTupleVariant = Impossible<S::Ok, S::Error>;
    type SerializeMap = Impossible<S::Ok, S::Error>;
    type SerializeStruct = FilterStruct<'a, S::SerializeStruct, T>;
    type SerializeStructVariant = Impossible<S::Ok, S::Error>;

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        Ok(FilterStruct {
            inner: self.inner.serialize_struct(name, len)?,
            owner: self.owner,
            viewer: self.viewer,
        })
    }

    fn serialize_bool(self, _: bool) -> Result<S::Ok, S::Error> {
        refuse()
    }
    fn serialize_i8(self, _: i8) -> Result<S::Ok, S::Error> {
        refuse()
    }
    fn serialize_i16(self, _: i16) -> Result<S::Ok, S::Error> {
        refuse()
    }
    fn serialize_i32(self, _: i32) -> Result<S::Ok, S::Error> {
        refuse()
    }
    fn serialize_i64(self, _: i64) -> Result<S::Ok, S::Error> {
        refuse()
    }
    fn serialize_u8(self, _: u8) -> Result<S::Ok, S::Error> {
        refuse()
    }
    fn serialize_u16(self, _: u16) -> Result<S::Ok, S::Error> {
        refuse()
    }
    fn serialize_u32(self, _: u32) -> Result<S::Ok, S::Error> {
        refuse()
    }
    fn serialize_u64(self, _: u64) -> Result<S::Ok, S::Error> {
        refuse()
    }
    fn serialize_f32(self, _: f32) -> Result<S::Ok, S::Error> {
        refuse()
    }
    fn serialize_f64(self, _: f64) -> Result<S::Ok, S::Error> {
        refuse()
    }
    fn serialize_char(self, _: char) -> Result<S::Ok, S::Error> {
        refuse()
    }
    fn serialize_str(self, _: &str) -> Result<S::Ok, S::Error> {
        refuse()
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<S::Ok, S::Error> {
        refuse()
    }
    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        refuse()
    }
    fn serialize_some<V: Serialize + ?Sized>(self, _: &V) -> Result<S::Ok, S::Error> {
        refuse()
    }
    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        refuse()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<S::Ok, S::Error> {
        refuse()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<S::Ok, S::Error> {
        refuse()
    }
    fn serialize_newtype_struct<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &V,
    ) -> Result<S::Ok, S::Error> {
        refuse()
    }
    fn serialize_newtype_variant<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &V,
    ) -> Result<S::Ok, S::Error> {
        refuse()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        refuse()
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, S::Error> {
        refuse()
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        refuse()
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        refuse()
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        refuse()
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        refuse()
    }
}
