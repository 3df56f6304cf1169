//! Items: attribute maps in the DynamoDB data model, free of AWS types, with serde mapping.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::Serialize;

mod attr_de;
mod attr_ser;

/// One stored item: attribute name → value.
pub type Item = BTreeMap<String, AttrValue>;

/// A value of the DynamoDB data model (sets are stored as lists).
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    S(String),
    N(Number),
    B(Vec<u8>),
    Bool(bool),
    Null,
    L(Vec<AttrValue>),
    M(BTreeMap<String, AttrValue>),
}

impl AttrValue {
    pub fn as_s(&self) -> Option<&str> {
        match self {
            AttrValue::S(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_n(&self) -> Option<&Number> {
        match self {
            AttrValue::N(n) => Some(n),
            _ => None,
        }
    }
}

impl From<&str> for AttrValue {
    fn from(value: &str) -> Self {
        AttrValue::S(value.to_owned())
    }
}

impl From<String> for AttrValue {
    fn from(value: String) -> Self {
        AttrValue::S(value)
    }
}

impl From<bool> for AttrValue {
    fn from(value: bool) -> Self {
        AttrValue::Bool(value)
    }
}

impl From<Number> for AttrValue {
    fn from(value: Number) -> Self {
        AttrValue::N(value)
    }
}

macro_rules! attr_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for AttrValue {
            fn from(value: $t) -> Self {
                AttrValue::N(Number::from(value))
            }
        }
    )*};
}
attr_from_int!(i32, i64, u32, u64, usize);

/// Why a text is not a number of the data model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a decimal number")]
pub struct NumberError(String);

/// A decimal number kept as its exact text, as DynamoDB does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number(String);

impl Number {
    /// Accepts an optional sign, digits with an optional fraction, and an optional exponent.
    pub fn parse(text: &str) -> Result<Self, NumberError> {
        let bad = || NumberError(text.to_owned());
        let body = text.strip_prefix(['-', '+']).unwrap_or(text);
        let (mantissa, exponent) = match body.find(['e', 'E']) {
            Some(at) => (&body[..at], Some(&body[at + 1..])),
            None => (body, None),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() && frac.is_empty() || !digits(int) || !digits(frac) {
            return Err(bad());
        }
        if let Some(exp) = exponent {
            let exp = exp.strip_prefix(['-', '+']).unwrap_or(exp);
            if exp.is_empty() || !digits(exp) {
                return Err(bad());
            }
        }
        Ok(Number(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value as a decimal, when it fits one (28 significant digits).
    pub fn to_decimal(&self) -> Option<Decimal> {
        Decimal::from_str(&self.0)
            .ok()
            .or_else(|| Decimal::from_scientific(&self.0).ok())
    }

    pub fn to_i64(&self) -> Option<i64> {
        self.0.parse().ok().or_else(|| {
            let d = self.to_decimal()?;
            (d.fract().is_zero()).then(|| i64::try_from(d).ok())?
        })
    }

    /// Numeric order; numbers beyond a decimal's range compare as floats.
    pub fn cmp_numeric(&self, other: &Number) -> Option<std::cmp::Ordering> {
        match (self.to_decimal(), other.to_decimal()) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => {
                let a: f64 = self.0.parse().ok()?;
                let b: f64 = other.0.parse().ok()?;
                a.partial_cmp(&b)
            }
        }
    }

    /// The sum, as DynamoDB's `ADD` computes it.
    pub fn checked_add(&self, other: &Number) -> Option<Number> {
        let sum = self.to_decimal()?.checked_add(other.to_decimal()?)?;
        Some(Number(sum.normalize().to_string()))
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! number_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Number {
            fn from(value: $t) -> Self {
                Number(value.to_string())
            }
        }
    )*};
}
number_from_int!(i32, i64, u32, u64, usize);

/// The primary key of an item in the table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Key {
            pk: pk.into(),
            sk: sk.into(),
        }
    }

    /// The key attributes as they appear in an item.
    pub fn to_item(&self) -> Item {
        let mut item = Item::new();
        item.insert(crate::table::PK.into(), AttrValue::S(self.pk.clone()));
        item.insert(crate::table::SK.into(), AttrValue::S(self.sk.clone()));
        item
    }

    /// The key of a stored item, when it has string `pk` and `sk` attributes.
    pub fn of(item: &Item) -> Option<Key> {
        let pk = item.get(crate::table::PK)?.as_s()?;
        let sk = item.get(crate::table::SK)?.as_s()?;
        Some(Key::new(pk, sk))
    }
}

/// Why a value could not be mapped to or from attributes.
#[derive(Debug, thiserror::Error)]
#[error("attribute mapping failed: {0}")]
pub struct MappingError(String);

/// Serialises a value into an attribute value (structs become maps), in `serde_dynamo`'s data
/// model.
pub fn to_attr<T: Serialize + ?Sized>(value: &T) -> Result<AttrValue, MappingError> {
    attr_ser::to_value(value)
}

/// Deserialises a value from an attribute value written by [`to_attr`].
pub fn from_attr<T: DeserializeOwned>(value: &AttrValue) -> Result<T, MappingError> {
    attr_de::from_value(value)
}

impl TryFrom<serde_dynamo::AttributeValue> for AttrValue {
    type Error = MappingError;

    fn try_from(value: serde_dynamo::AttributeValue) -> Result<Self, MappingError> {
        use serde_dynamo::AttributeValue as D;
        let number = |n: String| Number::parse(&n).map_err(|e| MappingError(e.to_string()));
        Ok(match value {
            D::S(s) => AttrValue::S(s),
            D::N(n) => AttrValue::N(number(n)?),
            D::B(b) => AttrValue::B(b),
            D::Bool(b) => AttrValue::Bool(b),
            D::Null(_) => AttrValue::Null,
            D::L(l) => AttrValue::L(
                l.into_iter()
                    .map(AttrValue::try_from)
                    .collect::<Result<_, _>>()?,
            ),
            D::M(m) => AttrValue::M(
                m.into_iter()
                    .map(|(k, v)| Ok((k, AttrValue::try_from(v)?)))
                    .collect::<Result<_, MappingError>>()?,
            ),
            D::Ss(ss) => AttrValue::L(ss.into_iter().map(AttrValue::S).collect()),
            D::Ns(ns) => AttrValue::L(
                ns.into_iter()
                    .map(|n| Ok(AttrValue::N(number(n)?)))
                    .collect::<Result<_, MappingError>>()?,
            ),
            D::Bs(bs) => AttrValue::L(bs.into_iter().map(AttrValue::B).collect()),
        })
    }
}

impl From<&AttrValue> for serde_dynamo::AttributeValue {
    fn from(value: &AttrValue) -> Self {
        use serde_dynamo::AttributeValue as D;
        match value {
            AttrValue::S(s) => D::S(s.clone()),
            AttrValue::N(n) => D::N(n.0.clone()),
            AttrValue::B(b) => D::B(b.clone()),
            AttrValue::Bool(b) => D::Bool(*b),
            AttrValue::Null => D::Null(true),
            AttrValue::L(l) => D::L(l.iter().map(D::from).collect()),
            AttrValue::M(m) => D::M(
                m.iter()
                    .map(|(k, v)| (k.clone(), D::from(v)))
                    .collect::<HashMap<_, _>>(),
            ),
        }
    }
}

/// Compact binary encoding of items for the embedded store.
pub(crate) mod codec {
    use super::{AttrValue, Item, Number};

    const S: u8 = 0;
    const N: u8 = 1;
    const B: u8 = 2;
    const FALSE: u8 = 3;
    const TRUE: u8 = 4;
    const NULL: u8 = 5;
    const L: u8 = 6;
    const M: u8 = 7;

    pub fn encode(item: &Item) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        encode_map(item, &mut out);
        out
    }

    fn varint(mut n: usize, out: &mut Vec<u8>) {
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }

    fn bytes(b: &[u8], out: &mut Vec<u8>) {
        varint(b.len(), out);
        out.extend_from_slice(b);
    }

    fn encode_map(map: &Item, out: &mut Vec<u8>) {
        varint(map.len(), out);
        for (k, v) in map {
            bytes(k.as_bytes(), out);
            encode_value(v, out);
        }
    }

    fn encode_value(v: &AttrValue, out: &mut Vec<u8>) {
        match v {
            AttrValue::S(s) => {
                out.push(S);
                bytes(s.as_bytes(), out);
            }
            AttrValue::N(n) => {
                out.push(N);
                bytes(n.0.as_bytes(), out);
            }
            AttrValue::B(b) => {
                out.push(B);
                bytes(b, out);
            }
            AttrValue::Bool(false) => out.push(FALSE),
            AttrValue::Bool(true) => out.push(TRUE),
            AttrValue::Null => out.push(NULL),
            AttrValue::L(l) => {
                out.push(L);
                varint(l.len(), out);
                for v in l {
                    encode_value(v, out);
                }
            }
            AttrValue::M(m) => {
                out.push(M);
                encode_map(m, out);
            }
        }
    }

    /// Decodes an item; `None` when the bytes were not written by [`encode`].
    pub fn decode(mut input: &[u8]) -> Option<Item> {
        let item = decode_map(&mut input)?;
        input.is_empty().then_some(item)
    }

    fn read_varint(input: &mut &[u8]) -> Option<usize> {
        let mut n = 0usize;
        let mut shift = 0;
        loop {
            let (&b, rest) = input.split_first()?;
            *input = rest;
            n |= ((b & 0x7f) as usize).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(n);
            }
            shift += 7;
        }
    }

    fn read_bytes<'a>(input: &mut &'a [u8]) -> Option<&'a [u8]> {
        let len = read_varint(input)?;
        if input.len() < len {
            return None;
        }
        let (b, rest) = input.split_at(len);
        *input = rest;
        Some(b)
    }

    fn read_string(input: &mut &[u8]) -> Option<String> {
        String::from_utf8(read_bytes(input)?.to_vec()).ok()
    }

    fn decode_map(input: &mut &[u8]) -> Option<Item> {
        let len = read_varint(input)?;
        let mut map = Item::new();
        for _ in 0..len {
            let k = read_string(input)?;
            let v = decode_value(input)?;
            map.insert(k, v);
        }
        Some(map)
    }

    fn decode_value(input: &mut &[u8]) -> Option<AttrValue> {
        let (&tag, rest) = input.split_first()?;
        *input = rest;
        Some(match tag {
            S => AttrValue::S(read_string(input)?),
            N => AttrValue::N(Number(read_string(input)?)),
            B => AttrValue::B(read_bytes(input)?.to_vec()),
            FALSE => AttrValue::Bool(false),
            TRUE => AttrValue::Bool(true),
            NULL => AttrValue::Null,
            L => {
                let len = read_varint(input)?;
                let mut l = Vec::with_capacity(len.min(1024));
                for _ in 0..len {
                    l.push(decode_value(input)?);
                }
                AttrValue::L(l)
            }
            M => AttrValue::M(decode_map(input)?),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_the_data_model_are_accepted_and_words_are_not() {
        for ok in ["0", "-12", "3.25", ".5", "1e10", "-2.5E-3", "+7"] {
            assert!(Number::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-", "1.2.3", "abc", "1e", "NaN", "1 "] {
            assert!(Number::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn adding_numbers_is_exact_in_decimal() {
        let a = Number::parse("0.1").unwrap();
        let b = Number::parse("0.2").unwrap();
        assert_eq!(a.checked_add(&b).unwrap().as_str(), "0.3");
        assert_eq!(
            Number::from(3).checked_add(&Number::from(-1)).unwrap(),
            Number::from(2)
        );
    }

    #[test]
    fn an_item_survives_the_binary_codec_unchanged() {
        let mut nested = BTreeMap::new();
        nested.insert("k".to_owned(), AttrValue::Null);
        let mut item = Item::new();
        item.insert("s".into(), AttrValue::S("Привет".into()));
        item.insert("n".into(), AttrValue::N(Number::from(-5)));
        item.insert("b".into(), AttrValue::B(vec![0, 255, 3]));
        item.insert("t".into(), AttrValue::Bool(true));
        item.insert(
            "l".into(),
            AttrValue::L(vec![AttrValue::Bool(false), AttrValue::M(nested)]),
        );
        assert_eq!(codec::decode(&codec::encode(&item)), Some(item));
    }

    #[test]
    fn a_domain_reading_maps_to_attributes_and_back() {
        let reading = domain::Reading {
            date: chrono::NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(),
            km: 42_000,
            source: domain::ReadingSource::Visit,
        };
        let attr = to_attr(&reading).unwrap();
        assert!(
            matches!(&attr, AttrValue::M(m) if m.get("km") == Some(&AttrValue::N(Number::from(42_000u32))))
        );
        assert_eq!(from_attr::<domain::Reading>(&attr).unwrap(), reading);
    }

    /// Every shape serde has, to compare the direct mapping with `serde_dynamo`'s.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Shapes {
        text: String,
        letter: char,
        small: i8,
        signed: i64,
        unsigned: u64,
        ratio: f64,
        flag: bool,
        missing: Option<u32>,
        present: Option<String>,
        list: Vec<i32>,
        pair: (u16, String),
        map: BTreeMap<String, f64>,
        by_number: BTreeMap<u32, bool>,
        unit: (),
        marker: Marker,
        wrapped: Wrapped,
        kinds: Vec<Kind>,
    }

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Marker;

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Wrapped(String);

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    enum Kind {
        Plain,
        Newtype(i32),
        Tuple(u8, String),
        Struct { a: bool, b: Option<i64> },
    }

    fn via_serde_dynamo<T: Serialize>(value: &T) -> AttrValue {
        AttrValue::try_from(
            serde_dynamo::to_attribute_value::<_, serde_dynamo::AttributeValue>(value).unwrap(),
        )
        .unwrap()
    }

    fn from_serde_dynamo<T: DeserializeOwned>(value: &AttrValue) -> T {
        serde_dynamo::from_attribute_value(serde_dynamo::AttributeValue::from(value)).unwrap()
    }

    fn shapes(text: String, signed: i64, ratio: f64, missing: Option<u32>) -> Shapes {
        Shapes {
            letter: text.chars().next().unwrap_or('я'),
            text: text.clone(),
            small: -3,
            signed,
            unsigned: u64::MAX,
            ratio,
            flag: signed % 2 == 0,
            missing,
            present: Some(text.clone()),
            list: vec![1, -2, 3],
            pair: (7, text.clone()),
            map: [("a".to_owned(), ratio), (text.clone(), -0.5)].into(),
            by_number: [(1, true), (20, false)].into(),
            unit: (),
            marker: Marker,
            wrapped: Wrapped(text),
            kinds: vec![
                Kind::Plain,
                Kind::Newtype(-9),
                Kind::Tuple(2, "x".into()),
                Kind::Struct {
                    a: true,
                    b: missing.map(i64::from),
                },
            ],
        }
    }

    proptest::proptest! {
        #[test]
        fn values_map_to_attributes_as_serde_dynamo_maps_them_and_back(
            text in "\\PC{0,12}",
            signed in proptest::num::i64::ANY,
            ratio in -1.0e9f64..1.0e9,
            missing in proptest::option::of(proptest::num::u32::ANY),
        ) {
            let value = shapes(text, signed, ratio, missing);
            let attr = to_attr(&value).unwrap();
            proptest::prop_assert_eq!(&attr, &via_serde_dynamo(&value));
            proptest::prop_assert_eq!(&from_attr::<Shapes>(&attr).unwrap(), &value);
            proptest::prop_assert_eq!(from_serde_dynamo::<Shapes>(&attr), value);
        }
    }

    #[test]
    fn a_domain_visit_maps_as_serde_dynamo_maps_it() {
        let body = r#"{"work_order_id": "A3C0001116", "closed_at": "2026-11-12T15:40:00+03:00",
            "kind": "maintenance", "odometer_km": 90000, "advisor_id": "adv-7",
            "customer": {"id": "C-1001", "first_name": "Михаил", "phone": "+79161234567",
                "telegram_chat_id": 5550001, "consents": {"service_messages": true, "marketing": false}},
            "vehicle": {"vin": "XW7BE40K70S025476", "make": "Toyota", "model": "Camry",
                "first_registration": "2019-05-20", "warranty_until": null},
            "lines": [{"kind": "labor", "code": "TO-60", "name": "ТО-6", "qty": "1.5",
                "price": "6500.00", "cost": "2600.00"}]}"#;
        let visit = domain::Visit::parse_json(body.as_bytes()).unwrap();
        let attr = to_attr(&visit).unwrap();
        assert_eq!(attr, via_serde_dynamo(&visit));
        assert_eq!(from_attr::<domain::Visit>(&attr).unwrap(), visit);
        let mut other = attr.clone();
        if let AttrValue::M(m) = &mut other {
            m.insert("kind".into(), AttrValue::N(Number::from(1)));
        }
        assert!(from_attr::<domain::Visit>(&other).is_err());
    }
}
