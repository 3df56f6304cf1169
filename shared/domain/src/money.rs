//! Money in roubles as an exact decimal (two places), never a float.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, Mul, Sub};
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Why a money amount was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("money must be a decimal string like \"1200.00\", got {0:?}")]
    NotADecimal(String),
    #[error("money must not be negative, got {0}")]
    Negative(String),
    #[error("money has at most 2 decimal places, got {0}")]
    TooPrecise(String),
    #[error("money must be below 1,000,000,000 roubles, got {0}")]
    TooLarge(String),
}

/// A non-negative amount of roubles with kopeck precision.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Money(Decimal);

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Parses a decimal string in roubles ("6500.00", "6500", "0.5").
    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        let trimmed = text.trim();
        if trimmed.is_empty()
            || !trimmed
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
        {
            return Err(MoneyError::NotADecimal(text.to_owned()));
        }
        let value =
            Decimal::from_str(trimmed).map_err(|_| MoneyError::NotADecimal(text.to_owned()))?;
        Self::from_decimal(value).map_err(|e| match e {
            MoneyError::NotADecimal(_) => MoneyError::NotADecimal(text.to_owned()),
            other => other,
        })
    }

    /// Wraps an exact decimal, refusing negatives, sub-kopeck precision and absurd amounts.
    pub fn from_decimal(value: Decimal) -> Result<Self, MoneyError> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(MoneyError::Negative(value.to_string()));
        }
        if value.normalize().scale() > 2 {
            return Err(MoneyError::TooPrecise(value.to_string()));
        }
        if value >= Decimal::from(1_000_000_000u64) {
            return Err(MoneyError::TooLarge(value.to_string()));
        }
        Ok(Money(value.abs().round_dp(2)))
    }

    /// Whole roubles.
    pub fn from_roubles(roubles: u32) -> Self {
        Money(Decimal::from(roubles))
    }

    /// Kopecks, for integer arithmetic and storage.
    pub fn from_kopecks(kopecks: u64) -> Self {
        Money(Decimal::new(kopecks as i64, 2))
    }

    pub fn kopecks(self) -> u64 {
        let k = (self.0 * Decimal::from(100)).round();
        u64::try_from(k.mantissa() / 10i128.pow(k.scale())).unwrap_or(0)
    }

    pub fn amount(self) -> Decimal {
        self.0
    }

    /// `self − other`, floored at zero.
    pub fn saturating_sub(self, other: Money) -> Money {
        if other.0 >= self.0 {
            Money::ZERO
        } else {
            Money(self.0 - other.0)
        }
    }

    /// Multiplies by a non-negative factor and rounds half-up to kopecks.
    pub fn scale(self, factor: Decimal) -> Money {
        let v = (self.0 * factor.max(Decimal::ZERO))
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        Money(v)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl Sub for Money {
    type Output = Money;
    /// Saturating: money never goes negative.
    fn sub(self, rhs: Money) -> Money {
        self.saturating_sub(rhs)
    }
}

impl Mul<Decimal> for Money {
    type Output = Money;
    fn mul(self, rhs: Decimal) -> Money {
        self.scale(rhs)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.0)
    }
}

impl TryFrom<String> for Money {
    type Error = MoneyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Money::parse(&value)
    }
}

impl From<Money> for String {
    fn from(value: Money) -> String {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decimal_string_parses_to_exact_kopecks() {
        assert_eq!(Money::parse("6500.00").unwrap().kopecks(), 650_000);
        assert_eq!(Money::parse("0.5").unwrap().kopecks(), 50);
        assert_eq!(Money::parse("1200").unwrap().to_string(), "1200.00");
    }

    #[test]
    fn a_negative_amount_is_rejected() {
        assert!(matches!(
            Money::parse("-1.00"),
            Err(MoneyError::Negative(_))
        ));
    }

    #[test]
    fn a_fraction_of_a_kopeck_is_rejected() {
        assert!(matches!(
            Money::parse("1.005"),
            Err(MoneyError::TooPrecise(_))
        ));
    }

    #[test]
    fn a_float_like_or_garbage_string_is_rejected() {
        for bad in ["", "abc", "1e3", "12,50", "NaN", " "] {
            assert!(Money::parse(bad).is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn subtraction_never_goes_below_zero() {
        assert_eq!(Money::from_roubles(5) - Money::from_roubles(7), Money::ZERO);
    }

    #[test]
    fn money_round_trips_through_json_as_a_string() {
        let m = Money::parse("1234.50").unwrap();
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, "\"1234.50\"");
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
    }
}
