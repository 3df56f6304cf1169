//! Deserialising values straight from borrowed [`AttrValue`]s, reading the data model
//! `serde_dynamo` writes (see `attr_ser`) as `serde_dynamo` reads it, without copying the value.

use std::collections::btree_map;
use std::fmt::Display;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use serde::forward_to_deserialize_any;

use super::{AttrValue, MappingError};

impl de::Error for MappingError {
    fn custom<T: Display>(msg: T) -> Self {
        MappingError(msg.to_string())
    }
}

type Result<T> = std::result::Result<T, MappingError>;

/// Deserialises a value from an attribute value.
pub(crate) fn from_value<T: DeserializeOwned>(value: &AttrValue) -> Result<T> {
    T::deserialize(Deserializer(value))
}

fn expected<T>(what: &str, got: &AttrValue) -> Result<T> {
    let kind = match got {
        AttrValue::S(_) => "a string",
        AttrValue::N(_) => "a number",
        AttrValue::B(_) => "binary",
        AttrValue::Bool(_) => "a boolean",
        AttrValue::Null => "null",
        AttrValue::L(_) => "a list",
        AttrValue::M(_) => "a map",
    };
    Err(MappingError(format!("expected {what}, found {kind}")))
}

struct Deserializer<'de>(&'de AttrValue);

macro_rules! number {
    ($($method:ident => $visit:ident: $ty:ty),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            match self.0 {
                AttrValue::N(n) => {
                    let parsed = n.0.parse::<$ty>().map_err(|e| {
                        MappingError(format!("{:?} is not a {}: {e}", n.0, stringify!($ty)))
                    })?;
                    visitor.$visit(parsed)
                }
                other => expected("a number", other),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Deserializer<'de> {
    type Error = MappingError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0 {
            AttrValue::N(n) => {
                if let Ok(i) = n.0.parse::<i64>() {
                    visitor.visit_i64(i)
                } else if let Ok(u) = n.0.parse::<u64>() {
                    visitor.visit_u64(u)
                } else {
                    let f =
                        n.0.parse::<f64>()
                            .map_err(|e| MappingError(format!("{:?} is not a number: {e}", n.0)))?;
                    visitor.visit_f64(f)
                }
            }
            AttrValue::S(s) => visitor.visit_borrowed_str(s),
            AttrValue::Bool(b) => visitor.visit_bool(*b),
            AttrValue::B(b) => visitor.visit_borrowed_bytes(b),
            AttrValue::Null => visitor.visit_unit(),
            AttrValue::M(_) => self.deserialize_map(visitor),
            AttrValue::L(_) => self.deserialize_seq(visitor),
        }
    }

    number!(
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
        deserialize_f32 => visit_f32: f32,
        deserialize_f64 => visit_f64: f64,
    );

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0 {
            AttrValue::Bool(b) => visitor.visit_bool(*b),
            other => expected("a boolean", other),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0 {
            AttrValue::S(s) => {
                let mut chars = s.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => visitor.visit_char(c),
                    _ => Err(MappingError(format!("{s:?} is not one character"))),
                }
            }
            other => expected("a character", other),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0 {
            AttrValue::S(s) => visitor.visit_borrowed_str(s),
            other => expected("a string", other),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0 {
            AttrValue::B(b) => visitor.visit_borrowed_bytes(b),
            other => expected("binary", other),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0 {
            AttrValue::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0 {
            AttrValue::Null => visitor.visit_unit(),
            other => expected("null", other),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0 {
            AttrValue::L(l) => visitor.visit_seq(Seq(l.iter())),
            other => expected("a list", other),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0 {
            AttrValue::M(m) => visitor.visit_map(Map {
                entries: m.iter(),
                value: None,
            }),
            other => expected("a map", other),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.0 {
            AttrValue::L(_) => self.deserialize_seq(visitor),
            _ => self.deserialize_map(visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.0 {
            AttrValue::S(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            AttrValue::M(m) => {
                let mut entries = m.iter();
                match (entries.next(), entries.next()) {
                    (Some((name, value)), None) => visitor.visit_enum(Variant { name, value }),
                    _ => Err(MappingError("an enum variant is a map of one key".into())),
                }
            }
            other => expected("an enum", other),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }
}

struct Seq<'de>(std::slice::Iter<'de, AttrValue>);

impl<'de> SeqAccess<'de> for Seq<'de> {
    type Error = MappingError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        self.0
            .next()
            .map(|value| seed.deserialize(Deserializer(value)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Map<'de> {
    entries: btree_map::Iter<'de, String, AttrValue>,
    value: Option<&'de AttrValue>,
}

impl<'de> MapAccess<'de> for Map<'de> {
    type Error = MappingError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(Key(key)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        let value = self
            .value
            .take()
            .ok_or_else(|| MappingError("a map value was asked for before its key".into()))?;
        seed.deserialize(Deserializer(value))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// A map key: a string, read as a number, boolean or unit variant where asked.
struct Key<'de>(&'de str);

macro_rules! key_number {
    ($($method:ident => $visit:ident: $ty:ty),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            let parsed = self.0.parse::<$ty>().map_err(|_| {
                MappingError(format!("map key {:?} is not a {}", self.0, stringify!($ty)))
            })?;
            visitor.$visit(parsed)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Key<'de> {
    type Error = MappingError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_borrowed_str(self.0)
    }

    key_number!(
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_i128 => visit_i128: i128,
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
        deserialize_u128 => visit_u128: u128,
    );

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0 {
            "true" => visitor.visit_bool(true),
            "false" => visitor.visit_bool(false),
            other => Err(MappingError(format!("map key {other:?} is not a boolean"))),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_enum(self.0.into_deserializer())
    }

    forward_to_deserialize_any! {
        f32 f64 char str string bytes byte_buf option unit unit_struct seq tuple tuple_struct
        map struct identifier ignored_any
    }
}

/// A variant written as a one-key map: the key names it, the value holds its contents.
struct Variant<'de> {
    name: &'de String,
    value: &'de AttrValue,
}

impl<'de> EnumAccess<'de> for Variant<'de> {
    type Error = MappingError;
    type Variant = Self;

    fn variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<(T::Value, Self)> {
        let variant = seed.deserialize(self.name.as_str().into_deserializer())?;
        Ok((variant, self))
    }
}

impl<'de> VariantAccess<'de> for Variant<'de> {
    type Error = MappingError;

    fn unit_variant(self) -> Result<()> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(Deserializer(self.value))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        de::Deserializer::deserialize_seq(Deserializer(self.value), visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        de::Deserializer::deserialize_map(Deserializer(self.value), visitor)
    }
}
