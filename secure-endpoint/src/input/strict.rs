//! The strict reader: a deserializer over a parsed JSON value that knows where it is.
//!
//! It records the path of every field the target type ignores (a field the type does
//! not declare), gives every error the path of the value that caused it and a rule code
//! instead of a message (serde's messages quote the input), and notes the values read
//! through `deserialize_any` inside open maps: with `#[serde(flatten)]` serde captures
//! unknown keys that way and drops them without telling anyone, so those keys are probed
//! afterwards (see `input/probe.rs`).

use std::cell::RefCell;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::de::{
    self, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess, VariantAccess,
    Visitor,
};
use serde_json::{Map, Value};

pub(crate) use super::path::{Path, Segment};

/// `value` read as `T` by the strict walk, with what the walk found besides it (fields
/// the type ignores, values captured by open maps); or the first error, with its path.
pub(crate) fn read<T: DeserializeOwned>(
    value: &Value,
    source: Source,
) -> Result<(T, Report), InputError> {
    let report = RefCell::new(Report::default());
    let node = Node {
        value,
        path: Path::Root,
        report: Some(&report),
        source,
        in_open_map: false,
    };
    let parsed = T::deserialize(node)?;
    Ok((parsed, report.into_inner()))
}

/// Whether `T` reads `value` at all, nothing recorded: for probing what a value means.
pub(crate) fn accepts<T: DeserializeOwned>(value: &Value, source: Source) -> bool {
    let node = Node {
        value,
        path: Path::Root,
        report: None,
        source,
        in_open_map: false,
    };
    T::deserialize(node).is_ok()
}

/// What a walk found besides the value.
#[derive(Default)]
pub(crate) struct Report {
    /// Fields the type ignored.
    pub(crate) unknown: Vec<String>,
    /// Values captured whole inside open maps: possibly dropped by a flattened struct.
    pub(crate) captured: Vec<(String, Vec<Segment>)>,
    /// More values were captured than are ever probed; they were not recorded.
    pub(crate) too_many_captured: bool,
}

/// The most captured values recorded (and so probed) for one document.
pub(crate) const MAX_CAPTURED: usize = 32;

/// Why a value was refused: a rule code and the path, never the value.
#[derive(Debug)]
pub(crate) struct InputError {
    pub(crate) code: &'static str,
    pub(crate) path: Option<String>,
    /// For `missing_field`: the field, appended to the path where the error surfaces.
    missing: Option<&'static str>,
}

impl InputError {
    fn new(code: &'static str) -> Self {
        InputError {
            code,
            path: None,
            missing: None,
        }
    }

    /// Gives the error the path of the value being read, unless it has a deeper one.
    fn at(mut self, path: &Path<'_>) -> Self {
        if self.path.is_none() {
            self.path = Some(match self.missing {
                Some(field) => Path::Key(path, field).render(),
                None => path.render(),
            });
        }
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at {}",
            self.code,
            self.path.as_deref().unwrap_or("?")
        )
    }
}

impl std::error::Error for InputError {}

impl de::Error for InputError {
    fn custom<T: fmt::Display>(_message: T) -> Self {
        InputError::new("invalid")
    }

    fn invalid_type(_unexpected: de::Unexpected<'_>, _expected: &dyn de::Expected) -> Self {
        InputError::new("type")
    }

    fn invalid_value(_unexpected: de::Unexpected<'_>, _expected: &dyn de::Expected) -> Self {
        InputError::new("invalid")
    }

    fn invalid_length(_len: usize, _expected: &dyn de::Expected) -> Self {
        InputError::new("length")
    }

    fn unknown_variant(_variant: &str, _expected: &'static [&'static str]) -> Self {
        InputError::new("variant")
    }

    fn unknown_field(_field: &str, _expected: &'static [&'static str]) -> Self {
        InputError::new("unknown")
    }

    fn missing_field(field: &'static str) -> Self {
        InputError {
            code: "required",
            path: None,
            missing: Some(field),
        }
    }

    fn duplicate_field(_field: &'static str) -> Self {
        InputError::new("duplicate")
    }
}

/// How scalars are read: JSON as typed, or query strings where every value is text.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Json,
    Query,
}

/// One value of the document.
pub(crate) struct Node<'a, 'p, 'r> {
    pub(crate) value: &'a Value,
    pub(crate) path: Path<'p>,
    pub(crate) report: Option<&'r RefCell<Report>>,
    pub(crate) source: Source,
    /// The value belongs to a map read with `deserialize_map` (a map type, or a struct
    /// with a flattened field).
    pub(crate) in_open_map: bool,
}

impl<'a, 'p, 'r> Node<'a, 'p, 'r> {
    fn child<'c>(&self, value: &'a Value, path: Path<'c>, in_open_map: bool) -> Node<'a, 'c, 'r> {
        Node {
            value,
            path,
            report: self.report,
            source: self.source,
            in_open_map,
        }
    }

    fn visit_scalar<V: Visitor<'a>>(&self, visitor: V) -> Result<V::Value, InputError> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => self.elements(items, visitor),
            Value::Object(map) => visitor.visit_map(self.map(map, true)),
        }
    }

    /// `items` to a visitor that must take them all: a tuple or array of fixed length
    /// given more elements than it holds is refused, not cut short.
    fn elements<V: Visitor<'a>>(
        &self,
        items: &'a [Value],
        visitor: V,
    ) -> Result<V::Value, InputError> {
        let mut seq = Seq {
            node: self,
            items: items.iter().enumerate(),
        };
        let value = visitor.visit_seq(&mut seq)?;
        if seq.items.len() > 0 {
            return Err(InputError::new("length"));
        }
        Ok(value)
    }

    fn map<'n>(&'n self, map: &'a Map<String, Value>, open: bool) -> Fields<'a, 'p, 'r, 'n> {
        Fields {
            node: self,
            entries: map.iter(),
            pending: None,
            open,
        }
    }

    fn type_error(&self) -> InputError {
        InputError::new("type").at(&self.path)
    }

    /// In a query string every value is text: numbers and booleans are parsed from it.
    fn text(&self) -> Option<&'a str> {
        match (self.source, self.value) {
            (Source::Query, Value::String(s)) => Some(s),
            _ => None,
        }
    }
}

macro_rules! number {
    ($($method:ident => $ty:ty, $visit:ident;)*) => {
        $(
            fn $method<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, InputError> {
                if let Some(text) = self.text() {
                    return match text.parse::<$ty>() {
                        Ok(n) => visitor.$visit(n),
                        Err(_) => Err(self.type_error()),
                    };
                }
                // JSON Schema's `integer` is any number without a fractional part:
                // `3.0` is the integer 3, as the documented schema promises. Only where
                // the float holds it exactly (up to 2^53); past that, a type error.
                if let Value::Number(n) = self.value
                    && !n.is_i64()
                    && !n.is_u64()
                    && let Some(f) = n.as_f64()
                    && f.fract() == 0.0
                    && f.abs() <= 9_007_199_254_740_992.0
                {
                    let result = if f < 0.0 {
                        visitor.visit_i64(f as i64)
                    } else {
                        visitor.visit_u64(f as u64)
                    };
                    return result.map_err(|e: InputError| e.at(&self.path));
                }
                self.visit_scalar(visitor).map_err(|e: InputError| e.at(&self.path))
            }
        )*
    };
}

macro_rules! float {
    ($($method:ident => $ty:ty, $visit:ident;)*) => {
        $(
            /// Only finite numbers: `NaN` passes every range rule, and infinity passes any
            /// rule without a maximum. Rust's float parser answers infinity for a number
            /// too large for the type (`1e39` as `f32`), and serde casts a JSON `f64` into
            /// an `f32` the same way: both are refused here.
            fn $method<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, InputError> {
                let number = match (self.text(), self.value) {
                    (Some(text), _) => {
                        let lower = text.to_ascii_lowercase();
                        if lower.contains("nan") || lower.contains("inf") {
                            return Err(self.type_error());
                        }
                        text.parse::<$ty>().map_err(|_| self.type_error())?
                    }
                    (None, Value::Number(n)) => match n.as_f64() {
                        Some(n) if n.is_finite() => n as $ty,
                        _ => return Err(self.type_error()),
                    },
                    (None, _) => return Err(self.type_error()),
                };
                if !number.is_finite() {
                    return Err(self.type_error());
                }
                visitor.$visit(number)
            }
        )*
    };
}

impl<'a> de::Deserializer<'a> for Node<'a, '_, '_> {
    type Error = InputError;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, InputError> {
        if self.in_open_map
            && let Some(report) = self.report
        {
            let mut report = report.borrow_mut();
            if report.captured.len() < MAX_CAPTURED {
                report
                    .captured
                    .push((self.path.render(), self.path.segments()));
            } else {
                report.too_many_captured = true;
            }
        }
        self.visit_scalar(visitor)
            .map_err(|e: InputError| e.at(&self.path))
    }

    number! {
        deserialize_i8 => i8, visit_i8;
        deserialize_i16 => i16, visit_i16;
        deserialize_i32 => i32, visit_i32;
        deserialize_i64 => i64, visit_i64;
        deserialize_i128 => i128, visit_i128;
        deserialize_u8 => u8, visit_u8;
        deserialize_u16 => u16, visit_u16;
        deserialize_u32 => u32, visit_u32;
        deserialize_u64 => u64, visit_u64;
        deserialize_u128 => u128, visit_u128;
        deserialize_bool => bool, visit_bool;
    }

    float! {
        deserialize_f32 => f32, visit_f32;
        deserialize_f64 => f64, visit_f64;
    }

    fn deserialize_char<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, InputError> {
        self.visit_scalar(visitor)
            .map_err(|e: InputError| e.at(&self.path))
    }

    fn deserialize_str<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, InputError> {
        match self.value {
            Value::String(s) => visitor
                .visit_borrowed_str(s)
                .map_err(|e: InputError| e.at(&self.path)),
            _ => Err(self.type_error()),
        }
    }

    fn deserialize_string<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, InputError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, InputError> {
        self.visit_scalar(visitor)
            .map_err(|e: InputError| e.at(&self.path))
    }

    fn deserialize_byte_buf<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, InputError> {
        self.visit_scalar(visitor)
            .map_err(|e: InputError| e.at(&self.path))
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, InputError> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => {
                let path = self.path;
                visitor
                    .visit_some(self)
                    .map_err(|e: InputError| e.at(&path))
            }
        }
    }

    fn deserialize_unit<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, InputError> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            _ => Err(self.type_error()),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, InputError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, InputError> {
        let path = self.path;
        visitor
            .visit_newtype_struct(self)
            .map_err(|e: InputError| e.at(&path))
    }

    fn deserialize_seq<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, InputError> {
        if let Some(_single) = self.text() {
            // `?tag=a` is a list of one in a query string.
            return self
                .elements(std::slice::from_ref(self.value), visitor)
                .map_err(|e: InputError| e.at(&self.path));
        }
        match self.value {
            Value::Array(items) => self
                .elements(items, visitor)
                .map_err(|e: InputError| e.at(&self.path)),
            _ => Err(self.type_error()),
        }
    }

    fn deserialize_tuple<V: Visitor<'a>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, InputError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, InputError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, InputError> {
        match self.value {
            Value::Object(map) => visitor
                .visit_map(self.map(map, true))
                .map_err(|e: InputError| e.at(&self.path)),
            _ => Err(self.type_error()),
        }
    }

    fn deserialize_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, InputError> {
        match self.value {
            Value::Object(map) => visitor
                .visit_map(self.map(map, false))
                .map_err(|e: InputError| e.at(&self.path)),
            _ => Err(self.type_error()),
        }
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, InputError> {
        match self.value {
            Value::String(variant) => visitor
                .visit_enum(variant.as_str().into_deserializer())
                .map_err(|e: InputError| e.at(&self.path)),
            Value::Object(map) if map.len() == 1 => {
                let (variant, value) = map.iter().next().expect("one entry");
                visitor
                    .visit_enum(Variant {
                        name: variant,
                        node: self.child(value, Path::Key(&self.path, variant), false),
                    })
                    .map_err(|e: InputError| e.at(&self.path))
            }
            _ => Err(self.type_error()),
        }
    }

    fn deserialize_identifier<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, InputError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, InputError> {
        if let Some(report) = self.report {
            report.borrow_mut().unknown.push(self.path.render());
        }
        visitor.visit_unit()
    }
}

struct Seq<'a, 'p, 'r, 'n> {
    node: &'n Node<'a, 'p, 'r>,
    items: std::iter::Enumerate<std::slice::Iter<'a, Value>>,
}

impl<'a> SeqAccess<'a> for Seq<'a, '_, '_, '_> {
    type Error = InputError;

    fn next_element_seed<T: DeserializeSeed<'a>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, InputError> {
        let Some((index, value)) = self.items.next() else {
            return Ok(None);
        };
        let path = Path::Index(&self.node.path, index);
        // The child's path borrows this frame; errors are rendered before it ends.
        let child = Node {
            value,
            path,
            report: self.node.report,
            source: self.node.source,
            in_open_map: false,
        };
        seed.deserialize(child)
            .map(Some)
            .map_err(|e: InputError| e.at(&path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Fields<'a, 'p, 'r, 'n> {
    node: &'n Node<'a, 'p, 'r>,
    entries: serde_json::map::Iter<'a>,
    pending: Option<(&'a String, &'a Value)>,
    open: bool,
}

impl<'a> MapAccess<'a> for Fields<'a, '_, '_, '_> {
    type Error = InputError;

    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, InputError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.pending = Some((key, value));
        let key_deserializer = de::value::BorrowedStrDeserializer::<InputError>::new(key);
        seed.deserialize(key_deserializer)
            .map(Some)
            .map_err(|e: InputError| e.at(&Path::Key(&self.node.path, key)))
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, InputError> {
        let (key, value) = self
            .pending
            .take()
            .expect("serde asks for a key before its value");
        let path = Path::Key(&self.node.path, key);
        let child = Node {
            value,
            path,
            report: self.node.report,
            source: self.node.source,
            in_open_map: self.open,
        };
        seed.deserialize(child).map_err(|e: InputError| e.at(&path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

struct Variant<'a, 'p, 'r> {
    name: &'a str,
    node: Node<'a, 'p, 'r>,
}

impl<'a, 'p, 'r> EnumAccess<'a> for Variant<'a, 'p, 'r> {
    type Error = InputError;
    type Variant = Node<'a, 'p, 'r>;

    fn variant_seed<V: DeserializeSeed<'a>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), InputError> {
        let name = de::value::BorrowedStrDeserializer::<InputError>::new(self.name);
        Ok((seed.deserialize(name)?, self.node))
    }
}

impl<'a> VariantAccess<'a> for Node<'a, '_, '_> {
    type Error = InputError;

    fn unit_variant(self) -> Result<(), InputError> {
        de::Deserializer::deserialize_unit(self, de::IgnoredAny).map(|_| ())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'a>>(self, seed: T) -> Result<T::Value, InputError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'a>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, InputError> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'a>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, InputError> {
        de::Deserializer::deserialize_struct(self, "", fields, visitor)
    }
}
