//! Work-order lines: labour and parts with quantity, unit price and unit cost.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::money::{Money, MoneyError};

/// Whether a line is labour or a part; discounts may touch labour only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Labor,
    Part,
}

impl LineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::Labor => "labor",
            LineKind::Part => "part",
        }
    }

    /// Parses the wire name: `"labor"` or `"part"`.
    pub fn parse(text: &str) -> Result<Self, LineError> {
        match text {
            "labor" => Ok(LineKind::Labor),
            "part" => Ok(LineKind::Part),
            other => Err(LineError::UnknownKind(other.chars().take(40).collect())),
        }
    }
}

impl fmt::Display for LineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a quantity was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("quantity must be a decimal string like \"1\" or \"2.5\", got {0:?}")]
    NotADecimal(String),
    #[error("quantity must be greater than zero, got {0}")]
    NotPositive(String),
    #[error("quantity has at most 3 decimal places, got {0}")]
    TooPrecise(String),
    #[error("quantity must be below 10000, got {0}")]
    TooLarge(String),
}

/// A positive quantity below 10 000 with at most 3 decimal places (hours, litres, pieces).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Quantity(Decimal);

impl Quantity {
    pub const ONE: Quantity = Quantity(Decimal::ONE);
    const MAX_TEXT_LEN: usize = 32;

    /// Parses a plain decimal string: digits, optionally a point and more digits ("1", "0.5").
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        let not_decimal = || QuantityError::NotADecimal(text.chars().take(40).collect());
        let trimmed = text.trim();
        let (whole, fraction) = match trimmed.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (trimmed, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if trimmed.len() > Self::MAX_TEXT_LEN || !digits(whole) || !fraction.is_none_or(digits) {
            return Err(not_decimal());
        }
        if fraction.is_some_and(|f| f.trim_end_matches('0').len() > 3) {
            return Err(QuantityError::TooPrecise(trimmed.to_owned()));
        }
        let value = Decimal::from_str(trimmed).map_err(|_| not_decimal())?;
        Self::from_decimal(value)
    }

    /// Wraps an exact decimal, refusing zero, negatives, more than 3 places and 10 000 or more.
    pub fn from_decimal(value: Decimal) -> Result<Self, QuantityError> {
        if value <= Decimal::ZERO {
            return Err(QuantityError::NotPositive(value.to_string()));
        }
        if value.normalize().scale() > 3 {
            return Err(QuantityError::TooPrecise(value.to_string()));
        }
        if value >= Decimal::from(10_000u32) {
            return Err(QuantityError::TooLarge(value.to_string()));
        }
        Ok(Quantity(value.normalize()))
    }

    pub fn value(self) -> Decimal {
        self.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl TryFrom<String> for Quantity {
    type Error = QuantityError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Quantity::parse(&value)
    }
}

impl From<Quantity> for String {
    fn from(value: Quantity) -> String {
        value.to_string()
    }
}

/// One problem with one field of a work-order line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("line kind must be \"labor\" or \"part\", got {0:?}")]
    UnknownKind(String),
    #[error("line code must not be blank")]
    BlankCode,
    #[error("line code has at most {max} characters, got {len}", max = LINE_CODE_MAX)]
    CodeTooLong { len: usize },
    #[error("line code must not contain control characters")]
    ControlCharacterInCode,
    #[error("line name must not be blank")]
    BlankName,
    #[error("line name has at most {max} characters, got {len}", max = LINE_NAME_MAX)]
    NameTooLong { len: usize },
    #[error("line name must not contain control characters")]
    ControlCharacterInName,
    #[error(transparent)]
    Quantity(QuantityError),
    #[error("unit price: {0}")]
    Price(MoneyError),
    #[error("unit cost: {0}")]
    Cost(MoneyError),
}

impl LineError {
    /// The wire field the problem is in: `kind`, `code`, `name`, `qty`, `price` or `cost`.
    pub fn field(&self) -> &'static str {
        match self {
            LineError::UnknownKind(_) => "kind",
            LineError::BlankCode | LineError::CodeTooLong { .. } => "code",
            LineError::ControlCharacterInCode => "code",
            LineError::BlankName | LineError::NameTooLong { .. } => "name",
            LineError::ControlCharacterInName => "name",
            LineError::Quantity(_) => "qty",
            LineError::Price(_) => "price",
            LineError::Cost(_) => "cost",
        }
    }
}

/// Every problem found in one work-order line, in field order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineErrors(pub Vec<LineError>);

impl fmt::Display for LineErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {e}", e.field())?;
        }
        Ok(())
    }
}

impl std::error::Error for LineErrors {}

const LINE_CODE_MAX: usize = 40;
pub(crate) const LINE_NAME_MAX: usize = 200;

pub(super) fn parse_code(text: &str) -> Result<String, LineError> {
    let trimmed = text.trim();
    let len = trimmed.chars().count();
    if len == 0 {
        Err(LineError::BlankCode)
    } else if len > LINE_CODE_MAX {
        Err(LineError::CodeTooLong { len })
    } else if trimmed.chars().any(char::is_control) {
        Err(LineError::ControlCharacterInCode)
    } else {
        Ok(trimmed.to_owned())
    }
}

pub(super) fn parse_name(text: &str) -> Result<String, LineError> {
    let trimmed = text.trim();
    let len = trimmed.chars().count();
    if len == 0 {
        Err(LineError::BlankName)
    } else if len > LINE_NAME_MAX {
        Err(LineError::NameTooLong { len })
    } else if trimmed.chars().any(char::is_control) {
        Err(LineError::ControlCharacterInName)
    } else {
        Ok(trimmed.to_owned())
    }
}

/// One line of a work order. `price` and `cost` are per unit; totals multiply by `qty`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "LineDto")]
pub struct WorkOrderLine {
    pub kind: LineKind,
    pub code: String,
    pub name: String,
    pub qty: Quantity,
    /// Unit price to the customer.
    pub price: Money,
    /// Unit cost to the dealer.
    pub cost: Money,
}

impl WorkOrderLine {
    /// Builds a line from parsed amounts; `code` (1..=40 chars) and `name` (1..=200 chars) are
    /// trimmed and must not be blank or contain control characters.
    pub fn parse(
        kind: LineKind,
        code: &str,
        name: &str,
        qty: Quantity,
        price: Money,
        cost: Money,
    ) -> Result<Self, LineError> {
        Ok(WorkOrderLine {
            kind,
            code: parse_code(code)?,
            name: parse_name(name)?,
            qty,
            price,
            cost,
        })
    }

    /// Unit price × quantity, rounded half-up to kopecks.
    pub fn total_price(&self) -> Money {
        self.price.scale(self.qty.value())
    }

    /// Unit cost × quantity, rounded half-up to kopecks.
    pub fn total_cost(&self) -> Money {
        self.cost.scale(self.qty.value())
    }

    pub fn is_labor(&self) -> bool {
        self.kind == LineKind::Labor
    }

    pub fn is_part(&self) -> bool {
        self.kind == LineKind::Part
    }
}

/// A work-order line as it arrives on the wire: every value a string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineDto {
    pub kind: String,
    pub code: String,
    pub name: String,
    pub qty: String,
    pub price: String,
    pub cost: String,
}

impl TryFrom<LineDto> for WorkOrderLine {
    type Error = LineErrors;

    /// Checks every field and reports every problem, not just the first.
    fn try_from(dto: LineDto) -> Result<Self, Self::Error> {
        let mut errors = Vec::new();
        let kind = keep(&mut errors, LineKind::parse(&dto.kind));
        let code = keep(&mut errors, parse_code(&dto.code));
        let name = keep(&mut errors, parse_name(&dto.name));
        let qty = keep(
            &mut errors,
            Quantity::parse(&dto.qty).map_err(LineError::Quantity),
        );
        let price = keep(
            &mut errors,
            Money::parse(&dto.price).map_err(LineError::Price),
        );
        let cost = keep(
            &mut errors,
            Money::parse(&dto.cost).map_err(LineError::Cost),
        );
        match (kind, code, name, qty, price, cost) {
            (Some(kind), Some(code), Some(name), Some(qty), Some(price), Some(cost)) => {
                Ok(WorkOrderLine {
                    kind,
                    code,
                    name,
                    qty,
                    price,
                    cost,
                })
            }
            _ => Err(LineErrors(errors)),
        }
    }
}

fn keep<T>(errors: &mut Vec<LineError>, result: Result<T, LineError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

impl From<&WorkOrderLine> for LineDto {
    fn from(line: &WorkOrderLine) -> Self {
        LineDto {
            kind: line.kind.as_str().to_owned(),
            code: line.code.clone(),
            name: line.name.clone(),
            qty: line.qty.to_string(),
            price: line.price.to_string(),
            cost: line.cost.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(text: &str) -> Money {
        Money::parse(text).unwrap()
    }

    fn dto() -> LineDto {
        LineDto {
            kind: "labor".into(),
            code: "TO-60".into(),
            name: "ТО-6".into(),
            qty: "1.5".into(),
            price: "6500.00".into(),
            cost: "2600.00".into(),
        }
    }

    #[test]
    fn a_whole_or_fractional_quantity_parses() {
        assert_eq!(Quantity::parse("1").unwrap().value(), Decimal::ONE);
        assert_eq!(
            Quantity::parse("2.500").unwrap().value(),
            Decimal::new(25, 1)
        );
        assert_eq!(Quantity::parse("0.125").unwrap().to_string(), "0.125");
        assert_eq!(
            Quantity::parse("9999.999").unwrap().value(),
            Decimal::new(9_999_999, 3)
        );
    }

    #[test]
    fn a_zero_quantity_is_rejected() {
        assert!(matches!(
            Quantity::parse("0"),
            Err(QuantityError::NotPositive(_))
        ));
        assert!(matches!(
            Quantity::parse("0.000"),
            Err(QuantityError::NotPositive(_))
        ));
    }

    #[test]
    fn a_negative_quantity_is_rejected() {
        assert!(Quantity::parse("-1").is_err());
        assert!(matches!(
            Quantity::from_decimal(Decimal::NEGATIVE_ONE),
            Err(QuantityError::NotPositive(_))
        ));
    }

    #[test]
    fn a_quantity_with_four_decimal_places_is_rejected() {
        assert!(matches!(
            Quantity::parse("1.0005"),
            Err(QuantityError::TooPrecise(_))
        ));
        assert!(matches!(
            Quantity::from_decimal(Decimal::new(10_005, 4)),
            Err(QuantityError::TooPrecise(_))
        ));
    }

    #[test]
    fn a_quantity_of_ten_thousand_or_more_is_rejected() {
        assert!(matches!(
            Quantity::parse("10000"),
            Err(QuantityError::TooLarge(_))
        ));
        assert!(matches!(
            Quantity::parse("123456"),
            Err(QuantityError::TooLarge(_))
        ));
    }

    #[test]
    fn a_float_like_or_garbage_quantity_is_rejected() {
        for bad in [
            "", " ", "1e3", "1,5", ".5", "1.", "+1", "one", "NaN", "1.2.3",
        ] {
            assert!(
                matches!(Quantity::parse(bad), Err(QuantityError::NotADecimal(_))),
                "{bad:?} must be rejected as not a decimal"
            );
        }
    }

    #[test]
    fn a_quantity_round_trips_through_json_as_a_string() {
        let q = Quantity::parse("2.5").unwrap();
        let json = serde_json::to_string(&q).unwrap();
        assert_eq!(json, "\"2.5\"");
        assert_eq!(serde_json::from_str::<Quantity>(&json).unwrap(), q);
        assert!(serde_json::from_str::<Quantity>("2.5").is_err());
    }

    #[test]
    fn line_totals_multiply_unit_amounts_by_quantity() {
        let line = WorkOrderLine::try_from(dto()).unwrap();
        assert_eq!(line.total_price(), money("9750.00"));
        assert_eq!(line.total_cost(), money("3900.00"));
    }

    #[test]
    fn line_totals_round_half_up_to_kopecks() {
        let line = WorkOrderLine::parse(
            LineKind::Part,
            "OIL",
            "Масло моторное",
            Quantity::parse("0.125").unwrap(),
            money("0.20"),
            money("0.04"),
        )
        .unwrap();
        assert_eq!(line.total_price(), money("0.03"));
        assert_eq!(line.total_cost(), money("0.01"));
    }

    #[test]
    fn a_line_with_a_blank_code_is_rejected() {
        let q = Quantity::ONE;
        let r = WorkOrderLine::parse(LineKind::Labor, "  ", "Работа", q, Money::ZERO, Money::ZERO);
        assert_eq!(r, Err(LineError::BlankCode));
    }

    #[test]
    fn a_line_with_a_code_of_41_characters_is_rejected() {
        let mut d = dto();
        d.code = "Ж".repeat(41);
        let errors = WorkOrderLine::try_from(d).unwrap_err();
        assert_eq!(errors.0, vec![LineError::CodeTooLong { len: 41 }]);
        let mut d = dto();
        d.code = "Ж".repeat(40);
        assert_eq!(WorkOrderLine::try_from(d).unwrap().code, "Ж".repeat(40));
    }

    #[test]
    fn a_line_with_a_blank_or_too_long_name_is_rejected() {
        let mut d = dto();
        d.name = "\t".into();
        assert_eq!(
            WorkOrderLine::try_from(d).unwrap_err().0,
            vec![LineError::BlankName]
        );
        let mut d = dto();
        d.name = "x".repeat(201);
        assert_eq!(
            WorkOrderLine::try_from(d).unwrap_err().0,
            vec![LineError::NameTooLong { len: 201 }]
        );
    }

    #[test]
    fn a_line_name_with_a_newline_inside_is_rejected() {
        let mut d = dto();
        d.name = "Фильтр\nмасляный".into();
        assert_eq!(
            WorkOrderLine::try_from(d).unwrap_err().0,
            vec![LineError::ControlCharacterInName]
        );
    }

    #[test]
    fn code_and_name_are_stored_trimmed() {
        let mut d = dto();
        d.code = "  TO-60 ".into();
        d.name = " ТО-6\u{a0}".into();
        let line = WorkOrderLine::try_from(d).unwrap();
        assert_eq!((line.code.as_str(), line.name.as_str()), ("TO-60", "ТО-6"));
    }

    #[test]
    fn a_line_with_several_bad_fields_reports_each_of_them() {
        let d = LineDto {
            kind: "service".into(),
            code: "".into(),
            name: "ok".into(),
            qty: "0".into(),
            price: "-5".into(),
            cost: "1.001".into(),
        };
        let errors = WorkOrderLine::try_from(d).unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(LineError::field).collect();
        assert_eq!(fields, ["kind", "code", "qty", "price", "cost"]);
        assert!(matches!(
            errors.0[3],
            LineError::Price(MoneyError::Negative(_))
        ));
    }

    #[test]
    fn a_line_kind_is_labor_or_part_on_the_wire() {
        assert_eq!(
            serde_json::to_string(&LineKind::Labor).unwrap(),
            "\"labor\""
        );
        assert_eq!(
            serde_json::from_str::<LineKind>("\"part\"").unwrap(),
            LineKind::Part
        );
        assert!(serde_json::from_str::<LineKind>("\"Labor\"").is_err());
        assert_eq!(LineKind::parse("part"), Ok(LineKind::Part));
    }

    #[test]
    fn a_line_round_trips_through_json_and_deserialising_validates() {
        let line = WorkOrderLine::try_from(dto()).unwrap();
        let json = serde_json::to_value(&line).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "labor", "code": "TO-60", "name": "ТО-6",
                               "qty": "1.5", "price": "6500.00", "cost": "2600.00"})
        );
        assert_eq!(serde_json::from_value::<WorkOrderLine>(json).unwrap(), line);
        let blank = serde_json::json!({"kind": "labor", "code": " ", "name": "x",
                                       "qty": "1", "price": "1", "cost": "1"});
        assert!(serde_json::from_value::<WorkOrderLine>(blank).is_err());
        assert_eq!(LineDto::from(&line), dto());
    }
}
