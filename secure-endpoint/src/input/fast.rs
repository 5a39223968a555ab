//! The common case read straight from the bytes: a body whose every value lands in a
//! typed field, no tree built first.
//!
//! serde_json's streaming deserializer is wrapped so that anything the strict reader
//! ([`super::de`]) would have to look at more closely stops the attempt: a field the type
//! ignores (`deserialize_ignored_any`), a value read without a type (`deserialize_any`,
//! as untagged and internally tagged enums and `serde_json::Value` do), an open map
//! (`deserialize_map`, as maps and flattened structs do), bytes, 128-bit integers, and a
//! struct written as an array. Any error stops it too. The caller then starts over on the
//! strict path, which gives the same answer for everything this one accepts and the
//! detailed refusal for everything else; so this path only decides how fast a valid body
//! is read, never whether it is accepted.
//!
//! One exception, where another crate in the build turns on serde_json's
//! `float_roundtrip` or `arbitrary_precision`: a float can then differ between the two
//! readers in its last bit or the sign of a zero. Both accept it; neither refuses
//! anything the other accepts.

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, MapAccess, SeqAccess, VariantAccess,
    Visitor,
};

/// `T` read from `bytes` when it can be read without the strict path's help; `None` sends
/// the caller to the strict path.
pub(crate) fn read<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let mut json = serde_json::Deserializer::from_slice(bytes);
    let value = T::deserialize(Typed(&mut json)).ok()?;
    json.end().ok()?;
    Some(value)
}

fn stop<E: de::Error>() -> E {
    E::custom("left to the strict reader")
}

/// A deserializer refusing what only the strict reader may judge.
struct Typed<D>(D);

macro_rules! forward {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
                self.0.$method(visitor)
            }
        )*
    };
}

macro_rules! refuse {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, D::Error> {
                Err(stop())
            }
        )*
    };
}

impl<'de, D: de::Deserializer<'de>> de::Deserializer<'de> for Typed<D> {
    type Error = D::Error;

    forward! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_f64 deserialize_char deserialize_str deserialize_string deserialize_unit
        deserialize_identifier
    }

    // 128-bit integers too: serde_json reads them exactly, the strict reader's tree holds
    // anything past 64 bits as a float and refuses it. And `f32`: serde casts a JSON
    // number too large for it into infinity, which only the strict reader refuses.
    refuse! {
        deserialize_any deserialize_map deserialize_ignored_any deserialize_bytes
        deserialize_byte_buf deserialize_i128 deserialize_u128 deserialize_f32
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_option(Wrap::new(visitor))
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        // serde_json's own markers (`RawValue`) are not read by the strict reader.
        if name.starts_with("$serde_json") {
            return Err(stop());
        }
        self.0.deserialize_newtype_struct(name, Wrap::new(visitor))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_seq(Wrap::new(visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, Wrap::new(visitor))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0
            .deserialize_tuple_struct(name, len, Wrap::new(visitor))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0
            .deserialize_struct(name, fields, Wrap::object(visitor))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_enum(name, variants, Wrap::new(visitor))
    }
}

/// A visitor whose nested values are read through [`Typed`] again.
struct Wrap<V> {
    inner: V,
    /// A struct: serde_json also reads one from an array, the strict reader does not.
    object_only: bool,
}

impl<V> Wrap<V> {
    fn new(inner: V) -> Self {
        Wrap {
            inner,
            object_only: false,
        }
    }

    fn object(inner: V) -> Self {
        Wrap {
            inner,
            object_only: true,
        }
    }
}

macro_rules! visit {
    ($($method:ident($ty:ty))*) => {
        $(
            fn $method<E: de::Error>(self, value: $ty) -> Result<Self::Value, E> {
                self.inner.$method(value)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    visit! {
        visit_bool(bool) visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64)
        visit_i128(i128) visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64)
        visit_u128(u128) visit_f32(f32) visit_f64(f64) visit_char(char) visit_str(&str)
        visit_borrowed_str(&'de str) visit_string(String) visit_bytes(&[u8])
        visit_borrowed_bytes(&'de [u8]) visit_byte_buf(Vec<u8>)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: de::Deserializer<'de>>(self, inner: D) -> Result<Self::Value, D::Error> {
        self.inner.visit_some(Typed(inner))
    }

    fn visit_newtype_struct<D: de::Deserializer<'de>>(
        self,
        inner: D,
    ) -> Result<Self::Value, D::Error> {
        self.inner.visit_newtype_struct(Typed(inner))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        if self.object_only {
            return Err(stop());
        }
        self.inner.visit_seq(Elements(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_map(Entries(map))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_enum(Variant(data))
    }
}

/// A seed whose value is read through [`Typed`].
struct Seed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: de::Deserializer<'de>>(self, inner: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Typed(inner))
    }
}

struct Elements<A>(A);

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Elements<A> {
    type Error = A::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, A::Error> {
        self.0.next_element_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

/// A struct's entries: keys as serde_json reads them, values through [`Typed`].
struct Entries<A>(A);

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Entries<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(seed)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.0.next_value_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

struct Variant<A>(A);

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Variant<A> {
    type Error = A::Error;
    type Variant = Variant<A::Variant>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), A::Error> {
        let (value, variant) = self.0.variant_seed(seed)?;
        Ok((value, Variant(variant)))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Variant<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        self.0.newtype_variant_seed(Seed(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Wrap::new(visitor))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(fields, Wrap::object(visitor))
    }
}

#[cfg(test)]
mod tests {
    //! Whatever the fast reader accepts, the strict reader accepts as the same value.

    use std::collections::HashMap;
    use std::fmt::Debug;

    use serde::Deserialize;
    use serde_json::Value;

    use crate::input::Details;
    use crate::input::strict::{self, Source};

    /// The strict reader alone, unknown fields included, before any rule.
    fn strict<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Details> {
        let value: Value = serde_json::from_slice(bytes).map_err(|_| Details::new())?;
        let (parsed, report) =
            strict::read::<T>(&value, Source::Json).map_err(|_| Details::new())?;
        if report.unknown.is_empty() && report.captured.is_empty() {
            Ok(parsed)
        } else {
            Err(Details::new())
        }
    }

    fn agree<T: serde::de::DeserializeOwned + PartialEq + Debug>(cases: &[&str]) -> usize {
        let mut fast = 0;
        for case in cases {
            if let Some(value) = super::read::<T>(case.as_bytes()) {
                fast += 1;
                match strict::<T>(case.as_bytes()) {
                    Ok(same) => assert_eq!(value, same, "{case}"),
                    Err(_) => panic!("read fast, refused strictly: {case}"),
                }
            }
        }
        fast
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Post {
        title: String,
        #[serde(default)]
        tags: Vec<String>,
        author: Option<Author>,
        kind: Option<Kind>,
        score: Option<i32>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Author {
        name: String,
        id: Id,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Id(u64);

    #[derive(Debug, PartialEq, Deserialize)]
    enum Kind {
        Draft,
        Scheduled(u64),
        Linked { url: String },
    }

    #[test]
    fn typed_bodies_read_fast_and_the_same() {
        let cases = [
            r#"{"title":"a"}"#,
            r#"{"title":"a","tags":["x","y"],"score":-3}"#,
            r#"{"title":"a","author":{"name":"n","id":7}}"#,
            r#"{"title":"a","author":null,"kind":"Draft"}"#,
            r#"{"title":"a","kind":{"Scheduled":5}}"#,
            r#"{"title":"a","kind":{"Linked":{"url":"u"}}}"#,
            r#"{"title":"\u00e9\n","tags":[]}"#,
            // What the strict reader must judge:
            r#"{"title":"a","extra":1}"#,
            r#"{"title":"a","author":{"name":"n","id":7,"admin":true}}"#,
            r#"{"title":"a","kind":{"Linked":{"url":"u","x":1}}}"#,
            r#"{"title":"a","title":"b"}"#,
            r#"["a",[],null,null,null]"#,
            r#"{"title":"a","author":["n",7]}"#,
            r#"{"title":"a","kind":{"Linked":["u"]}}"#,
            r#"{"title":"a","kind":{"Draft":null,"Scheduled":1}}"#,
            r#"{"title":"a"} trailing"#,
            r#"{"title":1}"#,
            r#"{"title":"a","score":1.5}"#,
            r#"{"title":"a","score":99999999999}"#,
            r#"{}"#,
            r#"null"#,
        ];
        assert_eq!(agree::<Post>(&cases), 7, "the typed bodies read fast");
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Open {
        title: String,
        #[serde(flatten)]
        rest: HashMap<String, Value>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Loose {
        title: String,
        meta: Value,
        labels: HashMap<String, String>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(tag = "type")]
    enum Tagged {
        A { x: u8 },
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(untagged)]
    enum Either {
        N(u8),
        S(String),
    }

    #[test]
    fn fixed_lengths_refuse_extra_elements_on_both_paths() {
        #[derive(Debug, PartialEq, Deserialize)]
        struct Pair {
            at: (u8, u8),
            rgb: [u8; 3],
        }
        assert_eq!(agree::<Pair>(&[r#"{"at":[1,2],"rgb":[1,2,3]}"#]), 1);
        for extra in [
            r#"{"at":[1,2,3],"rgb":[1,2,3]}"#,
            r#"{"at":[1,2],"rgb":[1,2,3,4]}"#,
        ] {
            assert!(super::read::<Pair>(extra.as_bytes()).is_none(), "{extra}");
            assert!(strict::<Pair>(extra.as_bytes()).is_err(), "{extra}");
        }
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Wide {
        n: u128,
    }

    #[test]
    fn open_maps_and_untyped_values_are_left_to_the_strict_reader() {
        assert_eq!(
            agree::<Wide>(&[r#"{"n":1}"#, r#"{"n":1180591620717411303424}"#]),
            0
        );
        assert_eq!(
            agree::<Open>(&[r#"{"title":"a","x":1}"#, r#"{"title":"a"}"#]),
            0
        );
        assert_eq!(
            agree::<Loose>(&[r#"{"title":"a","meta":{},"labels":{"k":"v"}}"#]),
            0
        );
        assert_eq!(agree::<Tagged>(&[r#"{"type":"A","x":1}"#]), 0);
        assert_eq!(agree::<Either>(&["1", r#""s""#]), 0);
    }
}
