//! The strict reader's tree: a JSON document parsed into a [`Value`], refusing a key
//! repeated in one object. serde_json's own `Value` keeps the last of repeated keys, so a
//! body such as `{"title":12345,"title":"ok"}` would be judged by its last value while
//! whatever reads it differently (a proxy, a log, another service) sees the first: a
//! repeated key is refused here, wherever it sits and however it is spelled (escapes
//! are decoded before keys are compared).

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::path::Path;

/// Why a document could not become a tree.
pub(crate) enum TreeError {
    /// Not JSON, trailing bytes, or nested deeper than serde_json's limit (128).
    Malformed,
    /// A key repeated in one object, at this path.
    Duplicate(String),
}

/// Parses `bytes` into a tree, refusing repeated keys.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, TreeError> {
    let duplicate = RefCell::new(None);
    let mut json = serde_json::Deserializer::from_slice(bytes);
    let seed = Node {
        path: &Path::Root,
        duplicate: &duplicate,
    };
    let parsed = seed.deserialize(&mut json).and_then(|value| {
        json.end()?;
        Ok(value)
    });
    match (parsed, duplicate.into_inner()) {
        (_, Some(path)) => Err(TreeError::Duplicate(path)),
        (Ok(value), None) => Ok(value),
        (Err(_), None) => Err(TreeError::Malformed),
    }
}

/// One value to read, knowing where it sits.
#[derive(Clone, Copy)]
struct Node<'p, 'd> {
    path: &'p Path<'p>,
    /// Where a repeated key is reported; the parse is then abandoned.
    duplicate: &'d RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Node<'_, '_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // serde_json never reads a non-finite number; its own `Value` maps one to null.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        loop {
            let path = Path::Index(self.path, items.len());
            let node = Node {
                path: &path,
                duplicate: self.duplicate,
            };
            match seq.next_element_seed(node)? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = entries.next_key::<String>()? {
            let path = Path::Key(self.path, &key);
            if map.contains_key(&key) {
                *self.duplicate.borrow_mut() = Some(path.render());
                return Err(de::Error::custom("a repeated key"));
            }
            let node = Node {
                path: &path,
                duplicate: self.duplicate,
            };
            let value = entries.next_value_seed(node)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duplicate(text: &str) -> Option<String> {
        match parse(text.as_bytes()) {
            Err(TreeError::Duplicate(path)) => Some(path),
            _ => None,
        }
    }

    #[test]
    fn a_repeated_key_is_refused_with_its_path() {
        assert_eq!(duplicate(r#"{"a":1,"a":2}"#).as_deref(), Some("a"));
        assert_eq!(duplicate(r#"{"a":1,"\u0061":2}"#).as_deref(), Some("a"));
        assert_eq!(
            duplicate(r#"{"x":{"y":[{"k":1,"k":1}]}}"#).as_deref(),
            Some("x.y[0].k")
        );
        assert_eq!(duplicate(r#"{"a":{"b":1},"b":2}"#), None);
    }

    #[test]
    fn the_tree_is_serde_jsons_value() {
        for text in [
            r#"{"a":[1,-2,3.5,"x",null,true,{"b":{}}],"c":18446744073709551615}"#,
            "[]",
            "\"s\"",
            "1e300",
        ] {
            let ours = parse(text.as_bytes()).ok().expect("parses");
            let theirs: Value = serde_json::from_str(text).unwrap();
            assert_eq!(ours, theirs, "{text}");
        }
        assert!(matches!(parse(b"{"), Err(TreeError::Malformed)));
        assert!(matches!(parse(b"{} x"), Err(TreeError::Malformed)));
        assert!(matches!(parse(b"1e400"), Err(TreeError::Malformed)));
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(matches!(parse(deep.as_bytes()), Err(TreeError::Malformed)));
    }
}
