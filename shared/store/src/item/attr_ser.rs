//! Serialising values straight into [`AttrValue`]s, in the data model `serde_dynamo` writes
//! (structs and maps as `M`, sequences as `L`, `None` and units as `Null`, unit variants as `S`,
//! other variants as a one-key `M`), without its intermediate hash maps.

use std::collections::BTreeMap;
use std::fmt::Display;

use serde::ser::{self, Serialize};

use super::{AttrValue, MappingError, Number};

impl ser::Error for MappingError {
    fn custom<T: Display>(msg: T) -> Self {
        MappingError(msg.to_string())
    }
}

type Result<T> = std::result::Result<T, MappingError>;

fn number(text: String) -> Result<AttrValue> {
    Number::parse(&text)
        .map(AttrValue::N)
        .map_err(|e| MappingError(e.to_string()))
}

/// Serialises a value into an attribute value.
pub(crate) fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<AttrValue> {
    value.serialize(Serializer)
}

struct Serializer;

impl ser::Serializer for Serializer {
    type Ok = AttrValue;
    type Error = MappingError;
    type SerializeSeq = Seq;
    type SerializeTuple = Seq;
    type SerializeTupleStruct = Seq;
    type SerializeTupleVariant = Variant<Seq>;
    type SerializeMap = Map;
    type SerializeStruct = Map;
    type SerializeStructVariant = Variant<Map>;

    fn serialize_bool(self, v: bool) -> Result<AttrValue> {
        Ok(AttrValue::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<AttrValue> {
        Ok(AttrValue::N(Number(v.to_string())))
    }
    fn serialize_i16(self, v: i16) -> Result<AttrValue> {
        Ok(AttrValue::N(Number(v.to_string())))
    }
    fn serialize_i32(self, v: i32) -> Result<AttrValue> {
        Ok(AttrValue::N(Number(v.to_string())))
    }
    fn serialize_i64(self, v: i64) -> Result<AttrValue> {
        Ok(AttrValue::N(Number(v.to_string())))
    }
    fn serialize_u8(self, v: u8) -> Result<AttrValue> {
        Ok(AttrValue::N(Number(v.to_string())))
    }
    fn serialize_u16(self, v: u16) -> Result<AttrValue> {
        Ok(AttrValue::N(Number(v.to_string())))
    }
    fn serialize_u32(self, v: u32) -> Result<AttrValue> {
        Ok(AttrValue::N(Number(v.to_string())))
    }
    fn serialize_u64(self, v: u64) -> Result<AttrValue> {
        Ok(AttrValue::N(Number(v.to_string())))
    }
    fn serialize_f32(self, v: f32) -> Result<AttrValue> {
        number(v.to_string())
    }
    fn serialize_f64(self, v: f64) -> Result<AttrValue> {
        number(v.to_string())
    }
    fn serialize_char(self, v: char) -> Result<AttrValue> {
        Ok(AttrValue::S(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<AttrValue> {
        Ok(AttrValue::S(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<AttrValue> {
        Ok(AttrValue::B(v.to_vec()))
    }
    fn serialize_none(self) -> Result<AttrValue> {
        Ok(AttrValue::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<AttrValue> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<AttrValue> {
        Ok(AttrValue::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<AttrValue> {
        Ok(AttrValue::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<AttrValue> {
        Ok(AttrValue::S(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<AttrValue> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<AttrValue> {
        let mut map = BTreeMap::new();
        map.insert(variant.to_owned(), value.serialize(Serializer)?);
        Ok(AttrValue::M(map))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq> {
        Ok(Seq(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq> {
        Ok(Seq(Vec::with_capacity(len)))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Seq> {
        Ok(Seq(Vec::with_capacity(len)))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Variant<Seq>> {
        Ok(Variant {
            name: variant,
            inner: Seq(Vec::with_capacity(len)),
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Map> {
        Ok(Map::default())
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Map> {
        Ok(Map::default())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Variant<Map>> {
        Ok(Variant {
            name: variant,
            inner: Map::default(),
        })
    }
}

/// The elements of a sequence, tuple or tuple struct: an `L`.
struct Seq(Vec<AttrValue>);

impl ser::SerializeSeq for Seq {
    type Ok = AttrValue;
    type Error = MappingError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.0.push(value.serialize(Serializer)?);
        Ok(())
    }
    fn end(self) -> Result<AttrValue> {
        Ok(AttrValue::L(self.0))
    }
}

impl ser::SerializeTuple for Seq {
    type Ok = AttrValue;
    type Error = MappingError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<AttrValue> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for Seq {
    type Ok = AttrValue;
    type Error = MappingError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<AttrValue> {
        ser::SerializeSeq::end(self)
    }
}

/// The entries of a map or the fields of a struct: an `M`.
#[derive(Default)]
struct Map {
    entries: BTreeMap<String, AttrValue>,
    key: Option<String>,
}

impl ser::SerializeMap for Map {
    type Ok = AttrValue;
    type Error = MappingError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        if self.key.is_some() {
            return Err(MappingError("a map key came twice".into()));
        }
        self.key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let key = self
            .key
            .take()
            .ok_or_else(|| MappingError("a map value came before its key".into()))?;
        self.entries.insert(key, value.serialize(Serializer)?);
        Ok(())
    }
    fn end(self) -> Result<AttrValue> {
        Ok(AttrValue::M(self.entries))
    }
}

impl ser::SerializeStruct for Map {
    type Ok = AttrValue;
    type Error = MappingError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.entries
            .insert(key.to_owned(), value.serialize(Serializer)?);
        Ok(())
    }
    fn end(self) -> Result<AttrValue> {
        Ok(AttrValue::M(self.entries))
    }
}

/// A tuple or struct variant: a one-key `M` holding the variant's `L` or `M`.
struct Variant<T> {
    name: &'static str,
    inner: T,
}

impl<T> Variant<T> {
    fn wrap(name: &'static str, value: AttrValue) -> AttrValue {
        let mut map = BTreeMap::new();
        map.insert(name.to_owned(), value);
        AttrValue::M(map)
    }
}

impl ser::SerializeTupleVariant for Variant<Seq> {
    type Ok = AttrValue;
    type Error = MappingError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        ser::SerializeSeq::serialize_element(&mut self.inner, value)
    }
    fn end(self) -> Result<AttrValue> {
        Ok(Self::wrap(self.name, AttrValue::L(self.inner.0)))
    }
}

impl ser::SerializeStructVariant for Variant<Map> {
    type Ok = AttrValue;
    type Error = MappingError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        ser::SerializeStruct::serialize_field(&mut self.inner, key, value)
    }
    fn end(self) -> Result<AttrValue> {
        Ok(Self::wrap(self.name, AttrValue::M(self.inner.entries)))
    }
}

/// Map keys: strings, and what prints as one (numbers, booleans, characters, unit variants).
struct KeySerializer;

fn not_a_string_key<T>() -> Result<T> {
    Err(MappingError("a map key must be a string".into()))
}

impl ser::Serializer for KeySerializer {
    type Ok = String;
    type Error = MappingError;
    type SerializeSeq = ser::Impossible<String, MappingError>;
    type SerializeTuple = ser::Impossible<String, MappingError>;
    type SerializeTupleStruct = ser::Impossible<String, MappingError>;
    type SerializeTupleVariant = ser::Impossible<String, MappingError>;
    type SerializeMap = ser::Impossible<String, MappingError>;
    type SerializeStruct = ser::Impossible<String, MappingError>;
    type SerializeStructVariant = ser::Impossible<String, MappingError>;

    fn serialize_bool(self, v: bool) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_i8(self, v: i8) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_i128(self, v: i128) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_u128(self, v: u128) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_f32(self, _v: f32) -> Result<String> {
        not_a_string_key()
    }
    fn serialize_f64(self, _v: f64) -> Result<String> {
        not_a_string_key()
    }
    fn serialize_char(self, v: char) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<String> {
        Ok(v.to_owned())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<String> {
        not_a_string_key()
    }
    fn serialize_none(self) -> Result<String> {
        not_a_string_key()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<String> {
        not_a_string_key()
    }
    fn serialize_unit(self) -> Result<String> {
        not_a_string_key()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<String> {
        not_a_string_key()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<String> {
        not_a_string_key()
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq> {
        not_a_string_key()
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple> {
        not_a_string_key()
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        not_a_string_key()
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        not_a_string_key()
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap> {
        not_a_string_key()
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct> {
        not_a_string_key()
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        not_a_string_key()
    }
}
